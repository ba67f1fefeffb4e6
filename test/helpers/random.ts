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

/** The seed for a randomized test: SHARDLINE_SEED if set, else a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.SHARDLINE_SEED;
  return fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv);
}
