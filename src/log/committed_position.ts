import assert from 'node:assert/strict';
import type { LogPosition } from './recovery_point.js';

/*
 * The committed position, in a SharedArrayBuffer so that readers on other threads can read up to
 * it without asking the writer. Int32 words, guarded by a sequence lock (the writer makes the
 * sequence odd while it writes, even when done):
 *   0 sequence | 1 nextOffset low | 2 nextOffset high | 3 segmentBaseOffset low |
 *   4 segmentBaseOffset high | 5 position | 6 startOffset low | 7 startOffset high
 * startOffset is the log's first offset (retention moves it). Readers waiting for new records
 * can Atomics.wait / waitAsync on word 0.
 */
const SEQUENCE_WORD = 0;
const NEXT_LOW_WORD = SEQUENCE_WORD + 1;
const NEXT_HIGH_WORD = NEXT_LOW_WORD + 1;
const SEGMENT_LOW_WORD = NEXT_HIGH_WORD + 1;
const SEGMENT_HIGH_WORD = SEGMENT_LOW_WORD + 1;
const POSITION_WORD = SEGMENT_HIGH_WORD + 1;
const START_LOW_WORD = POSITION_WORD + 1;
const START_HIGH_WORD = START_LOW_WORD + 1;
export const COMMITTED_POSITION_BYTES = (START_HIGH_WORD + 1) * 4;
const TWO_POW_32 = 0x1_0000_0000;
/** A publish is a handful of stores; a reader that retries this often has met a dead writer. */
const READ_ATTEMPTS_MAX = 1_000_000;
/**
 * A reader that keeps finding a publish in progress sleeps (Atomics.wait, up to 1 ms, woken by
 * the publish's notify) once every this many attempts: its writer may have been descheduled
 * mid-publish on an overloaded machine, for longer than spinning lasts. So a reader gives a
 * writer at least READ_ATTEMPTS_MAX / READ_SPINS_PER_WAIT ms (1 s) before calling it dead.
 */
const READ_SPINS_PER_WAIT = 1000;

export class CommittedPosition {
  private readonly words: Int32Array;

  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(COMMITTED_POSITION_BYTES)) {
    assert(shared.byteLength >= COMMITTED_POSITION_BYTES, 'committed position buffer too small');
    this.words = new Int32Array(shared, 0, COMMITTED_POSITION_BYTES / 4);
  }

  /** Single writer only. Wakes every reader waiting on the sequence word. */
  publish(position: LogPosition): void {
    this.write(() => {
      this.storeU64(NEXT_LOW_WORD, position.nextOffset);
      this.storeU64(SEGMENT_LOW_WORD, position.segmentBaseOffset);
      Atomics.store(this.words, POSITION_WORD, position.positionBytes);
    });
  }

  /** Single writer only: the log's first offset moved (retention). */
  publishStart(startOffset: number): void {
    this.write(() => this.storeU64(START_LOW_WORD, startOffset));
  }

  /** A consistent snapshot, from any thread. */
  read(): LogPosition {
    return this.snapshot(() => ({
      nextOffset: this.loadU64(NEXT_LOW_WORD),
      segmentBaseOffset: this.loadU64(SEGMENT_LOW_WORD),
      positionBytes: Atomics.load(this.words, POSITION_WORD) >>> 0,
    }));
  }

  /** The log's first offset, from any thread. */
  readStart(): number {
    return this.snapshot(() => this.loadU64(START_LOW_WORD));
  }

  private write(store: () => void): void {
    // Odd while writing. A writer that died mid-publish (a worker killed) left it odd: its
    // successor keeps it odd rather than making it even while it writes.
    const writing = Atomics.load(this.words, SEQUENCE_WORD) | 1;
    Atomics.store(this.words, SEQUENCE_WORD, writing);
    store();
    Atomics.store(this.words, SEQUENCE_WORD, writing + 1);
    Atomics.notify(this.words, SEQUENCE_WORD);
  }

  private snapshot<T>(load: () => T): T {
    for (let attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt++) {
      const before = Atomics.load(this.words, SEQUENCE_WORD);
      if ((before & 1) !== 0) {
        if (attempt % READ_SPINS_PER_WAIT === READ_SPINS_PER_WAIT - 1) Atomics.wait(this.words, SEQUENCE_WORD, before, 1);
        continue;
      }
      const value = load();
      if (Atomics.load(this.words, SEQUENCE_WORD) === before) return value;
    }
    assert.fail('committed position: writer never finished a publish');
  }

  private storeU64(lowWord: number, value: number): void {
    Atomics.store(this.words, lowWord, value % TWO_POW_32);
    Atomics.store(this.words, lowWord + 1, Math.floor(value / TWO_POW_32));
  }

  private loadU64(lowWord: number): number {
    return (Atomics.load(this.words, lowWord + 1) >>> 0) * TWO_POW_32 + (Atomics.load(this.words, lowWord) >>> 0);
  }

  /** The sequence word's current value: pass it to waitForChange. */
  get sequence(): number {
    return Atomics.load(this.words, SEQUENCE_WORD);
  }

  /** Wakes every waiter without publishing: something else they watch changed (a shard closed). */
  wake(): void {
    Atomics.notify(this.words, SEQUENCE_WORD);
  }

  /**
   * Resolves when the writer publishes after `sequence` was read, or after `timeoutMs`. Push
   * consumers sleep here between appends instead of polling.
   */
  async waitForChange(sequence: number, timeoutMs: number): Promise<void> {
    const waited = Atomics.waitAsync(this.words, SEQUENCE_WORD, sequence, timeoutMs);
    if (waited.async) await waited.value;
  }
}
