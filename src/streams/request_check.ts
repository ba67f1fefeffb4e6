import { INPUT_SHAPES } from './input_shapes.js';
import { readInput, type BlobReader, type InputFormat } from './input_validation.js';
import { plainEntriesCheck } from './plain_entries.js';

/*
 * The one request validation, at the engine boundary: every operation's request is read against
 * its Kinesis input shape before the engine looks anything up, whichever door it came through.
 * The HTTP door reads its wire format (base64 blobs, epoch-second timestamps) with the same
 * reader first; embedded callers and the WebSocket door hand over Uint8Arrays and Dates.
 */

type Json = Record<string, unknown>;

/** Blobs are Uint8Arrays already: nothing to decode, nothing written back. */
const NATIVE_BLOBS: BlobReader = {
  add: (value) => (value instanceof Uint8Array ? value.byteLength : -1),
  finish: () => -1,
};

/** Requests as JavaScript values: blobs as Uint8Array, timestamps as Date or epoch milliseconds. */
export const NATIVE_INPUT: InputFormat = {
  blobText: 'a Uint8Array',
  timestampText: 'a Date or epoch milliseconds',
  defersBlobs: false,
  blobs: () => NATIVE_BLOBS,
  timestamp: (value) => {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
    return typeof value === 'number' && Number.isFinite(value) ? new Date(value) : undefined;
  },
};

export type OperationName = keyof typeof INPUT_SHAPES & string;

/** PutRecords' 500 entries are the one hot list: read the plain ones fast (plain_entries.ts). */
const PUT_RECORDS_ENTRIES = plainEntriesCheck(INPUT_SHAPES.PutRecords!, 'Records');

/**
 * Checks `request` against the input shape of `operation`: SerializationException for a member
 * of the wrong type, one ValidationException in AWS's words for broken constraints,
 * InvalidArgumentException for a member of a feature shardline lacks. Returns the request, its
 * epoch-millisecond timestamps turned into Dates. A missing request is an empty one.
 */
export function checkRequest<T>(operation: OperationName, request: T): T {
  const shape = INPUT_SHAPES[operation];
  if (shape === undefined) throw new Error(`no input shape for ${operation}`);
  const body = (request ?? {}) as Json;
  if (operation === 'PutRecords' && PUT_RECORDS_ENTRIES.plain(body.Records))
    return readInput(NATIVE_INPUT, PUT_RECORDS_ENTRIES.head, body) as T;
  return readInput(NATIVE_INPUT, shape, body) as T;
}
