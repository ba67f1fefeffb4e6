/**
 * FilterCriteria of a Lambda-style event source mapping: which Kinesis records reach the function.
 *
 * A FilterCriteria is `{ Filters: [{ Pattern }] }`, each Pattern a JSON string of at most
 * PATTERN_CHARS_MAX characters in EventBridge's event pattern syntax, at most FILTERS_MAX of them
 * (kinesis-family.md §4.1). A record is delivered when ANY filter matches it (Lambda ORs filters).
 *
 * What a pattern is matched against is the record as Lambda shows it under `kinesis`, reduced to
 * what filtering may look at: `data`, the record's bytes parsed as UTF-8 JSON, and `partitionKey`.
 * A pattern naming any other top-level key is refused (Lambda filters Kinesis records on `data`
 * only; `partitionKey` is ours). A record whose data is not JSON fails every condition placed under
 * `data`, so it matches only a pattern (or an `$or` branch) that never looks into `data`.
 *
 * Matching, as EventBridge does it:
 * - A pattern is an object; every key in it must match (AND). The value of a key is either a nested
 *   object (recurse into the event's object there) or a non-empty array of conditions (OR).
 * - A condition tests the event's leaf values at that key; an event array matches when any of its
 *   elements does (arrays nested in arrays are flattened, to ARRAY_NESTING_MAX levels).
 * - An array of objects in the event matches a nested pattern when one element matches it whole.
 * - `{"exists": true}` holds when the key has at least one leaf value (null counts, an object or an
 *   empty array does not); `{"exists": false}` when it has none. Every other condition needs a leaf.
 * - `$or: [p1, p2, ...]` at any level matches when one of its (at least two) sub-patterns does,
 *   ANDed with the other keys beside it.
 *
 * Patterns are validated strictly and compiled once into closures; matching a record parses its
 * data once (only when some filter looks into data) and allocates nothing else per condition.
 */
import { InvalidParameterValueException } from '../errors.js';

/** Lambda's limit on one filter's Pattern, in characters (UTF-16 code units, as JSON strings count them). */
export const PATTERN_CHARS_MAX = 4096;
/** Lambda's default number of filters per event source mapping (a quota raise allows 10; we keep the default). */
export const FILTERS_MAX = 5;
/** How deep arrays nested in arrays of the event are flattened: bounds the work per record. */
const ARRAY_NESTING_MAX = 32;

/** The record a filter sees: the Kinesis record's partition key and its data bytes. */
export interface FilterableRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

/** All filters of one FilterCriteria, compiled: a record passes when any of them matches it. */
export interface CompiledFilter {
  matches(record: FilterableRecord): boolean;
}

/**
 * A FilterCriteria Lambda would refuse, with its answer's code and lead ("Invalid filter pattern
 * definition.") followed by which filter and why. `filterIndex` is undefined when the fault is in
 * the criteria as a whole (its shape, too many filters).
 */
export class InvalidFilterPatternError extends InvalidParameterValueException {
  constructor(
    message: string,
    readonly filterIndex: number | undefined,
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type JsonLeaf = null | boolean | number | string;

/** The value of `data` in a record whose bytes are not UTF-8 JSON: every condition on it fails. */
const NOT_JSON: unique symbol = Symbol('not JSON');
type EventValue = Json | undefined | typeof NOT_JSON;

type ObjectMatcher = (value: EventValue) => boolean;
type LeafTest = (leaf: JsonLeaf) => boolean;

const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['data', 'partitionKey']);
const DATA_KEY = 'data';
const NUMERIC_LOWER_OPS: ReadonlySet<string> = new Set(['>', '>=']);
const NUMERIC_UPPER_OPS: ReadonlySet<string> = new Set(['<', '<=']);
const NUMERIC_SINGLE_OPS: ReadonlySet<string> = new Set(['=', '>', '>=', '<', '<=']);

/** Why a pattern is refused, before the filter's index is known: caught and wrapped by compileFilterCriteria. */
class PatternFault extends Error {}

/**
 * Parses and compiles a FilterCriteria (`{ Filters: [{ Pattern: string }] }`). Returns null when
 * there is nothing to filter by (no criteria, no Filters, an empty list): every record passes.
 * Throws InvalidFilterPatternError for a criteria Lambda would refuse.
 */
export function compileFilterCriteria(criteria: unknown): CompiledFilter | null {
  if (criteria === undefined || criteria === null) return null;
  if (!isPlainObject(criteria)) throw new InvalidFilterPatternError('FilterCriteria must be an object with a Filters list.', undefined);
  for (const key of Object.keys(criteria)) {
    if (key !== 'Filters') throw new InvalidFilterPatternError(`FilterCriteria has an unknown member ${JSON.stringify(key)}.`, undefined);
  }
  const filters = criteria['Filters'];
  if (filters === undefined || filters === null) return null;
  if (!Array.isArray(filters)) throw new InvalidFilterPatternError('FilterCriteria.Filters must be a list.', undefined);
  if (filters.length === 0) return null;
  if (filters.length > FILTERS_MAX) {
    throw new InvalidFilterPatternError(`FilterCriteria has ${filters.length} filters: at most ${FILTERS_MAX} are allowed.`, undefined);
  }

  const compiled: ObjectMatcher[] = [];
  let readsData = false;
  filters.forEach((filter: unknown, index) => {
    try {
      const { matcher, reads } = compileFilter(filter);
      compiled.push(matcher);
      readsData ||= reads;
    } catch (error) {
      if (!(error instanceof PatternFault)) throw error;
      throw new InvalidFilterPatternError(`Invalid filter pattern definition. Filters[${index}]: ${error.message}`, index);
    }
  });
  return new FilterCriteriaMatcher(compiled, readsData);
}

class FilterCriteriaMatcher implements CompiledFilter {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly filters: readonly ObjectMatcher[],
    private readonly readsData: boolean,
  ) {}

  matches(record: FilterableRecord): boolean {
    // Data is parsed once per record for all filters, and not at all when none looks into it.
    const event: { [key: string]: Json | typeof NOT_JSON } = { partitionKey: record.partitionKey };
    if (this.readsData) event[DATA_KEY] = this.parseData(record.data);
    for (const filter of this.filters) {
      if (filter(event as EventValue)) return true;
    }
    return false;
  }

  private parseData(data: Uint8Array): Json | typeof NOT_JSON {
    try {
      return JSON.parse(this.decoder.decode(data)) as Json;
    } catch {
      return NOT_JSON;
    }
  }
}

function compileFilter(filter: unknown): { matcher: ObjectMatcher; reads: boolean } {
  if (!isPlainObject(filter)) throw new PatternFault('a filter must be an object with a Pattern.');
  for (const key of Object.keys(filter)) {
    if (key !== 'Pattern') throw new PatternFault(`unknown member ${JSON.stringify(key)} (a filter has only Pattern).`);
  }
  const text = filter['Pattern'];
  if (typeof text !== 'string') throw new PatternFault('Pattern must be a string.');
  if (text.length > PATTERN_CHARS_MAX) {
    throw new PatternFault(`Pattern is ${text.length} characters long: at most ${PATTERN_CHARS_MAX} are allowed.`);
  }
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch (error) {
    throw new PatternFault(`Pattern is not JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  const state = { readsData: false };
  const matcher = compileObject(pattern, '', state);
  return { matcher, reads: state.readsData };
}

/** Compiles an object pattern found at `path` ('' for the top level). */
function compileObject(pattern: unknown, path: string, state: { readsData: boolean }): ObjectMatcher {
  const where = path === '' ? 'the pattern' : `"${path}"`;
  if (!isPlainObject(pattern)) throw new PatternFault(`${where} must be a JSON object.`);
  const keys = Object.keys(pattern);
  if (keys.length === 0) throw new PatternFault(`${where} must not be an empty object.`);

  const fields: { key: string; match: ObjectMatcher }[] = [];
  const ors: ObjectMatcher[][] = [];
  for (const key of keys) {
    const value = pattern[key];
    if (key === '$or') {
      ors.push(compileOr(value, path, state));
      continue;
    }
    const fieldPath = path === '' ? key : `${path}.${key}`;
    if (path === '') {
      if (!TOP_LEVEL_KEYS.has(key)) {
        throw new PatternFault(`"${key}" is not a field filters can use: Kinesis records are filtered on data (and partitionKey).`);
      }
      if (key === DATA_KEY) state.readsData = true;
      if (key === 'partitionKey' && !Array.isArray(value)) {
        throw new PatternFault('"partitionKey" is a string: its pattern must be an array of conditions.');
      }
    }
    fields.push({ key, match: compileField(value, fieldPath, state) });
  }

  return (value: EventValue): boolean => {
    const object = isPlainObject(value) ? (value as JsonObject) : undefined;
    for (const { key, match } of fields) {
      const field = object !== undefined && Object.hasOwn(object, key) ? (object[key] as EventValue) : undefined;
      if (!match(field)) return false;
    }
    for (const branches of ors) {
      if (!branches.some((branch) => branch(value))) return false;
    }
    return true;
  };
}

function compileOr(value: unknown, path: string, state: { readsData: boolean }): ObjectMatcher[] {
  const where = path === '' ? '"$or"' : `"${path}.$or"`;
  if (!Array.isArray(value) || value.length < 2) throw new PatternFault(`${where} must be an array of at least two patterns.`);
  return value.map((branch: unknown) => compileObject(branch, path, state));
}

/** Compiles the pattern of one key: a nested object, or an array of conditions. */
function compileField(value: unknown, path: string, state: { readsData: boolean }): ObjectMatcher {
  if (Array.isArray(value)) return compileConditions(value, path);
  if (isPlainObject(value)) {
    const nested = compileObject(value, path, state);
    return (field: EventValue): boolean => {
      if (field === NOT_JSON) return false;
      if (!Array.isArray(field)) return nested(field);
      // An array of objects: one element must match the nested pattern whole.
      const objects = field.filter(isPlainObject);
      return objects.length === 0 ? nested(undefined) : objects.some((object) => nested(object));
    };
  }
  throw new PatternFault(`"${path}" must be an object or an array.`);
}

/** Compiles a key's array of conditions (OR): exact values in sets, the rest as tests, `exists` aside. */
function compileConditions(conditions: unknown[], path: string): ObjectMatcher {
  if (conditions.length === 0) throw new PatternFault(`"${path}" must not be an empty array.`);
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const literals = new Set<boolean | null>();
  const tests: LeafTest[] = [];
  let existsTrue = false;
  let existsFalse = false;

  for (const condition of conditions) {
    if (typeof condition === 'string') strings.add(condition);
    else if (typeof condition === 'number') numbers.add(normalizeNumber(condition));
    else if (typeof condition === 'boolean' || condition === null) literals.add(condition);
    else if (isPlainObject(condition)) {
      const entries = Object.entries(condition);
      const [entry] = entries;
      if (entry === undefined || entries.length !== 1) {
        throw new PatternFault(`"${path}": a condition object must have exactly one operator, found ${entries.length}.`);
      }
      const [operator, operand] = entry;
      if (operator === 'exists') {
        if (typeof operand !== 'boolean') throw new PatternFault(`"${path}": exists takes true or false.`);
        if (operand) existsTrue = true;
        else existsFalse = true;
      } else {
        tests.push(compileOperator(operator, operand, path));
      }
    } else {
      throw new PatternFault(
        `"${path}": ${JSON.stringify(condition)} is not a condition (a string, number, boolean, null or operator object).`,
      );
    }
  }

  const leafMatches = (leaf: JsonLeaf): boolean => {
    if (typeof leaf === 'string') {
      if (strings.has(leaf)) return true;
    } else if (typeof leaf === 'number') {
      if (numbers.has(normalizeNumber(leaf))) return true;
    } else if (literals.has(leaf)) return true;
    for (const test of tests) if (test(leaf)) return true;
    return false;
  };
  return (field: EventValue): boolean => {
    if (field === NOT_JSON) return false;
    let found = false;
    const matched = visitLeaves(field, 0, (leaf) => {
      found = true;
      return leafMatches(leaf);
    });
    return matched || (found ? existsTrue : existsFalse);
  };
}

/** Calls `visit` on each leaf value of `field` (flattening arrays) until it answers true; answers whether one did. */
function visitLeaves(field: EventValue, depth: number, visit: (leaf: JsonLeaf) => boolean): boolean {
  if (field === undefined || field === NOT_JSON) return false;
  if (Array.isArray(field)) {
    if (depth >= ARRAY_NESTING_MAX) return false;
    for (const element of field) if (visitLeaves(element, depth + 1, visit)) return true;
    return false;
  }
  if (typeof field === 'object' && field !== null) return false; // an object is no leaf
  return visit(field);
}

function compileOperator(operator: string, operand: unknown, path: string): LeafTest {
  const at = `"${path}": ${operator}`;
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const { text, ignoreCase } = stringOrIgnoreCase(operand, at);
      return affixTest(operator, text, ignoreCase);
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') throw new PatternFault(`${at} takes a string.`);
      const folded = foldCase(operand);
      return (leaf) => typeof leaf === 'string' && foldCase(leaf) === folded;
    }
    case 'anything-but':
      return compileAnythingBut(operand, at);
    case 'numeric':
      return compileNumeric(operand, at);
    case 'cidr':
      return compileCidr(operand, at);
    case 'wildcard': {
      if (typeof operand !== 'string') throw new PatternFault(`${at} takes a string.`);
      const regex = wildcardRegExp(operand, at);
      return (leaf) => typeof leaf === 'string' && regex.test(leaf);
    }
    default:
      throw new PatternFault(`"${path}": unknown operator ${JSON.stringify(operator)}.`);
  }
}

/** prefix and suffix take a string, or `{"equals-ignore-case": string}` to compare without case. */
function stringOrIgnoreCase(operand: unknown, at: string): { text: string; ignoreCase: boolean } {
  if (typeof operand === 'string') return { text: operand, ignoreCase: false };
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const inner = operand['equals-ignore-case'];
    if (keys.length === 1 && typeof inner === 'string') return { text: inner, ignoreCase: true };
  }
  throw new PatternFault(`${at} takes a string or {"equals-ignore-case": string}.`);
}

function affixTest(operator: 'prefix' | 'suffix', text: string, ignoreCase: boolean): LeafTest {
  const wanted = ignoreCase ? foldCase(text) : text;
  return (leaf) => {
    if (typeof leaf !== 'string') return false;
    const value = ignoreCase ? foldCase(leaf) : leaf;
    return operator === 'prefix' ? value.startsWith(wanted) : value.endsWith(wanted);
  };
}

/**
 * anything-but: a string or number, a non-empty list of only strings or only numbers, or an object
 * with one of prefix, suffix, equals-ignore-case (string or list of strings) or wildcard. A leaf of
 * another type than the excluded values passes the value forms; the object forms need a string.
 */
function compileAnythingBut(operand: unknown, at: string): LeafTest {
  if (typeof operand === 'string' || typeof operand === 'number') return compileAnythingBut([operand], at);
  if (Array.isArray(operand)) {
    if (operand.length === 0) throw new PatternFault(`${at} must not be an empty list.`);
    if (operand.every((item) => typeof item === 'string')) {
      const excluded = new Set<string>(operand);
      return (leaf) => typeof leaf !== 'string' || !excluded.has(leaf);
    }
    if (operand.every((item) => typeof item === 'number')) {
      const excluded = new Set<number>(operand.map(normalizeNumber));
      return (leaf) => typeof leaf !== 'number' || !excluded.has(normalizeNumber(leaf));
    }
    throw new PatternFault(`${at} takes a list of only strings or only numbers.`);
  }
  if (isPlainObject(operand)) {
    const entries = Object.entries(operand);
    const [entry] = entries;
    if (entry !== undefined && entries.length === 1) {
      const [inner, value] = entry;
      const innerAt = `${at} ${inner}`;
      switch (inner) {
        case 'prefix':
        case 'suffix': {
          if (typeof value !== 'string') throw new PatternFault(`${innerAt} takes a string.`);
          const test = affixTest(inner, value, false);
          return (leaf) => typeof leaf === 'string' && !test(leaf);
        }
        case 'equals-ignore-case': {
          const list = typeof value === 'string' ? [value] : value;
          if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
            throw new PatternFault(`${innerAt} takes a string or a non-empty list of strings.`);
          }
          const excluded = new Set(list.map(foldCase));
          return (leaf) => typeof leaf === 'string' && !excluded.has(foldCase(leaf));
        }
        case 'wildcard': {
          const list = typeof value === 'string' ? [value] : value;
          if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
            throw new PatternFault(`${innerAt} takes a string or a non-empty list of strings.`);
          }
          const regexes = list.map((item) => wildcardRegExp(item, innerAt));
          return (leaf) => typeof leaf === 'string' && !regexes.some((regex) => regex.test(leaf));
        }
        default:
          throw new PatternFault(`${at}: unknown operator ${JSON.stringify(inner)} (prefix, suffix, equals-ignore-case or wildcard).`);
      }
    }
  }
  throw new PatternFault(`${at} takes a string, a number, a list of them, or an object with one operator.`);
}

/** numeric: `[op, n]` with op one of = > >= < <=, or a range `[> or >=, low, < or <=, high]` with low < high. */
function compileNumeric(operand: unknown, at: string): LeafTest {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw new PatternFault(`${at} takes [operator, number] or [">" or ">=", number, "<" or "<=", number].`);
  }
  const ops: string[] = [];
  const bounds: number[] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (typeof op !== 'string' || !NUMERIC_SINGLE_OPS.has(op)) throw new PatternFault(`${at}: ${JSON.stringify(op)} is not a comparison.`);
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new PatternFault(`${at}: ${JSON.stringify(op)} must be followed by a number.`);
    }
    ops.push(op);
    bounds.push(bound);
  }
  const [op0 = '', op1 = ''] = ops;
  const [low = 0, high = 0] = bounds;
  if (ops.length === 1) {
    const test = comparison(op0, low);
    return (leaf) => typeof leaf === 'number' && test(leaf);
  }
  if (!NUMERIC_LOWER_OPS.has(op0) || !NUMERIC_UPPER_OPS.has(op1)) {
    throw new PatternFault(`${at}: a range is a lower bound (> or >=) then an upper bound (< or <=).`);
  }
  if (!(low < high)) throw new PatternFault(`${at}: the lower bound ${low} must be below the upper bound ${high}.`);
  const lower = comparison(op0, low);
  const upper = comparison(op1, high);
  return (leaf) => typeof leaf === 'number' && lower(leaf) && upper(leaf);
}

function comparison(op: string, bound: number): (value: number) => boolean {
  switch (op) {
    case '=':
      return (value) => value === bound;
    case '>':
      return (value) => value > bound;
    case '>=':
      return (value) => value >= bound;
    case '<':
      return (value) => value < bound;
    default:
      return (value) => value <= bound;
  }
}

/** cidr: an IPv4 block `a.b.c.d/n`; matches event strings that are IPv4 addresses inside it. */
function compileCidr(operand: unknown, at: string): LeafTest {
  if (typeof operand !== 'string') throw new PatternFault(`${at} takes a string such as "10.0.0.0/24".`);
  const slash = operand.indexOf('/');
  const address = parseIPv4(slash < 0 ? operand : operand.slice(0, slash));
  const bitsText = slash < 0 ? '32' : operand.slice(slash + 1);
  const bits = /^\d{1,2}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (address === undefined || !(bits >= 0 && bits <= 32)) {
    throw new PatternFault(`${at}: ${JSON.stringify(operand)} is not an IPv4 CIDR block (IPv6 is not supported here).`);
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const network = (address & mask) >>> 0;
  return (leaf) => {
    if (typeof leaf !== 'string') return false;
    const value = parseIPv4(leaf);
    return value !== undefined && (value & mask) >>> 0 === network;
  };
}

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * wildcard: `*` stands for any run of characters; `\*` is a literal star and `\\` a backslash.
 * EventBridge refuses two stars in a row and any other escape; so do we.
 */
function wildcardRegExp(pattern: string, at: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\')
        throw new PatternFault(`${at}: ${JSON.stringify(pattern)} has an invalid escape (only \\* and \\\\).`);
      source += `\\${next}`;
      i++;
    } else if (char === '*') {
      if (pattern[i + 1] === '*') throw new PatternFault(`${at}: ${JSON.stringify(pattern)} has consecutive wildcard characters.`);
      source += '[\\s\\S]*';
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'u');
}

function foldCase(text: string): string {
  return text.toLowerCase();
}

/** -0 and 0 are the same number to a pattern (JSON `0` and `-0`, `5` and `5.0`). */
function normalizeNumber(value: number): number {
  return value === 0 ? 0 : value;
}

function isPlainObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
