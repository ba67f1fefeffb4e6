import { InvalidArgumentException, ValidationException } from '../errors.js';
import { HASH_KEY_BYTES, RECORD_KEY_LENGTH_POSITION, RECORD_PAYLOAD_BYTES_MAX, recordBytesMax, viewOf, writeRecord } from '../log/record_batch.js';
import { HASH_KEY_WORDS, hashKeyBytes, hashKeysOf, parseHashKey, writeHashKeyWords } from './hash_key.js';
import { PUT_RECORDS_BYTES_MAX, PUT_RECORDS_RECORDS_MAX } from './kinesis_shapes.js';

export interface PutRecordsRequestEntry {
  readonly Data: Uint8Array;
  readonly PartitionKey: string;
  readonly ExplicitHashKey?: string | undefined;
}

const PARTITION_KEY_CHARS_MAX = 256;
/** A PutRecords request at its limits: 5 MiB of keys and data, and each record's header and hash key. */
const STAGING_BYTES_MAX = PUT_RECORDS_BYTES_MAX + PUT_RECORDS_RECORDS_MAX * (16 + HASH_KEY_BYTES);
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
    return this.buffer;
  }

  /**
   * Validates and encodes the entries (ValidationException naming the first bad one, by its
   * number in the request, `numbers[i]` or i + 1; nothing is kept) and computes their hash keys.
   */
  stage(entries: readonly PutRecordsRequestEntry[], numbers?: readonly number[]): void {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > PUT_RECORDS_RECORDS_MAX) {
      throw new ValidationException(`Records must hold 1 to ${PUT_RECORDS_RECORDS_MAX} entries`);
    }
    let position = 0;
    let totalBytes = 0;
    let explicitCount = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const number = numbers?.[i] ?? i + 1;
      const key = checkEntry(entry, number);
      // Before encoding, so a request far over the limit is refused without staging it all:
      // key.length (UTF-16 units) is at most its UTF-8 byte count.
      if (totalBytes + key.length + entry.Data.length > PUT_RECORDS_BYTES_MAX) throw tooBig(totalBytes + key.length + entry.Data.length);
      const explicit = entry.ExplicitHashKey === undefined ? undefined : parseHashKey(entry.ExplicitHashKey, `Records.${number}.ExplicitHashKey`);
      this.ensureCapacity(position + recordBytesMax(key, entry.Data));
      this.recordStarts[i] = position;
      const end = writeRecord(this.buffer, this.view, position, key, entry.Data, explicit === undefined ? undefined : hashKeyBytes(explicit));
      const keyBytes = this.view.getUint16(position + RECORD_KEY_LENGTH_POSITION, true);
      const payload = keyBytes + entry.Data.length;
      if (payload > RECORD_PAYLOAD_BYTES_MAX) throw new ValidationException(`Records.${number}: partition key and data are ${payload} bytes, more than ${RECORD_PAYLOAD_BYTES_MAX}`);
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
    if (explicitCount === 0) {
      hashKeysOf(this.buffer, this.keyStarts.subarray(0, entries.length), this.keyEnds.subarray(0, entries.length), this.hashKeyWords);
    } else {
      this.hashImplicit(entries);
    }
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

/** As Kinesis answers a request over 5 MiB: InvalidArgumentException, not a validation error. */
function tooBig(bytes: number): InvalidArgumentException {
  return new InvalidArgumentException(`Records hold at least ${bytes} bytes of keys and data, more than ${PUT_RECORDS_BYTES_MAX}`);
}

/** Checks an entry's fields; returns its partition key. */
function checkEntry(entry: PutRecordsRequestEntry, number: number): string {
  const key = entry?.PartitionKey;
  // A UTF-16 unit count of 256 or less cannot hold more than 256 code points; above 512 it
  // must hold more. Only the range between needs counting.
  if (typeof key !== 'string' || key.length === 0 || (key.length > PARTITION_KEY_CHARS_MAX && (key.length > 2 * PARTITION_KEY_CHARS_MAX || [...key].length > PARTITION_KEY_CHARS_MAX))) {
    throw new ValidationException(`Records.${number}.PartitionKey must be 1 to ${PARTITION_KEY_CHARS_MAX} characters`);
  }
  if (!(entry.Data instanceof Uint8Array)) throw new ValidationException(`Records.${number}.Data must be bytes (a Uint8Array)`);
  if (entry.Data.length > RECORD_PAYLOAD_BYTES_MAX) throw new ValidationException(`Records.${number}: partition key and data exceed ${RECORD_PAYLOAD_BYTES_MAX} bytes`);
  return key;
}
