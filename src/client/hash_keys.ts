import { md5 } from 'js-md5';
import { InvalidArgumentException } from '../errors.js';
import { HASH_KEY_MAX } from '../streams/hash_key.js';

/*
 * Hash keys computed by the client, so the server only routes (docs/PROTOCOL.md, PUT): the MD5
 * of the partition key's UTF-8, big-endian, as Kinesis defines it. js-md5 runs in browsers,
 * which have no MD5 in WebCrypto, and is ~4x faster than node:crypto for short keys; producers
 * reuse keys, so recent keys' hashes are kept.
 */

const CACHE_ENTRIES_MAX = 16_384;

export class HashKeys {
  private readonly cache = new Map<string, Uint8Array>();

  /** The 16-byte big-endian hash key of a partition key. */
  of(partitionKey: string): Uint8Array {
    const cached = this.cache.get(partitionKey);
    if (cached !== undefined) return cached;
    const digest = Uint8Array.from(md5.array(partitionKey));
    // Dropping everything at the bound keeps this O(1); hot keys come back on the next put.
    if (this.cache.size >= CACHE_ENTRIES_MAX) this.cache.clear();
    this.cache.set(partitionKey, digest);
    return digest;
  }
}

/**
 * An ExplicitHashKey (a decimal string in [0, 2^128 - 1]) as the 16-byte big-endian routing key
 * and the 16-byte little-endian form stored with the record.
 */
export function explicitHashKey(text: string): { routing: Uint8Array; stored: Uint8Array } {
  if (typeof text !== 'string' || !/^\d{1,39}$/.test(text) || BigInt(text) > HASH_KEY_MAX) {
    throw new InvalidArgumentException(`ExplicitHashKey must be a decimal integer from 0 to ${HASH_KEY_MAX}, got ${JSON.stringify(text)}`);
  }
  let rest = BigInt(text);
  const stored = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    stored[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return { routing: stored.slice().reverse(), stored };
}
