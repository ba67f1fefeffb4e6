import {
  BATCH_BYTES_MAX,
  BATCH_RECORDS_MAX,
  HASH_KEY_BYTES,
  PARTITION_KEY_BYTES_MAX,
  PARTITION_KEY_CHARS_MAX,
  RECORD_PAYLOAD_BYTES_MAX,
} from '../limits.js';
import assert from 'node:assert/strict';
import { CorruptLogError, InvalidArgumentException } from '../errors.js';
import { ATTRIBUTE_ENCRYPTED, BATCH_STORED_BYTES_MAX, ENCRYPTION_OVERHEAD_BYTES, isEncrypted } from './batch_cipher.js';
import { checksum } from './checksum.js';
import { writeShortAsciiKey } from './key_text.js';
import { readU64, writeU64 } from './u64.js';
import {
  CHECKSUM_POSITION,
  BATCH_LENGTH_POSITION,
  MAGIC_POSITION,
  VERSION_POSITION,
  ATTRIBUTES_POSITION,
  BASE_OFFSET_POSITION,
  TIMESTAMP_POSITION,
  RECORD_COUNT_POSITION,
  RESERVED_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  BATCH_VERSION,
  RECORD_DATA_LENGTH_POSITION,
  RECORD_KEY_LENGTH_POSITION,
  RECORD_FLAGS_POSITION,
  RECORD_RESERVED_POSITION,
  RECORD_HEADER_BYTES,
  FLAG_EXPLICIT_HASH_KEY,
} from './batch_format.js';

/*
 * Record batches (docs/FORMAT.md, "Record batch"; field positions in batch_format.ts): encoding,
 * sealing, verifying and walking. The same bytes are written to the segment file and sent on
 * the wire.
 */

export * from './batch_format.js';
/** A record as appended: the arrival timestamp and offset are the log's to assign. */
export interface LogRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** The 128-bit hash key, little-endian, when the producer chose the shard explicitly. */
  readonly explicitHashKey?: Uint8Array | undefined;
}

/** A record as read: `data` and `explicitHashKey` are views of the batch, not copies. */
export interface StoredRecord {
  readonly offset: number;
  readonly timestampMs: number;
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly explicitHashKey: Buffer | undefined;
}

/**
 * Encodes records into one batch in a buffer it reuses between batches: first touch of fresh
 * memory (~2 GiB/s on the development machine, against ~25 GiB/s for memcpy) costs more than the
 * copy itself, so a log owns one builder.
 * The header is stamped by sealBatch, once the log knows the offset and timestamp.
 */
export class BatchBuilder {
  private buffer = Buffer.allocUnsafe(1024 * 1024);
  // Record headers are written through a DataView: on Node 20 here setUint32 costs ~2 ns
  // against ~57 ns for Buffer#writeUInt32LE, which dominated the cost of 100-byte records.
  private view = viewOf(this.buffer);
  private lengthBytes = 0;
  private count = 0;

  /** Encodes the records; throws InvalidArgumentException (naming the record) and keeps nothing. */
  encode(records: readonly LogRecord[]): void {
    if (!Array.isArray(records) || records.length === 0) {
      throw new InvalidArgumentException('an append needs at least one record');
    }
    if (records.length > BATCH_RECORDS_MAX) {
      throw new InvalidArgumentException(`an append holds at most ${BATCH_RECORDS_MAX} records, got ${records.length}`);
    }
    let position = BATCH_HEADER_BYTES;
    for (let i = 0; i < records.length; i++) {
      position = this.encodeRecord(records[i]!, i, position);
    }
    this.lengthBytes = position;
    this.count = records.length;
  }

  /** The encoded batch (header fields still to stamp), valid until the next encode. */
  get batch(): Buffer {
    return this.buffer.subarray(0, this.lengthBytes);
  }

  /** Stamps the header (sealBatch) and returns the batch, valid until the next encode. */
  seal(baseOffset: number, timestampMs: number): Buffer {
    const batch = this.batch;
    sealBatch(batch, this.count, baseOffset, timestampMs);
    return batch;
  }

  get batchBytes(): number {
    return this.lengthBytes;
  }

  get recordCount(): number {
    return this.count;
  }

  private encodeRecord(record: LogRecord, index: number, position: number): number {
    const key = record?.partitionKey;
    const data = record?.data;
    if (typeof key !== 'string' || key.length === 0) {
      throw recordError(index, 'partitionKey must be a non-empty string');
    }
    // A UTF-16 unit count of 256 or less cannot hold more than 256 code points; above 512 it
    // must hold more. Only the range between needs counting.
    if (key.length > PARTITION_KEY_CHARS_MAX && (key.length > 2 * PARTITION_KEY_CHARS_MAX || [...key].length > PARTITION_KEY_CHARS_MAX)) {
      throw recordError(index, `partitionKey is longer than ${PARTITION_KEY_CHARS_MAX} characters`);
    }
    if (!(data instanceof Uint8Array)) throw recordError(index, 'data must be a Uint8Array');
    const hashKey = record.explicitHashKey;
    if (hashKey !== undefined && (!(hashKey instanceof Uint8Array) || hashKey.length !== HASH_KEY_BYTES)) {
      throw recordError(index, `explicitHashKey must be ${HASH_KEY_BYTES} bytes`);
    }
    this.ensureCapacity(position + recordBytesMax(key, data), index);
    const end = writeRecord(this.buffer, this.view, position, key, data, hashKey);
    const keyBytes = this.view.getUint16(position + RECORD_KEY_LENGTH_POSITION, true);
    if (keyBytes + data.length > RECORD_PAYLOAD_BYTES_MAX) {
      throw recordError(index, `partition key and data are ${keyBytes + data.length} bytes, more than ${RECORD_PAYLOAD_BYTES_MAX}`);
    }
    return end;
  }

  private ensureCapacity(bytes: number, index: number): void {
    if (bytes <= this.buffer.length) return;
    if (bytes > BATCH_BYTES_MAX) {
      throw recordError(index, `the append would exceed the batch limit of ${BATCH_BYTES_MAX} bytes`);
    }
    const grown = Buffer.allocUnsafe(Math.min(BATCH_BYTES_MAX, Math.max(bytes, this.buffer.length * 2)));
    this.buffer.copy(grown, 0, 0, bytes);
    this.buffer = grown;
    this.view = viewOf(grown);
  }
}

export function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Room a record may need: the UTF-8 of a key is at most 3 bytes per UTF-16 unit. */
export function recordBytesMax(key: string, data: Uint8Array): number {
  return RECORD_HEADER_BYTES + HASH_KEY_BYTES + key.length * 3 + data.length;
}

/**
 * Writes one record at `position` (the caller made recordBytesMax of room and checked the
 * fields) and returns where it ends. `view` is a DataView of `buf`.
 */
export function writeRecord(
  buf: Buffer,
  view: DataView,
  position: number,
  key: string,
  data: Uint8Array,
  hashKey: Uint8Array | undefined,
): number {
  const keyPosition = position + RECORD_HEADER_BYTES + (hashKey === undefined ? 0 : HASH_KEY_BYTES);
  const keyBytes = writeKey(buf, key, keyPosition);
  view.setUint32(position + RECORD_DATA_LENGTH_POSITION, data.length, true);
  view.setUint16(position + RECORD_KEY_LENGTH_POSITION, keyBytes, true);
  buf[position + RECORD_FLAGS_POSITION] = hashKey === undefined ? 0 : FLAG_EXPLICIT_HASH_KEY;
  buf[position + RECORD_RESERVED_POSITION] = 0;
  if (hashKey !== undefined) buf.set(hashKey, position + RECORD_HEADER_BYTES);
  buf.set(data, keyPosition + keyBytes);
  return keyPosition + keyBytes + data.length;
}

/**
 * Stamps every header field of a batch whose records were encoded after BATCH_HEADER_BYTES of
 * room, and its checksum: after this the batch is exactly what docs/FORMAT.md specifies.
 */
export function sealBatch(batch: Buffer, recordCount: number, baseOffset: number, timestampMs: number): void {
  batch.writeUInt32LE(batch.length, BATCH_LENGTH_POSITION);
  batch.writeUInt16LE(BATCH_MAGIC, MAGIC_POSITION);
  batch.writeUInt8(BATCH_VERSION, VERSION_POSITION);
  batch.writeUInt8(0, ATTRIBUTES_POSITION);
  writeU64(batch, BASE_OFFSET_POSITION, baseOffset);
  writeU64(batch, TIMESTAMP_POSITION, timestampMs);
  batch.writeUInt32LE(recordCount, RECORD_COUNT_POSITION);
  batch.writeUInt32LE(0, RESERVED_POSITION);
  batch.writeBigUInt64LE(checksum(batch.subarray(BATCH_LENGTH_POSITION)), CHECKSUM_POSITION);
}

/** Writes the key as UTF-8 and returns its byte length; the caller made room for key.length * 3 bytes. */
function writeKey(buf: Buffer, key: string, position: number): number {
  const ascii = writeShortAsciiKey(buf, key, position);
  return ascii >= 0 ? ascii : buf.write(key, position, 'utf8');
}

function recordError(index: number, message: string): InvalidArgumentException {
  return new InvalidArgumentException(`record ${index}: ${message}`);
}

/** The header fields of a batch that readers navigate by. */
export interface BatchHeader {
  readonly batchBytes: number;
  readonly baseOffset: number;
  readonly timestampMs: number;
  readonly recordCount: number;
}

/** Reads a header without verifying the batch: for navigating batches already verified. */
export function readBatchHeader(buf: Buffer, position: number): BatchHeader {
  return {
    batchBytes: buf.readUInt32LE(position + BATCH_LENGTH_POSITION),
    baseOffset: readU64(buf, position + BASE_OFFSET_POSITION),
    timestampMs: readU64(buf, position + TIMESTAMP_POSITION),
    recordCount: buf.readUInt32LE(position + RECORD_COUNT_POSITION),
  };
}

/**
 * Asserts that the bytes at `position` are the header of a batch the writer just sealed as
 * `expected`: every field docs/FORMAT.md fixes, read back from the bytes. A programmer error
 * otherwise, never a disk error: called just before a batch is written. The write-side half of
 * a pair; the read-side half is verifyBatch when recovery reads the batch back. It runs for
 * every batch appended, so its messages are built only when an assertion fails.
 */
export function assertBatchHeader(buf: Buffer, position: number, expected: BatchHeader): void {
  const { batchBytes, baseOffset, timestampMs, recordCount } = readBatchHeader(buf, position);
  if (!(batchBytes === expected.batchBytes && batchBytes >= BATCH_HEADER_BYTES && batchBytes <= BATCH_STORED_BYTES_MAX))
    assert.fail(`batch length ${batchBytes}, expected ${expected.batchBytes}`);
  if (!(baseOffset === expected.baseOffset && timestampMs === expected.timestampMs))
    assert.fail(`batch stamped ${baseOffset}@${timestampMs}, expected ${expected.baseOffset}@${expected.timestampMs}`);
  if (!(recordCount === expected.recordCount && recordCount >= 1 && recordCount <= BATCH_RECORDS_MAX))
    assert.fail(`batch of ${recordCount} records, expected ${expected.recordCount}`);
  assert(
    buf.readUInt16LE(position + MAGIC_POSITION) === BATCH_MAGIC &&
      buf[position + VERSION_POSITION] === BATCH_VERSION &&
      attributesFit(buf, position),
    'batch magic, version, attributes or reserved field not as sealed',
  );
}

/** Plaintext: attributes and reserved 0; encrypted (batch_cipher.ts): attributes 1 and a data key number. */
function attributesFit(buf: Buffer, position: number): boolean {
  const attributes = buf[position + ATTRIBUTES_POSITION];
  const reserved = buf.readUInt32LE(position + RESERVED_POSITION);
  return attributes === 0 ? reserved === 0 : attributes === ATTRIBUTE_ENCRYPTED && reserved >= 1;
}

/**
 * Verifies the batch at `position` (bytes up to `limit` are available) against docs/FORMAT.md:
 * header fields, length, records filling it exactly, checksum. Returns its header, or null when
 * the bytes there are not a valid batch (a torn write, corruption, or the zeros past the end).
 * Contiguity with the previous batch is the caller's to check.
 */
export function verifyBatch(buf: Buffer, position: number, limit: number): BatchHeader | null {
  if (limit - position < BATCH_HEADER_BYTES) return null;
  const header = readBatchHeader(buf, position);
  const { batchBytes, recordCount } = header;
  if (batchBytes < BATCH_HEADER_BYTES || batchBytes > BATCH_STORED_BYTES_MAX || batchBytes > limit - position) return null;
  if (
    buf.readUInt16LE(position + MAGIC_POSITION) !== BATCH_MAGIC ||
    buf[position + VERSION_POSITION] !== BATCH_VERSION ||
    !attributesFit(buf, position) ||
    header.baseOffset < 0 ||
    header.timestampMs < 0 ||
    recordCount < 1 ||
    recordCount > BATCH_RECORDS_MAX
  ) {
    return null;
  }
  const batch = buf.subarray(position, position + batchBytes);
  if (checksum(batch.subarray(BATCH_LENGTH_POSITION)) !== batch.readBigUInt64LE(CHECKSUM_POSITION)) return null;
  // An encrypted batch's records are checked when they are opened (its tag), by the reader that holds the key.
  if (isEncrypted(batch, 0)) return batchBytes >= BATCH_HEADER_BYTES + ENCRYPTION_OVERHEAD_BYTES + RECORD_HEADER_BYTES + 1 ? header : null;
  return recordsFill(batch, recordCount) ? header : null;
}

/**
 * Whether `recordCount` valid records fill the batch exactly after its header: the check that
 * bytes encoded elsewhere (another thread, the network) are well formed before they are stored.
 */
export function recordsFill(batch: Buffer, recordCount: number): boolean {
  let position = BATCH_HEADER_BYTES;
  for (let i = 0; i < recordCount; i++) {
    if (batch.length - position < RECORD_HEADER_BYTES) return false;
    const flags = batch[position + RECORD_FLAGS_POSITION]!;
    if ((flags & ~FLAG_EXPLICIT_HASH_KEY) !== 0 || batch[position + RECORD_RESERVED_POSITION] !== 0) return false;
    const keyBytes = batch.readUInt16LE(position + RECORD_KEY_LENGTH_POSITION);
    const dataBytes = batch.readUInt32LE(position + RECORD_DATA_LENGTH_POSITION);
    if (keyBytes === 0 || keyBytes > PARTITION_KEY_BYTES_MAX || keyBytes + dataBytes > RECORD_PAYLOAD_BYTES_MAX) return false;
    position += RECORD_HEADER_BYTES + (flags === 0 ? 0 : HASH_KEY_BYTES) + keyBytes + dataBytes;
  }
  return position === batch.length;
}

/**
 * Calls `visit` for each record of the verified batch at `position` whose offset is at least
 * `fromOffset`. Data and hash keys are views into `buf`; only the partition key is decoded.
 */
export function forEachRecord(buf: Buffer, position: number, fromOffset: number, visit: (record: StoredRecord) => void): void {
  const { batchBytes, baseOffset, timestampMs, recordCount } = readBatchHeader(buf, position);
  const end = position + batchBytes;
  let cursor = position + BATCH_HEADER_BYTES;
  for (let i = 0; i < recordCount; i++) {
    const dataBytes = buf.readUInt32LE(cursor + RECORD_DATA_LENGTH_POSITION);
    const keyBytes = buf.readUInt16LE(cursor + RECORD_KEY_LENGTH_POSITION);
    const hasHashKey = (buf[cursor + RECORD_FLAGS_POSITION]! & FLAG_EXPLICIT_HASH_KEY) !== 0;
    const keyPosition = cursor + RECORD_HEADER_BYTES + (hasHashKey ? HASH_KEY_BYTES : 0);
    const dataPosition = keyPosition + keyBytes;
    cursor = dataPosition + dataBytes;
    if (cursor > end) throw new CorruptLogError(`record ${i} overruns its batch at position ${position}: the segment is damaged`);
    if (baseOffset + i < fromOffset) continue;
    visit({
      offset: baseOffset + i,
      timestampMs,
      partitionKey: buf.toString('utf8', keyPosition, dataPosition),
      data: buf.subarray(dataPosition, cursor),
      explicitHashKey: hasHashKey ? buf.subarray(keyPosition - HASH_KEY_BYTES, keyPosition) : undefined,
    });
  }
}

/** Where a walk over batches stopped: the next batch's position, its offset, bytes taken so far. */
export interface BatchWalk {
  readonly position: number;
  readonly nextOffset: number;
  readonly bytes: number;
}

/**
 * Takes whole batches from `walk.position` while they start below `endOffset` and fit in
 * `maxBytes` (the first batch of a read always does, so a reader always progresses). The
 * batches were verified when written or recovered: only their headers are read, and each must
 * hold the offset the walk expects there, else the segment (`segmentBaseOffset`) was damaged
 * on disk since, and the read is CorruptLog rather than wrong records.
 */
export function takeBatches(buf: Buffer, walk: BatchWalk, maxBytes: number, endOffset: number, segmentBaseOffset: number): BatchWalk {
  let { position, nextOffset, bytes } = walk;
  while (nextOffset < endOffset) {
    const header = readBatchHeader(buf, position);
    if (!walkable(header, nextOffset, position, buf.length, position === walk.position)) {
      throw new CorruptLogError(
        `segment ${segmentBaseOffset}: the batch at position ${position} does not hold offset ${nextOffset}; the segment is damaged (VerifyStream names its first bad batch)`,
      );
    }
    if (bytes > 0 && bytes + header.batchBytes > maxBytes) break;
    position += header.batchBytes;
    bytes += header.batchBytes;
    nextOffset = header.baseOffset + header.recordCount;
  }
  return { position, nextOffset, bytes };
}

/**
 * Whether a header read back from disk can be walked past: the expected offset (or, `inside`,
 * a batch that holds it: a read may start mid-batch), at least one record, a length that holds
 * its header and ends within `limitBytes`. Disk damage fails this (recovery stops there, a
 * trusted segment or a read is CorruptLog), so the asserts behind it never do.
 */
export function walkable(header: BatchHeader, expectedOffset: number, position: number, limitBytes: number, inside = false): boolean {
  const starts = inside
    ? header.baseOffset <= expectedOffset && expectedOffset < header.baseOffset + header.recordCount
    : header.baseOffset === expectedOffset;
  return starts && header.recordCount >= 1 && header.batchBytes >= BATCH_HEADER_BYTES && position + header.batchBytes <= limitBytes;
}
