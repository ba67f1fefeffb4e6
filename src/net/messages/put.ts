/*
 * PUT (0x03), client -> server
 *   0 u16 streamLength | 2 stream (UTF-8) | u32 recordCount | records in the on-disk record
 *   layout (docs/FORMAT.md), back to back | recordCount x 16-byte hash keys (big-endian): the
 *   last 16 x recordCount bytes of the frame
 *
 * PUT_RESULT (0x83), server -> client
 *   u16 shardCount | per shard: u32 serial, u64 firstOffset | u32 recordCount |
 *   per record: u16 slot (0xffff = failed) | u32 failureCount |
 *   per failure: u32 recordIndex, u8 codeLength, code, u16 messageLength, message
 */
import { HASH_KEY_BYTES } from '../../limits.js';
import { writeShortAsciiKey } from '../../log/key_text.js';
import {
  FLAG_EXPLICIT_HASH_KEY,
  RECORD_DATA_LENGTH_POSITION,
  RECORD_FLAGS_POSITION,
  RECORD_HEADER_BYTES,
  RECORD_KEY_LENGTH_POSITION,
  RECORD_RESERVED_POSITION,
} from '../../log/batch_format.js';
import {
  FAILED_SLOT,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameWriter,
  MalformedFrameError,
  Opcode,
  REQUEST_ID_POSITION,
  utf8Bytes,
} from '../protocol.js';

export interface PutFrame {
  readonly stream: string;
  readonly recordCount: number;
  /** recordCount x 16 bytes, big-endian hash keys. */
  readonly hashKeys: Uint8Array;
  /**
   * The records, back to back: their layout is checked here (docs/PROTOCOL.md, PUT), their
   * contents against Kinesis' rules by the engine.
   */
  readonly records: Uint8Array;
}

export function decodePut(reader: FrameReader): PutFrame {
  const stream = reader.string(2);
  const recordCount = reader.u32();
  if (recordCount === 0) throw new MalformedFrameError('a PUT holds at least one record');
  const hashKeyBytes = recordCount * HASH_KEY_BYTES;
  if (hashKeyBytes > reader.remaining) throw new MalformedFrameError(`a PUT of ${recordCount} records is too short for their hash keys`);
  const records = reader.bytesOf(reader.remaining - hashKeyBytes);
  checkRecordLayout(records, recordCount);
  return { stream, recordCount, hashKeys: reader.rest(), records };
}

/**
 * The framing of a PUT's records: each header within the bytes with known flags and a zero
 * reserved byte, each record within the bytes, and exactly `count` records filling them. A fault
 * here is the frame's (MalformedFrame), not a Kinesis rule's: only the headers are read, so the
 * loop is bounded by the count and the bytes, whatever the lengths claim.
 */
function checkRecordLayout(records: Uint8Array, count: number): void {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (records.length - at < RECORD_HEADER_BYTES)
      throw new MalformedFrameError(
        `record ${i + 1} of ${count} starts ${at} bytes into ${records.length} bytes of records: no room for its header`,
      );
    const flags = records[at + RECORD_FLAGS_POSITION]!;
    if ((flags & ~FLAG_EXPLICIT_HASH_KEY) !== 0 || records[at + RECORD_RESERVED_POSITION] !== 0)
      throw new MalformedFrameError(`record ${i + 1}: unknown flags or a non-zero reserved byte`);
    const explicitBytes = flags === 0 ? 0 : HASH_KEY_BYTES;
    const end =
      at +
      RECORD_HEADER_BYTES +
      explicitBytes +
      view.getUint16(at + RECORD_KEY_LENGTH_POSITION, true) +
      view.getUint32(at + RECORD_DATA_LENGTH_POSITION, true);
    if (end > records.length) throw new MalformedFrameError(`record ${i + 1} ends at byte ${end} of ${records.length} bytes of records`);
    at = end;
  }
  if (at !== records.length)
    throw new MalformedFrameError(`the ${count} records end at byte ${at} of ${records.length}: the count disagrees with the bytes`);
}

const encoder = new TextEncoder();
const INITIAL_BYTES = 64 * 1024;

/**
 * Builds a PUT frame record by record in one buffer, so a producer encodes each record once,
 * when it is put, and sends the buffer as it is. reset() reuses the buffer for the next frame
 * once this one was sent (the WebSocket copies what it sends).
 */
export class PutFrameBuilder {
  private bytes = new Uint8Array(INITIAL_BYTES);
  private view = new DataView(this.bytes.buffer);
  private hashKeys = new Uint8Array(HASH_KEY_BYTES * 64);
  private position = 0;
  private countPosition = 0;
  private count = 0;
  private streamName = '';

  constructor(stream: string) {
    this.reset(stream);
  }

  get stream(): string {
    return this.streamName;
  }

  get recordCount(): number {
    return this.count;
  }

  /** Starts a new frame for `stream`, keeping the buffers. */
  reset(stream: string): void {
    const name = utf8Bytes(stream);
    if (name.length > 0xffff) throw new RangeError('a stream name has at most 65,535 bytes');
    this.streamName = stream;
    this.count = 0;
    this.position = 0;
    this.reserve(FRAME_HEADER_BYTES + 2 + name.length + 4);
    this.bytes.fill(0, 0, FRAME_HEADER_BYTES);
    this.bytes[0] = Opcode.PUT;
    this.view.setUint16(FRAME_HEADER_BYTES, name.length, true);
    this.bytes.set(name, FRAME_HEADER_BYTES + 2);
    this.countPosition = FRAME_HEADER_BYTES + 2 + name.length;
    this.position = this.countPosition + 4;
  }

  /**
   * Adds a record: `hashKey` is its 16-byte big-endian routing key, `explicitHashKey` (16 bytes,
   * little-endian) is stored with it when the producer chose the shard. Returns the partition
   * key's UTF-8 byte length.
   */
  add(partitionKey: string, data: Uint8Array, hashKey: Uint8Array, explicitHashKey?: Uint8Array): number {
    const explicitBytes = explicitHashKey === undefined ? 0 : HASH_KEY_BYTES;
    this.reserve(this.position + RECORD_HEADER_BYTES + explicitBytes + partitionKey.length * 3 + data.length);
    const start = this.position;
    const keyStart = start + RECORD_HEADER_BYTES + explicitBytes;
    const keyBytes = this.writeKey(partitionKey, keyStart);
    const view = this.view;
    view.setUint32(start + RECORD_DATA_LENGTH_POSITION, data.length, true);
    view.setUint16(start + RECORD_KEY_LENGTH_POSITION, keyBytes, true);
    // The flags, and the reserved byte after them, in one write.
    view.setUint16(start + RECORD_FLAGS_POSITION, explicitHashKey === undefined ? 0 : FLAG_EXPLICIT_HASH_KEY, true);
    if (explicitHashKey !== undefined) this.bytes.set(explicitHashKey, start + RECORD_HEADER_BYTES);
    this.bytes.set(data, keyStart + keyBytes);
    this.position = keyStart + keyBytes + data.length;
    if ((this.count + 1) * HASH_KEY_BYTES > this.hashKeys.length) {
      const grown = new Uint8Array(this.hashKeys.length * 2);
      grown.set(this.hashKeys);
      this.hashKeys = grown;
    }
    this.hashKeys.set(hashKey, this.count * HASH_KEY_BYTES);
    this.count++;
    return keyBytes;
  }

  /** The frame, a view of this builder's buffer: valid until reset() or the next add(). */
  finish(requestId: number): Uint8Array {
    const hashKeyBytes = this.count * HASH_KEY_BYTES;
    this.reserve(this.position + hashKeyBytes);
    this.view.setUint32(REQUEST_ID_POSITION, requestId >>> 0, true);
    this.view.setUint32(this.countPosition, this.count, true);
    this.bytes.set(this.hashKeys.subarray(0, hashKeyBytes), this.position);
    return this.bytes.subarray(0, this.position + hashKeyBytes);
  }

  private writeKey(key: string, at: number): number {
    const ascii = writeShortAsciiKey(this.bytes, key, at);
    return ascii >= 0 ? ascii : encoder.encodeInto(key, this.bytes.subarray(at)).written;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(bytes, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

export interface PutShardRun {
  readonly serial: number;
  /** The offset of the first of this PUT's records in the shard. */
  readonly firstOffset: number;
}

export interface PutFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

export interface PutResult {
  readonly shards: readonly PutShardRun[];
  /** Per record: index into shards, or FAILED_SLOT. */
  readonly slots: Uint16Array;
  readonly failures: readonly PutFailure[];
}

export function encodePutResult(requestId: number, result: PutResult): Uint8Array {
  const writer = new FrameWriter(Opcode.PUT_RESULT, requestId, 16 + result.shards.length * 12 + result.slots.length * 2);
  writer.u16(result.shards.length);
  for (const shard of result.shards) writer.u32(shard.serial).u64(shard.firstOffset);
  writer.u32(result.slots.length);
  for (const slot of result.slots) writer.u16(slot);
  writer.u32(result.failures.length);
  for (const failure of result.failures) writer.u32(failure.index).string(failure.code, 1).string(failure.message, 2);
  return writer.finish();
}

export function decodePutResult(reader: FrameReader): PutResult {
  const shards = Array.from({ length: reader.u16() }, () => ({ serial: reader.u32(), firstOffset: reader.u64() }));
  const slots = new Uint16Array(reader.u32());
  for (let i = 0; i < slots.length; i++) {
    slots[i] = reader.u16();
    if (slots[i] !== FAILED_SLOT && slots[i]! >= shards.length)
      throw new MalformedFrameError(`record ${i} names shard slot ${slots[i]} of ${shards.length}`);
  }
  const failures = Array.from({ length: reader.u32() }, () => ({ index: reader.u32(), code: reader.string(1), message: reader.string(2) }));
  return { shards, slots, failures };
}
