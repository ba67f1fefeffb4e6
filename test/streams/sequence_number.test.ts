import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import { SHARD_SERIAL_MAX, SequenceNumberRun, decodeSequenceNumber, encodeSequenceNumber } from '../../src/streams/sequence_number.js';

describe('sequence numbers', () => {
  it('are 56-digit decimal strings that decode to their shard and offset', () => {
    for (const [serial, offset] of [
      [0, 0],
      [7, 123_456],
      [SHARD_SERIAL_MAX, Number.MAX_SAFE_INTEGER],
    ] as const) {
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

  it('a run of consecutive offsets formats exactly what encodeSequenceNumber does, across carries into the high digits', () => {
    // 10^15 - 2 - low digits of the base: the run must carry within a few records.
    const serial = 5;
    const low = Number(BigInt(encodeSequenceNumber(serial, 0)) % 10n ** 15n);
    const nearCarry = 10 ** 15 - low - 3;
    for (const base of [0, 1_000_000, nearCarry, Number.MAX_SAFE_INTEGER - 10]) {
      const run = new SequenceNumberRun(serial, base);
      // 2,100 offsets: the run's cached prefix changes every thousand.
      for (let offset = base; offset <= Math.min(base + 2100, Number.MAX_SAFE_INTEGER); offset++) {
        expect(run.at(offset)).toBe(encodeSequenceNumber(serial, offset));
      }
    }
  });
});
