/*
 * The aggregates of a continuous query, with SQL's NULL rule: a NULL (or missing) value is
 * skipped by all but COUNT(*). COUNT, SUM, AVG, MIN and MAX are exact; COUNT_DISTINCT,
 * APPROX_PERCENTILE and TOP_K are sketches (hyperloglog.ts, ddsketch.ts, space_saving.ts) whose
 * size does not grow with the window's records. A value an aggregate cannot take is the record's
 * fault (RecordError), and is refused before anything changes, so that the record can be
 * counted as an error and the window go on as if it had not come. A number that is not finite
 * is refused by every aggregate that reads values: no JSON output or snapshot could hold it.
 *
 * A snapshot names its aggregate, so that one restored into another call is refused rather than
 * read as something else. Accumulators of one call merge (session windows that a record bridges
 * become one); a merge is refused like an add, before anything changes, if the two cannot be one
 * (a MIN of numbers and a MIN of strings).
 */
import { DDSketch } from './ddsketch.js';
import { HyperLogLog } from './hyperloglog.js';
import { RecordError } from './plan_types.js';
import type { Accumulator, AggregateCall, AggregateName, Value } from './plan_types.js';
import { SpaceSaving } from './space_saving.js';

export function createAccumulator(call: AggregateCall): Accumulator {
  switch (call.name) {
    case 'COUNT':
      return new Count(call.star, 0);
    case 'SUM':
    case 'AVG':
      return new Total(call.name, 0, 0, 0);
    case 'MIN':
    case 'MAX':
      return new Extreme(call.name, null);
    case 'COUNT_DISTINCT':
      return new Distinct(HyperLogLog.empty());
    case 'APPROX_PERCENTILE':
      return new Percentile(fractionOf(call), new DDSketch());
    case 'TOP_K': {
      const k = kOf(call);
      return new TopK(k, new SpaceSaving(capacityFor(k), keyOf));
    }
  }
}

/** Throws an Error naming what does not fit the call. */
export function restoreAccumulator(call: AggregateCall, snapshot: unknown): Accumulator {
  const fields = fieldsOf(call, snapshot);
  switch (call.name) {
    case 'COUNT':
      return new Count(call.star, wholeNumber(call, fields, 'count'));
    case 'SUM':
    case 'AVG':
      return new Total(call.name, wholeNumber(call, fields, 'count'), finite(call, fields, 'sum'), finite(call, fields, 'compensation'));
    case 'MIN':
    case 'MAX':
      return new Extreme(call.name, extremeOf(call, fields.value));
    case 'COUNT_DISTINCT':
      return new Distinct(HyperLogLog.restore(fields.sketch));
    case 'APPROX_PERCENTILE':
      return new Percentile(fractionOf(call), DDSketch.restore(fields.sketch));
    case 'TOP_K': {
      const k = kOf(call);
      if (fields.k !== k) throw new Error(`the TOP_K snapshot is of k = ${JSON.stringify(fields.k)}, the call's k is ${k}`);
      return new TopK(k, SpaceSaving.restore(fields.counters, capacityFor(k), keyOf, isKey));
    }
  }
}

class Count implements Accumulator {
  readonly name = 'COUNT';

  constructor(
    private readonly star: boolean,
    private count: number,
  ) {}

  add(value: Value): void {
    if (this.star || !isNull(value)) this.count++;
  }

  merge(other: Accumulator): void {
    this.count += sameAs(this, other).count;
  }

  result(): Value {
    return this.count;
  }

  snapshot(): unknown {
    return { aggregate: 'COUNT', count: this.count };
  }
}

/** SUM and AVG, summed with Neumaier's compensation: a long window's rounding errors do not pile up. */
class Total implements Accumulator {
  constructor(
    readonly name: 'SUM' | 'AVG',
    private count: number,
    private sum: number,
    private compensation: number,
  ) {}

  add(value: Value): void {
    if (isNull(value)) return;
    this.accumulate(numberOf(this.name, value));
    this.count++;
  }

  merge(other: Accumulator): void {
    const { count, sum, compensation } = sameAs(this, other);
    this.accumulate(sum);
    this.compensation += compensation;
    this.count += count;
  }

  result(): Value {
    if (this.count === 0) return null;
    const total = this.sum + this.compensation;
    return this.name === 'SUM' ? total : total / this.count;
  }

  snapshot(): unknown {
    return { aggregate: this.name, count: this.count, sum: this.sum, compensation: this.compensation };
  }

  private accumulate(x: number): void {
    const sum = this.sum + x;
    if (!Number.isFinite(sum)) throw new RecordError(`${this.name} would overflow a DOUBLE`);
    this.compensation += Math.abs(this.sum) >= Math.abs(x) ? this.sum - sum + x : x - sum + this.sum;
    this.sum = sum;
  }
}

type Comparable = string | number | boolean;

/** MIN and MAX: of numbers, of strings (by UTF-16 code units) or of booleans (FALSE < TRUE), never mixed. */
class Extreme implements Accumulator {
  constructor(
    readonly name: 'MIN' | 'MAX',
    private value: Comparable | null,
  ) {}

  add(value: Value): void {
    if (isNull(value)) return;
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') {
      throw new RecordError(`${this.name} takes numbers, strings or booleans, got ${kindOf(value)}`);
    }
    if (typeof value === 'number') numberOf(this.name, value);
    if (this.value === null) {
      this.value = value;
      return;
    }
    if (typeof value !== typeof this.value) throw new RecordError(`${this.name} of ${typeof this.value}s got ${kindOf(value)}`);
    if (this.name === 'MIN' ? value < this.value : value > this.value) this.value = value;
  }

  merge(other: Accumulator): void {
    const { value } = sameAs(this, other);
    if (value !== null) this.add(value);
  }

  result(): Value {
    return this.value;
  }

  snapshot(): unknown {
    return { aggregate: this.name, value: this.value };
  }
}

class Distinct implements Accumulator {
  readonly name = 'COUNT_DISTINCT';

  constructor(private readonly sketch: HyperLogLog) {}

  add(value: Value): void {
    if (isNull(value)) return;
    if (typeof value === 'string') this.sketch.add(value, 'string');
    else if (typeof value === 'number') this.sketch.addNumber(numberOf('COUNT_DISTINCT', value));
    else if (typeof value === 'boolean') this.sketch.add(value ? 'true' : 'false', 'boolean');
    else this.sketch.add(JSON.stringify(value), 'json');
  }

  merge(other: Accumulator): void {
    this.sketch.merge(sameAs(this, other).sketch);
  }

  result(): Value {
    return this.sketch.estimate();
  }

  snapshot(): unknown {
    return { aggregate: 'COUNT_DISTINCT', sketch: this.sketch.snapshot() };
  }
}

class Percentile implements Accumulator {
  readonly name = 'APPROX_PERCENTILE';

  constructor(
    private readonly fraction: number,
    private readonly sketch: DDSketch,
  ) {}

  add(value: Value): void {
    if (!isNull(value)) this.sketch.add(numberOf('APPROX_PERCENTILE', value));
  }

  merge(other: Accumulator): void {
    this.sketch.merge(sameAs(this, other).sketch);
  }

  result(): Value {
    return this.sketch.quantile(this.fraction);
  }

  snapshot(): unknown {
    return { aggregate: 'APPROX_PERCENTILE', sketch: this.sketch.snapshot() };
  }
}

type Key = NonNullable<Value>;

class TopK implements Accumulator {
  readonly name = 'TOP_K';

  constructor(
    private readonly k: number,
    private readonly summary: SpaceSaving<Key>,
  ) {}

  add(value: Value): void {
    if (isNull(value)) return;
    if (typeof value === 'number') numberOf('TOP_K', value);
    this.summary.add(value);
  }

  merge(other: Accumulator): void {
    this.summary.merge(sameAs(this, other).summary);
  }

  /** The k largest counts, the larger first; equal counts in key order. */
  result(): Value {
    return [...this.summary.counters()]
      .sort((a, b) => b.count - a.count || compareKeys(a.item, b.item))
      .slice(0, this.k)
      .map((counter) => ({ key: counter.item, count: counter.count }));
  }

  snapshot(): unknown {
    return { aggregate: 'TOP_K', k: this.k, counters: this.summary.snapshot() };
  }
}

/** `other` as an accumulator of the same aggregate as `self`, or an Error: merging is within one call's accumulators. */
function sameAs<T extends Accumulator & { readonly name: AggregateName }>(self: T, other: Accumulator): T {
  const name = (other as Partial<T>).name;
  if (other.constructor !== self.constructor || name !== self.name)
    throw new Error(`cannot merge ${name ?? 'an accumulator'} into ${self.name}`);
  return other as T;
}

/** Space-Saving's counters per k: a margin that keeps the k-th count's error small against skewed data. */
function capacityFor(k: number): number {
  return Math.max(10 * k, 100);
}

/**
 * A Map key that keeps 1, '1' and TRUE apart. An object or an array is its JSON text behind a
 * NUL; a string that begins with a NUL gets a second one, so that no string can pass for a JSON text.
 */
function keyOf(item: Key): unknown {
  if (typeof item === 'string') return item.charCodeAt(0) === 0 ? `\0${item}` : item;
  return typeof item === 'object' ? `\0${JSON.stringify(item)}` : item;
}

const KEY_TYPE_ORDER: Readonly<Record<string, number>> = { boolean: 0, number: 1, string: 2, object: 3 };

/** Booleans, then numbers, strings, and objects and arrays (by their JSON text); each type in its own order. */
function compareKeys(a: Key, b: Key): number {
  if (typeof a !== typeof b) return KEY_TYPE_ORDER[typeof a]! - KEY_TYPE_ORDER[typeof b]!;
  if (typeof a === 'object') [a, b] = [JSON.stringify(a), JSON.stringify(b)];
  return a < b ? -1 : a > b ? 1 : 0;
}

function isKey(x: unknown): x is Key {
  return (
    typeof x === 'string' ||
    typeof x === 'boolean' ||
    (typeof x === 'number' && Number.isFinite(x)) ||
    (typeof x === 'object' && x !== null)
  );
}

/** Undefined too: a field a record lacks is NULL. */
function isNull(value: Value | undefined): value is null | undefined {
  return value === null || value === undefined;
}

function numberOf(name: AggregateName, value: Value): number {
  if (typeof value !== 'number') throw new RecordError(`${name} takes numbers, got ${kindOf(value)}`);
  if (!Number.isFinite(value)) throw new RecordError(`${name} takes finite numbers, got ${value}`);
  return value;
}

function kindOf(value: Value): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function fractionOf(call: AggregateCall): number {
  const p = call.param;
  if (p === undefined || !(p > 0 && p <= 1)) throw new Error(`APPROX_PERCENTILE needs a fraction 0 < p <= 1, got ${p}`);
  return p;
}

function kOf(call: AggregateCall): number {
  const k = call.param;
  if (k === undefined || !Number.isInteger(k) || k < 1 || k > 1000) throw new Error(`TOP_K needs a whole k from 1 to 1000, got ${k}`);
  return k;
}

function fieldsOf(call: AggregateCall, snapshot: unknown): Readonly<Record<string, unknown>> {
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
    throw new Error(`a ${call.name} snapshot must be an object, got ${JSON.stringify(snapshot)}`);
  }
  const fields = snapshot as Readonly<Record<string, unknown>>;
  if (fields.aggregate !== call.name) throw new Error(`the snapshot is of ${JSON.stringify(fields.aggregate)}, not ${call.name}`);
  return fields;
}

function wholeNumber(call: AggregateCall, fields: Readonly<Record<string, unknown>>, name: string): number {
  const x = fields[name];
  if (!Number.isSafeInteger(x) || (x as number) < 0)
    throw new Error(`a ${call.name} snapshot's ${name} must be a whole number, got ${JSON.stringify(x)}`);
  return x as number;
}

function finite(call: AggregateCall, fields: Readonly<Record<string, unknown>>, name: string): number {
  const x = fields[name];
  if (typeof x !== 'number' || !Number.isFinite(x))
    throw new Error(`a ${call.name} snapshot's ${name} must be a number, got ${JSON.stringify(x)}`);
  return x;
}

function extremeOf(call: AggregateCall, value: unknown): Comparable | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
    return value;
  throw new Error(`a ${call.name} snapshot's value must be null, a number, a string or a boolean, got ${JSON.stringify(value)}`);
}
