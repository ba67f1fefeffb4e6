import {
  HASH_KEY_BYTES,
  PARTITION_KEY_BYTES_MAX,
  PARTITION_KEY_CHARS_MAX,
  PUT_RECORDS_BYTES_MAX,
  PUT_RECORDS_RECORDS_MAX,
  RECORD_PAYLOAD_BYTES_MAX,
} from '../limits.js';
import { InvalidArgumentException, ValidationException } from '../errors.js';
import {
  FLAG_EXPLICIT_HASH_KEY,
  RECORD_DATA_LENGTH_POSITION,
  RECORD_FLAGS_POSITION,
  RECORD_HEADER_BYTES,
  RECORD_KEY_LENGTH_POSITION,
  RECORD_RESERVED_POSITION,
  recordBytesMax,
  viewOf,
  writeRecord,
} from '../log/record_batch.js';
import { hashKeysOf } from '../native/md5_keys.js';
import { checkHashKeys } from './hash_key_check.js';
import { HASH_KEY_WORDS, hashKeyBytes, parseHashKey, writeHashKeyWords } from '../streams/hash_key.js';
import type { PutRecordsRequestEntry } from '../streams/api_types.js';

export type { PutRecordsRequestEntry } from '../streams/api_types.js';

/**
 * How errors name an entry (by its number in the request, from 1) or one of its members: as the
 * operation has them, so a PutRecord is never told about a `Records.1` it does not have.
 */
export type EntryNames = (number: number, member?: string) => string;

/** PutRecords' entries: `Records.3`, `Records.3.ExplicitHashKey`. */
export const PUT_RECORDS_NAMES: EntryNames = (number, member) =>
  member === undefined ? `Records.${number}` : `Records.${number}.${member}`;
/** PutRecord's one record: its members by their own names, `ExplicitHashKey`. */
export const PUT_RECORD_NAMES: EntryNames = (_, member) => member ?? 'the record';

/** A PutRecords request at its limits: 5 MiB of keys and data, and each record's header and hash key. */
const STAGING_BYTES_MAX = PUT_RECORDS_BYTES_MAX + PUT_RECORDS_RECORDS_MAX * (RECORD_HEADER_BYTES + HASH_KEY_BYTES);
const STAGING_BYTES_INITIAL = 256 * 1024;

/**
 * One put request's records, encoded once, in request order, in their final on-disk form
 * (docs/FORMAT.md, "Record"), with what routing and limits need per record: its 128-bit hash
 * key as four u32 words and its payload (key + data) bytes.
 *
 * The engine stages a request, routes each record, and copies each shard's records into that
 * shard's batch (ShardAppender), all in one synchronous step: so one staging area, reused for
 * every request, is enough. Bounded by PutRecords' limits: 500 records, 5 MiB.
 */
export class PutStaging {
  private buffer = Buffer.allocUnsafeSlow(STAGING_BYTES_INITIAL);
  private view = viewOf(this.buffer);
  /** The staged records: this.buffer, or the caller's bytes when they came encoded. */
  private source: Buffer = this.buffer;
  /** Record i is bytes [recordStarts[i], recordStarts[i + 1]). */
  readonly recordStarts = new Uint32Array(PUT_RECORDS_RECORDS_MAX + 1);
  readonly hashKeyWords = new Uint32Array(PUT_RECORDS_RECORDS_MAX * HASH_KEY_WORDS);
  readonly payloadBytes = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
  private readonly keyStarts = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
  private readonly keyEnds = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
  private stagedCount = 0;

  get count(): number {
    return this.stagedCount;
  }

  get bytes(): Buffer {
    return this.source;
  }

  /**
   * Validates and encodes the entries (ValidationException naming the first bad one, by its
   * number in the request, `numbers[i]` or i + 1, as `names` says; nothing is kept) and
   * computes their hash keys.
   */
  stage(entries: readonly PutRecordsRequestEntry[], numbers?: readonly number[], names: EntryNames = PUT_RECORDS_NAMES): void {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > PUT_RECORDS_RECORDS_MAX) {
      throw new ValidationException(`Records must hold 1 to ${PUT_RECORDS_RECORDS_MAX} entries`);
    }
    let position = 0;
    let totalBytes = 0;
    let explicitCount = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const number = numbers?.[i] ?? i + 1;
      const key = checkEntry(entry, number, names);
      // Before encoding, so a request far over the limit is refused without staging it all:
      // key.length (UTF-16 units) is at most its UTF-8 byte count.
      if (totalBytes + key.length + entry.Data.length > PUT_RECORDS_BYTES_MAX) throw tooBig(totalBytes + key.length + entry.Data.length);
      const explicit =
        entry.ExplicitHashKey === undefined ? undefined : parseHashKey(entry.ExplicitHashKey, names(number, 'ExplicitHashKey'));
      this.ensureCapacity(position + recordBytesMax(key, entry.Data));
      this.recordStarts[i] = position;
      const end = writeRecord(
        this.buffer,
        this.view,
        position,
        key,
        entry.Data,
        explicit === undefined ? undefined : hashKeyBytes(explicit),
      );
      const keyBytes = this.view.getUint16(position + RECORD_KEY_LENGTH_POSITION, true);
      const payload = keyBytes + entry.Data.length;
      if (payload > RECORD_PAYLOAD_BYTES_MAX)
        throw new ValidationException(
          `${names(number)}: partition key and data are ${payload} bytes, more than ${RECORD_PAYLOAD_BYTES_MAX}`,
        );
      this.payloadBytes[i] = payload;
      totalBytes += payload;
      this.keyStarts[i] = end - payload;
      this.keyEnds[i] = end - entry.Data.length;
      if (explicit !== undefined) {
        writeHashKeyWords(explicit, this.hashKeyWords, i * HASH_KEY_WORDS);
        explicitCount++;
      }
      position = end;
    }
    if (totalBytes > PUT_RECORDS_BYTES_MAX) throw tooBig(totalBytes);
    this.recordStarts[entries.length] = position;
    this.stagedCount = entries.length;
    this.source = this.buffer;
    if (explicitCount === 0) {
      hashKeysOf(this.buffer, this.keyStarts.subarray(0, entries.length), this.keyEnds.subarray(0, entries.length), this.hashKeyWords);
    } else {
      this.hashImplicit(entries);
    }
  }

  /**
   * Stages records that arrive encoded (docs/PROTOCOL.md, PUT): `records` holds `count` records
   * in the on-disk layout, `hashKeys` their big-endian routing keys. Checks every field as
   * stage() does (ValidationException naming the record, nothing kept) and uses the bytes in
   * place, without a copy. A record with an explicit hash key is routed by that key.
   */
  stageEncoded(records: Uint8Array, count: number, hashKeys: Uint8Array): void {
    if (!Number.isSafeInteger(count) || count < 1 || count > PUT_RECORDS_RECORDS_MAX)
      throw new ValidationException(`Records must hold 1 to ${PUT_RECORDS_RECORDS_MAX} entries`);
    if (hashKeys.length !== count * HASH_KEY_BYTES)
      throw new ValidationException(`a put of ${count} records needs ${count * HASH_KEY_BYTES} bytes of hash keys`);
    const source = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
    const keys = Buffer.from(hashKeys.buffer, hashKeys.byteOffset, hashKeys.byteLength);
    let position = 0;
    let totalBytes = 0;
    for (let i = 0; i < count; i++) {
      this.recordStarts[i] = position;
      const record = checkEncodedRecord(source, position, i + 1);
      this.payloadBytes[i] = record.payloadBytes;
      totalBytes += record.payloadBytes;
      if (totalBytes > PUT_RECORDS_BYTES_MAX) throw tooBig(totalBytes);
      const words = i * HASH_KEY_WORDS;
      if (record.explicitAt < 0) {
        for (let w = 0; w < HASH_KEY_WORDS; w++) this.hashKeyWords[words + w] = keys.readUInt32BE(i * HASH_KEY_BYTES + 4 * w);
      } else {
        // Stored little-endian: the most significant word is the last four bytes.
        for (let w = 0; w < HASH_KEY_WORDS; w++) this.hashKeyWords[words + w] = source.readUInt32LE(record.explicitAt + 12 - 4 * w);
      }
      position = record.end;
    }
    if (position !== source.length) throw new ValidationException(`the ${count} records end at byte ${position} of ${source.length}`);
    checkHashKeys(source, this.recordStarts, count, this.hashKeyWords);
    this.recordStarts[count] = position;
    this.stagedCount = count;
    this.source = source;
  }

  /** Hashes the keys of the entries without an ExplicitHashKey (theirs are already in place). */
  private hashImplicit(entries: readonly PutRecordsRequestEntry[]): void {
    const implicit = entries.flatMap((entry, i) => (entry.ExplicitHashKey === undefined ? [i] : []));
    const starts = Uint32Array.from(implicit, (i) => this.keyStarts[i]!);
    const ends = Uint32Array.from(implicit, (i) => this.keyEnds[i]!);
    const words = new Uint32Array(implicit.length * HASH_KEY_WORDS);
    hashKeysOf(this.buffer, starts, ends, words);
    implicit.forEach((i, j) => this.hashKeyWords.set(words.subarray(j * HASH_KEY_WORDS, (j + 1) * HASH_KEY_WORDS), i * HASH_KEY_WORDS));
  }

  private ensureCapacity(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.min(STAGING_BYTES_MAX * 2, Math.max(bytes, this.buffer.length * 2)));
    this.buffer.copy(grown);
    this.buffer = grown;
    this.view = viewOf(grown);
  }
}

const keyDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks one encoded record at `position` against docs/FORMAT.md and Kinesis' limits: header
 * fields, lengths within the buffer, a partition key of 1..256 characters of valid UTF-8, key
 * and data within 1 MiB. Returns where it ends, its payload bytes and where its explicit hash
 * key is (-1 without one).
 */
function checkEncodedRecord(source: Buffer, position: number, number: number): { end: number; payloadBytes: number; explicitAt: number } {
  if (source.length - position < RECORD_HEADER_BYTES) throw new ValidationException(`Records.${number}: the record is cut short`);
  const dataBytes = source.readUInt32LE(position + RECORD_DATA_LENGTH_POSITION);
  const keyBytes = source.readUInt16LE(position + RECORD_KEY_LENGTH_POSITION);
  const flags = source[position + RECORD_FLAGS_POSITION]!;
  if ((flags & ~FLAG_EXPLICIT_HASH_KEY) !== 0 || source[position + RECORD_RESERVED_POSITION] !== 0)
    throw new ValidationException(`Records.${number}: unknown record flags`);
  const explicitAt = flags === 0 ? -1 : position + RECORD_HEADER_BYTES;
  const keyStart = position + RECORD_HEADER_BYTES + (flags === 0 ? 0 : HASH_KEY_BYTES);
  const end = keyStart + keyBytes + dataBytes;
  if (end > source.length) throw new ValidationException(`Records.${number}: the record runs past the end of the put`);
  if (keyBytes === 0 || keyBytes > PARTITION_KEY_BYTES_MAX)
    throw keyLengthError(number, source.toString('utf8', keyStart, keyStart + keyBytes));
  if (keyBytes + dataBytes > RECORD_PAYLOAD_BYTES_MAX)
    throw new ValidationException(
      `Records.${number}: partition key and data are ${keyBytes + dataBytes} bytes, more than ${RECORD_PAYLOAD_BYTES_MAX}`,
    );
  checkKeyText(source, keyStart, keyStart + keyBytes, number);
  return { end, payloadBytes: keyBytes + dataBytes, explicitAt };
}

/** ASCII keys (the common case) are checked by a byte loop; others are decoded strictly. */
function checkKeyText(source: Buffer, start: number, end: number, number: number): void {
  let ascii = true;
  for (let i = start; i < end && ascii; i++) ascii = source[i]! < 0x80;
  if (ascii) {
    if (end - start > PARTITION_KEY_CHARS_MAX) throw keyLengthError(number, source.toString('utf8', start, end));
    return;
  }
  let key: string;
  try {
    key = keyDecoder.decode(source.subarray(start, end));
  } catch {
    throw new ValidationException(`Records.${number}.PartitionKey is not valid UTF-8`);
  }
  // Characters as the Kinesis model counts them (UTF-16 units), as every other door does.
  if (key.length > PARTITION_KEY_CHARS_MAX) throw keyLengthError(number, key);
}

/** A partition key of a PUT frame outside 1..256 characters, in the words of the request validation. */
function keyLengthError(number: number, key: string): ValidationException {
  const constraint =
    key.length === 0
      ? 'Member must have length greater than or equal to 1'
      : `Member must have length less than or equal to ${PARTITION_KEY_CHARS_MAX}`;
  return new ValidationException(
    `1 validation error detected: Value '${key}' at 'records.${number}.member.partitionKey' failed to satisfy constraint: ${constraint}`,
  );
}

/** As Kinesis answers a request over 5 MiB: InvalidArgumentException, not a validation error. */
function tooBig(bytes: number): InvalidArgumentException {
  return new InvalidArgumentException(`Records hold at least ${bytes} bytes of keys and data, more than ${PUT_RECORDS_BYTES_MAX}`);
}

/** Checks an entry's fields; returns its partition key. */
function checkEntry(entry: PutRecordsRequestEntry, number: number, names: EntryNames): string {
  const key = entry?.PartitionKey;
  // A UTF-16 unit count of 256 or less cannot hold more than 256 code points; above 512 it
  // must hold more. Only the range between needs counting.
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    (key.length > PARTITION_KEY_CHARS_MAX && (key.length > 2 * PARTITION_KEY_CHARS_MAX || [...key].length > PARTITION_KEY_CHARS_MAX))
  ) {
    throw new ValidationException(`${names(number, 'PartitionKey')} must be 1 to ${PARTITION_KEY_CHARS_MAX} characters`);
  }
  if (!(entry.Data instanceof Uint8Array)) throw new ValidationException(`${names(number, 'Data')} must be bytes (a Uint8Array)`);
  if (entry.Data.length > RECORD_PAYLOAD_BYTES_MAX)
    throw new ValidationException(`${names(number)}: partition key and data exceed ${RECORD_PAYLOAD_BYTES_MAX} bytes`);
  return key;
}
