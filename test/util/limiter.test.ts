import { describe, expect, it } from 'vitest';
import { Limiter } from '../../src/util/limiter.js';

// Goal: a Limiter runs at most `max` tasks at once, starts the waiting ones in order as others
// end (whether they resolve or throw), and passes results and errors through.
// Method: tasks that wait on promises the test settles by hand; the verdict is the order of starts.

function gate(): { promise: Promise<void>; open: () => void; fail: () => void } {
  let open!: () => void;
  let fail!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = () => reject(new Error('task failed'));
  });
  return { promise, open, fail };
}

const turns = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('runs at most max tasks at once and the rest in order, after ends and failures alike', async () => {
    const limiter = new Limiter(2);
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, gate);
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await turns();
    expect(started).toEqual([0, 1]);
    gates[1]!.fail();
    await expect(runs[1]).rejects.toThrow('task failed');
    await turns();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    expect(await runs[0]).toBe(0);
    await turns();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    expect(await Promise.all(runs.slice(2))).toEqual([2, 3, 4]);
    // Every slot is free again: two new tasks start at once.
    const later: number[] = [];
    const held = [gate(), gate()];
    const more = held.map((g, i) =>
      limiter.run(async () => {
        later.push(i);
        await g.promise;
      }),
    );
    await turns();
    expect(later).toEqual([0, 1]);
    for (const g of held) g.open();
    await Promise.all(more);
  });

  it('starts urgent waiters before the others, each kind in order', async () => {
    const limiter = new Limiter(1);
    const started: string[] = [];
    const first = gate();
    const runs = [limiter.run(() => first.promise)];
    for (const [name, urgent] of [
      ['a', false],
      ['b', true],
      ['c', false],
      ['d', true],
    ] as const)
      runs.push(limiter.run(async () => void started.push(name), urgent));
    first.open();
    await Promise.all(runs);
    expect(started).toEqual(['b', 'd', 'a', 'c']);
  });
});
