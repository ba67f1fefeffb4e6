/*
 * CALL (0x02), client -> server: 0 u8 opLength | 1 operation name (ASCII) | JSON request (rest)
 * RESULT (0x82), server -> client: JSON response (the whole body)
 * END (0x86), server -> client: JSON { reason } (a subscription ended)
 *
 * JSON lacks two things the Kinesis shapes hold: bytes travel as base64 strings (in fields
 * named `Data`) and dates as epoch milliseconds (in fields whose names end in `Timestamp`).
 * toWire/fromWire apply that convention both ways, on any depth of the object.
 */
import { OPERATION_NAME_BYTES_MAX } from '../../limits.js';
import { FrameReader, FrameWriter, MalformedFrameError, Opcode } from '../protocol.js';

export function encodeCall(requestId: number, operation: string, request: unknown): Uint8Array {
  return new FrameWriter(Opcode.CALL, requestId)
    .string(operation, 1)
    .text(JSON.stringify(toWire(request ?? {})))
    .finish();
}

export function decodeCall(reader: FrameReader): { operation: string; request: Record<string, unknown> } {
  const operation = reader.string(1);
  if (operation.length === 0 || operation.length > OPERATION_NAME_BYTES_MAX || !/^[A-Za-z]+(\.[A-Za-z]+)?$/.test(operation))
    throw new MalformedFrameError(`not an operation name: ${JSON.stringify(operation)}`);
  return { operation, request: fromWire(reader.restJson()) as Record<string, unknown> };
}

export function encodeJsonFrame(opcode: typeof Opcode.RESULT | typeof Opcode.END, requestId: number, value: unknown): Uint8Array {
  return new FrameWriter(opcode, requestId).text(JSON.stringify(toWire(value ?? {}))).finish();
}

export function decodeJsonFrame(reader: FrameReader): Record<string, unknown> {
  return fromWire(reader.restJson()) as Record<string, unknown>;
}

/** Bytes to base64, Dates to epoch milliseconds, recursively. */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return toBase64(value);
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toWire(field)]));
  return value;
}

/** The reverse of toWire, by field name: `Data` from base64, `...Timestamp` to a Date. */
export function fromWire(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => fromWire(item, key));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, fromWire(field, name)]));
  if (key === 'Data' && typeof value === 'string') return fromBase64(value);
  if (key.endsWith('Timestamp') && typeof value === 'number') return new Date(value);
  return value;
}

/** Bytes per String.fromCharCode call: keeps the argument list well below engines' limits. */
const BASE64_CHUNK_BYTES = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += BASE64_CHUNK_BYTES)
    binary += String.fromCharCode(...bytes.subarray(at, at + BASE64_CHUNK_BYTES));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new MalformedFrameError('Data is not valid base64');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
