import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../src/client/rate_limiter.js';

// Goal: the Producer's RateLimit lets records through per shard at the given share of the
// shard's write limit, records and bytes, one second's allowance as a burst, in arrival order.
// Method: the limiter on a clock of our own, with vitest's fake timers for its waits; what was
// sent is read after each step of the clock.

describe('RateLimiter', () => {
  let nowMs = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    nowMs = 0;
  });
  afterEach(() => vi.useRealTimers());
  const advance = (ms: number): void => {
    nowMs += ms;
    vi.advanceTimersByTime(ms);
  };

  it('sends one second of 150 % of a provisioned shard at once, then 1.5 records per millisecond', () => {
    const limiter = new RateLimiter(150, () => nowMs);
    const sent: number[] = [];
    for (let i = 0; i < 1600; i++) limiter.schedule('s\nshard-0', 'PROVISIONED', 10, () => sent.push(i));
    expect(sent).toHaveLength(1500);
    expect(limiter.waiting).toBe(100);
    advance(2);
    expect(sent).toHaveLength(1503);
    advance(100);
    expect(sent).toEqual(Array.from({ length: 1600 }, (_, i) => i));
    expect(limiter.waiting).toBe(0);
  });

  it('limits bytes too: 100 % of 1 MiB/s, and lets a record larger than the bucket through once it is full', () => {
    const limiter = new RateLimiter(100, () => nowMs);
    const sent: string[] = [];
    limiter.schedule('s\nshard-0', 'PROVISIONED', 600 * 1024, () => sent.push('a'));
    limiter.schedule('s\nshard-0', 'PROVISIONED', 600 * 1024, () => sent.push('b'));
    expect(sent).toEqual(['a']);
    advance(100); // 100 KiB earned of the 176 KiB missing
    expect(sent).toEqual(['a']);
    advance(80);
    expect(sent).toEqual(['a', 'b']);
    const small = new RateLimiter(10, () => nowMs); // a bucket of 102.4 KiB
    small.schedule('s\nshard-0', 'PROVISIONED', 1024 * 1024, () => sent.push('big'));
    expect(sent).toContain('big');
  });

  it('keeps shards apart, and gives an on-demand shard four times the provisioned rate', () => {
    const limiter = new RateLimiter(100, () => nowMs);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 5000; i++) {
      limiter.schedule('s\nshard-a', 'PROVISIONED', 1, () => counts.a++);
      limiter.schedule('s\nshard-b', 'PROVISIONED', 1, () => counts.b++);
      limiter.schedule('t\nshard-c', 'ON_DEMAND', 1, () => counts.c++);
    }
    expect(counts).toEqual({ a: 1000, b: 1000, c: 4000 });
  });
});
