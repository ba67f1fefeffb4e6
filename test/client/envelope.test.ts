import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeEncryption,
  envelopeOverheadBytes,
  isSealed,
  keyProvider,
  type CipherBackend,
  type KeyProvider,
} from '../../src/client/envelope.js';
import { nodeCipherBackend } from '../../src/client/envelope_node.js';
import { webCipherBackend } from '../../src/client/envelope_web.js';
import { KPL_MAGIC } from '../../src/client/kpl_aggregation.js';
import { DecryptionError, InternalFailureException, InvalidArgumentException, type DecryptionFailure } from '../../src/errors.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: sealed records are byte-exact to docs/FORMAT.md ("Client-side envelope encryption"),
// open with either backend whichever sealed them, rotate data keys at their bounds, ask the key
// provider once per data key, and fail to open, with a DecryptionError saying why, after any
// changed byte or any truncation. Method: a golden record built by hand from the format with raw
// node:crypto AES-GCM and fixed randomness, counting providers, seeded byte flips.

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const range = (start: number, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => start + i);
const KEK = range(0x40, 32);
const BACKENDS: ReadonlyArray<[string, CipherBackend]> = [
  ['node', nodeCipherBackend],
  ['web', webCipherBackend],
];

/** A backend whose random bytes are the given ones, in order: the data key, the wrap IV, the record IV. */
function fixedRandomBackend(...chunks: Uint8Array[]): CipherBackend {
  return {
    ...nodeCipherBackend,
    randomBytes(length) {
      const chunk = chunks.shift()!;
      expect(chunk.length).toBe(length);
      return chunk;
    },
  };
}

function aesGcm(key: Uint8Array, iv: Uint8Array, plain: Uint8Array, aad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The data keys a set of sealed records used, by their wrapped bytes (key ids of 1 .. 255 bytes). */
function wrappedKeysOf(sealed: readonly Uint8Array[]): Set<string> {
  return new Set(
    sealed.map((record) => {
      const wrappedPosition = 8 + record[5]!;
      return hex(record.subarray(wrappedPosition, wrappedPosition + (record[wrappedPosition - 2]! | (record[wrappedPosition - 1]! << 8))));
    }),
  );
}

/** A user callback provider (a KMS stand-in) around the local one, counting its calls. */
function countingProvider(inner: KeyProvider): KeyProvider & { wraps: number; unwraps: number } {
  return {
    keyId: inner.keyId,
    wraps: 0,
    unwraps: 0,
    wrapKey(dataKey) {
      this.wraps++;
      return inner.wrapKey(dataKey);
    },
    unwrapKey(keyId, wrapped) {
      this.unwraps++;
      return inner.unwrapKey(keyId, wrapped);
    },
  };
}

async function decryptionFailure(envelope: EnvelopeEncryption, sealed: Uint8Array): Promise<DecryptionError> {
  const error: unknown = await envelope.decrypt(sealed).then(
    (plain) => new Error(`opened, to ${hex(plain)}`),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(DecryptionError);
  return error as DecryptionError;
}

describe('envelope encryption', () => {
  it('writes the format byte for byte: header by hand, AES-256-GCM over it, the local provider wrapping', async () => {
    const dataKey = range(0x00, 32);
    const wrapIv = range(0xa0, 12);
    const recordIv = range(0xb0, 12);
    const backend = fixedRandomBackend(dataKey, wrapIv, recordIv);
    const envelope = new EnvelopeEncryption(keyProvider('k1', KEK, backend), { backend });

    const sealed = await envelope.encrypt(text('hello'));

    const wrapped = Uint8Array.from([...wrapIv, ...aesGcm(KEK, wrapIv, dataKey, new Uint8Array(0))]);
    const header = Uint8Array.from([0xe5, 0x53, 0x4c, 0x45, 0x01, 0x02, 0x6b, 0x31, 0x3c, 0x00, ...wrapped, ...recordIv]);
    expect(hex(sealed)).toBe(hex(Uint8Array.from([...header, ...aesGcm(dataKey, recordIv, text('hello'), header)])));
    // Checked against Python's cryptography (AESGCM) as well as node:crypto.
    expect(hex(sealed)).toBe(
      'e5534c4501026b313c00a0a1a2a3a4a5a6a7a8a9aaab' +
        'd78e043ce6ee9a2a71664bf585b13ef9ff06e7d4f87a933afac5f481f5df60e7d582c5368931e8c9bec9c043c63f551d' +
        'b0b1b2b3b4b5b6b7b8b9babb' +
        'f13036c7839e98972e73ac041abd24a5b4290b8412',
    );
    expect(sealed.length - 5).toBe(envelopeOverheadBytes('k1', 60));
    expect(envelopeOverheadBytes('k1', 60)).toBe(98);
    expect(Buffer.from(await new EnvelopeEncryption(keyProvider('k1', KEK)).decrypt(sealed)).toString()).toBe('hello');
  });

  for (const [sealer, sealingBackend] of BACKENDS) {
    for (const [opener, openingBackend] of BACKENDS) {
      it(`opens with the ${opener} backend what the ${sealer} backend sealed, empty and 64 KiB records too`, async () => {
        const writer = new EnvelopeEncryption(keyProvider('k1', KEK, sealingBackend), { backend: sealingBackend });
        const reader = new EnvelopeEncryption(keyProvider('k1', KEK, openingBackend), { backend: openingBackend });
        const random = seededRandom(7);
        const plains = [0, 1, 100, 65_536].map((length) => Uint8Array.from({ length }, () => Math.floor(random() * 256)));

        const sealed = await Promise.all(plains.map((plain) => writer.encrypt(plain)));

        expect((await Promise.all(sealed.map((record) => reader.decrypt(record)))).map(hex)).toEqual(plains.map(hex));
        expect(sealed.every(isSealed)).toBe(true);
      });
    }
  }

  it('tells sealed records from plain ones, KPL aggregates and JSON included', async () => {
    const sealed = await new EnvelopeEncryption(keyProvider('k1', KEK)).encrypt(text('{}'));
    expect([sealed, KPL_MAGIC, text('{"a":1}'), text('hello'), sealed.subarray(0, 3), new Uint8Array(0)].map(isSealed)).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('makes a fresh data key once rotateAfterBytes or rotateAfterRecords is reached, whichever first', async () => {
    const sealWith = async (options: { rotateAfterBytes?: number; rotateAfterRecords?: number }): Promise<Uint8Array[]> => {
      const envelope = new EnvelopeEncryption(keyProvider('k1', KEK, nodeCipherBackend), { ...options, backend: nodeCipherBackend });
      const sealed: Uint8Array[] = [];
      for (let i = 0; i < 10; i++) sealed.push(await envelope.encrypt(new Uint8Array(30)));
      return sealed;
    };

    // 100 bytes: a key seals 30, 60, 90, then crosses at 120 and is done: 4 records per key.
    expect(wrappedKeysOf(await sealWith({ rotateAfterBytes: 100 })).size).toBe(3);
    expect(wrappedKeysOf(await sealWith({ rotateAfterRecords: 3 })).size).toBe(4);
    expect(wrappedKeysOf(await sealWith({ rotateAfterBytes: 100, rotateAfterRecords: 2 })).size).toBe(5);
    expect(wrappedKeysOf(await sealWith({ rotateAfterBytes: 1 })).size).toBe(10);
    expect(wrappedKeysOf(await sealWith({})).size).toBe(1);
  });

  it('asks a user key provider once per data key, not once per record, however many records wait for it', async () => {
    const provider = countingProvider(keyProvider('kms-key', KEK, nodeCipherBackend));
    const writer = new EnvelopeEncryption(provider, { rotateAfterRecords: 250, backend: nodeCipherBackend });
    const plains = Array.from({ length: 1000 }, (_, i) => text(`record ${i}`));

    const sealed = await Promise.all(plains.map((plain) => writer.encrypt(plain)));
    const reader = new EnvelopeEncryption(provider, { backend: nodeCipherBackend });
    const opened = await Promise.all(sealed.map((record) => reader.decrypt(record)));
    await Promise.all(sealed.map((record) => reader.decrypt(record)));

    expect(opened.map(hex)).toEqual(plains.map(hex));
    expect(wrappedKeysOf(sealed).size).toBe(4);
    expect({ wraps: provider.wraps, unwraps: provider.unwraps }).toEqual({ wraps: 4, unwraps: 4 });
  });

  it('keeps the last 1,000 unwrapped data keys, the least recently used going first', async () => {
    const provider = countingProvider(keyProvider('kms-key', KEK, nodeCipherBackend));
    const writer = new EnvelopeEncryption(provider, { rotateAfterRecords: 1, backend: nodeCipherBackend });
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 1001; i++) sealed.push(await writer.encrypt(text(`record ${i}`)));
    const reader = new EnvelopeEncryption(provider, { backend: nodeCipherBackend });
    for (const record of sealed) await reader.decrypt(record);
    const unwrapsAfter = async (record: Uint8Array): Promise<number> => {
      await reader.decrypt(record);
      return provider.unwraps;
    };

    // Record 0's key went when record 1000's came; reading record 1 again makes it the newest.
    expect(await unwrapsAfter(sealed[1000]!)).toBe(1001);
    expect(await unwrapsAfter(sealed[1]!)).toBe(1001);
    expect(await unwrapsAfter(sealed[0]!)).toBe(1002); // and evicts record 2's key, now the oldest
    expect(await unwrapsAfter(sealed[1]!)).toBe(1002);
    expect(await unwrapsAfter(sealed[2]!)).toBe(1003);
  });

  it('asks the provider again after it failed, sealing or opening, and keeps a KMS outage retriable', async () => {
    const provider = countingProvider(keyProvider('kms-key', KEK));
    const sealed = await new EnvelopeEncryption(provider).encrypt(text('x'));
    const outage = new InternalFailureException('KMS unreachable');
    const failing: KeyProvider = {
      keyId: 'kms-key',
      wrapKey: () => Promise.reject(outage),
      unwrapKey: () => Promise.reject(outage),
    };
    let down = true;
    const flaky: KeyProvider = {
      keyId: 'kms-key',
      wrapKey: (dataKey) => (down ? failing : provider).wrapKey(dataKey),
      unwrapKey: (keyId, wrapped) => (down ? failing : provider).unwrapKey(keyId, wrapped),
    };
    const envelope = new EnvelopeEncryption(flaky);

    await expect(envelope.encrypt(text('y'))).rejects.toBe(outage);
    const error = await decryptionFailure(envelope, sealed);
    expect([error.reason, error.retriable, error.cause]).toEqual(['UnwrapFailed', true, outage]);
    down = false;

    expect(Buffer.from(await envelope.decrypt(await envelope.encrypt(text('y')))).toString()).toBe('y');
    expect(Buffer.from(await envelope.decrypt(sealed)).toString()).toBe('x');
  });

  it('fails typed for a key id the provider does not hold, and for the right id with the wrong key', async () => {
    const sealed = await new EnvelopeEncryption(keyProvider('key-a', KEK)).encrypt(text('x'));

    const unknown = await decryptionFailure(new EnvelopeEncryption(keyProvider('key-b', KEK)), sealed);
    const wrongKey = await decryptionFailure(new EnvelopeEncryption(keyProvider('key-a', range(0, 32))), sealed);

    expect([unknown.code, unknown.reason, unknown.retriable]).toEqual(['DecryptionFailed', 'UnwrapFailed', false]);
    expect(unknown.message).toContain('unknown key id "key-a"');
    expect([wrongKey.reason, wrongKey.message]).toEqual(['UnwrapFailed', expect.stringContaining('"key-a"')]);
  });

  const seed = testSeed();
  for (const [name, backend] of BACKENDS) {
    it(`fails every changed byte and every truncation with a DecryptionError saying why, ${name} backend (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      const writer = new EnvelopeEncryption(keyProvider('key-é', KEK, backend), { backend });
      const reader = new EnvelopeEncryption(keyProvider('key-é', KEK, backend), { backend });
      const plain = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      const sealed = await writer.encrypt(plain);
      const keyIdEnd = 6 + 6; // 'key-é' is 6 bytes of UTF-8
      const ivPosition = keyIdEnd + 2 + 60;
      const expectedFlip = (at: number): DecryptionFailure[] =>
        at < 4
          ? ['NotSealed']
          : at === 4
            ? ['UnknownVersion']
            : at < keyIdEnd + 2
              ? ['Truncated', 'Malformed', 'UnwrapFailed', 'AuthenticationFailed']
              : at < ivPosition
                ? ['UnwrapFailed']
                : ['AuthenticationFailed'];
      const expectedCut = (length: number): DecryptionFailure =>
        length < 4 ? 'NotSealed' : length < ivPosition + 12 + 16 ? 'Truncated' : 'AuthenticationFailed';

      for (let at = 0; at < sealed.length; at++) {
        const damaged = sealed.slice();
        damaged[at]! ^= 1 + Math.floor(random() * 255);
        const error = await decryptionFailure(reader, damaged);
        expect(expectedFlip(at), `seed ${seed}, byte ${at} of ${sealed.length}: ${error.message}`).toContain(error.reason);
      }
      for (let length = 0; length < sealed.length; length++) {
        const error = await decryptionFailure(reader, sealed.subarray(0, length));
        expect(error.reason, `seed ${seed}, cut to ${length} of ${sealed.length}: ${error.message}`).toBe(expectedCut(length));
      }
      expect(hex(await reader.decrypt(sealed))).toBe(hex(plain));
    });
  }

  it('says what is wrong in its message, and names the record once a consumer adds it', async () => {
    const reader = new EnvelopeEncryption(keyProvider('k1', KEK));
    const sealed = await new EnvelopeEncryption(keyProvider('k1', KEK)).encrypt(text('x'));
    const messages = await Promise.all(
      [
        text('plain'),
        Uint8Array.from([...sealed.subarray(0, 4), 2]),
        sealed.subarray(0, 30),
        Uint8Array.from([...sealed.subarray(0, 5), 0]),
      ].map(async (record) => (await decryptionFailure(reader, record)).message),
    );
    const tampered = sealed.slice();
    tampered[tampered.length - 1]! ^= 1;
    const error = (await decryptionFailure(reader, tampered)).withRecord({
      streamName: 'orders',
      shardId: 'shardId-000000000000',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    });

    expect(messages).toEqual([
      'not a sealed record: its 5 bytes do not start with the envelope magic E5 53 4C 45',
      'sealed record of unknown version 2: this client reads version 1',
      'sealed record truncated: its 30 bytes end inside its wrapped key, which needs 70',
      'sealed record malformed: its key id length is 0',
    ]);
    expect(error.message).toBe(
      'record orders shardId-000000000000 49590338271490256608559692538361571095921575989136588898: ' +
        'sealed record failed authentication under key id "k1": it was changed or cut short',
    );
    expect([error.reason, error.record?.shardId, error.code]).toEqual(['AuthenticationFailed', 'shardId-000000000000', 'DecryptionFailed']);
  });

  it('refuses bad options, key ids and key sizes, with the limits in the message', () => {
    const provider = keyProvider('k1', KEK);
    const refusals = [
      () => new EnvelopeEncryption(provider, { rotateAfterBytes: 0 }),
      () => new EnvelopeEncryption(provider, { rotateAfterRecords: 2 ** 32 + 1 }),
      () => new EnvelopeEncryption(provider, { rotateAfterBytes: 1.5 }),
      () => keyProvider('', KEK),
      () => keyProvider('x'.repeat(256), KEK),
      () => keyProvider('k1', KEK.subarray(1)),
    ].map((make) => {
      try {
        make();
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentException);
        return (error as Error).message;
      }
    });

    expect(refusals).toEqual([
      'rotateAfterBytes must be an integer from 1 to 4294967296, got 0',
      'rotateAfterRecords must be an integer from 1 to 4294967296, got 4294967297',
      'rotateAfterBytes must be an integer from 1 to 4294967296, got 1.5',
      'a key id must be 1 to 255 bytes of UTF-8, got 0',
      'a key id must be 1 to 255 bytes of UTF-8, got 256',
      'a key-encryption key must be 32 bytes, got 31',
    ]);
    expect(() => new EnvelopeEncryption(provider, { rotateAfterBytes: 2 ** 32, rotateAfterRecords: 1 })).not.toThrow();
  });
});
