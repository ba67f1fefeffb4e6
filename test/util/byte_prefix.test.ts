import { describe, expect, it } from 'vitest';
import { fittingBatches, fittingPrefix } from '../../src/util/byte_prefix.js';

// Goal: a batch takes the longest prefix within both limits, never none (an item over the byte
// limit goes alone), from any start; a list cuts into consecutive batches that keep every item
// once, in order. Method: lists of sizes, exact counts and bytes.

const size = (n: number): number => n;

describe('fittingPrefix', () => {
  it('takes what fits both limits, at least one item, from the start given', () => {
    expect(fittingPrefix([3, 3, 3], size, 7)).toEqual({ count: 2, bytes: 6 });
    expect(fittingPrefix([3, 3, 3], size, 100, 2)).toEqual({ count: 2, bytes: 6 });
    expect(fittingPrefix([10, 1], size, 5)).toEqual({ count: 1, bytes: 10 });
    expect(fittingPrefix([1, 4, 4, 1], size, 8, Infinity, 1)).toEqual({ count: 2, bytes: 8 });
    expect(fittingPrefix([], size, 8)).toEqual({ count: 0, bytes: 0 });
  });

  it('cuts a list into consecutive batches, every item once and in order', () => {
    expect(fittingBatches([2, 2, 2, 9, 1, 1], size, 4)).toEqual([[2, 2], [2], [9], [1, 1]]);
  });
});
