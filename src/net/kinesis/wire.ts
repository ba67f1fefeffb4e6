/**
 * The Kinesis JSON protocol (awsJson1_1) on the wire: blobs are base64 strings and timestamps
 * epoch seconds, where the engine takes and gives Uint8Array and Date (or milliseconds).
 * Requests are converted field by field where the API has a blob or a timestamp; responses are
 * walked, since any of them may carry either.
 */
type Json = Record<string, unknown>;

/** A base64 blob from a request; ValidationException naming the field when it is not one. */
function blob(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) {
    throw new WireSerializationError(`${field} must be a base64-encoded blob`);
  }
  return Buffer.from(value, 'base64');
}

/** Epoch seconds (fractions allowed) from a request, as the engine's Date. */
function timestamp(value: unknown, field: string): Date {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new WireSerializationError(`${field} must be a timestamp in epoch seconds`);
  return new Date(Math.round(value * 1000));
}

/** The request body does not have the shape the protocol needs (AWS: SerializationException). */
export class WireSerializationError extends Error {
  override readonly name = 'SerializationException';
}

function withRecordBlob(record: unknown, field: string): unknown {
  if (typeof record !== 'object' || record === null || !('Data' in record)) return record;
  return { ...record, Data: blob((record as Json).Data, `${field}.Data`) };
}

/** Converts the fields of `operation`'s request that are blobs or timestamps. */
export function requestFromWire(operation: string, request: Json): Json {
  switch (operation) {
    case 'PutRecord':
      return 'Data' in request ? { ...request, Data: blob(request.Data, 'Data') } : request;
    case 'PutRecords':
      if (!Array.isArray(request.Records)) return request;
      return { ...request, Records: request.Records.map((record, i) => withRecordBlob(record, `Records.${i + 1}`)) };
    case 'GetShardIterator':
      return request.Timestamp === undefined ? request : { ...request, Timestamp: timestamp(request.Timestamp, 'Timestamp') };
    case 'ListShards': {
      const filter = request.ShardFilter as Json | undefined;
      if (filter?.Timestamp === undefined) return request;
      return { ...request, ShardFilter: { ...filter, Timestamp: timestamp(filter.Timestamp, 'ShardFilter.Timestamp') } };
    }
    default:
      return request;
  }
}

/** A response value in wire form: Uint8Array as base64, Date as epoch seconds. */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const out: Json = {};
    for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = toWire(field);
    return out;
  }
  return value;
}

/** The request body as a JSON object; an empty body is {} (as AWS takes it). */
export function parseJsonBody(body: Buffer): Json {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WireSerializationError('the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new WireSerializationError('the request body must be a JSON object');
  return parsed as Json;
}

