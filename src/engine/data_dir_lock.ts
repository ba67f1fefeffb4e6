import fs from 'node:fs';
import path from 'node:path';
import { ResourceInUseException } from '../errors.js';

export const LOCK_FILE = 'LOCK';

/** Data directories this process holds: a second engine in the same process is refused too. */
const heldHere = new Set<string>();

/**
 * One engine per data directory: two would both own every shard's log. The lock is a file
 * holding the owner's pid, created exclusively. A lock left by a process that no longer runs
 * (kill -9, a crash) is taken over. Not a defence against two machines sharing a network disk.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, LOCK_FILE);
    const key = path.resolve(file);
    if (heldHere.has(key)) throw new ResourceInUseException(`data directory ${dataDir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
        heldHere.add(key);
        return new DataDirLock(key);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
        if (Number.isSafeInteger(owner) && owner !== process.pid && isRunning(owner)) {
          throw new ResourceInUseException(`data directory ${dataDir} is in use by process ${owner}`);
        }
        fs.rmSync(file, { force: true }); // stale: its owner is gone
      }
    }
    throw new ResourceInUseException(`data directory ${dataDir}: could not take its lock`);
  }

  release(): void {
    if (!heldHere.delete(this.file)) return;
    fs.rmSync(this.file, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
