import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageFullError } from '../../src/errors.js';
import { Log } from '../../src/log/log.js';

// Goal: a full disk fails appends with a retriable StorageFullError, stores nothing of them,
// keeps everything acknowledged before, and works again once space frees.
// Method: a real 2 MiB tmpfs (needs root, which CI has; elsewhere the test says why it skips).

let mountPoint = '';
let mountError = '';

beforeAll(() => {
  mountPoint = fs.mkdtempSync('/tmp/shardline-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    mountError = String((error as { stderr?: Buffer }).stderr ?? error);
  }
});

afterAll(() => {
  if (mountError === '') execFileSync('umount', [mountPoint]);
  fs.rmSync(mountPoint, { recursive: true, force: true });
});

describe('a full disk', () => {
  it('fails appends with StorageFullError and loses nothing acknowledged', async (context) => {
    if (mountError !== '') {
      console.warn(`full-disk test skipped: cannot mount a tmpfs (${mountError.trim()})`);
      context.skip();
    }
    const filler = path.join(mountPoint, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(512 * 1024, 1));
    const dir = path.join(mountPoint, 'log');
    const log = await Log.open(dir, { segmentBytes: 256 * 1024, preallocateBytes: 64 * 1024 });
    const data = Buffer.alloc(8 * 1024, 0x42);
    let acknowledged = 0;
    let failure: unknown = null;
    for (let i = 0; i < 1000 && failure === null; i++) {
      try {
        await log.append([{ partitionKey: `k${i}`, data }]);
        acknowledged++;
      } catch (error) {
        failure = error;
      }
    }
    expect(failure).toBeInstanceOf(StorageFullError);
    expect((failure as StorageFullError).retriable).toBe(true);
    expect(acknowledged).toBeGreaterThan(50);
    expect(log.endOffset).toBe(acknowledged);
    expect(log.appendedOffset).toBe(acknowledged);
    await expect(log.append([{ partitionKey: 'still-full', data }])).rejects.toThrow(StorageFullError);

    // Space frees: the same log takes appends again, at the next offset.
    fs.rmSync(filler);
    expect((await log.append([{ partitionKey: `k${acknowledged}`, data }])).baseOffset).toBe(acknowledged);
    acknowledged++;
    await log.close();

    const reopened = await Log.open(dir);
    expect(reopened.recovery.clean).toBe(true);
    const records = reopened.readRecords(0, 10_000, 64 << 20).records;
    expect(records.length).toBe(acknowledged);
    expect(records.every((r, i) => r.partitionKey === `k${i}` && r.data.equals(data))).toBe(true);
    await reopened.close();
  });
});
