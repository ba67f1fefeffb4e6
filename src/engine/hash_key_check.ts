import { HASH_KEY_BYTES, PUT_RECORDS_RECORDS_MAX } from '../limits.js';
import { ValidationException } from '../errors.js';
import { FLAG_EXPLICIT_HASH_KEY, RECORD_FLAGS_POSITION, RECORD_HEADER_BYTES, RECORD_KEY_LENGTH_POSITION } from '../log/batch_format.js';
import { hashKeysOf } from '../native/md5_keys.js';
import { HASH_KEY_WORDS } from '../streams/hash_key.js';

/*
 * A binary PUT (docs/PROTOCOL.md) carries a hash key per record, computed by the client. Routing
 * by a key that is not the MD5 of its partition key would put one key's records in two shards
 * and lose their order, so the server hashes every key again (one native call for the whole
 * PUT) and refuses a PUT whose keys disagree. Records with an explicit hash key are routed by
 * the key stored with them, which the client chose: there is nothing to check.
 */

const keyStarts = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
const keyEnds = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
const recordIndices = new Uint32Array(PUT_RECORDS_RECORDS_MAX);
const md5Words = new Uint32Array(PUT_RECORDS_RECORDS_MAX * HASH_KEY_WORDS);

/**
 * Checks that `hashKeyWords` holds the MD5 of the partition key of each of the `count` staged
 * records that has no explicit hash key: record i starts at `recordStarts[i]` in `records`
 * (already validated, docs/FORMAT.md "Record"), its routing words are hashKeyWords[4 i ..].
 * ValidationException naming the first record whose key disagrees.
 */
export function checkHashKeys(records: Uint8Array, recordStarts: Uint32Array, count: number, hashKeyWords: Uint32Array): void {
  if (count > PUT_RECORDS_RECORDS_MAX) throw new RangeError(`at most ${PUT_RECORDS_RECORDS_MAX} records are checked at once, got ${count}`);
  let implicit = 0;
  for (let i = 0; i < count; i++) {
    const start = recordStarts[i]!;
    if ((records[start + RECORD_FLAGS_POSITION]! & FLAG_EXPLICIT_HASH_KEY) !== 0) continue;
    const keyStart = start + RECORD_HEADER_BYTES;
    keyStarts[implicit] = keyStart;
    keyEnds[implicit] = keyStart + (records[start + RECORD_KEY_LENGTH_POSITION]! | (records[start + RECORD_KEY_LENGTH_POSITION + 1]! << 8));
    recordIndices[implicit++] = i;
  }
  if (implicit === 0) return;
  hashKeysOf(records, keyStarts.subarray(0, implicit), keyEnds.subarray(0, implicit), md5Words);
  for (let j = 0; j < implicit; j++) {
    const at = recordIndices[j]! * HASH_KEY_WORDS;
    for (let w = 0; w < HASH_KEY_WORDS; w++) {
      if (md5Words[j * HASH_KEY_WORDS + w] !== hashKeyWords[at + w]) {
        throw new ValidationException(
          `Records.${recordIndices[j]! + 1}: its ${HASH_KEY_BYTES}-byte hash key is not the MD5 of its partition key`,
        );
      }
    }
  }
}
