import { InvalidArgumentException } from '../errors.js';
import { aggregate } from './kpl_aggregation.js';
import { hashKeyOf, predictShard, type ShardMaps } from './shard_maps.js';

/*
 * The KPL's aggregation for the Producer: user records predicted to land in the same shard
 * (from the stream's shard map, ListShards) are packed into one Kinesis record in the KPL's
 * format (kpl_aggregation.ts), whose partition key is "a" and whose explicit hash key is the
 * first user record's hash key, so the record goes where the prediction said. A container of
 * one record is sent as the record itself. When a container lands in another shard than
 * predicted (a split or merge since the map was read), the map is read again for what follows;
 * the records are stored either way (the Consumer delivers any outside their shard, marked).
 */

export interface AggregationOptions {
  /** User records per aggregate. Default 4,294,967,295 (the KPL's: no bound but the size). */
  readonly maxCount?: number;
  /** Bytes of an aggregate, 64 .. 1,048,000. Default 51,200 (the KPL's AggregationMaxSize). */
  readonly maxBytes?: number;
  /** How long a user record may wait for others, 0 .. 60,000 ms. Default 100 (RecordMaxBufferedTime). */
  readonly maxBufferedTimeMs?: number;
}

export interface AggregatedRecord {
  readonly streamName: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly explicitHashKey?: string;
}

/** Where a user record went: its outer record's shard and sequence number, and its place in it. */
export interface UserRecordResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** Absent when the record was sent by itself. */
  readonly subSequenceNumber?: number;
  /** Sends of its Kinesis record, the first included. */
  readonly attempts: number;
}

/** Sends one Kinesis record through the Producer's batching and retries. */
export type SendRecord = (record: AggregatedRecord) => Promise<{ shardId: string; sequenceNumber: string; attempts: number }>;

interface Pending {
  readonly record: AggregatedRecord;
  readonly hashKey: bigint;
  readonly resolve: (result: UserRecordResult) => void;
  readonly reject: (error: Error) => void;
}

interface Container {
  readonly shardId: string;
  readonly records: Pending[];
  bytes: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Magic and MD5 around the protobuf, and what one record adds at most besides its key and data. */
const AGGREGATE_OVERHEAD_BYTES = 4 + 16;
const RECORD_OVERHEAD_BYTES = 24;
const AGGREGATE_BYTES_MAX = 1_048_000;

export class Aggregator {
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private readonly maxBufferedTimeMs: number;
  private readonly containers = new Map<string, Container>();
  /** User records accepted and not yet handed to `send` (a map still loading, a container filling). */
  private held = 0;

  constructor(
    private readonly maps: ShardMaps,
    private readonly send: SendRecord,
    options: AggregationOptions = {},
  ) {
    this.maxCount = integerIn(options.maxCount, 'aggregation.maxCount', 4_294_967_295, 1, Number.MAX_SAFE_INTEGER);
    this.maxBytes = integerIn(options.maxBytes, 'aggregation.maxBytes', 51_200, 64, AGGREGATE_BYTES_MAX);
    this.maxBufferedTimeMs = integerIn(options.maxBufferedTimeMs, 'aggregation.maxBufferedTimeMs', 100, 0, 60_000);
  }

  get holding(): number {
    return this.held;
  }

  add(record: AggregatedRecord): Promise<UserRecordResult> {
    let hashKey: bigint;
    try {
      hashKey = hashKeyOf(record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      this.held++;
      const pending: Pending = { record, hashKey, resolve, reject };
      this.maps.mapOf(record.streamName).then(
        (map) => this.place(pending, predictShard(map, hashKey)),
        (error: Error) => this.fail([pending], error),
      );
    });
  }

  /** Sends every container now. */
  flush(): void {
    for (const key of [...this.containers.keys()]) this.emit(key);
  }

  private place(pending: Pending, shardId: string): void {
    const { streamName, partitionKey, data } = pending.record;
    const recordBytes = RECORD_OVERHEAD_BYTES + partitionKey.length * 3 + (pending.record.explicitHashKey?.length ?? 0) + data.length;
    const key = `${streamName}\n${shardId}`;
    if (AGGREGATE_OVERHEAD_BYTES + recordBytes > this.maxBytes) {
      // Too big to share an aggregate: sent by itself, checked by the Producer as any record.
      this.held--;
      this.send(pending.record).then(pending.resolve, pending.reject);
      return;
    }
    let container = this.containers.get(key);
    if (container !== undefined && container.bytes + recordBytes > this.maxBytes) this.emit(key);
    container = this.containers.get(key);
    if (container === undefined) {
      const timer = setTimeout(() => this.emit(key), this.maxBufferedTimeMs);
      container = { shardId, records: [], bytes: AGGREGATE_OVERHEAD_BYTES, timer };
      this.containers.set(key, container);
    }
    container.records.push(pending);
    container.bytes += recordBytes;
    if (container.records.length >= this.maxCount || container.bytes >= this.maxBytes) this.emit(key);
  }

  private emit(key: string): void {
    const container = this.containers.get(key);
    if (container === undefined) return;
    this.containers.delete(key);
    clearTimeout(container.timer);
    const { records } = container;
    this.held -= records.length;
    const first = records[0]!;
    if (records.length === 1) {
      this.send(first.record).then((result) => first.resolve(result), first.reject);
      return;
    }
    const outer = {
      streamName: first.record.streamName,
      partitionKey: 'a',
      explicitHashKey: first.hashKey.toString(),
      data: aggregate(records.map((pending) => pending.record)),
    };
    this.send(outer).then(
      (result) => {
        if (result.shardId !== container.shardId) this.maps.forget(outer.streamName);
        records.forEach((pending, subSequenceNumber) => pending.resolve({ ...result, subSequenceNumber }));
      },
      (error: Error) => this.fail(records, error, false),
    );
  }

  private fail(records: readonly Pending[], error: Error, held = true): void {
    if (held) this.held -= records.length;
    for (const pending of records) pending.reject(error);
  }
}

function integerIn(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new InvalidArgumentException(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}
