import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { native } from '../native/native.js';
import { MappedFile, grownBytes } from './mapped_file.js';
import type { Storage } from '../native/storage.js';

assert.equal(os.endianness(), 'LE', 'index entries are read as native u32s: a little-endian host is required');

/** Index files grow in steps of this many bytes (fallocate), not all at once. */
export const INDEX_STEP_BYTES = 64 * 1024;

/**
 * Lookups of the newest entries are the common case (consumers reading near the tail), so a
 * lookup that falls in the last WARM_ENTRIES_BYTES of entries searches only those: the pages
 * stay in the cache and the search touches few of them (Kafka's AbstractIndex does the same).
 */
const WARM_ENTRIES_BYTES = 8 * 1024;

/**
 * A file of fixed-size entries of u32 words, mapped writable, appended through the mapping, and
 * searched by a key that strictly increases from entry to entry. The file is extended in steps
 * of INDEX_STEP_BYTES and trimmed to its entries when sealed. Subclasses define the entry layout.
 *
 * Invariants: entryCount entries are valid; keys strictly increase; the file size is at least
 * entryCount * entryBytes; the mapping covers maxEntries entries.
 */
export abstract class SparseIndex {
  protected readonly words: Uint32Array;
  private count: number;

  protected constructor(
    protected readonly file: MappedFile,
    readonly entryBytes: number,
    readonly maxEntries: number,
    entryCount: number,
  ) {
    assert(entryBytes % 4 === 0);
    this.words = new Uint32Array(file.buffer.buffer, file.buffer.byteOffset, file.mapBytes / 4);
    this.count = entryCount;
  }

  get entryCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** The key of entry `slot` (relative offset or timestamp). */
  protected abstract keyAt(slot: number): number;

  /**
   * The last slot whose key is at most `target` (or below it, when `inclusive` is false);
   * -1 when there is none.
   */
  floorSlot(target: number, inclusive: boolean): number {
    const count = this.count;
    if (count === 0 || !this.before(this.keyAt(0), target, inclusive)) return -1;
    const warmFirst = Math.max(0, count - Math.floor(WARM_ENTRIES_BYTES / this.entryBytes));
    if (this.before(this.keyAt(warmFirst), target, inclusive)) return this.search(warmFirst, count - 1, target, inclusive);
    return this.search(0, warmFirst - 1, target, inclusive);
  }

  // Binary search for the last slot in [low, high] before target; keyAt(low) is before it.
  private search(low: number, high: number, target: number, inclusive: boolean): number {
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.before(this.keyAt(middle), target, inclusive)) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  private before(key: number, target: number, inclusive: boolean): boolean {
    return inclusive ? key <= target : key < target;
  }

  /** Bytes of the file past its entries. */
  get spareBytes(): number {
    return this.file.sizeBytes - this.count * this.entryBytes;
  }

  /**
   * Makes sure the file can take one more entry. Writers call it before writing the batch the
   * entry is for, so that a full disk fails the append before anything is written.
   */
  reserveRoom(): void {
    const endBytes = (this.count + 1) * this.entryBytes;
    if (endBytes > this.file.sizeBytes) {
      this.file.extendTo(Math.min(this.file.mapBytes, grownBytes(this.file.sizeBytes, endBytes, native.pageBytes, INDEX_STEP_BYTES)));
    }
  }

  /** Returns the word position of a new entry, after extending the file to hold it. */
  protected reserveEntry(key: number): number {
    assert(!this.isFull, 'index full');
    assert(this.count === 0 || key > this.keyAt(this.count - 1), 'index keys must increase');
    this.reserveRoom();
    return (this.count * this.entryBytes) / 4;
  }

  protected commitEntry(): void {
    this.count++;
  }

  /** Keys strictly increase; used to decide whether a trusted index must be rebuilt. */
  protected keysIncrease(): boolean {
    for (let slot = 1; slot < this.count; slot++) {
      if (this.keyAt(slot) <= this.keyAt(slot - 1)) return false;
    }
    return true;
  }

  /** Empties the index (for a rebuild). */
  reset(): void {
    this.count = 0;
  }

  /** Trims the file to its entries and writes it back: the segment is sealed or closing. */
  seal(): void {
    this.trim();
    this.file.flush();
  }

  /** Gives back the room reserved past the entries (an idle writer's): reserveRoom takes it again. */
  trim(): void {
    this.file.truncate(this.count * this.entryBytes);
  }

  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Opens (or creates) an index file mapped for `maxEntries` entries. `trusted` takes the file's
 * entries as they are; otherwise the index starts empty for a rebuild. Returns null when a
 * trusted file is missing (read-only) or not whole entries: the caller rebuilds.
 */
export function openIndexFile(
  path: string,
  entryBytes: number,
  maxEntries: number,
  trusted: boolean,
  writable: boolean,
  storage: Storage,
): { file: MappedFile; entryCount: number } | null {
  if (!writable && !fs.existsSync(path)) return null;
  const file = MappedFile.open(path, { fileWritable: writable, mapWritable: writable, mapBytes: maxEntries * entryBytes, storage });
  if (!trusted) return { file, entryCount: 0 };
  const fileBytes = file.sizeBytes;
  if (fileBytes % entryBytes !== 0 || fileBytes / entryBytes > maxEntries) {
    file.close();
    return null;
  }
  return { file, entryCount: fileBytes / entryBytes };
}
