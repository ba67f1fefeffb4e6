/*
 * The layout of a record batch and of a record (docs/FORMAT.md), as named field positions, each
 * derived from the previous one. Constants only, and the limits they are bound by (src/limits.ts,
 * pure too): the network codecs, which run in browsers too, share them with the log.
 *
 *   0 checksum u64 | 8 batchLength u32 | 12 magic u16 | 14 version u8 | 15 attributes u8 |
 *   16 baseOffset u64 | 24 timestampMs u64 | 32 recordCount u32 | 36 reserved u32 | 40 records
 *
 * A record: 0 dataLength u32 | 4 keyLength u16 | 6 flags u8 | 7 reserved u8 |
 *           8 [explicitHashKey 16 bytes if flags bit 0] | partitionKey | data
 */

export {
  BATCH_BYTES_MAX,
  BATCH_RECORDS_MAX,
  HASH_KEY_BYTES,
  PARTITION_KEY_BYTES_MAX,
  PARTITION_KEY_CHARS_MAX,
  RECORD_PAYLOAD_BYTES_MAX,
} from '../limits.js';

export const CHECKSUM_POSITION = 0;
export const BATCH_LENGTH_POSITION = CHECKSUM_POSITION + 8;
export const MAGIC_POSITION = BATCH_LENGTH_POSITION + 4;
export const VERSION_POSITION = MAGIC_POSITION + 2;
export const ATTRIBUTES_POSITION = VERSION_POSITION + 1;
export const BASE_OFFSET_POSITION = ATTRIBUTES_POSITION + 1;
export const TIMESTAMP_POSITION = BASE_OFFSET_POSITION + 8;
export const RECORD_COUNT_POSITION = TIMESTAMP_POSITION + 8;
export const RESERVED_POSITION = RECORD_COUNT_POSITION + 4;
export const BATCH_HEADER_BYTES = RESERVED_POSITION + 4;

export const BATCH_MAGIC = 0x4c53;
export const BATCH_VERSION = 1;

export const RECORD_DATA_LENGTH_POSITION = 0;
export const RECORD_KEY_LENGTH_POSITION = RECORD_DATA_LENGTH_POSITION + 4;
export const RECORD_FLAGS_POSITION = RECORD_KEY_LENGTH_POSITION + 2;
export const RECORD_RESERVED_POSITION = RECORD_FLAGS_POSITION + 1;
export const RECORD_HEADER_BYTES = RECORD_RESERVED_POSITION + 1;
export const FLAG_EXPLICIT_HASH_KEY = 0x01;
