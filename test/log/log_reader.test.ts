import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentException, OffsetOutOfRangeError } from '../../src/errors.js';
import { CommittedPosition } from '../../src/log/committed_position.js';
import { Log } from '../../src/log/log.js';
import { LogReader, type ReadHint } from '../../src/log/log_reader.js';
import { forEachRecord, readBatchHeader, type StoredRecord } from '../../src/log/record_batch.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';
import { nextMessage, tsWorker } from '../helpers/ts_worker.js';

// Goal: a thread that does not own a log reads it zero-copy, in order, up to the committed
// position, while the owner appends, rolls segments and applies retention.
// Method: the owner is a worker thread (fixtures/log_owner.ts); this thread tails it with a
// LogReader and checks every record against the owner's numbering.

interface OwnerState {
  readonly endOffset: number;
  readonly startOffset: number;
}

function recordsOf(chunks: readonly Buffer[], fromOffset: number): StoredRecord[] {
  const records: StoredRecord[] = [];
  for (const chunk of chunks) {
    for (let position = 0; position < chunk.length; position += readBatchHeader(chunk, position).batchBytes) {
      forEachRecord(chunk, position, fromOffset, (record) => records.push(record));
    }
  }
  return records;
}

/** What the owner appended as offset `offset`: batch i holds 1 + i % 5 records. */
function expectedKeys(count: number): string[] {
  const keys: string[] = [];
  for (let batch = 0; keys.length < count; batch++) {
    for (let j = 0; j < 1 + (batch % 5); j++) keys.push(`b${batch}-${j}`);
  }
  return keys.slice(0, count);
}

describe('LogReader on another thread than the owner', () => {
  it('tails the log in order through rolls, never past the committed end, and follows retention', async () => {
    const dir = tempDir();
    const committed = new CommittedPosition();
    const owner = tsWorker(new URL('./fixtures/log_owner.ts', import.meta.url), { workerData: { dir, shared: committed.shared } });
    const ask = async (message: object): Promise<OwnerState> => {
      const answer = nextMessage<OwnerState>(owner);
      owner.postMessage(message);
      return answer;
    };
    try {
      await nextMessage<OwnerState>(owner);
      const reader = new LogReader(dir, committed, { segmentBytes: 4096, openSegmentsMax: 3 });
      const seen: StoredRecord[] = [];
      let offset = 0;
      let hint: ReadHint | undefined;
      let ownerState: OwnerState = { endOffset: 0, startOffset: 0 };
      const appending = ask({ type: 'append', batches: 400 }).then((state) => (ownerState = state));
      for (let reads = 0; reads < 100_000 && (ownerState.endOffset === 0 || offset < ownerState.endOffset); reads++) {
        const end = reader.endOffset;
        const result = reader.read(offset, 2048, hint);
        expect(result.nextOffset).toBeLessThanOrEqual(Math.max(end, reader.endOffset));
        const records = recordsOf(result.chunks, offset);
        seen.push(...records.map((r) => ({ ...r, data: Buffer.from(r.data) })));
        offset = result.nextOffset;
        hint = result.next;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await appending;
      expect(seen.length).toBe(ownerState.endOffset);
      expect(seen.map((r) => r.offset)).toEqual(seen.map((_, i) => i));
      expect(seen.map((r) => r.partitionKey)).toEqual(expectedKeys(seen.length));
      expect(reader.read(0, 1 << 20).nextOffset).toBeGreaterThan(0); // random access without a hint scans

      const view = reader.read(0, 100).chunks[0]!;
      const expired = await ask({ type: 'expire' });
      expect(expired.startOffset).toBeGreaterThan(0);
      expect(() => reader.read(0, 100)).toThrow(OffsetOutOfRangeError);
      expect(reader.startOffset).toBe(expired.startOffset);
      expect(view.length).toBe(0); // unmapped when the listing dropped its segment
      reader.close();
    } finally {
      await ask({ type: 'close' });
      await owner.terminate();
    }
  });
});

// The seed is in the test's name so that any failure, a thrown error included, reports it.
const seed = testSeed();

describe('LogReader random access', () => {
  it(`agrees with Log.readRecords at random offsets, with no hint, a good hint or a stale one (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    const dir = tempDir();
    const committed = new CommittedPosition();
    const log = await Log.open(dir, { segmentBytes: 4096, fsync: 'never', committedPosition: committed.shared });
    try {
      for (let i = 0; i < 200; i++) {
        await log.append(Array.from({ length: 1 + (i % 4) }, (_, j) => ({ partitionKey: `k${i}-${j}`, data: Buffer.alloc(i % 300, j) })));
      }
      const reader = new LogReader(dir, committed, { segmentBytes: 4096 });
      let staleHint: ReadHint | undefined;
      for (let i = 0; i < 500; i++) {
        const offset = Math.floor(random() * log.endOffset);
        const hint = i % 3 === 0 ? undefined : i % 3 === 1 ? staleHint : reader.read(offset, 1).next;
        const result = reader.read(offset, 1 + Math.floor(random() * 8192), hint);
        const got = recordsOf(result.chunks, offset).map((r) => r.partitionKey);
        const expected = log.readRecords(offset, got.length).records.map((r) => r.partitionKey);
        const label = `seed ${seed}, offset ${offset}, hint ${JSON.stringify(hint)}`;
        expect(got, label).toEqual(expected);
        expect(got.length, label).toBeGreaterThan(0);
        staleHint = result.next;
      }
      reader.close();
    } finally {
      await log.close();
    }
  });
});

describe('LogReader across more segments than it keeps mapped', () => {
  it('hands out only views that are still mapped: one read spans at most openSegmentsMax segments', async () => {
    // Goal: a read never returns a chunk whose mapping it evicted while reading on.
    // Method: small segments, openSegmentsMax 2, one read asking for everything; then pages.
    const dir = tempDir();
    const committed = new CommittedPosition();
    const log = await Log.open(dir, { segmentBytes: 4096, fsync: 'never', committedPosition: committed.shared });
    try {
      for (let i = 0; i < 60; i++)
        await log.append(Array.from({ length: 5 }, (_, j) => ({ partitionKey: `k${i}-${j}`, data: Buffer.alloc(100, j) })));
      expect(log.segmentCount).toBeGreaterThan(4);
      const reader = new LogReader(dir, committed, { segmentBytes: 4096, openSegmentsMax: 2 });
      const result = reader.read(0, 1 << 30);
      expect(result.chunks.length).toBeLessThanOrEqual(2);
      for (const chunk of result.chunks) expect(chunk.length).toBeGreaterThan(0);
      expect(recordsOf(result.chunks, 0).map((r) => r.offset)).toEqual(Array.from({ length: result.nextOffset }, (_, i) => i));
      const keys: string[] = [];
      for (let offset = 0, hint: ReadHint | undefined; offset < log.endOffset;) {
        const page = reader.read(offset, 1 << 30, hint);
        keys.push(...recordsOf(page.chunks, offset).map((r) => r.partitionKey));
        ({ nextOffset: offset, next: hint } = page);
      }
      expect(keys).toEqual(Array.from({ length: 300 }, (_, i) => `k${Math.floor(i / 5)}-${i % 5}`));
      reader.close();
    } finally {
      await log.close();
    }
  });
});

describe('LogReader segment listing', () => {
  it('re-lists the directory when the committed segment is not in its listing, even below the last one listed', async () => {
    // As after a worker restart whose recovery deleted segments after a gap, then rolled:
    // the committed position names a segment the reader never listed, below ones it did.
    // Method: the reader lists a closed log's directory while one segment file is moved away.
    const dir = tempDir();
    const log = await Log.open(dir, { segmentBytes: 4096, fsync: 'never' });
    for (let i = 0; i < 40; i++)
      await log.append(Array.from({ length: 5 }, (_, j) => ({ partitionKey: `k${i}-${j}`, data: Buffer.alloc(100, j) })));
    await log.close();
    const bases = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .map((name) => Number(name.slice(0, 20)));
    expect(bases.length).toBeGreaterThan(3);
    const committedBase = bases.at(-2)!;
    const committedFile = path.join(dir, `${String(committedBase).padStart(20, '0')}.log`);
    const committed = new CommittedPosition();
    committed.publishStart(0);
    const firstBatch = readBatchHeader(fs.readFileSync(committedFile), 0);
    committed.publish({
      nextOffset: committedBase + firstBatch.recordCount,
      segmentBaseOffset: committedBase,
      positionBytes: firstBatch.batchBytes,
    });
    fs.renameSync(committedFile, `${committedFile}.away`);
    const reader = new LogReader(dir, committed, { segmentBytes: 4096 });
    fs.renameSync(`${committedFile}.away`, committedFile);
    const result = reader.read(committedBase, 1 << 20);
    expect(recordsOf(result.chunks, committedBase).map((r) => r.offset)).toEqual(
      Array.from({ length: firstBatch.recordCount }, (_, i) => committedBase + i),
    );
    expect(result.next).toEqual({
      offset: committedBase + firstBatch.recordCount,
      segmentBaseOffset: committedBase,
      positionBytes: firstBatch.batchBytes,
    });
    reader.close();
  });

  it('checks its options as the log does, naming the bad one', () => {
    const dir = tempDir();
    const committed = new CommittedPosition();
    expect(() => new LogReader(dir, committed, { segmentBytes: 4096, openSegmentsMax: 0 })).toThrow(/openSegmentsMax/);
    expect(() => new LogReader(dir, committed, { segmentBytes: 100 })).toThrow(InvalidArgumentException);
  });
});
