import type { KinesisShard } from '../streams/api_types.js';

/*
 * Hash key arithmetic for the shard table and the resharding forms. Keys are decimal strings of
 * 128-bit numbers (Kinesis' HashKeyRange), beyond a double's 53 bits: BigInt.
 */

type HashKeyRange = KinesisShard['HashKeyRange'];

const HASH_SPACE = 1n << 128n;
/** The share is computed in parts per billion, so that a tiny range does not round to 0 too early. */
const SHARE_SCALE = 1_000_000_000n;

export function isOpen(shard: KinesisShard): boolean {
  return shard.SequenceNumberRange.EndingSequenceNumber === undefined;
}

/** The share of the whole hash space the range covers, from 0 to 1. */
export function hashShare(range: HashKeyRange): number {
  const width = BigInt(range.EndingHashKey) - BigInt(range.StartingHashKey) + 1n;
  return Number((width * SHARE_SCALE) / HASH_SPACE) / Number(SHARE_SCALE);
}

/** Where the range starts in the hash space, from 0 to 1 (the bar's offset). */
export function hashOffset(range: HashKeyRange): number {
  return Number((BigInt(range.StartingHashKey) * SHARE_SCALE) / HASH_SPACE) / Number(SHARE_SCALE);
}

/** The NewStartingHashKey that halves the range: the second child starts there. */
export function middleHashKey(range: HashKeyRange): string {
  return ((BigInt(range.StartingHashKey) + BigInt(range.EndingHashKey) + 1n) / 2n).toString();
}

/** A range of one key cannot be split: the new starting key must lie above the first. */
export function canSplit(range: HashKeyRange): boolean {
  return BigInt(range.EndingHashKey) > BigInt(range.StartingHashKey);
}

/** The pairs of open shards MergeShards accepts: one's range ends where the other's begins. */
export function adjacentPairs(shards: readonly KinesisShard[]): Array<readonly [KinesisShard, KinesisShard]> {
  const open = shards.filter(isOpen).sort((a, b) => compareKeys(a.HashKeyRange.StartingHashKey, b.HashKeyRange.StartingHashKey));
  const pairs: Array<readonly [KinesisShard, KinesisShard]> = [];
  for (let i = 1; i < open.length; i++) {
    const [low, high] = [open[i - 1]!, open[i]!];
    if (BigInt(low.HashKeyRange.EndingHashKey) + 1n === BigInt(high.HashKeyRange.StartingHashKey)) pairs.push([low, high]);
  }
  return pairs;
}

export function compareKeys(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
