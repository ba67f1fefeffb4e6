import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { suiteTempDir } from './temp_dir.js';

/**
 * A test's S3: s3rver (an S3-compatible server from npm, its objects in a temporary directory) on
 * 127.0.0.1 and a free port, with the given buckets made. The test reads objects back through
 * @aws-sdk/client-s3, as S3 would serve them, not from s3rver's files. The caller stops it.
 */
export interface S3Server {
  readonly endpoint: string;
  /** Where s3rver keeps its files (removed by stop()). */
  readonly directory: string;
  stop(): Promise<void>;
  /** The object's bytes, null when there is no such key. */
  getObject(bucket: string, key: string): Promise<Buffer | null>;
  /** The object's headers, null when there is no such key. */
  headObject(bucket: string, key: string): Promise<{ contentType?: string; contentEncoding?: string } | null>;
  /** Every key in the bucket, in S3's (lexicographic) order. */
  listKeys(bucket: string): Promise<string[]>;
  /** Makes a bucket while the server runs (a destination whose bucket appears late). */
  createBucket(bucket: string): Promise<void>;
}

/** The only key pair s3rver accepts (it checks signatures). */
export const S3_SERVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: object) => S3rver;

export async function startS3Server(options: { buckets?: string[] } = {}): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const temp = suiteTempDir('shardline-s3rver-');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: temp.dir,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const { port } = await server.run().catch((error: unknown) => {
    temp.remove();
    throw error;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_SERVER_CREDENTIALS });
  return {
    endpoint,
    directory: temp.dir,
    async stop() {
      client.destroy();
      await server.close();
      temp.remove();
    },
    async getObject(bucket, key) {
      const object = await orNull(client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
      return object?.Body === undefined ? null : Buffer.from(await object.Body.transformToByteArray());
    },
    async headObject(bucket, key) {
      const head = await orNull(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      if (head === null) return null;
      return {
        ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
        ...(head.ContentEncoding === undefined ? {} : { contentEncoding: head.ContentEncoding }),
      };
    },
    async createBucket(bucket) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    async listKeys(bucket) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key!));
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return keys;
    },
  };
}

/** A missing key answers null: GetObject's NoSuchKey, HeadObject's bodiless 404 (NotFound). */
async function orNull<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof NoSuchKey || error instanceof NotFound) return null;
    throw error;
  }
}
