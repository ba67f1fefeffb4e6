import { AssertionError } from 'node:assert';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { realStorage } from '../../src/native/storage.js';
import { BatchBuilder, VERSION_POSITION } from '../../src/log/record_batch.js';
import { LogSegment } from '../../src/log/segment.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the active segment checks each batch just before writing it, and a batch that is not
// what the writer meant to write never reaches the file.
// Method: a real segment; batches sealed by a BatchBuilder, appended with a header that
// disagrees with their bytes, or with bytes changed after sealing.

describe('LogSegment.append', () => {
  it('asserts the sealed header against the append before writing, and writes nothing when it fails', () => {
    const dir = tempDir();
    const segment = LogSegment.create(dir, 10, {
      segmentBytes: 4096,
      indexIntervalBytes: 64,
      preallocateBytes: 4096,
      storage: realStorage,
    });
    try {
      const builder = new BatchBuilder();
      builder.encode([{ partitionKey: 'k', data: Buffer.from('x') }]);
      const batch = builder.seal(10, 5);
      segment.reserve(batch.length);
      const header = { batchBytes: batch.length, baseOffset: 10, timestampMs: 5, recordCount: 1 };
      expect(() => segment.append(batch, { ...header, recordCount: 2 })).toThrow(AssertionError);
      expect(() => segment.append(batch, { ...header, timestampMs: 6 })).toThrow(AssertionError);
      expect(() => segment.append(batch, { ...header, baseOffset: 11 })).toThrow(AssertionError);
      batch[VERSION_POSITION] = 2;
      expect(() => segment.append(batch, header)).toThrow(AssertionError);
      expect(segment.sizeBytes).toBe(0);
      expect(fs.readFileSync(`${dir}/00000000000000000010.log`).every((byte) => byte === 0)).toBe(true);
      batch[VERSION_POSITION] = 1;
      segment.append(batch, header);
      expect(segment.nextOffset).toBe(11);
      // Time runs backwards.
      expect(() => segment.append(builder.seal(11, 4), { ...header, baseOffset: 11, timestampMs: 4 })).toThrow(AssertionError);
    } finally {
      segment.close();
    }
  });
});
