import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Log tests do real fsyncs and a crash test spawns child processes: give them room on a
    // loaded 2-core machine, but no test relies on timing for its verdict.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Under CI a JSON report as well, from which .ci/run prints a plain "N passed, N failed".
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
