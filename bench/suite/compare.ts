/**
 * The same workloads against shardline and its peers in one run: one table, the targets of
 * the comparison checked (each with how far off it is when missed), and one report.
 */
import type { LatencySummary } from '../bench_common.js';
import { ms } from './output.js';
import type { ComparisonResult, RunResult, TargetCheck } from './types.js';

/** Producer throughput shardline must reach, as a multiple of each peer's, for 100 B records. */
export const THROUGHPUT_FACTORS: Readonly<Record<string, number>> = { redis: 2, nats: 5, kinesalite: 20 };
/**
 * shardline's records/s over the WebSocket against a peer's own ceiling (its native load tool, on
 * the same server in the same run), at equal durability: at least Redis's redis-benchmark XADD
 * with its page-cache AOF, twice it with appendfsync always against shardline's fsync always.
 */
export const CEILING_FACTORS: Readonly<Record<string, (fsync: RunResult['workload']['fsync']) => number>> = {
  redis: (fsync) => (fsync === 'always' ? 2 : 1),
};
/** Peers whose end-to-end p99 at LATENCY_RATE shardline must be below. */
export const LATENCY_PEERS: readonly string[] = ['redis', 'nats'];
const TARGET_RECORD_BYTES = 100;
const LATENCY_RATE = 10_000;

export function comparisonOf(runs: readonly RunResult[], environment: Record<string, unknown>, startedAt: string): ComparisonResult {
  return { schema: 'shardline-bench-compare/1', startedAt, environment, runs, targets: targetsOf(runs) };
}

function targetsOf(runs: readonly RunResult[]): TargetCheck[] {
  const targets: TargetCheck[] = [];
  for (const workload of new Set(runs.map((run) => run.workload.name))) {
    const of = (system: string): RunResult | undefined => runs.find((run) => run.workload.name === workload && run.system.name === system);
    const ours = of('shardline');
    if (ours === undefined) continue;
    const size = ours.workload.recordSize;
    if (!('bytes' in size) || size.bytes !== TARGET_RECORD_BYTES) continue;
    if (ours.workload.rate === 'max') targets.push(...throughputTargets(workload, ours, of), ...ceilingTargets(workload, ours, of));
    if (ours.workload.rate === LATENCY_RATE && ours.summary.endToEnd !== null) targets.push(...latencyTargets(workload, ours, of));
  }
  return targets;
}

/** A target over a run that missed a bound of its own (errors, lost records) is not met: it is void. */
function voidReason(runs: readonly RunResult[]): string | null {
  const failed = runs.flatMap((run) =>
    run.bounds
      .filter((check) => !check.met && !check.name.startsWith('end-to-end p99') && !check.name.startsWith('publish p99'))
      .map((check) => `${run.system.name}: ${check.name} (${check.actual} ${check.unit})`),
  );
  return failed.length === 0 ? null : `void: ${failed.join('; ')}`;
}

function throughputTargets(workload: string, ours: RunResult, of: (system: string) => RunResult | undefined): TargetCheck[] {
  return Object.entries(THROUGHPUT_FACTORS).flatMap(([peer, factor]) => {
    const theirs = of(peer);
    if (theirs === undefined) return [];
    const times = theirs.summary.recordsPerSec === 0 ? Infinity : ours.summary.recordsPerSec / theirs.summary.recordsPerSec;
    const name = `${workload}: shardline records/s >= ${factor}x ${peer}`;
    const invalid = voidReason([ours, theirs]);
    if (invalid !== null) return [{ name, workload, met: false, detail: invalid }];
    const met = times >= factor;
    const shortBy = met ? '' : `: short by ${Math.round(factor * theirs.summary.recordsPerSec - ours.summary.recordsPerSec)} records/s`;
    return [
      {
        name,
        workload,
        met,
        detail: `${times.toFixed(2)}x (${ours.summary.recordsPerSec} vs ${theirs.summary.recordsPerSec} records/s; target ${factor}x)${shortBy}`,
      },
    ];
  });
}

function ceilingTargets(workload: string, ours: RunResult, of: (system: string) => RunResult | undefined): TargetCheck[] {
  return Object.entries(CEILING_FACTORS).flatMap(([peer, factorOf]) => {
    const theirs = of(peer);
    if (theirs?.ceiling === undefined) return [];
    const factor = factorOf(ours.workload.fsync);
    const name = `${workload}: shardline records/s >= ${factor}x ${peer}'s own ceiling`;
    const invalid = voidReason([ours]);
    if (invalid !== null) return [{ name, workload, met: false, detail: invalid }];
    const ceiling = theirs.ceiling.recordsPerSec;
    const times = ours.summary.recordsPerSec / ceiling;
    const met = times >= factor;
    const shortBy = met ? '' : `: short by ${Math.round(factor * ceiling - ours.summary.recordsPerSec)} records/s`;
    const detail = `${times.toFixed(2)}x (${ours.summary.recordsPerSec} vs ${ceiling} records/s by ${theirs.ceiling.tool}; target ${factor}x)${shortBy}`;
    return [{ name, workload, met, detail }];
  });
}

function latencyTargets(workload: string, ours: RunResult, of: (system: string) => RunResult | undefined): TargetCheck[] {
  return LATENCY_PEERS.flatMap((peer) => {
    const run = of(peer);
    const theirs = run?.summary.endToEnd;
    // Push against push, poll against poll: a peer that had to use another mode is not compared.
    if (run === undefined || theirs === undefined || theirs === null || run.workload.consumerMode !== ours.workload.consumerMode) return [];
    const name = `${workload}: shardline end-to-end p99 < ${peer}'s`;
    const invalid = voidReason([ours, run]);
    if (invalid !== null) return [{ name, workload, met: false, detail: invalid }];
    const mine = ours.summary.endToEnd!.p99Us;
    const met = mine < theirs.p99Us;
    const gap = met ? `${ms(theirs.p99Us - mine)} ms below` : `${ms(mine - theirs.p99Us)} ms over`;
    return [{ name, workload, met, detail: `${ms(mine)} ms vs ${ms(theirs.p99Us)} ms: ${gap}` }];
  });
}

function latencyCells(summary: LatencySummary | null): string[] {
  return summary === null ? ['-', '-', '-'] : [ms(summary.p50Us), ms(summary.p99Us), ms(summary.p999Us)];
}

/** Each peer's ceiling beside shardline's figure on the same workload: the ratio against the server, not its Node client. */
function ceilingRatios(comparison: ComparisonResult): string[] {
  return comparison.runs.flatMap((run) => {
    const ours = comparison.runs.find((other) => other.workload.name === run.workload.name && other.system.name === 'shardline');
    if (run.ceiling === undefined || ours === undefined) return [];
    const library = run.summary.recordsPerSec === 0 ? '-' : (ours.summary.recordsPerSec / run.summary.recordsPerSec).toFixed(2);
    return [
      `${run.workload.name}: shardline / ${run.system.name}: ${(ours.summary.recordsPerSec / run.ceiling.recordsPerSec).toFixed(2)}x its ceiling (${run.ceiling.tool}), ${library}x its Node client`,
    ];
  });
}

/** One plain-text table of every run, with durability stated per row. */
export function comparisonTable(comparison: ComparisonResult): string {
  const header = [
    'workload',
    'system',
    'records/s',
    'MB/s',
    'pub p50',
    'pub p99',
    'pub p99.9',
    'e2e p50',
    'e2e p99',
    'e2e p99.9',
    'ceiling r/s',
    'durability',
  ];
  const rows = comparison.runs.map((run) => [
    run.workload.name,
    run.system.name,
    String(run.summary.recordsPerSec),
    String(run.summary.MBps),
    ...latencyCells(run.summary.publish),
    ...latencyCells(run.summary.endToEnd),
    run.ceiling === undefined ? '-' : String(run.ceiling.recordsPerSec),
    run.system.durability,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const targets = comparison.targets.map((target) => `target ${target.name}: ${target.met ? 'met' : 'MISSED'}, ${target.detail}`);
  return [
    line(header),
    ...rows.map(line),
    '(latencies in ms; ceiling: the server under its own load tool)',
    ...ceilingRatios(comparison),
    ...targets,
  ].join('\n');
}
