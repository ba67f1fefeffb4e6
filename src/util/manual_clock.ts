import assert from 'node:assert/strict';

/*
 * A clock tests move forward (docs/TESTING.md, "A controllable clock"): real time plus an offset
 * in milliseconds, kept in a SharedArrayBuffer so that the engine's thread and every shard
 * worker read the same time (a function cannot cross to a worker thread; a SharedArrayBuffer
 * can). Between advances it runs at real time's pace, so that the timers, heartbeats, batching
 * windows and group commits built on setTimeout keep working as they do against Date.now; an
 * advance jumps every reader forward at once. The offset only grows: nothing moves the clock
 * back, but Date.now under it follows the system's clock as it always does.
 *
 * Layout: one BigInt64 (the offset), read and written with Atomics. One thread advances (the
 * engine's); any number read.
 */

const OFFSET_BYTES = 8;

export class ManualClock {
  private readonly offset: BigInt64Array;

  /** A new clock at real time plus `offsetMs`, or one over the buffer another thread created (`ManualClock.over`). */
  constructor(
    offsetMs = 0,
    readonly shared: SharedArrayBuffer = new SharedArrayBuffer(OFFSET_BYTES),
  ) {
    assert.equal(shared.byteLength, OFFSET_BYTES, 'a manual clock is one 64-bit offset');
    assert(Number.isSafeInteger(offsetMs) && offsetMs >= 0, `bad clock offset ${offsetMs}`);
    this.offset = new BigInt64Array(shared);
    if (offsetMs > 0) Atomics.add(this.offset, 0, BigInt(offsetMs));
  }

  /** The clock whose offset lives in `shared` (a shard worker's view of the engine's clock). */
  static over(shared: SharedArrayBuffer): ManualClock {
    return new ManualClock(0, shared);
  }

  /** Milliseconds since the epoch, as Date.now() counts them, plus every advance so far. */
  readonly now = (): number => Date.now() + this.offsetMs;

  get offsetMs(): number {
    return Number(Atomics.load(this.offset, 0));
  }

  /** Moves the clock `ms` forward for every thread; the caller has checked `ms` (a bad one is a bug). */
  advance(ms: number): void {
    assert(Number.isSafeInteger(ms) && ms > 0 && Number.isSafeInteger(this.offsetMs + ms), `bad clock advance ${ms}`);
    Atomics.add(this.offset, 0, BigInt(ms));
  }
}
