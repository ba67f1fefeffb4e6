import { GET_RECORDS_RECORDS_MAX } from '../limits.js';
import type { KinesisShard, OperationName, OperationRequest, OperationResponse, StreamReference } from '../streams/api_types.js';
import { decodeJsonFrame, encodeCall } from '../net/messages/call.js';
import { decodePutResult, type PutFrameBuilder, type PutResult } from '../net/messages/put.js';
import {
  decodeRecords,
  decodeSubscribed,
  encodeCancel,
  encodeGetRecords,
  encodeSubscribe,
  type RecordsFrame,
  type SubscribeRequest,
} from '../net/messages/records.js';
import { EndReason, FAILED_SLOT, Opcode, type FrameReader } from '../net/protocol.js';
import { SequenceNumberRun, encodeSequenceNumber } from '../streams/sequence_number.js';
import { shardIdOf } from '../streams/stream_records.js';
import { BuilderPool } from './builder_pool.js';
import { HashKeys, explicitHashKey } from './hash_keys.js';
import { ConnectionError, Transport, type TransportOptions, type WebSocketFactory } from './transport.js';

/** The engine operations a CALL reaches, with the engine's own request and response types. */
export type { OperationName, OperationRequest, OperationResponse } from '../streams/api_types.js';

export interface ClientRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly explicitHashKey?: string | undefined;
}

export type ClientPutResult =
  | { readonly shardId: string; readonly sequenceNumber: string }
  | { readonly errorCode: string; readonly errorMessage: string; readonly retriable: boolean };

export interface ClientKinesisRecord {
  readonly SequenceNumber: string;
  readonly ApproximateArrivalTimestamp: Date;
  /** A view of the received frame (no copy). */
  readonly Data: Uint8Array;
  readonly PartitionKey: string;
}

export interface ClientGetRecordsResult {
  readonly Records: ClientKinesisRecord[];
  readonly NextShardIterator?: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: unknown[];
}

export interface ClientSubscribeEvent {
  readonly ShardId: string;
  readonly Records: ClientKinesisRecord[];
  readonly ContinuationSequenceNumber: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: Array<{ ShardId: string; ParentShards: string[] }>;
}

/** Why a subscription ended (docs/PROTOCOL.md, END); `not-subscribed` answers only a CANCEL. */
export type SubscriptionEnd = Exclude<EndReason, typeof EndReason.NOT_SUBSCRIBED>;

export interface ClientOptions extends TransportOptions {
  /** Makes the WebSocket: the `ws` package in Node, the native one in browsers. */
  readonly webSocket: WebSocketFactory;
}

/** Events a subscription holds unread before it stops reading the socket (Node). */
const SUBSCRIPTION_QUEUE_EVENTS_MAX = 64;
/** Per-record PutRecords codes a later attempt can cure: Kinesis documents exactly these two. */
export const RETRIABLE_PUT_CODES: ReadonlySet<string> = new Set(['ProvisionedThroughputExceededException', 'InternalFailure']);

/**
 * A shardline client over the WebSocket protocol (docs/PROTOCOL.md). Control operations are
 * `call(name, request)` with Kinesis shapes; the data path (putRecords, getRecords,
 * subscribeToShard) is binary. One connection; after a drop the next request reconnects.
 */
export class ShardlineClient {
  readonly transport: Transport;
  readonly hashKeys = new HashKeys();
  private readonly builders = new BuilderPool();

  constructor(
    url: string,
    private readonly options: ClientOptions,
  ) {
    this.transport = new Transport(url, options.webSocket, options);
  }

  /**
   * Another client of the same server and options, on a connection of its own (made at its first
   * request). Subscriptions pause their connection while their reader is busy: what the reader
   * awaits meanwhile (a checkpoint) must not travel on that connection.
   */
  clone(): ShardlineClient {
    return new ShardlineClient(this.transport.url, this.options);
  }

  connect(): Promise<void> {
    return this.transport.connect();
  }

  close(): void {
    this.transport.close();
  }

  /** Any engine operation by its Kinesis name, e.g. call('CreateStream', { StreamName, ShardCount }). */
  call<K extends OperationName>(operation: K, request: OperationRequest<K>): Promise<OperationResponse<K>> {
    return this.transport.call(
      (id) => encodeCall(id, operation, request),
      (reader) => decodeJsonFrame(reader) as OperationResponse<K>,
    );
  }

  /** An operation by a name outside the Kinesis API's (the consumer groups', docs/PROTOCOL.md), untyped. */
  callNamed(operation: string, request: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.transport.call(
      (id) => encodeCall(id, operation, request),
      (reader) => decodeJsonFrame(reader),
    );
  }

  /** Every shard of a stream, ListShards page after page. */
  async listAllShards(stream: StreamReference): Promise<KinesisShard[]> {
    const shards: KinesisShard[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('ListShards', token === undefined ? stream : { NextToken: token });
      shards.push(...page.Shards);
      token = page.NextToken;
    } while (token !== undefined);
    return shards;
  }

  /** Puts records in one PUT frame (at most 500 records and 5 MiB); each record succeeds or fails alone. */
  async putRecords(streamName: string, records: readonly ClientRecord[]): Promise<ClientPutResult[]> {
    const builder = this.builders.take(streamName);
    try {
      for (const record of records) this.addRecord(builder, record);
      return putResults(await this.putFrame(builder));
    } finally {
      this.builders.release(builder);
    }
  }

  /** Adds a record to a PUT under construction, with its hash key. */
  addRecord(builder: PutFrameBuilder, record: ClientRecord): number {
    if (record.explicitHashKey === undefined) return builder.add(record.partitionKey, record.data, this.hashKeys.of(record.partitionKey));
    const { routing, stored } = explicitHashKey(record.explicitHashKey);
    return builder.add(record.partitionKey, record.data, routing, stored);
  }

  putFrame(builder: PutFrameBuilder): Promise<PutResult> {
    return this.transport.call((id) => builder.finish(id), decodePutResult);
  }

  /** GetRecords on the binary path: the records are views of the received frame. */
  async getRecords(request: { ShardIterator: string; Limit?: number }): Promise<ClientGetRecordsResult> {
    const frame = await this.transport.call(
      (id) => encodeGetRecords(id, request.ShardIterator, request.Limit ?? GET_RECORDS_RECORDS_MAX),
      decodeRecords,
    );
    const Records = kinesisRecords(frame);
    if (frame.nextShardIterator === null)
      return { Records, MillisBehindLatest: frame.millisBehindLatest, ChildShards: [...(frame.childShards ?? [])] };
    return { Records, NextShardIterator: frame.nextShardIterator, MillisBehindLatest: frame.millisBehindLatest };
  }

  /**
   * A push subscription (SubscribeToShard), once the server acknowledged it (SUBSCRIBED): a
   * refusal (no such consumer or shard, a bad position) rejects. Its events are an async
   * iterator, which ends when the shard ends (after the event with ChildShards), on CANCEL
   * (break out of the loop), or when the server ends it; `ended` then says why. A dropped
   * connection throws ConnectionError.
   */
  async subscribeToShard(request: SubscribeRequest): Promise<ShardSubscription> {
    const subscription = new Subscription(this.transport);
    await subscription.start(request);
    return subscription;
  }
}

/** Each record's outcome in a PUT_RESULT, in request order (docs/PROTOCOL.md). */
export function putResults(result: PutResult): ClientPutResult[] {
  const runs = result.shards.map((shard) => ({
    shardId: shardIdOf(shard.serial),
    sequenceNumbers: new SequenceNumberRun(shard.serial, shard.firstOffset),
    next: shard.firstOffset,
  }));
  const failures = new Map(result.failures.map((failure) => [failure.index, failure]));
  return Array.from(result.slots, (slot, index) => {
    if (slot === FAILED_SLOT) {
      const failure = failures.get(index);
      const errorCode = failure?.code ?? 'InternalFailure';
      return { errorCode, errorMessage: failure?.message ?? 'no result for this record', retriable: RETRIABLE_PUT_CODES.has(errorCode) };
    }
    const run = runs[slot]!;
    return { shardId: run.shardId, sequenceNumber: run.sequenceNumbers.at(run.next++) };
  });
}

function kinesisRecords(frame: RecordsFrame): ClientKinesisRecord[] {
  if (frame.records.length === 0) return [];
  const sequenceNumbers = new SequenceNumberRun(frame.shardSerial, frame.records[0]!.offset);
  return frame.records.map((record) => ({
    SequenceNumber: sequenceNumbers.at(record.offset),
    ApproximateArrivalTimestamp: new Date(record.timestampMs),
    Data: record.data,
    PartitionKey: record.partitionKey,
  }));
}

export interface ShardSubscription extends AsyncIterable<ClientSubscribeEvent> {
  readonly shardId: string;
  /**
   * Where to resume so that nothing the iteration has not taken is skipped or repeated:
   * AFTER_SEQUENCE_NUMBER this. First where the subscription started (its acknowledgement;
   * "0" at the start of a shard), then the ContinuationSequenceNumber of each event taken.
   */
  readonly continuationSequenceNumber: string;
  /** Why it ended, once it has. */
  readonly ended: SubscriptionEnd | null;
  /** Ends it now (CANCEL), even while the iteration waits for an event. */
  cancel(): void;
}

/**
 * The ContinuationSequenceNumber of a subscription whose next record is `nextOffset`: the
 * sequence number of the record before, or "0" at the start of a shard (docs/PROTOCOL.md).
 */
function continuationOf(shardSerial: number, nextOffset: number): string {
  return nextOffset === 0 ? '0' : encodeSequenceNumber(shardSerial, nextOffset - 1);
}

/** One SUBSCRIBE: events queue up here until read; a full queue pauses the socket (Node). */
class Subscription implements ShardSubscription {
  shardId = '';
  continuationSequenceNumber = '';
  ended: SubscriptionEnd | null = null;
  private readonly queue: ClientSubscribeEvent[] = [];
  private failure: Error | null = null;
  private done = false;
  private wake: (() => void) | null = null;
  private requestId = 0;
  private paused = false;
  private acknowledgement: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(private readonly transport: Transport) {}

  /** Sends SUBSCRIBE; resolves at SUBSCRIBED, rejects with the ERROR (or the drop) that came instead. */
  start(request: SubscribeRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      this.acknowledgement = { resolve, reject };
      this.transport
        .request(
          (id) => encodeSubscribe(id, request),
          (reader) => this.onFrame(reader),
          (error) => this.finish(error),
        )
        .then((id) => (this.requestId = id), reject);
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ClientSubscribeEvent> {
    try {
      for (;;) {
        const event = this.queue.shift();
        if (event !== undefined) {
          this.resumeIfDrained();
          this.continuationSequenceNumber = event.ContinuationSequenceNumber;
          yield event;
          continue;
        }
        if (this.failure !== null) throw this.failure;
        if (this.done) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // The reader left early: cancel.
      this.cancel();
      if (this.paused) this.transport.setReading(true);
    }
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.ended = EndReason.CANCELLED;
    // Frames still in flight for it are dropped on arrival.
    this.transport.sendRaw(encodeCancel(this.requestId));
    this.transport.settle(this.requestId);
    this.notify();
  }

  private onFrame(reader: FrameReader): boolean {
    if (reader.opcode === Opcode.SUBSCRIBED) {
      const { shardSerial, startOffset } = decodeSubscribed(reader);
      this.shardId = shardIdOf(shardSerial);
      this.continuationSequenceNumber = continuationOf(shardSerial, startOffset);
      this.acknowledgement?.resolve();
      this.acknowledgement = null;
      return false;
    }
    if (reader.opcode === Opcode.END) {
      this.ended = (decodeJsonFrame(reader).reason as SubscriptionEnd | undefined) ?? EndReason.CONSUMER_GONE;
      this.finish(null);
      return true;
    }
    const frame = decodeRecords(reader);
    this.queue.push({
      ShardId: shardIdOf(frame.shardSerial),
      Records: kinesisRecords(frame),
      ContinuationSequenceNumber: continuationOf(frame.shardSerial, frame.toOffset > frame.fromOffset ? frame.toOffset : frame.fromOffset),
      MillisBehindLatest: frame.millisBehindLatest,
      ...(frame.childShards === null ? {} : { ChildShards: frame.childShards as Array<{ ShardId: string; ParentShards: string[] }> }),
    });
    if (this.queue.length >= SUBSCRIPTION_QUEUE_EVENTS_MAX && !this.paused) {
      this.paused = true;
      this.transport.setReading(false);
    }
    this.notify();
    return false;
  }

  private resumeIfDrained(): void {
    if (this.paused && this.queue.length < SUBSCRIPTION_QUEUE_EVENTS_MAX / 2) {
      this.paused = false;
      this.transport.setReading(true);
    }
  }

  private finish(error: Error | null): void {
    this.done = true;
    this.failure = error;
    // Before SUBSCRIBED, whatever ended it is the subscribe's answer.
    this.acknowledgement?.reject(error ?? new ConnectionError(`the server ended the subscription (${this.ended}) before acknowledging it`));
    this.acknowledgement = null;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
