/*
 * Where a delivery stream's S3 destination writes its objects (docs/DELIVERY.md): a directory laid
 * out as the bucket's keys would be (`<root>/<bucket>/<key>`), or an S3 API (AWS S3, MinIO, any
 * S3-compatible server) through @aws-sdk/client-s3. An object is whole once put() resolves (the
 * directory: written, fsynced and renamed into place), so a delivery is checkpointed only after.
 */

export interface DeliveryObject {
  /** The object's whole key: the evaluated prefix and the object name. */
  readonly key: string;
  readonly body: Uint8Array;
  /** e.g. application/octet-stream; S3 stores it as the object's Content-Type. */
  readonly contentType?: string;
  /** gzip when the stream compresses with GZIP. */
  readonly contentEncoding?: string;
}

export interface ObjectStore {
  /** Writes the object whole (a failure leaves none, or the old one, under the key). */
  put(bucket: string, object: DeliveryObject): Promise<void>;
  /** Frees what the store holds (an S3 client's sockets). */
  close?(): void;
}
