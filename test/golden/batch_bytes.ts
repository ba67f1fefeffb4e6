import { xxh64 } from './xxh64.js';

/*
 * A record batch written byte by byte from docs/FORMAT.md ("Record batch", "Record"), not by
 * the code it checks: the log's golden test and the wire's RECORDS and EVENT tests read it.
 * Each line is one field, named with its position as FORMAT.md gives it. Its values are picked
 * to catch the likely slips: a baseOffset above 2^32 needs both halves of the u64, a 2-byte
 * UTF-8 key tells bytes from characters, and empty data ends the batch on a key.
 */

/** The bytes of hex strings, one string per field. */
export function hex(...fields: string[]): Buffer {
  return Buffer.from(fields.join(''), 'hex');
}

/** The 64-bit integer as 8 little-endian bytes. */
export function u64le(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
}

/** Puts the checksum FORMAT.md asks for in front: xxh64 of [8, batchLength), all that follows it. */
export function withChecksum(afterChecksum: Buffer): Buffer {
  return Buffer.concat([u64le(xxh64(afterChecksum)), afterChecksum]);
}

export const GOLDEN_BASE_OFFSET = 0x1_0000_0002;
export const GOLDEN_TIMESTAMP_MS = 1_700_000_000_123;
/** 2^127 + 1: a high bit and a low bit, so a reversed or truncated key shows. */
export const GOLDEN_HASH_KEY = hex('01000000000000000000000000000080');

/** Batch positions [8, 78): every field after the checksum. */
export const GOLDEN_BATCH_AFTER_CHECKSUM = hex(
  '4e000000', // 8 batchLength: 78, the header included
  '534c', // 12 magic 0x4C53, little-endian: the bytes S, L
  '01', // 14 version
  '00', // 15 attributes
  '0200000001000000', // 16 baseOffset 0x1_0000_0002
  '7b68e5cf8b010000', // 24 timestampMs 1,700,000,000,123 = 0x18B_CFE5687B
  '02000000', // 32 recordCount
  '00000000', // 36 reserved
  // record 0 at batch position 40
  '03000000', // 40 + 0 dataLength
  '0100', // 40 + 4 keyLength
  '00', // 40 + 6 flags: no explicit hash key
  '00', // 40 + 7 reserved
  '61', // 40 + 8 partitionKey "a"
  '78797a', // 40 + 9 data "xyz"
  // record 1 at batch position 52
  '00000000', // 52 + 0 dataLength
  '0200', // 52 + 4 keyLength: "é" is 2 bytes of UTF-8
  '01', // 52 + 6 flags: bit 0, an explicit hash key follows
  '00', // 52 + 7 reserved
  '01000000000000000000000000000080', // 52 + 8 explicitHashKey 2^127 + 1, little-endian
  'c3a9', // 52 + 24 partitionKey "é"; no data follows
);

/** The whole batch: positions [0, 8) hold the checksum of the rest. */
export const GOLDEN_BATCH = withChecksum(GOLDEN_BATCH_AFTER_CHECKSUM);
