/*
 * The object store of a delivery stream whose destination is an S3 API: AWS S3, or an
 * S3-compatible server (MinIO, s3rver) at `endpoint`, addressed path-style (`<endpoint>/<bucket>/<key>`)
 * since such servers rarely resolve a bucket as a host name. The SDK's own retries are off: the
 * delivery retries a failed put by itself, as Firehose does for its retry duration, and two layers
 * of retries would multiply each other's attempts.
 */

import { NodeHttpHandler } from '@smithy/node-http-handler';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DeliveryObject, ObjectStore } from './object_store.js';

export interface S3StoreOptions {
  /** e.g. http://127.0.0.1:9000 for MinIO; AWS S3 for the region when absent. */
  readonly endpoint?: string;
  /** us-east-1 when absent. */
  readonly region?: string;
  /** The SDK's default provider chain (environment, profile, instance role) when absent. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Path-style addressing; the default is to use it exactly when an endpoint is given. */
  readonly forcePathStyle?: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 120_000;

export class S3Store implements ObjectStore {
  private readonly client: S3Client;

  constructor(options: S3StoreOptions = {}) {
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      maxAttempts: 1,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // An S3 that hangs fails the put (and it is retried) instead of holding the flush forever.
      requestHandler: new NodeHttpHandler({ connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }),
    });
  }

  async put(bucket: string, object: DeliveryObject): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentType: object.contentType,
        ContentEncoding: object.contentEncoding,
      }),
    );
  }

  close(): void {
    this.client.destroy();
  }
}
