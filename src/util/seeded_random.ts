/**
 * mulberry32: a 32-bit state, so a seed is the whole state and the same seed gives the same
 * draws on every platform. Statistically plain, which is all a fault schedule or a randomized
 * test needs.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
