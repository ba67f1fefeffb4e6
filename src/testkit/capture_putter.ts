import { performance } from 'node:perf_hooks';
import type { ClientPutResult } from '../client/client.js';
import type { ProducerSink } from '../client/producer_sink.js';
import { errorFromCode } from '../errors.js';
import { PUT_RECORDS_BYTES_MAX, PUT_RECORDS_RECORDS_MAX } from '../limits.js';
import type { CaptureRecord } from './capture_format.js';

/*
 * Puts records in PutRecords batches while keeping each partition key's order, through any
 * ProducerSink (the WebSocket, an Engine, a Kinesis endpoint through the AWS SDK).
 *
 * Kinesis decides each entry of a PutRecords alone: a large record refused for throughput can be
 * followed by a smaller one of the same key that is admitted, and then the key's order is broken
 * for good. So a key has at most one record in flight: a batch takes the oldest record of each
 * key that is ready (up to 500 keys, 5 MiB), and a key's next record goes only after the one
 * before it is stored. A key is what routes a record: its explicit hash key when it has one, else
 * its partition key (records of one partition key with different explicit hash keys go to
 * different shards, where Kinesis orders them in no way). Throttled and retriable failures stay first in their key's queue and are
 * sent again after a backoff. Many keys fill batches; one key puts one record per round trip.
 */

export interface PutterOptions {
  /** PutRecords calls in flight at once (their keys all differ). Default 4. */
  readonly inFlightMax?: number | undefined;
  /** Called as each record is stored, with the time (performance.now) its storing put was sent. */
  readonly onStored?: (record: CaptureRecord, sentAtMs: number) => void;
}

const IN_FLIGHT_DEFAULT = 4;
/** Tries per record before its failure ends the run. */
const ATTEMPTS_MAX = 30;
const BACKOFF_MS_MIN = 10;
const BACKOFF_MS_MAX = 1000;

/** What orders a record among others: the hash key that routes it, explicit or from its partition key. */
export function orderKey(record: { readonly partitionKey: string; readonly explicitHashKey?: string | undefined }): string {
  return record.explicitHashKey === undefined ? `k${record.partitionKey}` : `h${record.explicitHashKey}`;
}

/** One key's records not yet stored, oldest first; its head may be in flight. */
class KeyQueue {
  private records: CaptureRecord[] = [];
  private head = 0;
  inFlight = false;
  attempts = 0;

  get length(): number {
    return this.records.length - this.head;
  }

  push(record: CaptureRecord): void {
    this.records.push(record);
  }

  peek(): CaptureRecord {
    return this.records[this.head]!;
  }

  shift(): void {
    this.head++;
    this.attempts = 0;
    // Drop what was taken once it is most of the array: amortized O(1) without shift()'s copying.
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }
}

export class OrderedPutter {
  private readonly queues = new Map<string, KeyQueue>();
  /** Keys whose head can go in the next batch, in the order they became ready. */
  private ready: string[] = [];
  private readyHead = 0;
  private inFlight = 0;
  private pending = 0;
  private pendingBytes = 0;
  private backoffMs = 0;
  private pumpScheduled = false;
  private failure: unknown = undefined;
  private waiters: Array<() => void> = [];
  private readonly inFlightMax: number;

  constructor(
    private readonly sink: ProducerSink,
    private readonly stream: string,
    private readonly options: PutterOptions = {},
  ) {
    this.inFlightMax = options.inFlightMax ?? IN_FLIGHT_DEFAULT;
  }

  /** Records added and not yet stored. */
  get backlog(): number {
    return this.pending;
  }

  /** The data of the records added and not yet stored. */
  get backlogBytes(): number {
    return this.pendingBytes;
  }

  add(record: CaptureRecord): void {
    this.throwIfFailed();
    const key = orderKey(record);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = new KeyQueue();
      this.queues.set(key, queue);
    }
    queue.push(record);
    this.pending++;
    this.pendingBytes += record.data.length;
    if (queue.length === 1 && !queue.inFlight) this.ready.push(key);
    this.schedulePump(0);
  }

  /** Resolves once the backlog is below `records` and `bytes`; rejects once a record failed for good. */
  async waitBelow(records: number, bytes: number): Promise<void> {
    while (this.pending >= records || this.pendingBytes >= bytes) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /** Resolves when every record added is stored; rejects with the first failure, once nothing is in flight. */
  async flush(): Promise<void> {
    while (this.inFlight > 0 || (this.pending > 0 && this.failure === undefined))
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private schedulePump(delayMs: number): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // setImmediate, not at once: the records added in this turn go in one batch.
    const run = (): void => {
      this.pumpScheduled = false;
      try {
        this.pump();
      } catch (error) {
        // A record the sink cannot encode (a partition key too long for the wire): the run ends with it.
        this.failure ??= error;
        for (const wake of this.waiters.splice(0)) wake();
      }
    };
    if (delayMs > 0) setTimeout(run, delayMs);
    else setImmediate(run);
  }

  private pump(): void {
    while (this.failure === undefined && this.inFlight < this.inFlightMax && this.readyHead < this.ready.length) {
      const batch = this.sink.newBatch(this.stream);
      const sent: CaptureRecord[] = [];
      let bytes = 0;
      while (this.readyHead < this.ready.length && sent.length < PUT_RECORDS_RECORDS_MAX) {
        const queue = this.queues.get(this.ready[this.readyHead]!)!;
        const record = queue.peek();
        const size = Buffer.byteLength(record.partitionKey, 'utf8') + record.data.length;
        if (sent.length > 0 && bytes + size > PUT_RECORDS_BYTES_MAX) break;
        this.readyHead++;
        bytes += size;
        queue.inFlight = true;
        batch.add({ partitionKey: record.partitionKey, data: record.data, explicitHashKey: record.explicitHashKey });
        sent.push(record);
      }
      this.compactReady();
      this.inFlight++;
      const sentAtMs = performance.now();
      batch.send().then(
        (results) => this.settle(sent, sentAtMs, results, undefined),
        (error: unknown) => this.settle(sent, sentAtMs, undefined, error),
      );
    }
  }

  private compactReady(): void {
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private settle(sent: readonly CaptureRecord[], sentAtMs: number, results: readonly ClientPutResult[] | undefined, error: unknown): void {
    this.inFlight--;
    let retrying = false;
    sent.forEach((record, index) => {
      const key = orderKey(record);
      const queue = this.queues.get(key)!;
      const result = results?.[index];
      if (result !== undefined && 'sequenceNumber' in result) {
        queue.shift();
        this.pending--;
        this.pendingBytes -= record.data.length;
        this.options.onStored?.(record, sentAtMs);
      } else if (this.retry(queue, result, error)) retrying = true;
      queue.inFlight = false;
      if (queue.length > 0) this.ready.push(key);
      else this.queues.delete(key);
    });
    this.backoffMs = retrying ? Math.min(BACKOFF_MS_MAX, Math.max(BACKOFF_MS_MIN, this.backoffMs * 2)) : 0;
    for (const wake of this.waiters.splice(0)) wake();
    this.schedulePump(this.backoffMs);
  }

  /** Whether a failed record is tried again; if not, the run fails with its error. */
  private retry(queue: KeyQueue, result: ClientPutResult | undefined, error: unknown): boolean {
    queue.attempts++;
    const refused = result !== undefined && 'errorCode' in result ? result : undefined;
    const retriable = refused === undefined ? (error as { retriable?: unknown }).retriable === true : refused.retriable;
    if (retriable && queue.attempts < ATTEMPTS_MAX) return true;
    this.failure ??=
      refused === undefined
        ? (error ?? new Error('the put gave no result for a record'))
        : errorFromCode(refused.errorCode, `after ${queue.attempts} attempts: ${refused.errorMessage}`);
    return false;
  }
}
