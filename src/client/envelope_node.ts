import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { GCM_TAG_BYTES, type CipherBackend } from './envelope_cipher.js';

/**
 * AES-256-GCM through node:crypto. Synchronous: for records of a few KiB a cipher call costs
 * microseconds, less than the round trip through WebCrypto's promise and thread pool.
 */
export const nodeCipherBackend: CipherBackend<KeyObject> = {
  importKey: (raw) => createSecretKey(raw),

  seal(key, iv, plain, aad) {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  },

  open(key, iv, sealed, aad) {
    const ciphertextBytes = sealed.length - GCM_TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(ciphertextBytes));
    return Buffer.concat([decipher.update(sealed.subarray(0, ciphertextBytes)), decipher.final()]);
  },

  randomBytes: (length) => randomBytes(length),
};
