import { createHash } from 'node:crypto';
import { native } from './native.js';

/*
 * MD5 of partition keys on the server, the first step of Kinesis routing (src/streams/hash_key.ts
 * holds the rest, which is pure). The browser client hashes with js-md5 instead.
 */

/** The hash key of a partition key: MD5 of its UTF-8, read as a big-endian integer. */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/**
 * Hashes many partition keys at once: key i is bytes [starts[i], ends[i]) (its UTF-8), and its
 * hash key goes to words[4 i .. 4 i + 3]. One native call for all of them: node:crypto costs
 * ~1-2 us a key here, almost all of it the crossing into C++ (src/native/md5.cc).
 */
export function hashKeysOf(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array, words: Uint32Array): void {
  native.md5Many(bytes, starts, ends, words);
}
