import { gunzipSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { resolveFormatConversion, toParquet, type FormatConversion } from '../../src/delivery/parquet.js';
import { InvalidArgumentException } from '../../src/errors.js';

// Goal: Firehose's record format conversion writes Parquet that another reader gets the same
// values and types back from: every supported Hive type (numbers to the last digit), nulls for
// missing fields, OpenX's key matching and coercions against Hive's strictness, nested arrays,
// maps and structs, each compression; records that do not convert fail one by one with Firehose's
// error codes while the rest convert; and each bad configuration member is refused by name.
// Method: records written as JSON text, converted by toParquet, read back with hyparquet (an
// implementation independent of the writer) and compared exactly, Parquet schema included.

const encoder = new TextEncoder();

interface Options {
  readonly deserializer?: Record<string, unknown>;
  readonly parquet?: Record<string, unknown>;
}

function config(columns: Record<string, string>, options: Options = {}): Record<string, unknown> {
  return {
    Enabled: true,
    InputFormatConfiguration: { Deserializer: options.deserializer ?? { OpenXJsonSerDe: {} } },
    OutputFormatConfiguration: { Serializer: { ParquetSerDe: options.parquet ?? {} } },
    SchemaConfiguration: { Columns: Object.entries(columns).map(([Name, Type]) => ({ Name, Type })) },
  };
}

function conversion(columns: Record<string, string>, options: Options = {}): FormatConversion {
  const resolved = resolveFormatConversion(config(columns, options));
  if (resolved === null) throw new Error('conversion resolved to none');
  return resolved;
}

/** Each record's bytes: its JSON text as written, so a number keeps the digits it was given. */
function records(texts: readonly (string | Uint8Array)[]): Uint8Array[] {
  return texts.map((text) => (typeof text === 'string' ? encoder.encode(text) : text));
}

function arrayBufferOf(file: Uint8Array): ArrayBuffer {
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
}

async function read(file: Uint8Array | null): Promise<Record<string, unknown>[]> {
  if (file === null) throw new Error('no file was written');
  // hyparquet reads Snappy itself; GZIP it takes as a decompressor.
  return parquetReadObjects({ file: arrayBufferOf(file), compressors: { GZIP: (input) => new Uint8Array(gunzipSync(input)) } });
}

async function convert(columns: Record<string, string>, texts: readonly (string | Uint8Array)[], options: Options = {}) {
  const { file, failures } = await toParquet(records(texts), conversion(columns, options));
  return { file, failures, rows: file === null ? [] : await read(file) };
}

/** Each schema element as [name, physical type, converted type, repetition]. */
function schemaOf(file: Uint8Array | null): (string | undefined)[][] {
  if (file === null) throw new Error('no file was written');
  return parquetMetadata(file)
    .schema.slice(1)
    .map((element) => [element.name, element.type, element.converted_type, element.repetition_type]);
}

const HIVE = { HiveJsonSerDe: {} };

describe('toParquet: types', () => {
  it('writes every primitive Hive type with its Parquet type, and reads back the values written', async () => {
    const columns = {
      s: 'string',
      b: 'boolean',
      t: 'tinyint',
      sm: 'smallint',
      i: 'int',
      big: 'bigint',
      f: 'float',
      d: 'double',
      dec: 'decimal(10,2)',
      ts: 'timestamp',
      dt: 'date',
    };
    const { file, failures, rows } = await convert(columns, [
      '{"s":"héllo ✓","b":true,"t":-128,"sm":32767,"i":-2147483648,"big":9223372036854775807,"f":1.1,"d":0.1,' +
        '"dec":-12345678.91,"ts":"2026-09-07 12:00:02.123","dt":"2026-09-07"}',
      '{"s":"","b":false,"t":127,"sm":-32768,"i":2147483647,"big":-9223372036854775808,"f":-3.4e38,"d":-1e308,' +
        '"dec":0,"ts":"1969-12-31 23:59:59","dt":"1969-12-31"}',
    ]);
    expect(failures).toEqual([]);
    expect(rows).toEqual([
      {
        s: 'héllo ✓',
        b: true,
        t: -128,
        sm: 32767,
        i: -2147483648,
        big: 9223372036854775807n,
        f: Math.fround(1.1),
        d: 0.1,
        dec: -12345678.91,
        ts: new Date(Date.UTC(2026, 8, 7, 12, 0, 2, 123)),
        dt: new Date(Date.UTC(2026, 8, 7)),
      },
      {
        s: '',
        b: false,
        t: 127,
        sm: -32768,
        i: 2147483647,
        big: -9223372036854775808n,
        f: Math.fround(-3.4e38),
        d: -1e308,
        dec: 0,
        ts: new Date(-1000),
        dt: new Date(-86_400_000),
      },
    ]);
    expect(schemaOf(file)).toEqual([
      ['s', 'BYTE_ARRAY', 'UTF8', 'OPTIONAL'],
      ['b', 'BOOLEAN', undefined, 'OPTIONAL'],
      ['t', 'INT32', 'INT_8', 'OPTIONAL'],
      ['sm', 'INT32', 'INT_16', 'OPTIONAL'],
      ['i', 'INT32', undefined, 'OPTIONAL'],
      ['big', 'INT64', undefined, 'OPTIONAL'],
      ['f', 'FLOAT', undefined, 'OPTIONAL'],
      ['d', 'DOUBLE', undefined, 'OPTIONAL'],
      ['dec', 'FIXED_LEN_BYTE_ARRAY', 'DECIMAL', 'OPTIONAL'],
      ['ts', 'INT64', 'TIMESTAMP_MILLIS', 'OPTIONAL'],
      ['dt', 'INT32', 'DATE', 'OPTIONAL'],
    ]);
    const decimal = parquetMetadata(file!).schema.find((element) => element.name === 'dec');
    expect([decimal?.precision, decimal?.scale, decimal?.type_length]).toEqual([10, 2, 5]);
  });

  it('keeps every digit of a number, and rounds a decimal half up to its scale', async () => {
    const columns = { big: 'bigint', wide: 'decimal(38,0)', cents: 'decimal(5,2)', e: 'decimal(6,0)', i: 'int' };
    const { failures, rows } = await convert(columns, [
      `{"big":9007199254740993,"wide":${'9'.repeat(38)},"cents":1.005,"e":1.5e3,"i":1e2}`,
      `{"big":-9007199254740993,"wide":-${'9'.repeat(38)},"cents":-1.005,"e":-2.5E+1,"i":100.000}`,
      '{"cents":2.004}',
    ]);
    expect(failures).toEqual([]);
    expect(rows).toEqual([
      { big: 9007199254740993n, wide: Number(10n ** 38n - 1n), cents: 1.01, e: 1500, i: 100 },
      { big: -9007199254740993n, wide: -Number(10n ** 38n - 1n), cents: -1.01, e: -25, i: 100 },
      { big: null, wide: null, cents: 2, e: null, i: null },
    ]);
  });

  it('writes nested arrays, maps and structs in the three-level layout, nulls and empties kept apart', async () => {
    const columns = {
      tags: 'array<string>',
      scores: 'map<string,double>',
      profile: 'struct<name:string,langs:array<string>,address:struct<city:string>>',
      matrix: 'array<array<int>>',
      people: 'array<struct<id:bigint>>',
    };
    const { file, failures, rows } = await convert(columns, [
      '{"tags":["a",null,"c"],"scores":{"x":1.5,"y":null},"profile":{"name":"Ada","langs":["en","fr"],"address":{"city":"Paris"}},' +
        '"matrix":[[1,2],[],null,[3]],"people":[{"id":1},null,{"id":18446744073709551}]}',
      '{"tags":[],"scores":{},"profile":{"langs":[]},"matrix":[],"people":[]}',
      '{"tags":null,"scores":null,"profile":null}',
    ]);
    expect(failures).toEqual([]);
    expect(rows).toEqual([
      {
        tags: ['a', null, 'c'],
        scores: { x: 1.5, y: null },
        profile: { name: 'Ada', langs: ['en', 'fr'], address: { city: 'Paris' } },
        matrix: [[1, 2], [], null, [3]],
        people: [{ id: 1n }, null, { id: 18446744073709551n }],
      },
      { tags: [], scores: {}, profile: { name: null, langs: [], address: null }, matrix: [], people: [] },
      { tags: null, scores: null, profile: null, matrix: null, people: null },
    ]);
    expect(schemaOf(file).slice(0, 6)).toEqual([
      ['tags', undefined, 'LIST', 'OPTIONAL'],
      ['list', undefined, undefined, 'REPEATED'],
      ['element', 'BYTE_ARRAY', 'UTF8', 'OPTIONAL'],
      ['scores', undefined, 'MAP', 'OPTIONAL'],
      ['key_value', undefined, undefined, 'REPEATED'],
      ['key', 'BYTE_ARRAY', 'UTF8', 'REQUIRED'],
    ]);
  });

  it('writes a missing field as null, ignores fields outside the schema, and makes every column optional', async () => {
    const columns = { a: 'int', b: 'string', c: 'array<int>', d: 'struct<x:int>' };
    const { file, rows } = await convert(columns, [
      '{"a":1,"extra":"ignored","nested":{"x":2}}',
      '{"a":null,"b":null,"c":null,"d":null}',
      '{}',
    ]);
    expect(rows).toEqual([
      { a: 1, b: null, c: null, d: null },
      { a: null, b: null, c: null, d: null },
      { a: null, b: null, c: null, d: null },
    ]);
    expect(
      schemaOf(file)
        .filter(([name]) => ['a', 'b', 'c', 'd'].includes(name!))
        .map((element) => element[3]),
    ).toEqual(['OPTIONAL', 'OPTIONAL', 'OPTIONAL', 'OPTIONAL']);
  });

  it('gives each object of a record of concatenated objects its row, and fails such a record whole', async () => {
    const { failures, rows } = await convert({ n: 'int' }, ['{"n":1}\n{"n":2}{"n":3}', '{"n":4} {"n":"x"}', '{"n":5}']);
    expect(rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 5 }]);
    expect(failures.map((failure) => [failure.index, failure.errorCode])).toEqual([[1, 'DataFormatConversion.MalformedData']]);
  });
});

describe('toParquet: JSON keys', () => {
  it('matches keys to columns and struct fields whatever their case (OpenX default)', async () => {
    const { rows } = await convert({ userid: 'int', UserName: 'string', s: 'struct<Inner:int>' }, [
      '{"UserId":7,"USERNAME":"x","S":{"INNER":1}}',
    ]);
    expect(rows).toEqual([{ userid: 7, UserName: 'x', s: { Inner: 1 } }]);
  });

  it('matches keys exactly with CaseInsensitive false', async () => {
    const { rows } = await convert({ userid: 'int' }, ['{"UserId":7}', '{"userid":8}'], {
      deserializer: { OpenXJsonSerDe: { CaseInsensitive: false } },
    });
    expect(rows).toEqual([{ userid: null }, { userid: 8 }]);
  });

  it('reads a column from the key ColumnToJsonKeyMappings names', async () => {
    const { rows } = await convert({ ts: 'timestamp', id: 'int' }, ['{"timestamp":"2026-01-02 03:04:05","ts":"ignored","ID":1}'], {
      deserializer: { OpenXJsonSerDe: { ColumnToJsonKeyMappings: { ts: 'timestamp' } } },
    });
    expect(rows).toEqual([{ ts: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), id: 1 }]);
  });

  it('reads a.b as a_b only with ConvertDotsInJsonKeysToUnderscores', async () => {
    const record = ['{"a.b":1,"s":{"x.y":2}}'];
    const columns = { a_b: 'int', s: 'struct<x_y:int>' };
    expect((await convert(columns, record)).rows).toEqual([{ a_b: null, s: { x_y: null } }]);
    const converted = await convert(columns, record, { deserializer: { OpenXJsonSerDe: { ConvertDotsInJsonKeysToUnderscores: true } } });
    expect(converted.rows).toEqual([{ a_b: 1, s: { x_y: 2 } }]);
  });

  it('matches keys whatever their case with the Hive SerDe', async () => {
    const { rows } = await convert({ userid: 'int' }, ['{"UserId":7}'], { deserializer: HIVE });
    expect(rows).toEqual([{ userid: 7 }]);
  });
});

describe('toParquet: OpenX coerces, Hive does not', () => {
  const FAILS = 'fails';
  // [column type, the JSON value, what OpenX writes, what Hive writes]
  const table: [string, string, unknown, unknown][] = [
    ['int', '"42"', 42, FAILS],
    ['bigint', '" -9007199254740993 "', -9007199254740993n, FAILS],
    ['double', '"1.5"', 1.5, FAILS],
    ['decimal(4,2)', '"12.345"', 12.35, FAILS],
    ['boolean', '"TRUE"', true, FAILS],
    ['boolean', '"yes"', FAILS, FAILS],
    ['string', '7.50', '7.50', '7.50'],
    ['string', 'true', 'true', 'true'],
    ['string', '{"k":[1,2.50,null]}', '{"k":[1,2.50,null]}', FAILS],
    ['timestamp', '"2026-9-7 1:02:03"', new Date(Date.UTC(2026, 8, 7, 1, 2, 3)), new Date(Date.UTC(2026, 8, 7, 1, 2, 3))],
    [
      'timestamp',
      '"2026-09-07 12:00:02.123456789"',
      new Date(Date.UTC(2026, 8, 7, 12, 0, 2, 123)),
      new Date(Date.UTC(2026, 8, 7, 12, 0, 2, 123)),
    ],
    ['timestamp', '"2026-09-07T12:00:02.5Z"', new Date(Date.UTC(2026, 8, 7, 12, 0, 2, 500)), FAILS],
    ['timestamp', '1518033528', new Date(1518033528000), FAILS],
    ['timestamp', '1518033528.123', new Date(1518033528123), FAILS],
    ['timestamp', '1518033528123', new Date(1518033528123), FAILS],
    ['timestamp', '"1518033528"', new Date(1518033528000), FAILS],
    ['date', '"2026-9-7"', new Date(Date.UTC(2026, 8, 7)), new Date(Date.UTC(2026, 8, 7))],
    ['date', '"0099-12-31"', new Date('0099-12-31T00:00:00Z'), new Date('0099-12-31T00:00:00Z')],
  ];

  for (const [deserializer, name, column] of [
    [{ OpenXJsonSerDe: {} }, 'OpenX', 2],
    [HIVE, 'Hive', 3],
  ] as const) {
    it(`${name}: each value is written or fails as the SerDe reads it`, async () => {
      for (const row of table) {
        const [type, json] = row;
        const expected = row[column];
        const { failures, rows } = await convert({ v: type }, [`{"v":${json}}`], { deserializer });
        const outcome = failures.length > 0 ? failures[0]!.errorCode : rows[0]!.v;
        expect(outcome, `${type} ${json}`).toEqual(expected === FAILS ? 'DataFormatConversion.MalformedData' : expected);
      }
    });
  }
});

describe('toParquet: failures', () => {
  const columns = {
    n: 'int',
    tiny: 'tinyint',
    big: 'bigint',
    f: 'float',
    dec: 'decimal(4,1)',
    dt: 'date',
    ts: 'timestamp',
    arr: 'array<int>',
    st: 'struct<x:int>',
    m: 'map<string,int>',
  };
  const PARSE = 'DataFormatConversion.ParseError';
  const MALFORMED = 'DataFormatConversion.MalformedData';
  const cases: [string | Uint8Array, string][] = [
    ['{"n":', PARSE],
    ['[{"n":1}]', MALFORMED],
    ['42', MALFORMED],
    ['{"n":"abc"}', MALFORMED],
    ['{"tiny":128}', MALFORMED],
    ['{"n":1.5}', MALFORMED],
    ['{"big":9223372036854775808}', MALFORMED],
    ['{"f":1e39}', MALFORMED],
    ['{"dec":1000}', MALFORMED],
    ['{"dt":"2026-02-30"}', MALFORMED],
    ['{"ts":"2026-09-07 24:00:00"}', MALFORMED],
    ['{"ts":"yesterday"}', MALFORMED],
    ['{"arr":5}', MALFORMED],
    ['{"st":[1]}', MALFORMED],
    ['{"m":{"k":"x"}}', MALFORMED],
    ['{"n":1e999999999}', MALFORMED],
    [new Uint8Array([0x7b, 0xff, 0x7d]), PARSE],
    ['', PARSE],
    ['  \n ', PARSE],
    ['{"n":2} trailing', PARSE],
    ["{'n':1}", PARSE],
    ['{"n":NaN}', PARSE],
    ['{"n":01}', PARSE],
    ['{"n":1,}', PARSE],
    ['{"s":"a\tb"}', PARSE],
  ];

  it('fails each record that does not convert with its index and error code, and converts the rest', async () => {
    const { failures, rows } = await convert(columns, ['{"n":1}', ...cases.map(([record]) => record), '{"n":3}']);
    expect(failures.map((failure) => [failure.index, failure.errorCode])).toEqual(cases.map(([, code], i) => [i + 1, code]));
    expect(rows.map((row) => row.n)).toEqual([1, 3]);
  });

  it("says what did not fit, and where, in Firehose's words", async () => {
    const { failures } = await convert(columns, ['{"n":"abc"}', '{"st":{"x":true}}', '[1]', '{"n":}']);
    expect(failures.map((failure) => failure.errorMessage)).toEqual([
      'Data does not match the schema. n: "abc" is not an integer',
      'Data does not match the schema. st.x: true is not an integer',
      'Data does not match the schema. A record must hold JSON objects, not [1]',
      'Encountered malformed JSON. Unexpected "}" at offset 5: expected a JSON value',
    ]);
  });

  it('writes no file when no record converts, or none is given', async () => {
    expect(await toParquet(records(['nope']), conversion(columns))).toEqual({
      file: null,
      failures: [
        { index: 0, errorCode: PARSE, errorMessage: 'Encountered malformed JSON. Unexpected "n" at offset 0: expected a JSON value' },
      ],
    });
    expect(await toParquet([], conversion(columns))).toEqual({ file: null, failures: [] });
  });
});

describe('toParquet: compression', () => {
  const columns = { s: 'string', n: 'bigint', tags: 'array<string>' };
  const texts = ['{"s":"a","n":1,"tags":["x"]}', '{"s":null,"n":2,"tags":[]}', `{"s":"${'z'.repeat(1000)}","n":3}`];
  const expected = [
    { s: 'a', n: 1n, tags: ['x'] },
    { s: null, n: 2n, tags: [] },
    { s: 'z'.repeat(1000), n: 3n, tags: null },
  ];

  for (const [compression, codec] of [
    [undefined, 'SNAPPY'],
    ['UNCOMPRESSED', 'UNCOMPRESSED'],
    ['GZIP', 'GZIP'],
    ['SNAPPY', 'SNAPPY'],
  ] as const) {
    it(`${compression ?? 'no Compression'}: every column chunk is ${codec}, and reads back`, async () => {
      const { file, rows } = await convert(columns, texts, { parquet: compression === undefined ? {} : { Compression: compression } });
      expect(rows).toEqual(expected);
      const chunks = parquetMetadata(file!).row_groups.flatMap((group) => group.columns);
      expect(chunks.map((chunk) => chunk.meta_data?.codec)).toEqual([codec, codec, codec]);
    });
  }

  it('writes a large string once: no copies of it as statistics', async () => {
    const large = 'x'.repeat(1_000_000);
    const { file, rows } = await convert({ s: 'string', m: 'map<string,int>' }, [`{"s":"${large}","m":{"${large}":1}}`], {
      parquet: { Compression: 'UNCOMPRESSED' },
    });
    expect(rows).toEqual([{ s: large, m: { [large]: 1 } }]);
    expect(file!.length).toBeLessThan(2_100_000);
  });

  it('WriterVersion V2 writes another file that reads back the same', async () => {
    const v1 = await convert(columns, texts);
    const v2 = await convert(columns, texts, { parquet: { WriterVersion: 'V2' } });
    expect(v2.rows).toEqual(expected);
    expect(Buffer.from(v2.file!).equals(Buffer.from(v1.file!))).toBe(false);
  });
});

describe('resolveFormatConversion', () => {
  it('is none when absent or disabled, a disabled configuration being left unchecked', () => {
    expect(resolveFormatConversion(undefined)).toBeNull();
    expect(resolveFormatConversion(null)).toBeNull();
    expect(resolveFormatConversion({ Enabled: false, SchemaConfiguration: 'anything' })).toBeNull();
  });

  it("fills Firehose's defaults, writes each type in canonical form, and accepts the members it does not use", () => {
    const resolved = resolveFormatConversion({
      InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
      OutputFormatConfiguration: {
        Serializer: {
          ParquetSerDe: { BlockSizeBytes: 268_435_456, PageSizeBytes: 1_048_576, EnableDictionaryCompression: true, MaxPaddingBytes: 0 },
        },
      },
      SchemaConfiguration: {
        DatabaseName: 'db',
        TableName: 'events',
        RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        Columns: [
          { Name: 'amount', Type: 'DECIMAL( 10 , 2 )' },
          { Name: 'whole', Type: 'decimal' },
          { Name: 'count', Type: 'Integer' },
          { Name: 'items', Type: 'Array< Struct<Sku:STRING, n : int> >' },
          { Name: 'attrs', Type: 'map<string,map<string,boolean>>', Comment: 'ignored' },
        ],
      },
    });
    expect(resolved).toEqual({
      deserializer: 'OpenX',
      caseInsensitive: true,
      convertDotsInJsonKeysToUnderscores: false,
      columnToJsonKeyMappings: {},
      compression: 'SNAPPY',
      writerVersion: 'V1',
      columns: [
        { name: 'amount', type: 'decimal(10,2)' },
        { name: 'whole', type: 'decimal(10,0)' },
        { name: 'count', type: 'int' },
        { name: 'items', type: 'array<struct<Sku:string,n:int>>' },
        { name: 'attrs', type: 'map<string,map<string,boolean>>' },
      ],
    });
    expect(resolveFormatConversion(config({ a: 'int' }, { deserializer: HIVE }))).toMatchObject({
      deserializer: 'Hive',
      caseInsensitive: true,
    });
  });

  const INPUT = 'DataFormatConversionConfiguration.InputFormatConfiguration';
  const OUTPUT = 'DataFormatConversionConfiguration.OutputFormatConfiguration.Serializer';
  const SCHEMA = 'DataFormatConversionConfiguration.SchemaConfiguration';
  /** [what is wrong, the configuration, the start of the message] */
  const refusals: [string, (base: Record<string, unknown>) => unknown, string][] = [
    ['not an object', () => 'parquet', 'DataFormatConversionConfiguration must be an object'],
    ['Enabled not a boolean', (base) => ({ ...base, Enabled: 'yes' }), 'DataFormatConversionConfiguration.Enabled must be true or false'],
    ['no input format', (base) => ({ ...base, InputFormatConfiguration: undefined }), `${INPUT} is required`],
    ['no deserializer', (base) => ({ ...base, InputFormatConfiguration: {} }), `${INPUT}.Deserializer is required`],
    [
      'neither SerDe',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: {} } }),
      `${INPUT}.Deserializer must have exactly one`,
    ],
    [
      'both SerDes',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {}, HiveJsonSerDe: {} } } }),
      `${INPUT}.Deserializer must have exactly one`,
    ],
    [
      'CaseInsensitive not a boolean',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: { CaseInsensitive: 'no' } } } }),
      `${INPUT}.Deserializer.OpenXJsonSerDe.CaseInsensitive must be true or false`,
    ],
    [
      'ConvertDotsInJsonKeysToUnderscores not a boolean',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: { ConvertDotsInJsonKeysToUnderscores: 1 } } } }),
      `${INPUT}.Deserializer.OpenXJsonSerDe.ConvertDotsInJsonKeysToUnderscores must be true or false`,
    ],
    [
      'a blank JSON key mapping',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: { ColumnToJsonKeyMappings: { ts: ' ' } } } } }),
      `${INPUT}.Deserializer.OpenXJsonSerDe.ColumnToJsonKeyMappings.ts must be a JSON key`,
    ],
    [
      'a mapping key with whitespace',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: { ColumnToJsonKeyMappings: { 'a b': 'x' } } } } }),
      `${INPUT}.Deserializer.OpenXJsonSerDe.ColumnToJsonKeyMappings key "a b"`,
    ],
    [
      'Hive TimestampFormats',
      (base) => ({ ...base, InputFormatConfiguration: { Deserializer: { HiveJsonSerDe: { TimestampFormats: ['yyyy-MM-dd'] } } } }),
      `${INPUT}.Deserializer.HiveJsonSerDe.TimestampFormats is not supported`,
    ],
    ['no output format', (base) => ({ ...base, OutputFormatConfiguration: undefined }), `${OUTPUT.replace('.Serializer', '')} is required`],
    ['no serializer', (base) => ({ ...base, OutputFormatConfiguration: {} }), `${OUTPUT} is required`],
    ['ORC', (base) => ({ ...base, OutputFormatConfiguration: { Serializer: { OrcSerDe: {} } } }), `${OUTPUT}.OrcSerDe is not supported`],
    ['no ParquetSerDe', (base) => ({ ...base, OutputFormatConfiguration: { Serializer: {} } }), `${OUTPUT}.ParquetSerDe is required`],
    [
      'another compression',
      (base) => ({ ...base, OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'LZO' } } } }),
      `${OUTPUT}.ParquetSerDe.Compression must be one of UNCOMPRESSED, GZIP, SNAPPY`,
    ],
    [
      'another writer version',
      (base) => ({ ...base, OutputFormatConfiguration: { Serializer: { ParquetSerDe: { WriterVersion: 'V3' } } } }),
      `${OUTPUT}.ParquetSerDe.WriterVersion must be one of V1, V2`,
    ],
    [
      'a block under 64 MiB',
      (base) => ({ ...base, OutputFormatConfiguration: { Serializer: { ParquetSerDe: { BlockSizeBytes: 1024 } } } }),
      `${OUTPUT}.ParquetSerDe.BlockSizeBytes must be an integer of at least 67108864`,
    ],
    [
      'a page under 64 KiB',
      (base) => ({ ...base, OutputFormatConfiguration: { Serializer: { ParquetSerDe: { PageSizeBytes: 1 } } } }),
      `${OUTPUT}.ParquetSerDe.PageSizeBytes must be an integer of at least 65536`,
    ],
    ['no schema', (base) => ({ ...base, SchemaConfiguration: undefined }), `${SCHEMA} is required`],
    [
      'a Glue table instead of columns',
      (base) => ({ ...base, SchemaConfiguration: { DatabaseName: 'db', TableName: 'events' } }),
      `${SCHEMA}.Columns is required: shardline has no Glue Data Catalog`,
    ],
    ['no columns', (base) => ({ ...base, SchemaConfiguration: { Columns: [] } }), `${SCHEMA}.Columns must be a non-empty array`],
    [
      'a column not an object',
      (base) => ({ ...base, SchemaConfiguration: { Columns: ['id int'] } }),
      `${SCHEMA}.Columns[0] must be an object`,
    ],
    [
      'a dotted column name',
      (base) => ({ ...base, SchemaConfiguration: { Columns: [{ Name: 'a.b', Type: 'int' }] } }),
      `${SCHEMA}.Columns[0].Name must be a Hive column name`,
    ],
    [
      'a column named twice',
      (base) => ({
        ...base,
        SchemaConfiguration: {
          Columns: [
            { Name: 'Id', Type: 'int' },
            { Name: 'id', Type: 'int' },
          ],
        },
      }),
      `${SCHEMA}.Columns[1].Name id names a column twice`,
    ],
    [
      'a column without a type',
      (base) => ({ ...base, SchemaConfiguration: { Columns: [{ Name: 'a' }] } }),
      `${SCHEMA}.Columns[0].Type must be a Hive type`,
    ],
  ];

  for (const [what, build, message] of refusals) {
    it(`refuses ${what}`, () => {
      const refuse = () => resolveFormatConversion(build(config({ a: 'int' })));
      expect(refuse).toThrow(InvalidArgumentException);
      expect(refuse).toThrow(message);
    });
  }

  for (const [type, why] of [
    ['varchar(10)', 'varchar is not supported'],
    ['binary', 'binary is not supported'],
    ['uniontype<int,string>', 'uniontype is not supported'],
    ['map<int,string>', 'map keys must be string'],
    ['decimal(39,0)', 'decimal precision must be 1 to 38'],
    ['decimal(5,6)', 'decimal scale must not exceed its precision'],
    ['array<int', 'it ends too early'],
    ['struct<>', '">" is not a struct field name'],
    ['struct<a:int,A:string>', 'struct field A appears twice'],
    ['int extra', 'unexpected "extra"'],
  ] as const) {
    it(`refuses the type ${type}`, () => {
      expect(() => conversion({ a: type })).toThrow(
        `${SCHEMA}.Columns[0].Type "${type}" is not a type shardline converts: ${why} (supported: string, boolean, tinyint,`,
      );
    });
  }
});
