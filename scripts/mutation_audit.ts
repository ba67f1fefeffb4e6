/*
 * `npm run audit:mutations [id ...]`: breaks each promise that issue 13 found unguarded, one at a
 * time, in a scratch worktree of HEAD, and runs the tests that must catch it. A mutation no test
 * kills is a promise the suite no longer proves; the command then exits 1. Not part of `npm test`
 * (it runs the named tests once per mutation: minutes, not seconds).
 *
 * This is the hand-picked complement of StrykerJS (`npm run bench:mutation`): Stryker tries every
 * operator it knows in a folder; these are the specific breakages the audit named, so each stays
 * covered by name.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MUTATIONS, type Mutation } from './mutations.js';

const repo = path.resolve(import.meta.dirname, '..');
// A mutation may freeze the event loop (a microtask spin), where no test timeout can fire:
// coreutils' timeout then kills vitest's whole process group, forks included.
const HUNG_SECONDS = 180;
// timeout exits 124 when its time ran out (137 if it had to kill itself too).
const TIMED_OUT = new Set([124, 128 + 9]);

interface Verdict {
  readonly mutation: Mutation;
  readonly killed: boolean;
  readonly evidence: string;
}

function scratchWorktree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-audit-'));
  execFileSync('git', ['worktree', 'add', '--detach', '-q', dir, 'HEAD'], { cwd: repo });
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  fs.cpSync(path.join(repo, 'build'), path.join(dir, 'build'), { recursive: true });
  return dir;
}

function apply(dir: string, mutation: Mutation): void {
  const file = path.join(dir, mutation.file);
  const text = fs.readFileSync(file, 'utf8');
  const count = text.split(mutation.from).length - 1;
  if (count !== 1) throw new Error(`${mutation.id}: "${mutation.from}" occurs ${count} times in ${mutation.file}, expected once`);
  fs.writeFileSync(file, text.replace(mutation.from, mutation.to));
}

/** The first failed assertion of a vitest JSON report: the line to quote as the kill. */
function firstFailure(dir: string, reportFile: string): string {
  if (!fs.existsSync(reportFile)) return 'no report (the run crashed before vitest reported)';
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as {
    testResults: { name: string; message?: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
  };
  for (const file of report.testResults) {
    const failed = file.assertionResults.find((test) => test.status === 'failed');
    if (failed !== undefined) return `${path.relative(dir, file.name)} > ${failed.fullName}: ${failed.failureMessages[0]?.split('\n')[0]}`;
    if (file.message) return `${path.basename(file.name)}: ${file.message.split('\n')[0]}`;
  }
  return 'every test passed';
}

function run(dir: string, mutation: Mutation): Verdict {
  apply(dir, mutation);
  try {
    if (mutation.build === true) execFileSync('npm', ['run', '-s', 'build'], { cwd: dir, stdio: 'ignore' });
    const reportFile = path.join(dir, 'audit-report.json');
    fs.rmSync(reportFile, { force: true });
    const vitest = ['npx', 'vitest', 'run', ...mutation.tests, '--reporter=json', `--outputFile=${reportFile}`];
    const result = spawnSync('timeout', ['-s', 'KILL', String(HUNG_SECONDS), ...vitest], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, CI: '' },
    });
    if (result.status !== null && TIMED_OUT.has(result.status))
      return { mutation, killed: true, evidence: `the tests hung: still running after ${HUNG_SECONDS} s` };
    return { mutation, killed: result.status !== 0, evidence: firstFailure(dir, reportFile) };
  } finally {
    execFileSync('git', ['checkout', '-q', '--', '.'], { cwd: dir });
  }
}

function main(): void {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((id) => !MUTATIONS.some((mutation) => mutation.id === id));
  if (unknown.length > 0) throw new Error(`unknown mutation ${unknown.join(', ')}; known: ${MUTATIONS.map((m) => m.id).join(', ')}`);
  const chosen = wanted.length === 0 ? MUTATIONS : MUTATIONS.filter((mutation) => wanted.includes(mutation.id));
  const dir = scratchWorktree();
  const verdicts: Verdict[] = [];
  try {
    for (const mutation of chosen) {
      const verdict = run(dir, mutation);
      verdicts.push(verdict);
      console.log(`${verdict.killed ? 'killed  ' : 'SURVIVED'} ${mutation.id}: ${mutation.claim}\n         ${verdict.evidence}`);
    }
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: repo });
  }
  const survivors = verdicts.filter((verdict) => !verdict.killed);
  console.log(`\n${verdicts.length - survivors.length} of ${verdicts.length} mutations killed`);
  if (survivors.length > 0) process.exitCode = 1;
}

main();
