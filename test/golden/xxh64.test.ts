import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { xxh64 } from './xxh64.js';

// Goal: the golden fixtures' own xxh64 is XXH64. Published vectors (the same values appear in
// the tests of many independent implementations) pin it without any code of ours; only the
// inputs over 32 bytes reach the stripe loop and its merge.

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('xxh64 of the golden fixtures', () => {
  it.each([
    ['', 0xef46db3751d8e999n],
    ['a', 0xd24ec4f1a98c6e5bn],
    ['abc', 0x44bc2cf5ad770999n],
    // 39 bytes: one stripe, then a 4-byte lane and 3 single bytes
    ['Nobody inspects the spammish repetition', 0xfbcea83c8a378bf1n],
    // 43 bytes: one stripe, then an 8-byte lane and 3 single bytes
    ['The quick brown fox jumps over the lazy dog', 0x0b242d361fda71bcn],
  ])('hashes %j as the published vector', (input, expected) => {
    expect(xxh64(text(input))).toBe(expected);
  });

  it('reads its input through the view it is given, not from the start of the buffer', () => {
    const framed = text('--abc--').subarray(2, 5);
    expect(xxh64(framed)).toBe(0x44bc2cf5ad770999n);
  });

  // No python3 xxhash here to cross-check with: xxhash-wasm, which is not this file's author,
  // covers every length from 0 to 100, so each tail path meets each stripe count.
  it('agrees with xxhash-wasm on every prefix of a 100-byte input', async () => {
    const { h64Raw } = await xxhash();
    const input = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let length = 0; length <= input.length; length++) {
      expect(xxh64(input.subarray(0, length)), `length ${length}`).toBe(h64Raw(input.subarray(0, length)));
    }
  });
});
