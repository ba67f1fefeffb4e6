/** Synthetic benchmark results for report tests: deterministic, shaped like a real run's. */
import type { ComparisonResult, DistributionPoint, LatencySummary, RunResult, TimelinePoint, Workload } from '../../bench/suite/types.js';

export const FIXTURE_TIMELINE_POINTS = 30;
/** Percentiles 100 * (1 - 10^(-k/10)) for k = 0..40: 0% to 99.99%, evenly spaced in nines. */
export const FIXTURE_DISTRIBUTION_POINTS = 41;

export interface RunFixtureOptions {
  readonly systemName?: string;
  readonly workloadName?: string;
  /** Whether consumers ran, and so whether there are end-to-end latencies. */
  readonly endToEnd?: boolean;
  /** Multiplies every latency, so that runs of a comparison differ. */
  readonly latencyScale?: number;
  readonly recordsPerSec?: number;
  readonly findMax?: boolean;
  readonly limits?: boolean;
}

const RECORD_BYTES = 1024;
/** Under the fixture's end-to-end p99 (6 ms at scale 1), so that its run report shows a MISSED bound. */
const E2E_P99_MAX_MS = 3;

function fixturePercentiles(): number[] {
  return Array.from({ length: FIXTURE_DISTRIBUTION_POINTS }, (_, k) => Number((100 * (1 - 10 ** (-k / 10))).toFixed(6)));
}

/** A latency distribution rising slowly to p99 and steeply in the tail, as measured ones do. */
function distribution(baseUs: number): DistributionPoint[] {
  return fixturePercentiles().map((percentile, k) => ({ percentile, valueUs: Math.round(baseUs * (1 + k / 10 + (k / 20) ** 4)) }));
}

function valueAt(points: readonly DistributionPoint[], percentile: number): number {
  const point = points.find((p) => p.percentile >= percentile - 1e-9);
  return (point ?? points[points.length - 1]!).valueUs;
}

function latencySummary(points: readonly DistributionPoint[], count: number): LatencySummary {
  const at = (percentile: number): number => valueAt(points, percentile);
  return {
    count,
    meanUs: at(60),
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    p9999Us: at(99.99),
    maxUs: Math.round(at(99.99) * 1.5),
  };
}

/** Rates and latencies that wander (deterministically) around their base, with one slow second. */
function timelinePoint(t: number, recordsPerSec: number, publishUs: number, endToEndUs: number | null): TimelinePoint {
  const wave = 1 + 0.15 * Math.sin(t / 3);
  const spike = t === 17 ? 8 : 1;
  const rate = Math.round(recordsPerSec * (1 + 0.05 * Math.cos(t / 2)));
  const e2e = (factor: number): number | null => (endToEndUs === null ? null : Math.round(endToEndUs * wave * factor * spike));
  return {
    t,
    recordsPerSec: rate,
    MBps: Number(((rate * RECORD_BYTES) / 1e6).toFixed(3)),
    publishP50Us: Math.round(publishUs * wave),
    publishP99Us: Math.round(publishUs * wave * 4 * spike),
    publishMaxUs: Math.round(publishUs * wave * 10 * spike),
    endToEndP50Us: e2e(1),
    endToEndP99Us: e2e(4),
    endToEndMaxUs: e2e(12),
    errors: 0,
  };
}

function workload(name: string, consumers: number, recordsPerSec: number): Workload {
  return {
    name,
    description: 'A synthetic workload for report tests.',
    mode: 'fixed',
    streams: 1,
    shardsPerStream: 4,
    recordSize: { bytes: RECORD_BYTES },
    partitionKeys: { count: 1000, distribution: 'zipf', zipfExponent: 1.1 },
    producers: 2,
    consumers,
    consumerMode: 'push',
    rate: recordsPerSec,
    warmupSeconds: 2,
    durationSeconds: FIXTURE_TIMELINE_POINTS,
    fsync: { intervalMs: 10 },
    capacityMode: 'ON_DEMAND',
    maxInFlight: 1000,
    findMax: null,
    bounds: { endToEndP99MaxMs: E2E_P99_MAX_MS, minRecordsPerSec: recordsPerSec * 0.95 },
  };
}

export function runResultFixture(options: RunFixtureOptions = {}): RunResult {
  const { systemName = 'shardline', workloadName = 'steady-1k', endToEnd = true, latencyScale = 1, recordsPerSec = 20_000 } = options;
  const publishUs = 300 * latencyScale;
  const endToEndUs = endToEnd ? 1500 * latencyScale : null;
  const records = recordsPerSec * FIXTURE_TIMELINE_POINTS;
  const publish = distribution(publishUs);
  const endToEndPoints = endToEndUs === null ? null : distribution(endToEndUs);
  const endToEndSummary = endToEndPoints === null ? null : latencySummary(endToEndPoints, records);
  return {
    schema: 'shardline-bench-run/1',
    startedAt: '2025-01-02T03:04:05.000Z',
    workload: workload(workloadName, endToEnd ? 2 : 0, recordsPerSec),
    system: {
      name: systemName,
      version: '0.1.0',
      durability: `${systemName}: acknowledged once written to the page cache; fsync every 10 ms.`,
    },
    environment: { node: 'v20.0.0', platform: 'linux 6.1 x64', cores: 2, memoryGiB: 7.8, gitRevision: 'abc1234' },
    summary: {
      seconds: FIXTURE_TIMELINE_POINTS,
      targetRecordsPerSec: recordsPerSec,
      records,
      bytes: records * RECORD_BYTES,
      recordsPerSec,
      MBps: (recordsPerSec * RECORD_BYTES) / 1e6,
      consumedRecords: endToEnd ? records : 0,
      throttled: 0,
      errors: 0,
      publish: latencySummary(publish, records),
      endToEnd: endToEndSummary,
    },
    timeline: Array.from({ length: FIXTURE_TIMELINE_POINTS }, (_, t) => timelinePoint(t, recordsPerSec, publishUs, endToEndUs)),
    distribution: { publish, endToEnd: endToEndPoints },
    findMax: options.findMax === true ? findMaxFixture() : null,
    limits: options.limits === true ? limitsFixture() : null,
    bounds: boundChecks(endToEndSummary, recordsPerSec),
  };
}

function boundChecks(endToEnd: LatencySummary | null, recordsPerSec: number): RunResult['bounds'] {
  const rate = { name: 'records/s at least', limit: recordsPerSec * 0.95, actual: recordsPerSec, unit: 'records/s', met: true };
  if (endToEnd === null) return [rate];
  const p99Ms = endToEnd.p99Us / 1000;
  return [{ name: 'end-to-end p99 at most', limit: E2E_P99_MAX_MS, actual: p99Ms, unit: 'ms', met: p99Ms <= E2E_P99_MAX_MS }, rate];
}

function findMaxFixture(): NonNullable<RunResult['findMax']> {
  const trials = [10_000, 20_000, 40_000, 30_000, 35_000].map((rate) => ({
    rate,
    recordsPerSec: rate * 0.99,
    p99Us: rate * 0.1,
    sustained: rate * 0.1 < 3_600,
  }));
  return { p99MaxMs: 3.6, trials, maxSustainableRate: 35_000 };
}

function limitsFixture(): NonNullable<RunResult['limits']> {
  return {
    shards: 4,
    offeredRecordsPerSec: 6000,
    offeredMBps: 6.144,
    acceptedRecordsPerSec: 4000,
    acceptedMBps: 4.096,
    binding: 'bytes',
    ratioOfLimit: 1.0,
    throttled: 60_000,
    lost: 0,
  };
}

/** Three systems on one workload; the last ran without consumers. */
export function comparisonFixture(): ComparisonResult {
  const runs = [
    runResultFixture({ systemName: 'shardline', recordsPerSec: 40_000, latencyScale: 1 }),
    runResultFixture({ systemName: 'Redis Streams', recordsPerSec: 25_000, latencyScale: 2.5 }),
    runResultFixture({ systemName: 'kinesalite', recordsPerSec: 3_000, latencyScale: 30, endToEnd: false }),
  ];
  return {
    schema: 'shardline-bench-compare/1',
    startedAt: '2025-01-02T04:00:00.000Z',
    environment: { node: 'v20.0.0', cores: 2 },
    runs,
    targets: [
      { name: 'throughput vs Redis Streams', met: false, detail: '1.6x Redis Streams (target 2x)' },
      { name: 'end-to-end p99 vs Redis Streams', met: true, detail: 'p99 1.9 ms vs 4.7 ms' },
    ],
  };
}
