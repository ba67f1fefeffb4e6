import zlib from 'node:zlib';
import { crc32 as crc32Js } from '@aws-crypto/crc32';
import { HASH_KEY_BYTES, PARTITION_KEY_BYTES_MAX, RECORD_PAYLOAD_BYTES_MAX } from '../limits.js';

/*
 * A capture file (docs/FORMAT.md, "Capture files"): a stream's records with their partition keys,
 * explicit hash keys, arrival times, sequence numbers and shards, in one of two encodings that
 * hold the same things. JSON lines: a header line, one line per record, an end line. Binary: a
 * header, then frames (a record each, then an end frame), each with a CRC-32 covering its length
 * word, as the log's batches do with xxh64. The end (with the record count) is what tells a file
 * cut at a frame or line boundary from a whole one.
 *
 * Records are in replay order: by arrival time across shards, each shard's after its parents'
 * (so a key's records keep their order through a reshard), each shard's in its own order.
 */

export const CAPTURE_VERSION = 1;
/** "SLCP": the binary encoding's first four bytes. */
export const BINARY_MAGIC = Buffer.from('SLCP', 'latin1');
/** The JSON lines encoding's first bytes: its header line's first member. */
export const JSONL_MAGIC = Buffer.from('{"shardlineCapture":', 'latin1');

// The binary file header: magic, version, reserved, then the header JSON under a checksum.
export const FILE_VERSION_POSITION = 4;
export const FILE_CHECKSUM_POSITION = 8;
export const FILE_HEADER_LENGTH_POSITION = FILE_CHECKSUM_POSITION + 4;
export const FILE_HEADER_BYTES = FILE_HEADER_LENGTH_POSITION + 4;
/** A header lists every shard of the stream (closed ones too): 4 MiB holds some 20,000. */
export const HEADER_JSON_BYTES_MAX = 4 * 1024 * 1024;

// A frame: checksum of everything after it, the length word included; then the kind.
export const FRAME_LENGTH_POSITION = 4;
export const FRAME_KIND_POSITION = 8;
export const FRAME_PREFIX_BYTES = FRAME_KIND_POSITION;
export const FRAME_KIND_RECORD = 1;
export const FRAME_KIND_END = 2;
// A record frame's fixed part, each field after the one before.
const RECORD_FLAGS_POSITION = FRAME_KIND_POSITION + 1;
const RECORD_KEY_LENGTH_POSITION = RECORD_FLAGS_POSITION + 1;
const RECORD_DATA_LENGTH_POSITION = RECORD_KEY_LENGTH_POSITION + 2;
const RECORD_ARRIVAL_POSITION = RECORD_DATA_LENGTH_POSITION + 4;
const RECORD_SHARD_INDEX_POSITION = RECORD_ARRIVAL_POSITION + 8;
const RECORD_SEQUENCE_LENGTH_POSITION = RECORD_SHARD_INDEX_POSITION + 4;
export const RECORD_FIXED_BYTES = RECORD_SEQUENCE_LENGTH_POSITION + 1;
const FLAG_EXPLICIT_HASH_KEY = 1;
const END_COUNT_POSITION = FRAME_KIND_POSITION + 1;
export const END_FRAME_BYTES = END_COUNT_POSITION + 8;
/** Sequence numbers are decimal; Kinesis' are at most 128 digits. */
export const SEQUENCE_NUMBER_CHARS_MAX = 128;
/** The largest frame a valid record makes: what a reader accepts before it reads the bytes. */
export const FRAME_BYTES_MAX =
  RECORD_FIXED_BYTES + HASH_KEY_BYTES + SEQUENCE_NUMBER_CHARS_MAX + PARTITION_KEY_BYTES_MAX + RECORD_PAYLOAD_BYTES_MAX;
/** A JSON line at most: a record's data in base64 and its other fields, or the header. */
export const LINE_BYTES_MAX = Math.max(HEADER_JSON_BYTES_MAX, Math.ceil((RECORD_PAYLOAD_BYTES_MAX * 4) / 3) + 64 * 1024);

export type CaptureEncoding = 'jsonl' | 'binary';

export interface CaptureShard {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingHashKey: string;
  readonly endingHashKey: string;
}

export interface CaptureHeader {
  readonly shardlineCapture: typeof CAPTURE_VERSION;
  readonly stream: string;
  readonly exportedAtMs: number;
  /** The time range asked for: arrival at or after fromMs, before toMs. */
  readonly fromMs: number | null;
  readonly toMs: number | null;
  /** Whether the source showed explicit hash keys (the WebSocket does; GetRecords does not). */
  readonly explicitHashKeys: boolean;
  /** In export order: parents before children. */
  readonly shards: readonly CaptureShard[];
}

export interface CaptureRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly arrivalMs: number;
  readonly partitionKey: string;
  /** Decimal; only when the record was put with one. */
  readonly explicitHashKey?: string | undefined;
  readonly data: Uint8Array;
}

/** CRC-32 (IEEE, zlib's): node:zlib's native one from Node 20.15, the JavaScript one before. */
export const crc32: (bytes: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (bytes) => zlib.crc32(bytes) : crc32Js;

/** An explicit hash key as the log and the wire hold it (16 bytes, little-endian), in decimal. */
export function hashKeyDecimal(littleEndian: Uint8Array): string {
  const view = Buffer.from(littleEndian.buffer, littleEndian.byteOffset, HASH_KEY_BYTES);
  return ((view.readBigUInt64LE(8) << 64n) | view.readBigUInt64LE(0)).toString();
}

function hashKeyBytes(decimal: string): Buffer {
  const value = BigInt(decimal);
  const bytes = Buffer.alloc(HASH_KEY_BYTES);
  bytes.writeBigUInt64LE(value & 0xffff_ffff_ffff_ffffn, 0);
  bytes.writeBigUInt64LE(value >> 64n, 8);
  return bytes;
}

/** Encodes one capture: the header first, then each record, then the end with the count. */
export interface CaptureEncoder {
  header(): Buffer;
  record(record: CaptureRecord): Buffer;
  end(recordCount: number): Buffer;
}

export function captureEncoder(encoding: CaptureEncoding, header: CaptureHeader): CaptureEncoder {
  return encoding === 'jsonl' ? jsonlEncoder(header) : binaryEncoder(header);
}

function jsonlEncoder(header: CaptureHeader): CaptureEncoder {
  return {
    header: () => Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'),
    record: (record) => Buffer.from(`${jsonLine(record)}\n`, 'utf8'),
    end: (recordCount) => Buffer.from(`${JSON.stringify({ end: { recordCount } })}\n`, 'utf8'),
  };
}

function jsonLine(record: CaptureRecord): string {
  const data = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('base64');
  return JSON.stringify({
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    arrivalMs: record.arrivalMs,
    partitionKey: record.partitionKey,
    ...(record.explicitHashKey === undefined ? {} : { explicitHashKey: record.explicitHashKey }),
    data,
  });
}

function binaryEncoder(header: CaptureHeader): CaptureEncoder {
  const shardIndexes = new Map(header.shards.map((shard, index) => [shard.shardId, index]));
  return {
    header: () => binaryFileHeader(header),
    record: (record) => {
      const shardIndex = shardIndexes.get(record.shardId);
      if (shardIndex === undefined) throw new Error(`record of ${record.shardId}, a shard the header does not list`);
      return recordFrame(record, shardIndex);
    },
    end: (recordCount) => {
      const frame = Buffer.alloc(END_FRAME_BYTES);
      frame[FRAME_KIND_POSITION] = FRAME_KIND_END;
      frame.writeBigUInt64LE(BigInt(recordCount), END_COUNT_POSITION);
      return sealFrame(frame);
    },
  };
}

function binaryFileHeader(header: CaptureHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const bytes = Buffer.alloc(FILE_HEADER_BYTES + json.length);
  BINARY_MAGIC.copy(bytes, 0);
  bytes.writeUInt16LE(CAPTURE_VERSION, FILE_VERSION_POSITION);
  bytes.writeUInt32LE(json.length, FILE_HEADER_LENGTH_POSITION);
  json.copy(bytes, FILE_HEADER_BYTES);
  bytes.writeUInt32LE(crc32(bytes.subarray(FILE_HEADER_LENGTH_POSITION)), FILE_CHECKSUM_POSITION);
  return bytes;
}

function recordFrame(record: CaptureRecord, shardIndex: number): Buffer {
  if (record.sequenceNumber.length > SEQUENCE_NUMBER_CHARS_MAX)
    throw new Error(`sequence number of ${record.sequenceNumber.length} digits`);
  const key = Buffer.from(record.partitionKey, 'utf8');
  const hashKeyLength = record.explicitHashKey === undefined ? 0 : HASH_KEY_BYTES;
  const frame = Buffer.allocUnsafe(RECORD_FIXED_BYTES + hashKeyLength + record.sequenceNumber.length + key.length + record.data.length);
  frame[FRAME_KIND_POSITION] = FRAME_KIND_RECORD;
  frame[RECORD_FLAGS_POSITION] = hashKeyLength === 0 ? 0 : FLAG_EXPLICIT_HASH_KEY;
  frame.writeUInt16LE(key.length, RECORD_KEY_LENGTH_POSITION);
  frame.writeUInt32LE(record.data.length, RECORD_DATA_LENGTH_POSITION);
  frame.writeBigUInt64LE(BigInt(record.arrivalMs), RECORD_ARRIVAL_POSITION);
  frame.writeUInt32LE(shardIndex, RECORD_SHARD_INDEX_POSITION);
  frame[RECORD_SEQUENCE_LENGTH_POSITION] = record.sequenceNumber.length;
  let at = RECORD_FIXED_BYTES;
  if (record.explicitHashKey !== undefined) at += hashKeyBytes(record.explicitHashKey).copy(frame, at);
  at += frame.write(record.sequenceNumber, at, 'latin1');
  at += key.copy(frame, at);
  frame.set(record.data, at);
  return sealFrame(frame);
}

/** Fills in the length word and the checksum over it and what follows. */
function sealFrame(frame: Buffer): Buffer {
  frame.writeUInt32LE(frame.length - FRAME_PREFIX_BYTES, FRAME_LENGTH_POSITION);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_LENGTH_POSITION)), 0);
  return frame;
}

/** A record frame decoded, its checksum and length already checked; or what is wrong with it. */
export function decodeRecordFrame(
  frame: Buffer,
  shards: readonly CaptureShard[],
): { record: CaptureRecord; problem?: undefined } | { problem: string; record?: undefined } {
  const flags = frame[RECORD_FLAGS_POSITION]!;
  if ((flags & ~FLAG_EXPLICIT_HASH_KEY) !== 0) return { problem: `flags ${flags}: only bit 0 is defined` };
  const keyLength = frame.readUInt16LE(RECORD_KEY_LENGTH_POSITION);
  const dataLength = frame.readUInt32LE(RECORD_DATA_LENGTH_POSITION);
  const arrivalMs = Number(frame.readBigUInt64LE(RECORD_ARRIVAL_POSITION));
  const shard = shards[frame.readUInt32LE(RECORD_SHARD_INDEX_POSITION)];
  const sequenceLength = frame[RECORD_SEQUENCE_LENGTH_POSITION]!;
  const hashKeyLength = (flags & FLAG_EXPLICIT_HASH_KEY) === 0 ? 0 : HASH_KEY_BYTES;
  if (RECORD_FIXED_BYTES + hashKeyLength + sequenceLength + keyLength + dataLength !== frame.length)
    return { problem: 'the lengths of its fields do not add up to the frame' };
  if (shard === undefined) return { problem: `shard index ${frame.readUInt32LE(RECORD_SHARD_INDEX_POSITION)} is not in the header` };
  if (!Number.isSafeInteger(arrivalMs)) return { problem: 'arrival time beyond 2^53 ms' };
  let at = RECORD_FIXED_BYTES;
  const explicitHashKey = hashKeyLength === 0 ? undefined : hashKeyDecimal(frame.subarray(at, (at += hashKeyLength)));
  const sequenceNumber = frame.toString('latin1', at, (at += sequenceLength));
  if (!/^\d+$/.test(sequenceNumber)) return { problem: 'the sequence number is not decimal' };
  const partitionKey = frame.toString('utf8', at, (at += keyLength));
  if (keyLength === 0) return { problem: 'an empty partition key' };
  const data = frame.subarray(at);
  return { record: { shardId: shard.shardId, sequenceNumber, arrivalMs, partitionKey, explicitHashKey, data } };
}

export function decodeEndFrame(frame: Buffer): number | null {
  if (frame.length !== END_FRAME_BYTES) return null;
  const count = Number(frame.readBigUInt64LE(END_COUNT_POSITION));
  return Number.isSafeInteger(count) ? count : null;
}
