import { describe, expect, it } from 'vitest';
import { COMMITTED_POSITION_BYTES, CommittedPosition } from '../../src/log/committed_position.js';
import { nextMessage, tsWorker } from '../helpers/ts_worker.js';

// Goal: a reader on another thread never sees a half-published position, nor one going back.
// Method: a worker reads in a tight loop while this thread publishes positions whose fields
// are tied together (segment = 3n, position = 7n), large enough to use both halves of u64s.

describe('CommittedPosition', () => {
  it('round-trips values above 2^32 in one thread', () => {
    const position = new CommittedPosition();
    position.publish({ nextOffset: 2 ** 40 + 5, segmentBaseOffset: 2 ** 33, positionBytes: 4_000_000_000 });
    expect(position.read()).toEqual({ nextOffset: 2 ** 40 + 5, segmentBaseOffset: 2 ** 33, positionBytes: 4_000_000_000 });
  });

  it('publishes after a writer that died mid-publish, leaving the sequence odd', () => {
    const shared = new SharedArrayBuffer(COMMITTED_POSITION_BYTES);
    new Int32Array(shared)[0] = 7; // a dead writer's: odd, a publish never finished
    const position = new CommittedPosition(shared);
    position.publish({ nextOffset: 12, segmentBaseOffset: 10, positionBytes: 300 });
    expect(position.read()).toEqual({ nextOffset: 12, segmentBaseOffset: 10, positionBytes: 300 });
    expect(position.sequence % 2).toBe(0);
  });

  it('is never torn for a reader on another thread', async () => {
    const position = new CommittedPosition();
    const base = 2 ** 32 - 50_000; // crosses the low/high word boundary during the run
    const last = base + 200_000;
    position.publish({ nextOffset: base, segmentBaseOffset: base * 3, positionBytes: (base * 7) % 2 ** 32 });
    const worker = tsWorker(new URL('./fixtures/position_reader.ts', import.meta.url), { workerData: { shared: position.shared, last } });
    await nextMessage<'reading'>(worker);
    const answer = nextMessage<{ reads: number; torn: number; backwards: number; lastSeen: number }>(worker);
    for (let n = base + 1; n <= last; n++) {
      position.publish({ nextOffset: n, segmentBaseOffset: n * 3, positionBytes: (n * 7) % 2 ** 32 });
      if (n % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await answer;
    expect(result.torn).toBe(0);
    expect(result.backwards).toBe(0);
    expect(result.lastSeen).toBe(last);
    expect(result.reads).toBeGreaterThan(1000);
  });
});
