import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import {
  HASH_KEY_MAX,
  HASH_KEY_WORDS,
  HashKeyRouter,
  hashKeyBytes,
  initialHashKeyRanges,
  middleHashKey,
  parseHashKey,
  writeHashKeyWords,
} from '../../src/streams/hash_key.js';
import { hashKeyOf, hashKeysOf } from '../../src/native/md5_keys.js';
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

  it('splits a range at the first key of its upper half, the upper child a key larger when odd', () => {
    expect(middleHashKey({ startingHashKey: 0n, endingHashKey: HASH_KEY_MAX })).toBe(1n << 127n);
    expect(middleHashKey({ startingHashKey: 10n, endingHashKey: 13n })).toBe(12n);
    expect(middleHashKey({ startingHashKey: 10n, endingHashKey: 12n })).toBe(11n);
    expect(middleHashKey({ startingHashKey: 10n, endingHashKey: 11n })).toBe(11n);
  });

  it('hashes a partition key with MD5 read big-endian', () => {
    // md5("a") = 0cc175b9c0f1b6a831c399e269772661
    expect(hashKeyOf('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    expect(hashKeyOf('é')).toBe(BigInt(`0x${createHash('md5').update(Buffer.from('é', 'utf8')).digest('hex')}`));
  });

  it('hashes many keys in one native call exactly as node:crypto does, wherever they lie in the buffer', () => {
    const keys = ['a', 'é', 'user-42', 'x'.repeat(1024), '日本語のキー'];
    const encoded = keys.map((key) => Buffer.from(key, 'utf8'));
    // Keys with a gap byte between them, so starts and ends are not just a running sum.
    const bytes = Buffer.concat(encoded.flatMap((key) => [Buffer.from([0xff]), key]));
    const starts = new Uint32Array(keys.length);
    const ends = new Uint32Array(keys.length);
    let at = 0;
    encoded.forEach((key, i) => {
      starts[i] = at + 1;
      ends[i] = at + 1 + key.length;
      at = ends[i]!;
    });
    const words = new Uint32Array(keys.length * HASH_KEY_WORDS);
    hashKeysOf(bytes, starts, ends, words);
    keys.forEach((key, i) => {
      const expected = new Uint32Array(HASH_KEY_WORDS);
      writeHashKeyWords(hashKeyOf(key), expected, 0);
      expect([...words.subarray(i * HASH_KEY_WORDS, (i + 1) * HASH_KEY_WORDS)], key).toEqual([...expected]);
    });
  });

  it('refuses key ranges outside the buffer instead of reading past it', () => {
    const starts = Uint32Array.of(0);
    expect(() => hashKeysOf(Buffer.alloc(4), starts, Uint32Array.of(5), new Uint32Array(4))).toThrow(RangeError);
    expect(() => hashKeysOf(Buffer.alloc(4), Uint32Array.of(3), Uint32Array.of(2), new Uint32Array(4))).toThrow(RangeError);
    expect(() => hashKeysOf(Buffer.alloc(4), Uint32Array.of(0, 0), Uint32Array.of(1, 1), new Uint32Array(4))).toThrow(RangeError);
  });

  it.each(['', '-1', '1.5', ' 1', '0x10', '340282366920938463463374607431768211456', '1'.repeat(40)])(
    'rejects the explicit hash key %j',
    (text) => {
      expect(() => parseHashKey(text)).toThrow(InvalidArgumentException);
    },
  );

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
        const words = new Uint32Array(HASH_KEY_WORDS);
        writeHashKeyWords(key, words, 0);
        expect(router.routeWords(words, 0).index, `seed ${seed}, ${count} shards, key ${key} as words`).toBe(owner.index);
      }
    }
  });

  it('refuses shard sets with a gap or overlap', () => {
    const [a, b] = initialHashKeyRanges(2) as [
      { startingHashKey: bigint; endingHashKey: bigint },
      { startingHashKey: bigint; endingHashKey: bigint },
    ];
    expect(() => new HashKeyRouter([a])).toThrow(RangeError);
    expect(() => new HashKeyRouter([a, { ...b, startingHashKey: b.startingHashKey + 1n }])).toThrow(RangeError);
  });
});
