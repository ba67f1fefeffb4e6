import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentPaths } from '../../src/log/file_names.js';
import { Log } from '../../src/log/log.js';
import { KIB, MIB } from '../../src/log/log_config.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: an active segment allocates ahead of its writer in proportion to what it receives
// (starting at 64 KiB and doubling up to preallocateBytes), so an idle or slow shard costs
// little disk, and an idle one gives the room back and closes its files after
// preallocationIdleMs; appends after that work and nothing is lost across a reopen.
// Method: a real log; file sizes read with stat after each append; the idle timer runs for real
// (its verdict is the file size, polled with a bound, never a duration).

const logs: Log[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

async function open(dir: string, preallocationIdleMs = 0): Promise<Log> {
  const log = await Log.open(dir, { fsync: 'never', preallocateBytes: MIB, preallocationIdleMs, segmentBytes: 64 * MIB });
  logs.push(log);
  return log;
}

function sizes(dir: string): { log: number; index: number; timeindex: number } {
  const paths = segmentPaths(dir, 0);
  return { log: fs.statSync(paths.log).size, index: fs.statSync(paths.offsetIndex).size, timeindex: fs.statSync(paths.timeIndex).size };
}

/** This process's descriptors open on files of `dir`. */
function descriptorsInto(dir: string): number {
  const real = fs.realpathSync(dir);
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${real}/`);
    } catch {
      return false;
    }
  }).length;
}

const record = (i: number): { partitionKey: string; data: Buffer } => ({ partitionKey: `k${i}`, data: Buffer.alloc(1000, i % 251) });

describe('preallocation', () => {
  it('starts at 64 KiB and doubles with the data, up to steps of preallocateBytes', async () => {
    const dir = tempDir();
    const log = await open(dir);
    await log.append([record(0)]);
    expect(sizes(dir)).toEqual({ log: 64 * KIB, index: 4 * KIB, timeindex: 4 * KIB });
    const seen = new Set<number>();
    for (let i = 1; i < 3000; i++) {
      await log.append([record(i)]);
      seen.add(sizes(dir).log);
    }
    // 3,000 batches of ~1 KiB: 64 KiB, doubled to 1 MiB, then in 1 MiB steps.
    expect([...seen]).toEqual([64 * KIB, 128 * KIB, 256 * KIB, 512 * KIB, MIB, 2 * MIB, 3 * MIB, 4 * MIB]);
    expect(log.preallocatedBytes).toBeLessThanOrEqual(MIB + 8 * KIB);
  });

  it('gives the room back and closes its files after preallocationIdleMs without appends; the next append reopens them', async () => {
    const dir = tempDir();
    const log = await open(dir, 100);
    for (let i = 0; i < 100; i++) await log.append([record(i)]);
    const allocated = sizes(dir).log;
    expect(log.preallocatedBytes).toBeGreaterThan(0);
    for (let polls = 0; polls < 100 && log.preallocatedBytes > 0; polls++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.preallocatedBytes).toBe(0);
    const written = sizes(dir).log;
    expect(written).toBeLessThan(allocated);
    // 100 batches of one 1,000-byte record and its header, no more.
    expect(written).toBeGreaterThan(100 * 1000);
    expect(written).toBeLessThan(100 * 1100);
    expect(descriptorsInto(dir)).toBe(0);
    // The owner still reads it (its files open again for that).
    expect(log.readRecords(0, 1000).records.length).toBe(100);

    // Appends go on from the trimmed end; everything reads back, also after a reopen.
    await log.append([record(100)]);
    expect(sizes(dir).log).toBeGreaterThan(written);
    expect(descriptorsInto(dir)).toBe(3);
    await log.close();
    logs.pop();
    const reopened = await open(dir);
    const { records } = reopened.readRecords(0, 1000);
    expect(records.map((r) => r.partitionKey)).toEqual(Array.from({ length: 101 }, (_, i) => `k${i}`));
  });
});
