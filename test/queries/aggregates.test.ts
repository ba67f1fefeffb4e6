import { describe, expect, it } from 'vitest';
import { createAccumulator, restoreAccumulator } from '../../src/queries/aggregates.js';
import { MAX_BINS, type DDSketchSnapshot } from '../../src/queries/ddsketch.js';
import { SPARSE_MAX } from '../../src/queries/hyperloglog.js';
import { SpaceSaving } from '../../src/queries/space_saving.js';
import { RecordError, type Accumulator, type AggregateCall, type AggregateName, type Value } from '../../src/queries/plan_types.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: the exact aggregates give SQL's answers (NULLs skipped, NULL for no values, wrong types
// refused with nothing changed); the sketches keep their documented error bounds; a snapshot
// through JSON restores an accumulator that goes on exactly as the original.
// Method: seeded random data against plain computations; the seed is in every randomized test's
// name, so that a failure, a thrown error included, reports it.

const seed = testSeed();
const at = { offset: 0, line: 1, column: 1 };
const COUNT_STAR: AggregateCall = { name: 'COUNT', star: true, at };

function call(name: AggregateName, param?: number): AggregateCall {
  return { name, star: false, arg: { kind: 'column', path: ['x'], quoted: false, at }, ...(param === undefined ? {} : { param }), at };
}

function accumulate(aggregate: AggregateCall, values: readonly (Value | undefined)[]): Accumulator {
  const accumulator = createAccumulator(aggregate);
  for (const value of values) accumulator.add(value as Value);
  return accumulator;
}

function resultOf(aggregate: AggregateCall, values: readonly (Value | undefined)[]): Value {
  return accumulate(aggregate, values).result();
}

function throughJson(aggregate: AggregateCall, accumulator: Accumulator): Accumulator {
  return restoreAccumulator(aggregate, JSON.parse(JSON.stringify(accumulator.snapshot())));
}

/** plan_types' Accumulator does not declare merge yet; windows.ts's session windows call it. */
function merge(into: Accumulator, other: Accumulator): void {
  (into as Accumulator & { merge(other: Accumulator): void }).merge(other);
}

/** Numbers (integers and fractions, both signs), NULLs and missing values. */
function numbersWithNulls(random: () => number, n: number): (number | null | undefined)[] {
  return Array.from({ length: n }, () => {
    const roll = random();
    if (roll < 0.15) return null;
    if (roll < 0.2) return undefined;
    return roll < 0.6 ? Math.floor(random() * 2001) - 1000 : (random() - 0.5) * 1e4;
  });
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** The value at rank floor(p * (n - 1)) of the sorted data: the quantile DDSketch answers for. */
function exactQuantile(sorted: readonly number[], p: number): number {
  return sorted[Math.floor(p * (sorted.length - 1))]!;
}

/** Zipf-distributed (s = 1.1) draws of 2,000 keys, the heaviest scattered over the names. */
function zipfKeys(random: () => number, n: number): string[] {
  const keys = 2000;
  const cumulative: number[] = [];
  for (let rank = 1, total = 0; rank <= keys; rank++) cumulative.push((total += rank ** -1.1));
  const total = cumulative.at(-1)!;
  return Array.from({ length: n }, () => {
    const u = random() * total;
    let low = 0;
    for (let high = keys - 1; low < high;) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < u) low = middle + 1;
      else high = middle;
    }
    return `key-${(low * 7919) % keys}`;
  });
}

function countsOf<T>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** TOP_K's answer checked against the truth: the true top k, each count in [true, true + N / capacity]. */
function expectTrueTop(result: Value, values: readonly string[], k: number, capacity: number): void {
  const truth = countsOf(values);
  const entries = result as { key: string; count: number }[];
  const trueTop = [...truth].sort((a, b) => b[1] - a[1]).slice(0, k);
  expect(entries.map((entry) => entry.key).sort()).toEqual(trueTop.map(([key]) => key).sort());
  for (const { key, count } of entries) {
    expect(count, key).toBeGreaterThanOrEqual(truth.get(key)!);
    expect(count, key).toBeLessThanOrEqual(truth.get(key)! + values.length / capacity);
  }
  expect(entries.map((entry) => entry.count)).toEqual(entries.map((entry) => entry.count).sort((a, b) => b - a));
}

describe('exact aggregates', () => {
  it(`match a plain computation over numbers with NULLs (seed ${seed})`, () => {
    const values = numbersWithNulls(seededRandom(seed), 5000);
    const present = values.filter((v): v is number => typeof v === 'number');
    const sum = present.reduce((a, b) => a + b, 0);
    expect(resultOf(COUNT_STAR, values)).toBe(values.length);
    expect(resultOf(call('COUNT'), values)).toBe(present.length);
    expect(resultOf(call('SUM'), values)).toBeCloseTo(sum, 6);
    expect(resultOf(call('AVG'), values)).toBeCloseTo(sum / present.length, 9);
    expect(resultOf(call('MIN'), values)).toBe(Math.min(...present));
    expect(resultOf(call('MAX'), values)).toBe(Math.max(...present));
  });

  it(`sum whole numbers exactly (seed ${seed})`, () => {
    const random = seededRandom(seed);
    const values = Array.from({ length: 2000 }, () => Math.floor(random() * 2 ** 40) - 2 ** 39);
    expect(resultOf(call('SUM'), values)).toBe(values.reduce((a, b) => a + b, 0));
  });

  it('keep the small terms of a sum that a plain one would round away', () => {
    expect(resultOf(call('SUM'), [1e16, 1, -1e16])).toBe(1);
    expect(resultOf(call('AVG'), [1e16, 1, 1, -1e16])).toBe(0.5);
  });

  it('answer NULL (COUNT: 0) for an empty window and for one of only NULLs', () => {
    for (const values of [[], [null, undefined, null]]) {
      expect(resultOf(call('COUNT'), values)).toBe(0);
      for (const name of ['SUM', 'AVG', 'MIN', 'MAX'] as const) expect(resultOf(call(name), values), name).toBeNull();
    }
    expect(resultOf(COUNT_STAR, [])).toBe(0);
    expect(resultOf(COUNT_STAR, [null, undefined, null])).toBe(3);
  });

  it(`take MIN and MAX of strings as strings and of booleans (seed ${seed})`, () => {
    const random = seededRandom(seed);
    const words = Array.from({ length: 500 }, () => (random() < 0.1 ? null : Math.floor(random() * 1e6).toString(36)));
    const sorted = words.filter((w): w is string => w !== null).sort();
    expect(resultOf(call('MIN'), words)).toBe(sorted[0]);
    expect(resultOf(call('MAX'), words)).toBe(sorted.at(-1));
    expect(resultOf(call('MIN'), ['10', '9'])).toBe('10');
    expect(resultOf(call('MIN'), [true, null, false])).toBe(false);
    expect(resultOf(call('MAX'), [false, true, null])).toBe(true);
  });

  const refusals: [string, AggregateCall, Value[], Value][] = [
    ['SUM of a string', call('SUM'), [1, 2], 'three'],
    ['SUM of a boolean', call('SUM'), [1], true],
    ['SUM of an object', call('SUM'), [1], { a: 1 }],
    ['SUM of an infinite number', call('SUM'), [1], Infinity],
    ['SUM past the largest double', call('SUM'), [1e308], 1e308],
    ['AVG of a string', call('AVG'), [1, 2], '3'],
    ['AVG of NaN', call('AVG'), [1, 2], NaN],
    ['MIN of numbers given a string', call('MIN'), [3, 1], 'a'],
    ['MAX of strings given a number', call('MAX'), ['a', 'b'], 1],
    ['MIN of booleans given a string', call('MIN'), [true], 'false'],
    ['MAX of an object', call('MAX'), [], { a: 1 }],
    ['MIN of an array', call('MIN'), [1], [0]],
    ['APPROX_PERCENTILE of a string', call('APPROX_PERCENTILE', 0.5), [1, 2], '3'],
    ['COUNT_DISTINCT of an infinite number', call('COUNT_DISTINCT'), [1, 'a'], -Infinity],
    ['TOP_K of NaN', call('TOP_K', 3), [1, 'a'], NaN],
  ];
  it.each(refusals)('refuse %s with a RecordError, changing nothing', (_, aggregate, before, refused) => {
    const accumulator = accumulate(aggregate, before);
    const snapshot = JSON.stringify(accumulator.snapshot());
    const result = accumulator.result();
    expect(() => accumulator.add(refused)).toThrow(RecordError);
    expect(JSON.stringify(accumulator.snapshot())).toBe(snapshot);
    expect(accumulator.result()).toEqual(result);
  });
});

describe('COUNT_DISTINCT', () => {
  /** `n` distinct seeded strings, each added one to three times, in a shuffled order. */
  function distinctCount(random: () => number, n: number): number {
    const values = Array.from({ length: n }, (_, i) => `${Math.floor(random() * 2 ** 32).toString(16)}-${i}`);
    const added = values.flatMap((value) => Array<string>(1 + Math.floor(random() * 3)).fill(value));
    for (let i = added.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [added[i], added[j]] = [added[j]!, added[i]!];
    }
    return resultOf(call('COUNT_DISTINCT'), added) as number;
  }

  it.each([10, 100, SPARSE_MAX])(`is exact at %i distinct values, below the sparse limit (seed ${seed})`, (n) => {
    expect(distinctCount(seededRandom(seed + n), n)).toBe(n);
  });

  // 3 standard errors of 1.04 / sqrt(4096); 20,000 is where the classic estimator is most biased.
  it.each([1000, 20_000, 100_000])(`is within 4.8 %% at %i distinct values (seed ${seed})`, (n) => {
    const estimate = distinctCount(seededRandom(seed + n), n);
    expect(Math.abs(estimate - n) / n).toBeLessThanOrEqual(0.048);
  });

  it('tells values of different types apart, and ignores NULLs', () => {
    const values: Value[] = [1, '1', 1.0, true, 'true', { a: 1 }, '{"a":1}', { a: 1 }, [1], '[1]', null, 0, -0, false];
    expect(resultOf(call('COUNT_DISTINCT'), values)).toBe(10);
    expect(resultOf(call('COUNT_DISTINCT'), [])).toBe(0);
  });
});

describe('APPROX_PERCENTILE', () => {
  const distributions: [string, (random: () => number) => number][] = [
    ['uniform', (random) => random() * 1000],
    ['lognormal', (random) => Math.exp(2 * gaussian(random))],
    ['of both signs and zeros', (random) => (random() < 0.1 ? 0 : (random() - 0.6) * 1e6)],
  ];
  it.each(distributions)(`is within 1 %% of p50, p90 and p99 of %s data (seed ${seed})`, (_, draw) => {
    const random = seededRandom(seed);
    const values = Array.from({ length: 20_000 }, () => draw(random));
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [0.5, 0.9, 0.99]) {
      const estimate = resultOf(call('APPROX_PERCENTILE', p), values) as number;
      const exact = exactQuantile(sorted, p);
      expect(Math.abs(estimate - exact), `p${p * 100}: ${estimate} for ${exact}`).toBeLessThanOrEqual(Math.abs(exact) * 0.01 + 1e-12);
    }
  });

  it('is exact at the extremes and NULL when empty', () => {
    const values = [3.7, -2.2, 1e6, 0.001];
    expect(resultOf(call('APPROX_PERCENTILE', 1), values)).toBe(1e6);
    expect(resultOf(call('APPROX_PERCENTILE', 0.01), values)).toBe(-2.2);
    expect(resultOf(call('APPROX_PERCENTILE', 0.5), [null])).toBeNull();
  });

  it(`keeps at most ${MAX_BINS} bins, losing only the lowest quantiles (seed ${seed})`, () => {
    const random = seededRandom(seed);
    // 1 % of tiny values, 30 orders of magnitude below the rest: more than 2,048 bins apart.
    const values = Array.from({ length: 20_000 }, () => (random() < 0.01 ? 1e-30 * (1 + random()) : Math.exp(3 * gaussian(random))));
    const sorted = [...values].sort((a, b) => a - b);
    const accumulator = accumulate(call('APPROX_PERCENTILE', 0.5), values);
    const { positive } = (accumulator.snapshot() as { sketch: DDSketchSnapshot }).sketch;
    expect(positive.at(-1)![0] - positive[0]![0]).toBeLessThan(MAX_BINS);
    for (const p of [0.5, 0.9, 0.99]) {
      const estimate = resultOf(call('APPROX_PERCENTILE', p), values) as number;
      expect(Math.abs(estimate - exactQuantile(sorted, p))).toBeLessThanOrEqual(exactQuantile(sorted, p) * 0.01);
    }
    expect(resultOf(call('APPROX_PERCENTILE', 0.005), values)).toBeGreaterThan(exactQuantile(sorted, 0.005) * 1e10);
  });
});

describe('TOP_K', () => {
  it(`finds the true top 10 of skewed data, each count within [true, true + N / capacity] (seed ${seed})`, () => {
    const values = zipfKeys(seededRandom(seed), 100_000);
    expectTrueTop(resultOf(call('TOP_K', 10), values), values, 10, 100);
  });

  // 50 counters for 500 items: many taken over; 600: none, and every count exact. Merged: of
  // two summaries, of the first 8,000 items and of the rest.
  it.each([
    [50, false],
    [600, false],
    [50, true],
    [600, true],
  ])(`keeps every count's bounds with %i counters, merged: %s (seed ${seed})`, (capacity, merged) => {
    const random = seededRandom(seed);
    const n = 20_000;
    const items = Array.from({ length: n }, () => Math.floor(random() ** 2 * 500));
    const summarize = (part: readonly number[]) => {
      const summary = new SpaceSaving<number>(capacity, (item) => item);
      for (const item of part) summary.add(item);
      return summary;
    };
    const summary = summarize(merged ? items.slice(0, 8000) : items);
    if (merged) summary.merge(summarize(items.slice(8000)));
    const truth = countsOf(items);
    const counters = summary.counters();
    if (!merged) expect(counters.reduce((total, counter) => total + counter.count, 0)).toBe(n);
    for (const { item, count, error } of counters) {
      expect(count - error, `item ${item}`).toBeLessThanOrEqual(truth.get(item)!);
      expect(count, `item ${item}`).toBeGreaterThanOrEqual(truth.get(item)!);
      expect(error, `item ${item}`).toBeLessThanOrEqual(n / capacity);
      if (capacity >= truth.size) expect(count, `item ${item}`).toBe(truth.get(item));
    }
    // An item without a counter was counted at most the smallest count times.
    const smallest = counters.length < capacity ? 0 : Math.min(...counters.map((counter) => counter.count));
    if (!merged) expect(smallest).toBeLessThanOrEqual(n / capacity);
    const kept = new Set(counters.map((counter) => counter.item));
    for (const [item, count] of truth) if (!kept.has(item)) expect(count, `item ${item}`).toBeLessThanOrEqual(smallest);
    const isItem = (x: unknown): x is number => Number.isInteger(x);
    expect(() => SpaceSaving.restore(summary.snapshot(), capacity, (item) => item, isItem)).not.toThrow();
  });

  it("gives an item one side of a merge has no counter for that side's smallest count, as count and error", () => {
    const summarize = (items: string) => {
      const summary = new SpaceSaving<string>(2, (item) => item);
      for (const item of items) summary.add(item);
      return summary;
    };
    // aaabbc in 2 counters: a 3 and c 3 (2 of them b's), so b may have been counted 3 times.
    for (const [first, second] of [
      ['aaabbc', 'bbbbb'],
      ['bbbbb', 'aaabbc'],
    ] as const) {
      const summary = summarize(first);
      summary.merge(summarize(second));
      expect(summary.counters().find((counter) => counter.item === 'b')).toMatchObject({ count: 8, error: 3 });
    }
  });

  it('keeps keys of different types apart, as they came, by count and then key', () => {
    const values: Value[] = [1, '1', 1, true, 'true', { a: 1 }, '{"a":1}', { a: 1 }, '\0{"a":1}', null, 'b', 'b', 'b'];
    expect(resultOf(call('TOP_K', 5), values)).toEqual([
      { key: 'b', count: 3 },
      { key: 1, count: 2 },
      { key: { a: 1 }, count: 2 },
      { key: true, count: 1 },
      { key: '\0{"a":1}', count: 1 },
    ]);
    expect(resultOf(call('TOP_K', 5), [])).toEqual([]);
  });
});

describe('snapshots', () => {
  const random = seededRandom(seed);
  const numbers = numbersWithNulls(random, 4000);
  const words = Array.from({ length: 4000 }, () => (random() < 0.1 ? null : `w${Math.floor(random() ** 3 * 3000)}`));
  const few = words.map((word) => (word === null ? null : word.slice(0, 3)));
  const cases: [string, AggregateCall, (Value | undefined)[]][] = [
    ['COUNT(*)', COUNT_STAR, numbers],
    ['COUNT', call('COUNT'), numbers],
    ['SUM', call('SUM'), numbers],
    ['AVG', call('AVG'), numbers],
    ['MIN', call('MIN'), numbers],
    ['MAX', call('MAX'), words],
    ['COUNT_DISTINCT, sparse', call('COUNT_DISTINCT'), few],
    ['COUNT_DISTINCT, dense', call('COUNT_DISTINCT'), words],
    ['APPROX_PERCENTILE', call('APPROX_PERCENTILE', 0.9), numbers],
    ['TOP_K', call('TOP_K', 5), words],
  ];
  it.each(cases)(`restore %s through JSON to an accumulator that goes on the same (seed ${seed})`, (_, aggregate, values) => {
    for (const cut of [0, values.length >> 3, values.length >> 1]) {
      const original = accumulate(aggregate, values.slice(0, cut));
      const restored = throughJson(aggregate, original);
      expect(restored.result(), `cut at ${cut}`).toEqual(original.result());
      for (const value of values.slice(cut)) {
        original.add(value as Value);
        restored.add(value as Value);
      }
      expect(restored.result(), `cut at ${cut}`).toEqual(original.result());
      expect(restored.snapshot(), `cut at ${cut}`).toEqual(original.snapshot());
    }
  });

  const misfits: [string, AggregateCall, unknown, RegExp][] = [
    ['not an object', call('SUM'), 3, /must be an object/],
    ['of another aggregate', call('SUM'), { aggregate: 'AVG', count: 0, sum: 0, compensation: 0 }, /"AVG", not SUM/],
    ['with a bad count', call('COUNT'), { aggregate: 'COUNT', count: -1 }, /count/],
    ['with a MIN of an object', call('MIN'), { aggregate: 'MIN', value: { a: 1 } }, /value/],
    ['of another k', call('TOP_K', 5), { aggregate: 'TOP_K', k: 10, counters: [] }, /k = 10/],
    ['with a counter of a bad count', call('TOP_K', 5), { aggregate: 'TOP_K', k: 5, counters: [['a', 0, 0]] }, /count > 0/],
    [
      'with counters out of heap order',
      call('TOP_K', 5),
      {
        aggregate: 'TOP_K',
        k: 5,
        counters: [
          ['a', 5, 0],
          ['b', 1, 0],
        ],
      },
      /heap order/,
    ],
    ['with too few registers', call('COUNT_DISTINCT'), { aggregate: 'COUNT_DISTINCT', sketch: { registers: 'AAAA' } }, /3 registers/],
    ['with a fractional hash', call('COUNT_DISTINCT'), { aggregate: 'COUNT_DISTINCT', sketch: { sparse: [1.5] } }, /1\.5/],
    [
      'with bins out of order',
      call('APPROX_PERCENTILE', 0.5),
      {
        aggregate: 'APPROX_PERCENTILE',
        sketch: {
          zero: 0,
          positive: [
            [5, 1],
            [2, 1],
          ],
          negative: [],
          min: 1,
          max: 2,
        },
      },
      /ascending/,
    ],
    [
      'with a max but no values',
      call('APPROX_PERCENTILE', 0.5),
      { aggregate: 'APPROX_PERCENTILE', sketch: { zero: 0, positive: [], negative: [], min: null, max: 2 } },
      /min and max/,
    ],
  ];
  it.each(misfits)('refuse one %s, saying what is wrong', (_, aggregate, snapshot, message) => {
    expect(() => restoreAccumulator(aggregate, snapshot)).toThrow(message);
  });
});

describe('merging', () => {
  const random = seededRandom(seed);
  const numbers = numbersWithNulls(random, 4000);
  const words = Array.from({ length: 4000 }, () => (random() < 0.1 ? null : `w${Math.floor(random() ** 3 * 3000)}`));
  const cases: [string, AggregateCall, (Value | undefined)[]][] = [
    ['COUNT(*)', COUNT_STAR, numbers],
    ['COUNT', call('COUNT'), numbers],
    ['SUM', call('SUM'), numbers],
    ['AVG', call('AVG'), numbers],
    ['MIN', call('MIN'), numbers],
    ['MAX', call('MAX'), words],
    ['COUNT_DISTINCT', call('COUNT_DISTINCT'), words],
    ['APPROX_PERCENTILE', call('APPROX_PERCENTILE', 0.9), numbers],
  ];
  // The cuts make both sides of COUNT_DISTINCT sparse, sparse and dense, both dense, dense and sparse.
  it.each(cases)(`gives %s of all the values (seed ${seed})`, (name, aggregate, values) => {
    const whole = resultOf(aggregate, values);
    for (const cut of [0, 100, values.length >> 1, values.length - 100]) {
      const merged = accumulate(aggregate, values.slice(0, cut));
      merge(merged, accumulate(aggregate, values.slice(cut)));
      if (name === 'SUM' || name === 'AVG') expect(merged.result(), `cut at ${cut}`).toBeCloseTo(whole as number, 9);
      else expect(merged.result(), `cut at ${cut}`).toEqual(whole);
    }
  });

  it(`keeps TOP_K's bounds (seed ${seed})`, () => {
    const values = zipfKeys(seededRandom(seed), 100_000);
    const merged = accumulate(call('TOP_K', 10), values.slice(0, 30_000));
    merge(merged, accumulate(call('TOP_K', 10), values.slice(30_000)));
    expectTrueTop(merged.result(), values, 10, 100);
  });

  it('refuses what cannot be one, changing nothing', () => {
    const numbersMin = accumulate(call('MIN'), [3, 1]);
    expect(() => merge(numbersMin, accumulate(call('MIN'), ['a']))).toThrow(RecordError);
    expect(numbersMin.result()).toBe(1);
    const sum = accumulate(call('SUM'), [1e308]);
    expect(() => merge(sum, accumulate(call('SUM'), [1e308]))).toThrow(RecordError);
    expect(sum.result()).toBe(1e308);
    expect(() => merge(sum, accumulate(call('AVG'), [1]))).toThrow(/cannot merge AVG into SUM/);
  });
});
