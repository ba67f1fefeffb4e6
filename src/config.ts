import { STATE_DURATION_MS_MAX, WORKERS_MAX } from './limits.js';
import os from 'node:os';
import { InvalidArgumentException } from './errors.js';
import { ManualClock } from './util/manual_clock.js';
import type { FsyncPolicy } from './log/log_config.js';
import type { PortableLogOptions } from './workers/channel.js';
import { OPEN_SHARDS_PER_WORKER_MIN, defaultOpenShardsMax } from './workers/open_logs.js';

export interface EngineOptions {
  /** Where streams live; created if missing. */
  readonly dataDir: string;
  /** Shard worker threads. Default: cores - 1, at least 1. */
  readonly workers?: number;
  /** Durability of every shard's log. Default "always". */
  readonly fsync?: FsyncPolicy;
  /** Enforce Kinesis' per-shard throughput limits. Default true; false for raw benchmarking. */
  readonly enforceLimits?: boolean;
  /** Log settings for every shard (segment size and the like; see LogOptions). */
  readonly log?: PortableLogOptions;
  /**
   * The clock for arrival times, iterators and limits (tests move it). Default Date.now. A
   * function is read on the engine's thread only (the shard workers' retention keeps Date.now);
   * 'manual' is real time plus an offset that `Engine.advanceClock` moves forward, read by the
   * shard workers too (docs/TESTING.md, "A controllable clock").
   */
  readonly clock?: (() => number) | 'manual';
  /**
   * Realistic state durations (docs/TESTING.md), as kinesalite's: a new stream stays CREATING,
   * a resharded or updated one UPDATING, a deleted one DELETING for this long by the engine's
   * clock. Default 0 each: ACTIVE (or gone) at once. At most STATE_DURATION_MS_MAX.
   */
  readonly createStreamMs?: number;
  readonly updateStreamMs?: number;
  readonly deleteStreamMs?: number;
  /**
   * Shards whose active segment keeps its files open (3 descriptors each), across all workers;
   * past it the least recently written shard's files close until its next append. Default: half
   * the open-file limit (ulimit -n) over 3. At least 16 per worker.
   */
  readonly openShardsMax?: number;
  /**
   * The passphrase the key store's master key derives from (docs/SECURITY.md), for streams
   * encrypted at rest; default: the key file `<dataDir>/kms/master.key`.
   */
  readonly kmsPassphrase?: string;
  /** Count CloudWatch's metrics (Engine.metrics(), docs/OPERATIONS.md). Default true; false measures their cost. */
  readonly metrics?: boolean;
}

export interface ResolvedEngineOptions {
  readonly dataDir: string;
  readonly workers: number;
  readonly enforceLimits: boolean;
  readonly log: PortableLogOptions;
  readonly clock: () => number;
  /** The clock behind `clock` when it is 'manual'; null otherwise. */
  readonly manualClock: ManualClock | null;
  readonly stateDurations: StateDurations;
  readonly openShardsMax: number;
  readonly kmsPassphrase?: string;
  readonly metrics: boolean;
}

/** How long streams stay in each passing state, in the engine's milliseconds (0: not at all). */
export interface StateDurations {
  readonly createStreamMs: number;
  readonly updateStreamMs: number;
  readonly deleteStreamMs: number;
}

export function resolveEngineOptions(options: EngineOptions): ResolvedEngineOptions {
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0)
    throw new InvalidArgumentException('dataDir must be a non-empty path');
  // More threads than WORKERS_MAX only add switching, so a bigger machine's default stops there.
  const workers = options.workers ?? Math.min(WORKERS_MAX, Math.max(1, os.availableParallelism() - 1));
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > WORKERS_MAX) {
    throw new InvalidArgumentException(`workers must be an integer from 1 to ${WORKERS_MAX}, got ${String(workers)}`);
  }
  const openShardsMax = options.openShardsMax ?? Math.max(defaultOpenShardsMax(), workers * OPEN_SHARDS_PER_WORKER_MIN);
  if (!Number.isSafeInteger(openShardsMax) || openShardsMax < workers * OPEN_SHARDS_PER_WORKER_MIN) {
    throw new InvalidArgumentException(
      `openShardsMax must be an integer of at least ${OPEN_SHARDS_PER_WORKER_MIN} per worker (${workers * OPEN_SHARDS_PER_WORKER_MIN}), got ${String(openShardsMax)}`,
    );
  }
  return {
    dataDir: options.dataDir,
    openShardsMax,
    workers,
    enforceLimits: options.enforceLimits ?? true,
    log: { ...options.log, ...(options.fsync === undefined ? {} : { fsync: options.fsync }) },
    ...resolveClock(options.clock),
    stateDurations: {
      createStreamMs: stateDuration('createStreamMs', options.createStreamMs),
      updateStreamMs: stateDuration('updateStreamMs', options.updateStreamMs),
      deleteStreamMs: stateDuration('deleteStreamMs', options.deleteStreamMs),
    },
    metrics: options.metrics ?? true,
    ...(options.kmsPassphrase === undefined ? {} : { kmsPassphrase: options.kmsPassphrase }),
  };
}

function resolveClock(clock: EngineOptions['clock']): Pick<ResolvedEngineOptions, 'clock' | 'manualClock'> {
  if (clock === 'manual') {
    const manualClock = new ManualClock();
    return { clock: manualClock.now, manualClock };
  }
  if (clock !== undefined && typeof clock !== 'function')
    throw new InvalidArgumentException(`clock must be a function or 'manual', got ${JSON.stringify(clock)}`);
  return { clock: clock ?? Date.now, manualClock: null };
}

function stateDuration(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0 || value > STATE_DURATION_MS_MAX)
    throw new InvalidArgumentException(`${name} must be an integer from 0 to ${STATE_DURATION_MS_MAX}, got ${String(value)}`);
  return value;
}
