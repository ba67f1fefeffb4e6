/*
 * HyperLogLog (Flajolet et al.) for COUNT_DISTINCT: 2^12 registers, a standard error of
 * 1.04 / sqrt(4096) ≈ 1.6 %. Up to 512 distinct hashes the sketch keeps the hashes themselves,
 * so small counts are exact (but for 53-bit hash collisions, about 512² / 2^54: never in practice).
 * The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017, as Redis uses it): it folds linear counting's small-range
 * correction into one formula, without the original's bias between 2.5 and 5 times the register
 * count, and without empirical bias tables.
 */

const PRECISION = 12;
const REGISTERS = 1 << PRECISION;
/** The hash is 53 bits, so a sparse one is a safe integer: 12 pick the register, 41 give the rank. */
const RANK_BITS = 41;
const MAX_RANK = RANK_BITS + 1;
/** The hash's high word keeps 21 bits: the register's 12 and the rank's first 9. */
const HIGH_BITS = 21;
const HIGH_RANK_BITS = HIGH_BITS - PRECISION;
export const SPARSE_MAX = 512;
const TWO_32 = 2 ** 32;

/** What a text added stands for: equal text of a different kind hashes apart. */
export type TextKind = 'string' | 'json' | 'boolean';
const KIND_TWEAK = { string: 1, json: 2, boolean: 3 } as const;
const NUMBER_TWEAK = 4;

export type HyperLogLogSnapshot = { readonly sparse: readonly number[] } | { readonly registers: string };

export class HyperLogLog {
  private constructor(
    private sparse: Set<number> | null,
    private registers: Uint8Array | null,
  ) {}

  static empty(): HyperLogLog {
    return new HyperLogLog(new Set(), null);
  }

  add(text: string, kind: TextKind): void {
    hashText(text, KIND_TWEAK[kind]);
    this.insert(hashHigh, hashLow);
  }

  addNumber(x: number): void {
    hashNumber(x);
    this.insert(hashHigh, hashLow);
  }

  /** The union: the same sketch as if this one had been given the other's values too. */
  merge(other: HyperLogLog): void {
    if (other.sparse !== null) {
      for (const hash of other.sparse) this.insert(Math.floor(hash / TWO_32), hash >>> 0);
      return;
    }
    if (this.sparse !== null) this.densify(this.sparse);
    const registers = this.registers!;
    other.registers!.forEach((rank, index) => {
      if (rank > registers[index]!) registers[index] = rank;
    });
  }

  estimate(): number {
    return this.sparse !== null ? this.sparse.size : Math.round(improvedEstimate(this.registers!));
  }

  snapshot(): HyperLogLogSnapshot {
    return this.sparse !== null ? { sparse: [...this.sparse] } : { registers: Buffer.from(this.registers!).toString('base64') };
  }

  /** Throws an Error naming what does not fit. */
  static restore(snapshot: unknown): HyperLogLog {
    if (typeof snapshot !== 'object' || snapshot === null) throw new Error('a HyperLogLog snapshot must be an object');
    if ('sparse' in snapshot) return new HyperLogLog(restoreSparse(snapshot.sparse), null);
    if ('registers' in snapshot) return new HyperLogLog(null, restoreRegisters(snapshot.registers));
    throw new Error('a HyperLogLog snapshot has either sparse or registers');
  }

  /** `high` is the hash's top HIGH_BITS bits, `low` its other 32. */
  private insert(high: number, low: number): void {
    if (this.sparse === null) {
      setRegister(this.registers!, high, low);
      return;
    }
    this.sparse.add(high * TWO_32 + low);
    if (this.sparse.size > SPARSE_MAX) this.densify(this.sparse);
  }

  private densify(sparse: Set<number>): void {
    const registers = new Uint8Array(REGISTERS);
    for (const hash of sparse) setRegister(registers, Math.floor(hash / TWO_32), hash >>> 0);
    this.registers = registers;
    this.sparse = null;
  }
}

function setRegister(registers: Uint8Array, high: number, low: number): void {
  const index = high >>> HIGH_RANK_BITS;
  const rest = high & ((1 << HIGH_RANK_BITS) - 1);
  const rank = rest !== 0 ? Math.clz32(rest) - (32 - HIGH_RANK_BITS) + 1 : low !== 0 ? HIGH_RANK_BITS + Math.clz32(low) + 1 : MAX_RANK;
  if (rank > registers[index]!) registers[index] = rank;
}

function improvedEstimate(registers: Uint8Array): number {
  const histogram = new Float64Array(MAX_RANK + 1);
  for (const rank of registers) histogram[rank]!++;
  let z = REGISTERS * tau(1 - histogram[MAX_RANK]! / REGISTERS);
  for (let rank = RANK_BITS; rank >= 1; rank--) z = 0.5 * (z + histogram[rank]!);
  z += REGISTERS * sigma(histogram[0]! / REGISTERS);
  return (REGISTERS * REGISTERS) / (2 * Math.LN2 * z);
}

/** Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), summed until it no longer changes. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (let previous = -1; previous !== z; y += y) {
    x *= x;
    previous = z;
    z += x * y;
  }
  return z;
}

/** Ertl's τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (let previous = -1; previous !== z;) {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  }
  return z / 3;
}

function restoreSparse(hashes: unknown): Set<number> {
  if (!Array.isArray(hashes)) throw new Error(`a HyperLogLog snapshot's sparse must be an array`);
  if (hashes.length > SPARSE_MAX) throw new Error(`a HyperLogLog snapshot's sparse has ${hashes.length} hashes, above ${SPARSE_MAX}`);
  for (const hash of hashes) {
    if (!Number.isSafeInteger(hash) || hash < 0)
      throw new Error(`a HyperLogLog snapshot's sparse has ${JSON.stringify(hash)}, not a 53-bit hash`);
  }
  const set = new Set<number>(hashes);
  if (set.size !== hashes.length) throw new Error(`a HyperLogLog snapshot's sparse repeats a hash`);
  return set;
}

function restoreRegisters(encoded: unknown): Uint8Array {
  if (typeof encoded !== 'string') throw new Error(`a HyperLogLog snapshot's registers must be a base64 string`);
  const registers = new Uint8Array(Buffer.from(encoded, 'base64'));
  if (registers.length !== REGISTERS) throw new Error(`a HyperLogLog snapshot has ${registers.length} registers, not ${REGISTERS}`);
  if (registers.some((rank) => rank > MAX_RANK)) throw new Error(`a HyperLogLog snapshot has a register above ${MAX_RANK}`);
  return registers;
}

/*
 * The hash: MurmurHash3 (x86, 32-bit) run twice at once with two seeds, 53 bits kept. Its output
 * goes to these two variables rather than a returned pair, so that hashing allocates nothing. The
 * text's UTF-16 code units are hashed, not its UTF-8 bytes: as faithful to string equality and no
 * encoding step (a lone surrogate even stays apart from U+FFFD, which UTF-8 would merge).
 */
let hashHigh = 0;
let hashLow = 0;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_HIGH = 0x2545f491;
const SEED_LOW = 0x9e3779b9;
const numberBits = new Float64Array(1);
const numberWords = new Uint32Array(numberBits.buffer);

function hashText(text: string, tweak: number): void {
  let high = SEED_HIGH ^ tweak;
  let low = SEED_LOW ^ Math.imul(tweak, C1);
  const pairs = text.length & ~1;
  for (let i = 0; i < pairs; i += 2) {
    const block = scramble(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    high = mixBlock(high, block);
    low = mixBlock(low, block);
  }
  if (pairs < text.length) {
    const tail = scramble(text.charCodeAt(pairs));
    high ^= tail;
    low ^= tail;
  }
  finish(high, low, text.length * 2);
}

/** 0 and -0 are one value; every other number hashes by its IEEE 754 bits. */
function hashNumber(x: number): void {
  numberBits[0] = x === 0 ? 0 : x;
  let high = SEED_HIGH ^ NUMBER_TWEAK;
  let low = SEED_LOW ^ Math.imul(NUMBER_TWEAK, C1);
  for (let i = 0; i < numberWords.length; i++) {
    const block = scramble(numberWords[i]!);
    high = mixBlock(high, block);
    low = mixBlock(low, block);
  }
  finish(high, low, 8);
}

function scramble(k: number): number {
  k = Math.imul(k, C1);
  return Math.imul((k << 15) | (k >>> 17), C2);
}

function mixBlock(h: number, block: number): number {
  h ^= block;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(high: number, low: number, bytes: number): void {
  hashHigh = fmix(high ^ bytes) >>> (32 - HIGH_BITS);
  hashLow = fmix(low ^ bytes);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
