import { InvalidArgumentException } from '../../src/errors.js';

/** A small seeded PRNG (mulberry32) so randomized tests replay exactly from their seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed for a randomized test: SHARDLINE_SEED if set, else a fresh one. A value that is not a
 * whole number is refused: read as 0 it would replay some other run than the one asked for.
 */
export function testSeed(): number {
  const fromEnv = process.env.SHARDLINE_SEED;
  if (fromEnv === undefined) return Math.floor(Math.random() * 2 ** 31);
  if (!/^\d+$/.test(fromEnv) || !Number.isSafeInteger(Number(fromEnv))) {
    throw new InvalidArgumentException(`SHARDLINE_SEED must be a whole number, got ${JSON.stringify(fromEnv)}`);
  }
  return Number(fromEnv);
}
