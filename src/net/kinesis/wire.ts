/**
 * The Kinesis wire formats, awsJson1_1 and its CBOR twin (awsCbor, what the Java SDK and the KCL
 * send by default), against the engine's shapes. JSON carries blobs as base64 strings and
 * timestamps as epoch seconds. CBOR carries byte strings, and timestamps as tag 1 over an
 * integer of epoch *milliseconds*: AWS's CBOR 1.1 departs from RFC 8949 (seconds) there, and the
 * Java SDK v1 and v2 write and read it that way, so a reader taking seconds is 1000x off.
 * Requests are converted where their input shape has a blob or a timestamp
 * (input_validation.ts); answers convert any blob or Date wherever it is.
 */
import cbor from 'cbor';
import { SerializationException } from '../../errors.js';
import type { BlobReader, InputFormat } from '../../streams/input_validation.js';
import { Base64Batch } from './base64_batch.js';

type Json = Record<string, unknown>;

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const CBOR_CONTENT_TYPE = 'application/x-amz-cbor-1.1';
/**
 * The cbor package's encoder stops, silently, where its stream's high-water mark (16 KiB by
 * default) is reached. 1 GiB is far above any answer: the largest, GetRecords, holds at most
 * 10 MiB of data. The encoder passes the option on to its stream, though its type omits it.
 */
const CBOR_ENCODING: Parameters<typeof cbor.encodeOne>[1] & { readonly highWaterMark: number } = { highWaterMark: 1024 * 1024 * 1024 };
/** AWS's CBOR timestamps: tag 1 over epoch milliseconds (see above). */
const CBOR_EPOCH_TAG = 1;
const CBOR_DECODING = { tags: { [CBOR_EPOCH_TAG]: (value: unknown): unknown => (typeof value === 'number' ? new Date(value) : value) } };

/** How one format reads blobs and timestamps (as the request validation walks a request), and writes and reads whole bodies. */
export interface WireFormat extends InputFormat {
  readonly contentType: string;
  parse(body: Buffer): Json;
  /** `plain`: the value holds no blob and no Date, so JSON needs no replacer (much faster). */
  serialize(value: unknown, plain?: boolean): Buffer;
}

function epochSeconds(value: unknown): Date | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(Math.round(value * 1000)) : undefined;
}

function asObject(parsed: unknown): Json {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SerializationException('the request body must be a map of fields');
  return parsed as Json;
}

export const JSON_FORMAT: WireFormat = {
  contentType: JSON_CONTENT_TYPE,
  blobText: 'a base64-encoded blob',
  timestampText: 'a timestamp in epoch seconds',
  defersBlobs: true,
  blobs: () => new Base64Batch(),
  timestamp: epochSeconds,
  parse(body) {
    // An empty body is {}, as AWS takes it.
    if (body.length === 0) return {};
    try {
      return asObject(JSON.parse(body.toString('utf8')));
    } catch (error) {
      throw error instanceof SerializationException ? error : new SerializationException('the request body is not valid JSON');
    }
  },
  serialize: (value, plain = false) => Buffer.from(plain ? JSON.stringify(value) : JSON.stringify(value, wireValue)),
};

/**
 * The value as AWS's CBOR has it. Every Uint8Array becomes a Buffer over the same bytes: the
 * cbor package writes a Buffer as a plain byte string (major type 2), which every CBOR reader
 * takes, but a Uint8Array as an RFC 8746 typed array (tag 64), which the AWS SDKs do not. Every
 * Date becomes tag 1 over its epoch milliseconds.
 */
function toCbor(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Date) return new cbor.Tagged(CBOR_EPOCH_TAG, value.getTime());
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(toCbor);
  const out: Json = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = toCbor(field);
  return out;
}

/** CBOR byte strings arrive decoded: each is taken as it is. */
class CborBlobs implements BlobReader {
  add(value: unknown, target: Json, key: string): number {
    if (!(value instanceof Uint8Array)) return -1;
    target[key] = value;
    return value.length;
  }

  finish(): number {
    return -1;
  }
}

export const CBOR_FORMAT: WireFormat = {
  contentType: CBOR_CONTENT_TYPE,
  blobText: 'a CBOR byte string',
  timestampText: 'a timestamp: tag 1 over epoch milliseconds',
  defersBlobs: false,
  blobs: () => new CborBlobs(),
  timestamp: (value) =>
    value instanceof Date && !Number.isNaN(value.getTime())
      ? value
      : typeof value === 'number' && Number.isFinite(value)
        ? new Date(value)
        : undefined,
  parse(body) {
    if (body.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = cbor.decodeFirstSync(body, CBOR_DECODING);
    } catch {
      throw new SerializationException('the request body is not valid CBOR');
    }
    return asObject(parsed);
  },
  serialize: (value) => cbor.encodeOne(toCbor(value ?? {}), CBOR_ENCODING),
};

export function formatFor(contentType: string): WireFormat | undefined {
  return contentType === JSON_CONTENT_TYPE ? JSON_FORMAT : contentType === CBOR_CONTENT_TYPE ? CBOR_FORMAT : undefined;
}

/**
 * JSON.stringify's replacer for the wire form: Uint8Array as base64, Date as epoch seconds.
 * It reads the raw value (`this[key]`): by the time the replacer sees `value`, a Date has been
 * turned into an ISO string by its toJSON.
 */
function wireValue(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Date) return raw.getTime() / 1000;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  return value;
}
