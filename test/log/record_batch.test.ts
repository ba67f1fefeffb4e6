import { RECORD_PAYLOAD_BYTES_MAX } from '../../src/limits.js';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import {
  BATCH_HEADER_BYTES,
  BatchBuilder,
  forEachRecord,
  readBatchHeader,
  verifyBatch,
  type StoredRecord,
} from '../../src/log/record_batch.js';
import { GOLDEN_BATCH } from '../golden/batch_bytes.js';

// The batch written from docs/FORMAT.md; test/golden/record_batch.test.ts checks it field by field.
const fixture = GOLDEN_BATCH;

function recordsOf(batch: Buffer, fromOffset = 0): StoredRecord[] {
  const records: StoredRecord[] = [];
  forEachRecord(batch, 0, fromOffset, (record) => records.push(record));
  return records;
}

describe('record batch format', () => {
  it('verifies and decodes the golden batch, with data as views', () => {
    const header = verifyBatch(fixture, 0, fixture.length);
    expect(header).toEqual({ batchBytes: 78, baseOffset: 0x1_0000_0002, timestampMs: 1_700_000_000_123, recordCount: 2 });
    const [first, second] = recordsOf(fixture);
    expect(first).toMatchObject({ offset: 0x1_0000_0002, partitionKey: 'a', explicitHashKey: undefined });
    expect(first!.data.toString()).toBe('xyz');
    expect(first!.data.buffer).toBe(fixture.buffer);
    expect(second).toMatchObject({ offset: 0x1_0000_0003, partitionKey: 'é', timestampMs: 1_700_000_000_123 });
    expect([...second!.explicitHashKey!]).toEqual([1, ...new Array(14).fill(0), 0x80]);
  });

  it('skips records below fromOffset inside a batch', () => {
    expect(recordsOf(fixture, 0x1_0000_0003).map((r) => r.partitionKey)).toEqual(['é']);
  });

  it('rejects every single-bit flip anywhere in the batch', () => {
    for (let bit = 0; bit < fixture.length * 8; bit++) {
      const copy = Buffer.from(fixture);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifyBatch(copy, 0, copy.length), `bit ${bit}`).toBeNull();
    }
  });

  it('rejects a batch cut short at any byte, and zeros', () => {
    for (let length = 0; length < fixture.length; length++) {
      expect(verifyBatch(fixture.subarray(0, length), 0, length)).toBeNull();
    }
    expect(verifyBatch(Buffer.alloc(100), 0, 100)).toBeNull();
  });
});

describe('BatchBuilder input checks', () => {
  const builder = new BatchBuilder();
  const encode = (records: unknown): void => builder.encode(records as never);

  it.each([
    ['no records', []],
    ['an empty partition key', [{ partitionKey: '', data: Buffer.alloc(1) }]],
    ['a partition key that is not a string', [{ partitionKey: 5, data: Buffer.alloc(1) }]],
    ['a 257-character key', [{ partitionKey: 'k'.repeat(257), data: Buffer.alloc(1) }]],
    ['data that is not bytes', [{ partitionKey: 'k', data: 'text' }]],
    ['a 15-byte hash key', [{ partitionKey: 'k', data: Buffer.alloc(1), explicitHashKey: Buffer.alloc(15) }]],
    ['key and data over 1 MiB', [{ partitionKey: 'kk', data: Buffer.alloc(RECORD_PAYLOAD_BYTES_MAX - 1) }]],
    ['a null record', [null]],
  ])('rejects %s with InvalidArgumentException', (_name, records) => {
    expect(() => encode(records)).toThrow(InvalidArgumentException);
  });

  it('accepts the limits exactly: 256 characters of 4-byte UTF-8, 1 MiB of key and data', () => {
    const emojiKey = '😀'.repeat(256); // 512 UTF-16 units, 256 code points, 1,024 bytes
    builder.encode([{ partitionKey: emojiKey, data: Buffer.alloc(RECORD_PAYLOAD_BYTES_MAX - 1024) }]);
    const batch = builder.seal(0, 1);
    expect(verifyBatch(batch, 0, batch.length)).not.toBeNull();
    expect(recordsOf(batch)[0]!.partitionKey).toBe(emojiKey);
  });

  it('rejects an append past the batch limit and keeps working afterwards', () => {
    const big = { partitionKey: 'k', data: Buffer.alloc(RECORD_PAYLOAD_BYTES_MAX - 1) };
    expect(() => builder.encode(new Array(17).fill(big))).toThrow(/batch limit/);
    builder.encode([{ partitionKey: 'k', data: Buffer.from('ok') }]);
    const batch = builder.seal(7, 9);
    expect(readBatchHeader(batch, 0)).toEqual({
      batchBytes: BATCH_HEADER_BYTES + 8 + 1 + 2,
      baseOffset: 7,
      timestampMs: 9,
      recordCount: 1,
    });
  });
});
