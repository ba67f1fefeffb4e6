import { describe, expect, it } from 'vitest';
import { BatchBuilder, forEachRecord, verifyBatch, type StoredRecord } from '../../src/log/record_batch.js';
import {
  GOLDEN_BASE_OFFSET,
  GOLDEN_BATCH,
  GOLDEN_BATCH_AFTER_CHECKSUM,
  GOLDEN_HASH_KEY,
  GOLDEN_TIMESTAMP_MS,
  withChecksum,
} from './batch_bytes.js';
import { xxh64 } from './xxh64.js';

// Goal: the log writes and reads record batches as docs/FORMAT.md lays them out, judged against
// bytes written from the document (./batch_bytes.ts) with a checksum from an xxh64 of our own,
// so a slip shared by the encoder and the decoder cannot pass.

function recordsOf(batch: Buffer): StoredRecord[] {
  const records: StoredRecord[] = [];
  forEachRecord(batch, 0, 0, (record) => records.push(record));
  return records;
}

/** The golden batch with one byte set to `value`, its checksum made right again. */
function withByte(position: number, value: number): Buffer {
  const afterChecksum = Buffer.from(GOLDEN_BATCH_AFTER_CHECKSUM);
  afterChecksum[position - 8] = value;
  return withChecksum(afterChecksum);
}

describe('golden record batch (docs/FORMAT.md)', () => {
  it('checksums exactly bytes [8, batchLength) with xxh64', () => {
    expect(GOLDEN_BATCH.readBigUInt64LE(0)).toBe(xxh64(GOLDEN_BATCH.subarray(8, GOLDEN_BATCH.readUInt32LE(8))));
  });

  it('is what BatchBuilder seals, byte for byte', () => {
    const builder = new BatchBuilder();
    builder.encode([
      { partitionKey: 'a', data: Buffer.from('xyz') },
      { partitionKey: 'é', data: Buffer.alloc(0), explicitHashKey: GOLDEN_HASH_KEY },
    ]);
    expect(builder.seal(GOLDEN_BASE_OFFSET, GOLDEN_TIMESTAMP_MS).toString('hex')).toBe(GOLDEN_BATCH.toString('hex'));
  });

  it('verifies, with the header fields read from their positions', () => {
    expect(verifyBatch(GOLDEN_BATCH, 0, GOLDEN_BATCH.length)).toEqual({
      batchBytes: 78,
      baseOffset: GOLDEN_BASE_OFFSET,
      timestampMs: GOLDEN_TIMESTAMP_MS,
      recordCount: 2,
    });
  });

  it('decodes every field of both records', () => {
    const [first, second, ...rest] = recordsOf(GOLDEN_BATCH).map((record) => ({
      ...record,
      data: record.data.toString('hex'),
      explicitHashKey: record.explicitHashKey?.toString('hex'),
    }));
    expect(rest).toEqual([]);
    const common = { timestampMs: GOLDEN_TIMESTAMP_MS };
    expect(first).toEqual({ ...common, offset: GOLDEN_BASE_OFFSET, partitionKey: 'a', data: '78797a', explicitHashKey: undefined });
    expect(second).toEqual({
      ...common,
      offset: GOLDEN_BASE_OFFSET + 1,
      partitionKey: 'é',
      data: '',
      explicitHashKey: GOLDEN_HASH_KEY.toString('hex'),
    });
  });

  it('rejects a checksum one off, and one byte of data changed under the checksum', () => {
    const checksumOff = Buffer.from(GOLDEN_BATCH);
    checksumOff.writeBigUInt64LE(GOLDEN_BATCH.readBigUInt64LE(0) ^ 1n, 0);
    const dataFlipped = Buffer.from(GOLDEN_BATCH);
    dataFlipped[51]! ^= 0xff; // the "z" of record 0's data, which only the checksum covers
    expect(verifyBatch(checksumOff, 0, checksumOff.length)).toBeNull();
    expect(verifyBatch(dataFlipped, 0, dataFlipped.length)).toBeNull();
  });

  // The checksum is made right again in each case, so only the field's own check can refuse it.
  it.each([
    ['magic', 12, 0x54],
    ['version', 14, 2],
    ['attributes', 15, 1],
    ['reserved, first byte', 36, 1],
    ['reserved, last byte', 39, 0x80],
    ['recordCount', 32, 1],
    ['record 0 flags', 46, 2],
    ['record 0 reserved', 47, 1],
    ['record 1 reserved', 59, 1],
  ])('rejects a batch whose %s (position %i) is not as FORMAT.md fixes it', (_field, position, value) => {
    const unchanged = withByte(position, GOLDEN_BATCH[position]!);
    const changed = withByte(position, value);
    expect(verifyBatch(unchanged, 0, unchanged.length)).not.toBeNull();
    expect(verifyBatch(changed, 0, changed.length)).toBeNull();
  });
});
