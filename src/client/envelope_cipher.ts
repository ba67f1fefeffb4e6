/**
 * What envelope encryption needs of a crypto library: AES-256-GCM with a 128-bit tag and random
 * bytes. Two implementations, because neither library runs everywhere: node:crypto
 * (envelope_node.ts), synchronous and the faster for small records, and WebCrypto
 * (envelope_web.ts), asynchronous, in browsers and in Node alike. Both write the tag after the
 * ciphertext, as the envelope format does (docs/FORMAT.md), so either opens what the other sealed.
 */
export interface CipherBackend<Key = unknown> {
  /** A key for AES-256-GCM from its 32 raw bytes; the backend keeps its own copy. */
  importKey(raw: Uint8Array): Key | Promise<Key>;
  /** `ciphertext | tag (16 bytes)` of `plain` under `key`, authenticating `aad` as well. */
  seal(key: Key, iv: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** The plaintext of `ciphertext | tag`; throws (or rejects) if the tag does not match. */
  open(key: Key, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** `length` bytes from a cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;
}

export const AES_KEY_BYTES = 32;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
