/*
 * PUT (0x03), client -> server
 *   0 u16 streamLength | 2 stream (UTF-8) | u32 recordCount | recordCount x 16-byte hash keys
 *   (big-endian) | records in the on-disk record layout (docs/FORMAT.md), filling the rest
 *
 * PUT_RESULT (0x83), server -> client
 *   u16 shardCount | per shard: u32 serial, u64 firstOffset | u32 recordCount |
 *   per record: u16 slot (0xffff = failed) | u32 failureCount |
 *   per failure: u32 recordIndex, u8 codeLength, code, u16 messageLength, message
 */
import { FLAG_EXPLICIT_HASH_KEY, RECORD_DATA_LENGTH_POSITION, RECORD_FLAGS_POSITION, RECORD_HEADER_BYTES, RECORD_KEY_LENGTH_POSITION } from '../../log/batch_format.js';
import { FAILED_SLOT, FrameReader, FrameWriter, HASH_KEY_BYTES, MalformedFrameError, Opcode } from '../protocol.js';

export interface PutFrame {
  readonly stream: string;
  readonly recordCount: number;
  /** recordCount x 16 bytes, big-endian hash keys. */
  readonly hashKeys: Uint8Array;
  /** The records, back to back (validated by the engine, not here). */
  readonly records: Uint8Array;
}

export function decodePut(reader: FrameReader): PutFrame {
  const stream = reader.string(2);
  const recordCount = reader.u32();
  if (recordCount === 0) throw new MalformedFrameError('a PUT holds at least one record');
  if (recordCount * HASH_KEY_BYTES > reader.remaining) throw new MalformedFrameError(`a PUT of ${recordCount} records is too short for their hash keys`);
  const hashKeys = reader.bytesOf(recordCount * HASH_KEY_BYTES);
  return { stream, recordCount, hashKeys, records: reader.rest() };
}

const encoder = new TextEncoder();

/**
 * Builds a PUT frame record by record, so a producer encodes each record once, when it is put.
 * Hash keys and records grow in separate buffers and meet in finish().
 */
export class PutFrameBuilder {
  private records = new Uint8Array(64 * 1024);
  private recordsView = new DataView(this.records.buffer);
  private recordsLength = 0;
  private hashKeys = new Uint8Array(16 * 64);
  private count = 0;

  constructor(readonly stream: string) {}

  get recordCount(): number {
    return this.count;
  }

  /** Bytes the frame will have (an upper bound before finish). */
  get byteLength(): number {
    return 8 + 2 + this.stream.length * 3 + 4 + this.count * HASH_KEY_BYTES + this.recordsLength;
  }

  /**
   * Adds a record: `hashKey` is its 16-byte big-endian routing key, `explicitHashKey` (16 bytes,
   * little-endian) is stored with it when the producer chose the shard. Returns the partition
   * key's UTF-8 byte length.
   */
  add(partitionKey: string, data: Uint8Array, hashKey: Uint8Array, explicitHashKey?: Uint8Array): number {
    const explicitBytes = explicitHashKey === undefined ? 0 : HASH_KEY_BYTES;
    this.reserve(RECORD_HEADER_BYTES + explicitBytes + partitionKey.length * 3 + data.length);
    const start = this.recordsLength;
    const keyStart = start + RECORD_HEADER_BYTES + explicitBytes;
    const { written } = encoder.encodeInto(partitionKey, this.records.subarray(keyStart));
    const view = this.recordsView;
    view.setUint32(start + RECORD_DATA_LENGTH_POSITION, data.length, true);
    view.setUint16(start + RECORD_KEY_LENGTH_POSITION, written, true);
    view.setUint16(start + RECORD_FLAGS_POSITION, explicitHashKey === undefined ? 0 : FLAG_EXPLICIT_HASH_KEY, true); // flags, and the reserved byte
    if (explicitHashKey !== undefined) this.records.set(explicitHashKey, start + RECORD_HEADER_BYTES);
    this.records.set(data, keyStart + written);
    this.recordsLength = keyStart + written + data.length;
    if ((this.count + 1) * HASH_KEY_BYTES > this.hashKeys.length) {
      const grown = new Uint8Array(this.hashKeys.length * 2);
      grown.set(this.hashKeys);
      this.hashKeys = grown;
    }
    this.hashKeys.set(hashKey, this.count * HASH_KEY_BYTES);
    this.count++;
    return written;
  }

  finish(requestId: number): Uint8Array {
    const hashKeyBytes = this.count * HASH_KEY_BYTES;
    return new FrameWriter(Opcode.PUT, requestId, this.byteLength)
      .string(this.stream, 2)
      .u32(this.count)
      .raw(this.hashKeys.subarray(0, hashKeyBytes))
      .raw(this.records.subarray(0, this.recordsLength))
      .finish();
  }

  private reserve(bytes: number): void {
    if (this.recordsLength + bytes <= this.records.length) return;
    const grown = new Uint8Array(Math.max(this.recordsLength + bytes, this.records.length * 2));
    grown.set(this.records.subarray(0, this.recordsLength));
    this.records = grown;
    this.recordsView = new DataView(grown.buffer);
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
    if (slots[i] !== FAILED_SLOT && slots[i]! >= shards.length) throw new MalformedFrameError(`record ${i} names shard slot ${slots[i]} of ${shards.length}`);
  }
  const failures = Array.from({ length: reader.u32() }, () => ({ index: reader.u32(), code: reader.string(1), message: reader.string(2) }));
  return { shards, slots, failures };
}
