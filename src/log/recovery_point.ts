import fs from 'node:fs';
import path from 'node:path';
import { checksum } from './checksum.js';
import type { Storage } from '../native/storage.js';
import { writeFileDurably } from './durable_file.js';
import { RECOVERY_POINT_FILE } from './file_names.js';
import { readU64, writeU64 } from './u64.js';

/*
 * The recovery point (docs/FORMAT.md, "Recovery point"): how far the log is known to be on disk.
 *   0 checksum u64 (xxh64 of [8, 32)) | 8 magic u16 | 10 version u8 | 11 reserved u8 |
 *   12 position u32 | 16 segmentBaseOffset u64 | 24 nextOffset u64
 */
const CHECKSUM_POSITION = 0;
const MAGIC_POSITION = CHECKSUM_POSITION + 8;
const VERSION_POSITION = MAGIC_POSITION + 2;
const RESERVED_POSITION = VERSION_POSITION + 1;
const POSITION_POSITION = RESERVED_POSITION + 1;
const SEGMENT_BASE_POSITION = POSITION_POSITION + 4;
const NEXT_OFFSET_POSITION = SEGMENT_BASE_POSITION + 8;
export const RECOVERY_POINT_BYTES = NEXT_OFFSET_POSITION + 8;
const MAGIC = 0x5052;
const VERSION = 1;

/** A place in the log: the offset after the last record, and where that record's batch ends. */
export interface LogPosition {
  readonly nextOffset: number;
  readonly segmentBaseOffset: number;
  readonly positionBytes: number;
}

export function encodeRecoveryPoint(point: LogPosition): Buffer {
  const buf = Buffer.alloc(RECOVERY_POINT_BYTES);
  buf.writeUInt16LE(MAGIC, MAGIC_POSITION);
  buf.writeUInt8(VERSION, VERSION_POSITION);
  buf.writeUInt32LE(point.positionBytes, POSITION_POSITION);
  writeU64(buf, SEGMENT_BASE_POSITION, point.segmentBaseOffset);
  writeU64(buf, NEXT_OFFSET_POSITION, point.nextOffset);
  buf.writeBigUInt64LE(checksum(buf.subarray(MAGIC_POSITION)), CHECKSUM_POSITION);
  return buf;
}

/** The recovery point in `bytes`, or null when they are not a valid one. */
export function decodeRecoveryPoint(bytes: Buffer): LogPosition | null {
  if (bytes.length !== RECOVERY_POINT_BYTES) return null;
  if (checksum(bytes.subarray(MAGIC_POSITION)) !== bytes.readBigUInt64LE(CHECKSUM_POSITION)) return null;
  if (bytes.readUInt16LE(MAGIC_POSITION) !== MAGIC || bytes[VERSION_POSITION] !== VERSION || bytes[RESERVED_POSITION] !== 0) return null;
  const segmentBaseOffset = readU64(bytes, SEGMENT_BASE_POSITION);
  const nextOffset = readU64(bytes, NEXT_OFFSET_POSITION);
  if (segmentBaseOffset < 0 || nextOffset < segmentBaseOffset) return null;
  return { nextOffset, segmentBaseOffset, positionBytes: bytes.readUInt32LE(POSITION_POSITION) };
}

export function readRecoveryPoint(dir: string): LogPosition | null {
  try {
    return decodeRecoveryPoint(fs.readFileSync(path.join(dir, RECOVERY_POINT_FILE)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writeRecoveryPoint(dir: string, point: LogPosition, storage: Storage): Promise<void> {
  await writeFileDurably(dir, RECOVERY_POINT_FILE, encodeRecoveryPoint(point), storage);
}
