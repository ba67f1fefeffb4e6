import assert from 'node:assert/strict';
import fs from 'node:fs';
import { native } from '../native/native.js';
import { realStorage, type Storage } from '../native/storage.js';

export interface MappedFileOptions {
  /** Open the file for writing (and create it if missing); otherwise read-only. */
  readonly fileWritable: boolean;
  /** Map it writable, to write through the mapping (indexes); segments are written with pwrite. */
  readonly mapWritable: boolean;
  /** Bytes to map; may exceed the file size, so a growing file needs no remap. */
  readonly mapBytes: number;
  /** What extends and flushes it (default: the real system calls). */
  readonly storage?: Storage;
  /**
   * false: close the descriptor once the file is mapped (a mapping outlives it). For read-only
   * mappings that are never extended or flushed: a shard's reader then costs no descriptor.
   */
  readonly keepDescriptor?: boolean;
}

/**
 * A file with one shared mapping of its first `mapBytes` bytes and the descriptor it was opened
 * with. Bytes past the end of the file are mapped but must never be touched (SIGBUS): users only
 * read below the size they wrote or extended to. Closing unmaps, which detaches every view.
 */
export class MappedFile {
  private mapping: ArrayBuffer;
  private fileBytes: number;

  private constructor(
    readonly path: string,
    readonly fd: number,
    mapping: ArrayBuffer,
    fileBytes: number,
    private readonly storage: Storage,
  ) {
    this.mapping = mapping;
    this.fileBytes = fileBytes;
    this.buffer = Buffer.from(mapping);
  }

  /** A view of the whole mapping. */
  readonly buffer: Buffer;

  static open(path: string, options: MappedFileOptions): MappedFile {
    assert(options.fileWritable || !options.mapWritable, 'a writable mapping needs a writable file');
    const flags = options.fileWritable ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY;
    const fd = fs.openSync(path, flags, 0o644);
    let mapping: ArrayBuffer;
    let sizeBytes: number;
    try {
      mapping = native.map(fd, roundUpToPage(Math.max(1, options.mapBytes)), options.mapWritable);
      sizeBytes = fs.fstatSync(fd).size;
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    if (options.keepDescriptor !== false) return new MappedFile(path, fd, mapping, sizeBytes, options.storage ?? realStorage);
    assert(!options.fileWritable, 'only a read-only file gives its descriptor up');
    fs.closeSync(fd);
    return new MappedFile(path, -1, mapping, sizeBytes, options.storage ?? realStorage);
  }

  get sizeBytes(): number {
    return this.fileBytes;
  }

  get mapBytes(): number {
    return this.mapping.byteLength;
  }

  get isOpen(): boolean {
    return this.mapping.byteLength > 0;
  }

  /** Allocates blocks up to `bytes` (fallocate), so that writes below it cannot meet a full disk. */
  extendTo(bytes: number): void {
    if (bytes <= this.fileBytes) return;
    assert(bytes <= this.mapping.byteLength, `extend to ${bytes} past the mapping of ${this.mapping.byteLength}`);
    this.storage.fallocate(this.fd, this.fileBytes, bytes - this.fileBytes);
    this.fileBytes = bytes;
  }

  /** Trims the file to `bytes`; only ever past the bytes anyone reads (see docs/FORMAT.md). */
  truncate(bytes: number): void {
    fs.ftruncateSync(this.fd, bytes);
    this.fileBytes = bytes;
  }

  /** Writes dirty pages of the mapping back to the file and waits for them. */
  flush(): void {
    const bytes = Math.min(this.fileBytes, this.mapping.byteLength);
    if (bytes > 0) this.storage.msync(this.fd, this.mapping, 0, roundUpToPage(bytes));
  }

  advise(advice: number): void {
    native.madvise(this.mapping, 0, this.mapping.byteLength, advice);
  }

  /** Unmaps (every view of the mapping becomes empty and throws) and closes the descriptor. */
  close(): void {
    if (!this.isOpen) return;
    native.unmap(this.mapping);
    if (this.fd >= 0) fs.closeSync(this.fd);
  }
}

/** madvise advice values, for MappedFile#advise. */
export const Advice = native.advice;

/**
 * The size to extend a growing file to so that it holds `neededBytes`: double what it has, at
 * least `firstStepBytes` and at most `maxStepBytes` more at a time. A file that receives little
 * stays small (an idle shard costs pages, not a full step), one that receives much reaches full
 * steps after a few doublings; either way at most about twice what it holds is allocated.
 */
export function grownBytes(currentBytes: number, neededBytes: number, firstStepBytes: number, maxStepBytes: number): number {
  const step = Math.min(maxStepBytes, Math.max(firstStepBytes, currentBytes));
  return Math.ceil(neededBytes / step) * step;
}

export function roundUpToPage(bytes: number): number {
  const page = native.pageBytes;
  return Math.ceil(bytes / page) * page;
}
