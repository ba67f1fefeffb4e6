/*
 * HELLO (0x01), client -> server       HELLO_OK (0x81), server -> client
 *   0 u16 version                        0 u16 version | 2 u32 maxFrameBytes | 6 u32 maxInFlight
 *   2 u16 nameLength | 4 name            10 u16 nameLength | 12 name
 */
import { CLIENT_NAME_BYTES_MAX } from '../../limits.js';
import { FrameReader, FrameWriter, MalformedFrameError, Opcode } from '../protocol.js';

export interface Hello {
  readonly version: number;
  readonly clientName: string;
}

export interface HelloOk {
  readonly version: number;
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly serverName: string;
}

export function encodeHello(requestId: number, hello: Hello): Uint8Array {
  return new FrameWriter(Opcode.HELLO, requestId)
    .u16(hello.version)
    .string(cutToBytes(hello.clientName, CLIENT_NAME_BYTES_MAX), 2)
    .finish();
}

/** The longest prefix of whole characters within `maxBytes` of UTF-8: a name is a label, not worth a refusal. */
function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

export function decodeHello(reader: FrameReader): Hello {
  const version = reader.u16();
  const clientName = reader.string(2);
  if (new TextEncoder().encode(clientName).length > CLIENT_NAME_BYTES_MAX)
    throw new MalformedFrameError(`a client name has at most ${CLIENT_NAME_BYTES_MAX} bytes`);
  return { version, clientName };
}

export function encodeHelloOk(requestId: number, ok: HelloOk): Uint8Array {
  return new FrameWriter(Opcode.HELLO_OK, requestId)
    .u16(ok.version)
    .u32(ok.maxFrameBytes)
    .u32(ok.maxInFlight)
    .string(ok.serverName, 2)
    .finish();
}

export function decodeHelloOk(reader: FrameReader): HelloOk {
  return { version: reader.u16(), maxFrameBytes: reader.u32(), maxInFlight: reader.u32(), serverName: reader.string(2) };
}
