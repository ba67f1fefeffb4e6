import { InvalidArgumentException } from '../../src/errors.js';

/** The seeded PRNG randomized tests replay exactly from their seed. */
export { seededRandom } from '../../src/util/seeded_random.js';

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
