import { describe, expect, it } from 'vitest';
import { InvalidQueryException } from '../../src/errors.js';
import type { Expr, QueryAst } from '../../src/queries/ast.js';
import { parseQuery } from '../../src/queries/parser.js';

// Goal: every spelling of the query language (docs/QUERIES.md) parses to the syntax tree of
// ast.ts, with SQL's precedence and the position each node starts at; KDA's CREATE PUMP is a
// synonym; every refusal, syntactic or of the checks that are the parser's, is an
// InvalidQueryException naming its reason at the line and column of the node at fault. Method:
// parseQuery on hand-written queries, mostly tables of (text, expected tree or reason);
// toMatchObject leaves positions out where they are noise, and dedicated cases check them.

const WINDOW = "GROUP BY TUMBLE(ROWTIME, INTERVAL '1' MINUTE)";

function query(select: string, rest = `FROM s ${WINDOW}`): QueryAst {
  return parseQuery(`CREATE QUERY q AS INSERT INTO out SELECT ${select} ${rest}`);
}

/** The first selected expression of a query selecting `text`. */
function expr(text: string): Expr {
  const [item] = query(text).select;
  if (item === undefined) throw new Error('no select item');
  return item.expr;
}

const col = (...path: (string | number)[]): object => ({ kind: 'column', path, quoted: false });
const lit = (value: string | number | boolean | null): object => ({ kind: 'literal', value });
const bin = (op: string, left: object, right: object, negated = false): object => ({ kind: 'binary', op, left, right, negated });
const un = (op: string, operand: object): object => ({ kind: 'unary', op, operand });

function refusal(text: string): InvalidQueryException {
  try {
    parseQuery(text);
  } catch (error) {
    if (error instanceof InvalidQueryException) return error;
    throw error;
  }
  throw new Error(`parsed: ${text}`);
}

/** The line and column where `fragment` first starts in `text`. */
function where(text: string, fragment: string): { line: number; column: number } {
  const offset = text.indexOf(fragment);
  if (offset < 0) throw new Error(`no ${fragment} in ${text}`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1) ?? '').length + 1 };
}

describe('parseQuery: the statement', () => {
  it('parses every clause of CREATE QUERY', () => {
    const ast = parseQuery(
      "CREATE QUERY Totals WITH (Grace = '10 seconds', late_stream = 'late', checkpoint_interval_ms = 500) " +
        'AS INSERT INTO totals SELECT region, SUM(amount) AS total, COUNT(*) n FROM orders ' +
        "WHERE amount > 0 GROUP BY region, TUMBLE(ROWTIME, INTERVAL '1' MINUTE), shop HAVING COUNT(*) > 1;",
    );
    expect(ast).toMatchObject({
      name: 'Totals',
      options: { grace: { value: '10 seconds' }, late_stream: { value: 'late' }, checkpoint_interval_ms: { value: 500 } },
      output: 'totals',
      select: [
        { expr: col('region') },
        { expr: { kind: 'call', name: 'SUM', args: [col('amount')], distinct: false }, alias: 'total' },
        { expr: { kind: 'call', name: 'COUNT', args: [{ kind: 'star' }], distinct: false }, alias: 'n' },
      ],
      source: { stream: 'orders', format: { kind: 'json' } },
      where: bin('>', col('amount'), lit(0)),
      groupBy: [col('region'), col('shop')],
      window: { kind: 'tumble', time: col('ROWTIME'), sizeMs: 60_000 },
      having: bin('>', { kind: 'call', name: 'COUNT' }, lit(1)),
    });
    expect(Object.keys(ast.options)).toEqual(['grace', 'late_stream', 'checkpoint_interval_ms']);
    expect(ast.select[0]).not.toHaveProperty('alias');
  });

  it('leaves out WHERE and HAVING when the query has none', () => {
    const ast = query('a');
    expect(ast).not.toHaveProperty('where');
    expect(ast).not.toHaveProperty('having');
    expect(ast.options).toEqual({});
  });

  it("accepts KDA's CREATE PUMP ... SELECT STREAM, with a qualified ROWTIME", () => {
    const ast = parseQuery(`CREATE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM ticker_symbol, COUNT(*) AS ticker_count
      FROM "SOURCE_SQL_STREAM_001"
      GROUP BY ticker_symbol, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND);`);
    expect(ast).toMatchObject({
      name: 'STREAM_PUMP',
      output: 'DESTINATION_SQL_STREAM',
      select: [{ expr: col('ticker_symbol') }, { alias: 'ticker_count' }],
      source: { stream: 'SOURCE_SQL_STREAM_001' },
      groupBy: [col('ticker_symbol')],
      window: { kind: 'tumble', time: col('ROWTIME'), sizeMs: 60_000 },
    });
  });

  it('takes STREAM after SELECT as the keyword only when a select list follows it', () => {
    expect(query('STREAM a').select).toMatchObject([{ expr: col('a') }]);
    expect(query('stream').select).toMatchObject([{ expr: col('stream') }]);
    expect(query('stream, b').select).toMatchObject([{ expr: col('stream') }, { expr: col('b') }]);
  });

  it('reads keywords in any case and keeps names as written', () => {
    const ast = parseQuery(
      "create query MyQuery as insert into Out select Region from Orders Group By tumble(rowtime, interval '1' minute)",
    );
    expect(ast).toMatchObject({ name: 'MyQuery', output: 'Out', select: [{ expr: col('Region') }], source: { stream: 'Orders' } });
    expect(ast.window).toMatchObject({ time: col('rowtime') });
  });

  it("names streams as Kinesis does, dots and dashes included, or quoted, without taking a comment's --", () => {
    const ast = parseQuery(`CREATE QUERY q AS INSERT INTO out-1.v2 SELECT a - 1 FROM in_2.x-y--a comment\n${WINDOW}`);
    expect(ast).toMatchObject({ output: 'out-1.v2', source: { stream: 'in_2.x-y' }, select: [{ expr: bin('-', col('a'), lit(1)) }] });
    expect(query('a', `FROM "my stream" ${WINDOW}`).source.stream).toBe('my stream');
  });

  it('reads every source format', () => {
    const format = (text: string): unknown => query('a', `FROM s ${text} ${WINDOW}`).source.format;
    expect(format('')).toEqual({ kind: 'json' });
    expect(format('FORMAT JSON')).toEqual({ kind: 'json' });
    expect(format('FORMAT JSON (a VARCHAR, "b c" INT)')).toMatchObject({
      kind: 'json',
      columns: [
        { name: 'a', type: 'VARCHAR' },
        { name: 'b c', type: 'BIGINT' },
      ],
    });
    expect(format('FORMAT CSV (a VARCHAR(10), b DOUBLE)')).toMatchObject({
      kind: 'csv',
      columns: [{ name: 'a' }, { name: 'b' }],
      delimiter: ',',
    });
    expect(format("format csv (a TEXT) DELIMITER '|'")).toMatchObject({ kind: 'csv', delimiter: '|' });
    expect(format('FORMAT RAW')).toEqual({ kind: 'raw' });
  });

  it.each([
    ['VARCHAR', 'VARCHAR'],
    ['varchar(20)', 'VARCHAR'],
    ['CHAR(1)', 'VARCHAR'],
    ['STRING', 'VARCHAR'],
    ['TEXT', 'VARCHAR'],
    ['INT', 'BIGINT'],
    ['INTEGER', 'BIGINT'],
    ['BIGINT', 'BIGINT'],
    ['SMALLINT', 'BIGINT'],
    ['TINYINT', 'BIGINT'],
    ['DOUBLE', 'DOUBLE'],
    ['DOUBLE PRECISION', 'DOUBLE'],
    ['FLOAT', 'DOUBLE'],
    ['REAL', 'DOUBLE'],
    ['DECIMAL', 'DOUBLE'],
    ['DECIMAL(10, 2)', 'DOUBLE'],
    ['NUMERIC', 'DOUBLE'],
    ['BOOLEAN', 'BOOLEAN'],
    ['BOOL', 'BOOLEAN'],
    ['TIMESTAMP', 'TIMESTAMP'],
  ])('maps the type %s to %s', (written, type) => {
    expect(expr(`CAST(x AS ${written})`)).toMatchObject({ kind: 'cast', operand: col('x'), type });
    expect(query('a', `FROM s FORMAT CSV (c ${written}) ${WINDOW}`).source.format).toMatchObject({ columns: [{ type }] });
  });

  it('skips comments of both kinds', () => {
    const ast = parseQuery(`-- totals
      CREATE QUERY q /* the name */ AS INSERT INTO out
      SELECT a -- the key
      , /* a
      block */ b FROM s ${WINDOW} -- the end`);
    expect(ast.select).toMatchObject([{ expr: col('a') }, { expr: col('b') }]);
  });

  it('gives each node the line and column where it starts', () => {
    const text = `CREATE QUERY q WITH (grace = '1 second')
AS INSERT INTO out
SELECT a + b AS s,
  COUNT(*)
FROM src FORMAT CSV (a INT, b INT)
GROUP BY TUMBLE(ROWTIME, INTERVAL '1' MINUTE)`;
    const ast = parseQuery(text);
    expect(ast.options['grace']?.at).toEqual({ offset: text.indexOf("'1 second'"), line: 1, column: 30 });
    expect(ast.select[0]?.at).toMatchObject({ line: 3, column: 8 });
    expect(ast.select[0]?.expr).toMatchObject({ at: { line: 3, column: 8 }, right: { at: { line: 3, column: 12 } } });
    expect(ast.select[1]?.expr).toMatchObject({ at: { line: 4, column: 3 }, args: [{ at: { line: 4, column: 9 } }] });
    expect(ast.source.at).toMatchObject({ line: 5, column: 6 });
    expect(ast.source.format).toMatchObject({ columns: [{ at: { line: 5, column: 22 } }, { at: { line: 5, column: 29 } }] });
    expect(ast.window).toMatchObject({ at: { line: 6, column: 10 }, time: { at: { line: 6, column: 17 } } });
  });
});

describe('parseQuery: expressions', () => {
  it.each([
    ['1', 1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ["'it''s'", "it's"],
    ["''", ''],
    ['TRUE', true],
    ['false', false],
    ['NULL', null],
  ])('reads the literal %s', (text, value) => {
    expect(expr(text)).toEqual({ kind: 'literal', value, at: expect.any(Object) });
  });

  it.each([
    ["INTERVAL '5' SECOND", 5000],
    ["INTERVAL '5' SECONDS", 5000],
    ["INTERVAL '1.5' second", 1500],
    ["INTERVAL '1.001' SECOND", 1001],
    ["INTERVAL '250' MILLISECOND", 250],
    ["INTERVAL '2' MILLISECONDS", 2],
    ["INTERVAL '2' MINUTE", 120_000],
    ["INTERVAL '3' HOURS", 10_800_000],
    ["INTERVAL '1' DAY", 86_400_000],
    ["INTERVAL '5 SECONDS'", 5000],
    ["INTERVAL ' 1.5 minute '", 90_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(expr(text)).toMatchObject({ kind: 'interval', ms });
  });

  it('takes a word after an interval whose quotes hold the unit as an alias', () => {
    expect(query("INTERVAL '5 seconds' grace").select[0]).toMatchObject({ expr: { kind: 'interval', ms: 5000 }, alias: 'grace' });
  });

  it.each([
    ['a.b.c', col('a', 'b', 'c')],
    ["a['key one']", col('a', 'key one')],
    ['a[0].b', col('a', 0, 'b')],
    ['a . b [ 1 ]', col('a', 'b', 1)],
    ['payload.from.end', col('payload', 'from', 'end')],
    ['a."B c"', col('a', 'B c')],
    ['"quoted name".x', { kind: 'column', path: ['quoted name', 'x'], quoted: true }],
    ['"say ""hi"""', { kind: 'column', path: ['say "hi"'], quoted: true }],
    ['ROWTIME', col('ROWTIME')],
    ['s.ROWTIME', col('ROWTIME')],
    ['"SOURCE_SQL_STREAM_001".rowtime', col('ROWTIME')],
    ['s.ROWTIME.x', col('s', 'ROWTIME', 'x')],
    ['WINDOW_START', col('WINDOW_START')],
    ['partition_key', col('partition_key')],
  ])('reads the column %s', (text, expected) => {
    expect(expr(text)).toMatchObject(expected);
  });

  it.each([
    ['count(*)', { name: 'COUNT', args: [{ kind: 'star' }], distinct: false }],
    ['COUNT(DISTINCT user_id)', { name: 'COUNT', args: [col('user_id')], distinct: true }],
    ['coalesce(a, 1)', { name: 'COALESCE', args: [col('a'), lit(1)], distinct: false }],
    ['now()', { name: 'NOW', args: [] }],
    ['FLOOR(x)', { name: 'FLOOR', args: [col('x')] }],
    ["TUMBLE_START(ROWTIME, INTERVAL '1' MINUTE)", { name: 'TUMBLE_START', args: [col('ROWTIME'), { kind: 'interval', ms: 60_000 }] }],
    ["HOP_END(ts, INTERVAL '1' SECOND, INTERVAL '5' SECOND)", { name: 'HOP_END', args: [col('ts'), {}, {}] }],
    ["SESSION_START(ts, INTERVAL '1' SECOND)", { name: 'SESSION_START' }],
  ])('reads the call %s', (text, expected) => {
    expect(expr(text)).toMatchObject({ kind: 'call', ...expected });
  });

  it.each([
    ['a + b', bin('+', col('a'), col('b'))],
    ['a - b', bin('-', col('a'), col('b'))],
    ['a * b', bin('*', col('a'), col('b'))],
    ['a / b', bin('/', col('a'), col('b'))],
    ['a % b', bin('%', col('a'), col('b'))],
    ["a || 'x'", bin('||', col('a'), lit('x'))],
    ['a = b', bin('=', col('a'), col('b'))],
    ['a <> b', bin('<>', col('a'), col('b'))],
    ['a != b', bin('<>', col('a'), col('b'))],
    ['a < b', bin('<', col('a'), col('b'))],
    ['a <= b', bin('<=', col('a'), col('b'))],
    ['a > b', bin('>', col('a'), col('b'))],
    ['a >= b', bin('>=', col('a'), col('b'))],
    ['a AND b', bin('AND', col('a'), col('b'))],
    ['a or b', bin('OR', col('a'), col('b'))],
    ["a LIKE 'p%'", bin('LIKE', col('a'), lit('p%'))],
    ["a NOT LIKE 'p%'", bin('LIKE', col('a'), lit('p%'), true)],
    ['-a', un('-', col('a'))],
    ['NOT a', un('NOT', col('a'))],
    ['a IS NULL', { kind: 'isNull', operand: col('a'), negated: false }],
    ['a IS NOT NULL', { kind: 'isNull', operand: col('a'), negated: true }],
    ["a IN (1, 'x')", { kind: 'in', operand: col('a'), list: [lit(1), lit('x')], negated: false }],
    ['a NOT IN (1)', { kind: 'in', operand: col('a'), list: [lit(1)], negated: true }],
    ['a BETWEEN 1 AND 2', { kind: 'between', operand: col('a'), low: lit(1), high: lit(2), negated: false }],
    ['a NOT BETWEEN 1 AND 2', { kind: 'between', negated: true }],
    ["CASE WHEN a THEN 'x' END", { kind: 'case', whens: [{ when: col('a'), then: lit('x') }] }],
    ["CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END", { kind: 'case', operand: col('a'), whens: [{}, {}], else: lit('z') }],
  ])('reads %s', (text, expected) => {
    expect(expr(text)).toMatchObject(expected);
  });

  it('leaves out the operand and ELSE of a CASE without them', () => {
    const node = expr('CASE WHEN a THEN 1 END');
    expect(node).not.toHaveProperty('operand');
    expect(node).not.toHaveProperty('else');
  });

  it.each([
    ['a OR b AND c', bin('OR', col('a'), bin('AND', col('b'), col('c')))],
    ['a AND b OR c', bin('OR', bin('AND', col('a'), col('b')), col('c'))],
    ['NOT a AND b', bin('AND', un('NOT', col('a')), col('b'))],
    ['NOT a = b', un('NOT', bin('=', col('a'), col('b')))],
    ['a AND NOT b OR c', bin('OR', bin('AND', col('a'), un('NOT', col('b'))), col('c'))],
    ["a = b || 'x'", bin('=', col('a'), bin('||', col('b'), lit('x')))],
    ['a || b + c', bin('||', col('a'), bin('+', col('b'), col('c')))],
    ['a + b * c', bin('+', col('a'), bin('*', col('b'), col('c')))],
    ['a * b + c', bin('+', bin('*', col('a'), col('b')), col('c'))],
    ['a - b - c', bin('-', bin('-', col('a'), col('b')), col('c'))],
    ['a / b % c', bin('%', bin('/', col('a'), col('b')), col('c'))],
    ['-a * b', bin('*', un('-', col('a')), col('b'))],
    ['- -a.b', un('-', un('-', col('a', 'b')))],
    ['(a OR b) AND c', bin('AND', bin('OR', col('a'), col('b')), col('c'))],
    ['a + 1 IS NULL', { kind: 'isNull', operand: bin('+', col('a'), lit(1)) }],
    ['a BETWEEN b + 1 AND c AND d', bin('AND', { kind: 'between', low: bin('+', col('b'), lit(1)), high: col('c') }, col('d'))],
    ['a + 1 IN (2) OR b', bin('OR', { kind: 'in', operand: bin('+', col('a'), lit(1)) }, col('b'))],
    ["NOT a LIKE 'x' AND b", bin('AND', un('NOT', bin('LIKE', col('a'), lit('x'))), col('b'))],
  ])('gives %s SQL precedence', (text, expected) => {
    expect(expr(text)).toMatchObject(expected);
  });

  it('starts a binary node where its left operand starts', () => {
    expect(expr('1 + 2 * 3')).toMatchObject({ at: { column: 42 }, right: { at: { column: 46 }, left: { at: { column: 46 } } } });
  });
});

describe('parseQuery: windows', () => {
  const window = (group: string): unknown => query('a', `FROM s GROUP BY ${group}`).window;

  it.each([
    ["TUMBLE(ROWTIME, INTERVAL '10' SECOND)", { kind: 'tumble', time: col('ROWTIME'), sizeMs: 10_000 }],
    [
      "HOP(event_time, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)",
      { kind: 'hop', time: col('event_time'), slideMs: 60_000, sizeMs: 300_000 },
    ],
    ["HOP(ts, INTERVAL '1' SECOND, INTERVAL '100' SECOND)", { kind: 'hop', slideMs: 1000, sizeMs: 100_000 }],
    ["SESSION(payload.ts, INTERVAL '30' SECOND)", { kind: 'session', time: col('payload', 'ts'), gapMs: 30_000 }],
    ["STEP(s.ROWTIME BY INTERVAL '60' SECOND)", { kind: 'tumble', time: col('ROWTIME'), sizeMs: 60_000 }],
    ['FLOOR(ROWTIME TO SECOND)', { kind: 'tumble', sizeMs: 1000 }],
    ['FLOOR(ROWTIME TO minute)', { kind: 'tumble', sizeMs: 60_000 }],
    ['FLOOR(ROWTIME TO HOUR)', { kind: 'tumble', sizeMs: 3_600_000 }],
    ['FLOOR(ROWTIME TO DAY)', { kind: 'tumble', sizeMs: 86_400_000 }],
    ["TUMBLE(CAST(ts AS TIMESTAMP), INTERVAL '1' MINUTE)", { time: { kind: 'cast', type: 'TIMESTAMP' } }],
  ])('reads %s', (text, expected) => {
    expect(window(text)).toMatchObject(expected);
  });

  it('finds the window anywhere in GROUP BY, the other items being the keys', () => {
    const ast = query('a', "FROM s GROUP BY a, FLOOR(b), SESSION(ts, INTERVAL '1' SECOND), c");
    expect(ast.groupBy).toMatchObject([col('a'), { kind: 'call', name: 'FLOOR' }, col('c')]);
    expect(ast.window).toMatchObject({ kind: 'session' });
  });

  it('keeps the names TUMBLE, HOP, SESSION and STEP for columns when no parenthesis follows', () => {
    expect(query('session, step, hop, tumble').select).toMatchObject([
      { expr: col('session') },
      { expr: col('step') },
      { expr: col('hop') },
      { expr: col('tumble') },
    ]);
  });
});

describe('parseQuery: refusals', () => {
  const Q = 'CREATE QUERY q AS INSERT INTO out SELECT';
  const W = "TUMBLE(ts, INTERVAL '1' SECOND)";

  it.each([
    // [text, the fragment the position is at (null: the end), the reason]
    [`${Q} COUNT(*) AS n FORM s`, 'FORM', `expected ',' or FROM, found "FORM"`],
    [`${Q} a FROM s GROUP BY ${W} HAVNG`, 'HAVNG', `expected ',', HAVING, ';' or end of query, found "HAVNG"`],
    [`${Q} a, FROM s`, 'FROM', 'expected an expression, found "FROM"'],
    [`${Q} a FROM s WHERE x BETWEEN 1 2 GROUP BY ${W}`, '2 GROUP', 'expected AND, found "2"'],
    [`${Q} (a + b FROM s`, 'FROM', `expected ')', found "FROM"`],
    [`${Q} a FROM s WHERE a NOT 5`, '5', 'expected IN, BETWEEN or LIKE, found "5"'],
    [`${Q} CAST(a AS WORD) FROM s`, 'WORD', 'expected a column type, found "WORD"'],
    [`${Q} a FROM`, null, 'expected a stream name, found end of query'],
    ['CREATE QUERY q AS INSERT INTO SELECT a', 'SELECT', 'expected a stream name, found "SELECT"'],
    ['CREATE TABLE t', 'TABLE', 'expected OR, QUERY or PUMP, found "TABLE"'],
    [`${Q} * FROM s GROUP BY ${W}`, '*', 'expected an expression, found "*"'],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, 5)`, '5', 'expected INTERVAL, found "5"'],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '1' SECOND) + 1`, '+', `expected ',', HAVING, ';' or end of query, found "+"`],
    [`${Q} 'abc FROM s`, "'abc", "this string is not closed: a ' is missing"],
    [`${Q} "abc FROM s`, '"abc', 'this quoted name is not closed: a " is missing'],
    [`${Q} a /* FROM s`, '/*', 'this comment is not closed: a */ is missing'],
    [
      `CREATE OR REPLACE PUMP p AS INSERT INTO out SELECT a FROM s GROUP BY ${W}`,
      'OR',
      'OR REPLACE is not supported: delete the query first',
    ],
    [`${Q} a FROM s`, null, 'a continuous query needs a window in GROUP BY: TUMBLE, HOP, SESSION, STEP or FLOOR'],
    [`${Q} a FROM s GROUP BY a HAVING COUNT(*) > 1`, 'GROUP', 'a continuous query needs a window in GROUP BY'],
    [`${Q} a FROM s GROUP BY ${W}, SESSION(ts, INTERVAL '1' SECOND)`, 'SESSION', 'GROUP BY has a second window'],
    [`${Q} ${W} FROM s GROUP BY a`, 'TUMBLE', 'TUMBLE is a window: it can only be an item of GROUP BY'],
    [`${Q} FLOOR(ts TO MINUTE) FROM s GROUP BY ${W}`, 'FLOOR', 'FLOOR is a window'],
    [`${Q} a FROM s WHERE STEP(ts BY INTERVAL '1' SECOND) > 0 GROUP BY ${W}`, 'STEP', 'STEP is a window'],
    [`${Q} a FROM s GROUP BY ${W} HAVING HOP(ts, INTERVAL '1' SECOND, INTERVAL '2' SECOND) > 0`, 'HOP', 'HOP is a window'],
    [`${Q} a FROM s GROUP BY (${W})`, 'TUMBLE', 'TUMBLE is a window'],
    [`${Q} a FROM s GROUP BY TUMBLE(${W}, INTERVAL '1' SECOND)`, 'TUMBLE(ts', 'TUMBLE is a window'],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '0' SECOND)`, 'INTERVAL', "INTERVAL '0' SECOND is not above zero"],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '-5' SECOND)`, 'INTERVAL', "INTERVAL '-5' SECOND is not above zero"],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '0.5' MILLISECOND)`, 'INTERVAL', 'is not a whole number of milliseconds'],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '1.0005 seconds')`, 'INTERVAL', 'is not a whole number of milliseconds'],
    [`${Q} INTERVAL '0' SECOND FROM s GROUP BY ${W}`, 'INTERVAL', 'is not above zero'],
    [
      `${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '5' WEEK)`,
      'WEEK',
      'unknown interval unit WEEK: MILLISECOND, SECOND, MINUTE, HOUR or DAY',
    ],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '5 weeks')`, 'INTERVAL', 'unknown interval unit weeks'],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '5')`, 'INTERVAL', "INTERVAL '5' needs a unit"],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL 'soon' SECOND)`, 'INTERVAL', "INTERVAL 'soon' is not an amount of time"],
    [`${Q} a FROM s GROUP BY TUMBLE(ts, INTERVAL '99999999999999' DAY)`, 'INTERVAL', 'is too long'],
    [
      `${Q} a FROM s GROUP BY HOP(ts, INTERVAL '1' SECOND, INTERVAL '1' SECOND)`,
      "INTERVAL '1' SECOND)",
      "HOP's size must be above its slide",
    ],
    [`${Q} a FROM s GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '1' SECOND)`, "INTERVAL '1'", "HOP's size must be above its slide"],
    [
      `${Q} a FROM s GROUP BY HOP(ts, INTERVAL '1' SECOND, INTERVAL '101' SECOND)`,
      'HOP',
      'HOP puts each record in 101 windows (size / slide); the limit is 100',
    ],
    [`${Q} a FROM s GROUP BY FLOOR(ts TO WEEK)`, 'WEEK', 'unknown FLOOR unit WEEK: SECOND, MINUTE, HOUR or DAY'],
    [`${Q} a FROM s GROUP BY FLOOR(ts TO MILLISECOND)`, 'MILLISECOND', 'unknown FLOOR unit MILLISECOND'],
    [
      `CREATE QUERY q WITH (grace = '1 second', Grace = '2 seconds') AS INSERT INTO out SELECT a FROM s GROUP BY ${W}`,
      'Grace',
      'option grace is given twice',
    ],
    [`${Q} SUM(*) FROM s GROUP BY ${W}`, '*', "* is only COUNT's argument, not SUM's"],
    [`${Q} COUNT(DISTINCT *) FROM s GROUP BY ${W}`, '*', 'expected an expression, found "*"'],
    [`${Q} a FROM s FORMAT CSV (a INT) DELIMITER '||' GROUP BY ${W}`, "'||'", "DELIMITER is one character, not '||'"],
  ])('refuses %s', (text, fragment, reason) => {
    const error = refusal(text);
    expect({ line: error.line, column: error.column }).toEqual(
      fragment === null ? { line: 1, column: text.length + 1 } : where(text, fragment),
    );
    expect(error.message).toContain(reason);
  });

  it('reports the line and column of a query spread over several lines', () => {
    const text = ['CREATE QUERY q', 'AS INSERT INTO out', 'SELECT a,', '  b AS c', '  FORM s', 'GROUP BY x'].join('\n');
    const error = refusal(text);
    expect([error.line, error.column]).toEqual([5, 3]);
    expect(error.message).toBe(`line 5, column 3: expected ',' or FROM, found "FORM"`);

    const late = `${text.replace('FORM', 'FROM')}\n  , HOP(ts, INTERVAL '1' SECOND,\n    INTERVAL '1' SECOND)`;
    expect(refusal(late)).toMatchObject({ line: 8, column: 5, message: expect.stringContaining("HOP's size must be above its slide") });
  });
});
