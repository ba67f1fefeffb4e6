import { PARTITION_KEY_CHARS_MAX, PUT_RECORDS_BYTES_MAX, PUT_RECORDS_RECORDS_MAX, RECORD_PAYLOAD_BYTES_MAX } from '../limits.js';
import { InvalidArgumentException, RecordExpiredError, type ShardlineError } from '../errors.js';
import { Aggregator, type AggregationOptions } from './aggregator.js';
import type { EnvelopeEncryption } from './envelope.js';
import type { ClientPutResult, ShardlineClient } from './client.js';
import { explicitHashKey } from './hash_keys.js';
import { WebSocketSink, type ProducerSink, type PutBatch } from './producer_sink.js';
import { RateLimiter } from './rate_limiter.js';
import { ShardMaps, hashKeyOf, predictShard } from './shard_maps.js';

export interface ProducerOptions {
  /** How long a record may wait for others to share its PUT. Default 5 ms; 0 sends every turn. */
  readonly lingerMs?: number;
  /** Records per PUT, 1..500 (the KPL's CollectionMaxCount). Default 500. */
  readonly maxBatchRecords?: number;
  /** Bytes of keys and data per PUT, up to 5 MiB (the KPL's CollectionMaxSize). Default 5 MiB. */
  readonly maxBatchBytes?: number;
  /** Records accepted and not yet acknowledged; put() waits beyond this. Default 100,000. */
  readonly maxRecordsInFlight?: number;
  /** Tries per record for throttled and retriable failures. Default 10. */
  readonly maxAttempts?: number;
  /**
   * How long a record may take, retries included, from put(): past it the record fails with
   * RecordExpiredError instead of being tried again (the KPL's RecordTtl). 100 ms .. 24 h;
   * default 30 s.
   */
  readonly recordTtlMs?: number;
  /** First retry delay; doubles each attempt, with full jitter, up to retryMaxMs. Default 50 ms. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /**
   * KPL aggregation: user records predicted to land in one shard share a Kinesis record
   * (aggregator.ts). Off by default: a consumer must deaggregate (the Consumer does; GetRecords
   * through an AWS SDK does not). `true` takes the KPL's defaults.
   */
  readonly aggregation?: boolean | AggregationOptions;
  /**
   * The KPL's RateLimit: records bound for one shard go no faster than this percentage of its
   * write limit, records and bytes (rate_limiter.ts), 1..10,000; false sends as fast as the
   * server answers (for a server run with --no-limits). Default 150.
   */
  readonly rateLimit?: number | false;
  /** The KPL's FailIfThrottled: a throttled record fails at once instead of being retried. Default false. */
  readonly failIfThrottled?: boolean;
  /**
   * Client-side envelope encryption (docs/FORMAT.md): each Kinesis record's data is sealed, an
   * aggregate as a whole, so its overhead is paid once per aggregate. A Consumer given the same
   * keys opens them. The overhead counts against the record's 1 MiB.
   */
  readonly encryption?: EnvelopeEncryption;
}

export interface ProducerRecord {
  readonly streamName: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly explicitHashKey?: string;
}

export interface ProducerResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** With aggregation: the record's index in the Kinesis record it shares (absent if sent by itself). */
  readonly subSequenceNumber?: number;
  /** Sends of its Kinesis record, the first included. */
  readonly attempts: number;
}

interface Queued {
  readonly record: ProducerRecord;
  readonly resolve: (result: ProducerResult) => void;
  readonly reject: (error: Error) => void;
  attempts: number;
  /** When the record expires (performance.now() time): no retry starts after it. */
  readonly deadlineMs: number;
  /** Counted in inFlight: a user's record, not an aggregate carrying user records counted already. */
  readonly counted: boolean;
  /** The shard the rate limiter counted it against, when it limits. */
  predicted?: string;
}

interface Batch {
  readonly put: PutBatch;
  readonly entries: Queued[];
  payloadBytes: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * A batching producer, like the KPL: put() returns a promise of where the record went; records
 * of one stream are gathered into PUT frames by count, size and linger time, each record encoded
 * once when it is put, its hash key computed here. Throttled and retriable failures are tried
 * again with exponential backoff and full jitter, so one record's retry may land after records
 * put later (Kinesis gives no order across retries either). A dropped connection retries the
 * PUTs in flight: their records may be stored twice (at least once, as with Kinesis).
 *
 * Backpressure: at most maxRecordsInFlight records are accepted and not yet acknowledged;
 * put() waits for room beyond that, and `writable` / `drain()` let a caller wait before
 * putting, as with a Node stream.
 */
export class Producer {
  private readonly lingerMs: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly maxRecordsInFlight: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly recordTtlMs: number;
  private readonly batches = new Map<string, Batch>();
  private inFlight = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private retriesPending = 0;
  private closed = false;
  private readonly sink: ProducerSink;
  private readonly maps: ShardMaps;
  private readonly aggregator: Aggregator | null;
  private readonly limiter: RateLimiter | null;
  private readonly limiterPercent: number;
  private readonly failIfThrottled: boolean;
  private readonly encryption: EnvelopeEncryption | null;

  /** `target`: a connected shardline client (the WebSocket), or a sink such as KinesisApiSink (any Kinesis HTTP endpoint). */
  constructor(target: ShardlineClient | ProducerSink, options: ProducerOptions = {}) {
    this.sink = 'newBatch' in target ? target : new WebSocketSink(target);
    this.maps = new ShardMaps(this.sink);
    this.lingerMs = checkOption(options.lingerMs, 'lingerMs', 5, 0, 60_000);
    this.maxBatchRecords = checkOption(options.maxBatchRecords, 'maxBatchRecords', PUT_RECORDS_RECORDS_MAX, 1, PUT_RECORDS_RECORDS_MAX);
    this.maxBatchBytes = checkOption(options.maxBatchBytes, 'maxBatchBytes', PUT_RECORDS_BYTES_MAX, 1, PUT_RECORDS_BYTES_MAX);
    this.maxRecordsInFlight = checkOption(options.maxRecordsInFlight, 'maxRecordsInFlight', 100_000, 1, 10_000_000);
    this.maxAttempts = checkOption(options.maxAttempts, 'maxAttempts', 10, 1, 1000);
    this.retryBaseMs = checkOption(options.retryBaseMs, 'retryBaseMs', 50, 1, 60_000);
    this.retryMaxMs = checkOption(options.retryMaxMs, 'retryMaxMs', 2000, this.retryBaseMs, 600_000);
    this.recordTtlMs = checkOption(options.recordTtlMs, 'recordTtlMs', 30_000, 100, 86_400_000);
    const rateLimit = options.rateLimit ?? 150;
    this.limiterPercent = rateLimit === false ? 0 : checkOption(rateLimit, 'rateLimit', 150, 1, 10_000);
    this.limiter = rateLimit === false ? null : new RateLimiter(this.limiterPercent);
    this.failIfThrottled = options.failIfThrottled ?? false;
    this.encryption = options.encryption ?? null;
    const aggregation = options.aggregation ?? false;
    this.aggregator =
      aggregation === false
        ? null
        : new Aggregator(this.maps, (record) => this.sendAggregate(record), aggregation === true ? {} : aggregation);
  }

  /** Records accepted and not yet acknowledged (or failed). */
  get recordsInFlight(): number {
    return this.inFlight;
  }

  /** Whether put() would accept a record at once. */
  get writable(): boolean {
    return this.inFlight < this.maxRecordsInFlight;
  }

  /** Resolves when put() would accept a record at once. */
  async drain(): Promise<void> {
    while (!this.writable) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Puts a record; resolves once the server stored it (under fsync "always": on disk). */
  put(record: ProducerRecord): Promise<ProducerResult> {
    if (this.closed) return Promise.reject(new InvalidArgumentException('the producer is closed'));
    try {
      checkRecord(record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // The common case takes no extra promise turn: the record is encoded into its batch now.
    if (!this.writable) return this.drain().then(() => this.put(record));
    this.inFlight++;
    if (this.aggregator !== null) {
      const settled = (): void => this.settle({ counted: true }, () => undefined);
      return this.aggregator.add(record).then(
        (result) => (settled(), result),
        (error: Error) => {
          settled();
          throw error;
        },
      );
    }
    return new Promise((resolve, reject) =>
      this.seal({ record, resolve, reject, attempts: 0, deadlineMs: this.deadline(), counted: true }),
    );
  }

  private deadline(): number {
    return performance.now() + this.recordTtlMs;
  }

  /** An aggregate (or a record sent by itself) from the aggregator: its user records are counted already. */
  private sendAggregate(record: ProducerRecord): Promise<ProducerResult> {
    return new Promise((resolve, reject) =>
      this.seal({ record, resolve, reject, attempts: 0, deadlineMs: this.deadline(), counted: false }),
    );
  }

  /** Encrypts the Kinesis record once, before its first attempt: retries send the same envelope. */
  private seal(entry: Queued): void {
    if (this.encryption === null) {
      this.submit(entry);
      return;
    }
    this.encryption.encrypt(entry.record.data).then(
      (data) => this.submit({ ...entry, record: { ...entry.record, data } }),
      (error: Error) => this.settle(entry, () => entry.reject(error)),
    );
  }

  /** Into a batch now, or, with a rate limit, once the record's predicted shard has room for it. */
  private submit(entry: Queued): void {
    const limiter = this.limiter;
    if (limiter === null) {
      this.enqueue(entry);
      return;
    }
    const { streamName, partitionKey, data } = entry.record;
    const map = this.maps.loadedMap(streamName);
    if (map === undefined) {
      this.maps.mapOf(streamName).then(
        () => this.submit(entry),
        (error: ShardlineError) => this.retryOrFail(entry, error.retriable === true, error.code, error.message, error),
      );
      return;
    }
    entry.predicted = predictShard(map, hashKeyOf(entry.record));
    limiter.schedule(`${streamName}\n${entry.predicted}`, map.mode, utf8Length(partitionKey) + data.length, () => {
      if (performance.now() < entry.deadlineMs) this.enqueue(entry);
      else this.expire(entry, `waiting for its shard's rate limit (rateLimit ${this.limiterPercent}%)`);
    });
  }

  /** Sends everything gathered now and resolves when every record put so far is settled. */
  async flush(): Promise<void> {
    this.aggregator?.flush();
    for (const stream of [...this.batches.keys()]) this.send(stream);
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then refuses further puts. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private enqueue(entry: Queued): void {
    const { streamName, data, partitionKey } = entry.record;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: the batch stays within maxBatchBytes.
    const payloadMax = partitionKey.length * 3 + data.length;
    let batch = this.batches.get(streamName);
    if (batch !== undefined && (batch.entries.length >= this.maxBatchRecords || batch.payloadBytes + payloadMax > this.maxBatchBytes)) {
      this.send(streamName);
      batch = undefined;
    }
    if (batch === undefined) batch = this.newBatch(streamName);
    let keyBytes: number;
    try {
      keyBytes = batch.put.add(entry.record);
    } catch (error) {
      this.settle(entry, () => entry.reject(error as Error));
      return;
    }
    batch.entries.push(entry);
    batch.payloadBytes += keyBytes + data.length;
    if (batch.entries.length >= this.maxBatchRecords || batch.payloadBytes >= this.maxBatchBytes) this.send(streamName);
  }

  private newBatch(streamName: string): Batch {
    const batch: Batch = { put: this.sink.newBatch(streamName), entries: [], payloadBytes: 0, timer: null };
    this.batches.set(streamName, batch);
    const sendIfCurrent = (): void => {
      if (this.batches.get(streamName) === batch) this.send(streamName);
    };
    // lingerMs 0 sends at the end of this event-loop turn: a timer would wait 1 ms at least.
    if (this.lingerMs === 0) nextTurn(sendIfCurrent);
    else batch.timer = setTimeout(sendIfCurrent, this.lingerMs);
    return batch;
  }

  private send(streamName: string): void {
    const batch = this.batches.get(streamName);
    if (batch === undefined) return;
    this.batches.delete(streamName);
    if (batch.timer !== null) clearTimeout(batch.timer);
    if (batch.entries.length === 0) return;
    batch.put.send().then(
      (outcomes) => this.onResult(batch.entries, outcomes),
      (error: ShardlineError) => {
        for (const entry of batch.entries) this.retryOrFail(entry, error.retriable === true, error.code, error.message, error);
      },
    );
  }

  private onResult(entries: Queued[], outcomes: readonly ClientPutResult[]): void {
    outcomes.forEach((outcome, index) => {
      const entry = entries[index]!;
      if (!('shardId' in outcome)) {
        this.retryOrFail(entry, outcome.retriable, outcome.errorCode, outcome.errorMessage);
        return;
      }
      if (entry.predicted !== undefined && entry.predicted !== outcome.shardId) this.maps.forget(entry.record.streamName);
      this.settle(entry, () =>
        entry.resolve({ shardId: outcome.shardId, sequenceNumber: outcome.sequenceNumber, attempts: entry.attempts + 1 }),
      );
    });
  }

  private retryOrFail(entry: Queued, retriable: boolean, code: string, message: string, cause?: Error): void {
    entry.attempts++;
    const throttled = code === 'ProvisionedThroughputExceededException';
    if (!retriable || entry.attempts >= this.maxAttempts || (throttled && this.failIfThrottled)) {
      const error = cause ?? Object.assign(new Error(`${code}: ${message}`), { code, retriable });
      this.settle(entry, () => entry.reject(error));
      return;
    }
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (entry.attempts - 1));
    const delayMs = Math.random() * ceiling;
    if (performance.now() + delayMs >= entry.deadlineMs) {
      const last = cause ?? Object.assign(new Error(`${code}: ${message}`), { code, retriable });
      this.expire(entry, `the last failure: ${code}: ${message}`, last);
      return;
    }
    this.retriesPending++;
    setTimeout(() => {
      this.retriesPending--;
      this.submit(entry);
    }, delayMs);
  }

  private expire(entry: Queued, reason: string, cause?: Error): void {
    const expired = new RecordExpiredError(
      `the record expired after ${entry.attempts} attempts (recordTtlMs ${this.recordTtlMs}); ${reason}`,
      cause === undefined ? undefined : { cause },
    );
    this.settle(entry, () => entry.reject(expired));
  }

  private settle(entry: Pick<Queued, 'counted'>, done: () => void): void {
    if (entry.counted) this.inFlight--;
    done();
    this.roomWaiters.shift()?.();
    if (this.inFlight === 0 && this.retriesPending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** After the current turn's I/O: setImmediate in Node; browsers have none, and get a 0 ms timer. */
const nextTurn: (run: () => void) => void = typeof setImmediate === 'function' ? (run) => setImmediate(run) : (run) => setTimeout(run, 0);

/** Kinesis' limits on one record, checked before it is buffered: a bad record fails alone, at once. */
function checkRecord(record: ProducerRecord): void {
  if (typeof record.streamName !== 'string' || record.streamName.length === 0)
    throw new InvalidArgumentException('a record needs a streamName');
  const { partitionKey, data } = record;
  if (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > PARTITION_KEY_CHARS_MAX)
    throw new InvalidArgumentException(
      `a partitionKey has 1 to ${PARTITION_KEY_CHARS_MAX} characters, got ${typeof partitionKey === 'string' ? partitionKey.length : typeof partitionKey}`,
    );
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentException("a record's data must be a Uint8Array (or Buffer)");
  if (partitionKey.length * 3 + data.length > RECORD_PAYLOAD_BYTES_MAX) {
    const bytes = utf8Length(partitionKey) + data.length;
    if (bytes > RECORD_PAYLOAD_BYTES_MAX)
      throw new InvalidArgumentException(`a record's partition key and data have at most ${RECORD_PAYLOAD_BYTES_MAX} bytes, got ${bytes}`);
  }
  if (record.explicitHashKey !== undefined) explicitHashKey(record.explicitHashKey);
}

/** UTF-8 bytes of a string, without encoding it (browsers have no Buffer.byteLength). */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    // A surrogate pair is two units and four bytes: two each.
    bytes += unit < 0x800 || (unit >= 0xd800 && unit <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

function checkOption(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentException(`${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
