/**
 * The Kinesis wire formats, awsJson1_1 and its CBOR twin (awsCbor, what the Java SDK and the KCL
 * send by default), against the engine's shapes. JSON carries blobs as base64 strings and
 * timestamps as epoch seconds; CBOR carries byte strings and epoch times (tag 1), which the
 * cbor package reads as Buffer and Date. Requests are converted field by field where the API has a blob
 * or a timestamp; JSON responses convert any blob or Date wherever it is.
 */
import cbor from 'cbor';

type Json = Record<string, unknown>;

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const CBOR_CONTENT_TYPE = 'application/x-amz-cbor-1.1';

/** How one format reads a blob and a timestamp, and writes and reads whole bodies. */
export interface WireFormat {
  readonly contentType: string;
  blob(value: unknown, field: string): Uint8Array;
  timestamp(value: unknown, field: string): Date;
  parse(body: Buffer): Json;
  /** `plain`: the value holds no blob and no Date, so JSON needs no replacer (much faster). */
  serialize(value: unknown, plain?: boolean): Buffer;
}

function epochSeconds(value: unknown, field: string): Date {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new WireSerializationError(`${field} must be a timestamp in epoch seconds`);
  return new Date(Math.round(value * 1000));
}

function asObject(parsed: unknown): Json {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new WireSerializationError('the request body must be a map of fields');
  return parsed as Json;
}

export const JSON_FORMAT: WireFormat = {
  contentType: JSON_CONTENT_TYPE,
  blob(value, field) {
    // Node's decoder skips what is not base64: a decoded length short of the text's says so
    // (cheaper than a regular expression per record, which showed in PutRecords profiles).
    if (typeof value !== 'string' || value.length % 4 !== 0) throw new WireSerializationError(`${field} must be a base64-encoded blob`);
    const decoded = Buffer.from(value, 'base64');
    const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
    if (decoded.length !== (value.length / 4) * 3 - padding) throw new WireSerializationError(`${field} must be a base64-encoded blob`);
    return decoded;
  },
  timestamp: epochSeconds,
  parse(body) {
    // An empty body is {}, as AWS takes it.
    if (body.length === 0) return {};
    try {
      return asObject(JSON.parse(body.toString('utf8')));
    } catch (error) {
      throw error instanceof WireSerializationError ? error : new WireSerializationError('the request body is not valid JSON');
    }
  },
  serialize: (value, plain = false) => Buffer.from(plain ? JSON.stringify(value) : JSON.stringify(value, wireValue)),
};

/**
 * The value with every Uint8Array as a Buffer over the same bytes: the cbor package writes a
 * Buffer as a plain byte string (major type 2), which every CBOR reader takes, but a Uint8Array
 * as an RFC 8746 typed array (tag 64), which the AWS SDKs do not.
 */
function withBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Date || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(withBuffers);
  const out: Json = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = withBuffers(field);
  return out;
}

export const CBOR_FORMAT: WireFormat = {
  contentType: CBOR_CONTENT_TYPE,
  blob(value, field) {
    if (!(value instanceof Uint8Array)) throw new WireSerializationError(`${field} must be a CBOR byte string`);
    return value;
  },
  timestamp: (value, field) => (value instanceof Date ? value : epochSeconds(value, field)),
  parse(body) {
    if (body.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = cbor.decodeFirstSync(body);
    } catch {
      throw new WireSerializationError('the request body is not valid CBOR');
    }
    return asObject(parsed);
  },
  serialize: (value) => cbor.encode(withBuffers(value ?? {})),
};

export function formatFor(contentType: string): WireFormat | undefined {
  return contentType === JSON_CONTENT_TYPE ? JSON_FORMAT : contentType === CBOR_CONTENT_TYPE ? CBOR_FORMAT : undefined;
}

/** The request body does not have the shape the protocol needs (AWS: SerializationException). */
export class WireSerializationError extends Error {
  override readonly name = 'SerializationException';
}

function withRecordBlob(format: WireFormat, record: unknown, field: string): unknown {
  if (typeof record !== 'object' || record === null || !('Data' in record)) return record;
  return { ...record, Data: format.blob((record as Json).Data, `${field}.Data`) };
}

/** Converts the fields of `operation`'s request that are blobs or timestamps. */
export function requestFromWire(format: WireFormat, operation: string, request: Json): Json {
  switch (operation) {
    case 'PutRecord':
      return 'Data' in request ? { ...request, Data: format.blob(request.Data, 'Data') } : request;
    case 'PutRecords':
      if (!Array.isArray(request.Records)) return request;
      return { ...request, Records: request.Records.map((record, i) => withRecordBlob(format, record, `Records.${i + 1}`)) };
    case 'GetShardIterator':
      return request.Timestamp === undefined ? request : { ...request, Timestamp: format.timestamp(request.Timestamp, 'Timestamp') };
    case 'ListShards': {
      const filter = request.ShardFilter as Json | undefined;
      if (filter?.Timestamp === undefined) return request;
      return { ...request, ShardFilter: { ...filter, Timestamp: format.timestamp(filter.Timestamp, 'ShardFilter.Timestamp') } };
    }
    default:
      return request;
  }
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
