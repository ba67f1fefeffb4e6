/*
 * XXH64 with seed 0, written from the xxHash specification (Cyan4973/xxHash, doc/xxhash_spec.md,
 * "XXH64 Algorithm Description") in BigInt, so that the golden fixtures' checksums come from
 * an author other than the code they check: src/log/checksum.ts and xxhash-wasm are not used.
 * Slow, and meant for a few hundred bytes of fixtures.
 */

const MASK_64 = (1n << 64n) - 1n;
const PRIME64_1 = 0x9e3779b185ebca87n;
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn;
const PRIME64_3 = 0x165667b19e3779f9n;
const PRIME64_4 = 0x85ebca77c2b2ae63n;
const PRIME64_5 = 0x27d4eb2f165667c5n;
const STRIPE_BYTES = 32;

// BigInt has no overflow: every sum and product is reduced to 64 bits, as the spec's unsigned
// arithmetic wraps.
const add = (a: bigint, b: bigint): bigint => (a + b) & MASK_64;
const multiply = (a: bigint, b: bigint): bigint => (a * b) & MASK_64;
const rotateLeft = (x: bigint, bits: bigint): bigint => ((x << bits) | (x >> (64n - bits))) & MASK_64;

function round(accumulator: bigint, lane: bigint): bigint {
  return multiply(rotateLeft(add(accumulator, multiply(lane, PRIME64_2)), 31n), PRIME64_1);
}

function mergeAccumulator(accumulator: bigint, lane: bigint): bigint {
  return add(multiply(accumulator ^ round(0n, lane), PRIME64_1), PRIME64_4);
}

/** Steps 1 to 3 of the spec: the four lanes over every whole 32-byte stripe, converged. */
function stripes(view: DataView, stripeCount: number): bigint {
  const lanes = [add(PRIME64_1, PRIME64_2), PRIME64_2, 0n, (1n << 64n) - PRIME64_1];
  for (let stripe = 0; stripe < stripeCount; stripe++) {
    for (let lane = 0; lane < 4; lane++) {
      lanes[lane] = round(lanes[lane]!, view.getBigUint64(stripe * STRIPE_BYTES + lane * 8, true));
    }
  }
  const [v1, v2, v3, v4] = lanes as [bigint, bigint, bigint, bigint];
  const converged = add(add(rotateLeft(v1, 1n), rotateLeft(v2, 7n)), add(rotateLeft(v3, 12n), rotateLeft(v4, 18n)));
  return lanes.reduce(mergeAccumulator, converged);
}

/** Step 5: the bytes after the last stripe, by 8, then by 4, then one at a time. */
function remainder(accumulator: bigint, view: DataView, from: number): bigint {
  let at = from;
  for (; view.byteLength - at >= 8; at += 8) {
    accumulator = add(multiply(rotateLeft(accumulator ^ round(0n, view.getBigUint64(at, true)), 27n), PRIME64_1), PRIME64_4);
  }
  if (view.byteLength - at >= 4) {
    accumulator = add(multiply(rotateLeft(accumulator ^ multiply(BigInt(view.getUint32(at, true)), PRIME64_1), 23n), PRIME64_2), PRIME64_3);
    at += 4;
  }
  for (; at < view.byteLength; at++) {
    accumulator = multiply(rotateLeft(accumulator ^ multiply(BigInt(view.getUint8(at)), PRIME64_5), 11n), PRIME64_1);
  }
  return accumulator;
}

/** Step 6: the final mix, so that every input bit reaches every output bit. */
function avalanche(accumulator: bigint): bigint {
  accumulator = multiply(accumulator ^ (accumulator >> 33n), PRIME64_2);
  accumulator = multiply(accumulator ^ (accumulator >> 29n), PRIME64_3);
  return accumulator ^ (accumulator >> 32n);
}

/** XXH64 of the bytes, seed 0. */
export function xxh64(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stripeCount = Math.floor(bytes.length / STRIPE_BYTES);
  const start = stripeCount > 0 ? stripes(view, stripeCount) : PRIME64_5;
  return avalanche(remainder(add(start, BigInt(bytes.length)), view, stripeCount * STRIPE_BYTES));
}
