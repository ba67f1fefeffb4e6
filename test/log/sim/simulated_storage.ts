import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../../../src/native/native.js';
import type { Storage } from '../../../src/native/storage.js';

/*
 * A storage for one log directory that knows what a power loss would keep, in the spirit of
 * TigerBeetle's simulated storage. The log still writes real files (its reads go through
 * mappings), and those files play the page cache. What is durable is kept apart: a file's bytes
 * as of its last fsync, fdatasync or msync, and the directory's names as of its last fsync.
 * Real syncs are skipped, so a campaign of thousands of cuts stays fast.
 *
 * Files are told apart by inode number, which a tmpfs never hands out twice (simDir puts the
 * directories there); a disk file system may reuse the number of a deleted file.
 */

export type Operation = 'write' | 'fallocate' | 'msync' | 'fdatasync' | 'fsync';

/** A file as a power loss would find it: which inode, and its bytes. */
export interface FileImage {
  readonly inode: string;
  readonly bytes: Buffer;
  /** In an image of the page cache: the bytes as of the file's last sync, if it had one. */
  readonly syncedBytes?: Buffer | undefined;
}

/** A directory's files by name. */
export type DirectoryImage = ReadonlyMap<string, FileImage>;

interface Fault {
  readonly op: Operation;
  remaining: number;
  readonly code: string;
}

const SECTOR_BYTES = 512;

export class SimulatedStorage implements Storage {
  private durableNames = new Map<string, string>();
  private readonly durableBytes = new Map<string, Buffer>();
  private readonly faults: Fault[] = [];
  private syncs = 0;
  /** Called before each sync takes effect: what a power loss at that moment would keep. */
  onSync: ((durable: DirectoryImage, syncs: number) => void) | null = null;

  constructor(readonly dir: string) {
    this.adoptAsDurable();
  }

  /** Counts every sync (fdatasync, fsync, msync) so far. */
  get syncCount(): number {
    return this.syncs;
  }

  /** Takes what the directory holds now as durable: the state after a reboot. */
  adoptAsDurable(): void {
    this.durableNames = new Map();
    for (const [name, file] of currentImage(this.dir)) {
      this.durableNames.set(name, file.inode);
      this.durableBytes.set(file.inode, file.bytes);
    }
  }

  /** Makes the `nth` next call of `op` (1 = the next) fail with an errno `code` (EIO, ENOSPC). */
  inject(op: Operation, nth: number, code: string): void {
    this.faults.push({ op, remaining: nth, code });
  }

  /** The page cache now: the directory's files, each with its bytes as of its last sync. */
  currentImage(): DirectoryImage {
    const image = new Map<string, FileImage>();
    for (const [name, file] of currentImage(this.dir)) image.set(name, { ...file, syncedBytes: this.durableBytes.get(file.inode) });
    return image;
  }

  /** What a power loss now would keep. */
  durableImage(): DirectoryImage {
    const image = new Map<string, FileImage>();
    for (const [name, inode] of this.durableNames) image.set(name, { inode, bytes: this.durableBytes.get(inode) ?? Buffer.alloc(0) });
    return image;
  }

  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.maybeFail('write');
    return fs.writeSync(fd, buffer, offset, length, position);
  }

  fallocate(fd: number, offsetBytes: number, lengthBytes: number): void {
    this.maybeFail('fallocate');
    native.fallocate(fd, offsetBytes, lengthBytes);
  }

  msync(fd: number, mapping: ArrayBuffer, offsetBytes: number, lengthBytes: number): void {
    this.sync(fd, 'msync');
    // Shared mappings and the file's pages are one page cache: the bytes are in the file
    // already; the real msync only keeps the mapping's dirty bits honest.
    native.msync(mapping, offsetBytes, lengthBytes, false);
  }

  fdatasync(fd: number): Promise<void> {
    return this.syncAsync(fd, 'fdatasync');
  }

  fsync(fd: number): Promise<void> {
    return this.syncAsync(fd, 'fsync');
  }

  fsyncSync(fd: number): void {
    this.sync(fd, 'fsync');
  }

  private async syncAsync(fd: number, op: Operation): Promise<void> {
    this.sync(fd, op);
  }

  private sync(fd: number, op: Operation): void {
    this.maybeFail(op);
    this.syncs++;
    this.onSync?.(this.durableImage(), this.syncs);
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) {
      assert.equal(stat.ino, fs.statSync(this.dir).ino, 'a simulated storage follows one directory');
      this.durableNames = new Map([...currentImage(this.dir, false)].map(([name, file]) => [name, file.inode]));
      return;
    }
    // Through /proc, as the descriptor may be write-only (a recovery point's temporary file).
    this.durableBytes.set(String(stat.ino), fs.readFileSync(`/proc/self/fd/${fd}`));
  }

  private maybeFail(op: Operation): void {
    const fault = this.faults.find((candidate) => candidate.op === op);
    if (fault === undefined || --fault.remaining > 0) return;
    this.faults.splice(this.faults.indexOf(fault), 1);
    throw Object.assign(new Error(`${fault.code}: simulated ${op} failure`), { code: fault.code });
  }
}

/** The directory's files as they are now (the page cache): names, inodes and, if asked, bytes. */
function currentImage(dir: string, withBytes = true): Map<string, FileImage> {
  const image = new Map<string, FileImage>();
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      const stat = fs.statSync(file);
      image.set(name, { inode: String(stat.ino), bytes: withBytes ? fs.readFileSync(file) : Buffer.alloc(0) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return image;
}

/**
 * Writes what a power loss keeps into the empty directory `target`. Without `current`, exactly
 * the durable image. With it, also a share of what was not synced, as the kernel may have
 * written some of it back: the names are those of the directory's last fsync or those of now
 * (a journaling file system commits a directory's operations in order; not seeing them one by
 * one, the simulator takes either end), and each 512-byte sector of a file's unsynced bytes
 * holds the old or the new bytes (a torn write), with either file size.
 */
export function materialize(target: string, durable: DirectoryImage, current: DirectoryImage | null, random: () => number): void {
  const names = current !== null && random() < 0.5 ? current : durable;
  for (const [name, file] of names) {
    let bytes = file.bytes;
    if (current !== null && names === durable) {
      const now = current.get(name);
      if (now?.inode === file.inode) bytes = torn(file.bytes, now.bytes, random);
    } else if (current !== null) {
      bytes = torn(file.syncedBytes ?? Buffer.alloc(0), file.bytes, random);
    }
    fs.writeFileSync(path.join(target, name), bytes);
  }
}

function torn(old: Buffer, now: Buffer, random: () => number): Buffer {
  if (old.equals(now)) return old;
  const size = random() < 0.5 ? old.length : now.length;
  const bytes = Buffer.alloc(size);
  old.copy(bytes, 0, 0, Math.min(size, old.length));
  for (let sector = 0; sector < size; sector += SECTOR_BYTES) {
    if (sector < now.length && random() < 0.5) now.copy(bytes, sector, sector, Math.min(size, sector + SECTOR_BYTES));
  }
  return bytes;
}
