import path from 'node:path';
import { CorruptLogError, KMSDisabledException, KMSInvalidStateException } from '../errors.js';
import { BATCH_LENGTH_POSITION } from '../log/batch_format.js';
import { dataKeyNumber, decryptBatch, isEncrypted, type BatchKey } from '../log/batch_cipher.js';
import type { BatchOpener } from './shard_reads.js';
import { KeyStore } from '../kms/key_store.js';
import type { StreamView } from './catalog.js';

/*
 * The data keys of streams encrypted at rest (docs/SECURITY.md): the key store at
 * `<dataDir>/kms`, opened on first need, and each stream's data keys unwrapped once and kept in
 * memory for the shards' workers (which encrypt) and this thread's reads (which decrypt). A
 * stream whose KMS key is not Enabled can be neither written nor read: KMSDisabledException,
 * or KMSInvalidStateException for one pending deletion.
 */

export const KMS_DIR = 'kms';

export class StreamKeys {
  private store: Promise<KeyStore> | null = null;
  private opened: KeyStore | null = null;
  private readonly unwrapped = new Map<string, Map<number, Uint8Array>>();

  constructor(
    private readonly dataDir: string,
    private readonly passphrase: string | undefined,
  ) {}

  /** The engine's key store (`shardline kms` manages the same directory while the server is stopped). */
  keyStore(): Promise<KeyStore> {
    this.store ??= KeyStore.open({
      directory: path.join(this.dataDir, KMS_DIR),
      ...(this.passphrase === undefined ? {} : { passphrase: this.passphrase }),
    }).then(
      (store) => (this.opened = store),
      (error: unknown) => {
        this.store = null;
        throw error;
      },
    );
    return this.store;
  }

  /** Unwraps the stream's data keys not unwrapped yet (a disabled key fails here). */
  async load(stream: StreamView): Promise<void> {
    const records = stream.dataKeys ?? [];
    const known = this.unwrapped.get(stream.id) ?? new Map<number, Uint8Array>();
    if (records.every((record) => known.has(record.number))) return;
    const store = await this.keyStore();
    for (const record of records) {
      if (known.has(record.number)) continue;
      known.set(record.number, (await store.decryptDataKey(Buffer.from(record.wrapped, 'base64'))).plaintext);
    }
    this.unwrapped.set(stream.id, known);
  }

  add(stream: StreamView, number: number, key: Uint8Array): void {
    const known = this.unwrapped.get(stream.id) ?? new Map<number, Uint8Array>();
    known.set(number, key);
    this.unwrapped.set(stream.id, known);
  }

  /** The key new batches of the stream use, or null (plaintext); load() must have run. */
  current(stream: StreamView): BatchKey | null {
    if (stream.encryption === undefined) return null;
    const key = this.unwrapped.get(stream.id)?.get(stream.encryption.dataKey);
    if (key === undefined) throw new KMSInvalidStateException(`the data key of stream ${stream.name} is not loaded`);
    return { number: stream.encryption.dataKey, key };
  }

  /** Opens the stream's batches by data key number; undefined for one not loaded. */
  keysOf(stream: StreamView): (number: number) => Uint8Array | undefined {
    const known = this.unwrapped.get(stream.id);
    return (number) => known?.get(number);
  }

  /** Whether the stream has encrypted batches (or will): its reads open them. */
  encrypts(stream: StreamView): boolean {
    return (stream.dataKeys?.length ?? 0) > 0;
  }

  /** Throws the KMS error of a stream whose key new batches use, if it cannot be used now. */
  checkWritable(stream: StreamView): void {
    if (stream.encryption !== undefined) this.checkKeys(stream, [stream.encryption.keyArn]);
  }

  /** Throws the KMS error of a stream whose keys cannot be used now; nothing for a plaintext stream. */
  checkUsable(stream: StreamView): void {
    this.checkKeys(
      stream,
      (stream.dataKeys ?? []).map((record) => record.keyArn),
    );
  }

  private checkKeys(stream: StreamView, keyArns: readonly string[]): void {
    const arns = new Set(keyArns);
    if (arns.size === 0) return;
    if (this.opened === null) throw new KMSInvalidStateException(`the key store of stream ${stream.name} is not open`);
    for (const arn of arns) {
      const { KeyState } = this.opened.describeKey(arn);
      if (KeyState === 'Disabled') throw new KMSDisabledException(`${arn} is disabled.`);
      if (KeyState !== 'Enabled') throw new KMSInvalidStateException(`${arn} is pending deletion.`);
    }
  }

  /**
   * How reads of the stream open its stored batches, or null for a stream that never encrypted
   * (its batches go out as views of the files); the KMS error of a key that cannot be used now.
   */
  opener(stream: StreamView, where: string): BatchOpener | null {
    if (!this.encrypts(stream)) return null;
    this.checkUsable(stream);
    const keyOf = this.keysOf(stream);
    return (chunk, at, { segmentBaseOffset, positionBytes }) => {
      const stored = chunk.readUInt32LE(at + BATCH_LENGTH_POSITION);
      if (!isEncrypted(chunk, at)) return chunk.subarray(at, at + stored);
      const batch = `${where}, segment ${segmentBaseOffset} at byte ${positionBytes}`;
      const key = keyOf(dataKeyNumber(chunk, at));
      if (key === undefined) throw new CorruptLogError(`${batch}: no data key ${dataKeyNumber(chunk, at)} for an encrypted batch`);
      return decryptBatch(chunk, at, key, batch);
    };
  }

  forget(stream: StreamView): void {
    this.unwrapped.delete(stream.id);
  }
}
