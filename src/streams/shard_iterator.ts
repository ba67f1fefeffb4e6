import assert from 'node:assert/strict';
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { ExpiredIteratorException, InvalidArgumentException } from '../errors.js';
import { readU64, writeU64 } from '../log/u64.js';
import { ITERATOR_TTL_MS } from '../limits.js';
import { SHARD_SERIAL_MAX } from './sequence_number.js';

/*
 * Shard iterators: the opaque tokens GetShardIterator hands out and GetRecords takes back. The
 * token carries the whole read position, so no server-side table of open iterators is needed; a
 * MAC makes it tamper-proof, so a client cannot forge a position in a stream it was never given,
 * and the issue time it carries lets iterators expire after ITERATOR_TTL_MS as in Kinesis.
 *
 * Layout (little-endian), then base64url without padding:
 *   0 version u8 | 1 issuedAtMs u64 | 9 shardSerial u64 | 17 offset u64 |
 *   25 segmentBaseOffset u64 | 33 positionBytes u32 | 37 streamIdLength u8 |
 *   38 streamId (ASCII, streamIdLength bytes) | mac (16 bytes)
 * mac = HMAC-SHA256(secret, every byte before it), truncated to 16 bytes: 128 bits is far past
 * what an online forger can guess, and keeps the token short.
 *
 * The longest token (64-byte streamId) is 38 + 64 + 16 = 118 bytes, 158 characters: well inside
 * Kinesis' 512-character limit on ShardIterator, which ITERATOR_CHARS_MAX asserts below.
 */
const VERSION_POSITION = 0;
const ISSUED_AT_POSITION = VERSION_POSITION + 1;
const SHARD_SERIAL_POSITION = ISSUED_AT_POSITION + 8;
const OFFSET_POSITION = SHARD_SERIAL_POSITION + 8;
const SEGMENT_BASE_POSITION = OFFSET_POSITION + 8;
const POSITION_BYTES_POSITION = SEGMENT_BASE_POSITION + 8;
const STREAM_ID_LENGTH_POSITION = POSITION_BYTES_POSITION + 4;
const STREAM_ID_POSITION = STREAM_ID_LENGTH_POSITION + 1;
const VERSION = 1;
const MAC_BYTES = 16;
const SECRET_BYTES = 32;
const STREAM_ID_CHARS_MAX = 64;
const STREAM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const POSITION_BYTES_MAX = 0xffff_ffff;

/** Kinesis' limit on the length of a ShardIterator string. */
export const ITERATOR_CHARS_MAX = 512;
/**
 * How far in the future an iterator's issue time may lie: a token can come back to a process
 * whose clock runs a little behind the one that issued it; anything further is not ours.
 */
export const ITERATOR_CLOCK_SKEW_MS = 60_000;

const TOKEN_BYTES_MIN = STREAM_ID_POSITION + 1 + MAC_BYTES;
const TOKEN_BYTES_MAX = STREAM_ID_POSITION + STREAM_ID_CHARS_MAX + MAC_BYTES;
const TOKEN_CHARS_MAX = Math.ceil((TOKEN_BYTES_MAX * 4) / 3);
assert(TOKEN_CHARS_MAX <= ITERATOR_CHARS_MAX, 'the longest shard iterator must fit Kinesis’ limit');

/** Where a reader stands in one shard. */
export interface IteratorPosition {
  /** The stream's id: 1..64 characters of [A-Za-z0-9_-]. */
  readonly streamId: string;
  /** The shard's serial within the stream: 0..SHARD_SERIAL_MAX. */
  readonly shardSerial: number;
  /** The next record to read. */
  readonly offset: number;
  /** A read hint: the base offset of the segment holding `offset` (so <= offset); 0 when unknown. */
  readonly segmentBaseOffset: number;
  /** A read hint: where the batch holding `offset` starts in that segment; 0 when unknown. */
  readonly positionBytes: number;
}

export type DecodedIterator = IteratorPosition & { readonly issuedAtMs: number };

/** Encodes positions into signed, expiring ShardIterator tokens, and checks them on the way back. */
export class ShardIterator {
  // A KeyObject in a private field: the secret never shows up in logs or util.inspect output.
  readonly #key: KeyObject;

  constructor(secret: Uint8Array) {
    assert(secret instanceof Uint8Array && secret.length === SECRET_BYTES, `shard iterator secret must be ${SECRET_BYTES} bytes`);
    // Copied, so a caller that reuses its buffer cannot change the key under us.
    this.#key = createSecretKey(Buffer.from(secret));
  }

  encode(position: IteratorPosition, nowMs: number): string {
    assertPosition(position);
    assertTime(nowMs);
    const layout = encodeLayout(position, nowMs);
    const token = Buffer.concat([layout, this.#mac(layout)]).toString('base64url');
    assert(token.length <= TOKEN_CHARS_MAX);
    return token;
  }

  /**
   * The position and issue time `token` carries. InvalidArgumentException when it is not a token
   * this secret signed (or was issued implausibly far in the future); ExpiredIteratorException when
   * it was issued more than ITERATOR_TTL_MS before nowMs. Exactly ITERATOR_TTL_MS old is still valid.
   */
  decode(token: string, nowMs: number): DecodedIterator {
    assertTime(nowMs);
    const decoded = decodeLayout(this.#verified(token));
    checkAge(decoded.issuedAtMs, nowMs);
    return decoded;
  }

  /** The layout bytes of `token` once its MAC checks out; InvalidArgumentException otherwise. */
  #verified(token: string): Buffer {
    // Bound the length before decoding anything: the token comes straight from a client.
    if (typeof token !== 'string' || token.length > TOKEN_CHARS_MAX || !BASE64URL_PATTERN.test(token)) {
      throw invalid('it is not a token this service issued');
    }
    const bytes = Buffer.from(token, 'base64url');
    // Node's decoder ignores stray trailing bits; only the canonical spelling of the bytes is accepted.
    if (bytes.toString('base64url') !== token) throw invalid('it is not base64url');
    if (bytes.length < TOKEN_BYTES_MIN) throw invalid('its length is wrong');
    if (bytes[VERSION_POSITION] !== VERSION) throw invalid('its version is unknown');
    const layout = bytes.subarray(0, bytes.length - MAC_BYTES);
    if (!timingSafeEqual(this.#mac(layout), bytes.subarray(layout.length))) throw invalid('its signature does not match');
    return layout;
  }

  #mac(layout: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(layout).digest().subarray(0, MAC_BYTES);
  }
}

function encodeLayout(position: IteratorPosition, issuedAtMs: number): Buffer {
  const buf = Buffer.alloc(STREAM_ID_POSITION + position.streamId.length);
  buf.writeUInt8(VERSION, VERSION_POSITION);
  writeU64(buf, ISSUED_AT_POSITION, issuedAtMs);
  writeU64(buf, SHARD_SERIAL_POSITION, position.shardSerial);
  writeU64(buf, OFFSET_POSITION, position.offset);
  writeU64(buf, SEGMENT_BASE_POSITION, position.segmentBaseOffset);
  buf.writeUInt32LE(position.positionBytes, POSITION_BYTES_POSITION);
  buf.writeUInt8(position.streamId.length, STREAM_ID_LENGTH_POSITION);
  buf.write(position.streamId, STREAM_ID_POSITION, 'ascii');
  return buf;
}

/**
 * The fields of a layout whose MAC verified. A verified layout is one we wrote, so these checks
 * only fail for a token of another build sharing the secret; they answer "invalid", not crash.
 */
function decodeLayout(layout: Buffer): DecodedIterator {
  if (layout[STREAM_ID_LENGTH_POSITION] !== layout.length - STREAM_ID_POSITION) throw invalid('its length is wrong');
  const decoded: DecodedIterator = {
    streamId: layout.toString('ascii', STREAM_ID_POSITION),
    shardSerial: readU64(layout, SHARD_SERIAL_POSITION),
    offset: readU64(layout, OFFSET_POSITION),
    segmentBaseOffset: readU64(layout, SEGMENT_BASE_POSITION),
    positionBytes: layout.readUInt32LE(POSITION_BYTES_POSITION),
    issuedAtMs: readU64(layout, ISSUED_AT_POSITION),
  };
  if (!isPosition(decoded) || decoded.issuedAtMs < 0) throw invalid('its fields are out of range');
  return decoded;
}

function checkAge(issuedAtMs: number, nowMs: number): void {
  if (issuedAtMs - nowMs > ITERATOR_CLOCK_SKEW_MS) throw invalid('it was issued in the future');
  if (nowMs - issuedAtMs > ITERATOR_TTL_MS) {
    throw new ExpiredIteratorException(
      `Iterator expired. The iterator was created at time ${issuedAtMs} while right now it is ${nowMs}, ` +
        `which is further in the future than the tolerated delay of ${ITERATOR_TTL_MS} milliseconds.`,
    );
  }
}

function isPosition(position: IteratorPosition): boolean {
  const { streamId, shardSerial, offset, segmentBaseOffset, positionBytes } = position;
  return (
    typeof streamId === 'string' &&
    STREAM_ID_PATTERN.test(streamId) &&
    Number.isSafeInteger(shardSerial) &&
    shardSerial >= 0 &&
    shardSerial <= SHARD_SERIAL_MAX &&
    Number.isSafeInteger(offset) &&
    offset >= 0 &&
    Number.isSafeInteger(segmentBaseOffset) &&
    segmentBaseOffset >= 0 &&
    segmentBaseOffset <= offset &&
    Number.isSafeInteger(positionBytes) &&
    positionBytes >= 0 &&
    positionBytes <= POSITION_BYTES_MAX
  );
}

function assertPosition(position: IteratorPosition): void {
  assert(isPosition(position), `not a valid iterator position: ${JSON.stringify(position)}`);
}

function assertTime(nowMs: number): void {
  assert(Number.isSafeInteger(nowMs) && nowMs >= 0, `clock reading out of range: ${nowMs}`);
}

// Never echoes the token: it is a bearer credential for a read position.
function invalid(reason: string): InvalidArgumentException {
  return new InvalidArgumentException(`ShardIterator is invalid: ${reason}`);
}
