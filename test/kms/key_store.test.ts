// Goal: the local key store keeps the KMS keys that stream encryption at rest will use, as KMS
// does for Kinesis: the four KeyId forms name one key; unknown, disabled and pending-deletion
// keys are refused with Kinesis' KMS exception codes; alias/aws/kinesis is made on first use and
// no user changes it; a rotated key still unwraps its old data keys; a changed wrapped key or
// changed key material is refused, never unwrapped to garbage; the master key lives in a 0600
// file that is never overwritten, or comes from a passphrase that is checked; an acknowledged
// createKey/rotateKey survives kill -9.
// Method: real stores in temp directories, reopened to see what is on disk; catalog.json and
// master.key edited by hand to tamper; wrapped keys changed byte by byte; for kill -9, a child
// process (tsx) that creates, rotates and makes data keys and prints each acknowledged one,
// SIGKILLed at a seeded point, then the store reopened here.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentException, LimitExceededException, ResourceInUseException, ShardlineError } from '../../src/errors.js';
import {
  KMSAccessDeniedException,
  KMSDisabledException,
  KMSInvalidStateException,
  KMSNotFoundException,
  KeyStoreError,
  type KeyStoreFailure,
} from '../../src/kms/errors.js';
import {
  AWS_KINESIS_ALIAS,
  CATALOG_FILE,
  KEY_VERSIONS_MAX,
  KeyStore,
  MASTER_KEY_FILE,
  SCRYPT_BLOCK_SIZE,
  SCRYPT_COST,
  SCRYPT_PARALLELIZATION,
  WRAPPED_KEY_BYTES,
} from '../../src/kms/key_store.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ARN_PREFIX = 'arn:aws:kms:us-east-1:000000000000:';

interface CatalogJson {
  master: { source: string; check: string; scrypt?: { salt: string; N: number; r: number; p: number } };
  keys: Array<{ keyId: string; keyState: string; versions: Array<{ version: number; material: string }> }>;
  aliases: Array<{ aliasName: string; targetKeyId: string }>;
}

function readCatalog(dir: string): CatalogJson {
  return JSON.parse(fs.readFileSync(path.join(dir, CATALOG_FILE), 'utf8')) as CatalogJson;
}

function writeCatalog(dir: string, catalog: CatalogJson): void {
  fs.writeFileSync(path.join(dir, CATALOG_FILE), JSON.stringify(catalog, null, 2));
}

/** `promise` rejects with an error of `type` whose message contains `text`. */
async function rejectsWith(promise: Promise<unknown>, type: abstract new (...args: never[]) => ShardlineError, text = ''): Promise<void> {
  const error: unknown = await promise.then(
    () => new Error('resolved'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).toContain(text);
}

function throwsWith(run: () => unknown, type: abstract new (...args: never[]) => ShardlineError, text = ''): void {
  let error: unknown = new Error('returned');
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as Error).message).toContain(text);
}

async function refusedToOpen(options: Parameters<typeof KeyStore.open>[0], reason: KeyStoreFailure, text = ''): Promise<void> {
  const error: unknown = await KeyStore.open(options).then(
    () => new Error('opened'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KeyStoreError);
  expect((error as KeyStoreError).reason).toBe(reason);
  expect((error as KeyStoreError).code).toBe('KeyStoreError');
  expect((error as Error).message).toContain(text);
}

describe('KeyId forms', () => {
  it('a key ARN, an alias ARN, a key id and an alias name all name the same key', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const other = await store.createKey({ alias: 'alias/other' });
    const key = await store.createKey({ alias: 'alias/orders/at-rest_1', description: 'orders' });
    expect(key.KeyId).toMatch(UUID);
    expect(key.Arn).toBe(`${ARN_PREFIX}key/${key.KeyId}`);
    const forms = [key.Arn, `${ARN_PREFIX}alias/orders/at-rest_1`, key.KeyId, 'alias/orders/at-rest_1', key.KeyId.toUpperCase()];
    for (const form of forms) {
      expect(store.describeKey(form), form).toEqual(key);
      expect((await store.resolveKey(form)).KeyId, form).toBe(key.KeyId);
      expect((await store.generateDataKey(form)).keyArn, form).toBe(key.Arn);
    }
    expect(store.describeKey('alias/other').KeyId).toBe(other.KeyId);
    expect(key).toMatchObject({
      Aliases: ['alias/orders/at-rest_1'],
      KeyState: 'Enabled',
      Description: 'orders',
      KeyManager: 'CUSTOMER',
      Versions: 1,
    });
  });

  it('a KeyId that names nothing, or is none of the forms, is KMSNotFoundException naming it', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const key = await store.createKey({ alias: 'alias/known' });
    const unknownId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    const cases: Array<[string, string]> = [
      [unknownId, unknownId],
      [`${ARN_PREFIX}key/${unknownId}`, unknownId],
      ['alias/unknown', 'alias/unknown'],
      [`${ARN_PREFIX}alias/unknown`, 'alias/unknown'],
      ['alias/aws/lambda', 'alias/aws/lambda'],
      ['not-a-key', 'not-a-key'],
      ['alias/', 'alias/'],
      ['alias/with space', 'alias/with space'],
      [`arn:aws:kms:eu-west-1:000000000000:key/${key.KeyId}`, 'eu-west-1'],
      [`arn:aws:kms:us-east-1:123456789012:alias/known`, '123456789012'],
      [`arn:aws:kms:us-east-1:000000000000:key/not-a-uuid`, 'not-a-uuid'],
      [`arn:aws:s3:us-east-1:000000000000:key/${key.KeyId}`, 'arn:aws:s3'],
    ];
    for (const [keyId, named] of cases) {
      throwsWith(() => store.describeKey(keyId), KMSNotFoundException, named);
      await rejectsWith(store.generateDataKey(keyId), KMSNotFoundException, named);
      await rejectsWith(store.disableKey(keyId), KMSNotFoundException, named);
    }
    // The key they did not name is untouched.
    expect(store.describeKey(key.KeyId).KeyState).toBe('Enabled');
  });

  it('a key ARN of the region and account the store is opened with resolves; the default one then does not', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory, region: 'eu-west-1', accountId: '123456789012' });
    const key = await store.createKey();
    expect(key.Arn).toBe(`arn:aws:kms:eu-west-1:123456789012:key/${key.KeyId}`);
    expect(store.describeKey(key.Arn).KeyId).toBe(key.KeyId);
    throwsWith(() => store.describeKey(`${ARN_PREFIX}key/${key.KeyId}`), KMSNotFoundException, 'us-east-1');
  });
});

describe('the AWS managed key alias/aws/kinesis', () => {
  it('is made on first use, once, and is the same key after a reopen', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    expect(store.listKeys()).toEqual([]);
    throwsWith(() => store.describeKey(AWS_KINESIS_ALIAS), KMSNotFoundException, 'first use');
    const [a, b] = await Promise.all([store.resolveKey(AWS_KINESIS_ALIAS), store.generateDataKey(AWS_KINESIS_ALIAS)]);
    expect(a).toMatchObject({ Aliases: [AWS_KINESIS_ALIAS], KeyManager: 'AWS', KeyState: 'Enabled', Versions: 1 });
    expect(b.keyArn).toBe(a.Arn);
    expect(store.listKeys()).toEqual([a]);
    expect(store.describeKey(`${ARN_PREFIX}alias/aws/kinesis`)).toEqual(a);

    const reopened = await KeyStore.open({ directory });
    expect(reopened.describeKey(AWS_KINESIS_ALIAS)).toEqual(a);
    expect((await reopened.decryptDataKey(b.wrapped)).plaintext).toEqual(b.plaintext);
    expect(reopened.listKeys()).toHaveLength(1);
  });

  it('cannot be disabled, enabled, rotated, deleted or aliased by a user, nor its alias deleted or taken', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const managed = await store.resolveKey(AWS_KINESIS_ALIAS);
    await rejectsWith(store.disableKey(AWS_KINESIS_ALIAS), KMSAccessDeniedException, 'AWS managed');
    await rejectsWith(store.disableKey(managed.KeyId), KMSAccessDeniedException, 'AWS managed');
    await rejectsWith(store.enableKey(managed.Arn), KMSAccessDeniedException);
    await rejectsWith(store.rotateKey(AWS_KINESIS_ALIAS), KMSAccessDeniedException);
    await rejectsWith(store.scheduleKeyDeletion(AWS_KINESIS_ALIAS), KMSAccessDeniedException);
    await rejectsWith(store.createAlias('alias/mine', AWS_KINESIS_ALIAS), KMSAccessDeniedException);
    await rejectsWith(store.deleteAlias(AWS_KINESIS_ALIAS), KMSAccessDeniedException);
    await rejectsWith(store.createAlias('alias/aws/kinesis', (await store.createKey()).KeyId), InvalidArgumentException, 'reserved');
    await rejectsWith(store.createKey({ alias: 'alias/aws/streams' }), InvalidArgumentException, 'reserved');
    expect(store.describeKey(AWS_KINESIS_ALIAS)).toEqual(managed);
    const dataKey = await store.generateDataKey(AWS_KINESIS_ALIAS);
    expect((await store.decryptDataKey(dataKey.wrapped)).plaintext).toEqual(dataKey.plaintext);
  });
});

describe('aliases', () => {
  it('are made, shown sorted on their key, deleted, and taken only once', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey({ alias: 'alias/b' });
    const other = await store.createKey();
    await store.createAlias('alias/a', key.Arn);
    await store.createAlias('alias/c', 'alias/b');
    expect(store.describeKey(key.KeyId).Aliases).toEqual(['alias/a', 'alias/b', 'alias/c']);
    await rejectsWith(store.createAlias('alias/a', other.KeyId), ResourceInUseException, 'alias/a already exists');
    await rejectsWith(store.createKey({ alias: 'alias/a' }), ResourceInUseException);
    expect(store.listKeys()).toHaveLength(2);
    await store.deleteAlias('alias/b');
    throwsWith(() => store.describeKey('alias/b'), KMSNotFoundException, 'alias/b');
    await rejectsWith(store.deleteAlias('alias/b'), KMSNotFoundException, 'alias/b');
    await store.createAlias('alias/b', other.KeyId);
    const reopened = await KeyStore.open({ directory });
    expect(reopened.describeKey('alias/b').KeyId).toBe(other.KeyId);
    expect(reopened.describeKey(key.KeyId).Aliases).toEqual(['alias/a', 'alias/c']);
  });

  it('follow AWS alias name rules: alias/ then A-Z a-z 0-9 / _ -, 256 characters in all', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const key = await store.createKey();
    const longest = `alias/${'x'.repeat(250)}`;
    await store.createAlias(longest, key.KeyId);
    await store.createAlias('alias/Az09/_-', key.KeyId);
    expect(store.describeKey(longest).KeyId).toBe(key.KeyId);
    for (const bad of [`${longest}y`, 'alias/', 'alias/a b', 'alias/a.b', 'alias/é', 'name', 'Alias/x', '']) {
      await rejectsWith(store.createAlias(bad, key.KeyId), InvalidArgumentException, 'alias name');
      await rejectsWith(store.createKey({ alias: bad }), InvalidArgumentException, 'alias name');
    }
    expect(store.listKeys()).toHaveLength(1);
  });

  it('cannot point at a key pending deletion', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const key = await store.createKey();
    await store.scheduleKeyDeletion(key.KeyId);
    await rejectsWith(store.createAlias('alias/late', key.KeyId), KMSInvalidStateException, 'pending deletion');
  });
});

describe('key states', () => {
  it('a disabled key makes and unwraps no data key until it is enabled again, across a reopen', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey({ alias: 'alias/k' });
    const before = await store.generateDataKey('alias/k');
    await store.disableKey('alias/k');
    await store.disableKey(key.KeyId); // already disabled: nothing to change
    expect(store.describeKey(key.KeyId).KeyState).toBe('Disabled');
    await rejectsWith(store.generateDataKey('alias/k'), KMSDisabledException, key.Arn);
    await rejectsWith(store.decryptDataKey(before.wrapped), KMSDisabledException, key.Arn);

    const reopened = await KeyStore.open({ directory });
    expect(reopened.describeKey(key.KeyId).KeyState).toBe('Disabled');
    await rejectsWith(reopened.decryptDataKey(before.wrapped), KMSDisabledException);
    await reopened.enableKey(key.Arn);
    expect(reopened.describeKey(key.KeyId).KeyState).toBe('Enabled');
    expect((await reopened.decryptDataKey(before.wrapped)).plaintext).toEqual(before.plaintext);
    const after = await reopened.generateDataKey(key.KeyId);
    expect((await reopened.decryptDataKey(after.wrapped)).plaintext).toEqual(after.plaintext);
  });

  it('a key scheduled for deletion is PendingDeletion and unusable until the deletion is cancelled (then Disabled)', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey();
    const dataKey = await store.generateDataKey(key.KeyId);
    await rejectsWith(store.scheduleKeyDeletion(key.KeyId, 6), InvalidArgumentException, 'PendingWindowInDays');
    await rejectsWith(store.scheduleKeyDeletion(key.KeyId, 31), InvalidArgumentException, 'PendingWindowInDays');
    const startMs = Date.now();
    const pending = await store.scheduleKeyDeletion(key.KeyId, 7);
    expect(pending.KeyState).toBe('PendingDeletion');
    expect(pending.DeletionDate!.getTime()).toBeGreaterThanOrEqual(startMs + 7 * 86_400_000);
    expect(pending.DeletionDate!.getTime()).toBeLessThanOrEqual(Date.now() + 7 * 86_400_000);
    await rejectsWith(store.generateDataKey(key.KeyId), KMSInvalidStateException, 'pending deletion');
    await rejectsWith(store.decryptDataKey(dataKey.wrapped), KMSInvalidStateException, 'pending deletion');
    await rejectsWith(store.enableKey(key.KeyId), KMSInvalidStateException, 'cancel the deletion');
    await rejectsWith(store.disableKey(key.KeyId), KMSInvalidStateException);
    await rejectsWith(store.rotateKey(key.KeyId), KMSInvalidStateException);
    await rejectsWith(store.scheduleKeyDeletion(key.KeyId), KMSInvalidStateException, 'already');

    const reopened = await KeyStore.open({ directory });
    expect(reopened.describeKey(key.KeyId)).toEqual(pending);
    const cancelled = await reopened.cancelKeyDeletion(key.KeyId);
    expect(cancelled.KeyState).toBe('Disabled');
    expect(cancelled.DeletionDate).toBeUndefined();
    await rejectsWith(reopened.cancelKeyDeletion(key.KeyId), KMSInvalidStateException, 'not pending');
    await reopened.enableKey(key.KeyId);
    expect((await reopened.decryptDataKey(dataKey.wrapped)).plaintext).toEqual(dataKey.plaintext);
  });
});

describe('data keys', () => {
  it('are 32 random bytes, wrapped in 85 self-describing bytes that decryptDataKey alone unwraps', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey();
    const a = await store.generateDataKey(key.KeyId);
    const b = await store.generateDataKey(key.KeyId);
    expect(a.keyArn).toBe(key.Arn);
    expect(a.plaintext).toHaveLength(32);
    expect(Buffer.from(a.plaintext).equals(Buffer.from(b.plaintext))).toBe(false);
    expect(a.wrapped).toHaveLength(WRAPPED_KEY_BYTES);
    expect(WRAPPED_KEY_BYTES).toBe(85);
    const wrapped = Buffer.from(a.wrapped);
    expect(wrapped.subarray(0, 4).toString('hex')).toBe('e54b4d53');
    expect(wrapped[4]).toBe(1);
    expect(wrapped.subarray(5, 21).toString('hex')).toBe(key.KeyId.replaceAll('-', ''));
    expect(wrapped.readUInt32LE(21)).toBe(1);
    // The plaintext does not appear in what is stored beside the data.
    expect(wrapped.includes(Buffer.from(a.plaintext))).toBe(false);
    expect(Buffer.from(a.wrapped).subarray(25, 37).equals(Buffer.from(b.wrapped).subarray(25, 37))).toBe(false);

    // Another store, the same directory: the wrapped bytes are all it needs.
    const reopened = await KeyStore.open({ directory });
    expect(await reopened.decryptDataKey(a.wrapped)).toEqual({ keyArn: key.Arn, plaintext: a.plaintext });
    expect((await reopened.decryptDataKey(new Uint8Array(b.wrapped))).plaintext).toEqual(b.plaintext);
  });

  it('rotation: new data keys use the new version, the old ones still unwrap, after a reopen too', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey({ alias: 'alias/r' });
    const v1 = await store.generateDataKey('alias/r');
    const rotated = await store.rotateKey('alias/r');
    expect(rotated).toMatchObject({ KeyId: key.KeyId, Versions: 2, KeyState: 'Enabled' });
    const v2 = await store.generateDataKey('alias/r');
    await store.rotateKey(key.Arn);
    const v3 = await store.generateDataKey('alias/r');
    expect([v1, v2, v3].map((dataKey) => Buffer.from(dataKey.wrapped).readUInt32LE(21))).toEqual([1, 2, 3]);
    const catalog = readCatalog(directory);
    const materials = catalog.keys[0]!.versions.map((version) => version.material);
    expect(new Set(materials).size).toBe(3);

    const reopened = await KeyStore.open({ directory });
    expect(reopened.describeKey('alias/r').Versions).toBe(3);
    for (const dataKey of [v1, v2, v3]) expect((await reopened.decryptDataKey(dataKey.wrapped)).plaintext).toEqual(dataKey.plaintext);
  });

  it(`a key has at most ${KEY_VERSIONS_MAX} versions`, async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const key = await store.createKey();
    await Promise.all(Array.from({ length: KEY_VERSIONS_MAX - 1 }, () => store.rotateKey(key.KeyId)));
    expect(store.describeKey(key.KeyId).Versions).toBe(KEY_VERSIONS_MAX);
    await rejectsWith(store.rotateKey(key.KeyId), LimitExceededException, String(KEY_VERSIONS_MAX));
  });

  it('a wrapped key with any byte changed, cut short or grown is refused, never unwrapped', async () => {
    const store = await KeyStore.open({ directory: tempDir() });
    const key = await store.createKey();
    await store.rotateKey(key.KeyId);
    const { wrapped, plaintext } = await store.generateDataKey(key.KeyId);
    for (let position = 0; position < wrapped.length; position++) {
      for (const flip of [0x01, 0x80]) {
        const changed = Buffer.from(wrapped);
        changed[position]! ^= flip;
        const error: unknown = await store.decryptDataKey(changed).then(
          () => new Error(`byte ${position} ^ ${flip}: unwrapped`),
          (caught: unknown) => caught,
        );
        // The key id's bytes then name a key this store does not hold; anything else fails its check.
        const expected = position >= 5 && position < 21 ? KMSNotFoundException : KMSInvalidStateException;
        expect(error, `byte ${position} ^ ${flip}`).toBeInstanceOf(expected);
      }
    }
    await rejectsWith(store.decryptDataKey(wrapped.subarray(0, 84)), KMSInvalidStateException, '85 bytes');
    await rejectsWith(store.decryptDataKey(Buffer.concat([wrapped, Buffer.of(0)])), KMSInvalidStateException, '85 bytes');
    await rejectsWith(store.decryptDataKey(new Uint8Array(0)), KMSInvalidStateException);
    // The version field pointing at the key's other version fails, though that version exists.
    const otherVersion = Buffer.from(wrapped);
    otherVersion.writeUInt32LE(1, 21);
    await rejectsWith(store.decryptDataKey(otherVersion), KMSInvalidStateException, 'fails authentication');
    const noSuchVersion = Buffer.from(wrapped);
    noSuchVersion.writeUInt32LE(3, 21);
    await rejectsWith(store.decryptDataKey(noSuchVersion), KMSInvalidStateException, 'version 3');
    expect((await store.decryptDataKey(wrapped)).plaintext).toEqual(plaintext);
  });

  it('a data key wrapped by another store is KMSNotFoundException', async () => {
    const mine = await KeyStore.open({ directory: tempDir() });
    const theirs = await KeyStore.open({ directory: tempDir() });
    await mine.createKey();
    const foreign = await theirs.generateDataKey((await theirs.createKey()).KeyId);
    await rejectsWith(mine.decryptDataKey(foreign.wrapped), KMSNotFoundException, foreign.keyArn);
  });
});

describe('the catalog on disk', () => {
  it("holds each version's material sealed under the master key, never the material itself", async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey();
    const catalog = readCatalog(directory);
    expect(catalog.master.source).toBe('file');
    const sealed = Buffer.from(catalog.keys[0]!.versions[0]!.material, 'base64');
    expect(sealed).toHaveLength(12 + 32 + 16);
    expect(fs.statSync(path.join(directory, CATALOG_FILE)).mode & 0o777).toBe(0o600);
    // The catalog alone opens nothing: without master.key the store is refused, not made anew.
    fs.renameSync(path.join(directory, MASTER_KEY_FILE), path.join(directory, 'elsewhere'));
    await refusedToOpen({ directory }, 'MasterKeyMissing', MASTER_KEY_FILE);
    fs.renameSync(path.join(directory, 'elsewhere'), path.join(directory, MASTER_KEY_FILE));
    expect((await KeyStore.open({ directory })).describeKey(key.KeyId).KeyId).toBe(key.KeyId);
  });

  it('changed key material is refused as KMSInvalidStateException, and the other keys still work', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const changed = await store.createKey({ alias: 'alias/changed' });
    const swapped = await store.createKey({ alias: 'alias/swapped' });
    const intact = await store.createKey({ alias: 'alias/intact' });
    const old = await store.generateDataKey('alias/changed');
    const catalog = readCatalog(directory);
    const material = Buffer.from(catalog.keys[0]!.versions[0]!.material, 'base64');
    material[20]! ^= 0x01;
    catalog.keys[0]!.versions[0]!.material = material.toString('base64');
    // Material moved from one key to another: its additional data names the key it belongs to.
    catalog.keys[1]!.versions[0]!.material = catalog.keys[2]!.versions[0]!.material;
    writeCatalog(directory, catalog);

    const reopened = await KeyStore.open({ directory });
    await rejectsWith(reopened.generateDataKey(changed.KeyId), KMSInvalidStateException, 'key material');
    await rejectsWith(reopened.decryptDataKey(old.wrapped), KMSInvalidStateException, 'key material');
    await rejectsWith(reopened.generateDataKey(swapped.KeyId), KMSInvalidStateException, swapped.Arn);
    const fine = await reopened.generateDataKey(intact.KeyId);
    expect((await reopened.decryptDataKey(fine.wrapped)).plaintext).toEqual(fine.plaintext);
  });

  it('a catalog that does not parse or contradicts itself is refused (CorruptCatalog), naming the field', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey({ alias: 'alias/a' });
    const good = fs.readFileSync(path.join(directory, CATALOG_FILE), 'utf8');
    const cases: Array<[(catalog: CatalogJson & Record<string, unknown>) => void, string]> = [
      [(catalog) => (catalog.version = 2), 'version'],
      [(catalog) => (catalog.keys[0]!.keyState = 'Gone'), 'keys[0].keyState'],
      [(catalog) => (catalog.keys[0]!.versions[0]!.material = 'AAAA'), 'keys[0].versions[0].material'],
      [(catalog) => (catalog.keys[0]!.versions[0]!.version = 2), 'keys[0].versions[0].version'],
      [(catalog) => (catalog.aliases[0]!.targetKeyId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301'), 'aliases[0].targetKeyId'],
      [(catalog) => catalog.keys.push(catalog.keys[0]!), 'keyId twice'],
      [(catalog) => (catalog.master.source = 'hsm'), 'master.source'],
    ];
    for (const [edit, named] of cases) {
      const catalog = JSON.parse(good) as CatalogJson & Record<string, unknown>;
      edit(catalog);
      writeCatalog(directory, catalog);
      await refusedToOpen({ directory }, 'CorruptCatalog', named);
    }
    fs.writeFileSync(path.join(directory, CATALOG_FILE), good.slice(0, 100));
    await refusedToOpen({ directory }, 'CorruptCatalog', 'not JSON');
    fs.writeFileSync(path.join(directory, CATALOG_FILE), good);
    expect((await KeyStore.open({ directory })).describeKey('alias/a').KeyId).toBe(key.KeyId);
  });
});

describe('the master key file', () => {
  it('is 32 bytes of mode 0600, made once and never overwritten, even when the catalog is missing', async () => {
    const directory = path.join(tempDir(), 'data', 'kms');
    await KeyStore.open({ directory });
    const file = path.join(directory, MASTER_KEY_FILE);
    const bytes = fs.readFileSync(file);
    expect(bytes).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const store = await KeyStore.open({ directory });
    await store.generateDataKey((await store.createKey()).KeyId);
    expect(fs.readFileSync(file)).toEqual(bytes);
    // As a crash between master.key and the first catalog leaves it: the file is used, not replaced.
    fs.rmSync(path.join(directory, CATALOG_FILE));
    const again = await KeyStore.open({ directory });
    expect(fs.readFileSync(file)).toEqual(bytes);
    expect(again.listKeys()).toEqual([]);
    expect(readCatalog(directory).master.source).toBe('file');
    // The new catalog's check value is that same key's: it reopens, and the old file is still the key.
    await KeyStore.open({ directory });
    expect(fs.readFileSync(file)).toEqual(bytes);
  });

  it('is refused when others than its owner may read it', async () => {
    const directory = tempDir();
    await KeyStore.open({ directory });
    const file = path.join(directory, MASTER_KEY_FILE);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      fs.chmodSync(file, mode);
      await refusedToOpen({ directory }, 'UnsafePermissions', `0${mode.toString(8)}`);
    }
    fs.chmodSync(file, 0o400);
    await KeyStore.open({ directory });
    fs.chmodSync(file, 0o644);
    fs.rmSync(path.join(directory, CATALOG_FILE));
    // Even when it would make a new catalog with it.
    await refusedToOpen({ directory }, 'UnsafePermissions', 'chmod 600');
    expect(fs.existsSync(path.join(directory, CATALOG_FILE))).toBe(false);
  });

  it('is refused when it is not the key that made the catalog, or not 32 bytes', async () => {
    const directory = tempDir();
    await KeyStore.open({ directory });
    const file = path.join(directory, MASTER_KEY_FILE);
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.alloc(32, 7));
    await refusedToOpen({ directory }, 'WrongMasterKey', 'not the master key');
    fs.writeFileSync(file, original.subarray(0, 31));
    await refusedToOpen({ directory }, 'WrongMasterKey', '31 bytes');
    fs.writeFileSync(file, original);
    await KeyStore.open({ directory });
  });
});

describe('a passphrase store', () => {
  it('derives its master key with scrypt (N=2^15, r=8, p=1, a random salt), keeps no master.key, and reopens', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory, passphrase: 'correct horse' });
    const key = await store.createKey({ alias: 'alias/p' });
    const dataKey = await store.generateDataKey('alias/p');
    expect(fs.existsSync(path.join(directory, MASTER_KEY_FILE))).toBe(false);
    const { master } = readCatalog(directory);
    expect(master.source).toBe('passphrase');
    expect(master.scrypt).toMatchObject({ N: SCRYPT_COST, r: SCRYPT_BLOCK_SIZE, p: SCRYPT_PARALLELIZATION });
    expect([SCRYPT_COST, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELIZATION]).toEqual([32768, 8, 1]);
    expect(Buffer.from(master.scrypt!.salt, 'base64')).toHaveLength(16);

    const reopened = await KeyStore.open({ directory, passphrase: 'correct horse' });
    expect(reopened.describeKey('alias/p')).toEqual(key);
    expect((await reopened.decryptDataKey(dataKey.wrapped)).plaintext).toEqual(dataKey.plaintext);

    const other = tempDir();
    await KeyStore.open({ directory: other, passphrase: 'correct horse' });
    expect(readCatalog(other).master.scrypt!.salt).not.toBe(master.scrypt!.salt);
  });

  it('refuses a wrong passphrase, a missing one, and one given to a store that has master.key', async () => {
    const directory = tempDir();
    await (await KeyStore.open({ directory, passphrase: 'right' })).createKey();
    await refusedToOpen({ directory, passphrase: 'wrong' }, 'WrongPassphrase', 'wrong passphrase');
    await refusedToOpen({ directory, passphrase: 'right ' }, 'WrongPassphrase');
    await refusedToOpen({ directory }, 'PassphraseRequired', 'passphrase');
    expect(fs.existsSync(path.join(directory, MASTER_KEY_FILE))).toBe(false);
    await rejectsWith(KeyStore.open({ directory, passphrase: '' }), InvalidArgumentException, 'empty');
    expect((await KeyStore.open({ directory, passphrase: 'right' })).listKeys()).toHaveLength(1);

    const fileStore = tempDir();
    await KeyStore.open({ directory: fileStore });
    await refusedToOpen({ directory: fileStore, passphrase: 'right' }, 'PassphraseNotUsed', MASTER_KEY_FILE);
  });

  it('takes a passphrase in either Unicode normalization (NFC)', async () => {
    const directory = tempDir();
    await KeyStore.open({ directory, passphrase: 'caf\u00e9' });
    await KeyStore.open({ directory, passphrase: 'cafe\u0301' });
    await refusedToOpen({ directory, passphrase: 'cafe' }, 'WrongPassphrase');
  });
});

describe('changes', () => {
  it('made at once are all written, one after another, and all survive a reopen', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.createKey({ alias: `alias/k${i}`, description: `key ${i}` })),
    );
    expect(new Set(created.map((key) => key.KeyId)).size).toBe(40);
    const reopened = await KeyStore.open({ directory });
    expect(reopened.listKeys()).toEqual(store.listKeys());
    for (const [i, key] of created.entries()) expect(reopened.describeKey(`alias/k${i}`).KeyId).toBe(key.KeyId);
  });

  it('a refused change changes nothing and does not block the next', async () => {
    const directory = tempDir();
    const store = await KeyStore.open({ directory });
    const key = await store.createKey({ alias: 'alias/x' });
    const before = fs.readFileSync(path.join(directory, CATALOG_FILE));
    const results = await Promise.allSettled([
      store.createKey({ alias: 'alias/x' }),
      store.createAlias('bad', key.KeyId),
      store.rotateKey(key.KeyId),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(store.listKeys()).toHaveLength(1);
    expect(store.describeKey('alias/x').Versions).toBe(2);
    expect(fs.readFileSync(path.join(directory, CATALOG_FILE)).equals(before)).toBe(false);
  });

  it('a catalog another process wrote meanwhile is not overwritten (ChangedElsewhere)', async () => {
    const directory = tempDir();
    const first = await KeyStore.open({ directory });
    const second = await KeyStore.open({ directory });
    const kept = await first.createKey({ alias: 'alias/first' });
    const error: unknown = await second.createKey({ alias: 'alias/second' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KeyStoreError);
    expect((error as KeyStoreError).reason).toBe('ChangedElsewhere');
    const reopened = await KeyStore.open({ directory });
    expect(reopened.listKeys().map((key) => key.KeyId)).toEqual([kept.KeyId]);
  });
});

// ---- kill -9 ----

/*
 * The child: opens the store in argv[1], then for ever creates a key, rotates it and makes a
 * data key under it, printing each acknowledged step: `created <id>`, `rotated <id> <versions>`,
 * `data <id> <wrapped base64> <plaintext base64>`. Run from the repository root (tsx resolves there).
 */
const CHILD = `
const { KeyStore } = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/kms/key_store.ts'))});
const store = await KeyStore.open({ directory: process.argv[1] });
for (let i = 0; i < 100000; i++) {
  const key = await store.createKey({ alias: 'alias/k' + i });
  process.stdout.write('created ' + key.KeyId + '\\n');
  const rotated = await store.rotateKey(key.KeyId);
  process.stdout.write('rotated ' + key.KeyId + ' ' + rotated.Versions + '\\n');
  const data = await store.generateDataKey('alias/k' + i);
  process.stdout.write('data ' + key.KeyId + ' ' + Buffer.from(data.wrapped).toString('base64') + ' ' + Buffer.from(data.plaintext).toString('base64') + '\\n');
}
`;

async function runUntilKilled(directory: string, killAfter: number): Promise<string[][]> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, directory], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: string[][] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) acknowledged.push(line.split(' '));
    if (acknowledged.length >= killAfter) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect(signal, `child exited by itself with code ${code}`).toBe('SIGKILL');
  return acknowledged;
}

const seed = testSeed();

describe('kill -9', () => {
  it(`loses no acknowledged key, rotation or data key's material (seed ${seed})`, { timeout: 120_000 }, async () => {
    const random = seededRandom(seed);
    for (let round = 0; round < 2; round++) {
      const directory = tempDir();
      const killAfter = 10 + Math.floor(random() * 60);
      const acknowledged = await runUntilKilled(directory, killAfter);
      const label = `seed ${seed}, round ${round}, killed after ${acknowledged.length} acknowledgements`;
      expect(acknowledged.length, label).toBeGreaterThanOrEqual(killAfter);
      const store = await KeyStore.open({ directory });
      for (const [step, keyId, ...rest] of acknowledged) {
        const key = store.describeKey(keyId!);
        if (step === 'created') expect(key.Versions, label).toBeGreaterThanOrEqual(1);
        else if (step === 'rotated') expect(key.Versions, label).toBe(Number(rest[0]));
        else {
          expect(step, label).toBe('data');
          const { plaintext } = await store.decryptDataKey(Buffer.from(rest[0]!, 'base64'));
          expect(Buffer.from(plaintext).toString('base64'), label).toBe(rest[1]);
        }
      }
      // A store that a crash interrupted takes changes again.
      await store.createKey();
    }
  });
});
