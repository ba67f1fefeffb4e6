import assert from 'node:assert/strict';
import { SparseIndex, openIndexFile } from './sparse_index.js';
import { realStorage, type Storage } from '../native/storage.js';

/*
 * The sparse offset index of one segment (docs/FORMAT.md, "Offset index"):
 *   entry = 0 relativeOffset u32 | 4 position u32   (8 bytes)
 * relativeOffset = a batch's base offset minus the segment's base offset; position = where that
 * batch starts in the segment's .log file. Both strictly increase.
 */
const RELATIVE_OFFSET_WORD = 0;
const POSITION_WORD = RELATIVE_OFFSET_WORD + 1;
export const OFFSET_ENTRY_BYTES = (POSITION_WORD + 1) * 4;

export interface OffsetEntry {
  readonly relativeOffset: number;
  readonly position: number;
}

export class OffsetIndex extends SparseIndex {
  /** Opens the index of a segment; see openIndexFile. */
  static open(path: string, maxEntries: number, trusted: boolean, writable: boolean, storage: Storage = realStorage): OffsetIndex | null {
    const opened = openIndexFile(path, OFFSET_ENTRY_BYTES, maxEntries, trusted, writable, storage);
    return opened === null ? null : new OffsetIndex(opened.file, OFFSET_ENTRY_BYTES, maxEntries, opened.entryCount);
  }

  protected keyAt(slot: number): number {
    return this.words[slot * 2 + RELATIVE_OFFSET_WORD]!;
  }

  entry(slot: number): OffsetEntry {
    return { relativeOffset: this.words[slot * 2 + RELATIVE_OFFSET_WORD]!, position: this.words[slot * 2 + POSITION_WORD]! };
  }

  /** Where to start scanning for `relativeOffset`: the nearest indexed batch at or below it. */
  lookup(relativeOffset: number): OffsetEntry {
    const slot = this.floorSlot(relativeOffset, true);
    return slot < 0 ? { relativeOffset: 0, position: 0 } : this.entry(slot);
  }

  /** Adds an entry; both fields must increase (the base class asserts the offset). */
  append(relativeOffset: number, position: number): void {
    if (!(this.entryCount === 0 || position > this.words[(this.entryCount - 1) * 2 + POSITION_WORD]!))
      assert.fail(`index positions must increase: ${position}`);
    const word = this.reserveEntry(relativeOffset);
    this.words[word + RELATIVE_OFFSET_WORD] = relativeOffset;
    this.words[word + POSITION_WORD] = position;
    this.commitEntry();
  }

  /** Entries increase and the last one lies inside a segment of `segmentBytes`. */
  isConsistent(segmentBytes: number): boolean {
    if (!this.keysIncrease()) return false;
    if (this.entryCount === 0) return true;
    const last = this.entry(this.entryCount - 1);
    for (let slot = 1; slot < this.entryCount; slot++) {
      if (this.words[slot * 2 + POSITION_WORD]! <= this.words[(slot - 1) * 2 + POSITION_WORD]!) return false;
    }
    return last.position < segmentBytes;
  }
}
