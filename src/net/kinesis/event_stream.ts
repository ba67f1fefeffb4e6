/**
 * AWS event-stream framing (application/vnd.amazon.eventstream), as SubscribeToShard answers:
 * each message is [total length u32][headers length u32][prelude CRC32][headers][payload]
 * [message CRC32], big-endian, the CRCs over everything before them. Headers here are all
 * strings (type 7: a u16 length and UTF-8 bytes), which is all Kinesis sends.
 */
import { crc32 } from '@aws-crypto/crc32';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;
const STRING_HEADER = 7;

function encodeHeaders(headers: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const header = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    header.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(header, 1);
    header.writeUInt8(STRING_HEADER, 1 + nameBytes.length);
    header.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    valueBytes.copy(header, 4 + nameBytes.length);
    parts.push(header);
  }
  return Buffer.concat(parts);
}

export function encodeEventMessage(headers: Readonly<Record<string, string>>, payload: Uint8Array): Buffer {
  const headerBytes = encodeHeaders(headers);
  const total = PRELUDE_BYTES + headerBytes.length + payload.byteLength + CRC_BYTES;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, PRELUDE_BYTES);
  message.set(payload, PRELUDE_BYTES + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - CRC_BYTES)), total - CRC_BYTES);
  return message;
}

/** An event of the stream: `:event-type` names the union member, the payload is its body. */
export function encodeEvent(eventType: string, contentType: string, payload: Uint8Array): Buffer {
  return encodeEventMessage({ ':message-type': 'event', ':event-type': eventType, ':content-type': contentType }, payload);
}

/** An error after the stream began: `:exception-type` is the Kinesis exception's name. */
export function encodeException(exceptionType: string, contentType: string, payload: Uint8Array): Buffer {
  return encodeEventMessage({ ':message-type': 'exception', ':exception-type': exceptionType, ':content-type': contentType }, payload);
}
