/*
 * A continuous query's expressions (docs/QUERIES.md), compiled into closures once, when the query
 * is created: a record is then evaluated without walking the tree. Row expressions (WHERE, GROUP
 * BY's keys, aggregates' arguments, the time attribute) read a decoded record; output expressions
 * (SELECT, HAVING) read a closed window's group: its keys, its aggregates' results and the
 * window's bounds. What the query cannot mean is refused here, with the offending node's line and
 * column; a record an expression cannot be evaluated on (a number compared with a string, a CAST
 * that fails) throws RecordError, which fails that record and not the query.
 *
 * SQL's three-valued logic throughout: NULL in, NULL out, except where the other operand decides
 * (FALSE AND NULL is FALSE, TRUE OR NULL is TRUE), IS [NOT] NULL, COALESCE and CASE.
 * A result that is not a finite number (a division by zero, SQRT(-1), an overflow) is NULL.
 * Text functions count UTF-16 code units, as the Java engines (Kinesis Data Analytics, Flink) do.
 */
import { InvalidQueryException } from '../errors.js';
import type { ColumnDeclaration, Expr, Position, ScalarType, SelectItem, SourceFormat } from './ast.js';
import { RecordError, type AggregateCall, type AggregateName, type DecodedRecord, type Value } from './plan_types.js';

/** What SELECT and HAVING are compiled against. */
export interface OutputScope {
  readonly groupBy: readonly Expr[];
  /** Appended to as aggregates are found; structurally equal calls share a slot. */
  readonly aggregates: AggregateCall[];
  readonly format: SourceFormat;
}

/** One group of a closed window: its keys (in GROUP BY's order) and aggregates' results (in OutputScope.aggregates' order). */
export interface OutputRow {
  readonly keys: readonly Value[];
  readonly aggregates: readonly Value[];
  readonly windowStart: number;
  readonly windowEnd: number;
}

type Compiled<I> = (input: I) => Value;
type ColumnExpr = Extract<Expr, { readonly kind: 'column' }>;
type CallExpr = Extract<Expr, { readonly kind: 'call' }>;

/** What a column and the scope's own nodes (group keys, aggregates, window bounds) mean where the expression is. */
interface Scope<I> {
  column(expr: ColumnExpr): Compiled<I>;
  /** undefined: the node is an ordinary operator or function. */
  own(expr: Expr): Compiled<I> | undefined;
}

export function compileRowExpression(expr: Expr, format: SourceFormat): (record: DecodedRecord) => Value {
  return compile(expr, rowScope(format, undefined));
}

export function compileOutputExpression(expr: Expr, scope: OutputScope): (row: OutputRow) => Value {
  return compile(expr, outputScope(scope));
}

/** The closure giving an aggregate's input from a record; COUNT(*) counts every record, so its input is never NULL. */
export function compileAggregateArgument(call: AggregateCall, format: SourceFormat): (record: DecodedRecord) => Value {
  if (call.star || call.arg === undefined) return everyRecord;
  return compile(call.arg, rowScope(format, call.name));
}

const everyRecord = (): Value => true;

/** The names of the output's columns, in SELECT's order. */
export function outputNames(select: readonly SelectItem[]): string[] {
  const names: string[] = [];
  select.forEach((item, index) => {
    const name = item.alias ?? defaultName(item.expr, index);
    if (names.includes(name)) refuse(`two output columns are named "${name}": give one of them an alias`, item.at);
    names.push(name);
  });
  return names;
}

function defaultName(expr: Expr, index: number): string {
  if (expr.kind !== 'column') return `EXPR$${index}`;
  const bound = expr.quoted || expr.path.length > 1 ? undefined : WINDOW_BOUNDS.get(String(expr.path[0]).toUpperCase());
  if (bound !== undefined) return bound.toLowerCase();
  return String(expr.path[expr.path.length - 1]);
}

const ALL_DIGITS = /^\d+$/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** The Gregorian calendar repeats every 400 years (146097 days): Date.UTC reads years 0-99 as 1900-1999, so years are shifted by 400. */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** A TIMESTAMP (ms since the epoch) from a number, an all-digit string or ISO 8601 text (UTC without a zone); null for anything else. */
export function timeOf(value: Value): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  if (ALL_DIGITS.test(value)) return Number(value);
  const match = ISO_TIME.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const [y, m, d, h, min, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (m < 1 || m > 12 || d < 1 || d > DAYS_IN_MONTH[m - 1]! + (leap ? 1 : 0) || h > 23 || min > 59 || s > 59) return null;
  const offset = zoneOffsetMs(zone);
  if (offset === null) return null;
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  return Date.UTC(y + 400, m - 1, d, h, min, s, ms) - FOUR_CENTURIES_MS - offset;
}

function zoneOffsetMs(zone: string): number | null {
  if (zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(-2)) * (zone.length > 3 ? 1 : 0);
  if (hours > 23 || minutes > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** The text of a number CAST and the decoders accept: decimal only (no hex, no Infinity, not ''). */
const DECIMAL = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * A non-NULL value as the type, as CAST converts it (BIGINT truncates); undefined when it is not
 * one. record_decoder.ts converts declared columns with it too.
 */
export function convertValue(value: Value, type: ScalarType): Value | undefined {
  switch (type) {
    case 'VARCHAR':
      return text(value);
    case 'BIGINT': {
      const number = numberOf(value);
      return number === undefined ? undefined : Math.trunc(number);
    }
    case 'DOUBLE':
      return numberOf(value);
    case 'BOOLEAN':
      return booleanOf(value);
    case 'TIMESTAMP':
      return timeOf(value) ?? undefined;
  }
}

/** A number from a number or decimal text; text too large for a double ('1e400') is none, as no value is Infinity. */
function numberOf(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  const number = typeof value === 'string' && DECIMAL.test(value) ? Number(value) : undefined;
  return number !== undefined && Number.isFinite(number) ? number : undefined;
}

function booleanOf(value: Value): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  if (word === 'true' || word === '1') return true;
  return word === 'false' || word === '0' ? false : undefined;
}

/** A value as VARCHAR: numbers and booleans as SQL prints them, objects and arrays as JSON. */
function text(value: Value): string {
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A value as a RecordError's message shows it: JSON, cut short. */
export function valueText(value: Value): string {
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 40)}...` : json;
}

// Columns.

const UTF8 = new TextDecoder();

const PSEUDO_COLUMNS = {
  ROWTIME: (record: DecodedRecord): Value => record.arrivalMs,
  APPROXIMATE_ARRIVAL_TIME: (record: DecodedRecord): Value => record.arrivalMs,
  PARTITION_KEY: (record: DecodedRecord): Value => record.partitionKey,
  SEQUENCE_NUMBER: (record: DecodedRecord): Value => record.sequenceNumber,
  SHARD_ID: (record: DecodedRecord): Value => record.shardId,
  // Lenient: a binary record is still text to LIKE, with U+FFFD for what is not UTF-8.
  DATA: (record: DecodedRecord): Value => UTF8.decode(record.data),
} as const;
type PseudoColumn = keyof typeof PSEUDO_COLUMNS;

const PSEUDO_NAMES = new Set(Object.keys(PSEUDO_COLUMNS));
const WINDOW_BOUNDS = new Map<string, 'WINDOW_START' | 'WINDOW_END'>([
  ['WINDOW_START', 'WINDOW_START'],
  ['WINDOW_END', 'WINDOW_END'],
]);

type Column =
  | { readonly kind: 'pseudo'; readonly name: PseudoColumn }
  | { readonly kind: 'window'; readonly name: 'WINDOW_START' | 'WINDOW_END' }
  /** Into record.fields; a declared column's name as declared. */
  | { readonly kind: 'field'; readonly path: readonly (string | number)[] };

function resolveColumn(expr: ColumnExpr, format: SourceFormat): Column {
  const [first, ...rest] = expr.path;
  const name = String(first);
  const declared = format.kind === 'raw' ? undefined : format.columns;
  const column = declared === undefined ? undefined : declaredColumn(declared, name, expr);
  if (column !== undefined) return { kind: 'field', path: [column.name, ...rest] };
  const upper = name.toUpperCase();
  const special = expr.quoted ? undefined : (WINDOW_BOUNDS.get(upper) ?? (PSEUDO_NAMES.has(upper) ? (upper as PseudoColumn) : undefined));
  if (special !== undefined) {
    if (rest.length > 0) refuse(`${special} has no fields`, expr.at);
    return special === 'WINDOW_START' || special === 'WINDOW_END' ? { kind: 'window', name: special } : { kind: 'pseudo', name: special };
  }
  if (format.kind === 'raw') refuse(`unknown field "${name}": FORMAT RAW has only ${Object.keys(PSEUDO_COLUMNS).join(', ')}`, expr.at);
  if (declared !== undefined) refuse(`unknown field "${name}": the format declares ${declared.map((c) => c.name).join(', ')}`, expr.at);
  return { kind: 'field', path: expr.path };
}

/** The declared column a name means: the exact name, else (unquoted) the one that differs in case only. */
function declaredColumn(columns: readonly ColumnDeclaration[], name: string, expr: ColumnExpr): ColumnDeclaration | undefined {
  const exact = columns.find((column) => column.name === name);
  if (exact !== undefined || expr.quoted) return exact;
  const folded = name.toLowerCase();
  const matches = columns.filter((column) => column.name.toLowerCase() === folded);
  if (matches.length > 1) refuse(`"${name}" could be any of ${matches.map((c) => c.name).join(', ')}: quote the one meant`, expr.at);
  return matches[0];
}

function fieldReader(path: readonly (string | number)[]): Compiled<DecodedRecord> {
  const [first, second] = path;
  if (path.length === 1) return (record) => step(record.fields, first!);
  if (path.length === 2) return (record) => step(step(record.fields, first!), second!);
  return (record) => {
    let value = record.fields;
    for (const key of path) value = step(value, key);
    return value;
  };
}

/** One step along a field's path: NULL when missing or when the value has no such member (only own members: no `constructor`). */
function step(value: Value, key: string | number): Value {
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) return typeof key === 'number' ? ((value as readonly Value[])[key] ?? null) : null;
  if (typeof key === 'number' || !Object.hasOwn(value, key)) return null;
  return (value as { readonly [key: string]: Value })[key] ?? null;
}

function columnText(expr: ColumnExpr): string {
  return expr.path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`)).join('');
}

// Scopes.

const AGGREGATES = new Map<string, AggregateName>([
  ['COUNT', 'COUNT'],
  ['SUM', 'SUM'],
  ['AVG', 'AVG'],
  ['MIN', 'MIN'],
  ['MAX', 'MAX'],
  ['APPROX_COUNT_DISTINCT', 'COUNT_DISTINCT'],
  ['APPROX_PERCENTILE', 'APPROX_PERCENTILE'],
  ['TOP_K', 'TOP_K'],
]);

/** The window functions of the GROUP BY forms, whose arguments repeat the window's: they read its bounds. */
const WINDOW_FUNCTIONS = new Map<string, 'WINDOW_START' | 'WINDOW_END'>(
  ['TUMBLE', 'HOP', 'SESSION'].flatMap((window) => [
    [`${window}_START`, 'WINDOW_START'],
    [`${window}_END`, 'WINDOW_END'],
  ]),
);

/** `insideAggregate`: the aggregate whose argument this is, so that a nested one is refused as such. */
function rowScope(format: SourceFormat, insideAggregate: string | undefined): Scope<DecodedRecord> {
  return {
    column(expr) {
      const column = resolveColumn(expr, format);
      if (column.kind === 'window') refuse(`${column.name} is the window's bound: it is allowed only in SELECT and HAVING`, expr.at);
      return column.kind === 'pseudo' ? PSEUDO_COLUMNS[column.name] : fieldReader(column.path);
    },
    own(expr) {
      if (expr.kind !== 'call') return undefined;
      if (AGGREGATES.has(expr.name)) {
        refuse(
          insideAggregate === undefined
            ? `${expr.name} is an aggregate: it can appear in SELECT and HAVING only`
            : `${expr.name} inside ${insideAggregate}: aggregates do not nest`,
          expr.at,
        );
      }
      if (WINDOW_FUNCTIONS.has(expr.name)) refuse(`${expr.name} is the window's bound: it is allowed only in SELECT and HAVING`, expr.at);
      return undefined;
    },
  };
}

const windowStart = (row: OutputRow): Value => row.windowStart;
const windowEnd = (row: OutputRow): Value => row.windowEnd;

function outputScope(scope: OutputScope): Scope<OutputRow> {
  return {
    column(expr) {
      const column = resolveColumn(expr, scope.format);
      if (column.kind !== 'window') refuse(`"${columnText(expr)}" must appear in GROUP BY or inside an aggregate`, expr.at);
      return column.name === 'WINDOW_START' ? windowStart : windowEnd;
    },
    own(expr) {
      const key = scope.groupBy.findIndex((groupKey) => sameTree(groupKey, expr, scope.format));
      if (key >= 0) return (row) => row.keys[key] ?? null;
      if (expr.kind !== 'call') return undefined;
      if (AGGREGATES.has(expr.name)) {
        const slot = aggregateSlot(aggregateCall(expr, scope.format), scope);
        return (row) => row.aggregates[slot] ?? null;
      }
      const bound = WINDOW_FUNCTIONS.get(expr.name);
      if (bound === undefined) return undefined;
      return bound === 'WINDOW_START' ? windowStart : windowEnd;
    },
  };
}

function aggregateCall(expr: CallExpr, format: SourceFormat): AggregateCall {
  const base = AGGREGATES.get(expr.name)!;
  if (expr.distinct && base !== 'COUNT') refuse(`DISTINCT is only for COUNT`, expr.at);
  const arity = base === 'APPROX_PERCENTILE' || base === 'TOP_K' ? 2 : 1;
  if (expr.args.length !== arity) refuse(`${expr.name} takes ${arguments_(arity, arity)}`, expr.at);
  const [arg, param] = expr.args as readonly [Expr, Expr?];
  if (arg.kind === 'star' && base === 'COUNT' && !expr.distinct) return { name: 'COUNT', star: true, at: expr.at };
  // Compiled here to refuse what the argument cannot mean; the closure is compileAggregateArgument's.
  compile(arg, rowScope(format, expr.name));
  const name = expr.distinct ? 'COUNT_DISTINCT' : base;
  if (param === undefined) return { name, star: false, arg, at: expr.at };
  return { name, star: false, arg, param: aggregateParameter(base, param), at: expr.at };
}

function aggregateParameter(name: AggregateName, param: Expr): number {
  const value = param.kind === 'literal' ? param.value : undefined;
  if (name === 'APPROX_PERCENTILE') {
    if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
      refuse(`APPROX_PERCENTILE's fraction must be a number literal above 0 and at most 1`, param.at);
    }
    return value;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1000) {
    refuse(`TOP_K's k must be an integer literal from 1 to 1000`, param.at);
  }
  return value;
}

function aggregateSlot(call: AggregateCall, scope: OutputScope): number {
  const slot = scope.aggregates.findIndex(
    (other) =>
      other.name === call.name && other.star === call.star && other.param === call.param && sameTree(other.arg, call.arg, scope.format),
  );
  if (slot >= 0) return slot;
  scope.aggregates.push(call);
  return scope.aggregates.length - 1;
}

/** Structural equality ignoring positions; columns are equal when they mean the same column (`rowtime` is `ROWTIME`). */
function sameTree(a: unknown, b: unknown, format: SourceFormat): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a))
    return a.length === (b as unknown[]).length && a.every((item, index) => sameTree(item, (b as unknown[])[index], format));
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  if (x['kind'] === 'column' && y['kind'] === 'column') return columnKey(x as ColumnExpr, format) === columnKey(y as ColumnExpr, format);
  const keys = Object.keys(x).filter((key) => key !== 'at' && x[key] !== undefined);
  const otherKeys = Object.keys(y).filter((key) => key !== 'at' && y[key] !== undefined);
  return keys.length === otherKeys.length && keys.every((key) => sameTree(x[key], y[key], format));
}

function columnKey(expr: ColumnExpr, format: SourceFormat): string {
  const column = resolveColumn(expr, format);
  return column.kind === 'field' ? JSON.stringify(column.path) : column.name;
}

// Operators.

function compile<I>(expr: Expr, scope: Scope<I>): Compiled<I> {
  const own = scope.own(expr);
  if (own !== undefined) return own;
  const sub = (child: Expr): Compiled<I> => compile(child, scope);
  switch (expr.kind) {
    case 'literal': {
      const value = expr.value;
      return () => value;
    }
    case 'interval': {
      const ms = expr.ms;
      return () => ms;
    }
    case 'column':
      return scope.column(expr);
    case 'star':
      return refuse('* can only be the argument of COUNT', expr.at);
    case 'unary':
      return expr.op === '-' ? negative(sub(expr.operand)) : not(sub(expr.operand));
    case 'binary': {
      const compiled = binary(expr, sub);
      return expr.negated ? not(compiled) : compiled;
    }
    case 'isNull': {
      const operand = sub(expr.operand);
      return expr.negated ? (input) => operand(input) !== null : (input) => operand(input) === null;
    }
    case 'in': {
      const compiled = inList(sub(expr.operand), expr.list, sub);
      return expr.negated ? not(compiled) : compiled;
    }
    case 'between': {
      const compiled = between(sub(expr.operand), sub(expr.low), sub(expr.high));
      return expr.negated ? not(compiled) : compiled;
    }
    case 'case':
      return caseOf(expr, sub);
    case 'cast':
      return cast(sub(expr.operand), expr.type);
    case 'call':
      return call(expr, sub);
  }
}

type Comparison = '=' | '<>' | '<' | '<=' | '>' | '>=';
type Arithmetic = '+' | '-' | '*' | '/' | '%';

const COMPARISONS: Record<Comparison, (order: number) => boolean> = {
  '=': (order) => order === 0,
  '<>': (order) => order !== 0,
  '<': (order) => order < 0,
  '<=': (order) => order <= 0,
  '>': (order) => order > 0,
  '>=': (order) => order >= 0,
};

const ARITHMETIC: Record<Arithmetic, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
};

function binary<I>(expr: Extract<Expr, { readonly kind: 'binary' }>, sub: (child: Expr) => Compiled<I>): Compiled<I> {
  const left = sub(expr.left);
  switch (expr.op) {
    case 'AND':
      return connective(left, sub(expr.right), false, 'AND');
    case 'OR':
      return connective(left, sub(expr.right), true, 'OR');
    case 'LIKE':
      return like(left, expr.right, sub);
    case '||':
      return concat([left, sub(expr.right)]);
    case '=':
    case '<>':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(left, sub(expr.right), COMPARISONS[expr.op]);
    default:
      return arithmetic(left, sub(expr.right), expr.op, ARITHMETIC[expr.op]);
  }
}

function comparison<I>(left: Compiled<I>, right: Compiled<I>, holds: (order: number) => boolean): Compiled<I> {
  return (input) => {
    const a = left(input);
    if (a === null) return null;
    const b = right(input);
    return b === null ? null : holds(compare(a, b));
  };
}

/** The order of two non-NULL values of one type: numbers, strings (by code unit) or booleans (FALSE first). */
function compare(a: Value, b: Value): number {
  if (typeof a !== typeof b || typeof a === 'object') throw new RecordError(`cannot compare ${describe(a)} with ${describe(b)}`);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function arithmetic<I>(left: Compiled<I>, right: Compiled<I>, operator: string, apply: (a: number, b: number) => number): Compiled<I> {
  return (input) => {
    const a = left(input);
    if (a === null) return null;
    const b = right(input);
    return b === null ? null : finite(apply(number(a, operator), number(b, operator)));
  };
}

function negative<I>(operand: Compiled<I>): Compiled<I> {
  return (input) => {
    const value = operand(input);
    return value === null ? null : -number(value, '-');
  };
}

function not<I>(operand: Compiled<I>): Compiled<I> {
  return (input) => {
    const value = truth(operand(input), 'NOT');
    return value === null ? null : !value;
  };
}

/** AND (decisive false) and OR (decisive true), in SQL's three-valued logic: either side's decisive value decides. */
function connective<I>(left: Compiled<I>, right: Compiled<I>, decisive: boolean, name: string): Compiled<I> {
  return (input) => {
    const a = truth(left(input), name);
    if (a === decisive) return decisive;
    const b = truth(right(input), name);
    if (b === decisive) return decisive;
    return a === null || b === null ? null : !decisive;
  };
}

function like<I>(subject: Compiled<I>, pattern: Expr, sub: (child: Expr) => Compiled<I>): Compiled<I> {
  if (pattern.kind === 'literal' && pattern.value !== null) {
    if (typeof pattern.value !== 'string') refuse('LIKE needs a string pattern', pattern.at);
    const regexp = likeRegExp(pattern.value);
    return (input) => {
      const value = subject(input);
      return value === null ? null : regexp.test(string(value, 'LIKE'));
    };
  }
  const patterns = sub(pattern);
  // A pattern from the record is usually the same from one record to the next: the last one is kept compiled.
  let lastPattern = '';
  let lastRegExp = likeRegExp(lastPattern);
  return (input) => {
    const value = subject(input);
    if (value === null) return null;
    const source = patterns(input);
    if (source === null) return null;
    if (source !== lastPattern) {
      lastPattern = string(source, 'LIKE');
      lastRegExp = likeRegExp(lastPattern);
    }
    return lastRegExp.test(string(value, 'LIKE'));
  };
}

function likeRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.*+?^${}()|[\]\\/%_]/g, (char) => (char === '%' ? '.*' : char === '_' ? '.' : `\\${char}`));
  return new RegExp(`^${source}$`, 's');
}

function inList<I>(operand: Compiled<I>, list: readonly Expr[], sub: (child: Expr) => Compiled<I>): Compiled<I> {
  const literals = literalSet(list);
  if (literals !== undefined) {
    const { values, sample } = literals;
    return (input) => {
      const value = operand(input);
      if (value === null) return null;
      // compare throws for a value of another type than the list's: a number is not compared with a string.
      return typeof value === typeof sample ? values.has(value) : compare(value, sample) === 0;
    };
  }
  const items = list.map(sub);
  return (input) => {
    const value = operand(input);
    if (value === null) return null;
    let unknown = false;
    for (const item of items) {
      const candidate = item(input);
      if (candidate === null) unknown = true;
      else if (compare(value, candidate) === 0) return true;
    }
    return unknown ? null : false;
  };
}

/** The list's values when it is all non-NULL literals of one type: then IN is a set lookup. */
function literalSet(list: readonly Expr[]): { values: ReadonlySet<Value>; sample: Value } | undefined {
  const values = list.map((item) => (item.kind === 'literal' ? item.value : null));
  const [sample] = values;
  if (sample === null || sample === undefined || values.some((value) => value === null || typeof value !== typeof sample)) return undefined;
  return { values: new Set(values), sample };
}

function between<I>(operand: Compiled<I>, low: Compiled<I>, high: Compiled<I>): Compiled<I> {
  return (input) => {
    const value = operand(input);
    if (value === null) return null;
    const lowest = low(input);
    const highest = high(input);
    const aboveLow = lowest === null ? null : compare(value, lowest) >= 0;
    const belowHigh = highest === null ? null : compare(value, highest) <= 0;
    if (aboveLow === false || belowHigh === false) return false;
    return aboveLow === null || belowHigh === null ? null : true;
  };
}

const alwaysNull = (): Value => null;

function caseOf<I>(expr: Extract<Expr, { readonly kind: 'case' }>, sub: (child: Expr) => Compiled<I>): Compiled<I> {
  const branches = expr.whens.map(({ when, then }) => ({ when: sub(when), then: sub(then) }));
  const otherwise = expr.else === undefined ? alwaysNull : sub(expr.else);
  if (expr.operand === undefined) {
    return (input) => {
      for (const branch of branches) if (branch.when(input) === true) return branch.then(input);
      return otherwise(input);
    };
  }
  const operand = sub(expr.operand);
  return (input) => {
    const value = operand(input);
    if (value !== null) {
      for (const branch of branches) {
        const candidate = branch.when(input);
        if (candidate !== null && compare(value, candidate) === 0) return branch.then(input);
      }
    }
    return otherwise(input);
  };
}

function cast<I>(operand: Compiled<I>, type: ScalarType): Compiled<I> {
  return (input) => {
    const value = operand(input);
    if (value === null) return null;
    const converted = convertValue(value, type);
    if (converted === undefined) throw new RecordError(`CAST: ${valueText(value)} is not a ${type}`);
    return converted;
  };
}

// Functions.

interface ScalarFunction {
  readonly arity: readonly [min: number, max: number];
  build<I>(args: readonly Compiled<I>[], name: string): Compiled<I>;
}

function call<I>(expr: CallExpr, sub: (child: Expr) => Compiled<I>): Compiled<I> {
  const fn = FUNCTIONS.get(expr.name);
  if (fn === undefined) refuse(`unknown function ${expr.name}`, expr.at);
  if (expr.distinct) refuse(`DISTINCT is only for COUNT`, expr.at);
  const [min, max] = fn.arity;
  if (expr.args.length < min || expr.args.length > max) refuse(`${expr.name} takes ${arguments_(min, max)}`, expr.at);
  return fn.build(expr.args.map(sub), expr.name);
}

function arguments_(min: number, max: number): string {
  const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
  return `${count} argument${(max === Infinity ? min : max) === 1 ? '' : 's'}`;
}

function onText(apply: (text: string) => Value): ScalarFunction {
  return {
    arity: [1, 1],
    build: (args, name) => {
      const [operand] = args;
      return (input) => {
        const value = operand!(input);
        return value === null ? null : apply(string(value, name));
      };
    },
  };
}

function onNumber(apply: (x: number) => number): ScalarFunction {
  return {
    arity: [1, 1],
    build: (args, name) => {
      const [operand] = args;
      return (input) => {
        const value = operand!(input);
        return value === null ? null : finite(apply(number(value, name)));
      };
    },
  };
}

/** `min` 1: the second argument may be left out, and is then 0 (ROUND's digits). */
function onNumbers(apply: (x: number, y: number) => number, min: 1 | 2 = 2): ScalarFunction {
  return {
    arity: [min, 2],
    build: (args, name) => {
      const [first, second] = args;
      return (input) => {
        const x = first!(input);
        if (x === null) return null;
        const y = second === undefined ? 0 : second(input);
        return y === null ? null : finite(apply(number(x, name), number(y, name)));
      };
    },
  };
}

/** GREATEST and LEAST: NULL when any argument is. */
function extreme(sign: 1 | -1): ScalarFunction {
  return {
    arity: [1, Infinity],
    build: (args) => (input) => {
      let best: Value = null;
      for (const arg of args) {
        const value = arg(input);
        if (value === null) return null;
        if (best === null || compare(value, best) * sign > 0) best = value;
      }
      return best;
    },
  };
}

function concat<I>(parts: readonly Compiled<I>[]): Compiled<I> {
  return (input) => {
    let joined = '';
    for (const part of parts) {
      const value = part(input);
      if (value === null) return null;
      joined += text(value);
    }
    return joined;
  };
}

const CEIL = onNumber(Math.ceil);

const FUNCTIONS = new Map<string, ScalarFunction>([
  ['LOWER', onText((s) => s.toLowerCase())],
  ['UPPER', onText((s) => s.toUpperCase())],
  ['TRIM', onText((s) => s.trim())],
  ['LENGTH', onText((s) => s.length)],
  ['CHAR_LENGTH', onText((s) => s.length)],
  [
    'SUBSTRING',
    {
      arity: [2, 3],
      build: (args, name) => {
        const [subject, start, length] = args;
        return (input) => {
          const value = subject!(input);
          const from = start!(input);
          const count = length === undefined ? undefined : length(input);
          if (value === null || from === null || count === null) return null;
          return substring(string(value, name), number(from, name), count === undefined ? undefined : number(count, name));
        };
      },
    },
  ],
  ['CONCAT', { arity: [1, Infinity], build: concat }],
  [
    'COALESCE',
    {
      arity: [1, Infinity],
      build: (args) => (input) => {
        for (const arg of args) {
          const value = arg(input);
          if (value !== null) return value;
        }
        return null;
      },
    },
  ],
  [
    'NULLIF',
    {
      arity: [2, 2],
      build: (args) => {
        const [first, second] = args;
        return (input) => {
          const value = first!(input);
          if (value === null) return null;
          const other = second!(input);
          return other !== null && compare(value, other) === 0 ? null : value;
        };
      },
    },
  ],
  ['ABS', onNumber(Math.abs)],
  ['FLOOR', onNumber(Math.floor)],
  ['CEIL', CEIL],
  ['CEILING', CEIL],
  ['ROUND', onNumbers(round, 1)],
  ['MOD', onNumbers((x, y) => x % y)],
  ['POWER', onNumbers(Math.pow)],
  ['SQRT', onNumber(Math.sqrt)],
  ['LN', onNumber(Math.log)],
  ['LOG10', onNumber(Math.log10)],
  ['EXP', onNumber(Math.exp)],
  ['GREATEST', extreme(1)],
  ['LEAST', extreme(-1)],
]);

/** SQL's SUBSTRING: 1-based; characters before position 1 count against the length but give nothing. */
function substring(value: string, start: number, length: number | undefined): string {
  if (length !== undefined && length < 0) throw new RecordError(`SUBSTRING: the length ${length} is negative`);
  const first = Math.trunc(start);
  const from = Math.max(first, 1);
  const to = length === undefined ? value.length + 1 : first + Math.trunc(length);
  return to <= from ? '' : value.slice(from - 1, to - 1);
}

/** Halves away from zero, as SQL rounds; negative digits round to tens, hundreds... */
function round(x: number, digits: number): number {
  const places = Math.max(-308, Math.min(308, Math.trunc(digits)));
  const scale = 10 ** Math.abs(places);
  const magnitude = Math.abs(x);
  const scaled = places >= 0 ? magnitude * scale : magnitude / scale;
  // So far right, a double has no digits left to round.
  if (!Number.isFinite(scaled)) return x;
  const rounded = Math.round(scaled);
  return Math.sign(x) * (places >= 0 ? rounded / scale : rounded * scale);
}

// Values.

function number(value: Value, operator: string): number {
  if (typeof value !== 'number') throw new RecordError(`${operator} needs numbers, not ${describe(value)}`);
  return value;
}

function string(value: Value, operator: string): string {
  if (typeof value !== 'string') throw new RecordError(`${operator} needs strings, not ${describe(value)}`);
  return value;
}

function truth(value: Value, operator: string): boolean | null {
  if (value === null || typeof value === 'boolean') return value;
  throw new RecordError(`${operator} needs booleans, not ${describe(value)}`);
}

function finite(value: number): Value {
  return Number.isFinite(value) ? value : null;
}

function describe(value: Value): string {
  if (typeof value !== 'object') return `a ${typeof value}`;
  return value === null ? 'NULL' : Array.isArray(value) ? 'an array' : 'an object';
}

function refuse(message: string, at: Position): never {
  throw new InvalidQueryException(message, at.line, at.column);
}
