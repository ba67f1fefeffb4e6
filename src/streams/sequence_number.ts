import { InvalidArgumentException } from '../errors.js';

/*
 * Sequence numbers: the external, Kinesis-style id of a record. A decimal string of exactly 56
 * digits (the width Kinesis uses) encoding the shard's serial number within its stream and the
 * record's offset in that shard's log:
 *
 *   sequenceNumber = SEQUENCE_BASE + shardSerial * 2^64 + offset
 *
 * - strictly increasing along a shard (the offset grows);
 * - unique in the stream (serials differ between shards);
 * - children above parents: a shard made by a split or merge gets a higher serial than every
 *   shard before it, and any offset is below 2^64;
 * - fixed width, so comparing the strings compares the numbers.
 * shardSerial is the number in the shard id (shardId-000000000007 has serial 7).
 */

const SEQUENCE_BASE = 4n * 10n ** 55n;
const OFFSET_SPAN = 1n << 64n;
/**
 * The largest serial a shard id's 12 digits hold; far below the ~3.25e36 at which
 * base + serial * 2^64 would pass 56 digits.
 */
export const SHARD_SERIAL_MAX = 999_999_999_999;
const DIGITS = 56;

export interface SequencePosition {
  readonly shardSerial: number;
  readonly offset: number;
}

export function encodeSequenceNumber(shardSerial: number, offset: number): string {
  if (!Number.isSafeInteger(shardSerial) || shardSerial < 0 || shardSerial > SHARD_SERIAL_MAX) {
    throw new RangeError(`shard serial out of range: ${shardSerial}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset out of range: ${offset}`);
  return (SEQUENCE_BASE + BigInt(shardSerial) * OFFSET_SPAN + BigInt(offset)).toString();
}

/** The low decimal digits of a sequence number, a safe integer: the part that varies along a batch. */
const LOW_DIGITS = 15;
const LOW_SPAN = 10 ** LOW_DIGITS;
const LOW_SPAN_BIG = BigInt(LOW_SPAN);
/** The last three digits of each record come from this table: one string concatenation a record. */
const LAST_DIGITS = 3;
const LAST_SPAN = 10 ** LAST_DIGITS;
const LAST = Array.from({ length: LAST_SPAN }, (_, i) => String(i).padStart(LAST_DIGITS, '0'));

/**
 * The sequence numbers of consecutive offsets from `baseOffset` in one shard, without a BigInt
 * per record (~1 us each on Node 20): the first 53 digits are formatted once every thousand
 * offsets, and each record appends its last three from a table.
 */
export class SequenceNumberRun {
  private high = '';
  private lowBase = 0;
  private base = 0;
  private prefix = '';
  private prefixLow = -1;

  constructor(
    private readonly shardSerial: number,
    baseOffset: number,
  ) {
    this.restart(baseOffset);
  }

  /** The sequence number of `offset` (at least the base offset). */
  at(offset: number): string {
    const low = this.lowBase + (offset - this.base);
    if (offset < this.base || low >= LOW_SPAN) {
      this.restart(offset);
      return this.at(offset);
    }
    const last = low % LAST_SPAN;
    const rest = low - last;
    if (rest !== this.prefixLow) {
      this.prefix = this.high + String(rest / LAST_SPAN).padStart(LOW_DIGITS - LAST_DIGITS, '0');
      this.prefixLow = rest;
    }
    return this.prefix + LAST[last]!;
  }

  private restart(offset: number): void {
    const value = BigInt(encodeSequenceNumber(this.shardSerial, offset));
    this.high = (value / LOW_SPAN_BIG).toString();
    this.lowBase = Number(value % LOW_SPAN_BIG);
    this.base = offset;
    this.prefixLow = -1;
  }
}

/** The shard and offset a sequence number names; InvalidArgumentException if it is not one of ours. */
export function decodeSequenceNumber(sequenceNumber: string, field = 'SequenceNumber'): SequencePosition {
  if (typeof sequenceNumber !== 'string' || sequenceNumber.length !== DIGITS || !/^\d+$/.test(sequenceNumber)) {
    throw new InvalidArgumentException(`${field} must be a sequence number this stream issued, got ${JSON.stringify(sequenceNumber)}`);
  }
  const value = BigInt(sequenceNumber) - SEQUENCE_BASE;
  if (value < 0n) throw new InvalidArgumentException(`${field} ${sequenceNumber} was not issued by this stream`);
  const offset = value % OFFSET_SPAN;
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InvalidArgumentException(`${field} ${sequenceNumber} names an offset out of range`);
  return { shardSerial: Number(value / OFFSET_SPAN), offset: Number(offset) };
}
