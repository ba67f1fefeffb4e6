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

/** The shard and offset a sequence number names; InvalidArgumentException if it is not one of ours. */
export function decodeSequenceNumber(sequenceNumber: string, field = 'SequenceNumber'): SequencePosition {
  if (typeof sequenceNumber !== 'string' || sequenceNumber.length !== DIGITS || !/^\d+$/.test(sequenceNumber)) {
    throw new InvalidArgumentException(`${field} must be a sequence number this stream issued, got ${JSON.stringify(sequenceNumber)}`);
  }
  const value = BigInt(sequenceNumber) - SEQUENCE_BASE;
  if (value < 0n) throw new InvalidArgumentException(`${field} ${sequenceNumber} was not issued by this stream`);
  const offset = value % OFFSET_SPAN;
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentException(`${field} ${sequenceNumber} names an offset out of range`);
  return { shardSerial: Number(value / OFFSET_SPAN), offset: Number(offset) };
}
