import type { RunnerTestCase, RunnerTestFile } from 'vitest';
import type { Reporter, Vitest } from 'vitest/node';

/**
 * For `npm run bench:mutation` only (vitest.stryker.config.ts). A mutant that makes a module
 * throw while it loads (src/limits.ts checks its relations at import) fails every test file that
 * imports it before any test is collected. Stryker's vitest runner (9.6.1) reads the collected
 * tests alone, finds none failed, and reports the mutant as survived. So each file that failed
 * with no tests gets one failed test carrying the load error, which Stryker counts as the kill.
 */
export class LoadFailureReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(): void {
    for (const file of this.vitest?.state.getFiles() ?? []) {
      if (file.result?.state === 'fail' && file.tasks.length === 0) file.tasks.push(loadFailure(file));
    }
  }
}

function loadFailure(file: RunnerTestFile): RunnerTestCase {
  // Only the fields Stryker's runner reads; vitest has finished with the file by now.
  const test: Omit<RunnerTestCase, 'context'> = {
    type: 'test',
    id: `${file.id}_load`,
    name: 'loads',
    fullName: `${file.name} loads`,
    fullTestName: 'loads',
    mode: 'run',
    meta: {},
    file,
    suite: file,
    timeout: 0,
    annotations: [],
    artifacts: [],
    result: { state: 'fail', errors: file.result?.errors ?? [] },
  };
  return test as RunnerTestCase;
}
