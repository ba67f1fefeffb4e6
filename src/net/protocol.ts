import { FRAME_BYTES_MAX } from '../limits.js';
/*
 * The wire protocol's constants and frame primitives (docs/PROTOCOL.md). Pure: typed arrays,
 * DataView and TextEncoder only, so the browser client uses this file as the server does.
 *
 *   0 opcode u8 | 1 flags u8 | 2 reserved u16 | 4 requestId u32 | 8 body
 */

export const PROTOCOL_VERSION = 1;
export const DEFAULT_PORT = 4567;

export const OPCODE_POSITION = 0;
export const FLAGS_POSITION = OPCODE_POSITION + 1;
export const RESERVED_POSITION = FLAGS_POSITION + 1;
export const REQUEST_ID_POSITION = RESERVED_POSITION + 2;
export const FRAME_HEADER_BYTES = REQUEST_ID_POSITION + 4;

export const Opcode = {
  HELLO: 0x01,
  CALL: 0x02,
  PUT: 0x03,
  GET_RECORDS: 0x04,
  SUBSCRIBE: 0x05,
  CANCEL: 0x06,
  HELLO_OK: 0x81,
  RESULT: 0x82,
  PUT_RESULT: 0x83,
  RECORDS: 0x84,
  EVENT: 0x85,
  END: 0x86,
  SUBSCRIBED: 0x87,
  ERROR: 0x8f,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/**
 * uWS drops a connection whose message passes this without a close frame (the client sees 1006);
 * frames from FRAME_BYTES_MAX + 1 up to it are answered (ERROR) and closed with 1009. Bounds count
 * the whole message, header included.
 */
export const MESSAGE_BYTES_MAX = 2 * FRAME_BYTES_MAX;
/** The request id of server frames that answer no readable request; HELLO alone may use it. */
export const NO_REQUEST_ID = 0;
/** No record in a PUT_RESULT: its slot. */
export const FAILED_SLOT = 0xffff;
export const ERROR_FLAG_RETRIABLE = 0x01;

export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  HANDSHAKE_REQUIRED: 4001,
  UNSUPPORTED_VERSION: 4002,
  TOO_MANY_ERRORS: 4003,
  /** The upgrade request's signature was refused; the ERROR answering HELLO says why. */
  UNAUTHENTICATED: 4004,
} as const;

/** Protocol error codes (ERROR frames), beside the Kinesis exception names. */
export const ProtocolErrorCode = {
  MALFORMED_FRAME: 'MalformedFrame',
  UNKNOWN_OPCODE: 'UnknownOpcode',
  HANDSHAKE_REQUIRED: 'HandshakeRequired',
  UNSUPPORTED_VERSION: 'UnsupportedVersion',
  TOO_MANY_REQUESTS: 'TooManyRequests',
  SLOW_DOWN: 'SlowDown',
  SHUTTING_DOWN: 'ShuttingDown',
} as const;

/** Why a subscription's END came (docs/PROTOCOL.md, SUBSCRIBE, CANCEL and END). */
export const EndReason = {
  SHARD_ENDED: 'shard-ended',
  CANCELLED: 'cancelled',
  CONSUMER_GONE: 'consumer-gone',
  STREAM_DELETED: 'stream-deleted',
  SHUTDOWN: 'shutdown',
  /** The answer to a CANCEL whose id names no live subscription. */
  NOT_SUBSCRIBED: 'not-subscribed',
} as const;
export type EndReason = (typeof EndReason)[keyof typeof EndReason];

/** A frame that does not parse: answered with MalformedFrame, never a crash. */
export class MalformedFrameError extends Error {}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const TWO_POW_32 = 0x1_0000_0000;

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Builds one frame: header first, then body fields appended; grows as needed. */
export class FrameWriter {
  private bytes: Uint8Array;
  private view: DataView;
  private length = FRAME_HEADER_BYTES;

  constructor(opcode: Opcode, requestId: number, capacity = 256) {
    this.bytes = new Uint8Array(Math.max(capacity, FRAME_HEADER_BYTES));
    this.view = new DataView(this.bytes.buffer);
    this.bytes[OPCODE_POSITION] = opcode;
    this.view.setUint32(REQUEST_ID_POSITION, requestId >>> 0, true);
  }

  setFlags(flags: number): this {
    this.bytes[FLAGS_POSITION] = flags;
    return this;
  }

  u8(value: number): this {
    this.reserve(1);
    this.bytes[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
    return this;
  }

  /** A non-negative safe integer as two u32 halves, low first. */
  u64(value: number): this {
    return this.u32(value % TWO_POW_32).u32(Math.floor(value / TWO_POW_32));
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** A string with its byte length first, as a u8 or u16. */
  string(text: string, lengthBytes: 1 | 2): this {
    const encoded = encoder.encode(text);
    if (encoded.length >= 2 ** (8 * lengthBytes))
      throw new RangeError(`string of ${encoded.length} bytes does not fit a u${8 * lengthBytes} length`);
    return (lengthBytes === 1 ? this.u8(encoded.length) : this.u16(encoded.length)).raw(encoded);
  }

  /** The rest of the frame as UTF-8. */
  text(text: string): this {
    return this.raw(encoder.encode(text));
  }

  get byteLength(): number {
    return this.length;
  }

  /** The frame (a view of the writer's buffer). */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.length + bytes, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

/**
 * Reads a frame's fields in order; any overrun or bad text is a MalformedFrameError. The header's
 * flags and reserved field are read, not judged: the server refuses non-zero ones under the
 * frame's own request id, which needs the reader.
 */
export class FrameReader {
  readonly opcode: number;
  readonly flags: number;
  readonly reserved: number;
  readonly requestId: number;
  private readonly view: DataView;
  private position = FRAME_HEADER_BYTES;

  constructor(readonly bytes: Uint8Array) {
    if (bytes.length < FRAME_HEADER_BYTES)
      throw new MalformedFrameError(`a frame has at least ${FRAME_HEADER_BYTES} bytes, got ${bytes.length}`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.opcode = bytes[OPCODE_POSITION]!;
    this.flags = bytes[FLAGS_POSITION]!;
    this.reserved = this.view.getUint16(RESERVED_POSITION, true);
    this.requestId = this.view.getUint32(REQUEST_ID_POSITION, true);
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.position++]!;
  }

  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.position, true);
    this.position += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  u64(): number {
    const low = this.u32();
    const high = this.u32();
    if (high >= 0x20_0000) throw new MalformedFrameError('a 64-bit field above 2^53');
    return high * TWO_POW_32 + low;
  }

  /** The next `length` bytes, as a view. */
  bytesOf(length: number): Uint8Array {
    this.need(length);
    const view = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return view;
  }

  string(lengthBytes: 1 | 2): string {
    const length = lengthBytes === 1 ? this.u8() : this.u16();
    return decodeUtf8(this.bytesOf(length));
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    return this.bytesOf(this.remaining);
  }

  restText(): string {
    return decodeUtf8(this.rest());
  }

  /** The rest as JSON: an object, or MalformedFrameError. */
  restJson(): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(this.restText());
    } catch (error) {
      if (error instanceof MalformedFrameError) throw error;
      throw new MalformedFrameError('the body is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new MalformedFrameError('the JSON body must be an object');
    return value as Record<string, unknown>;
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.bytes.length)
      throw new MalformedFrameError(`the frame ends ${this.position + bytes - this.bytes.length} bytes early`);
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new MalformedFrameError('text is not valid UTF-8');
  }
}
