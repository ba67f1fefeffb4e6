import { syncDirectory } from '../util/sync_directory.js';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentException, LimitExceededException, ResourceInUseException, StorageError, storageErrorFrom } from '../errors.js';
import { ACCOUNT_ID, REGION } from '../streams/kinesis_shapes.js';
import { KMSAccessDeniedException, KMSDisabledException, KMSInvalidStateException, KMSNotFoundException, KeyStoreError } from './errors.js';
import {
  AWS_ALIAS_PREFIX,
  aliasArn,
  checkCustomerAliasName,
  isAliasName,
  keyArn,
  parseKeyId,
  type KeyReference,
  type KeyScope,
} from './key_ids.js';

/*
 * A local KMS: the keys that will wrap the data keys of streams encrypted at rest
 * (StartStreamEncryption, EncryptionType KMS). The server keeps one in <dataDir>/kms/:
 *
 *   master.key     32 random bytes, mode 0600, made once and never overwritten (absent when
 *                  the master key is derived from a passphrase)
 *   catalog.json   the KMS keys, their aliases, and each key's versions of key material, the
 *                  material sealed under the master key; replaced whole: catalog.json.tmp,
 *                  fsync, rename, fsync of the directory
 *
 * Layouts (docs/FORMAT.md, "KMS key store"):
 *
 *   catalog.json  { "version": 1,
 *                   "master": { "source": "file", "check": <b64> }
 *                           | { "source": "passphrase", "check": <b64>,
 *                               "scrypt": { "salt": <b64 of 16 bytes>, "N": 32768, "r": 8, "p": 1 } },
 *                   "keys": [ { "keyId": <uuid>, "description": "", "keyManager": "CUSTOMER" | "AWS",
 *                               "keyState": "Enabled" | "Disabled" | "PendingDeletion",
 *                               "creationDateMs": <ms>, "deletionDateMs": <ms, PendingDeletion only>,
 *                               "versions": [ { "version": 1, "createdAtMs": <ms>, "material": <b64> } ] } ],
 *                   "aliases": [ { "aliasName": "alias/...", "targetKeyId": <uuid> } ] }
 *
 *   sealed under the master key (check, material): nonce (12) | AES-256-GCM ciphertext | tag (16),
 *   in standard base64; the additional data of `check` is "shardline-kms check" and its plaintext
 *   "shardline-kms master key"; that of a version's material is "shardline-kms material <keyId>
 *   <version>", so material moved to another key or version fails authentication.
 *
 *   wrapped data key (85 bytes, self-describing):
 *     0   4  magic        E5 4B 4D 53 (0xE5, then "KMS")
 *     4   1  format       1
 *     5  16  keyId        the KMS key's UUID, its 16 bytes
 *    21   4  keyVersion   the version of the key's material, uint32 little-endian, from 1
 *    25  12  nonce        random for each data key
 *    37  32  ciphertext   AES-256-GCM of the data key under that version's material
 *    69  16  tag          GCM's tag; bytes [0, 37) are the additional authenticated data
 *
 * Invariants: what a KeyStore shows is what catalog.json holds; a change is on disk (fsynced,
 * renamed, directory fsynced) before the promise of the method that made it resolves and before
 * anything sees it, so an acknowledged key or rotation survives kill -9 and a data key is never
 * handed out under material that could be lost. Versions of a key are 1 .. n and all kept, so a
 * rotated key still unwraps the data keys of its old versions.
 *
 * One process owns a store (the server): changes are serialized within the process, and a
 * change that finds catalog.json changed since this process read it (another process wrote it)
 * is refused (KeyStoreError ChangedElsewhere) instead of overwriting what the other wrote.
 *
 * Deletion: ScheduleKeyDeletion makes a key PendingDeletion (no use, its DeletionDate shown);
 * this store never destroys key material, so a key stays PendingDeletion until
 * cancelKeyDeletion makes it Disabled again. The metadata in the catalog (states, aliases) is
 * not authenticated: whoever may write the directory may change them, not the material.
 *
 * Node only, and free of the native addon (src/log/durable_file.ts loads it): the `shardline kms`
 * commands load this module.
 */

/** The directory of the server's key store, under its data directory. */
export const KEY_STORE_DIR = 'kms';
export const CATALOG_FILE = 'catalog.json';
export const MASTER_KEY_FILE = 'master.key';
const TMP_SUFFIX = '.tmp';
export const CATALOG_VERSION = 1;

/** AES-256 keys: the master key, each version of a key's material, each data key. */
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** A sealed key (nonce | ciphertext of 32 bytes | tag): a version's material in the catalog. */
const SEALED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const CHECK_PLAINTEXT = Buffer.from('shardline-kms master key');
const CHECK_AAD = Buffer.from('shardline-kms check');

/** scrypt's parameters for a new passphrase store: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s). */
export const SCRYPT_COST = 2 ** 15;
export const SCRYPT_BLOCK_SIZE = 8;
export const SCRYPT_PARALLELIZATION = 1;
export const SALT_BYTES = 16;
/** The most memory the parameters of a stored catalog may make scrypt take (128 * N * r). */
const SCRYPT_MEMORY_BYTES_MAX = 256 * 1024 * 1024;

/** Bounds of the catalog, which is rewritten whole on every change. */
export const KEYS_MAX = 10_000;
export const KEY_VERSIONS_MAX = 100;
export const ALIASES_MAX = 10_000;
/** KMS's bound on a key's Description. */
export const DESCRIPTION_CHARS_MAX = 8192;
export const CATALOG_BYTES_MAX = 16 * 1024 * 1024;
/** ScheduleKeyDeletion's PendingWindowInDays: 7 to 30, 30 unless given (as KMS). */
export const PENDING_WINDOW_DAYS_MIN = 7;
export const PENDING_WINDOW_DAYS_MAX = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The AWS managed key of Kinesis: made on first use, never changed by a user. */
export const AWS_KINESIS_ALIAS = 'alias/aws/kinesis';
const AWS_KINESIS_DESCRIPTION = 'Default key that protects my Kinesis data when no other key is defined';

// The wrapped data key, field by field.
const WRAPPED_MAGIC = Buffer.from([0xe5, 0x4b, 0x4d, 0x53]);
export const WRAPPED_KEY_FORMAT = 1;
const FORMAT_POSITION = WRAPPED_MAGIC.length;
const KEY_ID_POSITION = FORMAT_POSITION + 1;
const KEY_ID_BYTES = 16;
const KEY_VERSION_POSITION = KEY_ID_POSITION + KEY_ID_BYTES;
const NONCE_POSITION = KEY_VERSION_POSITION + 4;
const CIPHERTEXT_POSITION = NONCE_POSITION + NONCE_BYTES;
const TAG_POSITION = CIPHERTEXT_POSITION + KEY_BYTES;
export const WRAPPED_KEY_BYTES = TAG_POSITION + TAG_BYTES;

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
export type KeyManager = 'CUSTOMER' | 'AWS';

/** A key as DescribeKey's KeyMetadata shows it (its subset that applies here). */
export interface KeyDescription {
  KeyId: string;
  Arn: string;
  /** The aliases that point at the key, sorted. */
  Aliases: string[];
  KeyState: KeyState;
  CreationDate: Date;
  /** When a key PendingDeletion was scheduled to go (this store keeps it: see above). */
  DeletionDate?: Date;
  Description: string;
  KeyManager: KeyManager;
  /** The versions of its key material: 1, and one more for each rotation. */
  Versions: number;
}

export interface KeyStoreOptions {
  readonly directory: string;
  /** Derive the master key from this (scrypt) instead of keeping it in master.key; NFC-normalized. */
  readonly passphrase?: string;
  /** The region and account of the keys' ARNs. Default us-east-1, 000000000000 (the server's). */
  readonly region?: string;
  readonly accountId?: string;
}

export interface GeneratedDataKey {
  /** The ARN of the KMS key that wrapped it. */
  readonly keyArn: string;
  /** The data key: 32 random bytes, to use and forget. */
  readonly plaintext: Uint8Array;
  /** The data key wrapped (85 bytes): all decryptDataKey needs to give it back. */
  readonly wrapped: Uint8Array;
}

interface ScryptParameters {
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

type MasterDocument =
  | { readonly source: 'file'; readonly check: string }
  | { readonly source: 'passphrase'; readonly check: string; readonly scrypt: ScryptParameters };

interface VersionDocument {
  readonly version: number;
  readonly createdAtMs: number;
  readonly material: string;
}

interface KeyDocument {
  readonly keyId: string;
  readonly description: string;
  readonly keyManager: KeyManager;
  readonly keyState: KeyState;
  readonly creationDateMs: number;
  readonly deletionDateMs?: number;
  readonly versions: readonly VersionDocument[];
}

interface AliasDocument {
  readonly aliasName: string;
  readonly targetKeyId: string;
}

interface CatalogDocument {
  readonly version: typeof CATALOG_VERSION;
  readonly master: MasterDocument;
  readonly keys: readonly KeyDocument[];
  readonly aliases: readonly AliasDocument[];
}

export class KeyStore {
  private catalog: CatalogDocument;
  /** catalog.json's bytes as this process last read or wrote them: what a change expects to find. */
  private catalogBytes: Buffer;
  private keysById = new Map<string, KeyDocument>();
  private aliasTargets = new Map<string, string>();
  /** Key material opened under the master key, by `<keyId> <version>`: at most KEYS_MAX * KEY_VERSIONS_MAX. */
  private readonly materials = new Map<string, Buffer>();
  /** The last change queued: changes run one at a time, in the order they were asked for. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Set when a write failed after it may have replaced catalog.json: what is on disk is then unknown. */
  private failure: StorageError | null = null;

  private constructor(
    readonly directory: string,
    private readonly scope: KeyScope,
    private readonly masterKey: Buffer,
    catalog: CatalogDocument,
    catalogBytes: Buffer,
  ) {
    this.catalog = catalog;
    this.catalogBytes = catalogBytes;
    this.index();
  }

  /**
   * The store in `directory`, made if it is missing: the directory, the master key (master.key,
   * or a salt for the passphrase) and an empty catalog. Refuses a master.key others may read, a
   * passphrase for a store without one (and the reverse) and a wrong passphrase (KeyStoreError).
   */
  static async open(options: KeyStoreOptions): Promise<KeyStore> {
    const directory = path.resolve(options.directory);
    const scope: KeyScope = { region: options.region ?? REGION, accountId: options.accountId ?? ACCOUNT_ID };
    const passphrase = options.passphrase?.normalize('NFC');
    if (passphrase === '') throw new InvalidArgumentException('the key store passphrase is empty');
    const catalogFile = path.join(directory, CATALOG_FILE);
    try {
      await makeDirectory(directory);
    } catch (error) {
      throw storageErrorFrom(error, `making the key store directory ${directory}`);
    }
    const existing = await readIfExists(catalogFile);
    if (existing !== null) {
      const catalog = parseCatalog(existing, catalogFile);
      const masterKey = await masterKeyOf(catalog.master, directory, passphrase);
      return new KeyStore(directory, scope, masterKey, catalog, existing);
    }
    let master: MasterDocument;
    let masterKey: Buffer;
    if (passphrase !== undefined) {
      const scrypt = { salt: randomBytes(SALT_BYTES).toString('base64'), N: SCRYPT_COST, r: SCRYPT_BLOCK_SIZE, p: SCRYPT_PARALLELIZATION };
      masterKey = await deriveMasterKey(passphrase, scrypt);
      master = { source: 'passphrase', check: seal(masterKey, CHECK_PLAINTEXT, CHECK_AAD).toString('base64'), scrypt };
    } else {
      // A master.key without a catalog is one a crash left between the two writes (or one the
      // user put there): it is used, never replaced.
      masterKey = await createOrReadMasterKeyFile(path.join(directory, MASTER_KEY_FILE));
      master = { source: 'file', check: seal(masterKey, CHECK_PLAINTEXT, CHECK_AAD).toString('base64') };
    }
    const catalog: CatalogDocument = { version: CATALOG_VERSION, master, keys: [], aliases: [] };
    const bytes = encodeCatalog(catalog);
    try {
      await writeFileDurably(directory, CATALOG_FILE, bytes);
    } catch (error) {
      throw storageErrorFrom((error as DurableWriteError).cause, `writing ${catalogFile}`);
    }
    return new KeyStore(directory, scope, masterKey, catalog, bytes);
  }

  /** A new customer managed key, Enabled, with one version of random material (and the alias, if given). */
  createKey(options: { description?: string; alias?: string } = {}): Promise<KeyDescription> {
    const description = options.description ?? '';
    if (description.length > DESCRIPTION_CHARS_MAX)
      return Promise.reject(
        new InvalidArgumentException(`Description of ${description.length} characters: at most ${DESCRIPTION_CHARS_MAX}`),
      );
    let alias: string | undefined;
    try {
      alias = options.alias === undefined ? undefined : checkCustomerAliasName(options.alias);
    } catch (error) {
      return Promise.reject(error);
    }
    let keyId = '';
    return this.change(
      (catalog) => {
        if (catalog.keys.length >= KEYS_MAX) throw new LimitExceededException(`the key store holds ${KEYS_MAX} keys, its most`);
        if (alias !== undefined) this.checkAliasFree(catalog, alias);
        const key = this.newKey(description, 'CUSTOMER');
        keyId = key.keyId;
        const aliases = alias === undefined ? catalog.aliases : [...catalog.aliases, { aliasName: alias, targetKeyId: keyId }];
        return { ...catalog, keys: [...catalog.keys, key], aliases };
      },
      () => this.describeKey(keyId),
    );
  }

  /** Points a new alias at a customer managed key (named in any of the four forms). */
  createAlias(alias: string, keyId: string): Promise<void> {
    return this.change(
      (catalog) => {
        checkCustomerAliasName(alias);
        const key = this.customerKey(keyId, 'have an alias');
        if (key.keyState === 'PendingDeletion') throw new KMSInvalidStateException(`${this.arnOf(key)} is pending deletion`);
        if (catalog.aliases.length >= ALIASES_MAX) throw new LimitExceededException(`the key store holds ${ALIASES_MAX} aliases, its most`);
        this.checkAliasFree(catalog, alias);
        return { ...catalog, aliases: [...catalog.aliases, { aliasName: alias, targetKeyId: key.keyId }] };
      },
      () => undefined,
    );
  }

  deleteAlias(alias: string): Promise<void> {
    return this.change(
      (catalog) => {
        if (isAliasName(alias) && alias.startsWith(AWS_ALIAS_PREFIX))
          throw new KMSAccessDeniedException(`${alias} is the alias of an AWS managed key: it cannot be deleted`);
        checkCustomerAliasName(alias);
        if (!this.aliasTargets.has(alias)) throw new KMSNotFoundException(`Alias ${aliasArn(this.scope, alias)} is not found.`);
        return { ...catalog, aliases: catalog.aliases.filter((entry) => entry.aliasName !== alias) };
      },
      () => undefined,
    );
  }

  /**
   * The key `keyId` names, in any of the four forms. Reads only: the AWS managed key before its
   * first use is not found here (resolveKey makes it).
   */
  describeKey(keyId: string): KeyDescription {
    return this.describe(this.find(keyId));
  }

  /**
   * describeKey, except that `alias/aws/kinesis` is made on its first use (as KMS makes an AWS
   * managed key when a service or DescribeKey first names it): what StartStreamEncryption calls.
   */
  async resolveKey(keyId: string): Promise<KeyDescription> {
    return this.describe(await this.ensure(keyId));
  }

  /** Every key, PendingDeletion ones too, oldest first. */
  listKeys(): KeyDescription[] {
    return this.catalog.keys.map((key) => this.describe(key));
  }

  enableKey(keyId: string): Promise<void> {
    return this.changeKey(keyId, 'be enabled', (key) => {
      if (key.keyState === 'PendingDeletion')
        throw new KMSInvalidStateException(`${this.arnOf(key)} is pending deletion: cancel the deletion first`);
      return key.keyState === 'Enabled' ? null : { ...key, keyState: 'Enabled' };
    });
  }

  /** Disables a key: no data key is made or unwrapped under it until it is enabled again. */
  disableKey(keyId: string): Promise<void> {
    return this.changeKey(keyId, 'be disabled', (key) => {
      if (key.keyState === 'PendingDeletion') throw new KMSInvalidStateException(`${this.arnOf(key)} is pending deletion`);
      return key.keyState === 'Disabled' ? null : { ...key, keyState: 'Disabled' };
    });
  }

  /** A new version of the key's material, which new data keys use; the old ones stay for unwrapping. */
  rotateKey(keyId: string): Promise<KeyDescription> {
    let rotated = '';
    return this.change(
      (catalog) => {
        const key = this.customerKey(keyId, 'be rotated');
        this.checkUsable(key);
        if (key.versions.length >= KEY_VERSIONS_MAX)
          throw new LimitExceededException(`${this.arnOf(key)} has ${KEY_VERSIONS_MAX} versions of key material, its most`);
        rotated = key.keyId;
        const version = key.versions.length + 1;
        return replaceKey(catalog, { ...key, versions: [...key.versions, this.newVersion(key.keyId, version)] });
      },
      () => this.describeKey(rotated),
    );
  }

  /**
   * ScheduleKeyDeletion: the key becomes PendingDeletion, with a DeletionDate `pendingWindowInDays`
   * (7 .. 30) from now. Its material is kept: see the module's comment.
   */
  scheduleKeyDeletion(keyId: string, pendingWindowInDays = PENDING_WINDOW_DAYS_MAX): Promise<KeyDescription> {
    if (
      !Number.isInteger(pendingWindowInDays) ||
      pendingWindowInDays < PENDING_WINDOW_DAYS_MIN ||
      pendingWindowInDays > PENDING_WINDOW_DAYS_MAX
    )
      return Promise.reject(
        new InvalidArgumentException(
          `PendingWindowInDays ${pendingWindowInDays}: from ${PENDING_WINDOW_DAYS_MIN} to ${PENDING_WINDOW_DAYS_MAX}`,
        ),
      );
    let scheduled = '';
    return this.change(
      (catalog) => {
        const key = this.customerKey(keyId, 'be deleted');
        if (key.keyState === 'PendingDeletion') throw new KMSInvalidStateException(`${this.arnOf(key)} is pending deletion already`);
        scheduled = key.keyId;
        return replaceKey(catalog, { ...key, keyState: 'PendingDeletion', deletionDateMs: Date.now() + pendingWindowInDays * DAY_MS });
      },
      () => this.describeKey(scheduled),
    );
  }

  /** CancelKeyDeletion: a key PendingDeletion becomes Disabled (as KMS does). */
  cancelKeyDeletion(keyId: string): Promise<KeyDescription> {
    let cancelled = '';
    return this.change(
      (catalog) => {
        const key = this.customerKey(keyId, 'have its deletion cancelled');
        if (key.keyState !== 'PendingDeletion') throw new KMSInvalidStateException(`${this.arnOf(key)} is not pending deletion`);
        cancelled = key.keyId;
        const { deletionDateMs: _deletion, ...kept } = key;
        return replaceKey(catalog, { ...kept, keyState: 'Disabled' });
      },
      () => this.describeKey(cancelled),
    );
  }

  /** A fresh data key, and it wrapped under the current version of the key `keyId` names (which must be Enabled). */
  async generateDataKey(keyId: string): Promise<GeneratedDataKey> {
    const key = await this.ensure(keyId);
    this.checkUsable(key);
    const version = key.versions.length;
    const material = this.materialOf(key, version);
    const plaintext = randomBytes(KEY_BYTES);
    const wrapped = Buffer.alloc(WRAPPED_KEY_BYTES);
    WRAPPED_MAGIC.copy(wrapped, 0);
    wrapped[FORMAT_POSITION] = WRAPPED_KEY_FORMAT;
    Buffer.from(key.keyId.replaceAll('-', ''), 'hex').copy(wrapped, KEY_ID_POSITION);
    wrapped.writeUInt32LE(version, KEY_VERSION_POSITION);
    randomBytes(NONCE_BYTES).copy(wrapped, NONCE_POSITION);
    const cipher = createCipheriv('aes-256-gcm', material, wrapped.subarray(NONCE_POSITION, CIPHERTEXT_POSITION), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(wrapped.subarray(0, CIPHERTEXT_POSITION));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    ciphertext.copy(wrapped, CIPHERTEXT_POSITION);
    cipher.getAuthTag().copy(wrapped, TAG_POSITION);
    return { keyArn: this.arnOf(key), plaintext, wrapped };
  }

  /**
   * The data key in `wrapped`, with the key that wrapped it (which must be Enabled, and may have
   * been rotated since). A wrapped key that was changed or cut short is KMSInvalidStateException,
   * one naming a key this store does not hold KMSNotFoundException: never bytes that are not the key.
   */
  async decryptDataKey(wrapped: Uint8Array): Promise<{ keyArn: string; plaintext: Uint8Array }> {
    const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
    if (bytes.length !== WRAPPED_KEY_BYTES)
      throw new KMSInvalidStateException(`a wrapped data key is ${WRAPPED_KEY_BYTES} bytes, not ${bytes.length}`);
    if (!bytes.subarray(0, FORMAT_POSITION).equals(WRAPPED_MAGIC)) throw new KMSInvalidStateException('not a wrapped data key: no magic');
    if (bytes[FORMAT_POSITION] !== WRAPPED_KEY_FORMAT)
      throw new KMSInvalidStateException(
        `wrapped data key of format ${bytes[FORMAT_POSITION]}: only format ${WRAPPED_KEY_FORMAT} is known`,
      );
    const keyId = uuidOf(bytes.subarray(KEY_ID_POSITION, KEY_VERSION_POSITION));
    const key = this.keysById.get(keyId);
    if (key === undefined)
      throw new KMSNotFoundException(
        `Key '${keyArn(this.scope, keyId)}' does not exist: the wrapped data key names a key this store does not hold`,
      );
    this.checkUsable(key);
    const version = bytes.readUInt32LE(KEY_VERSION_POSITION);
    if (version < 1 || version > key.versions.length)
      throw new KMSInvalidStateException(`wrapped data key of version ${version} of ${this.arnOf(key)}, which has ${key.versions.length}`);
    const material = this.materialOf(key, version);
    const decipher = createDecipheriv('aes-256-gcm', material, bytes.subarray(NONCE_POSITION, CIPHERTEXT_POSITION), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(bytes.subarray(0, CIPHERTEXT_POSITION));
    decipher.setAuthTag(bytes.subarray(TAG_POSITION));
    try {
      const plaintext = Buffer.concat([decipher.update(bytes.subarray(CIPHERTEXT_POSITION, TAG_POSITION)), decipher.final()]);
      return { keyArn: this.arnOf(key), plaintext };
    } catch (error) {
      throw new KMSInvalidStateException(
        `the wrapped data key of ${this.arnOf(key)} version ${version} fails authentication: it was changed`,
        {
          cause: error,
        },
      );
    }
  }

  // ---- finding keys ----

  private find(keyId: string): KeyDocument {
    return this.lookup(parseKeyId(keyId, this.scope), keyId);
  }

  private lookup(reference: KeyReference, keyId: string): KeyDocument {
    if (reference.keyId !== undefined) {
      const key = this.keysById.get(reference.keyId);
      if (key === undefined) throw new KMSNotFoundException(`Key '${keyArn(this.scope, reference.keyId)}' does not exist`);
      return key;
    }
    const target = this.aliasTargets.get(reference.aliasName);
    if (target === undefined) {
      const named = aliasArn(this.scope, reference.aliasName);
      if (reference.aliasName === AWS_KINESIS_ALIAS)
        throw new KMSNotFoundException(`Alias ${named} is not found: the AWS managed key is made on its first use (${keyId})`);
      throw new KMSNotFoundException(`Alias ${named} is not found.`);
    }
    return this.keysById.get(target)!;
  }

  /** find, making the AWS managed key of `alias/aws/kinesis` first if that is what is named and it is not there yet. */
  private async ensure(keyId: string): Promise<KeyDocument> {
    const reference = parseKeyId(keyId, this.scope);
    if (reference.aliasName === AWS_KINESIS_ALIAS && !this.aliasTargets.has(AWS_KINESIS_ALIAS)) {
      await this.change(
        (catalog) => {
          // A change queued before this one may have made it.
          if (this.aliasTargets.has(AWS_KINESIS_ALIAS)) return null;
          const key = this.newKey(AWS_KINESIS_DESCRIPTION, 'AWS');
          return {
            ...catalog,
            keys: [...catalog.keys, key],
            aliases: [...catalog.aliases, { aliasName: AWS_KINESIS_ALIAS, targetKeyId: key.keyId }],
          };
        },
        () => undefined,
      );
    }
    return this.lookup(reference, keyId);
  }

  /** The customer managed key `keyId` names; KMSAccessDeniedException for an AWS managed one. */
  private customerKey(keyId: string, what: string): KeyDocument {
    const key = this.find(keyId);
    if (key.keyManager === 'AWS')
      throw new KMSAccessDeniedException(`${this.arnOf(key)} is an AWS managed key: it cannot ${what} by a user`);
    return key;
  }

  /** Throws unless the key may make and unwrap data keys (Enabled). */
  private checkUsable(key: KeyDocument): void {
    if (key.keyState === 'Disabled') throw new KMSDisabledException(`${this.arnOf(key)} is disabled.`);
    if (key.keyState === 'PendingDeletion')
      throw new KMSInvalidStateException(
        `${this.arnOf(key)} is pending deletion (scheduled for ${new Date(key.deletionDateMs!).toISOString()}).`,
      );
  }

  private checkAliasFree(catalog: CatalogDocument, alias: string): void {
    if (catalog.aliases.some((entry) => entry.aliasName === alias))
      throw new ResourceInUseException(`An alias with the name ${aliasArn(this.scope, alias)} already exists`);
  }

  private arnOf(key: KeyDocument): string {
    return keyArn(this.scope, key.keyId);
  }

  private describe(key: KeyDocument): KeyDescription {
    const aliases = this.catalog.aliases.filter((entry) => entry.targetKeyId === key.keyId).map((entry) => entry.aliasName);
    return {
      KeyId: key.keyId,
      Arn: this.arnOf(key),
      Aliases: aliases.sort(),
      KeyState: key.keyState,
      CreationDate: new Date(key.creationDateMs),
      ...(key.deletionDateMs === undefined ? {} : { DeletionDate: new Date(key.deletionDateMs) }),
      Description: key.description,
      KeyManager: key.keyManager,
      Versions: key.versions.length,
    };
  }

  // ---- key material ----

  private newKey(description: string, keyManager: KeyManager): KeyDocument {
    const keyId = randomUUID();
    const creationDateMs = Date.now();
    return { keyId, description, keyManager, keyState: 'Enabled', creationDateMs, versions: [this.newVersion(keyId, 1)] };
  }

  private newVersion(keyId: string, version: number): VersionDocument {
    const material = seal(this.masterKey, randomBytes(KEY_BYTES), materialAad(keyId, version));
    return { version, createdAtMs: Date.now(), material: material.toString('base64') };
  }

  /** Version `version`'s material of `key`, opened under the master key once and kept. */
  private materialOf(key: KeyDocument, version: number): Buffer {
    const name = `${key.keyId} ${version}`;
    const known = this.materials.get(name);
    if (known !== undefined) return known;
    const sealed = Buffer.from(key.versions[version - 1]!.material, 'base64');
    const material = open(this.masterKey, sealed, materialAad(key.keyId, version));
    if (material === null)
      throw new KMSInvalidStateException(
        `the key material of ${this.arnOf(key)} version ${version} fails authentication under the master key: ${CATALOG_FILE} was changed or damaged`,
      );
    this.materials.set(name, material);
    return material;
  }

  // ---- changing the catalog ----

  private changeKey(keyId: string, what: string, edit: (key: KeyDocument) => KeyDocument | null): Promise<void> {
    return this.change(
      (catalog) => {
        const changed = edit(this.customerKey(keyId, what));
        return changed === null ? null : replaceKey(catalog, changed);
      },
      () => undefined,
    );
  }

  /**
   * Runs `edit` on the catalog after every change asked for before, writes what it returns (null:
   * nothing to change) durably, and only then shows it; `result` is computed right after, before
   * any later change. A throw from `edit` changes nothing.
   */
  private change<T>(edit: (catalog: CatalogDocument) => CatalogDocument | null, result: () => T): Promise<T> {
    const run = this.tail.then(async () => {
      if (this.failure !== null) throw this.failure;
      const next = edit(this.catalog);
      if (next !== null) await this.write(next);
      return result();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(next: CatalogDocument): Promise<void> {
    const file = path.join(this.directory, CATALOG_FILE);
    const bytes = encodeCatalog(next);
    if (bytes.length > CATALOG_BYTES_MAX)
      throw new LimitExceededException(`${file} would be ${bytes.length} bytes: at most ${CATALOG_BYTES_MAX}`);
    const onDisk = await readIfExists(file);
    if (onDisk === null || !onDisk.equals(this.catalogBytes))
      throw new KeyStoreError(`${file} was changed by another process since this one read it: one process owns a key store; reopen it`, {
        reason: 'ChangedElsewhere',
      });
    try {
      await writeFileDurably(this.directory, CATALOG_FILE, bytes);
    } catch (error) {
      const failed = error as DurableWriteError;
      const storageError = storageErrorFrom(failed.cause, `writing ${file}`);
      // Once renamed, catalog.json holds the new bytes but maybe not durably: only a reopen tells.
      if (failed.replaced) this.failure = new StorageError(`${storageError.message}: reopen the key store`, { cause: failed.cause });
      throw storageError;
    }
    this.catalog = next;
    this.catalogBytes = bytes;
    this.index();
  }

  private index(): void {
    this.keysById = new Map(this.catalog.keys.map((key) => [key.keyId, key]));
    this.aliasTargets = new Map(this.catalog.aliases.map((entry) => [entry.aliasName, entry.targetKeyId]));
  }
}

function replaceKey(catalog: CatalogDocument, key: KeyDocument): CatalogDocument {
  return { ...catalog, keys: catalog.keys.map((existing) => (existing.keyId === key.keyId ? key : existing)) };
}

function materialAad(keyId: string, version: number): Buffer {
  return Buffer.from(`shardline-kms material ${keyId} ${version}`);
}

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- AES-256-GCM under the master key ----

/** nonce (12, random) | ciphertext | tag (16) of `plain` under `key`, authenticating `aad`. */
function seal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
}

/** What seal sealed, or null if `sealed` is too short or fails authentication. */
function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}

// ---- the master key ----

async function masterKeyOf(master: MasterDocument, directory: string, passphrase: string | undefined): Promise<Buffer> {
  const check = Buffer.from(master.check, 'base64');
  if (master.source === 'passphrase') {
    if (passphrase === undefined)
      throw new KeyStoreError(`the key store in ${directory} is protected by a passphrase: give it`, { reason: 'PassphraseRequired' });
    const key = await deriveMasterKey(passphrase, master.scrypt);
    if (!CHECK_PLAINTEXT.equals(open(key, check, CHECK_AAD) ?? Buffer.alloc(0)))
      throw new KeyStoreError(`wrong passphrase for the key store in ${directory}`, { reason: 'WrongPassphrase' });
    return key;
  }
  if (passphrase !== undefined)
    throw new KeyStoreError(`the key store in ${directory} keeps its master key in ${MASTER_KEY_FILE}, not under a passphrase: give none`, {
      reason: 'PassphraseNotUsed',
    });
  const file = path.join(directory, MASTER_KEY_FILE);
  const key = await readMasterKeyFile(file);
  if (key === null)
    throw new KeyStoreError(`${file} is missing: every key of the store in ${directory} is sealed under it, and lost without it`, {
      reason: 'MasterKeyMissing',
    });
  if (!CHECK_PLAINTEXT.equals(open(key, check, CHECK_AAD) ?? Buffer.alloc(0)))
    throw new KeyStoreError(`${file} is not the master key that made ${path.join(directory, CATALOG_FILE)}`, { reason: 'WrongMasterKey' });
  return key;
}

function deriveMasterKey(passphrase: string, parameters: ScryptParameters): Promise<Buffer> {
  const { N, r, p } = parameters;
  // OpenSSL's own count: 128 * r * (N + 2) for the table, 128 * r * p for the blocks.
  const maxmem = 128 * r * (N + 2) + 128 * r * p + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, Buffer.from(parameters.salt, 'base64'), KEY_BYTES, { N, r, p, maxmem }, (error, key) => {
      if (error === null) resolve(key);
      else reject(new KeyStoreError(`scrypt N=${N} r=${r} p=${p} failed: ${error.message}`, { reason: 'CorruptCatalog', cause: error }));
    });
  });
}

/**
 * The master key in `file`, made first if there is none: 32 random bytes, mode 0600, created
 * exclusively (an existing file is read, never replaced) and fsynced with its directory.
 */
async function createOrReadMasterKeyFile(file: string): Promise<Buffer> {
  const key = randomBytes(KEY_BYTES);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw storageErrorFrom(error, `creating ${file}`);
    const existing = await readMasterKeyFile(file);
    if (existing === null) throw new KeyStoreError(`${file} went away while the key store was opened`, { reason: 'MasterKeyMissing' });
    return existing;
  }
  try {
    await handle.writeFile(key);
    await handle.sync();
  } catch (error) {
    // No catalog names this file yet: a half-written one is removed, not left to be refused next time.
    await handle.close();
    await fs.rm(file, { force: true });
    throw storageErrorFrom(error, `writing ${file}`);
  }
  await handle.close();
  try {
    await syncDirectory(path.dirname(file));
  } catch (error) {
    throw storageErrorFrom(error, `syncing the directory of ${file}`);
  }
  return key;
}

/** The 32 bytes of master.key, or null if there is none; refused if others than its owner may read it. */
async function readMasterKeyFile(file: string): Promise<Buffer | null> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageErrorFrom(error, `opening ${file}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyStoreError(`${file} is not a file`, { reason: 'WrongMasterKey' });
    const mode = stat.mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new KeyStoreError(
        `${file} has mode 0${mode.toString(8)}: a master key must be readable by its owner only (chmod 600 ${file})`,
        { reason: 'UnsafePermissions' },
      );
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES)
      throw new KeyStoreError(`${file} is ${key.length} bytes: a master key is ${KEY_BYTES}`, { reason: 'WrongMasterKey' });
    return key;
  } finally {
    await handle.close();
  }
}

// ---- files ----

/** The directory (and any missing parent), each new one's name made durable in its parent. */
async function makeDirectory(directory: string): Promise<void> {
  const first = await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // mkdir made `first` and everything below it down to `directory`: sync each one's parent.
  for (let made = directory; ; made = path.dirname(made)) {
    await syncDirectory(path.dirname(made));
    if (made === first || path.dirname(made) === made) break;
  }
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageErrorFrom(error, `reading ${file}`);
  }
}

/** A failed writeFileDurably: `replaced` once the rename happened (the file then holds the new bytes). */
interface DurableWriteError {
  readonly cause: unknown;
  readonly replaced: boolean;
}

/**
 * Replaces `dir/name` with `bytes` so that a crash leaves the old file or the new one, never a
 * mix: `name.tmp` (mode 0600), fsync, rename, fsync of the directory. As src/log/durable_file.ts,
 * without its Storage (which loads the native addon). Rejects with a DurableWriteError.
 */
async function writeFileDurably(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const target = path.join(dir, name);
  const tmp = target + TMP_SUFFIX;
  let replaced = false;
  try {
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, target);
    replaced = true;
    await syncDirectory(dir);
  } catch (error) {
    const failed: DurableWriteError = { cause: error, replaced };
    throw failed;
  }
}

// ---- the catalog's JSON ----

function encodeCatalog(catalog: CatalogDocument): Buffer {
  return Buffer.from(`${JSON.stringify(catalog, null, 2)}\n`);
}

const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_STATES: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion'];
const KEY_MANAGERS: readonly KeyManager[] = ['CUSTOMER', 'AWS'];

/** catalog.json, checked whole: a KeyStoreError (CorruptCatalog) naming the first field that is wrong. */
function parseCatalog(bytes: Buffer, file: string): CatalogDocument {
  const corrupt = (where: string, what: string): KeyStoreError =>
    new KeyStoreError(`${file}: ${where} ${what}`, { reason: 'CorruptCatalog' });
  if (bytes.length > CATALOG_BYTES_MAX) throw corrupt('the file', `is ${bytes.length} bytes, more than ${CATALOG_BYTES_MAX}`);
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new KeyStoreError(`${file} is not JSON: ${(error as Error).message}`, { reason: 'CorruptCatalog', cause: error });
  }
  const object = (value: unknown, where: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(where, 'is not an object');
    return value as Record<string, unknown>;
  };
  const array = (value: unknown, where: string, max: number): unknown[] => {
    if (!Array.isArray(value)) throw corrupt(where, 'is not an array');
    if (value.length > max) throw corrupt(where, `has ${value.length} entries, more than ${max}`);
    return value;
  };
  const string = (value: unknown, where: string): string => {
    if (typeof value !== 'string') throw corrupt(where, 'is not a string');
    return value;
  };
  const integer = (value: unknown, where: string, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
      throw corrupt(where, `is not an integer from ${min} to ${max}`);
    return value;
  };
  const base64 = (value: unknown, where: string, byteCount: number): string => {
    const text = string(value, where);
    const decoded = Buffer.from(text, 'base64');
    if (decoded.toString('base64') !== text || decoded.length !== byteCount)
      throw corrupt(where, `is not the base64 of ${byteCount} bytes`);
    return text;
  };
  const oneOf = <T extends string>(value: unknown, where: string, allowed: readonly T[]): T => {
    if (!allowed.includes(value as T)) throw corrupt(where, `is not one of ${allowed.join(', ')}`);
    return value as T;
  };

  const root = object(document, 'the document');
  if (root.version !== CATALOG_VERSION) throw corrupt('version', `is ${JSON.stringify(root.version)}, not ${CATALOG_VERSION}`);
  const masterObject = object(root.master, 'master');
  const check = base64(masterObject.check, 'master.check', NONCE_BYTES + CHECK_PLAINTEXT.length + TAG_BYTES);
  let master: MasterDocument;
  if (oneOf(masterObject.source, 'master.source', ['file', 'passphrase']) === 'file') {
    master = { source: 'file', check };
  } else {
    const parameters = object(masterObject.scrypt, 'master.scrypt');
    const N = integer(parameters.N, 'master.scrypt.N', 2, 2 ** 30);
    const r = integer(parameters.r, 'master.scrypt.r', 1, 1024);
    const p = integer(parameters.p, 'master.scrypt.p', 1, 16);
    if ((N & (N - 1)) !== 0) throw corrupt('master.scrypt.N', 'is not a power of 2');
    if (128 * N * r > SCRYPT_MEMORY_BYTES_MAX) throw corrupt('master.scrypt', `needs more than ${SCRYPT_MEMORY_BYTES_MAX} bytes of memory`);
    master = { source: 'passphrase', check, scrypt: { salt: base64(parameters.salt, 'master.scrypt.salt', SALT_BYTES), N, r, p } };
  }

  const keys = array(root.keys, 'keys', KEYS_MAX).map((value, i): KeyDocument => {
    const where = `keys[${i}]`;
    const key = object(value, where);
    const keyId = string(key.keyId, `${where}.keyId`);
    if (!UUID_LOWER.test(keyId)) throw corrupt(`${where}.keyId`, 'is not a lower-case UUID');
    const description = string(key.description, `${where}.description`);
    if (description.length > DESCRIPTION_CHARS_MAX) throw corrupt(`${where}.description`, `is longer than ${DESCRIPTION_CHARS_MAX}`);
    const keyState = oneOf(key.keyState, `${where}.keyState`, KEY_STATES);
    const versions = array(key.versions, `${where}.versions`, KEY_VERSIONS_MAX).map((entry, j): VersionDocument => {
      const at = `${where}.versions[${j}]`;
      const version = object(entry, at);
      return {
        version: integer(version.version, `${at}.version`, j + 1, j + 1),
        createdAtMs: integer(version.createdAtMs, `${at}.createdAtMs`, 0, Number.MAX_SAFE_INTEGER),
        material: base64(version.material, `${at}.material`, SEALED_KEY_BYTES),
      };
    });
    if (versions.length === 0) throw corrupt(`${where}.versions`, 'is empty');
    const pending = keyState === 'PendingDeletion';
    if (pending !== (key.deletionDateMs !== undefined))
      throw corrupt(`${where}.deletionDateMs`, 'is there exactly when keyState is PendingDeletion');
    return {
      keyId,
      description,
      keyManager: oneOf(key.keyManager, `${where}.keyManager`, KEY_MANAGERS),
      keyState,
      creationDateMs: integer(key.creationDateMs, `${where}.creationDateMs`, 0, Number.MAX_SAFE_INTEGER),
      ...(pending ? { deletionDateMs: integer(key.deletionDateMs, `${where}.deletionDateMs`, 0, Number.MAX_SAFE_INTEGER) } : {}),
      versions,
    };
  });
  const managers = new Map(keys.map((key) => [key.keyId, key.keyManager]));
  if (managers.size !== keys.length) throw corrupt('keys', 'holds a keyId twice');

  const names = new Set<string>();
  const aliases = array(root.aliases, 'aliases', ALIASES_MAX).map((value, i): AliasDocument => {
    const where = `aliases[${i}]`;
    const alias = object(value, where);
    const aliasName = string(alias.aliasName, `${where}.aliasName`);
    if (!isAliasName(aliasName)) throw corrupt(`${where}.aliasName`, 'is not an alias name');
    if (names.has(aliasName)) throw corrupt(`${where}.aliasName`, 'is there twice');
    names.add(aliasName);
    const targetKeyId = string(alias.targetKeyId, `${where}.targetKeyId`);
    const manager = managers.get(targetKeyId);
    if (manager === undefined) throw corrupt(`${where}.targetKeyId`, 'names no key of the catalog');
    if ((manager === 'AWS') !== aliasName.startsWith(AWS_ALIAS_PREFIX))
      throw corrupt(
        where,
        `points ${aliasName} at a key managed by ${manager}: ${AWS_ALIAS_PREFIX} aliases, and they alone, name AWS managed keys`,
      );
    return { aliasName, targetKeyId };
  });
  return { version: CATALOG_VERSION, master, keys, aliases };
}
