import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import { SHARD_SERIAL_MAX, decodeSequenceNumber, encodeSequenceNumber } from '../../src/workers/sequence_number.js';

describe('sequence numbers', () => {
  it('are 56-digit decimal strings that decode to their shard and offset', () => {
    for (const [serial, offset] of [[0, 0], [7, 123_456], [SHARD_SERIAL_MAX, Number.MAX_SAFE_INTEGER]] as const) {
      const sequenceNumber = encodeSequenceNumber(serial, offset);
      expect(sequenceNumber).toMatch(/^\d{56}$/);
      expect(decodeSequenceNumber(sequenceNumber)).toEqual({ shardSerial: serial, offset });
    }
  });

  it('increase along a shard, and every child shard starts above every parent record', () => {
    const parentLast = encodeSequenceNumber(3, Number.MAX_SAFE_INTEGER);
    const childFirst = encodeSequenceNumber(4, 0);
    expect(childFirst > parentLast).toBe(true);
    expect(BigInt(childFirst) > BigInt(parentLast)).toBe(true);
    expect(encodeSequenceNumber(3, 10) < encodeSequenceNumber(3, 11)).toBe(true);
  });

  it.each(['', 'abc', '1', '0'.repeat(56), '9'.repeat(57), '4'.padEnd(56, 'x')])('rejects %j with InvalidArgumentException', (text) => {
    expect(() => decodeSequenceNumber(text)).toThrow(InvalidArgumentException);
  });
});
