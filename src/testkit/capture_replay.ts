import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentException } from '../errors.js';
import type { CaptureRecord } from './capture_format.js';
import { putAll, sinkOf, type PutTarget } from './capture_import.js';
import { OrderedPutter } from './capture_putter.js';
import { openCapture } from './capture_reader.js';

/*
 * Replay: a capture's records put at their recorded pace, or `speed` times faster. Record i is
 * due at (arrival_i - arrival_0) / speed after the start, never before the record ahead of it in
 * the file (arrival times may step back at a reshard, where a child's records follow its
 * parent's), and is handed to the ordered putter (capture_putter.ts) then: so each key keeps its
 * order, and a key whose put is slow or throttled delays its own later records. Each record's
 * timing error is the time its storing put was sent minus the time it was due.
 */

export interface ReplayOptions {
  readonly stream: string;
  /** How many times faster than recorded. Default 1. */
  readonly speed?: number | undefined;
  /** PutRecords calls in flight at once. Default 4. */
  readonly inFlightMax?: number | undefined;
  /** Called as each record is stored. */
  readonly onPut?: ((timing: PutTiming) => void) | undefined;
}

export interface PutTiming {
  readonly record: CaptureRecord;
  /** When it was due and when its storing put was sent, in ms after the replay began. */
  readonly dueMs: number;
  readonly sentMs: number;
}

export interface TimingSummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ReplayResult {
  readonly recordCount: number;
  readonly payloadBytes: number;
  /** Arrival of the last record minus that of the first. */
  readonly recordedSpanMs: number;
  readonly elapsedMs: number;
  /** Sent minus due, over every record (ms; resolution about 1.5%). */
  readonly timingErrorMs: TimingSummary;
}

/** Wake this long before a record is due and spin the event loop for the rest: timers fire up to a few ms late. */
const SPIN_MS = 2;

export async function replayCapture(into: PutTarget, file: string | Readable, options: ReplayOptions): Promise<ReplayResult> {
  const speed = options.speed ?? 1;
  if (!Number.isFinite(speed) || speed <= 0) throw new InvalidArgumentException(`speed must be a number above 0, got ${speed}`);
  const input = await openCapture(file);
  const due = new Map<CaptureRecord, number>();
  const errors = new TimingHistogram();
  let startMs = 0;
  let firstArrivalMs: number | undefined;
  let lastArrivalMs = 0;
  let lastDueMs = 0;
  const putter = new OrderedPutter(sinkOf(into), options.stream, {
    inFlightMax: options.inFlightMax,
    onStored: (record, sentAtMs) => {
      const dueMs = due.get(record)!;
      due.delete(record);
      errors.record(sentAtMs - startMs - dueMs);
      options.onPut?.({ record, dueMs, sentMs: sentAtMs - startMs });
    },
  });
  const totals = await putAll(input, putter, (record) => {
    if (firstArrivalMs === undefined) {
      firstArrivalMs = record.arrivalMs;
      startMs = performance.now();
    }
    lastArrivalMs = Math.max(lastArrivalMs, record.arrivalMs);
    lastDueMs = Math.max(lastDueMs, (record.arrivalMs - firstArrivalMs) / speed);
    due.set(record, lastDueMs);
    return untilDue(startMs + lastDueMs);
  });
  return {
    ...totals,
    recordedSpanMs: firstArrivalMs === undefined ? 0 : lastArrivalMs - firstArrivalMs,
    elapsedMs: firstArrivalMs === undefined ? 0 : performance.now() - startMs,
    timingErrorMs: errors.summary(),
  };
}

/** Resolves at `atMs` (performance.now), or at once when that has passed. */
async function untilDue(atMs: number): Promise<void> {
  const waitMs = atMs - performance.now();
  if (waitMs <= 0) return;
  if (waitMs > SPIN_MS) await sleep(waitMs - SPIN_MS);
  while (performance.now() < atMs) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Timing errors in a log-linear histogram of microseconds (64 buckets per power of two, so a
 * bucket is within 1.6% of its values): a day of records in a few kilobytes.
 */
class TimingHistogram {
  private static readonly SUB_BUCKETS = 64;
  private readonly counts = new Float64Array(TimingHistogram.SUB_BUCKETS * 40);
  private count = 0;
  private maxMs = 0;

  record(errorMs: number): void {
    const us = Math.max(0, Math.round(errorMs * 1000));
    this.counts[TimingHistogram.bucketOf(us)]!++;
    this.count++;
    this.maxMs = Math.max(this.maxMs, errorMs);
  }

  summary(): TimingSummary {
    return { p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.maxMs };
  }

  private quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(this.maxMs, TimingHistogram.valueOf(bucket) / 1000);
    }
    return this.maxMs;
  }

  /** Below 64 us, one bucket per microsecond; above, 64 per power of two. */
  private static bucketOf(us: number): number {
    const sub = TimingHistogram.SUB_BUCKETS;
    if (us < sub) return us;
    const shift = Math.min(38, Math.floor(Math.log2(us)) - 6);
    return shift * sub + Math.min(2 * sub - 1, Math.floor(us / 2 ** shift));
  }

  /** The highest value a bucket holds. */
  private static valueOf(bucket: number): number {
    const sub = TimingHistogram.SUB_BUCKETS;
    if (bucket < sub) return bucket;
    const shift = Math.floor(bucket / sub) - 1;
    return (bucket - shift * sub + 1) * 2 ** shift - 1;
  }
}
