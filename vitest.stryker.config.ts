import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';
import { LoadFailureReporter } from './test/helpers/load_failure_reporter.js';

/*
 * The tests `npm run bench:mutation` (stryker.config.mjs) runs. Only tests that run the mutated
 * code in the vitest worker itself can kill a mutant: Stryker activates it there, while child
 * processes and worker threads (the engine's shard workers, the servers of the CLI tests) run the
 * code unmutated. So: the log's own tests, the golden bytes, and the tests that hold a limit of
 * src/limits.ts in the main thread. Every static mutant (a constant read at import, as all of
 * limits.ts is) runs all of these, so the list stays short.
 *
 * The list is here rather than in Stryker's `testFiles`: with `testFiles`, Stryker 9.6.1 activates
 * static mutants only after the modules have loaded, so they all survive (stryker-js issue 6144).
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/log/**/*.test.ts',
      'test/golden/**/*.test.ts',
      'test/streams/**/*.test.ts',
      'test/engine/engine_limits.test.ts',
      'test/net/kinesis_body_limit.test.ts',
      'test/net/protocol_frames.test.ts',
    ],
    reporters: [new LoadFailureReporter()],
  },
});
