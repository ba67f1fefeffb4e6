import { describe, expect, it } from 'vitest';
import { ROWTIME_SLACK_MS, Watermark } from '../../src/queries/watermark.js';

// Goal: the watermark's rules, one by one: the oldest of the shards' newest times; an expected
// shard that has delivered nothing holds it; a shard read to its end and quiet for the idle
// timeout stops holding it; a quiet shard that wakes makes the other quiet ones hold it again;
// ROWTIME's caught-up shards are known up to now less the slack; it never goes back; a restored
// watermark starts where it was. Method: the class alone, with times chosen by the test.

const IDLE_MS = 2000;

describe('the watermark', () => {
  it('is the oldest newest time, held by a shard that has delivered nothing', () => {
    const watermark = new Watermark(false, IDLE_MS);
    watermark.expect('a', 0);
    watermark.expect('b', 0);
    watermark.delivered('a', 5000, false, 10);
    expect(watermark.advance(10)).toBe(-Infinity);
    watermark.delivered('b', 3000, false, 20);
    expect(watermark.advance(20)).toBe(3000);
    watermark.delivered('b', 1000, false, 30);
    expect(watermark.advance(30)).toBe(3000);
  });

  it('lets a caught-up shard go after the idle timeout, and holds again when a quiet shard wakes', () => {
    const watermark = new Watermark(false, IDLE_MS);
    watermark.delivered('a', 5000, true, 0);
    watermark.delivered('b', 3000, true, 0);
    expect(watermark.advance(IDLE_MS - 1)).toBe(3000);
    expect(watermark.advance(IDLE_MS)).toBe(5000);
    // a wakes after being quiet: b, quiet too, holds the watermark again at its newest.
    watermark.delivered('a', 9000, true, 10_000);
    expect(watermark.advance(10_000)).toBe(5000);
    watermark.delivered('b', 8000, true, 10_001);
    expect(watermark.advance(10_001)).toBe(8000);
    expect(watermark.advance(10_001 + IDLE_MS)).toBe(9000);
  });

  it('does not let a shard that is behind go, however long it is quiet', () => {
    const watermark = new Watermark(false, IDLE_MS);
    watermark.delivered('a', 5000, false, 0);
    watermark.delivered('b', 9000, true, 0);
    expect(watermark.advance(60_000)).toBe(5000);
  });

  it('knows a caught-up ROWTIME shard up to now less the slack', () => {
    const watermark = new Watermark(true, IDLE_MS);
    watermark.expect('a', 0);
    watermark.delivered('b', 1000, true, 0);
    expect(watermark.advance(50_000)).toBe(-Infinity);
    watermark.delivered('a', 2000, false, 50_000);
    expect(watermark.advance(50_000)).toBe(2000);
    watermark.delivered('a', 49_000, true, 50_000);
    expect(watermark.advance(50_000)).toBe(50_000 - ROWTIME_SLACK_MS);
  });

  it('starts from its snapshot, with every shard behind', () => {
    const watermark = new Watermark(false, IDLE_MS);
    watermark.delivered('a', 4000, true, 0);
    watermark.delivered('b', 7000, true, 0);
    expect(watermark.advance(0)).toBe(4000);
    const restored = Watermark.restore(false, IDLE_MS, watermark.snapshot(), 100_000);
    expect(restored.currentMs).toBe(4000);
    expect(restored.advance(200_000)).toBe(4000);
    restored.ended('a');
    expect(restored.advance(200_000)).toBe(7000);
  });
});
