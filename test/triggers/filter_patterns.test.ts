import { describe, expect, it } from 'vitest';
import {
  compileFilterCriteria,
  FILTERS_MAX,
  InvalidFilterPatternError,
  PATTERN_CHARS_MAX,
  type CompiledFilter,
  type FilterableRecord,
} from '../../src/triggers/filter_patterns.js';

// Goal: FilterCriteria select Kinesis records as Lambda's event filtering does (kinesis-family.md
// §4.1, EventBridge pattern syntax): each operator, nesting, arrays in the data, non-JSON data that
// only patterns outside `data` can match, any-filter-matches, and strict refusal of bad patterns
// with Lambda's InvalidParameterValueException wording and the filter's index.
// Method: tables of (pattern, record, expected) run through compileFilterCriteria; each row holds
// a pattern against data chosen so the row fails if the operator were ignored or inverted.

const encoder = new TextEncoder();

/** A record whose data is `data` as JSON, or the raw bytes when given a Uint8Array. */
function record(data: unknown, partitionKey = 'pk-1'): FilterableRecord {
  return { partitionKey, data: data instanceof Uint8Array ? data : encoder.encode(JSON.stringify(data)) };
}

function criteria(...patterns: unknown[]): { Filters: { Pattern: string }[] } {
  return { Filters: patterns.map((pattern) => ({ Pattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern) })) };
}

function compile(...patterns: unknown[]): CompiledFilter {
  const compiled = compileFilterCriteria(criteria(...patterns));
  if (compiled === null) throw new Error('expected filters');
  return compiled;
}

type Row = [name: string, pattern: unknown, data: unknown, expected: boolean];

const NOT_JSON = encoder.encode('temperature=31');
const NOT_UTF8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);

const rows: Row[] = [
  // Exact values.
  ['exact string', { data: { type: ['buy'] } }, { type: 'buy' }, true],
  ['exact string, other value', { data: { type: ['buy'] } }, { type: 'sell' }, false],
  ['exact string is case-sensitive', { data: { type: ['buy'] } }, { type: 'BUY' }, false],
  ['exact values are OR', { data: { type: ['buy', 'sell'] } }, { type: 'sell' }, true],
  ['exact number', { data: { n: [5] } }, { n: 5.0 }, true],
  ['exact number, other value', { data: { n: [5] } }, { n: 6 }, false],
  ['a number does not equal its string', { data: { n: [5] } }, { n: '5' }, false],
  ['a string does not equal its number', { data: { n: ['5'] } }, { n: 5 }, false],
  ['exact true', { data: { ok: [true] } }, { ok: true }, true],
  ['exact true, false given', { data: { ok: [true] } }, { ok: false }, false],
  ['exact null', { data: { v: [null] } }, { v: null }, true],
  ['exact null, missing field', { data: { v: [null] } }, {}, false],
  ['empty string', { data: { v: [''] } }, { v: '' }, true],
  ['empty string, non-empty given', { data: { v: [''] } }, { v: 'x' }, false],
  ['missing field fails', { data: { type: ['buy'] } }, { other: 'buy' }, false],
  ['an object where a value is wanted fails', { data: { type: ['buy'] } }, { type: { buy: 1 } }, false],
  // prefix, suffix, equals-ignore-case.
  ['prefix', { data: { region: [{ prefix: 'us-' }] } }, { region: 'us-east-1' }, true],
  ['prefix, other', { data: { region: [{ prefix: 'us-' }] } }, { region: 'eu-west-1' }, false],
  ['prefix on a number fails', { data: { n: [{ prefix: '1' }] } }, { n: 12 }, false],
  ['prefix ignoring case', { data: { s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { s: 'eventbridge' }, true],
  ['prefix ignoring case, other', { data: { s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { s: 'eventa' }, false],
  ['suffix', { data: { file: [{ suffix: '.png' }] } }, { file: 'a.png' }, true],
  ['suffix, other', { data: { file: [{ suffix: '.png' }] } }, { file: 'a.png.gz' }, false],
  ['suffix is case-sensitive', { data: { file: [{ suffix: '.png' }] } }, { file: 'a.PNG' }, false],
  ['suffix ignoring case', { data: { file: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, { file: 'a.PNG' }, true],
  ['equals-ignore-case', { data: { name: [{ 'equals-ignore-case': 'alice' }] } }, { name: 'ALIce' }, true],
  ['equals-ignore-case, other', { data: { name: [{ 'equals-ignore-case': 'alice' }] } }, { name: 'alicia' }, false],
  // anything-but.
  ['anything-but string', { data: { state: [{ 'anything-but': 'init' }] } }, { state: 'running' }, true],
  ['anything-but string, the excluded one', { data: { state: [{ 'anything-but': 'init' }] } }, { state: 'init' }, false],
  ['anything-but needs the field', { data: { state: [{ 'anything-but': 'init' }] } }, {}, false],
  ['anything-but string passes a number', { data: { state: [{ 'anything-but': 'init' }] } }, { state: 7 }, true],
  ['anything-but list', { data: { state: [{ 'anything-but': ['a', 'b'] }] } }, { state: 'b' }, false],
  ['anything-but list, outside it', { data: { state: [{ 'anything-but': ['a', 'b'] }] } }, { state: 'c' }, true],
  ['anything-but number', { data: { n: [{ 'anything-but': 123 }] } }, { n: 123 }, false],
  ['anything-but number, other', { data: { n: [{ 'anything-but': 123 }] } }, { n: 124 }, true],
  ['anything-but number list', { data: { n: [{ 'anything-but': [1, 2] }] } }, { n: 2 }, false],
  ['anything-but prefix', { data: { r: [{ 'anything-but': { prefix: 'us-' } }] } }, { r: 'us-east-1' }, false],
  ['anything-but prefix, other', { data: { r: [{ 'anything-but': { prefix: 'us-' } }] } }, { r: 'eu-west-1' }, true],
  ['anything-but suffix', { data: { f: [{ 'anything-but': { suffix: '.png' } }] } }, { f: 'a.png' }, false],
  ['anything-but suffix, other', { data: { f: [{ 'anything-but': { suffix: '.png' } }] } }, { f: 'a.jpg' }, true],
  ['anything-but ignore case', { data: { s: [{ 'anything-but': { 'equals-ignore-case': ['Init'] } }] } }, { s: 'INIT' }, false],
  ['anything-but ignore case, other', { data: { s: [{ 'anything-but': { 'equals-ignore-case': 'Init' } }] } }, { s: 'run' }, true],
  ['anything-but wildcard', { data: { p: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, { p: 'src/lib/a.ts' }, false],
  ['anything-but wildcard, other', { data: { p: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, { p: 'src/a.ts' }, true],
  // numeric.
  ['numeric >', { data: { t: [{ numeric: ['>', 30] }] } }, { t: 31 }, true],
  ['numeric >, at the bound', { data: { t: [{ numeric: ['>', 30] }] } }, { t: 30 }, false],
  ['numeric >=, at the bound', { data: { t: [{ numeric: ['>=', 30] }] } }, { t: 30 }, true],
  ['numeric <', { data: { t: [{ numeric: ['<', 0] }] } }, { t: -0.5 }, true],
  ['numeric <, above', { data: { t: [{ numeric: ['<', 0] }] } }, { t: 0 }, false],
  ['numeric <=, at the bound', { data: { t: [{ numeric: ['<=', 0] }] } }, { t: 0 }, true],
  ['numeric =', { data: { t: [{ numeric: ['=', 3.5] }] } }, { t: 3.5 }, true],
  ['numeric =, other', { data: { t: [{ numeric: ['=', 3.5] }] } }, { t: 3.6 }, false],
  ['numeric range inside', { data: { c: [{ numeric: ['>', 0, '<=', 5] }] } }, { c: 5 }, true],
  ['numeric range at the open lower bound', { data: { c: [{ numeric: ['>', 0, '<=', 5] }] } }, { c: 0 }, false],
  ['numeric range above', { data: { c: [{ numeric: ['>', 0, '<=', 5] }] } }, { c: 5.01 }, false],
  ['numeric on a numeric string fails', { data: { t: [{ numeric: ['>', 30] }] } }, { t: '31' }, false],
  ['numeric conditions are OR', { data: { t: [{ numeric: ['<', 0] }, { numeric: ['>', 100] }] } }, { t: 101 }, true],
  // exists.
  ['exists true', { data: { id: [{ exists: true }] } }, { id: 'x' }, true],
  ['exists true, null counts', { data: { id: [{ exists: true }] } }, { id: null }, true],
  ['exists true, missing', { data: { id: [{ exists: true }] } }, { other: 1 }, false],
  ['exists true, an object is no leaf', { data: { id: [{ exists: true }] } }, { id: { a: 1 } }, false],
  ['exists true, empty array', { data: { id: [{ exists: true }] } }, { id: [] }, false],
  ['exists false, missing', { data: { id: [{ exists: false }] } }, { other: 1 }, true],
  ['exists false, present', { data: { id: [{ exists: false }] } }, { id: 0 }, false],
  ['exists false deep under a missing object', { data: { a: { b: [{ exists: false }] } } }, {}, true],
  ['exists false OR a value', { data: { v: [{ exists: false }, 'x'] } }, { v: 'x' }, true],
  ['exists false OR a value, other value', { data: { v: [{ exists: false }, 'x'] } }, { v: 'y' }, false],
  // cidr.
  ['cidr inside', { data: { ip: [{ cidr: '10.0.0.0/24' }] } }, { ip: '10.0.0.255' }, true],
  ['cidr outside', { data: { ip: [{ cidr: '10.0.0.0/24' }] } }, { ip: '10.0.1.0' }, false],
  ['cidr /0 takes any address', { data: { ip: [{ cidr: '0.0.0.0/0' }] } }, { ip: '203.0.113.9' }, true],
  ['cidr /32', { data: { ip: [{ cidr: '192.168.1.7/32' }] } }, { ip: '192.168.1.8' }, false],
  ['cidr on a non-address', { data: { ip: [{ cidr: '10.0.0.0/8' }] } }, { ip: '10.0.0' }, false],
  // wildcard.
  ['wildcard', { data: { f: [{ wildcard: 'dir/*.png' }] } }, { f: 'dir/a/b.png' }, true],
  ['wildcard, other', { data: { f: [{ wildcard: 'dir/*.png' }] } }, { f: 'dir/a.jpg' }, false],
  ['wildcard is anchored', { data: { f: [{ wildcard: 'a*' }] } }, { f: 'ba' }, false],
  ['wildcard dot is literal', { data: { f: [{ wildcard: 'a.c' }] } }, { f: 'abc' }, false],
  ['wildcard escaped star is literal', { data: { f: [{ wildcard: 'a\\*' }] } }, { f: 'ab' }, false],
  ['wildcard escaped star matches a star', { data: { f: [{ wildcard: 'a\\*' }] } }, { f: 'a*' }, true],
  // Nesting, AND, arrays in the data.
  ['nested objects', { data: { order: { type: ['buy'] } } }, { order: { type: 'buy' } }, true],
  ['nested, a missing level', { data: { order: { type: ['buy'] } } }, { type: 'buy' }, false],
  ['keys are AND', { data: { a: ['1'], b: ['2'] } }, { a: '1', b: '3' }, false],
  ['keys are AND, both hold', { data: { a: ['1'], b: ['2'] } }, { a: '1', b: '2' }, true],
  ['an array in the data: any element', { data: { tags: ['red'] } }, { tags: ['blue', 'red'] }, true],
  ['an array in the data: none', { data: { tags: ['red'] } }, { tags: ['blue', 'green'] }, false],
  ['nested arrays in the data are flattened', { data: { tags: ['red'] } }, { tags: [['blue'], ['red']] }, true],
  ['an array of objects: one element matches', { data: { items: { sku: ['b'] } } }, { items: [{ sku: 'a' }, { sku: 'b' }] }, true],
  [
    'an array of objects: fields must match in one element',
    { data: { items: { sku: ['a'], qty: [2] } } },
    {
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2 },
      ],
    },
    false,
  ],
  ['data that is a JSON scalar', { data: ['hello'] }, 'hello', true],
  // $or.
  ['$or, first branch', { data: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { a: '1' }, true],
  ['$or, second branch', { data: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { b: '2' }, true],
  ['$or, neither', { data: { $or: [{ a: ['1'] }, { b: ['2'] }] } }, { a: '2', b: '1' }, false],
  ['$or is ANDed with its siblings', { data: { c: ['x'], $or: [{ a: ['1'] }, { b: ['2'] }] } }, { a: '1', c: 'y' }, false],
  ['$or at the top level', { $or: [{ partitionKey: ['pk-9'] }, { data: { a: ['1'] } }] }, { a: '1' }, true],
  // partitionKey, and data that is not JSON.
  ['partitionKey', { partitionKey: ['pk-1'] }, { a: 1 }, true],
  ['partitionKey, other', { partitionKey: [{ prefix: 'other' }] }, { a: 1 }, false],
  ['non-JSON data: a pattern on partitionKey alone', { partitionKey: [{ prefix: 'pk-' }] }, NOT_JSON, true],
  ['non-JSON data: a pattern on data', { data: { temperature: [{ numeric: ['>', 30] }] } }, NOT_JSON, false],
  ['non-JSON data: even exists false under data', { data: { temperature: [{ exists: false }] } }, NOT_JSON, false],
  ['non-JSON data: anything-but on data', { data: [{ 'anything-but': 'x' }] }, NOT_JSON, false],
  ['non-JSON data: partitionKey AND data', { partitionKey: ['pk-1'], data: { a: [{ exists: false }] } }, NOT_JSON, false],
  ['non-JSON data: $or branch off data', { $or: [{ data: { a: ['1'] } }, { partitionKey: ['pk-1'] }] }, NOT_JSON, true],
  ['data that is not UTF-8', { data: { a: [{ exists: false }] } }, NOT_UTF8, false],
];

describe('compileFilterCriteria matching', () => {
  it.each(rows)('%s', (_name, pattern, data, expected) => {
    expect(compile(pattern).matches(record(data))).toBe(expected);
  });

  it('the parsed pattern from the Lambda guide selects records as documented', () => {
    const filter = compile('{ "data" : { "order" : { "type" : [ "buy" ] } } }');
    expect(filter.matches(record({ record: 12345, order: { type: 'buy', stock: 'ANYCO', quantity: 1000 } }))).toBe(true);
    expect(filter.matches(record({ record: 12346, order: { type: 'sell', stock: 'ANYCO', quantity: 1000 } }))).toBe(false);
  });

  it('a record passes when any filter matches', () => {
    const filter = compile({ data: { t: [{ numeric: ['>', 30] }] } }, { data: { alarm: [true] } }, { partitionKey: ['vip'] });
    expect(filter.matches(record({ t: 31, alarm: false }))).toBe(true);
    expect(filter.matches(record({ t: 10, alarm: true }))).toBe(true);
    expect(filter.matches(record({ t: 10, alarm: false }, 'vip'))).toBe(true);
    expect(filter.matches(record({ t: 10, alarm: false }))).toBe(false);
    expect(filter.matches(record(NOT_JSON, 'vip'))).toBe(true);
    expect(filter.matches(record(NOT_JSON))).toBe(false);
  });

  it('a compiled filter keeps no state between records', () => {
    const filter = compile({ data: { v: [{ exists: false }] } });
    expect(filter.matches(record({ v: 1 }))).toBe(false);
    expect(filter.matches(record({}))).toBe(true);
    expect(filter.matches(record({ v: 1 }))).toBe(false);
  });

  it.each([[undefined], [null], [{}], [{ Filters: [] }], [{ Filters: null }]])('no filters (%j): null, everything passes', (input) => {
    expect(compileFilterCriteria(input)).toBeNull();
  });
});

type BadRow = [name: string, criteria: unknown, index: number | undefined, message: string];

function bad(pattern: unknown): { Filters: { Pattern: string }[] } {
  return criteria(pattern);
}

/** A valid pattern of exactly `length` characters. */
function patternOfLength(length: number): string {
  const base = JSON.stringify({ partitionKey: [''] });
  return JSON.stringify({ partitionKey: ['x'.repeat(length - base.length)] });
}

const LEAD = 'Invalid filter pattern definition. Filters[0]: ';

const badRows: BadRow[] = [
  ['criteria not an object', 'x', undefined, 'FilterCriteria must be an object with a Filters list.'],
  ['criteria with an unknown member', { Filters: [], Other: 1 }, undefined, 'FilterCriteria has an unknown member "Other".'],
  ['Filters not a list', { Filters: {} }, undefined, 'FilterCriteria.Filters must be a list.'],
  [
    'more filters than allowed',
    criteria(...Array.from({ length: FILTERS_MAX + 1 }, () => ({ partitionKey: ['a'] }))),
    undefined,
    `FilterCriteria has ${FILTERS_MAX + 1} filters: at most ${FILTERS_MAX} are allowed.`,
  ],
  ['filter not an object', { Filters: ['x'] }, 0, `${LEAD}a filter must be an object with a Pattern.`],
  ['filter with an unknown member', { Filters: [{ Pattern: '{}', X: 1 }] }, 0, `${LEAD}unknown member "X" (a filter has only Pattern).`],
  ['Pattern missing', { Filters: [{}] }, 0, `${LEAD}Pattern must be a string.`],
  ['Pattern not JSON', bad('{"data": '), 0, `${LEAD}Pattern is not JSON (`],
  ['Pattern a JSON array', bad('[1]'), 0, `${LEAD}the pattern must be a JSON object.`],
  ['Pattern an empty object', bad('{}'), 0, `${LEAD}the pattern must not be an empty object.`],
  [
    'Pattern too long',
    bad(patternOfLength(PATTERN_CHARS_MAX + 1)),
    0,
    `${LEAD}Pattern is ${PATTERN_CHARS_MAX + 1} characters long: at most ${PATTERN_CHARS_MAX} are allowed.`,
  ],
  [
    'a top-level key other than data and partitionKey',
    bad({ eventName: ['x'] }),
    0,
    `${LEAD}"eventName" is not a field filters can use: Kinesis records are filtered on data (and partitionKey).`,
  ],
  [
    'partitionKey as an object',
    bad({ partitionKey: { a: ['x'] } }),
    0,
    `${LEAD}"partitionKey" is a string: its pattern must be an array of conditions.`,
  ],
  ['a bare value instead of an array', bad({ data: { type: 'buy' } }), 0, `${LEAD}"data.type" must be an object or an array.`],
  ['an empty array', bad({ data: { type: [] } }), 0, `${LEAD}"data.type" must not be an empty array.`],
  ['an empty nested object', bad({ data: { order: {} } }), 0, `${LEAD}"data.order" must not be an empty object.`],
  [
    'an array as a condition',
    bad({ data: { v: [['x']] } }),
    0,
    `${LEAD}"data.v": ["x"] is not a condition (a string, number, boolean, null or operator object).`,
  ],
  ['an unknown operator', bad({ data: { v: [{ contains: 'x' }] } }), 0, `${LEAD}"data.v": unknown operator "contains".`],
  [
    'two operators in one object',
    bad({ data: { v: [{ prefix: 'a', suffix: 'b' }] } }),
    0,
    `${LEAD}"data.v": a condition object must have exactly one operator, found 2.`,
  ],
  [
    'an empty operator object',
    bad({ data: { v: [{}] } }),
    0,
    `${LEAD}"data.v": a condition object must have exactly one operator, found 0.`,
  ],
  [
    'prefix not a string',
    bad({ data: { v: [{ prefix: 1 }] } }),
    0,
    `${LEAD}"data.v": prefix takes a string or {"equals-ignore-case": string}.`,
  ],
  [
    'suffix with another inner operator',
    bad({ data: { v: [{ suffix: { wildcard: 'x' } }] } }),
    0,
    `${LEAD}"data.v": suffix takes a string or {"equals-ignore-case": string}.`,
  ],
  [
    'equals-ignore-case not a string',
    bad({ data: { v: [{ 'equals-ignore-case': ['a'] }] } }),
    0,
    `${LEAD}"data.v": equals-ignore-case takes a string.`,
  ],
  ['exists not a boolean', bad({ data: { v: [{ exists: 'yes' }] } }), 0, `${LEAD}"data.v": exists takes true or false.`],
  [
    'anything-but empty list',
    bad({ data: { v: [{ 'anything-but': [] }] } }),
    0,
    `${LEAD}"data.v": anything-but must not be an empty list.`,
  ],
  [
    'anything-but mixed list',
    bad({ data: { v: [{ 'anything-but': ['a', 1] }] } }),
    0,
    `${LEAD}"data.v": anything-but takes a list of only strings or only numbers.`,
  ],
  [
    'anything-but boolean',
    bad({ data: { v: [{ 'anything-but': true }] } }),
    0,
    `${LEAD}"data.v": anything-but takes a string, a number, a list of them, or an object with one operator.`,
  ],
  [
    'anything-but unknown inner operator',
    bad({ data: { v: [{ 'anything-but': { numeric: ['>', 1] } }] } }),
    0,
    `${LEAD}"data.v": anything-but: unknown operator "numeric" (prefix, suffix, equals-ignore-case or wildcard).`,
  ],
  [
    'anything-but prefix not a string',
    bad({ data: { v: [{ 'anything-but': { prefix: 1 } }] } }),
    0,
    `${LEAD}"data.v": anything-but prefix takes a string.`,
  ],
  [
    'numeric with three elements',
    bad({ data: { v: [{ numeric: ['>', 1, '<'] }] } }),
    0,
    `${LEAD}"data.v": numeric takes [operator, number] or [">" or ">=", number, "<" or "<=", number].`,
  ],
  ['numeric unknown comparison', bad({ data: { v: [{ numeric: ['!=', 1] }] } }), 0, `${LEAD}"data.v": numeric: "!=" is not a comparison.`],
  [
    'numeric bound not a number',
    bad({ data: { v: [{ numeric: ['>', '1'] }] } }),
    0,
    `${LEAD}"data.v": numeric: ">" must be followed by a number.`,
  ],
  [
    'numeric range upper bound first',
    bad({ data: { v: [{ numeric: ['<', 5, '>', 0] }] } }),
    0,
    `${LEAD}"data.v": numeric: a range is a lower bound (> or >=) then an upper bound (< or <=).`,
  ],
  [
    'numeric empty range',
    bad({ data: { v: [{ numeric: ['>', 5, '<', 5] }] } }),
    0,
    `${LEAD}"data.v": numeric: the lower bound 5 must be below the upper bound 5.`,
  ],
  [
    'cidr with a bad prefix length',
    bad({ data: { ip: [{ cidr: '10.0.0.0/33' }] } }),
    0,
    `${LEAD}"data.ip": cidr: "10.0.0.0/33" is not an IPv4 CIDR block (IPv6 is not supported here).`,
  ],
  [
    'cidr with a bad octet',
    bad({ data: { ip: [{ cidr: '10.0.256.0/24' }] } }),
    0,
    `${LEAD}"data.ip": cidr: "10.0.256.0/24" is not an IPv4 CIDR block (IPv6 is not supported here).`,
  ],
  [
    'wildcard with consecutive stars',
    bad({ data: { f: [{ wildcard: 'a**b' }] } }),
    0,
    `${LEAD}"data.f": wildcard: "a**b" has consecutive wildcard characters.`,
  ],
  [
    'wildcard with a bad escape',
    bad({ data: { f: [{ wildcard: 'a\\b' }] } }),
    0,
    `${LEAD}"data.f": wildcard: "a\\\\b" has an invalid escape (only \\* and \\\\).`,
  ],
  ['$or with one branch', bad({ data: { $or: [{ a: ['1'] }] } }), 0, `${LEAD}"data.$or" must be an array of at least two patterns.`],
  ['$or not an array', bad({ $or: { a: ['1'] } }), 0, `${LEAD}"$or" must be an array of at least two patterns.`],
  [
    '$or branch at the top level naming another field',
    bad({ $or: [{ partitionKey: ['a'] }, { sequenceNumber: ['1'] }] }),
    0,
    `${LEAD}"sequenceNumber" is not a field filters can use: Kinesis records are filtered on data (and partitionKey).`,
  ],
  [
    'the index of the bad filter',
    criteria({ partitionKey: ['a'] }, { partitionKey: ['b'] }, { data: { v: [{ nope: 1 }] } }),
    2,
    'Invalid filter pattern definition. Filters[2]: "data.v": unknown operator "nope".',
  ],
];

describe('compileFilterCriteria refusals', () => {
  it.each(badRows)('%s', (_name, input, index, message) => {
    let thrown: unknown;
    try {
      compileFilterCriteria(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidFilterPatternError);
    const error = thrown as InvalidFilterPatternError;
    expect(error.code).toBe('InvalidParameterValueException');
    expect(error.fault).toBe('client');
    expect(error.retriable).toBe(false);
    expect(error.filterIndex).toBe(index);
    if (message.endsWith('(')) expect(error.message.startsWith(message)).toBe(true);
    else expect(error.message).toBe(message);
  });

  it('a pattern of exactly the limit is accepted', () => {
    const pattern = patternOfLength(PATTERN_CHARS_MAX);
    expect(pattern.length).toBe(PATTERN_CHARS_MAX);
    expect(compileFilterCriteria(criteria(pattern))).not.toBeNull();
  });

  it('exactly the maximum number of filters is accepted', () => {
    const patterns = Array.from({ length: FILTERS_MAX }, (_, i) => ({ partitionKey: [`k${i}`] }));
    const filter = compileFilterCriteria(criteria(...patterns));
    expect(filter?.matches(record({}, `k${FILTERS_MAX - 1}`))).toBe(true);
  });
});
