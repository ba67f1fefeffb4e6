import assert from 'node:assert/strict';
import type { ChildShard, GetRecordsInput, SubscribeToShardRequest } from '../streams/api_types.js';
import type { RawRead } from './shard_reads.js';

/*
 * The engine's data path for the network, off the Engine's public surface: records that arrive
 * encoded, and reads and subscriptions that hand out the stored batches as views of the mapped
 * files instead of decoded records. Only src/net reaches it, through dataPathOf(engine); an
 * embedded caller has the decoded operations (putRecords, getRecords, subscribeToShard).
 */

/**
 * A network PUT (docs/PROTOCOL.md): `records` holds `recordCount` records in the on-disk layout,
 * `hashKeys` their 16-byte big-endian routing keys.
 */
export interface EncodedPutRequest {
  /** A stream name or ARN. */
  readonly stream: string;
  readonly recordCount: number;
  readonly hashKeys: Uint8Array;
  readonly records: Uint8Array;
}

/** Where an encoded put's records went: per shard, the record indices and the first offset. */
export interface EncodedPutResult {
  readonly runs: ReadonlyArray<{
    readonly shardId: string;
    readonly serial: number;
    readonly firstOffset: number;
    readonly indices: readonly number[];
  }>;
  readonly failures: ReadonlyArray<{ readonly indices: readonly number[]; readonly code: string; readonly message: string }>;
}

/** A read's batches as stored (views of the mapped files) and what they hold. */
export interface RawRecords {
  readonly shardSerial: number;
  readonly read: RawRead;
  readonly millisBehindLatest: number;
  /** Absent at the end of a closed shard (childShards is set then). */
  readonly nextShardIterator?: string;
  readonly childShards?: ChildShard[];
}

export interface RawSubscribeEvent extends RawRecords {
  readonly continuationSequenceNumber: string;
}

/** Where a subscription starts: its shard's serial and the first offset it will read. */
export interface SubscriptionStart {
  readonly shardSerial: number;
  readonly startOffset: number;
}

export interface EngineDataPath {
  /**
   * Validates, routes and hands the records to their shards before the promise is returned,
   * so the caller's buffers may be reused at once.
   */
  putEncoded(request: EncodedPutRequest): Promise<EncodedPutResult>;
  /**
   * getRecords without decoding; the views stay valid until the next read of the shard. A
   * promise only while the shard still recovers after a start: send the views when it settles.
   */
  getRecordsRaw(request: GetRecordsInput): RawRecords | Promise<RawRecords>;
  /**
   * subscribeToShard without decoding; each event's views stay valid until the generator is
   * resumed. `onStart` hears where the subscription starts once its request passed every check,
   * before the first event (the network acknowledges SUBSCRIBE with it).
   */
  subscribeRaw(request: SubscribeToShardRequest, onStart?: (start: SubscriptionStart) => void): AsyncGenerator<RawSubscribeEvent>;
}

const dataPaths = new WeakMap<object, EngineDataPath>();

/** Called once by Engine.open. */
export function attachDataPath(engine: object, dataPath: EngineDataPath): void {
  assert(!dataPaths.has(engine), 'an engine has one data path');
  dataPaths.set(engine, dataPath);
}

/** The data path of an open engine. */
export function dataPathOf(engine: object): EngineDataPath {
  const dataPath = dataPaths.get(engine);
  assert(dataPath !== undefined, 'not an engine made by Engine.open');
  return dataPath;
}
