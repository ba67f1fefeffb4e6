import { describe, expect, it } from 'vitest';
import type { ColumnDeclaration, ScalarType, SourceFormat } from '../../src/queries/ast.js';
import { RecordError, type Value } from '../../src/queries/plan_types.js';
import { recordDecoder } from '../../src/queries/record_decoder.js';

// Goal: a record's bytes become the fields a query reads, as its FORMAT says: JSON objects with
// declared columns converted to their types, CSV rows with RFC 4180 quoting, RAW with none; and a
// record that is not what the format says is a RecordError with a short reason.
// Method: small records through recordDecoder, each bad one checked for its message.

const at = { offset: 0, line: 1, column: 1 };
const decl = (name: string, type: ScalarType): ColumnDeclaration => ({ name, type, at });
const encoder = new TextEncoder();

function input(data: string | Uint8Array) {
  return {
    data: typeof data === 'string' ? encoder.encode(data) : data,
    partitionKey: 'pk',
    sequenceNumber: '49',
    subSequenceNumber: 2,
    shardId: 'shardId-000000000000',
    arrivalMs: 1234,
  };
}

const fields = (format: SourceFormat, data: string | Uint8Array): Value => recordDecoder(format)(input(data)).fields;

describe('recordDecoder: JSON', () => {
  const free: SourceFormat = { kind: 'json' };
  const typed: SourceFormat = {
    kind: 'json',
    columns: [decl('n', 'BIGINT'), decl('x', 'DOUBLE'), decl('s', 'VARCHAR'), decl('b', 'BOOLEAN'), decl('t', 'TIMESTAMP')],
  };

  it('keeps the record as it is and the object as parsed', () => {
    const record = recordDecoder(free)(input('{"a":{"b":[1,2]},"c":null}'));
    expect(record).toEqual({ ...input('{"a":{"b":[1,2]},"c":null}'), fields: { a: { b: [1, 2] }, c: null } });
  });

  it('converts declared columns to their types and keeps the other fields', () => {
    expect(fields(typed, '{"n":"12","x":"1.5","s":7,"b":"true","t":"2024-01-01T00:00:01Z","other":[1]}')).toEqual({
      n: 12,
      x: 1.5,
      s: '7',
      b: true,
      t: Date.UTC(2024, 0, 1, 0, 0, 1),
      other: [1],
    });
    expect(fields(typed, '{"n":-3,"x":2,"s":{"k":1},"b":0,"t":99}')).toEqual({ n: -3, x: 2, s: '{"k":1}', b: false, t: 99 });
    expect(fields(typed, '{"n":null}')).toEqual({ n: null });
  });

  const bad: [string, string][] = [
    ['{"a":', 'not valid JSON: '],
    ['[1,2]', 'not a JSON object'],
    ['42', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['{"n":1.5}', 'field "n": 1.5 is not a BIGINT'],
    ['{"n":"1.5"}', 'field "n": "1.5" is not a BIGINT'],
    ['{"n":"abc"}', 'field "n": "abc" is not a BIGINT'],
    ['{"n":true}', 'field "n": true is not a BIGINT'],
    ['{"x":"NaN"}', 'field "x": "NaN" is not a DOUBLE'],
    ['{"b":"maybe"}', 'field "b": "maybe" is not a BOOLEAN'],
    ['{"t":"not a time"}', 'field "t": "not a time" is not a TIMESTAMP'],
  ];
  it.each(bad)('refuses %s as a RecordError', (data, message) => {
    expect(() => fields(typed, data)).toThrow(RecordError);
    expect(() => fields(typed, data)).toThrow(message);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => fields(free, new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(new RecordError('not valid UTF-8'));
  });
});

describe('recordDecoder: CSV', () => {
  const csv: SourceFormat = {
    kind: 'csv',
    delimiter: ',',
    columns: [decl('s', 'VARCHAR'), decl('n', 'BIGINT'), decl('x', 'DOUBLE'), decl('b', 'BOOLEAN'), decl('t', 'TIMESTAMP')],
  };

  it('reads the declared columns in order, converted from their text', () => {
    expect(fields(csv, 'abc,42,2.5,false,2024-01-01 00:00:00')).toEqual({ s: 'abc', n: 42, x: 2.5, b: false, t: Date.UTC(2024, 0, 1) });
  });

  it('removes one trailing \\n or \\r\\n', () => {
    expect(fields(csv, 'a,1,1,true,5\n')).toMatchObject({ s: 'a', t: 5 });
    expect(fields(csv, 'a,1,1,true,5\r\n')).toMatchObject({ s: 'a', t: 5 });
  });

  it("reads '' as NULL except for VARCHAR", () => {
    expect(fields(csv, ',,,,')).toEqual({ s: '', n: null, x: null, b: null, t: null });
    expect(fields(csv, '"",1,"",,')).toEqual({ s: '', n: 1, x: null, b: null, t: null });
  });

  it('unquotes RFC 4180 fields: the delimiter, "" and newlines inside quotes', () => {
    expect(fields(csv, '"a,b ""c""",1,1,true,"5"')).toMatchObject({ s: 'a,b "c"', n: 1, t: 5 });
    expect(fields(csv, '"line1\nline2",1,1,true,5')).toMatchObject({ s: 'line1\nline2' });
    expect(fields(csv, 'say "hi",1,1,true,5')).toMatchObject({ s: 'say "hi"' });
    expect(fields(csv, '"""",1,1,true,"5"')).toMatchObject({ s: '"' });
  });

  it('splits on the declared delimiter', () => {
    const tsv: SourceFormat = { kind: 'csv', delimiter: '\t', columns: [decl('a', 'VARCHAR'), decl('b', 'VARCHAR')] };
    expect(fields(tsv, 'x,y\t"z\tw"')).toEqual({ a: 'x,y', b: 'z\tw' });
    const multi: SourceFormat = { kind: 'csv', delimiter: '::', columns: [decl('a', 'VARCHAR'), decl('b', 'VARCHAR')] };
    expect(fields(multi, '"x::"::y')).toEqual({ a: 'x::', b: 'y' });
  });

  it('makes a column named __proto__ a field', () => {
    const proto: SourceFormat = { kind: 'csv', delimiter: ',', columns: [decl('__proto__', 'VARCHAR')] };
    const decoded = fields(proto, 'x') as Record<string, Value>;
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
  });

  const bad: [string, string][] = [
    ['a,1,1,true', 'CSV row has 4 fields, the format declares 5'],
    ['a,1,1,true,5,6', 'CSV row has 6 fields, the format declares 5'],
    ['"a,1,1,true,5', 'CSV row has a quoted field without its closing quote'],
    ['"a"b,1,1,true,5', 'CSV row has text after a quoted field'],
    ['a,abc,1,true,5', 'field "n": "abc" is not a BIGINT'],
    ['a,1.5,1,true,5', 'field "n": "1.5" is not a BIGINT'],
    ['a,1,x,true,5', 'field "x": "x" is not a DOUBLE'],
    ['a,1,1,yes,5', 'field "b": "yes" is not a BOOLEAN'],
    ['a,1,1,true,soon', 'field "t": "soon" is not a TIMESTAMP'],
  ];
  it.each(bad)('refuses %j as a RecordError', (data, message) => {
    expect(() => fields(csv, data)).toThrow(new RecordError(message));
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => fields(csv, new Uint8Array([0xc3]))).toThrow(new RecordError('not valid UTF-8'));
  });
});

describe('recordDecoder: RAW', () => {
  it('has no fields and keeps the bytes, whatever they are', () => {
    const data = new Uint8Array([0xff, 0x00]);
    const record = recordDecoder({ kind: 'raw' })(input(data));
    expect(record.fields).toBeNull();
    expect(record.data).toBe(data);
    expect(record).toMatchObject({
      partitionKey: 'pk',
      sequenceNumber: '49',
      subSequenceNumber: 2,
      shardId: 'shardId-000000000000',
      arrivalMs: 1234,
    });
  });
});
