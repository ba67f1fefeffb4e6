import { describe, expect, it } from 'vitest';
import { holdsHashKey, routeEntry } from '../../src/engine/shard_registry.js';
import { HASH_KEY_MAX, HASH_KEY_WORDS, HashKeyRouter, initialHashKeyRanges, writeHashKeyWords } from '../../src/streams/hash_key.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: the check the put path asserts on every routed record (the shard's range holds the
// record's hash key) agrees with plain BigInt comparison, at the range edges and in between,
// and the router always picks a shard that passes it. Method: seeded random hash keys against
// a BigInt oracle, plus each range's first and last key and their neighbours.

const seed = testSeed();

function randomHashKey(random: () => number): bigint {
  let key = 0n;
  for (let w = 0; w < HASH_KEY_WORDS; w++) key = (key << 32n) | BigInt(Math.floor(random() * 2 ** 32));
  return key;
}

describe(`routing check (seed ${seed})`, () => {
  it("holds a hash key exactly when the shard's range does, and the router picks that shard", () => {
    const random = seededRandom(seed);
    const entries = initialHashKeyRanges(7).map((range, i) =>
      routeEntry({
        shardId: `shardId-${i}`,
        serial: i,
        startingHashKey: range.startingHashKey.toString(),
        endingHashKey: range.endingHashKey.toString(),
      }),
    );
    const router = new HashKeyRouter(entries);
    const edges = entries
      .flatMap((entry) => [entry.startingHashKey - 1n, entry.startingHashKey, entry.endingHashKey, entry.endingHashKey + 1n])
      .filter((key) => key >= 0n && key <= HASH_KEY_MAX);
    const keys = [...edges, ...Array.from({ length: 2000 }, () => randomHashKey(random))];
    const words = new Uint32Array(HASH_KEY_WORDS);
    for (const key of keys) {
      writeHashKeyWords(key, words, 0);
      for (const entry of entries)
        expect(holdsHashKey(entry, words, 0), `${key} in ${entry.shard.shardId}`).toBe(
          entry.startingHashKey <= key && key <= entry.endingHashKey,
        );
      expect(holdsHashKey(router.routeWords(words, 0), words, 0), String(key)).toBe(true);
    }
  });
});
