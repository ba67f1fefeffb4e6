/*
 * ERROR (0x8f), server -> client
 *   0 u8 flags (bit 0 retriable) | 1 u8 codeLength | 2 code (ASCII) | message (UTF-8, rest)
 */
import { ERROR_FLAG_RETRIABLE, FrameReader, FrameWriter, Opcode } from '../protocol.js';

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

export function encodeError(requestId: number, error: WireError): Uint8Array {
  return new FrameWriter(Opcode.ERROR, requestId)
    .u8(error.retriable ? ERROR_FLAG_RETRIABLE : 0)
    .string(error.code, 1)
    .text(error.message)
    .finish();
}

export function decodeError(reader: FrameReader): WireError {
  const flags = reader.u8();
  return { retriable: (flags & ERROR_FLAG_RETRIABLE) !== 0, code: reader.string(1), message: reader.restText() };
}
