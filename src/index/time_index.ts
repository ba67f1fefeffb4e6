import assert from 'node:assert/strict';
import { SparseIndex, openIndexFile } from './sparse_index.js';
import { realStorage, type Storage } from '../native/storage.js';

/*
 * The sparse time index of one segment (docs/FORMAT.md, "Time index"):
 *   entry = 0 timestampMs u64 | 8 relativeOffset u32   (12 bytes)
 * Both fields strictly increase: an entry is only added when the timestamp moved on.
 */
const TIMESTAMP_LOW_WORD = 0;
const TIMESTAMP_HIGH_WORD = TIMESTAMP_LOW_WORD + 1;
const RELATIVE_OFFSET_WORD = TIMESTAMP_HIGH_WORD + 1;
const ENTRY_WORDS = RELATIVE_OFFSET_WORD + 1;
export const TIME_ENTRY_BYTES = ENTRY_WORDS * 4;
const TWO_POW_32 = 0x1_0000_0000;

export interface TimeEntry {
  readonly timestampMs: number;
  readonly relativeOffset: number;
}

export class TimeIndex extends SparseIndex {
  /** Opens the index of a segment; see openIndexFile. */
  static open(path: string, maxEntries: number, trusted: boolean, writable: boolean, storage: Storage = realStorage): TimeIndex | null {
    const opened = openIndexFile(path, TIME_ENTRY_BYTES, maxEntries, trusted, writable, storage);
    return opened === null ? null : new TimeIndex(opened.file, TIME_ENTRY_BYTES, maxEntries, opened.entryCount);
  }

  protected keyAt(slot: number): number {
    const word = slot * ENTRY_WORDS;
    return this.words[word + TIMESTAMP_HIGH_WORD]! * TWO_POW_32 + this.words[word + TIMESTAMP_LOW_WORD]!;
  }

  entry(slot: number): TimeEntry {
    return { timestampMs: this.keyAt(slot), relativeOffset: this.words[slot * ENTRY_WORDS + RELATIVE_OFFSET_WORD]! };
  }

  get lastTimestampMs(): number {
    return this.entryCount === 0 ? -1 : this.keyAt(this.entryCount - 1);
  }

  /**
   * Where to start scanning for the first record at or after `timestampMs`: the last indexed
   * batch strictly before that time (every record before it is older), or the segment start.
   */
  lookup(timestampMs: number): number {
    const slot = this.floorSlot(timestampMs, false);
    return slot < 0 ? 0 : this.entry(slot).relativeOffset;
  }

  /** Adds an entry unless the timestamp did not move on since the last one. */
  maybeAppend(timestampMs: number, relativeOffset: number): void {
    if (this.entryCount > 0 && timestampMs <= this.lastTimestampMs) return;
    if (!(this.entryCount === 0 || relativeOffset > this.words[(this.entryCount - 1) * ENTRY_WORDS + RELATIVE_OFFSET_WORD]!))
      assert.fail(`time index offsets must increase: ${relativeOffset}`);
    const word = this.reserveEntry(timestampMs);
    this.words[word + TIMESTAMP_LOW_WORD] = timestampMs % TWO_POW_32;
    this.words[word + TIMESTAMP_HIGH_WORD] = Math.floor(timestampMs / TWO_POW_32);
    this.words[word + RELATIVE_OFFSET_WORD] = relativeOffset;
    this.commitEntry();
  }

  /** Entries increase in both fields and point below `nextRelativeOffset`. */
  isConsistent(nextRelativeOffset: number): boolean {
    if (!this.keysIncrease()) return false;
    for (let slot = 1; slot < this.entryCount; slot++) {
      if (this.entry(slot).relativeOffset <= this.entry(slot - 1).relativeOffset) return false;
    }
    return this.entryCount === 0 || this.entry(this.entryCount - 1).relativeOffset < nextRelativeOffset;
  }
}
