import assert from 'node:assert/strict';
import type { LogPosition } from './recovery_point.js';

/*
 * The committed position, in a SharedArrayBuffer so that readers on other threads can read up to
 * it without asking the writer. Int32 words, guarded by a sequence lock (the writer makes the
 * sequence odd while it writes, even when done):
 *   0 sequence | 1 nextOffset low | 2 nextOffset high | 3 segmentBaseOffset low |
 *   4 segmentBaseOffset high | 5 position
 * Readers waiting for new records can Atomics.wait / waitAsync on word 0.
 */
const SEQUENCE_WORD = 0;
const NEXT_LOW_WORD = SEQUENCE_WORD + 1;
const NEXT_HIGH_WORD = NEXT_LOW_WORD + 1;
const SEGMENT_LOW_WORD = NEXT_HIGH_WORD + 1;
const SEGMENT_HIGH_WORD = SEGMENT_LOW_WORD + 1;
const POSITION_WORD = SEGMENT_HIGH_WORD + 1;
export const COMMITTED_POSITION_BYTES = (POSITION_WORD + 1) * 4;
const TWO_POW_32 = 0x1_0000_0000;
/** A publish is a handful of stores; a reader that retries this often has met a dead writer. */
const READ_ATTEMPTS_MAX = 1_000_000;

export class CommittedPosition {
  private readonly words: Int32Array;

  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(COMMITTED_POSITION_BYTES)) {
    assert(shared.byteLength >= COMMITTED_POSITION_BYTES, 'committed position buffer too small');
    this.words = new Int32Array(shared, 0, COMMITTED_POSITION_BYTES / 4);
  }

  /** Single writer only. Wakes every reader waiting on the sequence word. */
  publish(position: LogPosition): void {
    const words = this.words;
    const sequence = Atomics.load(words, SEQUENCE_WORD);
    Atomics.store(words, SEQUENCE_WORD, sequence + 1);
    Atomics.store(words, NEXT_LOW_WORD, position.nextOffset % TWO_POW_32);
    Atomics.store(words, NEXT_HIGH_WORD, Math.floor(position.nextOffset / TWO_POW_32));
    Atomics.store(words, SEGMENT_LOW_WORD, position.segmentBaseOffset % TWO_POW_32);
    Atomics.store(words, SEGMENT_HIGH_WORD, Math.floor(position.segmentBaseOffset / TWO_POW_32));
    Atomics.store(words, POSITION_WORD, position.positionBytes);
    Atomics.store(words, SEQUENCE_WORD, sequence + 2);
    Atomics.notify(words, SEQUENCE_WORD);
  }

  /** A consistent snapshot, from any thread. */
  read(): LogPosition {
    const words = this.words;
    for (let attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt++) {
      const before = Atomics.load(words, SEQUENCE_WORD);
      if ((before & 1) !== 0) continue;
      const position: LogPosition = {
        nextOffset: (Atomics.load(words, NEXT_HIGH_WORD) >>> 0) * TWO_POW_32 + (Atomics.load(words, NEXT_LOW_WORD) >>> 0),
        segmentBaseOffset: (Atomics.load(words, SEGMENT_HIGH_WORD) >>> 0) * TWO_POW_32 + (Atomics.load(words, SEGMENT_LOW_WORD) >>> 0),
        positionBytes: Atomics.load(words, POSITION_WORD) >>> 0,
      };
      if (Atomics.load(words, SEQUENCE_WORD) === before) return position;
    }
    assert.fail('committed position: writer never finished a publish');
  }

  /** The sequence word's current value, for Atomics.wait / waitAsync callers. */
  get sequence(): number {
    return Atomics.load(this.words, SEQUENCE_WORD);
  }
}
