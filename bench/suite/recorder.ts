/**
 * Everything a phase observes, as it happens: publish and end-to-end latencies into HDR
 * histograms (whole window and per second), acknowledged records and bytes, throttles and
 * errors. Only records whose intended send time falls in the measured window count, but they
 * count however late they are acknowledged or received: a stall at the end is not cut off.
 */
import type { Histogram } from 'hdr-histogram-js';
import { MB, latencyHistogram, round1 } from '../bench_common.js';
import type { DistributionPoint, TimelinePoint } from './types.js';

const WINDOW_SLACK_MS = 1e-6;
const LATENCY_US_MAX = 100_000_000;
const DISTRIBUTION_PERCENTILES = [
  0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.3, 99.5, 99.7, 99.9, 99.93, 99.95, 99.97, 99.99, 99.995,
  99.999, 100,
];

export interface AcknowledgedBatch {
  readonly firstIntendedMs: number;
  readonly stepMs: number;
  readonly count: number;
  readonly bytes: number;
}

interface Interval {
  readonly publish: Histogram;
  readonly endToEnd: Histogram;
  records: number;
  bytes: number;
  errors: number;
}

export class Recorder {
  readonly publish = latencyHistogram();
  readonly endToEnd = latencyHistogram();
  private readonly intervals: Interval[] = [];
  acknowledged = 0;
  acknowledgedBytes = 0;
  /** Every record acknowledged, warm-up included: what the consumers must read back. */
  acknowledgedAll = 0;
  /** When the last record of the window was acknowledged: a system slower than offered ends late. */
  lastMeasuredAckMs = 0;
  throttled = 0;
  errors = 0;
  firstError: string | null = null;

  /**
   * countByAckTime: throughput counts what was acknowledged during the window (for "max", where
   * a window's first seconds acknowledge warm-up records); otherwise what was intended in it.
   */
  constructor(
    readonly measureStartMs: number,
    readonly measureEndMs: number,
    private readonly countByAckTime: boolean,
  ) {}

  /** Compared with a nanosecond's slack: start + k * step is not exact in floating point. */
  inWindow(timeMs: number): boolean {
    return timeMs >= this.measureStartMs - WINDOW_SLACK_MS && timeMs < this.measureEndMs - WINDOW_SLACK_MS;
  }

  /** A batch acknowledged at `nowMs`: records sent at first + i * step; some throttled, by position. */
  acknowledge(nowMs: number, batch: AcknowledgedBatch, throttledIndices: readonly number[]): void {
    const { firstIntendedMs, stepMs, count, bytes } = batch;
    const accepted = count - throttledIndices.length;
    this.acknowledgedAll += accepted;
    this.throttled += throttledIndices.length;
    const interval = this.intervalAt(nowMs);
    // Throttled records got their answer too: they count in publish latency, not in throughput.
    const measured =
      stepMs === 0
        ? this.acknowledgeAlike(nowMs, firstIntendedMs, count, interval)
        : this.acknowledgeEach(nowMs, firstIntendedMs, stepMs, count, interval);
    const throttledInWindow = throttledIndices.filter((i) => this.inWindow(firstIntendedMs + i * stepMs)).length;
    const counted = this.countByAckTime ? (this.inWindow(nowMs) ? accepted : 0) : measured - throttledInWindow;
    if (counted === 0) return;
    if (!this.countByAckTime) this.lastMeasuredAckMs = nowMs;
    const countedBytes = (bytes * counted) / count;
    this.acknowledged += counted;
    this.acknowledgedBytes += countedBytes;
    if (interval !== null) {
      interval.records += counted;
      interval.bytes += countedBytes;
    }
  }

  /** A batch sent at once: one latency for all, recorded once with its count. */
  private acknowledgeAlike(nowMs: number, intendedMs: number, count: number, interval: Interval | null): number {
    if (!this.inWindow(intendedMs)) return 0;
    const micros = toMicros(nowMs - intendedMs);
    this.publish.recordValueWithCount(micros, count);
    interval?.publish.recordValueWithCount(micros, count);
    return count;
  }

  private acknowledgeEach(nowMs: number, firstIntendedMs: number, stepMs: number, count: number, interval: Interval | null): number {
    let measured = 0;
    for (let i = 0; i < count; i++) {
      const intended = firstIntendedMs + i * stepMs;
      if (!this.inWindow(intended)) continue;
      measured++;
      const micros = toMicros(nowMs - intended);
      this.publish.recordValue(micros);
      interval?.publish.recordValue(micros);
    }
    return measured;
  }

  fail(nowMs: number, error: unknown, records = 1): void {
    this.errors += records;
    this.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const interval = this.intervalAt(nowMs);
    if (interval !== null) interval.errors += records;
  }

  receive(nowMs: number, intendedMs: number): void {
    if (!this.inWindow(intendedMs)) return;
    const micros = toMicros(nowMs - intendedMs);
    this.endToEnd.recordValue(micros);
    this.intervalAt(nowMs)?.endToEnd.recordValue(micros);
  }

  /**
   * The seconds the window's records took: the window, or longer when the last of them was
   * acknowledged after it ended (the system could not keep up with the offered rate).
   */
  measuredSeconds(): number {
    return Math.max(this.measureEndMs - this.measureStartMs, this.lastMeasuredAckMs - this.measureStartMs) / 1000;
  }

  /** Per-second points from the window's start to the last observation (drain included). */
  timeline(): TimelinePoint[] {
    const points: TimelinePoint[] = [];
    for (let i = 0; i < this.intervals.length; i++) {
      const interval = this.intervals[i] ?? emptyInterval();
      const hasEndToEnd = interval.endToEnd.totalCount > 0;
      points.push({
        t: i + 1,
        recordsPerSec: Math.round(interval.records),
        MBps: round1(interval.bytes / MB),
        publishP50Us: interval.publish.getValueAtPercentile(50),
        publishP99Us: interval.publish.getValueAtPercentile(99),
        publishMaxUs: interval.publish.maxValue,
        endToEndP50Us: hasEndToEnd ? interval.endToEnd.getValueAtPercentile(50) : null,
        endToEndP99Us: hasEndToEnd ? interval.endToEnd.getValueAtPercentile(99) : null,
        endToEndMaxUs: hasEndToEnd ? interval.endToEnd.maxValue : null,
        errors: interval.errors,
      });
    }
    return points;
  }

  /** The p99 of the last whole second, for progress lines; null when nothing was observed in it. */
  recentP99Us(nowMs: number, which: 'publish' | 'endToEnd'): number | null {
    const histogram = this.intervals[Math.floor((nowMs - this.measureStartMs) / 1000) - 1]?.[which];
    return histogram === undefined || histogram.totalCount === 0 ? null : histogram.getValueAtPercentile(99);
  }

  private intervalAt(nowMs: number): Interval | null {
    if (nowMs < this.measureStartMs) return null;
    const index = Math.floor((nowMs - this.measureStartMs) / 1000);
    let interval = this.intervals[index];
    if (interval === undefined) {
      interval = emptyInterval();
      this.intervals[index] = interval;
    }
    return interval;
  }
}

function emptyInterval(): Interval {
  return { publish: latencyHistogram(), endToEnd: latencyHistogram(), records: 0, bytes: 0, errors: 0 };
}

/** Latencies above the histograms' range (100 s) are recorded at its top, not dropped. */
function toMicros(ms: number): number {
  return Math.min(LATENCY_US_MAX, Math.max(1, Math.round(ms * 1000)));
}

export function distributionOf(histogram: Histogram): DistributionPoint[] {
  if (histogram.totalCount === 0) return [];
  return DISTRIBUTION_PERCENTILES.map((percentile) => ({
    percentile,
    valueUs: percentile === 100 ? histogram.maxValue : histogram.getValueAtPercentile(percentile),
  }));
}
