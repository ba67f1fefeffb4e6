import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CorruptLogError } from '../errors.js';
import {
  ATTRIBUTES_POSITION,
  BATCH_BYTES_MAX,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_POSITION,
  CHECKSUM_POSITION,
  RESERVED_POSITION,
} from './batch_format.js';
import { checksum } from './checksum.js';

/*
 * Encryption at rest of a record batch (docs/FORMAT.md, "Encrypted batches"): the header stays
 * plaintext (recovery and the indexes walk by it, and the checksum still finds a torn write
 * without the key); attributes bit 0 marks the batch, the reserved word names the stream's data
 * key, and the records become nonce | AES-256-GCM ciphertext | tag, with the header's bytes
 * [8, 40) as additional data, so a batch copied to another offset or shard does not open.
 */

export const ATTRIBUTE_ENCRYPTED = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const ENCRYPTION_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;
/** The largest batch on disk: one of BATCH_BYTES_MAX encrypted. */
export const BATCH_STORED_BYTES_MAX = BATCH_BYTES_MAX + ENCRYPTION_OVERHEAD_BYTES;
const ALGORITHM = 'aes-256-gcm';

/** A data key of a stream: its number (1 and up, as stored in the batch) and its 32 bytes. */
export interface BatchKey {
  readonly number: number;
  readonly key: Uint8Array;
}

export function isEncrypted(buf: Buffer, position: number): boolean {
  return (buf[position + ATTRIBUTES_POSITION]! & ATTRIBUTE_ENCRYPTED) !== 0;
}

/** The data key number of an encrypted batch. */
export function dataKeyNumber(buf: Buffer, position: number): number {
  return buf.readUInt32LE(position + RESERVED_POSITION);
}

/** A sealed plaintext batch as it is stored encrypted: a new buffer, checksum included. */
export function encryptBatch(plain: Buffer, key: BatchKey): Buffer {
  const records = plain.subarray(BATCH_HEADER_BYTES);
  const stored = Buffer.allocUnsafe(plain.length + ENCRYPTION_OVERHEAD_BYTES);
  plain.copy(stored, 0, 0, BATCH_HEADER_BYTES);
  stored.writeUInt32LE(stored.length, BATCH_LENGTH_POSITION);
  stored[ATTRIBUTES_POSITION] = ATTRIBUTE_ENCRYPTED;
  stored.writeUInt32LE(key.number, RESERVED_POSITION);
  const nonce = randomBytes(NONCE_BYTES);
  nonce.copy(stored, BATCH_HEADER_BYTES);
  const cipher = createCipheriv(ALGORITHM, key.key, nonce);
  cipher.setAAD(stored.subarray(BATCH_LENGTH_POSITION, BATCH_HEADER_BYTES));
  let at = BATCH_HEADER_BYTES + NONCE_BYTES;
  at += cipher.update(records).copy(stored, at);
  at += cipher.final().copy(stored, at);
  cipher.getAuthTag().copy(stored, at);
  stored.writeBigUInt64LE(checksum(stored.subarray(BATCH_LENGTH_POSITION)), CHECKSUM_POSITION);
  return stored;
}

/**
 * The plaintext batch of the encrypted one at `position` (a new buffer, as the writer sealed it
 * before encryption); `where` names it in the error for a key that does not open it.
 */
export function decryptBatch(buf: Buffer, position: number, key: Uint8Array, where: string): Buffer {
  const storedBytes = buf.readUInt32LE(position + BATCH_LENGTH_POSITION);
  const header = buf.subarray(position, position + BATCH_HEADER_BYTES);
  const nonce = buf.subarray(position + BATCH_HEADER_BYTES, position + BATCH_HEADER_BYTES + NONCE_BYTES);
  const tagAt = position + storedBytes - TAG_BYTES;
  const plain = Buffer.allocUnsafe(storedBytes - ENCRYPTION_OVERHEAD_BYTES);
  header.copy(plain, 0);
  const decipher = createDecipheriv(ALGORITHM, key, nonce);
  decipher.setAAD(header.subarray(BATCH_LENGTH_POSITION));
  decipher.setAuthTag(buf.subarray(tagAt, tagAt + TAG_BYTES));
  try {
    let at = BATCH_HEADER_BYTES;
    at += decipher.update(buf.subarray(position + BATCH_HEADER_BYTES + NONCE_BYTES, tagAt)).copy(plain, at);
    decipher.final().copy(plain, at);
  } catch (error) {
    throw new CorruptLogError(
      `${where}: the encrypted batch does not open with data key ${dataKeyNumber(buf, position)} (a wrong key, or changed bytes)`,
      {
        cause: error,
      },
    );
  }
  plain.writeUInt32LE(plain.length, BATCH_LENGTH_POSITION);
  plain[ATTRIBUTES_POSITION] = 0;
  plain.writeUInt32LE(0, RESERVED_POSITION);
  plain.writeBigUInt64LE(checksum(plain.subarray(BATCH_LENGTH_POSITION)), CHECKSUM_POSITION);
  return plain;
}

/**
 * The chunk's batches with the encrypted ones opened (`keyOf` gives a data key by number): the
 * chunk itself when none is encrypted, else a new buffer of plaintext batches. `where` names
 * the log or shard in the CorruptLog of a batch no key opens.
 */
export function openBatches(chunk: Buffer, keyOf: (number: number) => Uint8Array | undefined, where: string): Buffer {
  let encrypted = false;
  for (let at = 0; at < chunk.length && !encrypted; at += chunk.readUInt32LE(at + BATCH_LENGTH_POSITION))
    encrypted = isEncrypted(chunk, at);
  if (!encrypted) return chunk;
  const parts: Buffer[] = [];
  for (let at = 0; at < chunk.length;) {
    const bytes = chunk.readUInt32LE(at + BATCH_LENGTH_POSITION);
    if (!isEncrypted(chunk, at)) parts.push(chunk.subarray(at, at + bytes));
    else {
      const number = dataKeyNumber(chunk, at);
      const key = keyOf(number);
      if (key === undefined) throw new CorruptLogError(`${where}: no data key ${number} to open an encrypted batch with`);
      parts.push(decryptBatch(chunk, at, key, where));
    }
    at += bytes;
  }
  return Buffer.concat(parts);
}
