import assert from 'node:assert/strict';

const TWO_POW_32 = 0x1_0000_0000;

// Offsets and timestamps are JavaScript numbers (exact below 2^53); on disk they are u64.
// Two u32 halves avoid a BigInt per field on the hot path.

export function writeU64(buf: Buffer, position: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `u64 field out of range: ${value}`);
  buf.writeUInt32LE(value % TWO_POW_32, position);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), position + 4);
}

/** Reads a u64 field; returns -1 when it does not fit a safe integer (callers treat as invalid). */
export function readU64(buf: Buffer, position: number): number {
  const high = buf.readUInt32LE(position + 4);
  if (high >= 0x20_0000) return -1;
  return high * TWO_POW_32 + buf.readUInt32LE(position);
}
