/*
 * DDSketch (Masson, Rim and Lee, 2019) for APPROX_PERCENTILE, with a relative accuracy of 1 %: a
 * value x > 0 is counted in bin ceil(log_γ(x)), γ = 1.01 / 0.99, whose every value is within 1 %
 * of the bin's representative 2γ^i / (γ + 1). Negative values go to a store of their own, zeros
 * to a count. A store holds at most 2,048 bins, enough for magnitudes spanning a factor of about
 * 6·10^17; past that its lowest bins are merged into one (positive values: those nearest zero;
 * negative values: the most negative). Only the quantiles that fall among the merged values lose
 * the 1 % guarantee: with data of one sign, the lowest quantiles.
 */

const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
const INVERSE_LOG_GAMMA = 1 / LOG_GAMMA;
export const MAX_BINS = 2048;
const INITIAL_BINS = 64;

/** Bins as [key, count] in ascending key order. */
export type BinsSnapshot = readonly (readonly [number, number])[];

export interface DDSketchSnapshot {
  readonly zero: number;
  readonly positive: BinsSnapshot;
  /** Keyed by -ceil(log_γ(-x)), so that keys ascend with the values. */
  readonly negative: BinsSnapshot;
  /** The exact extremes (null while empty): the first and last ranks answer them, and every quantile is clamped to them. */
  readonly min: number | null;
  readonly max: number | null;
}

export class DDSketch {
  private readonly positive = new Store();
  private readonly negative = new Store();
  private zero = 0;
  private min = Infinity;
  private max = -Infinity;

  get count(): number {
    return this.negative.total + this.zero + this.positive.total;
  }

  /** `x` must be finite. */
  add(x: number): void {
    if (x > 0) this.positive.add(Math.ceil(Math.log(x) * INVERSE_LOG_GAMMA), 1);
    else if (x < 0) this.negative.add(-Math.ceil(Math.log(-x) * INVERSE_LOG_GAMMA), 1);
    else this.zero++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** The same sketch as one given both sketches' values (a collapse too depends only on the values). */
  merge(other: DDSketch): void {
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zero += other.zero;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The value at rank floor(q * (count - 1)) of the sorted values, within 1 %; null when empty. */
  quantile(q: number): number | null {
    const count = this.count;
    if (count === 0) return null;
    const rank = Math.floor(q * (count - 1));
    if (rank === 0) return this.min;
    if (rank === count - 1) return this.max;
    let value: number;
    if (rank < this.negative.total) value = -binValue(-this.negative.keyAt(rank));
    else if (rank < this.negative.total + this.zero) value = 0;
    else value = binValue(this.positive.keyAt(rank - this.negative.total - this.zero));
    return Math.min(Math.max(value, this.min), this.max);
  }

  snapshot(): DDSketchSnapshot {
    const empty = this.count === 0;
    return {
      zero: this.zero,
      positive: this.positive.snapshot(),
      negative: this.negative.snapshot(),
      min: empty ? null : this.min,
      max: empty ? null : this.max,
    };
  }

  /** Throws an Error naming what does not fit. */
  static restore(snapshot: unknown): DDSketch {
    if (typeof snapshot !== 'object' || snapshot === null) throw new Error('a DDSketch snapshot must be an object');
    const { zero, positive, negative, min, max } = snapshot as Record<string, unknown>;
    if (!isCount(zero)) throw new Error(`a DDSketch snapshot's zero must be a whole number, got ${JSON.stringify(zero)}`);
    const sketch = new DDSketch();
    sketch.zero = zero;
    sketch.positive.restore(positive, 'positive');
    sketch.negative.restore(negative, 'negative');
    const misfit = `a DDSketch snapshot's min and max (${JSON.stringify(min)}, ${JSON.stringify(max)}) do not fit its counts`;
    if (sketch.count === 0) {
      if (min !== null || max !== null) throw new Error(misfit);
      return sketch;
    }
    if (!isFiniteNumber(min) || !isFiniteNumber(max) || min > max) throw new Error(misfit);
    sketch.min = min;
    sketch.max = max;
    return sketch;
  }
}

function binValue(index: number): number {
  return (2 * Math.exp(index * LOG_GAMMA)) / (GAMMA + 1);
}

/** Counts by key in a window of keys that moves and grows as keys come, up to MAX_BINS wide. */
class Store {
  private counts = new Float64Array(0);
  /** The key of counts[0]. */
  private offset = 0;
  /** The lowest and highest keys counted (low > high while empty). */
  private low = Infinity;
  private high = -Infinity;
  total = 0;

  add(key: number, count: number): void {
    if (key < this.low || key > this.high) key = this.widen(key);
    this.counts[key - this.offset]! += count;
    this.total += count;
  }

  merge(other: Store): void {
    for (let key = other.low; key <= other.high; key++) {
      const count = other.counts[key - other.offset]!;
      if (count > 0) this.add(key, count);
    }
  }

  /** The key of the value at `rank` (0-based) in ascending order. */
  keyAt(rank: number): number {
    let seen = 0;
    for (let key = this.low; key < this.high; key++) {
      seen += this.counts[key - this.offset]!;
      if (seen > rank) return key;
    }
    return this.high;
  }

  snapshot(): BinsSnapshot {
    const bins: [number, number][] = [];
    for (let key = this.low; key <= this.high; key++) {
      const count = this.counts[key - this.offset]!;
      if (count > 0) bins.push([key, count]);
    }
    return bins;
  }

  restore(bins: unknown, name: string): void {
    if (!Array.isArray(bins)) throw new Error(`a DDSketch snapshot's ${name} must be an array of [index, count]`);
    let previous = -Infinity;
    for (const bin of bins as unknown[]) {
      if (!Array.isArray(bin) || bin.length !== 2 || !Number.isSafeInteger(bin[0]) || !isCount(bin[1]) || bin[1] === 0) {
        throw new Error(`a DDSketch snapshot's ${name} has ${JSON.stringify(bin)}, not an [index, count > 0]`);
      }
      const [key, count] = bin as [number, number];
      if (key <= previous) throw new Error(`a DDSketch snapshot's ${name} is not in ascending index order at ${key}`);
      if (key - this.low >= MAX_BINS) throw new Error(`a DDSketch snapshot's ${name} spans more than ${MAX_BINS} bins`);
      previous = key;
      this.add(key, count);
    }
  }

  /**
   * Makes room for `key`: the window grows (doubling, so that a store allocates a few times in
   * its life, not per add) or, at MAX_BINS wide, its lowest keys are merged up. Answers the key
   * to count `key` in.
   */
  private widen(key: number): number {
    const high = Math.max(this.high, key);
    const low = Math.max(Math.min(this.low, key), high - MAX_BINS + 1);
    if (low < this.offset || high >= this.offset + this.counts.length || low > this.low) this.reshape(low, high);
    this.low = low;
    this.high = high;
    return Math.max(key, low);
  }

  private reshape(low: number, high: number): void {
    const size = Math.min(MAX_BINS, Math.max(INITIAL_BINS, 2 * (high - low + 1)));
    const offset = low - Math.floor((size - (high - low + 1)) / 2);
    const counts = new Float64Array(size);
    for (let key = this.low; key <= this.high; key++) counts[Math.max(key, low) - offset]! += this.counts[key - this.offset]!;
    this.counts = counts;
    this.offset = offset;
  }
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}
