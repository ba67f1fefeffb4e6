import { GCM_TAG_BYTES, type CipherBackend } from './envelope_cipher.js';

type WebCryptoKey = Awaited<ReturnType<SubtleCrypto['importKey']>>;
type SubtleCrypto = typeof globalThis.crypto.subtle;

const GCM_TAG_BITS = GCM_TAG_BYTES * 8;

/**
 * AES-256-GCM through WebCrypto (globalThis.crypto), which browsers and Node 20 both have.
 * Looked up at each call, not at import, so that importing this module never fails where
 * WebCrypto is missing (an insecure browser context has no `crypto.subtle`).
 */
export const webCipherBackend: CipherBackend<WebCryptoKey> = {
  importKey: (raw) => globalThis.crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']),

  async seal(key, iv, plain, aad) {
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: GCM_TAG_BITS };
    return new Uint8Array(await globalThis.crypto.subtle.encrypt(params, key, plain));
  },

  async open(key, iv, sealed, aad) {
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: GCM_TAG_BITS };
    return new Uint8Array(await globalThis.crypto.subtle.decrypt(params, key, sealed));
  },

  randomBytes: (length) => globalThis.crypto.getRandomValues(new Uint8Array(length)),
};
