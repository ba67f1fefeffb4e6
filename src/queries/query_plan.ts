/*
 * A parsed query compiled once into the closures the executor runs per record and per window
 * (docs/QUERIES.md). Compiling is also where a query is refused for what it names: unknown fields
 * or functions, a column neither grouped nor aggregated, an output name used twice.
 */
import { InvalidQueryException } from '../errors.js';
import type { Expr, QueryAst, SourceFormat } from './ast.js';
import {
  compileAggregateArgument,
  compileOutputExpression,
  compileRowExpression,
  outputNames,
  timeOf,
  type OutputRow,
} from './evaluate.js';
import { RecordError, type AggregateCall, type DecodedRecord, type Value } from './plan_types.js';
import { recordDecoder } from './record_decoder.js';
import { querySettings, type QuerySettings } from './query_settings.js';

type RowFunction = (record: DecodedRecord) => Value;
type OutputFunction = (row: OutputRow) => Value;

export interface QueryPlan {
  readonly ast: QueryAst;
  readonly settings: QuerySettings;
  readonly decode: ReturnType<typeof recordDecoder>;
  readonly where: RowFunction | null;
  /** ROWTIME queries take the arrival time, which a record always has. */
  readonly rowtime: boolean;
  /** The record's time in ms, or null when its time attribute is NULL or no timestamp. */
  readonly time: (record: DecodedRecord) => number | null;
  readonly keys: readonly RowFunction[];
  readonly aggregates: readonly AggregateCall[];
  /** Each aggregate's argument; throws RecordError for a value the aggregate cannot take. */
  readonly arguments: (record: DecodedRecord) => Value[];
  readonly names: readonly string[];
  readonly select: readonly OutputFunction[];
  readonly having: OutputFunction | null;
}

const NUMERIC: ReadonlySet<string> = new Set(['SUM', 'AVG', 'APPROX_PERCENTILE']);

export function planQuery(ast: QueryAst): QueryPlan {
  const format = ast.source.format;
  const aggregates: AggregateCall[] = [];
  const scope = { groupBy: ast.groupBy, aggregates, format };
  const select = ast.select.map((item) => compileOutputExpression(item.expr, scope));
  const having = ast.having === undefined ? null : compileOutputExpression(ast.having, scope);
  const settings = querySettings(ast);
  for (const [written, what] of [
    [ast.output, 'rows'],
    [settings.lateStream, 'late records'],
    [settings.errorStream, 'unreadable records'],
  ] as const)
    if (written === ast.source.stream)
      refuseAt(ast.source.at, `the query reads ${written} and writes its ${what} there: they would be read again`);
  const rowtime = isRowtime(ast.window.time, format);
  return {
    ast,
    settings,
    decode: recordDecoder(format),
    where: ast.where === undefined ? null : compileRowExpression(ast.where, format),
    rowtime,
    time: rowtime ? (record) => record.arrivalMs : timeFunction(compileRowExpression(ast.window.time, format)),
    keys: ast.groupBy.map((key) => compileRowExpression(key, format)),
    aggregates,
    arguments: argumentsFunction(
      aggregates.map((call) => compileAggregateArgument(call, format)),
      aggregates,
    ),
    names: outputNames(ast.select),
    select,
    having,
  };
}

/** ROWTIME is the arrival time, unless the format declares a column of that name. */
function isRowtime(time: Expr, format: SourceFormat): boolean {
  const declared = format.kind === 'raw' ? [] : (format.columns ?? []);
  return (
    time.kind === 'column' &&
    time.path.length === 1 &&
    !time.quoted &&
    String(time.path[0]).toUpperCase() === 'ROWTIME' &&
    !declared.some((column) => column.name.toUpperCase() === 'ROWTIME')
  );
}

function timeFunction(compiled: RowFunction): (record: DecodedRecord) => number | null {
  return (record) => timeOf(compiled(record));
}

/** The arguments, checked before any is added, so a record is counted whole or not at all. */
function argumentsFunction(compiled: readonly RowFunction[], calls: readonly AggregateCall[]): (record: DecodedRecord) => Value[] {
  const numeric = calls.map((call) => NUMERIC.has(call.name));
  return (record) => {
    const values = compiled.map((argument) => argument(record));
    values.forEach((value, index) => {
      if (numeric[index] && value !== null && typeof value !== 'number')
        throw new RecordError(`${calls[index]!.name} takes numbers, not ${JSON.stringify(value)}`);
    });
    return values;
  };
}

function refuseAt(at: { line: number; column: number }, message: string): never {
  throw new InvalidQueryException(message, at.line, at.column);
}
