/*
 * GET_RECORDS (0x04), client -> server: 0 u32 limit | shard iterator (UTF-8, rest)
 * SUBSCRIBE (0x05), client -> server: JSON { ConsumerARN, ShardId, StartingPosition }
 * CANCEL (0x06), client -> server: empty; the requestId names the subscription
 * SUBSCRIBED (0x87), server -> client, the SUBSCRIBE's acknowledgement:
 *   0 u32 shard serial | 4 u64 startOffset (the first record the subscription delivers)
 *
 * RECORDS (0x84) and EVENT (0x85), server -> client:
 *   0 u32 shard serial | 4 u64 fromOffset | 12 u64 toOffset | 20 u32 millisBehindLatest |
 *   24 u16 nextIteratorLength, next iterator | u32 childShardsLength, ChildShards JSON |
 *   whole record batches (docs/FORMAT.md) to the end; records outside [fromOffset, toOffset)
 *   are skipped by the reader.
 */
import { HASH_KEY_BYTES } from '../../limits.js';
import {
  BASE_OFFSET_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POSITION,
  FLAG_EXPLICIT_HASH_KEY,
  RECORD_COUNT_POSITION,
  RECORD_DATA_LENGTH_POSITION,
  RECORD_FLAGS_POSITION,
  RECORD_HEADER_BYTES,
  RECORD_KEY_LENGTH_POSITION,
  TIMESTAMP_POSITION,
} from '../../log/batch_format.js';
import { FrameReader, FrameWriter, MalformedFrameError, Opcode, decodeUtf8, utf8Bytes } from '../protocol.js';
import { fromWire, toWire } from './call.js';

export function encodeGetRecords(requestId: number, shardIterator: string, limit: number): Uint8Array {
  return new FrameWriter(Opcode.GET_RECORDS, requestId).u32(limit).text(shardIterator).finish();
}

export function decodeGetRecords(reader: FrameReader): { limit: number; shardIterator: string } {
  return { limit: reader.u32(), shardIterator: reader.restText() };
}

export interface SubscribeRequest {
  readonly ConsumerARN: string;
  readonly ShardId: string;
  readonly StartingPosition: { readonly Type: string; readonly SequenceNumber?: string; readonly Timestamp?: Date | number };
}

export function encodeSubscribe(requestId: number, request: SubscribeRequest): Uint8Array {
  return new FrameWriter(Opcode.SUBSCRIBE, requestId).text(JSON.stringify(toWire(request))).finish();
}

export function decodeSubscribe(reader: FrameReader): SubscribeRequest {
  const request = fromWire(reader.restJson()) as Record<string, unknown>;
  if (
    typeof request.ConsumerARN !== 'string' ||
    typeof request.ShardId !== 'string' ||
    request.StartingPosition === null ||
    typeof request.StartingPosition !== 'object'
  ) {
    throw new MalformedFrameError('SUBSCRIBE needs ConsumerARN, ShardId and StartingPosition');
  }
  return request as unknown as SubscribeRequest;
}

export function encodeCancel(requestId: number): Uint8Array {
  return new FrameWriter(Opcode.CANCEL, requestId).finish();
}

/** Where a subscription starts: its shard and the offset of the first record it delivers. */
export interface SubscriptionStart {
  readonly shardSerial: number;
  readonly startOffset: number;
}

export function encodeSubscribed(requestId: number, start: SubscriptionStart): Uint8Array {
  return new FrameWriter(Opcode.SUBSCRIBED, requestId, 20).u32(start.shardSerial).u64(start.startOffset).finish();
}

export function decodeSubscribed(reader: FrameReader): SubscriptionStart {
  const start = { shardSerial: reader.u32(), startOffset: reader.u64() };
  if (reader.remaining !== 0) throw new MalformedFrameError(`${reader.remaining} bytes after the SUBSCRIBED body`);
  return start;
}

export interface RecordsHeader {
  readonly shardSerial: number;
  readonly fromOffset: number;
  readonly toOffset: number;
  readonly millisBehindLatest: number;
  readonly nextShardIterator: string | null;
  readonly childShards: readonly unknown[] | null;
}

/** The part of a RECORDS or EVENT frame before the batches, which follow as sent from the log. */
export function encodeRecordsHeader(
  opcode: typeof Opcode.RECORDS | typeof Opcode.EVENT,
  requestId: number,
  header: RecordsHeader,
): Uint8Array {
  const childShards = header.childShards === null ? new Uint8Array(0) : utf8Bytes(JSON.stringify(header.childShards));
  return new FrameWriter(opcode, requestId, 64 + childShards.length)
    .u32(header.shardSerial)
    .u64(header.fromOffset)
    .u64(header.toOffset)
    .u32(Math.min(0xffff_ffff, Math.max(0, Math.round(header.millisBehindLatest))))
    .string(header.nextShardIterator ?? '', 2)
    .u32(childShards.length)
    .raw(childShards)
    .finish();
}

/** A record as a client decodes it: `data` is a view of the frame. */
export interface WireRecord {
  readonly offset: number;
  readonly timestampMs: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** 16 bytes, little-endian, when the producer chose the shard explicitly. */
  readonly explicitHashKey: Uint8Array | undefined;
}

export interface RecordsFrame extends RecordsHeader {
  readonly records: WireRecord[];
}

export function decodeRecords(reader: FrameReader): RecordsFrame {
  const shardSerial = reader.u32();
  const fromOffset = reader.u64();
  const toOffset = reader.u64();
  const millisBehindLatest = reader.u32();
  const iterator = reader.string(2);
  const childLength = reader.u32();
  const childShards = childLength === 0 ? null : (JSON.parse(decodeUtf8(reader.bytesOf(childLength))) as unknown[]);
  const records = decodeBatches(reader.rest(), fromOffset, toOffset);
  return {
    shardSerial,
    fromOffset,
    toOffset,
    millisBehindLatest,
    nextShardIterator: iterator === '' ? null : iterator,
    childShards,
    records,
  };
}

/** The records with offsets in [fromOffset, toOffset) of whole batches laid end to end. */
export function decodeBatches(bytes: Uint8Array, fromOffset: number, toOffset: number): WireRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: WireRecord[] = [];
  for (let at = 0; at < bytes.length;) {
    if (bytes.length - at < BATCH_HEADER_BYTES) throw new MalformedFrameError('a record batch is cut short');
    const batchBytes = view.getUint32(at + BATCH_LENGTH_POSITION, true);
    const baseOffset = readU64(view, at + BASE_OFFSET_POSITION);
    const timestampMs = readU64(view, at + TIMESTAMP_POSITION);
    const count = view.getUint32(at + RECORD_COUNT_POSITION, true);
    if (batchBytes < BATCH_HEADER_BYTES || at + batchBytes > bytes.length)
      throw new MalformedFrameError('a record batch overruns the frame');
    let cursor = at + BATCH_HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      if (cursor + RECORD_HEADER_BYTES > at + batchBytes) throw new MalformedFrameError('a record overruns its batch');
      const dataBytes = view.getUint32(cursor + RECORD_DATA_LENGTH_POSITION, true);
      const keyBytes = view.getUint16(cursor + RECORD_KEY_LENGTH_POSITION, true);
      const explicit = (bytes[cursor + RECORD_FLAGS_POSITION]! & FLAG_EXPLICIT_HASH_KEY) !== 0;
      const keyStart = cursor + RECORD_HEADER_BYTES + (explicit ? HASH_KEY_BYTES : 0);
      const dataStart = keyStart + keyBytes;
      cursor = dataStart + dataBytes;
      if (cursor > at + batchBytes) throw new MalformedFrameError('a record overruns its batch');
      const offset = baseOffset + i;
      if (offset < fromOffset || offset >= toOffset) continue;
      records.push({
        offset,
        timestampMs,
        partitionKey: decodeUtf8(bytes.subarray(keyStart, dataStart)),
        data: bytes.subarray(dataStart, cursor),
        explicitHashKey: explicit ? bytes.subarray(keyStart - HASH_KEY_BYTES, keyStart) : undefined,
      });
    }
    at += batchBytes;
  }
  return records;
}

function readU64(view: DataView, position: number): number {
  return view.getUint32(position + 4, true) * 0x1_0000_0000 + view.getUint32(position, true);
}
