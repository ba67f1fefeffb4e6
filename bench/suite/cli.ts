/**
 * The benchmark suite's command line:
 *   run <workload>          one workload against one system (shardline by default)
 *   compare [workloads...]  the same workloads against shardline and every peer, one table
 *   report <result.json>    the HTML report of a saved run or comparison, again
 * Exit codes: 1 when shardline misses a bound of a workload (or a target of a comparison; a peer's
 * misses are reported only), 2 for a bad workload or bad options, 3 when a run failed. The last
 * line names the result's JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { echoEnvironment, environment } from '../bench_common.js';
import { comparisonOf, comparisonTable } from './compare.js';
import { fileStamp, printRun, saveComparison, saveRun } from './output.js';
import { renderComparisonReport, renderRunReport, writeReport } from './report.js';
import { runWorkload } from './runner.js';
import { shardlineFactory } from './adapters/shardline.js';
import { profilingServerWrap, readProfiles, type ThreadProfile } from './cpu_profile.js';
import { SYSTEMS, systemNamed } from './systems.js';
import type {
  Ceiling,
  ComparisonResult,
  ProfileSummary,
  RunResult,
  SystemFactory,
  SystemUnderTest,
  ThreadSummary,
  Workload,
} from './types.js';
import { WorkloadError, loadWorkload, withOverrides } from './workload.js';

const BENCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUT = path.join(BENCH_DIR, 'results', 'suite');
/** Functions per thread in a missed target's profile, and the busy share a thread needs to be shown. */
const PROFILE_TOP = 12;
const BUSY_SHARE_MIN = 0.05;
/** How long a peer's own load tool runs for its ceiling. */
const CEILING_SECONDS = 3;
const COMPARE_WORKLOADS = ['compare-throughput.json', 'compare-latency.json'].map((name) => path.join(BENCH_DIR, 'workloads', name));

interface CommonOptions {
  readonly out: string;
  readonly dataDir: string;
  readonly rate?: number | 'max';
  readonly duration?: number;
  readonly warmup?: number;
  readonly fsync?: string;
}

function rateOption(text: string): number | 'max' {
  if (text === 'max') return 'max';
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate <= 0) throw new InvalidArgumentError('a rate is a positive number of records/s, or "max"');
  return rate;
}

function secondsOption(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError('seconds must be a number >= 0');
  return seconds;
}

function fsyncOverride(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  return /^\d+$/.test(text) ? { intervalMs: Number(text) } : text;
}

function workloadFrom(file: string, options: CommonOptions): Workload {
  return withOverrides(loadWorkload(file), {
    rate: options.rate,
    durationSeconds: options.duration,
    warmupSeconds: options.warmup,
    fsync: fsyncOverride(options.fsync),
  });
}

/**
 * For each workload behind a missed (not void) target, a repeat of its shardline run with the
 * server under --cpu-prof: the figures stay those of the unprofiled run.
 */
async function withProfiles(
  comparison: ComparisonResult,
  workloads: readonly Workload[],
  options: CommonOptions,
): Promise<ComparisonResult> {
  const missed = comparison.targets.filter((target) => !target.met && !target.detail.startsWith('void'));
  const profiles: ProfileSummary[] = [];
  for (const name of new Set(missed.map((target) => target.workload))) {
    const workload = workloads.find((w) => w.name === name);
    if (workload === undefined) continue;
    const dir = path.join(options.out, `${fileStamp(comparison.startedAt)}-profile-${workload.name}`);
    fs.mkdirSync(dir, { recursive: true });
    console.log(`\nprofiling a repeat of shardline on ${workload.name} (a target was missed): ${dir}`);
    process.env.BENCH_SERVER_WRAP = profilingServerWrap(dir);
    try {
      await runOn(shardlineFactory, workload, options, comparison.environment);
    } finally {
      delete process.env.BENCH_SERVER_WRAP;
    }
    const reason = missed
      .filter((target) => target.workload === name)
      .map((target) => `${target.name}: ${target.detail}`)
      .join('; ');
    profiles.push({
      workload: workload.name,
      system: 'shardline',
      reason,
      dir,
      threads: readProfiles(dir)
        .filter((t) => t.busyMs >= t.totalMs * BUSY_SHARE_MIN)
        .map(summaryOf),
    });
  }
  return profiles.length === 0 ? comparison : { ...comparison, profiles };
}

function summaryOf(thread: ThreadProfile): ThreadSummary {
  return {
    thread: thread.thread,
    busyMs: Math.round(thread.busyMs),
    totalMs: Math.round(thread.totalMs),
    top: thread.selfMs.slice(0, PROFILE_TOP).map(([name, ms]) => ({ name, ms: Math.round(ms) })),
  };
}

/** With `fit`, a system without the workload's consumer mode uses its own, stated in the result. */
async function runOn(
  factory: SystemFactory,
  workload: Workload,
  options: CommonOptions,
  env: Record<string, unknown>,
  fit = false,
): Promise<RunResult> {
  console.log(`\n${factory.name}: ${workload.name} (${workload.description || workload.mode})`);
  console.log(`  workload: ${JSON.stringify(workload)}`);
  const system = await factory.start(workload.fsync, options.dataDir, { enforceLimits: workload.mode === 'limits' });
  try {
    const usable = !fit || workload.consumers === 0 || system.consumerModes.includes(workload.consumerMode);
    if (!usable) console.log(`  ${system.name} has no ${workload.consumerMode} consumer: using ${system.consumerModes[0]}`);
    const result = await runWorkload(system, usable ? workload : { ...workload, consumerMode: system.consumerModes[0]! }, env);
    const ceiling = await ceilingOf(system, workload);
    const measured = ceiling === null ? result : { ...result, ceiling };
    printRun(measured);
    return measured;
  } finally {
    await system.stop();
  }
}

/** After a throughput run of fixed-size records, the server's own ceiling, on the same server: what its ratio is taken against. */
async function ceilingOf(system: SystemUnderTest, workload: Workload): Promise<Ceiling | null> {
  if (system.ceiling === undefined || workload.rate !== 'max' || !('bytes' in workload.recordSize)) return null;
  console.log(`  ${system.name}: measuring its ceiling with its own tool (${CEILING_SECONDS} s)`);
  return system.ceiling({ recordBytes: workload.recordSize.bytes, seconds: CEILING_SECONDS });
}

async function commandRun(file: string, options: CommonOptions & { system: string }): Promise<number> {
  const workload = workloadFrom(file, options);
  const env = environment(options.dataDir);
  echoEnvironment('shardline benchmark suite', env);
  const result = await runOn(systemNamed(options.system), workload, options, env);
  const saved = saveRun(result, options.out);
  console.log(`report: ${saved.html}`);
  const missed = result.bounds.filter((check) => !check.met);
  for (const check of missed)
    console.log(`MISSED: ${check.name} (limit ${check.limit} ${check.unit}, actual ${check.actual} ${check.unit})`);
  console.log(`result: ${saved.json}`);
  // A peer's bounds are reported; only shardline's own decide the exit code.
  return missed.length > 0 && result.system.name === 'shardline' ? 1 : 0;
}

/**
 * Exit code 1 only for shardline's own misses (its bounds, the comparison's targets); a peer that
 * misses a bound is reported. Whatever happens, the result's JSON is written and named on the
 * last line: a run that fails leaves the runs before it, with the failure, and exit code 3.
 */
async function commandCompare(files: string[], options: CommonOptions & { systems: string }): Promise<number> {
  const workloads = (files.length > 0 ? files : COMPARE_WORKLOADS).map((file) => workloadFrom(file, options));
  const factories = options.systems.split(',').map((name) => systemNamed(name.trim()));
  const env = environment(options.dataDir);
  echoEnvironment('shardline benchmark suite: comparison', env);
  const startedAt = new Date().toISOString();
  const runs: RunResult[] = [];
  try {
    for (const workload of workloads) {
      for (const factory of factories) runs.push(await runOn(factory, workload, options, env, true));
    }
  } catch (error) {
    console.error(error);
    const partial = { ...comparisonOf(runs, env, startedAt), failure: String((error as Error).stack ?? error) };
    console.log(`result: ${saveComparison(partial, options.out).json}`);
    return 3;
  }
  const unprofiled = comparisonOf(runs, env, startedAt);
  console.log(`\n${comparisonTable(unprofiled)}`);
  const comparison = await withProfiles(unprofiled, workloads, options);
  const saved = saveComparison(comparison, options.out);
  console.log(`report: ${saved.html}`);
  const missed = runs.flatMap((run) =>
    run.bounds
      .filter((check) => !check.met)
      .map((check) => ({
        ours: run.system.name === 'shardline',
        text: `${run.workload.name} on ${run.system.name}: ${check.name} (limit ${check.limit} ${check.unit}, actual ${check.actual} ${check.unit})`,
      })),
  );
  for (const bound of missed)
    console.log(`${bound.ours ? 'MISSED bound' : 'peer missed a bound (reported, not a failure)'}: ${bound.text}`);
  const failed = missed.some((bound) => bound.ours) || comparison.targets.some((target) => !target.met);
  console.log(`result: ${saved.json}`);
  return failed ? 1 : 0;
}

function commandReport(file: string, options: { out?: string }): number {
  const result = JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult | ComparisonResult;
  const html = result.schema === 'shardline-bench-compare/1' ? renderComparisonReport(result) : renderRunReport(result);
  const out = options.out ?? file.replace(/\.json$/, '') + '.html';
  writeReport(html, out);
  console.log(`report: ${out}`);
  return 0;
}

function withCommon(command: Command): Command {
  return command
    .option('--out <dir>', 'where results (JSON) and reports (HTML) go', DEFAULT_OUT)
    .option('--data-dir <dir>', 'where systems keep their data while they run', os.tmpdir())
    .option('--rate <records/s>', 'override the workload\'s rate ("max" for as fast as acks allow)', rateOption)
    .option('--duration <seconds>', 'override the measured duration', secondsOption)
    .option('--warmup <seconds>', 'override the warm-up', secondsOption)
    .option('--fsync <setting>', 'override fsync: always, never, or an interval in ms');
}

function program(done: (code: number) => void): Command {
  const root = new Command('bench').description('shardline benchmark suite').showHelpAfterError();
  withCommon(root.command('run <workload>').description('run one workload against one system'))
    .option('--system <name>', `system under test (${[...SYSTEMS.keys()].join(', ')})`, 'shardline')
    .action(async (file: string, options: CommonOptions & { system: string }) => done(await commandRun(file, options)));
  withCommon(
    root
      .command('compare [workloads...]')
      .description('run workloads against shardline and its peers; default: compare-throughput and compare-latency'),
  )
    .option('--systems <names>', 'comma-separated systems', [...SYSTEMS.keys()].join(','))
    .action(async (files: string[], options: CommonOptions & { systems: string }) => done(await commandCompare(files, options)));
  root
    .command('report <result>')
    .description('render the HTML report of a saved result JSON again')
    .option('--out <file>', 'where the HTML goes')
    .action((file: string, options: { out?: string }) => done(commandReport(file, options)));
  return root;
}

try {
  let code = 0;
  await program((result) => (code = result)).parseAsync(process.argv);
  process.exit(code);
} catch (error) {
  // 2: the workload or the options are wrong; 3: a run failed (a system would not start, a put path broke).
  console.error(error instanceof WorkloadError ? `bad workload: ${error.message}` : error);
  process.exit(error instanceof WorkloadError ? 2 : 3);
}
