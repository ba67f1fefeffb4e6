/*
 * Goal: shard iterator tokens carry a read position intact, cannot be forged or altered without
 * the secret, expire ITERATOR_TTL_MS after issue, and stay within Kinesis' 512-character limit.
 * Method: round-trip boundary values; flip every bit of a token's bytes and expect rejection; sign
 * hand-built layouts with the known test secret to reach the checks that run after the MAC; move
 * the clock to either side of the expiry and clock-skew boundaries.
 */
import { ITERATOR_TTL_MS } from '../../src/limits.js';
import { AssertionError } from 'node:assert';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ExpiredIteratorException, InvalidArgumentException } from '../../src/errors.js';
import { SHARD_SERIAL_MAX } from '../../src/streams/sequence_number.js';
import { ITERATOR_CHARS_MAX, ITERATOR_CLOCK_SKEW_MS, ShardIterator, type IteratorPosition } from '../../src/streams/shard_iterator.js';

const SECRET = new Uint8Array(32).map((_, i) => i + 1);
const NOW_MS = 1_700_000_000_000;
const MAC_BYTES = 16;
const VERSION_POSITION = 0;
const STREAM_ID_LENGTH_POSITION = 37;

const POSITION: IteratorPosition = {
  streamId: 'orders',
  shardSerial: 7,
  offset: 123_456,
  segmentBaseOffset: 120_000,
  positionBytes: 65_536,
};
const LONGEST_POSITION: IteratorPosition = {
  streamId: 'a'.repeat(64),
  shardSerial: SHARD_SERIAL_MAX,
  offset: Number.MAX_SAFE_INTEGER,
  segmentBaseOffset: Number.MAX_SAFE_INTEGER - 1,
  positionBytes: 0xffff_ffff,
};

/** Re-signs altered layout bytes with the test secret, as only a holder of the secret could. */
function resign(token: string, alter: (layout: Buffer) => Buffer): string {
  const bytes = Buffer.from(token, 'base64url');
  const layout = alter(Buffer.from(bytes.subarray(0, bytes.length - MAC_BYTES)));
  const mac = createHmac('sha256', SECRET).update(layout).digest().subarray(0, MAC_BYTES);
  return Buffer.concat([layout, mac]).toString('base64url');
}

describe('ShardIterator', () => {
  const iterators = new ShardIterator(SECRET);

  it('round-trips positions, including values above 2^32 and offsets up to 2^53-1', () => {
    const positions: IteratorPosition[] = [
      POSITION,
      { streamId: 'x', shardSerial: 0, offset: 0, segmentBaseOffset: 0, positionBytes: 0 },
      { streamId: 'A-b_9', shardSerial: 2 ** 32 + 5, offset: 2 ** 32 + 1, segmentBaseOffset: 2 ** 32, positionBytes: 2 ** 31 },
      LONGEST_POSITION,
    ];
    for (const position of positions) {
      const token = iterators.encode(position, NOW_MS);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(iterators.decode(token, NOW_MS)).toEqual({ ...position, issuedAtMs: NOW_MS });
    }
  });

  it('fits Kinesis’ 512-character limit with a 64-character stream id', () => {
    const token = iterators.encode(LONGEST_POSITION, Number.MAX_SAFE_INTEGER);
    expect(token.length).toBeLessThanOrEqual(ITERATOR_CHARS_MAX);
    expect(ITERATOR_CHARS_MAX).toBe(512);
  });

  it('rejects a token with any single bit flipped', () => {
    for (const position of [POSITION, LONGEST_POSITION]) {
      const bytes = Buffer.from(iterators.encode(position, NOW_MS), 'base64url');
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
        expect(() => iterators.decode(flipped.toString('base64url'), NOW_MS), `bit ${bit}`).toThrow(InvalidArgumentException);
      }
    }
  });

  it('rejects a token signed with a different secret', () => {
    const other = new ShardIterator(new Uint8Array(32).fill(0xab));
    const token = other.encode(POSITION, NOW_MS);
    expect(() => iterators.decode(token, NOW_MS)).toThrow(InvalidArgumentException);
    expect(other.decode(token, NOW_MS).offset).toBe(POSITION.offset);
  });

  it('rejects truncated, extended, garbage and empty strings', () => {
    const token = iterators.encode(POSITION, NOW_MS);
    const candidates = [
      '',
      token.slice(0, -1),
      token.slice(0, -4),
      token.slice(0, 10),
      `${token}A`,
      `${token}AAAA`,
      `${token}=`,
      token.replace(/-/g, '+').replace(/_/g, '/') + '+/',
      'not a token',
      '!!!!',
      'A'.repeat(ITERATOR_CHARS_MAX + 1),
      'A'.repeat(1_000_000),
    ];
    for (const candidate of candidates) {
      expect(() => iterators.decode(candidate, NOW_MS), JSON.stringify(candidate.slice(0, 40))).toThrow(InvalidArgumentException);
    }
  });

  it('rejects a non-canonical spelling of a valid token', () => {
    // POSITION encodes to 60 bytes, a multiple of 3, so no spare bits; 59 bytes leave 2 in the last character.
    const token = iterators.encode({ ...POSITION, streamId: 'abcde' }, NOW_MS);
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const altered = token.slice(0, -1) + sibling;
    expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(token, 'base64url'));
    expect(() => iterators.decode(altered, NOW_MS)).toThrow(InvalidArgumentException);
  });

  it('rejects a correctly signed token of another version or with an inconsistent length', () => {
    const token = iterators.encode(POSITION, NOW_MS);
    const otherVersion = resign(token, (layout) => {
      layout[VERSION_POSITION] = 2;
      return layout;
    });
    const longer = resign(token, (layout) => Buffer.concat([layout, Buffer.from('z')]));
    const shorterLength = resign(token, (layout) => {
      layout[STREAM_ID_LENGTH_POSITION] = layout[STREAM_ID_LENGTH_POSITION]! - 1;
      return layout;
    });
    expect(
      iterators.decode(
        resign(token, (layout) => layout),
        NOW_MS,
      ).streamId,
    ).toBe('orders');
    for (const forged of [otherVersion, longer, shorterLength]) {
      expect(() => iterators.decode(forged, NOW_MS)).toThrow(InvalidArgumentException);
    }
  });

  it('never echoes the token in its error message', () => {
    const token = iterators.encode(POSITION, NOW_MS);
    const tampered = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
    expect(() => iterators.decode(tampered, NOW_MS)).toThrow(/^ShardIterator is invalid/);
    try {
      iterators.decode(tampered, NOW_MS);
    } catch (error) {
      expect((error as Error).message).not.toContain(tampered);
      expect((error as Error).message).not.toContain(token.slice(0, 20));
    }
  });

  it('is still valid exactly ITERATOR_TTL_MS after issue, and expired 1 ms later', () => {
    const token = iterators.encode(POSITION, NOW_MS);
    expect(iterators.decode(token, NOW_MS + ITERATOR_TTL_MS).issuedAtMs).toBe(NOW_MS);
    expect(() => iterators.decode(token, NOW_MS + ITERATOR_TTL_MS + 1)).toThrow(ExpiredIteratorException);
    expect(() => iterators.decode(token, NOW_MS + 10 * ITERATOR_TTL_MS)).toThrow(ExpiredIteratorException);
  });

  it('accepts an issue time up to ITERATOR_CLOCK_SKEW_MS ahead of the clock, and rejects beyond', () => {
    const token = iterators.encode(POSITION, NOW_MS);
    expect(iterators.decode(token, NOW_MS - ITERATOR_CLOCK_SKEW_MS).offset).toBe(POSITION.offset);
    expect(() => iterators.decode(token, NOW_MS - ITERATOR_CLOCK_SKEW_MS - 1)).toThrow(InvalidArgumentException);
    expect(() => iterators.decode(token, 0)).toThrow(InvalidArgumentException);
  });

  it('asserts on invalid positions, clock readings and secrets (programmer errors)', () => {
    const bad: IteratorPosition[] = [
      { ...POSITION, streamId: '' },
      { ...POSITION, streamId: 'a'.repeat(65) },
      { ...POSITION, streamId: 'has.dot' },
      { ...POSITION, streamId: 'ünï' },
      { ...POSITION, shardSerial: SHARD_SERIAL_MAX + 1 },
      { ...POSITION, shardSerial: -1 },
      { ...POSITION, offset: Number.MAX_SAFE_INTEGER + 1 },
      { ...POSITION, offset: 1.5 },
      { ...POSITION, segmentBaseOffset: POSITION.offset + 1 },
      { ...POSITION, positionBytes: 2 ** 32 },
      { ...POSITION, positionBytes: -1 },
    ];
    for (const position of bad) {
      expect(() => iterators.encode(position, NOW_MS), JSON.stringify(position)).toThrow(AssertionError);
    }
    expect(() => iterators.encode(POSITION, -1)).toThrow(AssertionError);
    expect(() => iterators.encode(POSITION, Number.NaN)).toThrow(AssertionError);
    expect(() => new ShardIterator(new Uint8Array(31))).toThrow(AssertionError);
    expect(() => new ShardIterator(new Uint8Array(33))).toThrow(AssertionError);
  });

  it('keeps its own copy of the secret', () => {
    const secret = Uint8Array.from(SECRET);
    const codec = new ShardIterator(secret);
    const token = codec.encode(POSITION, NOW_MS);
    secret.fill(0);
    expect(codec.decode(token, NOW_MS).streamId).toBe(POSITION.streamId);
  });
});
