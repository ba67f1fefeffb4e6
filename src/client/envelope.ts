import { DecryptionError, InvalidArgumentException, ShardlineError } from '../errors.js';
import { AES_KEY_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES, type CipherBackend } from './envelope_cipher.js';
import { webCipherBackend } from './envelope_web.js';

export type { CipherBackend } from './envelope_cipher.js';

/*
 * Client-side envelope encryption of one Kinesis record's data (docs/FORMAT.md, "Client-side
 * envelope encryption"). A sealed record:
 *
 *   magic E5 53 4C 45 | version 1 | keyIdLength K (1) | keyId (K) | wrappedKeyLength W (2, LE)
 *   | wrappedKey (W) | iv (12) | ciphertext (n) | tag (16)
 *
 * Magic through iv is the header, authenticated by GCM as additional data, so changing any
 * byte of a record fails it. Every record names its wrapped data key, so it opens on its own,
 * in any order. Browser-safe: the crypto library comes in as a CipherBackend.
 */

export const ENVELOPE_MAGIC: Uint8Array = Uint8Array.of(0xe5, 0x53, 0x4c, 0x45);
const ENVELOPE_VERSION = 1;
const VERSION_POSITION = ENVELOPE_MAGIC.length;
const KEY_ID_LENGTH_POSITION = VERSION_POSITION + 1;
const KEY_ID_POSITION = KEY_ID_LENGTH_POSITION + 1;
const WRAPPED_KEY_LENGTH_BYTES = 2;
const KEY_ID_BYTES_MAX = 255;
const WRAPPED_KEY_BYTES_MAX = 65_535;
/** Every field but the key id and the wrapped key: 36 bytes. */
export const ENVELOPE_FIXED_OVERHEAD_BYTES = KEY_ID_POSITION + WRAPPED_KEY_LENGTH_BYTES + GCM_IV_BYTES + GCM_TAG_BYTES;

/** At or under 2^32 records per key, the bound on random 96-bit GCM IVs (NIST SP 800-38D, 8.3). */
const ROTATE_AFTER_MAX = 2 ** 32;
const ROTATE_AFTER_BYTES_DEFAULT = 4 * 1024 * 1024;
/** A repeated IV under one key at this many records has a probability under 2^-57. */
const ROTATE_AFTER_RECORDS_DEFAULT = 1_000_000;
/** Unwrapped data keys a reader keeps: a KMS round trip each saved, 1,000 imported keys held. */
const UNWRAPPED_KEYS_MAX = 1_000;

/** The local provider's wrapped form: iv | AES-256-GCM of the data key | tag. */
const LOCAL_WRAPPED_KEY_BYTES = GCM_IV_BYTES + AES_KEY_BYTES + GCM_TAG_BYTES;
const NO_AAD = new Uint8Array(0);
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * Wraps data keys under a key-encryption key (KEK), and unwraps them: a local key, or a KMS
 * behind a callback. The envelope only stores what `wrapKey` returns (1 .. 65,535 bytes) and
 * hands it back to `unwrapKey` with the key id it was written with.
 */
export interface KeyProvider {
  /** The id of the KEK new envelopes are sealed under, 1 .. 255 bytes of UTF-8; read once. */
  readonly keyId: string;
  wrapKey(dataKey: Uint8Array): Promise<Uint8Array>;
  /** The 32-byte data key; throws (a DecryptionError, or anything) for ids it does not hold. */
  unwrapKey(keyId: string, wrapped: Uint8Array): Promise<Uint8Array>;
}

export interface EnvelopeEncryptionOptions {
  /** Plaintext bytes a data key seals before a fresh one is made: 1 .. 2^32, default 4 MiB. */
  readonly rotateAfterBytes?: number;
  /** Records a data key seals before a fresh one is made: 1 .. 2^32, default 1,000,000. */
  readonly rotateAfterRecords?: number;
  /** The crypto library: WebCrypto unless given (Node's entry gives node:crypto's). */
  readonly backend?: CipherBackend;
}

/** Whether `data` starts with the envelope magic: a sealed record, to decrypt (of any version). */
export function isSealed(data: Uint8Array): boolean {
  return data.length >= ENVELOPE_MAGIC.length && ENVELOPE_MAGIC.every((byte, i) => data[i] === byte);
}

/** Bytes a sealed record adds to its plaintext, for a key id and a wrapped key of this size. */
export function envelopeOverheadBytes(keyId: string, wrappedKeyBytes: number): number {
  return ENVELOPE_FIXED_OVERHEAD_BYTES + encoder.encode(keyId).length + wrappedKeyBytes;
}

/** A data key in use for sealing; the counts are taken when a record is accepted, not sealed. */
interface SealingKey {
  readonly ready: Promise<{ readonly key: unknown; readonly prefix: Uint8Array }>;
  bytes: number;
  records: number;
}

/**
 * Seals and opens records. Sealing makes a data key when the current one is used up (once,
 * however many records wait for it) and has the provider wrap it; opening asks the provider to
 * unwrap each data key once and keeps the last 1,000.
 */
export class EnvelopeEncryption {
  private readonly backend: CipherBackend;
  private readonly keyId: Uint8Array;
  private readonly rotateAfterBytes: number;
  private readonly rotateAfterRecords: number;
  private current: SealingKey | undefined;
  /** By the envelope bytes from keyIdLength to the end of wrappedKey, in hex; oldest first. */
  private readonly unwrapped = new Map<string, Promise<unknown>>();

  constructor(
    private readonly provider: KeyProvider,
    options: EnvelopeEncryptionOptions = {},
  ) {
    this.backend = options.backend ?? webCipherBackend;
    this.keyId = keyIdBytes(provider.keyId);
    this.rotateAfterBytes = integerIn(options.rotateAfterBytes, 'rotateAfterBytes', ROTATE_AFTER_BYTES_DEFAULT);
    this.rotateAfterRecords = integerIn(options.rotateAfterRecords, 'rotateAfterRecords', ROTATE_AFTER_RECORDS_DEFAULT);
  }

  async encrypt(plain: Uint8Array): Promise<Uint8Array> {
    const { key, prefix } = await this.sealingKeyFor(plain.length).ready;
    const headerBytes = prefix.length + GCM_IV_BYTES;
    const sealed = new Uint8Array(headerBytes + plain.length + GCM_TAG_BYTES);
    sealed.set(prefix);
    sealed.set(this.backend.randomBytes(GCM_IV_BYTES), prefix.length);
    const header = sealed.subarray(0, headerBytes);
    sealed.set(await this.backend.seal(key, header.subarray(prefix.length), plain, header), headerBytes);
    return sealed;
  }

  /** The plaintext of a sealed record; a DecryptionError saying what is wrong with it if none. */
  async decrypt(sealed: Uint8Array): Promise<Uint8Array> {
    const envelope = decodeEnvelope(sealed);
    const key = await this.dataKeyOf(envelope);
    try {
      return await this.backend.open(key, envelope.iv, envelope.body, envelope.header);
    } catch (error) {
      throw new DecryptionError(
        `sealed record failed authentication under key id ${JSON.stringify(envelope.keyId)}: it was changed or cut short`,
        { reason: 'AuthenticationFailed', cause: error },
      );
    }
  }

  private sealingKeyFor(plainBytes: number): SealingKey {
    let current = this.current;
    if (current === undefined || current.bytes >= this.rotateAfterBytes || current.records >= this.rotateAfterRecords) {
      current = this.current = this.newSealingKey();
    }
    current.bytes += plainBytes;
    current.records++;
    return current;
  }

  private newSealingKey(): SealingKey {
    const sealingKey: SealingKey = { ready: this.makeDataKey(), bytes: 0, records: 0 };
    // A provider that failed (a KMS down) gets asked again by the next record, not never.
    sealingKey.ready.catch(() => {
      if (this.current === sealingKey) this.current = undefined;
    });
    return sealingKey;
  }

  private async makeDataKey(): Promise<{ key: unknown; prefix: Uint8Array }> {
    const raw = this.backend.randomBytes(AES_KEY_BYTES);
    const [wrapped, key] = await Promise.all([this.provider.wrapKey(raw), this.backend.importKey(raw)]);
    if (wrapped.length < 1 || wrapped.length > WRAPPED_KEY_BYTES_MAX) {
      throw new InvalidArgumentException(
        `a wrapped data key must be 1 to ${WRAPPED_KEY_BYTES_MAX} bytes, the provider gave ${wrapped.length}`,
      );
    }
    return { key, prefix: encodePrefix(this.keyId, wrapped) };
  }

  private dataKeyOf(envelope: Envelope): Promise<unknown> {
    const cached = this.unwrapped.get(envelope.dataKeyId);
    if (cached !== undefined) {
      this.unwrapped.delete(envelope.dataKeyId);
      this.unwrapped.set(envelope.dataKeyId, cached);
      return cached;
    }
    const key = this.unwrap(envelope.keyId, envelope.wrappedKey.slice());
    this.unwrapped.set(envelope.dataKeyId, key);
    if (this.unwrapped.size > UNWRAPPED_KEYS_MAX) this.unwrapped.delete(this.unwrapped.keys().next().value!);
    // Failures are not kept: a provider that was unreachable may answer the next record.
    key.catch(() => {
      if (this.unwrapped.get(envelope.dataKeyId) === key) this.unwrapped.delete(envelope.dataKeyId);
    });
    return key;
  }

  private async unwrap(keyId: string, wrapped: Uint8Array): Promise<unknown> {
    let raw: Uint8Array;
    try {
      raw = await this.provider.unwrapKey(keyId, wrapped);
    } catch (error) {
      if (error instanceof DecryptionError) throw error;
      throw new DecryptionError(
        `could not unwrap the data key of a sealed record under key id ${JSON.stringify(keyId)}: ${String(error)}`,
        {
          reason: 'UnwrapFailed',
          cause: error,
          retriable: error instanceof ShardlineError && error.retriable,
        },
      );
    }
    if (raw.length !== AES_KEY_BYTES) {
      throw new DecryptionError(
        `the key provider unwrapped a ${raw.length}-byte data key under key id ${JSON.stringify(keyId)}, not 32 bytes`,
        {
          reason: 'UnwrapFailed',
        },
      );
    }
    return this.backend.importKey(raw);
  }
}

/**
 * A key provider holding one 32-byte KEK in memory, wrapping data keys with AES-256-GCM (60
 * bytes each). In browsers it takes the key from wherever the page keeps it; in Node,
 * envelope_keys.ts reads it from a key file.
 */
export function keyProvider(keyId: string, keyBytes: Uint8Array, backend: CipherBackend = webCipherBackend): KeyProvider {
  keyIdBytes(keyId);
  if (keyBytes.length !== AES_KEY_BYTES) {
    throw new InvalidArgumentException(`a key-encryption key must be ${AES_KEY_BYTES} bytes, got ${keyBytes.length}`);
  }
  const raw = keyBytes.slice();
  // Imported at first use, so that making a provider cannot fail where WebCrypto is missing.
  let kek: Promise<unknown> | undefined;
  const kekKey = (): Promise<unknown> => (kek ??= Promise.resolve().then(() => backend.importKey(raw)));
  return {
    keyId,
    async wrapKey(dataKey) {
      const iv = backend.randomBytes(GCM_IV_BYTES);
      const body = await backend.seal(await kekKey(), iv, dataKey, NO_AAD);
      const wrapped = new Uint8Array(LOCAL_WRAPPED_KEY_BYTES);
      wrapped.set(iv);
      wrapped.set(body, GCM_IV_BYTES);
      return wrapped;
    },
    async unwrapKey(id, wrapped) {
      if (id !== keyId) {
        throw new DecryptionError(`unknown key id ${JSON.stringify(id)}: this key provider holds ${JSON.stringify(keyId)}`, {
          reason: 'UnwrapFailed',
        });
      }
      if (wrapped.length !== LOCAL_WRAPPED_KEY_BYTES) {
        throw new DecryptionError(
          `a wrapped data key of ${wrapped.length} bytes under key id ${JSON.stringify(id)}: the local provider's are 60`,
          {
            reason: 'UnwrapFailed',
          },
        );
      }
      return backend.open(await kekKey(), wrapped.subarray(0, GCM_IV_BYTES), wrapped.subarray(GCM_IV_BYTES), NO_AAD);
    },
  };
}

function keyIdBytes(keyId: string): Uint8Array {
  const bytes = encoder.encode(keyId);
  if (bytes.length < 1 || bytes.length > KEY_ID_BYTES_MAX) {
    throw new InvalidArgumentException(`a key id must be 1 to ${KEY_ID_BYTES_MAX} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

function integerIn(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > ROTATE_AFTER_MAX) {
    throw new InvalidArgumentException(`${name} must be an integer from 1 to ${ROTATE_AFTER_MAX}, got ${String(value)}`);
  }
  return value;
}

/** Magic through wrappedKey: the header's part that every record under one data key shares. */
function encodePrefix(keyId: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const wrappedKeyPosition = KEY_ID_POSITION + keyId.length + WRAPPED_KEY_LENGTH_BYTES;
  const prefix = new Uint8Array(wrappedKeyPosition + wrapped.length);
  prefix.set(ENVELOPE_MAGIC);
  prefix[VERSION_POSITION] = ENVELOPE_VERSION;
  prefix[KEY_ID_LENGTH_POSITION] = keyId.length;
  prefix.set(keyId, KEY_ID_POSITION);
  prefix[wrappedKeyPosition - 2] = wrapped.length & 0xff;
  prefix[wrappedKeyPosition - 1] = wrapped.length >>> 8;
  prefix.set(wrapped, wrappedKeyPosition);
  return prefix;
}

interface Envelope {
  readonly keyId: string;
  readonly wrappedKey: Uint8Array;
  /** keyIdLength through wrappedKey in hex: names the data key, for the cache of unwrapped keys. */
  readonly dataKeyId: string;
  /** Magic through iv: the additional authenticated data. */
  readonly header: Uint8Array;
  readonly iv: Uint8Array;
  /** ciphertext | tag. */
  readonly body: Uint8Array;
}

/** The fields of a sealed record, views into it; a DecryptionError for a record that has none. */
function decodeEnvelope(sealed: Uint8Array): Envelope {
  if (!isSealed(sealed)) {
    throw new DecryptionError(`not a sealed record: its ${sealed.length} bytes do not start with the envelope magic E5 53 4C 45`, {
      reason: 'NotSealed',
    });
  }
  need(sealed, KEY_ID_LENGTH_POSITION, 'version');
  if (sealed[VERSION_POSITION] !== ENVELOPE_VERSION) {
    throw new DecryptionError(
      `sealed record of unknown version ${sealed[VERSION_POSITION]!}: this client reads version ${ENVELOPE_VERSION}`,
      {
        reason: 'UnknownVersion',
      },
    );
  }
  const keyId = decodeKeyId(sealed);
  const wrappedKeyPosition = KEY_ID_POSITION + sealed[KEY_ID_LENGTH_POSITION]! + WRAPPED_KEY_LENGTH_BYTES;
  need(sealed, wrappedKeyPosition, 'wrapped key length');
  const wrappedKeyBytes = sealed[wrappedKeyPosition - 2]! | (sealed[wrappedKeyPosition - 1]! << 8);
  if (wrappedKeyBytes === 0) throw malformed('its wrapped key length is 0');
  const ivPosition = need(sealed, wrappedKeyPosition + wrappedKeyBytes, 'wrapped key');
  const bodyPosition = need(sealed, ivPosition + GCM_IV_BYTES, 'iv');
  need(sealed, bodyPosition + GCM_TAG_BYTES, 'tag');
  return {
    keyId,
    wrappedKey: sealed.subarray(wrappedKeyPosition, ivPosition),
    dataKeyId: hex(sealed.subarray(KEY_ID_LENGTH_POSITION, ivPosition)),
    header: sealed.subarray(0, bodyPosition),
    iv: sealed.subarray(ivPosition, bodyPosition),
    body: sealed.subarray(bodyPosition),
  };
}

function decodeKeyId(sealed: Uint8Array): string {
  need(sealed, KEY_ID_POSITION, 'key id length');
  const keyIdEnd = need(sealed, KEY_ID_POSITION + sealed[KEY_ID_LENGTH_POSITION]!, 'key id');
  if (keyIdEnd === KEY_ID_POSITION) throw malformed('its key id length is 0');
  try {
    return strictDecoder.decode(sealed.subarray(KEY_ID_POSITION, keyIdEnd));
  } catch (error) {
    throw malformed('its key id is not UTF-8', error);
  }
}

/** `end`, if the record reaches it; else the record was cut short inside `field`. */
function need(sealed: Uint8Array, end: number, field: string): number {
  if (sealed.length < end) {
    throw new DecryptionError(`sealed record truncated: its ${sealed.length} bytes end inside its ${field}, which needs ${end}`, {
      reason: 'Truncated',
    });
  }
  return end;
}

function malformed(what: string, cause?: unknown): DecryptionError {
  return new DecryptionError(`sealed record malformed: ${what}`, { reason: 'Malformed', cause });
}

function hex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += HEX_BYTES[byte]!;
  return text;
}
