import { InvalidArgumentException } from '../errors.js';
import { floorIndex } from '../util/floor_index.js';

/*
 * Kinesis routing: a record's 128-bit hash key is the MD5 of its partition key (UTF-8), read as a
 * big-endian unsigned integer, unless the producer gives an ExplicitHashKey (a decimal string).
 * Each open shard owns a contiguous range of hash keys; together they cover [0, 2^128 - 1].
 */

export const HASH_KEY_MAX = (1n << 128n) - 1n;
const HASH_KEY_DIGITS_MAX = 39;

export interface HashKeyRange {
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

/** A 128-bit hash key as four u32 words, most significant first: routing compares numbers, not BigInts. */
export const HASH_KEY_WORDS = 4;

/** Writes a hash key as routing words at words[at .. at + 3]. */
export function writeHashKeyWords(hashKey: bigint, words: Uint32Array, at: number): void {
  for (let w = 0; w < HASH_KEY_WORDS; w++) words[at + w] = Number((hashKey >> BigInt(96 - 32 * w)) & 0xffff_ffffn);
}

/** Parses an ExplicitHashKey: a decimal integer in [0, 2^128 - 1], without sign or spaces. */
export function parseHashKey(text: string, field = 'ExplicitHashKey'): bigint {
  if (typeof text !== 'string' || !/^\d{1,39}$/.test(text) || text.length > HASH_KEY_DIGITS_MAX) {
    throw new InvalidArgumentException(`${field} must be a decimal integer from 0 to ${HASH_KEY_MAX}, got ${JSON.stringify(text)}`);
  }
  const value = BigInt(text);
  if (value > HASH_KEY_MAX) throw new InvalidArgumentException(`${field} ${text} is above ${HASH_KEY_MAX}`);
  return value;
}

/** The 16-byte little-endian form the log stores (docs/FORMAT.md, record explicitHashKey). */
export function hashKeyBytes(hashKey: bigint): Uint8Array {
  const bytes = new Uint8Array(16);
  let rest = hashKey;
  for (let i = 0; i < 16; i++) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/** The first hash key of a range's upper half: a split there gives both children half (the upper one a key more if odd). */
export function middleHashKey(range: HashKeyRange): bigint {
  return range.startingHashKey + (range.endingHashKey - range.startingHashKey + 1n) / 2n;
}

/**
 * The hash key ranges of a new stream of `shardCount` shards, as Kinesis splits them: equal
 * ranges of floor(2^128 / shardCount) keys, the last one running to 2^128 - 1.
 */
export function initialHashKeyRanges(shardCount: number): HashKeyRange[] {
  const size = (1n << 128n) / BigInt(shardCount);
  return Array.from({ length: shardCount }, (_, i) => ({
    startingHashKey: BigInt(i) * size,
    endingHashKey: i === shardCount - 1 ? HASH_KEY_MAX : BigInt(i + 1) * size - 1n,
  }));
}

/**
 * Finds the open shard whose range holds a hash key: the ranges, sorted by starting key, cover
 * the whole key space without overlap, so a binary search on starting keys is enough.
 */
export class HashKeyRouter<Shard extends HashKeyRange> {
  private readonly shards: readonly Shard[];
  private readonly startWords: Uint32Array;

  constructor(openShards: readonly Shard[]) {
    this.shards = [...openShards].sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : 1));
    assertCovering(this.shards);
    this.startWords = new Uint32Array(this.shards.length * HASH_KEY_WORDS);
    this.shards.forEach((shard, i) => writeHashKeyWords(shard.startingHashKey, this.startWords, i * HASH_KEY_WORDS));
  }

  route(hashKey: bigint): Shard {
    return this.shards[floorIndex(this.shards, hashKey, (shard) => shard.startingHashKey)]!;
  }

  /** route() for a hash key given as words[at .. at + 3] (see hashKeysOf). */
  routeWords(words: Uint32Array, at: number): Shard {
    let low = 0;
    let high = this.shards.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.startsAtOrBelow(middle, words, at)) low = middle;
      else high = middle - 1;
    }
    return this.shards[low]!;
  }

  /** Whether shard `index` starts at or below the hash key words[at .. at + 3]. */
  private startsAtOrBelow(index: number, words: Uint32Array, at: number): boolean {
    const start = this.startWords;
    for (let w = 0; w < HASH_KEY_WORDS; w++) {
      const a = start[index * HASH_KEY_WORDS + w]!;
      const b = words[at + w]!;
      if (a !== b) return a < b;
    }
    return true;
  }
}

function assertCovering(shards: readonly HashKeyRange[]): void {
  let next = 0n;
  for (const shard of shards) {
    if (shard.startingHashKey !== next || shard.endingHashKey < shard.startingHashKey) {
      throw new RangeError(`open shards must cover the hash key space without gaps or overlaps (at ${next})`);
    }
    next = shard.endingHashKey + 1n;
  }
  if (next !== HASH_KEY_MAX + 1n) throw new RangeError(`open shards end at ${next - 1n}, not at ${HASH_KEY_MAX}`);
}
