import { describe, expect, it } from 'vitest';
import { InvalidQueryException } from '../../src/errors.js';
import type { BinaryOperator, ColumnDeclaration, Expr, Position, ScalarType, SelectItem, SourceFormat } from '../../src/queries/ast.js';
import {
  compileAggregateArgument,
  compileOutputExpression,
  compileRowExpression,
  outputNames,
  timeOf,
  type OutputRow,
  type OutputScope,
} from '../../src/queries/evaluate.js';
import { RecordError, type AggregateCall, type DecodedRecord, type Value } from '../../src/queries/plan_types.js';

// Goal: expressions mean what SQL means (every operator and function, three-valued logic, NULL in
// NULL out), columns resolve against the query's format, and what a query cannot mean is refused
// at compile time with the offending node's line and column, while what one record cannot be
// evaluated on is a RecordError.
// Method: AST nodes built by hand (the parser is elsewhere), compiled and run on small records;
// refusals are given distinct positions so the reported one is the node's.

const at: Position = { offset: 0, line: 1, column: 1 };
const pos = (line: number, column: number): Position => ({ offset: 0, line, column });

const lit = (value: string | number | boolean | null, where = at): Expr => ({ kind: 'literal', value, at: where });
const col = (...path: (string | number)[]): Expr => ({ kind: 'column', path, quoted: false, at });
const colAt = (where: Position, ...path: (string | number)[]): Expr => ({ kind: 'column', path, quoted: false, at: where });
const quoted = (...path: (string | number)[]): Expr => ({ kind: 'column', path, quoted: true, at });
const bin = (op: BinaryOperator, left: Expr, right: Expr, negated = false): Expr => ({ kind: 'binary', op, left, right, negated, at });
const not = (operand: Expr): Expr => ({ kind: 'unary', op: 'NOT', operand, at });
const neg = (operand: Expr): Expr => ({ kind: 'unary', op: '-', operand, at });
const fn = (name: string, ...args: Expr[]): Expr => ({ kind: 'call', name, args, distinct: false, at });
const fnAt = (where: Position, name: string, ...args: Expr[]): Expr => ({ kind: 'call', name, args, distinct: false, at: where });
const distinct = (name: string, ...args: Expr[]): Expr => ({ kind: 'call', name, args, distinct: true, at });
const star: Expr = { kind: 'star', at };
const cast = (operand: Expr, type: ScalarType): Expr => ({ kind: 'cast', operand, type, at });

const JSON_ANY: SourceFormat = { kind: 'json' };
const decl = (name: string, type: ScalarType = 'VARCHAR'): ColumnDeclaration => ({ name, type, at });
const CSV: SourceFormat = { kind: 'csv', delimiter: ',', columns: [decl('a'), decl('Bee'), decl('ROWTIME', 'BIGINT')] };

function record(fields: Value = {}, data = 'hello'): DecodedRecord {
  return {
    fields,
    data: new TextEncoder().encode(data),
    partitionKey: 'pk-1',
    sequenceNumber: '4950',
    subSequenceNumber: 0,
    shardId: 'shardId-000000000001',
    arrivalMs: 1_700_000_000_000,
  };
}

function row(expr: Expr, fields: Value = {}, format: SourceFormat = JSON_ANY): Value {
  return compileRowExpression(expr, format)(record(fields));
}

/** The refusal compiling `run` throws, as message and position. */
function refusal(run: () => unknown): { message: string; line: number; column: number } {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InvalidQueryException)) throw error;
    return { message: error.message.replace(/^line \d+, column \d+: /, ''), line: error.line!, column: error.column! };
  }
  throw new Error('expected an InvalidQueryException');
}

const T = lit(true);
const F = lit(false);
const N = lit(null);

describe('operators', () => {
  it('computes arithmetic on numbers; NULL propagates; what is not a finite number is NULL', () => {
    expect(row(bin('+', lit(2), lit(3)))).toBe(5);
    expect(row(bin('-', lit(2), lit(3)))).toBe(-1);
    expect(row(bin('*', lit(2), lit(3)))).toBe(6);
    expect(row(bin('/', lit(7), lit(2)))).toBe(3.5);
    expect(row(bin('%', lit(7), lit(3)))).toBe(1);
    expect(row(bin('%', lit(-7), lit(3)))).toBe(-1);
    expect(row(bin('/', lit(1), lit(0)))).toBeNull();
    expect(row(bin('%', lit(1), lit(0)))).toBeNull();
    expect(row(bin('*', lit(1e308), lit(10)))).toBeNull();
    expect(row(bin('+', lit(1), N))).toBeNull();
    expect(row(bin('+', N, lit('x')))).toBeNull();
    expect(row(neg(lit(4)))).toBe(-4);
    expect(row(neg(N))).toBeNull();
    expect(row(bin('-', col('ROWTIME'), { kind: 'interval', ms: 60_000, at }))).toBe(1_700_000_000_000 - 60_000);
  });

  it('throws RecordError for arithmetic on what is not a number', () => {
    expect(() => row(bin('+', lit(1), lit('2')))).toThrow(new RecordError('+ needs numbers, not a string'));
    expect(() => row(neg(lit(true)))).toThrow(RecordError);
  });

  it('concatenates with ||, numbers and booleans as text, objects as JSON', () => {
    expect(row(bin('||', lit('a'), lit(1.5)))).toBe('a1.5');
    expect(row(bin('||', lit(true), col('o')), { o: { x: [1] } })).toBe('true{"x":[1]}');
    expect(row(bin('||', lit('a'), N))).toBeNull();
  });

  it('compares numbers, strings and booleans; NULL gives NULL', () => {
    const cases: [BinaryOperator, Value, Value, Value][] = [
      ['=', 1, 1, true],
      ['=', 'a', 'b', false],
      ['<>', 1, 2, true],
      ['<>', 'a', 'a', false],
      ['<', 1, 2, true],
      ['<', 'b', 'a', false],
      ['<=', 2, 2, true],
      ['>', 'b', 'a', true],
      ['>', 1, 1, false],
      ['>=', 1, 2, false],
      ['<', false, true, true],
      ['=', true, true, true],
      ['=', null, 1, null],
      ['<', 1, null, null],
    ];
    for (const [op, a, b, expected] of cases) expect(row(bin(op, col('a'), col('b')), { a, b }), `${a} ${op} ${b}`).toBe(expected);
  });

  it('throws RecordError comparing values of different types, or objects', () => {
    expect(() => row(bin('=', lit(1), lit('1')))).toThrow(new RecordError('cannot compare a number with a string'));
    expect(() => row(bin('=', col('o'), col('o')), { o: {} })).toThrow(new RecordError('cannot compare an object with an object'));
    expect(() => row(bin('<', col('o'), lit(1)), { o: [1] })).toThrow(RecordError);
  });

  it('AND, OR and NOT follow three-valued logic', () => {
    const values = [T, F, N];
    const and: Value[][] = [
      [true, false, null],
      [false, false, false],
      [null, false, null],
    ];
    const or: Value[][] = [
      [true, true, true],
      [true, false, null],
      [true, null, null],
    ];
    values.forEach((a, i) =>
      values.forEach((b, j) => {
        expect(row(bin('AND', a, b)), `${i} AND ${j}`).toBe(and[i]![j]);
        expect(row(bin('OR', a, b)), `${i} OR ${j}`).toBe(or[i]![j]);
      }),
    );
    expect(row(not(T))).toBe(false);
    expect(row(not(F))).toBe(true);
    expect(row(not(N))).toBeNull();
  });

  it('throws RecordError for AND, OR or NOT on what is not a boolean', () => {
    expect(() => row(bin('AND', T, lit(1)))).toThrow(new RecordError('AND needs booleans, not a number'));
    expect(() => row(bin('OR', lit('x'), F))).toThrow(RecordError);
    expect(() => row(not(lit(0)))).toThrow(RecordError);
  });

  it('LIKE matches % and _, takes every other character literally, and NOT LIKE negates', () => {
    const like = (subject: Value, pattern: string, negated = false): Value =>
      row(bin('LIKE', col('s'), lit(pattern), negated), { s: subject });
    expect(like('hello', 'h%o')).toBe(true);
    expect(like('hello', 'h_llo')).toBe(true);
    expect(like('hello', 'h_lo')).toBe(false);
    expect(like('hello', '%')).toBe(true);
    expect(like('', '%')).toBe(true);
    expect(like('a.c', 'a.c')).toBe(true);
    expect(like('abc', 'a.c')).toBe(false);
    expect(like('a*+?(x)[y]{2}$^|\\/', 'a*+?(x)[y]{2}$^|\\/')).toBe(true);
    expect(like('line1\nline2', 'line1%2')).toBe(true);
    expect(like('Hello', 'hello')).toBe(false);
    expect(like('hello', 'h%', true)).toBe(false);
    expect(like(null, 'h%')).toBeNull();
    expect(row(bin('LIKE', lit('a'), N))).toBeNull();
    expect(() => like(5, '5')).toThrow(new RecordError('LIKE needs strings, not a number'));
  });

  it('LIKE takes its pattern from the record too', () => {
    const compiled = compileRowExpression(bin('LIKE', col('s'), col('p')), JSON_ANY);
    expect(compiled(record({ s: 'abc', p: 'a%' }))).toBe(true);
    expect(compiled(record({ s: 'abc', p: 'a%' }))).toBe(true);
    expect(compiled(record({ s: 'abc', p: 'b%' }))).toBe(false);
    expect(compiled(record({ s: 'abc', p: null }))).toBeNull();
    expect(() => compiled(record({ s: 'abc', p: 1 }))).toThrow(RecordError);
  });

  it('refuses a LIKE pattern literal that is not a string, at its position', () => {
    expect(refusal(() => row(bin('LIKE', col('s'), lit(5, pos(2, 9)))))).toEqual({
      message: 'LIKE needs a string pattern',
      line: 2,
      column: 9,
    });
  });

  it('IN is true for a member, NULL for no member but a NULL, false otherwise', () => {
    const inList = (operand: Expr, list: Expr[], negated = false): Value => row({ kind: 'in', operand, list, negated, at });
    // Literal lists (a set lookup) and lists with expressions (compared one by one).
    expect(inList(lit(2), [lit(1), lit(2)])).toBe(true);
    expect(inList(lit('c'), [lit('a'), lit('b')])).toBe(false);
    expect(inList(lit(2), [lit(1), bin('+', lit(1), lit(1))])).toBe(true);
    expect(inList(lit(3), [lit(1), N])).toBeNull();
    expect(inList(lit(1), [lit(1), N])).toBe(true);
    expect(inList(N, [lit(1)])).toBeNull();
    expect(inList(lit(3), [lit(1), lit(2)], true)).toBe(true);
    expect(inList(lit(3), [lit(1), N], true)).toBeNull();
    expect(() => inList(lit('1'), [lit(1), lit(2)])).toThrow(new RecordError('cannot compare a string with a number'));
    expect(() => inList(lit('1'), [lit(1), col('x')])).toThrow(RecordError);
  });

  it('BETWEEN includes its bounds; NULL bounds give NULL unless the other bound decides', () => {
    const between = (operand: Value, low: Value, high: Value, negated = false): Value =>
      row({ kind: 'between', operand: lit(operand as number), low: lit(low as number), high: lit(high as number), negated, at });
    expect(between(1, 1, 3)).toBe(true);
    expect(between(3, 1, 3)).toBe(true);
    expect(between(4, 1, 3)).toBe(false);
    expect(between('b', 'a', 'c')).toBe(true);
    expect(between(4, 1, 3, true)).toBe(true);
    expect(between(null, 1, 3)).toBeNull();
    expect(between(2, null, 3)).toBeNull();
    expect(between(5, null, 3)).toBe(false);
    expect(between(0, 1, null)).toBe(false);
  });

  it('IS NULL and IS NOT NULL', () => {
    expect(row({ kind: 'isNull', operand: col('missing'), negated: false, at })).toBe(true);
    expect(row({ kind: 'isNull', operand: lit(0), negated: false, at })).toBe(false);
    expect(row({ kind: 'isNull', operand: lit(0), negated: true, at })).toBe(true);
  });

  it('CASE in both forms, the first branch that holds, ELSE or NULL', () => {
    const searched = (x: number, withElse: boolean): Value =>
      row(
        {
          kind: 'case',
          whens: [
            { when: bin('<', col('x'), lit(0)), then: lit('negative') },
            { when: bin('<', col('x'), lit(10)), then: lit('small') },
            { when: N, then: lit('never') },
          ],
          ...(withElse ? { else: lit('large') } : {}),
          at,
        },
        { x },
      );
    expect(searched(-1, true)).toBe('negative');
    expect(searched(5, true)).toBe('small');
    expect(searched(50, true)).toBe('large');
    expect(searched(50, false)).toBeNull();
    const simple = (x: Value): Value =>
      row(
        {
          kind: 'case',
          operand: col('x'),
          whens: [
            { when: N, then: lit('null') },
            { when: lit(1), then: lit('one') },
          ],
          else: lit('other'),
          at,
        },
        { x },
      );
    expect(simple(1)).toBe('one');
    expect(simple(2)).toBe('other');
    expect(simple(null)).toBe('other');
    expect(() => simple('1')).toThrow(RecordError);
  });
});

describe('CAST', () => {
  const cases: [Value, ScalarType, Value][] = [
    [12, 'VARCHAR', '12'],
    [true, 'VARCHAR', 'true'],
    [{ a: [1, 'x'] }, 'VARCHAR', '{"a":[1,"x"]}'],
    [2.9, 'BIGINT', 2],
    [-2.9, 'BIGINT', -2],
    [' 42 ', 'BIGINT', 42],
    ['1e3', 'BIGINT', 1000],
    ['7.5', 'DOUBLE', 7.5],
    [3, 'DOUBLE', 3],
    ['TRUE', 'BOOLEAN', true],
    ['false', 'BOOLEAN', false],
    [1, 'BOOLEAN', true],
    [0, 'BOOLEAN', false],
    ['0', 'BOOLEAN', false],
    ['2024-01-02T03:04:05Z', 'TIMESTAMP', Date.UTC(2024, 0, 2, 3, 4, 5)],
    [1000, 'TIMESTAMP', 1000],
    [null, 'BIGINT', null],
  ];
  it.each(cases)('CAST(%j AS %s) is %j', (value, type, expected) => {
    expect(row(cast(col('v'), type), { v: value })).toEqual(expected);
  });

  const failures: [Value, ScalarType, string][] = [
    ['abc', 'BIGINT', 'CAST: "abc" is not a BIGINT'],
    ['', 'BIGINT', 'CAST: "" is not a BIGINT'],
    ['0x10', 'DOUBLE', 'CAST: "0x10" is not a DOUBLE'],
    ['Infinity', 'DOUBLE', 'CAST: "Infinity" is not a DOUBLE'],
    [true, 'BIGINT', 'CAST: true is not a BIGINT'],
    ['yes', 'BOOLEAN', 'CAST: "yes" is not a BOOLEAN'],
    [2, 'BOOLEAN', 'CAST: 2 is not a BOOLEAN'],
    ['yesterday', 'TIMESTAMP', 'CAST: "yesterday" is not a TIMESTAMP'],
    [{ a: 1 }, 'DOUBLE', 'CAST: {"a":1} is not a DOUBLE'],
  ];
  it.each(failures)('CAST(%j AS %s) throws RecordError', (value, type, message) => {
    expect(() => row(cast(col('v'), type), { v: value })).toThrow(new RecordError(message));
  });
});

describe('functions', () => {
  const cases: [string, Expr[], Value][] = [
    ['LOWER', [lit('AbC')], 'abc'],
    ['UPPER', [lit('AbC')], 'ABC'],
    ['TRIM', [lit('  a b ')], 'a b'],
    ['LENGTH', [lit('héllo')], 5],
    ['CHAR_LENGTH', [lit('')], 0],
    ['SUBSTRING', [lit('hello'), lit(2)], 'ello'],
    ['SUBSTRING', [lit('hello'), lit(2), lit(3)], 'ell'],
    ['SUBSTRING', [lit('hello'), lit(0), lit(3)], 'he'],
    ['SUBSTRING', [lit('hello'), lit(-5), lit(3)], ''],
    ['SUBSTRING', [lit('hello'), lit(4), lit(10)], 'lo'],
    ['SUBSTRING', [lit('hello'), lit(9)], ''],
    ['SUBSTRING', [lit('hello'), N], null],
    ['CONCAT', [lit('a'), lit(1), lit(false)], 'a1false'],
    ['CONCAT', [lit('a'), N], null],
    ['COALESCE', [N, N, lit(3), lit(4)], 3],
    ['COALESCE', [N], null],
    ['NULLIF', [lit(1), lit(1)], null],
    ['NULLIF', [lit(1), lit(2)], 1],
    ['NULLIF', [lit(1), N], 1],
    ['NULLIF', [N, lit(1)], null],
    ['ABS', [lit(-3)], 3],
    ['FLOOR', [lit(-1.5)], -2],
    ['CEIL', [lit(1.2)], 2],
    ['CEILING', [lit(-1.2)], -1],
    ['ROUND', [lit(2.5)], 3],
    ['ROUND', [lit(-2.5)], -3],
    ['ROUND', [lit(1.2345), lit(2)], 1.23],
    ['ROUND', [lit(1.235), lit(2)], 1.24],
    ['ROUND', [lit(1250), lit(-2)], 1300],
    ['ROUND', [lit(1.5), lit(400)], 1.5],
    ['ROUND', [lit(1.5), N], null],
    ['MOD', [lit(10), lit(3)], 1],
    ['MOD', [lit(10), lit(0)], null],
    ['POWER', [lit(2), lit(10)], 1024],
    ['POWER', [lit(-8), lit(1 / 3)], null],
    ['SQRT', [lit(16)], 4],
    ['SQRT', [lit(-1)], null],
    ['LN', [lit(Math.E)], 1],
    ['LN', [lit(0)], null],
    ['LOG10', [lit(1000)], 3],
    ['EXP', [lit(0)], 1],
    ['EXP', [lit(1000)], null],
    ['GREATEST', [lit(1), lit(5), lit(3)], 5],
    ['GREATEST', [lit('b'), lit('a')], 'b'],
    ['GREATEST', [lit(1), N], null],
    ['LEAST', [lit(4), lit(2), lit(3)], 2],
    ['LOWER', [N], null],
    ['ABS', [N], null],
  ];
  it.each(cases)('%s(%j)', (name, args, expected) => {
    expect(row(fn(name, ...args))).toBe(expected);
  });

  it('throws RecordError for arguments of the wrong type, and a negative SUBSTRING length', () => {
    expect(() => row(fn('LOWER', lit(1)))).toThrow(new RecordError('LOWER needs strings, not a number'));
    expect(() => row(fn('ABS', lit('1')))).toThrow(new RecordError('ABS needs numbers, not a string'));
    expect(() => row(fn('GREATEST', lit(1), lit('a')))).toThrow(RecordError);
    expect(() => row(fn('SUBSTRING', lit('abc'), lit(1), lit(-1)))).toThrow(RecordError);
  });

  it('refuses an unknown function, a wrong argument count and DISTINCT, at the call', () => {
    expect(refusal(() => row(fnAt(pos(3, 7), 'JSON_VALUE', lit('x'))))).toEqual({
      message: 'unknown function JSON_VALUE',
      line: 3,
      column: 7,
    });
    expect(refusal(() => row(fnAt(pos(1, 4), 'LOWER')))).toEqual({ message: 'LOWER takes 1 argument', line: 1, column: 4 });
    expect(refusal(() => row(fn('SUBSTRING', lit('a'))))).toMatchObject({ message: 'SUBSTRING takes 2 or 3 arguments' });
    expect(refusal(() => row(fn('NULLIF', lit(1))))).toMatchObject({ message: 'NULLIF takes 2 arguments' });
    expect(refusal(() => row(fn('COALESCE')))).toMatchObject({ message: 'COALESCE takes at least 1 argument' });
    expect(refusal(() => row(distinct('LOWER', lit('a'))))).toMatchObject({ message: 'DISTINCT is only for COUNT' });
  });
});

describe('columns in row expressions', () => {
  it('reads the pseudo-columns, case-insensitively', () => {
    expect(row(col('rowtime'))).toBe(1_700_000_000_000);
    expect(row(col('Approximate_Arrival_Time'))).toBe(1_700_000_000_000);
    expect(row(col('PARTITION_KEY'))).toBe('pk-1');
    expect(row(col('sequence_number'))).toBe('4950');
    expect(row(col('SHARD_ID'))).toBe('shardId-000000000001');
    expect(compileRowExpression(col('DATA'), { kind: 'raw' })(record(null, 'héllo'))).toBe('héllo');
  });

  it('reads fields along their path; missing, or a step into what is not an object or array, is NULL', () => {
    const fields = { a: { b: [10, { c: 'deep' }] }, n: 5, 'c d': 1 };
    expect(row(col('a', 'b', 0), fields)).toBe(10);
    expect(row(col('a', 'b', 1, 'c'), fields)).toBe('deep');
    expect(row(col('c d'), fields)).toBe(1);
    expect(row(col('a', 'x'), fields)).toBeNull();
    expect(row(col('a', 'b', 9), fields)).toBeNull();
    expect(row(col('a', 'b', 'length'), fields)).toBeNull();
    expect(row(col('n', 'x'), fields)).toBeNull();
    expect(row(col('a', 0), fields)).toBeNull();
    expect(row(col('constructor'), fields)).toBeNull();
    expect(row(col('N'), fields)).toBeNull();
  });

  it('a quoted pseudo-column name is a field of the record', () => {
    expect(row(quoted('rowtime'), { rowtime: 'mine' })).toBe('mine');
  });

  it('with declared columns: exact names, or unquoted ones differing in case; a declared pseudo-column name is the declared column', () => {
    const fields = { a: 'x', Bee: 'y', ROWTIME: 7 };
    expect(row(col('A'), fields, CSV)).toBe('x');
    expect(row(col('bee'), fields, CSV)).toBe('y');
    expect(row(quoted('Bee'), fields, CSV)).toBe('y');
    expect(row(col('rowtime'), fields, CSV)).toBe(7);
    expect(row(col('partition_key'), fields, CSV)).toBe('pk-1');
    const json: SourceFormat = { kind: 'json', columns: [decl('o')] };
    expect(row(col('O', 'k'), { o: { k: 1 } }, json)).toBe(1);
  });

  it('refuses an undeclared field at its position, naming the declared columns', () => {
    expect(refusal(() => row(colAt(pos(2, 5), 'z'), {}, CSV))).toEqual({
      message: 'unknown field "z": the format declares a, Bee, ROWTIME',
      line: 2,
      column: 5,
    });
    expect(refusal(() => row({ kind: 'column', path: ['bee'], quoted: true, at: pos(1, 3) }, {}, CSV))).toMatchObject({
      message: 'unknown field "bee": the format declares a, Bee, ROWTIME',
      column: 3,
    });
    expect(refusal(() => row(colAt(pos(4, 1), 'x'), {}, { kind: 'json', columns: [decl('a'), decl('b')] }))).toEqual({
      message: 'unknown field "x": the format declares a, b',
      line: 4,
      column: 1,
    });
  });

  it('refuses a field under FORMAT RAW, and an ambiguous case-insensitive name', () => {
    expect(refusal(() => row(colAt(pos(1, 8), 'x'), null, { kind: 'raw' }))).toEqual({
      message: 'unknown field "x": FORMAT RAW has only ROWTIME, APPROXIMATE_ARRIVAL_TIME, PARTITION_KEY, SEQUENCE_NUMBER, SHARD_ID, DATA',
      line: 1,
      column: 8,
    });
    const twins: SourceFormat = { kind: 'csv', delimiter: ',', columns: [decl('ab'), decl('AB')] };
    expect(row(col('AB'), { ab: 1, AB: 2 }, twins)).toBe(2);
    expect(refusal(() => row(colAt(pos(1, 2), 'Ab'), {}, twins))).toEqual({
      message: '"Ab" could be any of ab, AB: quote the one meant',
      line: 1,
      column: 2,
    });
  });

  it('refuses a step into a pseudo-column', () => {
    expect(refusal(() => row(colAt(pos(1, 2), 'data', 'x')))).toEqual({ message: 'DATA has no fields', line: 1, column: 2 });
  });

  it('refuses window bounds and aggregates in row expressions, at their position', () => {
    expect(refusal(() => row(colAt(pos(2, 3), 'window_start')))).toEqual({
      message: "WINDOW_START is the window's bound: it is allowed only in SELECT and HAVING",
      line: 2,
      column: 3,
    });
    expect(refusal(() => row(fnAt(pos(1, 9), 'TUMBLE_END', col('ROWTIME'))))).toMatchObject({ line: 1, column: 9 });
    expect(refusal(() => row(bin('>', fnAt(pos(5, 6), 'COUNT', star), lit(1))))).toEqual({
      message: 'COUNT is an aggregate: it can appear in SELECT and HAVING only',
      line: 5,
      column: 6,
    });
    expect(refusal(() => row({ kind: 'star', at: pos(1, 1) }))).toMatchObject({ message: '* can only be the argument of COUNT' });
  });
});

describe('output expressions', () => {
  function scope(groupBy: Expr[] = [], format: SourceFormat = JSON_ANY): OutputScope & { aggregates: AggregateCall[] } {
    return { groupBy, aggregates: [], format };
  }
  const output = (keys: Value[], aggregates: Value[] = []): OutputRow => ({ keys, aggregates, windowStart: 1000, windowEnd: 2000 });

  it('reads a GROUP BY key wherever an expression equal to it appears, positions aside', () => {
    const key = bin('+', col('a'), lit(1));
    const used = bin('*', { ...key, at: pos(3, 3) } as Expr, lit(2));
    expect(compileOutputExpression(used, scope([key]))(output([4]))).toBe(8);
    expect(compileOutputExpression(col('PARTITION_KEY'), scope([col('partition_key'), col('b')]))(output(['p', 'q']))).toBe('p');
    expect(compileOutputExpression(col('BEE'), scope([col('a'), col('bee')], CSV))(output([1, 2]))).toBe(2);
  });

  it('refuses a column neither grouped nor aggregated, at its position', () => {
    expect(refusal(() => compileOutputExpression(colAt(pos(1, 8), 'a', 'b'), scope([col('a')])))).toEqual({
      message: '"a.b" must appear in GROUP BY or inside an aggregate',
      line: 1,
      column: 8,
    });
    expect(refusal(() => compileOutputExpression(bin('+', col('b'), lit(1)), scope([bin('+', col('b'), lit(2))])))).toMatchObject({
      message: '"b" must appear in GROUP BY or inside an aggregate',
    });
  });

  it('reads the window bounds from WINDOW_START/END and the window functions, whatever their arguments', () => {
    expect(compileOutputExpression(col('window_start'), scope())(output([]))).toBe(1000);
    expect(compileOutputExpression(col('WINDOW_END'), scope())(output([]))).toBe(2000);
    expect(compileOutputExpression(fn('TUMBLE_START', col('ROWTIME'), lit(5)), scope())(output([]))).toBe(1000);
    expect(compileOutputExpression(fn('HOP_END', col('x')), scope())(output([]))).toBe(2000);
    expect(compileOutputExpression(fn('SESSION_START'), scope())(output([]))).toBe(1000);
  });

  it('gives each distinct aggregate a slot, and structurally equal ones the same', () => {
    const s = scope([col('k')]);
    const countAll = compileOutputExpression(fn('COUNT', star), s);
    const ratio = compileOutputExpression(bin('/', fn('SUM', col('x')), fn('COUNT', { kind: 'star', at: pos(9, 9) })), s);
    compileOutputExpression(distinct('COUNT', col('u')), s);
    compileOutputExpression(fn('APPROX_COUNT_DISTINCT', col('u')), s);
    compileOutputExpression(fn('AVG', col('x')), s);
    compileOutputExpression(fn('APPROX_PERCENTILE', col('x'), lit(0.5)), s);
    compileOutputExpression(fn('APPROX_PERCENTILE', col('x'), lit(0.99)), s);
    compileOutputExpression(fn('TOP_K', col('k'), lit(3)), s);
    compileOutputExpression(bin('AND', bin('>', fn('MIN', col('x')), lit(0)), bin('<', fn('MAX', col('x')), lit(9))), s);
    expect(s.aggregates.map(({ name, star: isStar, param }) => [name, isStar, param])).toEqual([
      ['COUNT', true, undefined],
      ['SUM', false, undefined],
      ['COUNT_DISTINCT', false, undefined],
      ['AVG', false, undefined],
      ['APPROX_PERCENTILE', false, 0.5],
      ['APPROX_PERCENTILE', false, 0.99],
      ['TOP_K', false, 3],
      ['MIN', false, undefined],
      ['MAX', false, undefined],
    ]);
    expect(countAll(output(['k'], [4, 10]))).toBe(4);
    expect(ratio(output(['k'], [4, 10]))).toBe(2.5);
  });

  it('refuses bad aggregate parameters at the parameter, and wrong argument counts at the call', () => {
    const compile = (expr: Expr): unknown => compileOutputExpression(expr, scope());
    for (const p of [lit(0, pos(1, 30)), lit(1.5, pos(1, 30)), lit('0.5', pos(1, 30)), { ...col('x'), at: pos(1, 30) } as Expr]) {
      expect(refusal(() => compile(fn('APPROX_PERCENTILE', col('x'), p)))).toEqual({
        message: "APPROX_PERCENTILE's fraction must be a number literal above 0 and at most 1",
        line: 1,
        column: 30,
      });
    }
    expect(compile(fn('APPROX_PERCENTILE', col('x'), lit(1)))).toBeTypeOf('function');
    for (const k of [lit(0), lit(1001), lit(2.5), N]) {
      expect(refusal(() => compile(fn('TOP_K', col('x'), k)))).toMatchObject({
        message: "TOP_K's k must be an integer literal from 1 to 1000",
      });
    }
    expect(compile(fn('TOP_K', col('x'), lit(1000)))).toBeTypeOf('function');
    expect(refusal(() => compile(fnAt(pos(2, 2), 'SUM', col('x'), col('y'))))).toEqual({
      message: 'SUM takes 1 argument',
      line: 2,
      column: 2,
    });
    expect(refusal(() => compile(fn('TOP_K', col('x'))))).toMatchObject({ message: 'TOP_K takes 2 arguments' });
    expect(refusal(() => compile(fn('SUM', star)))).toMatchObject({ message: '* can only be the argument of COUNT' });
    expect(refusal(() => compile(distinct('COUNT', star)))).toMatchObject({ message: '* can only be the argument of COUNT' });
    expect(refusal(() => compile(distinct('SUM', col('x'))))).toMatchObject({ message: 'DISTINCT is only for COUNT' });
  });

  it('checks aggregate arguments with the row rules, and refuses a nested aggregate', () => {
    expect(refusal(() => compileOutputExpression(fn('SUM', colAt(pos(1, 12), 'z')), scope([], CSV)))).toEqual({
      message: 'unknown field "z": the format declares a, Bee, ROWTIME',
      line: 1,
      column: 12,
    });
    expect(refusal(() => compileOutputExpression(fn('SUM', fnAt(pos(1, 5), 'COUNT', star)), scope()))).toEqual({
      message: 'COUNT inside SUM: aggregates do not nest',
      line: 1,
      column: 5,
    });
    expect(refusal(() => compileOutputExpression(fn('MAX', col('window_end')), scope()))).toMatchObject({
      message: "WINDOW_END is the window's bound: it is allowed only in SELECT and HAVING",
    });
  });

  it('compiles an aggregate argument against records; COUNT(*) gives a constant non-NULL', () => {
    const s = scope();
    compileOutputExpression(fn('COUNT', star), s);
    compileOutputExpression(fn('SUM', bin('*', col('x'), lit(2))), s);
    const [countAll, sum] = s.aggregates.map((call) => compileAggregateArgument(call, JSON_ANY));
    expect(countAll!(record({}))).not.toBeNull();
    expect(sum!(record({ x: 4 }))).toBe(8);
    expect(sum!(record({}))).toBeNull();
  });
});

describe('outputNames', () => {
  const item = (expr: Expr, alias?: string, where = at): SelectItem => ({ expr, ...(alias === undefined ? {} : { alias }), at: where });

  it('names items by alias, last path element, window bound, or EXPR$index', () => {
    expect(
      outputNames([
        item(col('a', 'b'), undefined),
        item(col('x', 0)),
        item(fn('COUNT', star), 'n'),
        item(col('WINDOW_START')),
        item(col('window_end')),
        item(fn('SUM', col('x'))),
        item(quoted('Window_Start')),
      ]),
    ).toEqual(['b', '0', 'n', 'window_start', 'window_end', 'EXPR$5', 'Window_Start']);
  });

  it('refuses a name used twice at the second item', () => {
    expect(refusal(() => outputNames([item(col('a')), item(col('b', 'a'), undefined, pos(2, 4))]))).toEqual({
      message: 'two output columns are named "a": give one of them an alias',
      line: 2,
      column: 4,
    });
    expect(refusal(() => outputNames([item(col('x'), 'EXPR$1'), item(fn('SUM', col('x')))]))).toMatchObject({ line: 1 });
  });
});

describe('timeOf', () => {
  const cases: [Value, number | null][] = [
    [1234.5, 1234.5],
    [Infinity, null],
    ['1700000000000', 1_700_000_000_000],
    ['2024-02-29T12:30:45Z', Date.UTC(2024, 1, 29, 12, 30, 45)],
    ['2024-02-29 12:30:45', Date.UTC(2024, 1, 29, 12, 30, 45)],
    ['2024-02-29T12:30:45.1Z', Date.UTC(2024, 1, 29, 12, 30, 45, 100)],
    ['2024-02-29T12:30:45.123456Z', Date.UTC(2024, 1, 29, 12, 30, 45, 123)],
    ['2024-02-29T12:30', Date.UTC(2024, 1, 29, 12, 30)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2024-01-01T05:30:00+05:30', Date.UTC(2024, 0, 1)],
    ['2024-01-01T00:00:00-0100', Date.UTC(2024, 0, 1, 1)],
    ['2024-01-01T02:00:00+02', Date.UTC(2024, 0, 1)],
    ['0050-06-01T00:00:00Z', new Date(0).setUTCFullYear(50, 5, 1)],
    ['2023-02-29T00:00:00Z', null],
    ['2024-13-01T00:00:00Z', null],
    ['2024-01-01T24:00:00Z', null],
    ['2024-01-01T00:60:00Z', null],
    ['2024-01-01T00:00:00+24:00', null],
    ['2024-01-01T00:00:00ZZ', null],
    ['-5', null],
    ['', null],
    ['yesterday', null],
    [true, null],
    [null, null],
    [{ t: 1 }, null],
  ];
  it.each(cases)('timeOf(%j) is %j', (value, expected) => {
    expect(timeOf(value)).toBe(expected);
  });
});
