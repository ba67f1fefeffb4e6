// StrykerJS for `npm run bench:mutation` (docs/BENCHMARKS.md, "Mutation testing (StrykerJS)").
// A benchmark, not part of `npm test`: a full run takes hours on a 2-core machine. Pass
// `-- --mutate FILE[,FILE]` to mutate a subset; the CLI's `--mutate` replaces the list below.
import fs from 'node:fs';

// Only the constants of src/limits.ts, not its relations at the end: mutating check() or a
// relation tests the self-check, not the suite. The range is found by its heading so that it
// follows edits of the file.
function limitsConstants() {
  const lines = fs.readFileSync(new URL('./src/limits.ts', import.meta.url), 'utf8').split('\n');
  const first = lines.findIndex((line) => line.startsWith('const KIB')) + 1;
  const relations = lines.findIndex((line) => line.startsWith('// ---- how they relate ----')) + 1;
  if (first === 0 || relations === 0)
    throw new Error('stryker.config.mjs: src/limits.ts lost its KIB line or its "how they relate" heading');
  return `src/limits.ts:${first}-${relations - 1}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  coverageAnalysis: 'perTest',
  mutate: ['src/log/**/*.ts', limitsConstants()],
  // Which tests run, and why not through Stryker's `testFiles`: vitest.stryker.config.ts.
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Two cores: each worker is a vitest in one thread, and the log tests fsync for real.
  concurrency: 2,
  // The power-loss simulation runs about 40 s alone; on a loaded machine the dry run, with
  // coverage on, can pass Stryker's 5-minute default.
  dryRunTimeoutMinutes: 20,
  timeoutMS: 15_000,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, reportTests: false },
  // Left out of the sandbox copies: outputs of other commands, not inputs of these tests.
  ignorePatterns: ['/reports', '/bench/results', '/shardline-data', '/test-results.json'],
  tempDirName: '.stryker-tmp',
};
