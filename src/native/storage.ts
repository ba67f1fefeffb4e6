import fs from 'node:fs';
import { promisify } from 'node:util';
import { native } from './native.js';

/**
 * The system calls a log's durability rests on: the writes that put bytes in the page cache
 * and the syncs that make them durable. Everything the log stores goes through one of these,
 * so a test can put a storage in its place that remembers what was synced apart from what was
 * only written, loses power at any point and injects failures (test/log/sim/). The real one
 * is the default everywhere; reads go through the mappings and never come here.
 */
export interface Storage {
  /** pwrite of bytes [offset, offset + length) of `buffer` at `position`; may write fewer. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Allocates blocks for [offsetBytes, offsetBytes + lengthBytes) and extends the file. */
  fallocate(fd: number, offsetBytes: number, lengthBytes: number): void;
  /** Writes the dirty pages of bytes [offsetBytes, offsetBytes + lengthBytes) of a mapping of `fd` back, and waits. */
  msync(fd: number, mapping: ArrayBuffer, offsetBytes: number, lengthBytes: number): void;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  /** fsync that blocks the thread: a directory at a roll, which must be durable before the append goes on. */
  fsyncSync(fd: number): void;
}

const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);

export const realStorage: Storage = {
  write: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fallocate: (fd, offsetBytes, lengthBytes) => native.fallocate(fd, offsetBytes, lengthBytes),
  msync: (_fd, mapping, offsetBytes, lengthBytes) => native.msync(mapping, offsetBytes, lengthBytes, true),
  fdatasync: (fd) => fdatasync(fd),
  fsync: (fd) => fsync(fd),
  fsyncSync: (fd) => fs.fsyncSync(fd),
};
