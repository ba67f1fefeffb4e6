/**
 * The shapes the benchmark suite passes between its parts: a workload (what to run), a system
 * under test (how to reach shardline or a peer through one small adapter), and a run's result
 * (what the JSON file and the HTML report hold). Kept free of logic so that the report, the
 * runner and the adapters can each be read and tested on their own.
 */
import type { LatencySummary } from '../bench_common.js';

export type { LatencySummary };

/** Bytes at the front of every record's data that the runner owns: see RecordStamp. */
export const STAMP_BYTES = 16;

/** Record sizes: every record `bytes` long, or uniformly distributed from `min` to `max`. */
export type RecordSize = { readonly bytes: number } | { readonly min: number; readonly max: number };

export interface PartitionKeys {
  readonly count: number;
  /** uniform, or zipf: key i is chosen with weight 1 / (i + 1)^exponent (a few hot keys). */
  readonly distribution: 'uniform' | 'zipf';
  readonly zipfExponent: number;
}

export type ConsumerMode = 'push' | 'poll';

/** fsync per write batch ("always"), never (the OS page cache), or every N milliseconds. */
export type FsyncSetting = 'always' | 'never' | { readonly intervalMs: number };

export interface Bounds {
  readonly endToEndP99MaxMs?: number;
  readonly publishP99MaxMs?: number;
  readonly minRecordsPerSec?: number;
  readonly minMBps?: number;
}

export interface FindMaxSettings {
  /** The p99 (end to end when there are consumers, else publish) a sustainable rate keeps under. */
  readonly p99MaxMs: number;
  readonly startRate: number;
  readonly maxRate: number;
  readonly trialSeconds: number;
  /** The search stops when the bracket is narrower than this fraction of its lower end. */
  readonly precision: number;
}

/**
 * fixed: producers at `rate` (a number, or "max": as fast as acknowledgements allow);
 * find-max: the highest rate whose p99 stays under findMax.p99MaxMs;
 * limits: a PROVISIONED stream offered more than its per-shard limits; accepted rate measured.
 */
export type RunMode = 'fixed' | 'find-max' | 'limits';

export interface Workload {
  readonly name: string;
  readonly description: string;
  readonly mode: RunMode;
  readonly streams: number;
  readonly shardsPerStream: number;
  readonly recordSize: RecordSize;
  readonly partitionKeys: PartitionKeys;
  readonly producers: number;
  readonly consumers: number;
  readonly consumerMode: ConsumerMode;
  /** Records per second over all producers, or "max". */
  readonly rate: number | 'max';
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly fsync: FsyncSetting;
  readonly capacityMode: 'PROVISIONED' | 'ON_DEMAND';
  /** Records a producer may have sent but not yet had acknowledged ("max" rate's window). */
  readonly maxInFlight: number;
  readonly findMax: FindMaxSettings | null;
  readonly bounds: Bounds;
}

export interface BenchRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

/** What a put of a batch came to: records not counted as throttled were acknowledged. */
export interface PutOutcome {
  readonly throttled: number;
  /** Which of the batch's records were throttled (positions in the batch), when any were. */
  readonly throttledIndices?: readonly number[];
}

export interface ProducerPort {
  /**
   * Sends the records to the stream and resolves once the system acknowledged them under the
   * durability it states. Throttled records are retried by the adapter unless the producer was
   * opened with retryThrottled false, in which case they are counted in the outcome and dropped.
   * Rejects on any other failure.
   */
  put(stream: string, records: readonly BenchRecord[]): Promise<PutOutcome>;
  close(): Promise<void>;
}

export interface ConsumerPort {
  close(): Promise<void>;
}

export interface ConsumerOptions {
  readonly stream: string;
  readonly mode: ConsumerMode;
  /** Called for every record the consumer receives, in order per shard, from the stream's start. */
  readonly onRecord: (data: Uint8Array) => void;
}

export interface StreamSpec {
  readonly names: readonly string[];
  readonly shards: number;
  readonly capacityMode: 'PROVISIONED' | 'ON_DEMAND';
}

/** A running system under test (a server process, or a peer) reached through its adapter. */
export interface SystemUnderTest {
  readonly name: string;
  readonly version: string;
  /** What an acknowledgement means, stated so that runs can be compared at equal durability. */
  readonly durability: string;
  /** The modes this system supports; the runner refuses a workload that needs another. */
  readonly consumerModes: readonly ConsumerMode[];
  readonly supportsLimits: boolean;
  createStreams(spec: StreamSpec): Promise<void>;
  openProducer(options: { readonly retryThrottled: boolean }): Promise<ProducerPort>;
  openConsumer(options: ConsumerOptions): Promise<ConsumerPort>;
  /** Stops the system and removes its data. */
  stop(): Promise<void>;
  /**
   * The server's own ingest ceiling, measured on this running system (same durability) by its
   * native load tool or a pipelined raw-protocol client, not by the Node library the runs use:
   * what a ratio against this peer should be taken against. Absent where the run's client is
   * already the native one (shardline's).
   */
  ceiling?(spec: CeilingSpec): Promise<Ceiling>;
}

export interface CeilingSpec {
  /** Each record's data, in bytes. */
  readonly recordBytes: number;
  /** About how long to load the server for. */
  readonly seconds: number;
}

export interface Ceiling {
  /** The tool and its settings, e.g. "redis-benchmark -P 64 -c 1 XADD". */
  readonly tool: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
}

export interface SystemFactory {
  readonly name: string;
  /**
   * Starts the system on 127.0.0.1 with the workload's fsync setting, in a fresh directory.
   * enforceLimits asks for per-shard limits on PROVISIONED streams (only where supportsLimits).
   */
  start(fsync: FsyncSetting, dataRoot: string, options?: { readonly enforceLimits: boolean }): Promise<SystemUnderTest>;
}

// ---------------------------------------------------------------- results

/** One second of the run from the window's start: what was acknowledged or received in it (us). */
export interface TimelinePoint {
  readonly t: number;
  readonly recordsPerSec: number;
  readonly MBps: number;
  readonly publishP50Us: number;
  readonly publishP99Us: number;
  readonly publishMaxUs: number;
  readonly endToEndP50Us: number | null;
  readonly endToEndP99Us: number | null;
  readonly endToEndMaxUs: number | null;
  readonly errors: number;
}

/** Points of a latency distribution: the value at each percentile, for a percentile plot. */
export interface DistributionPoint {
  readonly percentile: number;
  readonly valueUs: number;
}

export interface BoundCheck {
  readonly name: string;
  readonly limit: number;
  readonly actual: number;
  readonly unit: string;
  readonly met: boolean;
}

export interface Summary {
  readonly seconds: number;
  /** Offered rate: records/s the producers were told to send (null for "max"). */
  readonly targetRecordsPerSec: number | null;
  readonly records: number;
  readonly bytes: number;
  readonly recordsPerSec: number;
  readonly MBps: number;
  readonly consumedRecords: number;
  readonly throttled: number;
  /** Records whose put failed (or that were never sent: the system stopped taking them). */
  readonly errors: number;
  /** The first put error's message, when there were errors. */
  readonly firstError?: string;
  readonly publish: LatencySummary;
  readonly endToEnd: LatencySummary | null;
}

export interface FindMaxTrial {
  readonly rate: number;
  readonly recordsPerSec: number;
  readonly p99Us: number;
  readonly sustained: boolean;
}

export interface FindMaxResult {
  readonly p99MaxMs: number;
  readonly trials: readonly FindMaxTrial[];
  /** The highest rate that sustained the bound, 0 when none did. */
  readonly maxSustainableRate: number;
}

export interface LimitsResult {
  readonly shards: number;
  readonly offeredRecordsPerSec: number;
  readonly offeredMBps: number;
  readonly acceptedRecordsPerSec: number;
  readonly acceptedMBps: number;
  /** Accepted against the per-shard limit binding for this record size (records or bytes). */
  readonly binding: 'records' | 'bytes';
  readonly ratioOfLimit: number;
  readonly throttled: number;
  /** Accepted records a consumer did not read back: must be 0. */
  readonly lost: number;
}

export interface SystemInfo {
  readonly name: string;
  readonly version: string;
  readonly durability: string;
}

export interface RunResult {
  readonly schema: 'shardline-bench-run/1';
  readonly startedAt: string;
  readonly workload: Workload;
  readonly system: SystemInfo;
  readonly environment: Record<string, unknown>;
  readonly summary: Summary;
  readonly timeline: readonly TimelinePoint[];
  readonly distribution: { readonly publish: readonly DistributionPoint[]; readonly endToEnd: readonly DistributionPoint[] | null };
  readonly findMax: FindMaxResult | null;
  readonly limits: LimitsResult | null;
  readonly bounds: readonly BoundCheck[];
  /** The system's own ceiling, measured right after the run on the same server (throughput workloads of peers). */
  readonly ceiling?: Ceiling;
}

export interface TargetCheck {
  readonly name: string;
  /** The workload whose runs it compares. */
  readonly workload?: string;
  readonly met: boolean;
  /** e.g. "3.1x Redis Streams (target 2x)" or "p99 4.2 ms vs 1.9 ms: 2.3 ms over". */
  readonly detail: string;
}

/** Self time of the busiest functions of one thread of a profiled process. */
export interface ThreadSummary {
  readonly thread: string;
  readonly busyMs: number;
  readonly totalMs: number;
  readonly top: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
}

/** Where the time went in a repeat of a run whose target was missed, profiled (--cpu-prof). */
export interface ProfileSummary {
  readonly workload: string;
  readonly system: string;
  readonly reason: string;
  /** The .cpuprofile files, one per thread (Chrome DevTools opens them). */
  readonly dir: string;
  readonly threads: readonly ThreadSummary[];
}

export interface ComparisonResult {
  readonly schema: 'shardline-bench-compare/1';
  readonly startedAt: string;
  readonly environment: Record<string, unknown>;
  readonly runs: readonly RunResult[];
  readonly targets: readonly TargetCheck[];
  readonly profiles?: readonly ProfileSummary[];
  /** Why the comparison stopped before its last run (the runs before it are kept). */
  readonly failure?: string;
}
