import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksum } from '../../src/log/checksum.js';
import { RECOVERY_POINT_FILE } from '../../src/log/file_names.js';
import { RECOVERY_POINT_BYTES, decodeRecoveryPoint, encodeRecoveryPoint, readRecoveryPoint } from '../../src/log/recovery_point.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: each check of a recovery point (docs/FORMAT.md) refuses a point on its own, so recovery
// never trusts a damaged one (it falls back to verifying everything), and a good point, an empty
// segment's included, is read as written.
// Method: a point encoded by the code, then one field changed at a time with the checksum
// computed again, so that only that field's check can refuse it.

const POINT = { nextOffset: 5_000_000_123, segmentBaseOffset: 5_000_000_000, positionBytes: 77_000 };

/** The point with `change` applied to its bytes and its checksum made right again. */
function resealed(change: (bytes: Buffer) => void): Buffer {
  const bytes = encodeRecoveryPoint(POINT);
  change(bytes);
  bytes.writeBigUInt64LE(checksum(bytes.subarray(8)), 0);
  return bytes;
}

describe('recovery point', () => {
  it('reads back what was written, also for an empty active segment', () => {
    expect(decodeRecoveryPoint(encodeRecoveryPoint(POINT))).toEqual(POINT);
    const empty = { nextOffset: 9, segmentBaseOffset: 9, positionBytes: 0 };
    expect(decodeRecoveryPoint(encodeRecoveryPoint(empty))).toEqual(empty);
  });

  it('refuses a wrong length, a flipped bit under the checksum, and each fixed field on its own', () => {
    const good = encodeRecoveryPoint(POINT);
    expect(decodeRecoveryPoint(good.subarray(0, RECOVERY_POINT_BYTES - 1))).toBeNull();
    expect(decodeRecoveryPoint(Buffer.concat([good, Buffer.alloc(1)]))).toBeNull();
    for (let byte = 0; byte < RECOVERY_POINT_BYTES; byte++) {
      const flipped = Buffer.from(good);
      flipped[byte]! ^= 0x04;
      expect(decodeRecoveryPoint(flipped), `bit flipped in byte ${byte}`).toBeNull();
    }
    expect(decodeRecoveryPoint(resealed((bytes) => bytes.writeUInt16LE(0x5053, 8))), 'magic').toBeNull();
    expect(decodeRecoveryPoint(resealed((bytes) => (bytes[10] = 2))), 'version').toBeNull();
    expect(decodeRecoveryPoint(resealed((bytes) => (bytes[11] = 1))), 'reserved').toBeNull();
    const backwards = resealed((bytes) => bytes.writeBigUInt64LE(BigInt(POINT.segmentBaseOffset - 1), 24));
    expect(decodeRecoveryPoint(backwards), 'next offset before the segment base').toBeNull();
  });

  it('is absent when there is no file, and an unreadable one is an error, not "no point"', () => {
    const dir = tempDir();
    expect(readRecoveryPoint(dir)).toBeNull();
    fs.mkdirSync(path.join(dir, RECOVERY_POINT_FILE));
    expect(() => readRecoveryPoint(dir)).toThrow(/EISDIR/);
  });
});
