import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import type { LogOptions } from '../../src/log/log_config.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: recovery after an unclean stop keeps exactly the valid batches before the first bad one.
// Method: write a log, copy its files while it is still open (no clean-shutdown marker, tail
// preallocated), damage the copy, and open the copy.

const OPTIONS: Partial<LogOptions> = { checkpointIntervalMs: 600_000, retentionCheckIntervalMs: 0 };
const leftOpen: Log[] = [];
afterEach(async () => {
  for (const log of leftOpen.splice(0)) await log.close();
});

function batch(index: number, count = 2): Array<{ partitionKey: string; data: Buffer }> {
  return Array.from({ length: count }, (_, j) => ({ partitionKey: `b${index}-${j}`, data: Buffer.from(`data-${index}-${j}`) }));
}

interface Template {
  readonly dir: string;
  readonly segment: string;
  /** Where the last batch starts and ends in the segment file. */
  readonly lastStart: number;
  readonly lastEnd: number;
  readonly offsetsBefore: number;
}

/** Four batches closed cleanly, then a fifth appended after reopening (so the recovery point precedes it). */
async function template(): Promise<Template> {
  const dir = tempDir();
  const first = await Log.open(dir, OPTIONS);
  for (let i = 0; i < 4; i++) await first.append(batch(i));
  await first.close();
  const second = await Log.open(dir, OPTIONS);
  leftOpen.push(second);
  const { baseOffset } = await second.append(batch(4));
  const { positionBytes } = second.lookup(baseOffset);
  await second.flush(); // the files are still while they are copied
  const copy = tempDir();
  for (const name of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, name), path.join(copy, name));
  const segment = path.join(copy, '00000000000000000000.log');
  const lastEnd = fs.readFileSync(segment).readUInt32LE(positionBytes + 8) + positionBytes;
  return { dir: copy, segment, lastStart: positionBytes, lastEnd, offsetsBefore: baseOffset };
}

function damagedCopy(source: Template, damage: (bytes: Buffer) => Buffer): string {
  const dir = tempDir();
  for (const name of fs.readdirSync(source.dir)) fs.copyFileSync(path.join(source.dir, name), path.join(dir, name));
  const file = path.join(dir, path.basename(source.segment));
  fs.writeFileSync(file, damage(fs.readFileSync(file)));
  return dir;
}

async function expectRecoveredBefore(dir: string, source: Template, label: string): Promise<void> {
  const log = await Log.open(dir, OPTIONS);
  try {
    expect(log.recovery.clean, label).toBe(false);
    expect(log.endOffset, label).toBe(source.offsetsBefore);
    const keys = log.readRecords(0, 100).records.map((r) => r.partitionKey);
    expect(keys, label).toEqual(Array.from({ length: 4 }, (_, i) => [`b${i}-0`, `b${i}-1`]).flat());
    expect((await log.append(batch(9))).baseOffset, label).toBe(source.offsetsBefore);
  } finally {
    await log.close();
  }
}

describe('recovery of a damaged tail', () => {
  it('an intact unclean copy recovers all five batches', async () => {
    const source = await template();
    const log = await Log.open(
      damagedCopy(source, (bytes) => bytes),
      OPTIONS,
    );
    expect(log.recovery).toMatchObject({ clean: false, bytesTruncated: 0, durableRecordsLost: 0 });
    expect(log.recovery.bytesVerified).toBe(source.lastEnd - source.lastStart);
    expect(log.endOffset).toBe(source.offsetsBefore + 2);
    await log.close();
  });

  it('cut at every byte of the last batch (the rest zeros, as in preallocated space): keeps the batches before it', async () => {
    const source = await template();
    for (let cut = source.lastStart; cut < source.lastEnd; cut++) {
      const dir = damagedCopy(source, (bytes) => {
        bytes.fill(0, cut, source.lastEnd);
        return bytes;
      });
      await expectRecoveredBefore(dir, source, `cut at ${cut}`);
    }
  });

  it('file truncated inside the last batch: keeps the batches before it', async () => {
    const source = await template();
    for (const cut of [source.lastStart + 1, source.lastStart + 39, source.lastEnd - 1]) {
      await expectRecoveredBefore(
        damagedCopy(source, (bytes) => bytes.subarray(0, cut)),
        source,
        `truncated at ${cut}`,
      );
    }
  });

  it('a bit flipped in any byte of the last batch: keeps the batches before it, cuts the rest', async () => {
    // One bit per byte (a different bit position from byte to byte) covers every field here;
    // every bit of a batch is flipped against verifyBatch in record_batch.test.ts.
    const source = await template();
    for (let position = source.lastStart; position < source.lastEnd; position++) {
      const dir = damagedCopy(source, (bytes) => {
        bytes[position]! ^= 1 << (position & 7);
        return bytes;
      });
      await expectRecoveredBefore(dir, source, `bit ${position & 7} of byte ${position}`);
    }
  });
});

describe('recovery of damage before the recovery point', () => {
  it('a batch whose header claims no records ends the log before it, not after it', async () => {
    // Batches before the recovery point are walked, not verified: a header that cannot be a
    // batch's must still stop the walk, so that it never becomes part of the log.
    const source = await template();
    const batchBytes = fs.readFileSync(source.segment).readUInt32LE(8); // the first four batches are the same size
    const dir = damagedCopy(source, (bytes) => {
      bytes.writeUInt32LE(0, 2 * batchBytes + 32); // batch 2's recordCount
      return bytes;
    });
    const log = await Log.open(dir, OPTIONS);
    try {
      expect(log.endOffset).toBe(4);
      expect(log.sizeBytes).toBe(2 * batchBytes);
      expect(log.recovery.durableRecordsLost).toBe(source.offsetsBefore - 4);
      expect((await log.append(batch(9))).baseOffset).toBe(4);
      expect(log.readRecords(0, 100).records.map((r) => r.partitionKey)).toEqual(['b0-0', 'b0-1', 'b1-0', 'b1-1', 'b9-0', 'b9-1']);
    } finally {
      await log.close();
    }
  });
});

describe('recovery across segments', () => {
  async function multiSegmentLog(): Promise<{ dir: string; bases: number[]; log: Log }> {
    const dir = tempDir();
    const log = await Log.open(dir, { ...OPTIONS, segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) await log.append(batch(i, 20));
    leftOpen.push(log);
    await log.flush(); // queued behind the seals and recovery points of the rolls: the files are still
    const copy = tempDir();
    for (const name of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, name), path.join(copy, name));
    fs.rmSync(path.join(copy, 'recovery-point')); // forces a scan of every segment
    const bases = fs
      .readdirSync(copy)
      .filter((n) => n.endsWith('.log'))
      .map((n) => Number(n.slice(0, 20)));
    return { dir: copy, bases, log };
  }

  it('without a recovery point every segment is verified and everything is kept', async () => {
    const { dir, bases } = await multiSegmentLog();
    const log = await Log.open(dir, OPTIONS);
    expect(log.recovery.segmentsScanned).toBe(bases.length);
    expect(log.endOffset).toBe(600);
    await log.close();
  });

  it('corruption in a middle segment truncates there and deletes the segments after it', async () => {
    const { dir, bases, log: original } = await multiSegmentLog();
    const victim = path.join(dir, `${String(bases[1]).padStart(20, '0')}.log`);
    const bytes = fs.readFileSync(victim);
    bytes[original.lookup(bases[2]! - 1).positionBytes + 50]! ^= 0xff; // inside the segment's last batch
    fs.writeFileSync(victim, bytes);
    const log = await Log.open(dir, OPTIONS);
    expect(log.recovery.segmentsDeleted).toBe(bases.length - 2);
    expect(log.endOffset).toBeLessThan(bases[2]!);
    expect(log.endOffset).toBeGreaterThan(bases[1]!);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.log')).length).toBe(2);
    const records = log.readRecords(0, 1000, 1 << 20).records;
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: log.endOffset }, (_, i) => i));
    await log.close();
  });

  it('a damaged recovery point is ignored (full scan), not trusted', async () => {
    const { dir } = await multiSegmentLog();
    fs.writeFileSync(path.join(dir, 'recovery-point'), Buffer.alloc(32, 0x5a));
    const log = await Log.open(dir, OPTIONS);
    expect(log.endOffset).toBe(600);
    await log.close();
  });
});
