import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryStore } from '../../src/delivery/directory_store.js';
import type { ObjectStore } from '../../src/delivery/object_store.js';
import { S3Store } from '../../src/delivery/s3_store.js';
import { InvalidArgumentException } from '../../src/errors.js';
import { S3_SERVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3_server.js';
import { suiteTempDir, tempDir } from '../helpers/temp_dir.js';

// Goal: both object stores a delivery stream writes to keep what S3 would: the bytes put, under
// the whole key (nested prefixes included), the last put of a key winning, and on S3 the
// Content-Type and Content-Encoding; the directory store refuses keys that would leave its root
// and leaves no partial or temporary file when a put fails; S3's errors reject put(). Method: one
// contract run against a DirectoryStore on a temporary directory (read back by walking it) and an
// S3Store on s3rver bound to 127.0.0.1 (read back through the S3 API); each test its own bucket.

const BUCKETS = ['put', 'nested', 'overwrite'];

interface Subject {
  readonly store: ObjectStore;
  read(bucket: string, key: string): Promise<Buffer | null>;
  keys(bucket: string): Promise<string[]>;
}

async function directorySubject(): Promise<Subject & { root: string; remove(): void }> {
  const { dir, remove } = suiteTempDir('shardline-directory-store-');
  return {
    root: dir,
    remove,
    store: new DirectoryStore(dir),
    read: async (bucket, key) => {
      const file = path.join(dir, bucket, key);
      return fs.existsSync(file) ? fs.readFileSync(file) : null;
    },
    keys: async (bucket) => walk(path.join(dir, bucket)),
  };
}

/** Every file under dir, as a key relative to it, sorted as S3 lists. */
function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

const ALL_BYTES = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

const subjects: { name: string; start(): Promise<Subject & { stop(): Promise<void> }> }[] = [
  {
    name: 'DirectoryStore',
    start: async () => {
      const subject = await directorySubject();
      return { ...subject, stop: async () => subject.remove() };
    },
  },
  {
    name: 'S3Store',
    start: async () => {
      const server = await startS3Server({ buckets: BUCKETS });
      const store = new S3Store({ endpoint: server.endpoint, credentials: S3_SERVER_CREDENTIALS });
      return {
        store,
        read: (bucket, key) => server.getObject(bucket, key),
        keys: (bucket) => server.listKeys(bucket),
        stop: async () => {
          store.close();
          await server.stop();
        },
      };
    },
  },
];

describe.each(subjects)('$name', ({ start }) => {
  let subject: Subject & { stop(): Promise<void> };
  beforeAll(async () => {
    subject = await start();
  });
  afterAll(async () => {
    await subject?.stop();
  });

  it('keeps the bytes put under the key', async () => {
    await subject.store.put('put', { key: 'object-1', body: ALL_BYTES, contentType: 'application/octet-stream' });
    expect(await subject.read('put', 'object-1')).toEqual(Buffer.from(ALL_BYTES));
    expect(await subject.keys('put')).toEqual(['object-1']);
  });

  it('keeps nested keys apart, as prefixes', async () => {
    const keys = ['2026/12/07/12/stream-1-a', '2026/12/07/12/stream-1-b', '2026/12/07/13/stream-1-c', 'errors/x', 'top'];
    for (const key of keys) await subject.store.put('nested', { key, body: Buffer.from(key) });
    expect(await subject.keys('nested')).toEqual(keys);
    for (const key of keys) expect((await subject.read('nested', key))?.toString()).toBe(key);
  });

  it('replaces an object put again under the same key', async () => {
    await subject.store.put('overwrite', { key: 'a/b', body: Buffer.from('first, and longer') });
    await subject.store.put('overwrite', { key: 'a/b', body: Buffer.from('second') });
    expect((await subject.read('overwrite', 'a/b'))?.toString()).toBe('second');
    expect(await subject.keys('overwrite')).toEqual(['a/b']);
  });
});

describe('S3Store', () => {
  let server: S3Server;
  let store: S3Store;
  beforeAll(async () => {
    server = await startS3Server({ buckets: ['headers'] });
    store = new S3Store({ endpoint: server.endpoint, credentials: S3_SERVER_CREDENTIALS });
  });
  afterAll(async () => {
    store?.close();
    await server?.stop();
  });

  it('keeps Content-Type and Content-Encoding, and the gzip bytes as put (not decoded)', async () => {
    const body = gzipSync(Buffer.from('{"a":1}\n'.repeat(100)));
    await store.put('headers', { key: 'logs/part.gz', body, contentType: 'application/octet-stream', contentEncoding: 'gzip' });
    expect(await server.headObject('headers', 'logs/part.gz')).toEqual({
      contentType: 'application/octet-stream',
      contentEncoding: 'gzip',
    });
    expect(await server.getObject('headers', 'logs/part.gz')).toEqual(body);
  });

  it("rejects a put to a bucket that does not exist with S3's error", async () => {
    await expect(store.put('no-such-bucket', { key: 'x', body: Buffer.from('x') })).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });
});

describe('DirectoryStore', () => {
  it.each(['../escaped', 'a/../../escaped', '/etc/escaped', 'a/\0b', 'a//b', './a', 'a/', ''])(
    'refuses the key %j, writing nothing',
    async (key) => {
      const parent = tempDir();
      const store = new DirectoryStore(path.join(parent, 'root'));
      await expect(store.put('bucket', { key, body: Buffer.from('x') })).rejects.toBeInstanceOf(InvalidArgumentException);
      expect(fs.readdirSync(parent)).toEqual([]);
    },
  );

  it.each(['..', '.', 'a/b', ''])('refuses the bucket %j', async (bucket) => {
    const parent = tempDir();
    const store = new DirectoryStore(path.join(parent, 'root'));
    await expect(store.put(bucket, { key: 'k', body: Buffer.from('x') })).rejects.toBeInstanceOf(InvalidArgumentException);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('leaves no temporary file when a put fails, and the objects already there', async () => {
    const root = tempDir();
    const store = new DirectoryStore(root);
    await store.put('bucket', { key: 'a/b', body: Buffer.from('kept') });
    // The key names a directory: the rename fails after the temporary file was written.
    await expect(store.put('bucket', { key: 'a', body: Buffer.from('lost') })).rejects.toMatchObject({ code: 'EISDIR' });
    expect(fs.readdirSync(path.join(root, 'bucket'))).toEqual(['a']);
    expect(walk(path.join(root, 'bucket'))).toEqual(['a/b']);
    expect(fs.readFileSync(path.join(root, 'bucket', 'a', 'b'), 'utf8')).toBe('kept');
  });

  it('writes into a directory removed since the last put', async () => {
    const root = tempDir();
    const store = new DirectoryStore(root);
    await store.put('bucket', { key: 'a/b/1', body: Buffer.from('1') });
    fs.rmSync(path.join(root, 'bucket'), { recursive: true });
    await store.put('bucket', { key: 'a/b/2', body: Buffer.from('2') });
    expect(walk(path.join(root, 'bucket'))).toEqual(['a/b/2']);
  });
});
