import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptLogError, StorageError, StorageFullError } from '../../src/errors.js';
import { BASE_OFFSET_POSITION } from '../../src/log/batch_format.js';
import { segmentPaths } from '../../src/log/file_names.js';
import { Log } from '../../src/log/log.js';
import type { FsyncPolicy, LogOptions } from '../../src/log/log_config.js';
import { BATCH_HEADER_BYTES, readBatchHeader } from '../../src/log/record_batch.js';
import { materialize, SimulatedStorage, type Operation } from './sim/simulated_storage.js';

// Goal: what the README promises when the disk fails: a failed write, fdatasync or directory
// fsync stops the log with StorageError (later appends too) while committed reads go on and
// nothing resolved is lost; a full disk refuses the append with a retriable StorageFullError,
// stores nothing and the next append goes on; damage past the recovery point is cut off and
// reported; damage to a trusted segment is CorruptLog, never a silent wrong answer.
// Method: logs over SimulatedStorage, which fails the nth call of a system call on request
// and knows what a power loss would keep; damage is a bit flipped in a copy of the files.

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'shardline-fault-'));
  dirs.push(dir);
  return dir;
}

const SMALL: Partial<LogOptions> = {
  segmentBytes: 4096,
  preallocateBytes: 4096,
  checkpointIntervalMs: 10 * 60 * 1000,
  retentionCheckIntervalMs: 0,
};

async function openSimulated(
  fsync: FsyncPolicy,
  options: Partial<LogOptions> = {},
): Promise<{ log: Log; storage: SimulatedStorage; dir: string }> {
  const dir = tempDir();
  const storage = new SimulatedStorage(dir);
  const log = await Log.open(dir, { ...SMALL, ...options, fsync, storage });
  return { log, storage, dir };
}

function record(id: number, bytes = 300): { partitionKey: string; data: Buffer } {
  const data = Buffer.alloc(bytes, id % 251);
  data.writeUInt32LE(id, 0);
  return { partitionKey: `k${id}`, data };
}

async function appendEach(log: Log, from: number, count: number): Promise<void> {
  for (let id = from; id < from + count; id++) await log.append([record(id)]);
}

/** Appends one record at a time until one is refused; returns how many were resolved and the refusal. */
async function appendUntilRefused(log: Log, limit: number, bytes = 300): Promise<{ resolved: number; error: unknown }> {
  for (let id = log.appendedOffset; id < limit; id++) {
    try {
      await log.append([record(id, bytes)]);
    } catch (error) {
      return { resolved: id, error };
    }
  }
  return { resolved: limit, error: null };
}

function expectRecords(log: Log, count: number, bytes = 300): void {
  const { records } = log.readRecords(0, count + 1);
  expect(records.map((r) => r.data.readUInt32LE(0))).toEqual(Array.from({ length: count }, (_, id) => id));
  for (const r of records) expect(r.data.equals(record(r.offset, bytes).data)).toBe(true);
}

async function expectStopped(log: Log): Promise<void> {
  await expect(log.append([record(10_000)])).rejects.toThrow(StorageError);
  await expect(log.flush()).rejects.toThrow(StorageError);
}

describe('a failed fdatasync under fsync "always"', () => {
  it('rejects the append it covered and every later one; reads go on; a power loss keeps every resolved append', async () => {
    const { log, storage } = await openSimulated('always', { segmentBytes: 64 * 1024 });
    await appendEach(log, 0, 5);
    storage.inject('fdatasync', 1, 'EIO');
    await expect(log.append([record(5)])).rejects.toThrow(StorageError);
    await expectStopped(log);
    expect(log.endOffset).toBe(5);
    expectRecords(log, 5);
    await log.close();

    const target = tempDir();
    materialize(target, storage.durableImage(), null, Math.random);
    const reopened = await Log.open(target, { fsync: 'always' });
    // Exactly the resolved ones: the append whose fdatasync failed is not claimed.
    expect(reopened.endOffset).toBe(5);
    expect(reopened.recovery.durableRecordsLost).toBe(0);
    expectRecords(reopened, 5);
    await reopened.close();
  });
});

describe('an I/O error', () => {
  const cases: ReadonlyArray<{ op: Operation; fsync: FsyncPolicy; what: string }> = [
    { op: 'write', fsync: 'always', what: 'writing a batch' },
    { op: 'fallocate', fsync: 'never', what: 'extending the active segment or creating the next one' },
    { op: 'fsync', fsync: 'never', what: "the directory's fsync at a roll" },
  ];
  for (const { op, fsync, what } of cases) {
    it(`in ${op} (${what}) stops the log with StorageError and loses nothing resolved`, async () => {
      const { log, storage, dir } = await openSimulated(fsync);
      await appendEach(log, 0, 3);
      storage.inject(op, 1, 'EIO');
      const { resolved, error } = await appendUntilRefused(log, 200);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).retriable).toBe(false);
      await expectStopped(log);
      expect(log.endOffset).toBe(resolved);
      expectRecords(log, resolved);
      await log.close();

      const reopened = await Log.open(dir, { ...SMALL, fsync });
      expectRecords(reopened, resolved);
      await reopened.close();
    });
  }

  it('in the fdatasync that seals a rolled segment stops the log (fsync "never")', async () => {
    const { log, storage } = await openSimulated('never');
    storage.inject('fdatasync', 1, 'EIO');
    // 20 x 300 B roll the 4 KiB segment; made in one go, all are written before the seal runs.
    await Promise.all(Array.from({ length: 20 }, (_, id) => log.append([record(id)])));
    await expect(log.flush()).rejects.toThrow(StorageError);
    await expectStopped(log);
    expectRecords(log, 20);
    await log.close();
  });
});

describe('a full disk', () => {
  // Each nth fallocate is a different file: the active segment, an index, a new segment at a roll.
  for (const nth of [1, 2, 3, 4, 5, 6]) {
    it(`at fallocate #${nth} refuses the append with StorageFull, stores nothing, and the next append goes on`, async () => {
      const { log, storage, dir } = await openSimulated('always');
      storage.inject('fallocate', nth, 'ENOSPC');
      const { resolved, error } = await appendUntilRefused(log, 200, 700);
      expect(error).toBeInstanceOf(StorageFullError);
      expect((error as StorageFullError).retriable).toBe(true);
      expect(log.appendedOffset).toBe(resolved);
      expect((await log.append([record(resolved, 700)])).baseOffset).toBe(resolved);
      for (let id = resolved + 1; id < resolved + 20; id++) await log.append([record(id, 700)]);
      await log.close();

      const reopened = await Log.open(dir, { ...SMALL, fsync: 'always' });
      expectRecords(reopened, resolved + 20, 700);
      await reopened.close();
    });
  }
});

/** Batch start positions in a segment file, walking the length fields. */
function batchPositions(file: Buffer): number[] {
  const positions: number[] = [];
  for (let position = 0; position + BATCH_HEADER_BYTES <= file.length;) {
    const header = readBatchHeader(file, position);
    if (header.recordCount === 0 || header.batchBytes < BATCH_HEADER_BYTES) break;
    positions.push(position);
    position += header.batchBytes;
  }
  return positions;
}

function flipBit(file: string, position: number): void {
  const bytes = fs.readFileSync(file);
  bytes[position]! ^= 0x10;
  fs.writeFileSync(file, bytes);
}

describe('damage found on reopening', () => {
  it('past the recovery point: recovery cuts at the damaged batch and reports the bytes it cut', async () => {
    const { log, storage } = await openSimulated('always', { segmentBytes: 64 * 1024 });
    await appendEach(log, 0, 20);
    const target = tempDir();
    // A kill -9: the page cache survives, the clean-shutdown marker was never written.
    materialize(target, storage.currentImage(), null, Math.random);
    await log.close();
    const segment = segmentPaths(target, 0).log;
    const damaged = batchPositions(fs.readFileSync(segment))[12]!;
    flipBit(segment, damaged + BATCH_HEADER_BYTES + 8);

    const reopened = await Log.open(target, { fsync: 'always' });
    expect(reopened.recovery.clean).toBe(false);
    expect(reopened.endOffset).toBe(12);
    expect(reopened.recovery.bytesTruncated).toBeGreaterThanOrEqual(8 * 300);
    expectRecords(reopened, 12);
    // The cut end takes appends again.
    expect((await reopened.append([record(12)])).baseOffset).toBe(12);
    await reopened.close();
  });

  it("in a trusted segment's batch header: CorruptLog, not a wrong answer", async () => {
    const { log, dir } = await openSimulated('never');
    await appendEach(log, 0, 60); // about five 4 KiB segments, all sealed and trusted after close
    await log.close();
    const segment = segmentPaths(dir, 0).log;
    const positions = batchPositions(fs.readFileSync(segment));
    flipBit(segment, positions.at(-1)! + BASE_OFFSET_POSITION);

    // Found when the segment is first opened (a lookup), not only by a read's own check.
    const looked = await Log.open(dir, SMALL);
    try {
      expect(() => looked.lookup(positions.length - 1)).toThrow(CorruptLogError);
    } finally {
      await looked.close();
    }

    const readAll = async (): Promise<void> => {
      const reopened = await Log.open(dir, SMALL);
      try {
        for (let offset = 0; offset < reopened.endOffset;) offset = reopened.readRecords(offset, 1000).nextOffset;
      } finally {
        await reopened.close();
      }
    };
    await expect(readAll()).rejects.toThrow(CorruptLogError);
  });
});
