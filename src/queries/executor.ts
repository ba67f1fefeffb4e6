/*
 * A continuous query at work (docs/QUERIES.md), on its own thread (query_thread.ts): it takes the
 * source's records shard by shard, adds each to its windows, and as the watermark passes a
 * window's end (plus the grace period) turns the window into an output row. Its state (windows,
 * watermark, where each shard was read to, counters) is one snapshot, so a restart resumes from the
 * last checkpoint: records at or before a shard's position are skipped when they are read again.
 * Output rows carry a partition key made of the window and its group, the same every time the
 * window is computed, which is how the runner keeps a row from being put twice.
 */
import { createHash } from 'node:crypto';
import { createAccumulator, restoreAccumulator } from './aggregates.js';
import type { OutputRow } from './evaluate.js';
import { RecordError, type DecodedRecord } from './plan_types.js';
import type { QueryPlan } from './query_plan.js';
import { Watermark, type WatermarkSnapshot } from './watermark.js';
import { windowStore, type WindowSnapshot, type WindowState, type WindowStore } from './windows.js';

export interface InputRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly arrivalMs: number;
}

/** A record for a stream: an output row (JSON), or a late or unreadable record's envelope. */
export interface Emitted {
  readonly partitionKey: string;
  readonly data: string;
}

export interface ExecutorOutput {
  readonly rows: Emitted[];
  readonly late: Emitted[];
  readonly errors: Emitted[];
}

export interface ExecutorCounters {
  recordsIn: number;
  rowsEmitted: number;
  windowsClosed: number;
  lateRecords: number;
  errorRecords: number;
}

export interface ExecutorStatus extends ExecutorCounters {
  readonly openWindows: number;
  readonly watermarkMs: number | null;
  /** The most any shard's last read was behind the newest record, in ms. */
  readonly inputLagMs: number;
  readonly lastRecordError?: string;
}

export interface ExecutorSnapshot {
  readonly version: 1;
  /** The last record taken from each shard: [sequence number, subsequence number]. */
  readonly positions: Readonly<Record<string, readonly [string, number]>>;
  readonly ended: readonly string[];
  readonly watermark: WatermarkSnapshot;
  readonly windows: readonly WindowSnapshot[];
  readonly counters: ExecutorCounters;
}

export class QueryExecutor {
  private readonly store: WindowStore;
  private readonly watermark: Watermark;
  private readonly positions = new Map<string, { sequence: bigint; sub: number; text: string }>();
  private readonly ended = new Set<string>();
  private readonly lags = new Map<string, number>();
  private counters: ExecutorCounters = { recordsIn: 0, rowsEmitted: 0, windowsClosed: 0, lateRecords: 0, errorRecords: 0 };
  private output: ExecutorOutput = { rows: [], late: [], errors: [] };
  private lastRecordError: string | undefined;

  constructor(
    private readonly plan: QueryPlan,
    nowMs: number,
    snapshot?: ExecutorSnapshot,
  ) {
    const calls = plan.aggregates;
    this.store = windowStore(plan.ast.window, {
      create: () => calls.map((call) => createAccumulator(call)),
      restore: (snapshots) => calls.map((call, index) => restoreAccumulator(call, snapshots[index])),
    });
    const { idleTimeoutMs } = plan.settings;
    this.watermark =
      snapshot === undefined
        ? new Watermark(plan.rowtime, idleTimeoutMs)
        : Watermark.restore(plan.rowtime, idleTimeoutMs, snapshot.watermark, nowMs);
    if (snapshot !== undefined) this.restore(snapshot);
  }

  /** The shards the source lists: the watermark waits for each (but those that ended before a restart). */
  expect(shardIds: readonly string[], nowMs: number): void {
    for (const shardId of shardIds) if (!this.ended.has(shardId)) this.watermark.expect(shardId, nowMs);
  }

  process(shardId: string, records: readonly InputRecord[], millisBehindLatest: number, nowMs: number): void {
    // Only a batch read again after a restart holds records at or before the position.
    let replayedUpTo = this.positions.get(shardId);
    let newestMs = -Infinity;
    for (const record of records) {
      const sequence = BigInt(record.sequenceNumber);
      if (replayedUpTo !== undefined) {
        if (!isAfter(sequence, record.subSequenceNumber, replayedUpTo)) continue;
        replayedUpTo = undefined;
      }
      this.positions.set(shardId, { sequence, sub: record.subSequenceNumber, text: record.sequenceNumber });
      this.counters.recordsIn++;
      if (this.plan.rowtime) newestMs = Math.max(newestMs, record.arrivalMs);
      const timeMs = this.add(shardId, record);
      if (timeMs !== null) newestMs = Math.max(newestMs, timeMs);
    }
    this.lags.set(shardId, millisBehindLatest);
    this.watermark.delivered(shardId, newestMs, millisBehindLatest === 0, nowMs);
    this.advance(nowMs);
  }

  /** The shard reached its end: its children take its place in the watermark. */
  shardEnded(shardId: string, children: readonly string[], nowMs: number): void {
    this.ended.add(shardId);
    this.lags.delete(shardId);
    this.watermark.ended(shardId);
    for (const child of children) this.watermark.expect(child, nowMs);
    this.advance(nowMs);
  }

  /** Closes what the watermark has passed. */
  advance(nowMs: number): void {
    const closedBefore = this.watermark.advance(nowMs) - this.plan.settings.graceMs;
    for (const window of this.store.close(closedBefore)) this.emit(window);
  }

  /** What was emitted since the last call. */
  take(): ExecutorOutput {
    const output = this.output;
    this.output = { rows: [], late: [], errors: [] };
    return output;
  }

  get status(): ExecutorStatus {
    return {
      ...this.counters,
      openWindows: this.store.size,
      watermarkMs: Number.isFinite(this.watermark.currentMs) ? this.watermark.currentMs : null,
      inputLagMs: Math.max(0, ...this.lags.values()),
      ...(this.lastRecordError === undefined ? {} : { lastRecordError: this.lastRecordError }),
    };
  }

  snapshot(): ExecutorSnapshot {
    return {
      version: 1,
      positions: Object.fromEntries([...this.positions].map(([shardId, position]) => [shardId, [position.text, position.sub] as const])),
      ended: [...this.ended],
      watermark: this.watermark.snapshot(),
      windows: this.store.snapshot(),
      counters: { ...this.counters },
    };
  }

  private restore(snapshot: ExecutorSnapshot): void {
    for (const [shardId, [text, sub]] of Object.entries(snapshot.positions))
      this.positions.set(shardId, { sequence: BigInt(text), sub, text });
    for (const shardId of snapshot.ended) this.ended.add(shardId);
    this.store.restore(snapshot.windows);
    this.counters = { ...snapshot.counters };
  }

  /** One record into its windows; its time, or null when it had none (an error) or was filtered out. */
  private add(shardId: string, input: InputRecord): number | null {
    const plan = this.plan;
    try {
      const record: DecodedRecord = plan.decode({ ...input, shardId });
      if (plan.where !== null && plan.where(record) !== true) return null;
      const timeMs = plan.time(record);
      if (timeMs === null) throw new RecordError('its time attribute is NULL or not a timestamp');
      const keys = plan.keys.map((key) => key(record));
      const values = plan.arguments(record);
      const closedBefore = this.watermark.currentMs - plan.settings.graceMs;
      if (!this.store.add(timeMs, keys, JSON.stringify(keys), values, closedBefore)) this.late(shardId, input, timeMs);
      return timeMs;
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      this.failed(shardId, input, error.message);
      return null;
    }
  }

  private emit(window: WindowState): void {
    const plan = this.plan;
    this.counters.windowsClosed++;
    const row: OutputRow = {
      keys: window.keys,
      aggregates: window.accumulators.map((accumulator) => accumulator.result()),
      windowStart: window.start,
      windowEnd: window.end,
    };
    if (plan.having !== null && plan.having(row) !== true) return;
    // No prototype: an output named __proto__ is a field like any other.
    const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    plan.names.forEach((name, index) => (fields[name] = plan.select[index]!(row)));
    fields['window_start'] ??= window.start;
    fields['window_end'] ??= window.end;
    this.counters.rowsEmitted++;
    this.output.rows.push({ partitionKey: rowKey(window), data: JSON.stringify(fields) });
  }

  private late(shardId: string, record: InputRecord, timeMs: number): void {
    this.counters.lateRecords++;
    if (this.plan.settings.lateStream === undefined) return;
    this.output.late.push(envelope(shardId, record, { reason: 'late', time_ms: timeMs, watermark_ms: this.watermark.currentMs }));
  }

  private failed(shardId: string, record: InputRecord, reason: string): void {
    this.counters.errorRecords++;
    this.lastRecordError = `${shardId} ${record.sequenceNumber}: ${reason}`;
    if (this.plan.settings.errorStream === undefined) return;
    this.output.errors.push(envelope(shardId, record, { reason }));
  }
}

function isAfter(sequence: bigint, sub: number, position: { sequence: bigint; sub: number }): boolean {
  return sequence > position.sequence || (sequence === position.sequence && sub > position.sub);
}

/** The same for a window however often it is computed: its start and its group. */
function rowKey(window: WindowState): string {
  return `${window.start}/${createHash('md5').update(window.keyText).digest('hex')}`;
}

function envelope(shardId: string, record: InputRecord, detail: Record<string, unknown>): Emitted {
  return {
    partitionKey: `${shardId}/${record.sequenceNumber}/${record.subSequenceNumber}`,
    data: JSON.stringify({
      ...detail,
      shard_id: shardId,
      sequence_number: record.sequenceNumber,
      sub_sequence_number: record.subSequenceNumber,
      partition_key: record.partitionKey,
      arrival_ms: record.arrivalMs,
      data: Buffer.from(record.data).toString('base64'),
    }),
  };
}
