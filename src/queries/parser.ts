/*
 * The parser of continuous queries (docs/QUERIES.md): peggy's, generated from grammar.ts on first
 * use. Here are the checks the grammar leaves to typed code (BUILD, which its actions call) and
 * the mapping of peggy's syntax errors onto InvalidQueryException with a short reason.
 */
import peggy, { type Parser, type parser } from 'peggy';
import { InvalidQueryException } from '../errors.js';
import type { Expr, OptionValue, Position, QueryAst, SelectItem, WindowSpec } from './ast.js';
import { GRAMMAR } from './grammar.js';

type IntervalExpr = Extract<Expr, { kind: 'interval' }>;
type GroupItem = { readonly window: WindowSpec } | { readonly key: Expr };

interface Word {
  readonly word: string;
  readonly at: Position;
}

interface OptionEntry {
  readonly key: string;
  readonly at: Position;
  readonly value: OptionValue;
}

interface QueryParts {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly output: string;
  readonly select: readonly SelectItem[];
  readonly source: QueryAst['source'];
  readonly where: Expr | null;
  /** `at` is GROUP's, or where GROUP BY should have been. */
  readonly group: { readonly items: readonly GroupItem[]; readonly having: Expr | null; readonly at: Position };
}

/** HOP copies each record into size/slide windows: past this, one record costs too much state and time. */
const MAX_HOP_WINDOWS = 100;

const UNIT_MS = new Map([
  ['MILLISECOND', 1],
  ['SECOND', 1000],
  ['MINUTE', 60_000],
  ['HOUR', 3_600_000],
  ['DAY', 86_400_000],
]);
// FLOOR(time TO unit) as KDA has it: to the second at the finest.
const FLOOR_MS = new Map([...UNIT_MS].filter(([unit]) => unit !== 'MILLISECOND'));
const INTERVAL_UNITS = 'MILLISECOND, SECOND, MINUTE, HOUR or DAY';
const AMOUNT = /^\s*(-?)(\d*)(?:\.(\d*))?\s*([a-z]*)\s*$/i;

function refuse(message: string, at: Position): never {
  throw new InvalidQueryException(message, at.line, at.column);
}

function intervalMs(amount: string, unit: Word | null, at: Position): number {
  const written = `INTERVAL '${amount}'${unit === null ? '' : ` ${unit.word}`}`;
  const parts = AMOUNT.exec(amount);
  const [, sign = '', whole = '', fraction = '', inner = ''] = parts ?? [];
  if (parts === null || whole + fraction === '') refuse(`${written} is not an amount of time, as in INTERVAL '5' SECOND`, at);
  const unitWord = unit ?? (inner === '' ? null : { word: inner, at });
  if (unitWord === null) refuse(`${written} needs a unit: ${INTERVAL_UNITS}`, at);
  const unitMs = UNIT_MS.get(unitWord.word.toUpperCase().replace(/S$/, ''));
  if (unitMs === undefined) refuse(`unknown interval unit ${unitWord.word}: ${INTERVAL_UNITS}`, unitWord.at);
  // In exact decimal arithmetic: 1.001 SECOND is 1001 ms, which 1.001 * 1000 is not in floating point.
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole + fraction) * BigInt(unitMs);
  if (sign === '-' || scaled === 0n) refuse(`${written} is not above zero`, at);
  if (scaled % scale !== 0n) refuse(`${written} is not a whole number of milliseconds`, at);
  const ms = Number(scaled / scale);
  if (!Number.isSafeInteger(ms)) refuse(`${written} is too long`, at);
  return ms;
}

/** What the grammar's actions call (as `options.build`): where a node is checked, or assembled from the whole query. */
const BUILD = {
  refuse,

  interval(amount: string, unit: Word | null, at: Position): IntervalExpr {
    return { kind: 'interval', ms: intervalMs(amount, unit, at), at };
  },

  hop(time: Expr, slide: IntervalExpr, size: IntervalExpr, at: Position): WindowSpec {
    if (size.ms <= slide.ms) refuse("HOP's size must be above its slide: HOP(time, slide, size) takes the slide first", size.at);
    const windows = Math.ceil(size.ms / slide.ms);
    if (windows > MAX_HOP_WINDOWS) {
      refuse(`HOP puts each record in ${windows} windows (size / slide); the limit is ${MAX_HOP_WINDOWS}`, at);
    }
    return { kind: 'hop', time, slideMs: slide.ms, sizeMs: size.ms, at };
  },

  floor(time: Expr, unit: string, unitAt: Position, at: Position): WindowSpec {
    const sizeMs = FLOOR_MS.get(unit.toUpperCase());
    if (sizeMs === undefined) refuse(`unknown FLOOR unit ${unit}: SECOND, MINUTE, HOUR or DAY`, unitAt);
    return { kind: 'tumble', time, sizeMs, at };
  },

  misplacedWindow(source: string, at: Position): never {
    const name = source.slice(0, source.search(/\W/)).toUpperCase();
    refuse(`${name} is a window: it can only be an item of GROUP BY (WINDOW_START and WINDOW_END give its bounds)`, at);
  },

  star(name: string, star: Expr): Expr {
    if (name.toUpperCase() !== 'COUNT') refuse(`* is only COUNT's argument, not ${name.toUpperCase()}'s`, star.at);
    return star;
  },

  delimiter(text: string, at: Position): string {
    if ([...text].length !== 1) refuse(`DELIMITER is one character, not '${text}'`, at);
    return text;
  },

  options(entries: readonly OptionEntry[]): Record<string, OptionValue> {
    const options = new Map<string, OptionValue>();
    for (const { key, at, value } of entries) {
      if (options.has(key)) refuse(`option ${key} is given twice`, at);
      options.set(key, value);
    }
    // fromEntries defines own properties, so a key such as __proto__ is one like any other.
    return Object.fromEntries(options);
  },

  query({ name, options, output, select, source, where, group }: QueryParts): QueryAst {
    const windows = group.items.flatMap((item) => ('window' in item ? [item.window] : []));
    const [window, second] = windows;
    if (window === undefined) {
      refuse('a continuous query needs a window in GROUP BY: TUMBLE, HOP, SESSION, STEP or FLOOR', group.at);
    }
    if (second !== undefined) refuse('GROUP BY has a second window: a query has one', second.at);
    return {
      name,
      options,
      output,
      select,
      source,
      ...(where === null ? {} : { where }),
      groupBy: group.items.flatMap((item) => ('key' in item ? [item.key] : [])),
      window,
      ...(group.having === null ? {} : { having: group.having }),
    };
  },
};

let queryParser: Parser | undefined;

/** The query's syntax tree; an InvalidQueryException, with the line and column, when it has none. */
export function parseQuery(text: string): QueryAst {
  // Memoized: the grammar backtracks over a few prefixes (FLOOR(x) and FLOOR(x TO unit), SELECT
  // STREAM), which nested repeatedly would take exponential time.
  queryParser ??= peggy.generate(GRAMMAR, { cache: true });
  try {
    return queryParser.parse(text, { build: BUILD }) as QueryAst;
  } catch (error) {
    if (error instanceof queryParser.SyntaxError) throw syntaxError(text, error);
    throw error;
  }
}

const EXPRESSION = 'an expression';
const OPERATOR = 'an operator';

function syntaxError(text: string, error: parser.SyntaxError): InvalidQueryException {
  const { line, column, offset } = error.location.start;
  const reason = error.expected === null ? error.message : `expected ${expectations(error.expected)}, found ${foundAt(text, offset)}`;
  return new InvalidQueryException(reason, line, column);
}

/**
 * What was expected, shortly: where an expression may start, just that; and the operators that
 * could continue the expression before only when nothing else would do.
 */
function expectations(expected: readonly parser.Expectation[]): string {
  const names = [...new Set(expected.flatMap(describe))];
  const shown = names.includes(EXPRESSION) ? [EXPRESSION] : names.length > 1 ? names.filter((name) => name !== OPERATOR) : names;
  const last = shown.pop();
  return shown.length === 0 ? `${last}` : `${shown.join(', ')} or ${last}`;
}

function describe(expectation: parser.Expectation): string[] {
  switch (expectation.type) {
    case 'literal':
      return [`'${expectation.text}'`];
    case 'other':
      return [expectation.description];
    case 'end':
      return ['end of query'];
    default:
      // Character classes and "any character" are all inside named rules, which stand for them.
      return [];
  }
}

function foundAt(text: string, offset: number): string {
  const token = /^\s*(\w+|\S)/.exec(text.slice(offset))?.[1];
  return token === undefined ? 'end of query' : JSON.stringify(token);
}
