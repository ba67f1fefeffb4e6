import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import { HASH_KEY_MAX, HashKeyRouter, hashKeyBytes, hashKeyOf, initialHashKeyRanges, parseHashKey } from '../../src/workers/hash_key.js';
import { seededRandom, testSeed } from '../helpers/random.js';

describe('hash keys', () => {
  it('splits a new stream as Kinesis does (reference: a 3-shard stream described by the AWS CLI)', () => {
    const ranges = initialHashKeyRanges(3).map((r) => [r.startingHashKey.toString(), r.endingHashKey.toString()]);
    expect(ranges).toEqual([
      ['0', '113427455640312821154458202477256070484'],
      ['113427455640312821154458202477256070485', '226854911280625642308916404954512140969'],
      ['226854911280625642308916404954512140970', '340282366920938463463374607431768211455'],
    ]);
    expect(initialHashKeyRanges(1)).toEqual([{ startingHashKey: 0n, endingHashKey: HASH_KEY_MAX }]);
  });

  it('hashes a partition key with MD5 read big-endian', () => {
    // md5("a") = 0cc175b9c0f1b6a831c399e269772661
    expect(hashKeyOf('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    expect(hashKeyOf('é')).toBe(BigInt(`0x${createHash('md5').update(Buffer.from('é', 'utf8')).digest('hex')}`));
  });

  it.each(['', '-1', '1.5', ' 1', '0x10', '340282366920938463463374607431768211456', '1'.repeat(40)])('rejects the explicit hash key %j', (text) => {
    expect(() => parseHashKey(text)).toThrow(InvalidArgumentException);
  });

  it('accepts explicit hash keys at both ends of the range and stores them little-endian', () => {
    expect(parseHashKey('0')).toBe(0n);
    expect(parseHashKey(HASH_KEY_MAX.toString())).toBe(HASH_KEY_MAX);
    expect([...hashKeyBytes(0x0102n)]).toEqual([2, 1, ...new Array(14).fill(0)]);
    expect([...hashKeyBytes(HASH_KEY_MAX)]).toEqual(new Array(16).fill(255));
  });

  it('routes every hash key to the one shard whose range holds it', () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    for (const count of [1, 2, 3, 7, 64]) {
      const shards = initialHashKeyRanges(count).map((range, index) => ({ ...range, index }));
      const router = new HashKeyRouter(shards.slice().reverse());
      const probes = [0n, HASH_KEY_MAX, ...shards.flatMap((s) => [s.startingHashKey, s.endingHashKey])];
      for (let i = 0; i < 200; i++) probes.push(hashKeyOf(`key-${random()}`));
      for (const key of probes) {
        const owner = shards.find((s) => s.startingHashKey <= key && key <= s.endingHashKey)!;
        expect(router.route(key).index, `seed ${seed}, ${count} shards, key ${key}`).toBe(owner.index);
      }
    }
  });

  it('refuses shard sets with a gap or overlap', () => {
    const [a, b] = initialHashKeyRanges(2) as [{ startingHashKey: bigint; endingHashKey: bigint }, { startingHashKey: bigint; endingHashKey: bigint }];
    expect(() => new HashKeyRouter([a])).toThrow(RangeError);
    expect(() => new HashKeyRouter([a, { ...b, startingHashKey: b.startingHashKey + 1n }])).toThrow(RangeError);
  });
});
