import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import { testSeed } from '../helpers/random.js';

// Goal: SHARDLINE_SEED replays the run it names, and a value that names no run is refused rather
// than read as some other seed.

const saved = process.env.SHARDLINE_SEED;

afterEach(() => {
  if (saved === undefined) delete process.env.SHARDLINE_SEED;
  else process.env.SHARDLINE_SEED = saved;
});

describe('testSeed', () => {
  it('returns the whole number SHARDLINE_SEED names', () => {
    process.env.SHARDLINE_SEED = '123456';
    expect(testSeed()).toBe(123456);
  });

  it.each(['abc', '', '12x', '1.5', '-3', ' 7'])('refuses SHARDLINE_SEED=%j, naming the variable and the value', (value) => {
    process.env.SHARDLINE_SEED = value;
    expect(() => testSeed()).toThrow(InvalidArgumentException);
    expect(() => testSeed()).toThrow(`SHARDLINE_SEED must be a whole number, got ${JSON.stringify(value)}`);
  });
});
