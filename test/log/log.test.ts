import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, InvalidArgumentException, OffsetOutOfRangeError } from '../../src/errors.js';
import { CommittedPosition } from '../../src/log/committed_position.js';
import { Log } from '../../src/log/log.js';
import type { LogOptions } from '../../src/log/log_config.js';
import { HOUR_MS } from '../../src/log/log_config.js';
import { BatchBuilder } from '../../src/log/record_batch.js';
import { tempDir } from '../helpers/temp_dir.js';

const opened: Log[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
});

async function openLog(dir: string, options: Partial<LogOptions> = {}): Promise<Log> {
  const log = await Log.open(dir, options);
  opened.push(log);
  return log;
}

function records(count: number, prefix = 'r', bytes = 10): Array<{ partitionKey: string; data: Buffer }> {
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `${prefix}${i}`, data: Buffer.alloc(bytes, i % 256) }));
}

/** A clock the test moves by hand. */
function manualClock(startMs = 1_700_000_000_000): { clock: () => number; advance: (ms: number) => void } {
  let now = startMs;
  return { clock: () => now, advance: (ms) => (now += ms) };
}

describe('Log appends and reads', () => {
  it('assigns contiguous offsets from 0 and reads records back in order', async () => {
    const log = await openLog(tempDir());
    expect(await log.append(records(3))).toMatchObject({ baseOffset: 0, recordCount: 3 });
    expect(await log.append(records(2, 's'))).toMatchObject({ baseOffset: 3, recordCount: 2 });
    const { records: read, nextOffset } = log.readRecords(0, 100);
    expect(read.map((r) => [r.offset, r.partitionKey])).toEqual([
      [0, 'r0'],
      [1, 'r1'],
      [2, 'r2'],
      [3, 's0'],
      [4, 's1'],
    ]);
    expect(nextOffset).toBe(5);
    expect(log.endOffset).toBe(5);
  });

  it('reads from the middle of a batch and stops at maxRecords', async () => {
    const log = await openLog(tempDir());
    await log.append(records(10));
    const result = log.readRecords(4, 3);
    expect(result.records.map((r) => r.offset)).toEqual([4, 5, 6]);
    expect(result.nextOffset).toBe(7);
  });

  it('returns whole batches as views of the mapping, at least one even past maxBytes', async () => {
    const log = await openLog(tempDir());
    await log.append(records(5, 'a', 1000));
    await log.append(records(5, 'b', 1000));
    const one = log.read(0, 1);
    expect(one.chunks.length).toBe(1);
    expect(one.nextOffset).toBe(5);
    const all = log.read(0, 1 << 20);
    expect(all.nextOffset).toBe(10);
    expect(all.chunks[0]!.buffer.byteLength).toBeGreaterThan(all.chunks[0]!.length); // a view, not a copy
  });

  it('reading at the end gives nothing; outside the range is OffsetOutOfRange', async () => {
    const log = await openLog(tempDir());
    await log.append(records(2));
    expect(log.read(2).chunks).toEqual([]);
    expect(() => log.read(3)).toThrow(OffsetOutOfRangeError);
    expect(() => log.read(-1)).toThrow(OffsetOutOfRangeError);
    expect(() => log.read(1.5)).toThrow(InvalidArgumentException);
    expect(() => log.read(0, 0)).toThrow(InvalidArgumentException);
  });

  it('bad input is rejected with a typed error and stores nothing', async () => {
    const log = await openLog(tempDir());
    await log.append(records(1));
    await expect(
      log.append([
        { partitionKey: 'ok', data: Buffer.alloc(1) },
        { partitionKey: '', data: Buffer.alloc(1) },
      ]),
    ).rejects.toThrow(InvalidArgumentException);
    await expect(log.append([{ partitionKey: 'k', data: Buffer.alloc(1024 * 1024) }])).rejects.toThrow(/more than 1048576/);
    expect(log.endOffset).toBe(1);
    expect(log.appendedOffset).toBe(1);
    expect((await log.append(records(1))).baseOffset).toBe(1);
  });

  it('appendBatch stores records encoded elsewhere, and refuses bytes that are not whole records', async () => {
    const log = await openLog(tempDir());
    const builder = new BatchBuilder();
    builder.encode(records(3, 'x'));
    const encoded = Buffer.from(builder.batch); // header room + records, as the engine's thread sends them
    expect(await log.appendBatch(encoded, 3)).toMatchObject({ baseOffset: 0, recordCount: 3 });
    await expect(log.appendBatch(encoded, 2)).rejects.toThrow(InvalidArgumentException);
    await expect(log.appendBatch(encoded.subarray(0, encoded.length - 1), 3)).rejects.toThrow(InvalidArgumentException);
    await expect(log.appendBatch(encoded, 0)).rejects.toThrow(InvalidArgumentException);
    expect(log.endOffset).toBe(3);
    const { records: read } = log.readRecords(0, 10);
    expect(read.map((r) => r.partitionKey)).toEqual(['x0', 'x1', 'x2']);
    expect(log.read(0).chunks[0]!.subarray(0, 8).equals(Buffer.alloc(8))).toBe(false); // checksum stamped
  });

  it('stores records of the maximum size, and data of zero bytes', async () => {
    const log = await openLog(tempDir());
    const big = Buffer.alloc(1024 * 1024 - 1, 0xab);
    await log.append([
      { partitionKey: 'k', data: big },
      { partitionKey: 'empty', data: Buffer.alloc(0) },
    ]);
    const [first, second] = log.readRecords(0, 2).records;
    expect(first!.data.equals(big)).toBe(true);
    expect(second!.data.length).toBe(0);
  });

  it('stamps arrival times that never go backwards even when the clock does', async () => {
    let now = 5000;
    const log = await openLog(tempDir(), { clock: () => now });
    await log.append(records(1));
    now = 1000;
    const second = await log.append(records(1));
    expect(second.timestampMs).toBe(5000);
  });

  it('publishes the committed position to a SharedArrayBuffer for readers on other threads', async () => {
    const shared = new CommittedPosition();
    const log = await openLog(tempDir(), { committedPosition: shared.shared });
    await log.append(records(7));
    expect(shared.read()).toMatchObject({ nextOffset: 7, segmentBaseOffset: 0 });
    expect(shared.read().positionBytes).toBeGreaterThan(0);
  });
});

describe('Log segments', () => {
  it('rolls at the size limit and reads across segments', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await log.append(records(5, `b${i}-`, 100));
    expect(log.segmentCount).toBeGreaterThan(3);
    const names = fs.readdirSync(dir).filter((name) => name.endsWith('.log'));
    expect(names[0]).toBe('00000000000000000000.log');
    expect(names.every((name) => /^\d{20}\.log$/.test(name))).toBe(true);
    const all = log.readRecords(0, 1000, 1 << 20);
    expect(all.records.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rolls when the active segment is older than segmentAgeMs', async () => {
    const time = manualClock();
    const log = await openLog(tempDir(), { clock: time.clock, segmentAgeMs: 60_000 });
    await log.append(records(1));
    time.advance(30_000);
    await log.append(records(1));
    expect(log.segmentCount).toBe(1);
    time.advance(30_000);
    await log.append(records(1));
    expect(log.segmentCount).toBe(2);
  });

  it('trims sealed segments and their indexes to their contents', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { segmentBytes: 8192, indexIntervalBytes: 512 });
    for (let i = 0; i < 10; i++) await log.append(records(10, 'x', 100));
    await log.flush();
    await log.close();
    const sizes = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.log'))
      .map((n) => fs.statSync(path.join(dir, n)).size);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(log.sizeBytes);
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.index'))) {
      expect(fs.statSync(path.join(dir, name)).size % 8).toBe(0);
    }
  });

  it('keeps at most openSegmentsMax sealed segments open, whichever way they are read', async () => {
    const dir = tempDir();
    const options = { segmentBytes: 4096, openSegmentsMax: 2 };
    const first = await Log.open(dir, options);
    for (let i = 0; i < 60; i++) await first.append(records(5, 'x', 100));
    await first.close();
    const log = await openLog(dir, options);
    expect(log.segmentCount).toBeGreaterThan(8);
    const openFiles = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      }).length;
    // Each open sealed segment holds 3 descriptors (log and two indexes).
    const bound = openFiles() + 2 * 3;
    for (let offset = 0; offset < log.endOffset; offset += 5) log.lookup(offset);
    expect(openFiles(), 'after lookups').toBeLessThanOrEqual(bound);
    for (let offset = 0; offset < log.endOffset; offset += 5) log.read(offset, 1);
    expect(openFiles(), 'after reads').toBeLessThanOrEqual(bound);
    for (let stamp = 0; stamp < 40; stamp++) log.offsetForTimestamp(Date.now() - stamp * 1000);
    await log.applyRetention();
    expect(openFiles(), 'after time lookups and retention').toBeLessThanOrEqual(bound);
    // A read spans at most openSegmentsMax segments; paging on from nextOffset reads them all.
    let read = 0;
    for (let offset = 0; offset < log.endOffset; offset = log.readRecords(offset, 1000, 1 << 20).nextOffset) read++;
    expect(read).toBeGreaterThan(log.segmentCount / 2 - 1);
  });

  it('finds offsets by arrival time across segments', async () => {
    const time = manualClock(1_000_000);
    const log = await openLog(tempDir(), { clock: time.clock, segmentBytes: 4096, indexIntervalBytes: 256 });
    const stamps: number[] = [];
    for (let i = 0; i < 60; i++) {
      stamps.push((await log.append(records(3, 't', 50))).timestampMs);
      time.advance(i % 3 === 0 ? 0 : 10);
    }
    expect(log.segmentCount).toBeGreaterThan(2);
    for (let probe = 999_990; probe <= time.clock() + 10; probe += 7) {
      const batch = stamps.findIndex((stamp) => stamp >= probe);
      expect(log.offsetForTimestamp(probe), `time ${probe}`).toBe(batch < 0 ? 180 : batch * 3);
    }
  });
});

describe('Log durability modes', () => {
  it('under "always" resolves appends made together with one group commit', async () => {
    const log = await openLog(tempDir(), { fsync: 'always' });
    const results = await Promise.all(Array.from({ length: 50 }, () => log.append(records(2))));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(log.endOffset).toBe(100);
  });

  it('under "always" readers do not see an append before it is committed', async () => {
    const log = await openLog(tempDir(), { fsync: 'always' });
    const pending = log.append(records(3));
    expect(log.appendedOffset).toBe(3);
    expect(log.endOffset).toBe(0);
    expect(log.read(0).chunks).toEqual([]);
    await pending;
    expect(log.endOffset).toBe(3);
  });

  it('under "never" and { intervalMs } appends are visible at once', async () => {
    for (const fsync of ['never', { intervalMs: 5 }] as const) {
      const log = await openLog(tempDir(), { fsync });
      const pending = log.append(records(2));
      expect(log.endOffset).toBe(2);
      await pending;
      await log.flush();
    }
  });

  it('under { intervalMs } rolls seal the old segment without waiting for the interval', async () => {
    // Before the fix the seal awaited a flush that nobody had started: a microtask spin that
    // froze the event loop at the first roll.
    const log = await openLog(tempDir(), { fsync: { intervalMs: HOUR_MS }, segmentBytes: 4096, preallocateBytes: 4096 });
    for (let i = 0; i < 40; i++) await log.append(records(1, 'r', 300));
    await log.flush();
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(log.readRecords(0, 100).records).toHaveLength(Math.min(100, 40));
  });
});

describe('Log open and close', () => {
  it('reopens after a clean close with every record and the clean flag', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 10; i++) await log.append(records(10, `c${i}-`, 50));
    await log.close();
    expect(fs.existsSync(path.join(dir, 'clean-shutdown'))).toBe(true);
    const reopened = await openLog(dir, { segmentBytes: 4096 });
    expect(reopened.recovery.clean).toBe(true);
    expect(reopened.recovery.bytesVerified).toBe(0);
    expect(fs.existsSync(path.join(dir, 'clean-shutdown'))).toBe(false);
    expect(reopened.endOffset).toBe(100);
    expect(reopened.readRecords(95, 10).records.map((r) => r.partitionKey)).toEqual(['c9-5', 'c9-6', 'c9-7', 'c9-8', 'c9-9']);
    expect((await reopened.append(records(1))).baseOffset).toBe(100);
  });

  it('after close, appends and reads fail with ClosedError and old views read as empty', async () => {
    const log = await Log.open(tempDir());
    await log.append(records(1));
    const view = log.read(0).chunks[0]!;
    await log.close();
    await log.close();
    await expect(log.append(records(1))).rejects.toThrow(ClosedError);
    expect(() => log.read(0)).toThrow(ClosedError);
    expect(view.length).toBe(0);
  });

  it('cleans up leftover .tmp files and orphaned index files', async () => {
    const dir = tempDir();
    const log = await Log.open(dir);
    await log.append(records(1));
    await log.close();
    fs.writeFileSync(path.join(dir, 'recovery-point.tmp'), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000000099.index'), 'x');
    await openLog(dir);
    expect(fs.existsSync(path.join(dir, 'recovery-point.tmp'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '00000000000000000099.index'))).toBe(false);
  });

  it('rebuilds a missing or damaged index of a sealed segment', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, { segmentBytes: 4096, indexIntervalBytes: 256 });
    for (let i = 0; i < 30; i++) await log.append(records(5, `i${i}-`, 40));
    await log.close();
    fs.rmSync(path.join(dir, '00000000000000000000.index'));
    fs.writeFileSync(path.join(dir, '00000000000000000000.timeindex'), Buffer.alloc(13, 0xff));
    const reopened = await openLog(dir, { segmentBytes: 4096, indexIntervalBytes: 256 });
    const all = reopened.readRecords(0, 1000, 1 << 20).records;
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(reopened.readRecords(17, 1).records[0]!.partitionKey).toBe('i3-2');
    expect(fs.statSync(path.join(dir, '00000000000000000000.index')).size).toBeGreaterThan(0);
  });

  it('rejects bad options with InvalidArgumentException naming the option', async () => {
    await expect(Log.open(tempDir(), { segmentBytes: 100 })).rejects.toThrow(/segmentBytes/);
    await expect(Log.open(tempDir(), { retentionMs: HOUR_MS })).rejects.toThrow(/retentionMs/);
    await expect(Log.open(tempDir(), { fsync: 'sometimes' as never })).rejects.toThrow(InvalidArgumentException);
  });
});

describe('Log retention', () => {
  it('deletes whole segments older than retention, never the records still inside it', async () => {
    const time = manualClock();
    const dir = tempDir();
    const log = await openLog(dir, { clock: time.clock, segmentBytes: 4096, retentionMs: 24 * HOUR_MS });
    for (let i = 0; i < 10; i++) await log.append(records(5, 'old', 100));
    const oldEnd = log.endOffset;
    time.advance(23 * HOUR_MS);
    for (let i = 0; i < 10; i++) await log.append(records(5, 'new', 100));
    time.advance(2 * HOUR_MS);
    const deleted = await log.applyRetention();
    expect(deleted).toBeGreaterThan(0);
    expect(log.startOffset).toBeLessThanOrEqual(oldEnd);
    expect(log.startOffset).toBeGreaterThan(0);
    expect(() => log.read(0)).toThrow(OffsetOutOfRangeError);
    const kept = log.readRecords(log.startOffset, 1000, 1 << 20).records;
    expect(kept.at(-1)!.offset).toBe(log.endOffset - 1);
    expect(kept.filter((r) => r.partitionKey.startsWith('new')).length).toBe(50);
    expect(fs.existsSync(path.join(dir, '00000000000000000000.log'))).toBe(false);
  });

  it('expires an idle shard by rolling its active segment, keeping the offsets going', async () => {
    const time = manualClock();
    const log = await openLog(tempDir(), { clock: time.clock });
    await log.append(records(4));
    time.advance(25 * HOUR_MS);
    expect(await log.applyRetention()).toBe(1);
    expect(log.startOffset).toBe(4);
    expect(log.endOffset).toBe(4);
    expect((await log.append(records(1))).baseOffset).toBe(4);
  });

  it('deletes the oldest segments beyond retentionBytes', async () => {
    const log = await openLog(tempDir(), { segmentBytes: 4096, retentionBytes: 10_000 });
    for (let i = 0; i < 40; i++) await log.append(records(5, 'x', 100));
    await log.applyRetention();
    expect(log.sizeBytes).toBeGreaterThanOrEqual(10_000);
    expect(log.sizeBytes).toBeLessThan(10_000 + 4096 + 1024);
    expect(log.readRecords(log.startOffset, 1).records[0]!.offset).toBe(log.startOffset);
  });

  it('makes views of deleted segments read as empty instead of crashing', async () => {
    const time = manualClock();
    const log = await openLog(tempDir(), { clock: time.clock, segmentBytes: 4096 });
    for (let i = 0; i < 10; i++) await log.append(records(5, 'x', 100));
    const view = log.read(0).chunks[0]!;
    time.advance(25 * HOUR_MS);
    await log.applyRetention();
    expect(view.length).toBe(0);
  });
});
