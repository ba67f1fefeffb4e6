/*
 * One shard's records on their way through a mapping's function (docs/TRIGGERS.md). The records
 * delivered are spread over ParallelizationFactor lanes by partition key, so one key's records
 * keep their order; each lane gathers a batch (BatchSize records, 6 MB, or what came within
 * MaximumBatchingWindowInSeconds; never across a change of batch key, which tumbling windows use)
 * and runs its batches one after another. The shard is checkpointed at the end of the prefix of
 * records that are all done, whichever lane they went to, so a restart never skips a record.
 */
import { LeaseLostError } from '../errors.js';
import type { KinesisClientRecord } from '../groups/processor.js';
import { sleep } from '../groups/record_source.js';

export interface PipelineOptions {
  readonly lanes: number;
  readonly batchSize: number;
  /** 0: a lane's records go as soon as it is free. */
  readonly batchingWindowMs: number;
  readonly clock: () => number;
  readonly signal: AbortSignal;
  /** Records of one batch share it (tumbling windows: the window's start). */
  readonly batchKey?: (record: KinesisClientRecord) => number;
  /** Runs a batch to its end: true once every record is done, false if aborted first. */
  run(batch: readonly KinesisClientRecord[], signal: AbortSignal): Promise<boolean>;
  /** Taken the moment the done prefix reaches a record, and written with it (tumbling windows: their state). */
  snapshot?(): unknown;
  /** Every record up to `record` is done. One call at a time, in order. */
  checkpoint(record: KinesisClientRecord, snapshot: unknown): Promise<void>;
  /** With one lane: run, serialized with its batches, on each tick that finds it idle. */
  onIdle?(): Promise<void>;
  onError(error: unknown): void;
}

export const PAYLOAD_BYTES_MAX = 6 * 1024 * 1024;
const TICK_MS = 50;
const RUN_RETRY_MS = 1000;

interface Entry {
  readonly record: KinesisClientRecord;
  /** When the pipeline took it (the batching window counts from there). */
  readonly at: number;
  done: boolean;
}

/** A FIFO of entries with O(1) removal at the head. */
class Lane {
  private entries: Entry[] = [];
  private head = 0;
  bytes = 0;
  running = false;

  get size(): number {
    return this.entries.length - this.head;
  }

  get first(): Entry | undefined {
    return this.entries[this.head];
  }

  get last(): Entry | undefined {
    return this.size === 0 ? undefined : this.entries.at(-1);
  }

  push(entry: Entry): void {
    this.entries.push(entry);
    this.bytes += recordBytes(entry.record);
  }

  /** The next batch: at most `size` records and 6 MB (at least one record), all of one key. */
  take(size: number, key: ((record: KinesisClientRecord) => number) | undefined): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    const firstKey = key?.(this.first!.record);
    while (this.size > 0 && batch.length < size) {
      const entry = this.first!;
      const entryBytes = recordBytes(entry.record);
      if (batch.length > 0 && (bytes + entryBytes > PAYLOAD_BYTES_MAX || key?.(entry.record) !== firstKey)) break;
      batch.push(entry);
      bytes += entryBytes;
      this.head++;
    }
    this.bytes -= bytes;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return batch;
  }
}

export class ShardPipeline {
  private readonly lanes: Lane[];
  private order: Entry[] = [];
  private orderHead = 0;
  private lastDone: KinesisClientRecord | null = null;
  private pending = 0;
  private draining = false;
  private target: { record: KinesisClientRecord; snapshot: unknown } | null = null;
  private writing: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout | null;

  constructor(private readonly options: PipelineOptions) {
    if (options.onIdle !== undefined && options.lanes !== 1) throw new Error('onIdle needs one lane');
    this.lanes = Array.from({ length: options.lanes }, () => new Lane());
    this.signal = AbortSignal.any([options.signal, this.stop.signal]);
    this.signal.addEventListener('abort', () => this.wake(), { once: true });
    const ticks = options.batchingWindowMs > 0 || options.onIdle !== undefined;
    this.timer = ticks ? setInterval(() => this.tick(), TICK_MS).unref() : null;
  }

  /** Takes a delivered chunk (`keep` false: done already, as filtered out); resolves once there is room for more. */
  async accept(records: readonly KinesisClientRecord[], keep: (record: KinesisClientRecord) => boolean): Promise<void> {
    const at = this.options.clock();
    for (const record of records) {
      const entry: Entry = { record, at, done: !keep(record) };
      this.order.push(entry);
      if (entry.done) continue;
      this.pending++;
      this.laneOf(record).push(entry);
    }
    this.advance();
    for (const lane of this.lanes) this.kick(lane);
    while (this.pending > this.options.lanes * this.options.batchSize && !this.signal.aborted) await this.changed();
  }

  /** Sends what is gathered at once and waits until every record taken is done and checkpointed; false if aborted first. */
  async drain(): Promise<boolean> {
    this.draining = true;
    for (const lane of this.lanes) this.kick(lane);
    while ((this.pending > 0 || this.lanes.some((lane) => lane.running)) && !this.signal.aborted) await this.changed();
    while (this.writing !== null) await this.writing;
    return !this.signal.aborted;
  }

  /** Writes the done prefix again with a fresh snapshot (a tumbling window closed). */
  requestCheckpoint(): void {
    if (this.lastDone === null) return;
    this.target = { record: this.lastDone, snapshot: this.options.snapshot?.() };
    this.write();
  }

  /** Stops the lanes after their batches in hand (which end at once when the signal aborted them). */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.stop.abort();
    while (this.lanes.some((lane) => lane.running)) await this.changed();
    while (this.writing !== null) await this.writing;
  }

  private laneOf(record: KinesisClientRecord): Lane {
    return this.lanes.length === 1 ? this.lanes[0]! : this.lanes[keyHash(record.partitionKey) % this.lanes.length]!;
  }

  private flushable(lane: Lane): boolean {
    const first = lane.first;
    if (first === undefined) return false;
    const { batchSize, batchingWindowMs, batchKey } = this.options;
    if (this.draining || batchingWindowMs === 0 || lane.size >= batchSize || lane.bytes >= PAYLOAD_BYTES_MAX) return true;
    if (batchKey !== undefined && batchKey(lane.last!.record) !== batchKey(first.record)) return true;
    return this.options.clock() - first.at >= batchingWindowMs;
  }

  private kick(lane: Lane): void {
    if (lane.running || this.signal.aborted || !this.flushable(lane)) return;
    lane.running = true;
    void this.drive(lane).finally(() => {
      lane.running = false;
      this.kick(lane); // records pushed while its last loop was ending
      this.wake();
    });
  }

  private async drive(lane: Lane): Promise<void> {
    while (!this.signal.aborted && this.flushable(lane)) {
      const batch = lane.take(this.options.batchSize, this.options.batchKey);
      if (!(await this.runToEnd(batch.map((entry) => entry.record)))) return;
      for (const entry of batch) entry.done = true;
      this.pending -= batch.length;
      this.advance();
      this.wake();
    }
  }

  /** A batch that cannot even be run (not a function error: runBatch takes those) is run again: it holds its lane. */
  private async runToEnd(batch: readonly KinesisClientRecord[]): Promise<boolean> {
    for (;;) {
      try {
        return await this.options.run(batch, this.signal);
      } catch (error) {
        if (this.signal.aborted) return false;
        this.options.onError(error);
        await sleep(RUN_RETRY_MS, this.signal);
      }
    }
  }

  private tick(): void {
    for (const lane of this.lanes) this.kick(lane);
    const lane = this.lanes[0]!;
    const onIdle = this.options.onIdle;
    if (onIdle === undefined || lane.running || lane.size > 0 || this.signal.aborted) return;
    lane.running = true;
    void onIdle()
      .catch((error: unknown) => {
        if (!this.signal.aborted) this.options.onError(error);
      })
      .finally(() => {
        lane.running = false;
        this.kick(lane);
        this.wake();
      });
  }

  private advance(): void {
    let last: Entry | null = null;
    while (this.orderHead < this.order.length && this.order[this.orderHead]!.done) last = this.order[this.orderHead++]!;
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    if (last === null) return;
    this.lastDone = last.record;
    this.target = { record: last.record, snapshot: this.options.snapshot?.() };
    this.write();
  }

  /**
   * One write at a time, always of the newest target; a lost lease stops the pipeline. A stop
   * does not end the loop: what finished before it is checkpointed (close waits for it), so a
   * restart neither runs a finished batch again nor loses a window's state.
   */
  private write(): void {
    if (this.writing !== null) return;
    this.writing = (async () => {
      while (this.target !== null) {
        const { record, snapshot } = this.target;
        this.target = null;
        try {
          await this.options.checkpoint(record, snapshot);
        } catch (error) {
          if (error instanceof LeaseLostError) this.stop.abort();
          else this.options.onError(error);
        }
      }
    })().finally(() => {
      this.writing = null;
      this.wake();
    });
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

export function recordBytes(record: KinesisClientRecord): number {
  return record.data.length + record.partitionKey.length;
}

/** FNV-1a: a stable spread of partition keys over lanes. */
function keyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
