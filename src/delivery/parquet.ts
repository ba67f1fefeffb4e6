import { Writable } from 'node:stream';
import type { WriteStream } from 'node:fs';
import { ParquetSchema, ParquetWriter, type FieldDefinition, type ParquetType } from '@dsnp/parquetjs';
import { InvalidArgumentException } from '../errors.js';

/*
 * Firehose's record format conversion (../shared/reference/kinesis-family.md §5.3): a buffer of
 * JSON records becomes one Parquet object, typed by a table schema, so that Athena, Spark or
 * DuckDB can query what a delivery stream wrote without a JSON pass. On AWS the schema is a Glue
 * table; shardline has no catalog, so SchemaConfiguration carries the table's columns inline
 * (`Columns: [{ Name, Type }]`, Hive type names). Records are read the way the two SerDes
 * Firehose offers read them: OpenX is lenient (numbers written as strings, JSON in a string
 * column, ISO-8601 and epoch timestamps), Hive is strict. A record that cannot be converted is a
 * failure of its own, with Firehose's error code, and the rest of the buffer still converts.
 *
 * JSON is read by a small reader of our own rather than JSON.parse because a number must keep
 * every digit it was written with: a bigint id above 2^53 or a decimal(38,s) amount would
 * otherwise be silently rounded through a double.
 */

export interface ParquetColumn {
  readonly name: string;
  /** A Hive type, as written in a Glue table: `int`, `decimal(10,2)`, `array<struct<a:string>>`. */
  readonly type: string;
}

export type ParquetCompression = 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY';

export interface FormatConversion {
  /** Each column's type in canonical form (lower case, no spaces, decimal's precision and scale spelled out). */
  readonly columns: readonly ParquetColumn[];
  readonly compression: ParquetCompression;
  readonly deserializer: 'OpenX' | 'Hive';
  /** JSON keys match column and struct field names whatever their case (OpenX's CaseInsensitive, default true; Hive always). */
  readonly caseInsensitive: boolean;
  /** OpenX: `a.b` in the JSON is the column `a_b`. */
  readonly convertDotsInJsonKeysToUnderscores: boolean;
  /** OpenX: a column read from a JSON key of another name (`{ ts: 'timestamp' }`). */
  readonly columnToJsonKeyMappings: Readonly<Record<string, string>>;
  /** ParquetSerDe's WriterVersion: V2 writes data pages v2. */
  readonly writerVersion: 'V1' | 'V2';
}

export interface ConversionFailure {
  /** The record's position in the records given. */
  readonly index: number;
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** Firehose's codes for a record it cannot convert, as AWS writes them to the error output (probed: floci-io/floci#3333). */
const PARSE_ERROR = 'DataFormatConversion.ParseError';
const MALFORMED_DATA = 'DataFormatConversion.MalformedData';

const CONFIG = 'DataFormatConversionConfiguration';
const COMPRESSIONS: readonly ParquetCompression[] = ['UNCOMPRESSED', 'GZIP', 'SNAPPY'];
const COLUMN_NAME = /^[A-Za-z0-9_]{1,255}$/;
const MAPPING_MAX = 1024;

/** The conversion a delivery stream asks for; null when there is none or it is disabled. InvalidArgumentException names the bad member. */
export function resolveFormatConversion(config: unknown): FormatConversion | null {
  if (config === undefined || config === null) return null;
  const members = objectOf(config, CONFIG);
  // Firehose counts an omitted Enabled as enabled, and keeps a disabled configuration unchecked.
  if (!booleanOf(members.Enabled, `${CONFIG}.Enabled`, true)) return null;
  return {
    ...deserializerOf(members.InputFormatConfiguration),
    ...serializerOf(members.OutputFormatConfiguration),
    columns: columnsOf(members.SchemaConfiguration),
  };
}

type Deserializer = Pick<
  FormatConversion,
  'deserializer' | 'caseInsensitive' | 'convertDotsInJsonKeysToUnderscores' | 'columnToJsonKeyMappings'
>;

function deserializerOf(value: unknown): Deserializer {
  const path = `${CONFIG}.InputFormatConfiguration.Deserializer`;
  const deserializer = requiredObject(requiredObject(value, `${CONFIG}.InputFormatConfiguration`).Deserializer, path);
  const { OpenXJsonSerDe: openX, HiveJsonSerDe: hive } = deserializer;
  if ((openX === undefined || openX === null) === (hive === undefined || hive === null))
    throw invalid(`${path} must have exactly one of OpenXJsonSerDe and HiveJsonSerDe`);
  return openX !== undefined && openX !== null
    ? openXOf(objectOf(openX, `${path}.OpenXJsonSerDe`), `${path}.OpenXJsonSerDe`)
    : hiveOf(hive, `${path}.HiveJsonSerDe`);
}

function openXOf(serDe: Record<string, unknown>, path: string): Deserializer {
  return {
    deserializer: 'OpenX',
    caseInsensitive: booleanOf(serDe.CaseInsensitive, `${path}.CaseInsensitive`, true),
    convertDotsInJsonKeysToUnderscores: booleanOf(
      serDe.ConvertDotsInJsonKeysToUnderscores,
      `${path}.ConvertDotsInJsonKeysToUnderscores`,
      false,
    ),
    columnToJsonKeyMappings: mappingsOf(serDe.ColumnToJsonKeyMappings, `${path}.ColumnToJsonKeyMappings`),
  };
}

/** Firehose's constraints: keys without whitespace, values not blank, both 1 to 1024 characters. */
function mappingsOf(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const mappings = objectOf(value, path);
  for (const [column, key] of Object.entries(mappings)) {
    if (column.length === 0 || column.length > MAPPING_MAX || /\s/.test(column))
      throw invalid(`${path} key "${column}" must be 1 to ${MAPPING_MAX} characters without whitespace`);
    if (typeof key !== 'string' || key.length > MAPPING_MAX || key.trim() === '')
      throw invalid(`${path}.${column} must be a JSON key of 1 to ${MAPPING_MAX} characters, not blank`);
  }
  return { ...(mappings as Record<string, string>) };
}

function hiveOf(value: unknown, path: string): Deserializer {
  const formats = objectOf(value, path).TimestampFormats;
  if (formats !== undefined && formats !== null && (!Array.isArray(formats) || formats.length > 0))
    throw invalid(
      `${path}.TimestampFormats is not supported: shardline does not implement JodaTime patterns. Remove it (timestamps are then read as yyyy-MM-dd HH:mm:ss[.fffffffff]), or use OpenXJsonSerDe, which also reads ISO-8601 and epoch timestamps`,
    );
  return { deserializer: 'Hive', caseInsensitive: true, convertDotsInJsonKeysToUnderscores: false, columnToJsonKeyMappings: {} };
}

function serializerOf(value: unknown): Pick<FormatConversion, 'compression' | 'writerVersion'> {
  const path = `${CONFIG}.OutputFormatConfiguration.Serializer`;
  const serializer = requiredObject(requiredObject(value, `${CONFIG}.OutputFormatConfiguration`).Serializer, path);
  if (serializer.OrcSerDe !== undefined && serializer.OrcSerDe !== null)
    throw invalid(`${path}.OrcSerDe is not supported: shardline writes Parquet only (use ParquetSerDe)`);
  const parquet = requiredObject(serializer.ParquetSerDe, `${path}.ParquetSerDe`);
  const at = `${path}.ParquetSerDe`;
  // The layout knobs are checked as Firehose checks them, so a configuration written for AWS is
  // accepted as it stands, but not applied: they tune row groups, pages and dictionaries, never
  // what a reader gets back.
  integerOf(parquet.BlockSizeBytes, `${at}.BlockSizeBytes`, 64 * 1024 * 1024);
  integerOf(parquet.PageSizeBytes, `${at}.PageSizeBytes`, 64 * 1024);
  integerOf(parquet.MaxPaddingBytes, `${at}.MaxPaddingBytes`, 0);
  booleanOf(parquet.EnableDictionaryCompression, `${at}.EnableDictionaryCompression`, false);
  return {
    compression: enumOf(parquet.Compression, `${at}.Compression`, COMPRESSIONS, 'SNAPPY'),
    writerVersion: enumOf(parquet.WriterVersion, `${at}.WriterVersion`, ['V1', 'V2'] as const, 'V1'),
  };
}

function columnsOf(value: unknown): ParquetColumn[] {
  const path = `${CONFIG}.SchemaConfiguration.Columns`;
  const columns = requiredObject(value, `${CONFIG}.SchemaConfiguration`).Columns;
  if (columns === undefined || columns === null)
    throw invalid(`${path} is required: shardline has no Glue Data Catalog, so the table's columns are given inline as [{ Name, Type }]`);
  if (!Array.isArray(columns) || columns.length === 0) throw invalid(`${path} must be a non-empty array of { Name, Type }`);
  const seen = new Set<string>();
  return columns.map((column: unknown, i) => {
    const { Name: name, Type: type } = objectOf(column, `${path}[${i}]`);
    if (typeof name !== 'string' || !COLUMN_NAME.test(name))
      throw invalid(`${path}[${i}].Name must be a Hive column name: 1 to 255 letters, digits and underscores`);
    // Hive folds column names to lower case, so two that differ only in case are one column.
    if (seen.has(name.toLowerCase())) throw invalid(`${path}[${i}].Name ${name} names a column twice`);
    seen.add(name.toLowerCase());
    if (typeof type !== 'string') throw invalid(`${path}[${i}].Type must be a Hive type name`);
    return { name, type: typeName(parseHiveType(type, `${path}[${i}].Type`)) };
  });
}

function invalid(message: string): InvalidArgumentException {
  return new InvalidArgumentException(message);
}

function objectOf(value: unknown, member: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${member} must be an object`);
  return value as Record<string, unknown>;
}

function requiredObject(value: unknown, member: string): Record<string, unknown> {
  if (value === undefined || value === null) throw invalid(`${member} is required when format conversion is enabled`);
  return objectOf(value, member);
}

function booleanOf(value: unknown, member: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${member} must be true or false`);
  return value;
}

function integerOf(value: unknown, member: string, min: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw invalid(`${member} must be an integer of at least ${min}`);
}

function enumOf<T extends string>(value: unknown, member: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (!allowed.includes(value as T)) throw invalid(`${member} must be one of ${allowed.join(', ')}`);
  return value as T;
}

// ---- Hive types -------------------------------------------------------------------------------

type Primitive = 'string' | 'boolean' | 'tinyint' | 'smallint' | 'int' | 'bigint' | 'float' | 'double' | 'timestamp' | 'date';

type HiveType =
  | { readonly kind: Primitive }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'array'; readonly element: HiveType }
  | { readonly kind: 'map'; readonly value: HiveType }
  | { readonly kind: 'struct'; readonly fields: readonly { readonly name: string; readonly type: HiveType }[] };

const PRIMITIVES: ReadonlySet<string> = new Set<Primitive>([
  'string',
  'boolean',
  'tinyint',
  'smallint',
  'int',
  'bigint',
  'float',
  'double',
  'timestamp',
  'date',
]);
const SUPPORTED =
  'string, boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), timestamp, date, array<T>, map<string,T>, struct<name:T,...>';
const DECIMAL_PRECISION_MAX = 38;

/** A Hive type name parsed; InvalidArgumentException naming `member` for one this converter cannot write. */
function parseHiveType(text: string, member: string): HiveType {
  const tokens = text.match(/[A-Za-z0-9_]+|[<>(),:]|\S/g) ?? [];
  let at = 0;
  const refuse = (why: string): never => {
    throw invalid(`${member} "${text}" is not a type shardline converts: ${why} (supported: ${SUPPORTED})`);
  };
  const next = (): string => tokens[at++] ?? refuse('it ends too early');
  const expect = (token: string): void => {
    if (next() !== token) refuse(`expected "${token}"`);
  };
  const integer = (): number => {
    const token = next();
    return /^\d{1,2}$/.test(token) ? Number(token) : refuse(`"${token}" is not a precision or scale`);
  };
  const decimal = (): HiveType => {
    if (tokens[at] !== '(') return { kind: 'decimal', precision: 10, scale: 0 };
    at++;
    const precision = integer();
    let scale = 0;
    if (tokens[at] === ',') {
      at++;
      scale = integer();
    }
    expect(')');
    if (precision < 1 || precision > DECIMAL_PRECISION_MAX) refuse(`decimal precision must be 1 to ${DECIMAL_PRECISION_MAX}`);
    if (scale > precision) refuse('decimal scale must not exceed its precision');
    return { kind: 'decimal', precision, scale };
  };
  const struct = (): HiveType => {
    expect('<');
    const fields: { name: string; type: HiveType }[] = [];
    for (;;) {
      const name = next();
      if (!COLUMN_NAME.test(name)) refuse(`"${name}" is not a struct field name`);
      if (fields.some((field) => field.name.toLowerCase() === name.toLowerCase())) refuse(`struct field ${name} appears twice`);
      expect(':');
      fields.push({ name, type: type() });
      if (tokens[at] !== ',') break;
      at++;
    }
    expect('>');
    return { kind: 'struct', fields };
  };
  const type = (): HiveType => {
    const name = next().toLowerCase();
    if (PRIMITIVES.has(name)) return { kind: name as Primitive };
    if (name === 'integer') return { kind: 'int' };
    if (name === 'decimal') return decimal();
    if (name === 'array') {
      expect('<');
      const element = type();
      expect('>');
      return { kind: 'array', element };
    }
    if (name === 'map') {
      expect('<');
      if (next().toLowerCase() !== 'string') refuse('map keys must be string');
      expect(',');
      const value = type();
      expect('>');
      return { kind: 'map', value };
    }
    if (name === 'struct') return struct();
    return refuse(`${name} is not supported`);
  };
  const parsed = type();
  if (at < tokens.length) refuse(`unexpected "${tokens[at]}"`);
  return parsed;
}

function typeName(type: HiveType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${typeName(type.element)}>`;
    case 'map':
      return `map<string,${typeName(type.value)}>`;
    case 'struct':
      return `struct<${type.fields.map((field) => `${field.name}:${typeName(field.type)}`).join(',')}>`;
    default:
      return type.kind;
  }
}

// ---- JSON, numbers kept as written ------------------------------------------------------------

/** A JSON number as its source text. */
class JsonNumber {
  constructor(readonly text: string) {}
}

type Json = null | boolean | string | JsonNumber | readonly Json[] | JsonObject;
type JsonObject = ReadonlyMap<string, Json>;

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in a string
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Strict JSON (RFC 8259), one value after another as Firehose's input allows (`{"a":1}{"a":2}`). */
class JsonReader {
  private at = 0;

  constructor(private readonly text: string) {}

  values(): Json[] {
    const values: Json[] = [];
    for (this.space(); this.at < this.text.length; this.space()) values.push(this.value());
    return values;
  }

  private value(): Json {
    this.space();
    switch (this.text[this.at]) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return new JsonNumber(this.match(NUMBER, 'a JSON value'));
    }
  }

  private object(): JsonObject {
    const members = new Map<string, Json>();
    this.at++;
    if (this.skip('}')) return members;
    do {
      this.space();
      const key = this.string();
      this.space();
      this.expect(':');
      members.set(key, this.value());
    } while (this.skip(','));
    this.expect('}');
    return members;
  }

  private array(): Json[] {
    const elements: Json[] = [];
    this.at++;
    if (this.skip(']')) return elements;
    do {
      elements.push(this.value());
    } while (this.skip(','));
    this.expect(']');
    return elements;
  }

  private string(): string {
    // The pattern has checked every escape, so JSON.parse only decodes them.
    return JSON.parse(this.match(STRING, 'a string')) as string;
  }

  private literal<T extends Json>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) throw this.unexpected('a JSON value');
    this.at += word.length;
    return value;
  }

  /** Past whitespace and `token` when it is next. */
  private skip(token: string): boolean {
    this.space();
    if (this.text[this.at] !== token) return false;
    this.at++;
    return true;
  }

  private expect(token: string): void {
    if (!this.skip(token)) throw this.unexpected(`"${token}"`);
  }

  private match(pattern: RegExp, what: string): string {
    pattern.lastIndex = this.at;
    const found = pattern.exec(this.text);
    if (found === null) throw this.unexpected(what);
    this.at = pattern.lastIndex;
    return found[0];
  }

  private space(): void {
    this.match(WHITESPACE, 'whitespace');
  }

  private unexpected(what: string): Error {
    const found = this.at < this.text.length ? JSON.stringify(this.text[this.at]) : 'the end of the record';
    return new Error(`Unexpected ${found} at offset ${this.at}: expected ${what}`);
  }
}

function jsonText(value: Json): string {
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value instanceof Map) return `{${[...value].map(([key, member]) => `${JSON.stringify(key)}:${jsonText(member)}`).join(',')}}`;
  return JSON.stringify(value);
}

/** A decimal number as an integer and a power of ten: 12.5e1 is { unscaled: 125n, scale: 0 }, 0.05 is { unscaled: 5n, scale: 2 }. */
interface Decimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Beyond this many powers of ten no column can hold the value, and 10n ** n would take forever. */
const SCALE_LIMIT = 1000;

function decimalOf(text: string): Decimal | undefined {
  const parts = DECIMAL_TEXT.exec(text);
  if (parts === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = parts;
  if (whole.length + fraction.length === 0) return undefined;
  const unscaled = BigInt(`${sign}${whole}${fraction}`);
  // Zero fits every column whatever its exponent, 0e999999999 included.
  return { unscaled, scale: unscaled === 0n ? 0 : fraction.length - Number(exponent) };
}

/** `value` at `scale` decimal places, rounded half up as Hive does; undefined when out of any range. */
function rescale(value: Decimal, scale: number): bigint | undefined {
  const shift = scale - value.scale;
  if (shift >= 0) return shift > SCALE_LIMIT ? undefined : value.unscaled * 10n ** BigInt(shift);
  if (-shift > digits(value.unscaled)) return 0n;
  const divisor = 10n ** BigInt(-shift);
  const rounded = (abs(value.unscaled) + divisor / 2n) / divisor;
  return value.unscaled < 0n ? -rounded : rounded;
}

function isIntegral({ unscaled, scale }: Decimal): boolean {
  return scale <= 0 || (scale <= digits(unscaled) && unscaled % 10n ** BigInt(scale) === 0n);
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

function digits(value: bigint): number {
  return abs(value).toString().length;
}

// ---- Records to rows --------------------------------------------------------------------------

/** A record that does not fit the schema: the message says where and why. */
class Mismatch extends Error {}

interface Rules {
  /** OpenX's coercions: strings holding numbers, booleans or timestamps, JSON in string columns. */
  readonly lenient: boolean;
  /** The name a JSON key is matched by. */
  readonly keyOf: (key: string) => string;
  readonly mappings: Readonly<Record<string, string>>;
}

interface Column {
  readonly name: string;
  readonly type: HiveType;
}

type Row = Record<string, unknown>;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One Parquet file of the records that convert, and the index, Firehose error code and message of
 * each that does not (the caller sends those to the error output). A record holding several JSON
 * objects gives a row for each, or fails whole.
 */
export async function toParquet(
  records: readonly Uint8Array[],
  conversion: FormatConversion,
): Promise<{ readonly file: Uint8Array | null; readonly failures: readonly ConversionFailure[] }> {
  const columns = conversion.columns.map(({ name, type }) => ({ name, type: parseHiveType(type, `column ${name}`) }));
  const rules = rulesOf(conversion);
  const rows: Row[] = [];
  const failures: ConversionFailure[] = [];
  records.forEach((record, index) => {
    const converted = rowsOf(record, columns, rules);
    if (Array.isArray(converted)) rows.push(...converted);
    else failures.push({ index, ...converted });
  });
  const file = rows.length === 0 ? null : await writeParquet(schemaOf(columns, conversion.compression), rows, conversion.writerVersion);
  return { file, failures };
}

function rulesOf(conversion: FormatConversion): Rules {
  const { caseInsensitive, convertDotsInJsonKeysToUnderscores: dots } = conversion;
  return {
    lenient: conversion.deserializer === 'OpenX',
    keyOf: (key) => {
      const name = dots ? key.replaceAll('.', '_') : key;
      return caseInsensitive ? name.toLowerCase() : name;
    },
    mappings: conversion.columnToJsonKeyMappings,
  };
}

function rowsOf(record: Uint8Array, columns: readonly Column[], rules: Rules): Row[] | Omit<ConversionFailure, 'index'> {
  let values: Json[];
  try {
    values = new JsonReader(UTF8.decode(record)).values();
  } catch (error) {
    return { errorCode: PARSE_ERROR, errorMessage: `Encountered malformed JSON. ${(error as Error).message}` };
  }
  if (values.length === 0) return { errorCode: PARSE_ERROR, errorMessage: 'Encountered malformed JSON. The record holds no JSON value' };
  try {
    return values.map((value) => rowOf(value, columns, rules));
  } catch (error) {
    if (!(error instanceof Mismatch)) throw error;
    return { errorCode: MALFORMED_DATA, errorMessage: `Data does not match the schema. ${error.message}` };
  }
}

function rowOf(value: Json, columns: readonly Column[], rules: Rules): Row {
  if (!(value instanceof Map)) throw new Mismatch(`A record must hold JSON objects, not ${describe(value)}`);
  const members = membersOf(value, rules);
  return Object.fromEntries(
    columns.map(({ name, type }) => [name, cellOf(members.get(rules.keyOf(jsonKeyOf(name, rules))) ?? null, type, name, rules)]),
  );
}

function jsonKeyOf(column: string, rules: Rules): string {
  return Object.hasOwn(rules.mappings, column) ? rules.mappings[column]! : column;
}

/** An object's members by the name they match; a later duplicate wins, as with JSON.parse. */
function membersOf(object: JsonObject, rules: Rules): Map<string, Json> {
  return new Map([...object].map(([key, value]) => [rules.keyOf(key), value]));
}

/** The value parquetjs writes for `value` in a column of `type`; null for null. */
function cellOf(value: Json, type: HiveType, path: string, rules: Rules): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case 'string':
      return stringOf(value, path, rules);
    case 'boolean':
      return booleanCell(value, path, rules);
    case 'tinyint':
      return Number(integerCell(value, path, rules, 8));
    case 'smallint':
      return Number(integerCell(value, path, rules, 16));
    case 'int':
      return Number(integerCell(value, path, rules, 32));
    case 'bigint':
      return integerCell(value, path, rules, 64);
    case 'float':
      return floatingCell(value, path, rules, true);
    case 'double':
      return floatingCell(value, path, rules, false);
    case 'decimal':
      return decimalCell(value, type.precision, type.scale, path, rules);
    case 'date':
      return dateCell(value, path);
    case 'timestamp':
      return timestampCell(value, path, rules);
    case 'array':
      return { list: arrayOf(value, path).map((element, i) => ({ element: cellOf(element, type.element, `${path}[${i}]`, rules) })) };
    case 'map':
      return {
        key_value: [...objectCell(value, path)].map(([key, member]) => ({
          key,
          value: cellOf(member, type.value, `${path}.${key}`, rules),
        })),
      };
    case 'struct': {
      const members = membersOf(objectCell(value, path), rules);
      return Object.fromEntries(
        type.fields.map((field) => [
          field.name,
          cellOf(members.get(rules.keyOf(field.name)) ?? null, field.type, `${path}.${field.name}`, rules),
        ]),
      );
    }
  }
}

function mismatch(path: string, value: Json, expected: string): Mismatch {
  return new Mismatch(`${path}: ${describe(value)} is not ${expected}`);
}

function describe(value: Json): string {
  const text = jsonText(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

function stringOf(value: Json, path: string, rules: Rules): string {
  if (typeof value === 'string') return value;
  // Both SerDes take a number or a boolean as its text; only OpenX takes JSON for a string.
  if (value instanceof JsonNumber || typeof value === 'boolean' || rules.lenient) return jsonText(value);
  throw mismatch(path, value, 'a string');
}

function booleanCell(value: Json, path: string, rules: Rules): boolean {
  if (typeof value === 'boolean') return value;
  if (rules.lenient && typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw mismatch(path, value, 'a boolean');
}

/** The number a value holds: a JSON number, or with OpenX a string holding one. */
function numericText(value: Json, rules: Rules): string | undefined {
  if (value instanceof JsonNumber) return value.text;
  return rules.lenient && typeof value === 'string' ? value.trim() : undefined;
}

function decimalValue(value: Json, rules: Rules): Decimal | undefined {
  const text = numericText(value, rules);
  return text === undefined ? undefined : decimalOf(text);
}

function integerCell(value: Json, path: string, rules: Rules, bits: 8 | 16 | 32 | 64): bigint {
  const decimal = decimalValue(value, rules);
  if (decimal === undefined || !isIntegral(decimal)) throw mismatch(path, value, 'an integer');
  const integer = rescale(decimal, 0);
  const limit = 1n << BigInt(bits - 1);
  if (integer === undefined || integer < -limit || integer >= limit)
    throw mismatch(path, value, `within the range of a ${bits}-bit integer`);
  return integer;
}

function floatingCell(value: Json, path: string, rules: Rules, single: boolean): number {
  const text = numericText(value, rules);
  if (text === undefined || decimalOf(text) === undefined) throw mismatch(path, value, 'a number');
  const stored = single ? Math.fround(Number(text)) : Number(text);
  if (!Number.isFinite(stored)) throw mismatch(path, value, `within the range of a ${single ? 'float' : 'double'}`);
  return stored;
}

/** The unscaled value as the two's-complement big-endian bytes Parquet's FIXED_LEN_BYTE_ARRAY decimal holds. */
function decimalCell(value: Json, precision: number, scale: number, path: string, rules: Rules): Buffer {
  const decimal = decimalValue(value, rules);
  if (decimal === undefined) throw mismatch(path, value, 'a number');
  const unscaled = rescale(decimal, scale);
  const bound = 10n ** BigInt(precision);
  if (unscaled === undefined || unscaled <= -bound || unscaled >= bound)
    throw mismatch(path, value, `within decimal(${precision},${scale})`);
  const bytes = Buffer.alloc(decimalBytes(precision));
  let rest = BigInt.asUintN(bytes.length * 8, unscaled);
  for (let i = bytes.length - 1; i >= 0; i--, rest >>= 8n) bytes[i] = Number(rest & 0xffn);
  return bytes;
}

/** The fewest bytes that hold every decimal of `precision` digits, signed, as Hive's Parquet writer sizes them. */
function decimalBytes(precision: number): number {
  let bytes = 1;
  while (1n << BigInt(8 * bytes - 1) < 10n ** BigInt(precision)) bytes++;
  return bytes;
}

const DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
// java.sql.Timestamp.valueOf's form, the one both SerDes read.
const SPACED_TIMESTAMP = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?$/;
// OpenX also reads ISO-8601 in UTC, fraction up to 9 digits.
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/;
/** Probed on AWS (floci-io/floci#3333): an epoch below 10^12 in magnitude is seconds, from there milliseconds. */
const EPOCH_MILLIS_FROM = 1e12;
/** The instants a JavaScript Date, and so parquetjs, can hold. */
const INSTANT_MAX = 8.64e15;

function dateCell(value: Json, path: string): Date {
  const parts = typeof value === 'string' ? DATE.exec(value) : null;
  const date = parts === null ? undefined : utc(parts.slice(1).map(Number));
  if (date === undefined) throw mismatch(path, value, 'a date (yyyy-MM-dd)');
  return date;
}

function timestampCell(value: Json, path: string, rules: Rules): Date {
  const parts = typeof value === 'string' ? (SPACED_TIMESTAMP.exec(value) ?? (rules.lenient ? ISO_TIMESTAMP.exec(value) : null)) : null;
  if (parts !== null) {
    const [year, month, day, hour, minute, second, fraction = ''] = parts.slice(1);
    // Milliseconds are what the column holds; finer digits are dropped.
    const date = utc([year, month, day, hour, minute, second, fraction.padEnd(3, '0').slice(0, 3)].map(Number));
    if (date !== undefined) return date;
  } else if (rules.lenient) {
    const epoch = epochMillis(value, rules);
    if (epoch !== undefined) return new Date(epoch);
  }
  throw mismatch(
    path,
    value,
    rules.lenient ? 'a timestamp (yyyy-MM-dd HH:mm:ss[.f], ISO-8601 or epoch)' : 'a timestamp (yyyy-MM-dd HH:mm:ss[.f])',
  );
}

function epochMillis(value: Json, rules: Rules): number | undefined {
  const decimal = decimalValue(value, rules);
  if (decimal === undefined) return undefined;
  const millis = rescale(decimal, Math.abs(Number(numericText(value, rules))) < EPOCH_MILLIS_FROM ? 3 : 0);
  return millis === undefined || millis < -INSTANT_MAX || millis > INSTANT_MAX ? undefined : Number(millis);
}

/** The UTC instant of [year, month, day, hour?, minute?, second?, millisecond?], undefined unless every field is in range. */
function utc(fields: readonly number[]): Date | undefined {
  const [year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0] = fields;
  // Set field by field: Date.UTC would read the years 0 to 99 as 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millisecond);
  // A field out of range rolls over into the next (30 February is 2 March), so it shows as a changed field.
  const same =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && date.getUTCHours() === hour;
  return same && minute < 60 && second < 60 ? date : undefined;
}

function arrayOf(value: Json, path: string): readonly Json[] {
  if (!Array.isArray(value)) throw mismatch(path, value, 'a JSON array');
  return value as readonly Json[];
}

function objectCell(value: Json, path: string): JsonObject {
  if (!(value instanceof Map)) throw mismatch(path, value, 'a JSON object');
  return value;
}

// ---- Parquet ----------------------------------------------------------------------------------

/**
 * Every column optional, as the SerDes leave a missing field null. Lists and maps take the
 * three-level layout of the Parquet spec (`list.element`, `key_value.key/value`) that Hive, Spark
 * and Athena read. Strings and decimals carry no statistics: parquetjs would store a string's
 * min and max whole, ten times over (a 1 MB value made a 14 MB file), and orders a decimal's
 * bytes unsigned, which gives negative values the wrong min and max.
 */
function schemaOf(columns: readonly Column[], compression: ParquetCompression): ParquetSchema {
  return new ParquetSchema(Object.fromEntries(columns.map(({ name, type }) => [name, fieldOf(type, compression)])));
}

function fieldOf(type: HiveType, compression: ParquetCompression): FieldDefinition {
  const leaf = (parquetType: ParquetType): FieldDefinition => ({ type: parquetType, optional: true, compression });
  switch (type.kind) {
    case 'string':
      return { ...leaf('UTF8'), statistics: false };
    case 'boolean':
      return leaf('BOOLEAN');
    case 'tinyint':
      return leaf('INT_8');
    case 'smallint':
      return leaf('INT_16');
    case 'int':
      return leaf('INT32');
    case 'bigint':
      return leaf('INT64');
    case 'float':
      return leaf('FLOAT');
    case 'double':
      return leaf('DOUBLE');
    case 'timestamp':
      return leaf('TIMESTAMP_MILLIS');
    case 'date':
      return leaf('DATE');
    case 'decimal':
      return {
        ...leaf('DECIMAL'),
        precision: type.precision,
        scale: type.scale,
        typeLength: decimalBytes(type.precision),
        statistics: false,
      };
    case 'array':
      return {
        type: 'LIST',
        optional: true,
        fields: { list: { repeated: true, fields: { element: fieldOf(type.element, compression) } } },
      };
    case 'map':
      return {
        type: 'MAP',
        optional: true,
        fields: {
          key_value: {
            repeated: true,
            fields: { key: { type: 'UTF8', compression, statistics: false }, value: fieldOf(type.value, compression) },
          },
        },
      };
    case 'struct':
      return {
        optional: true,
        fields: Object.fromEntries(type.fields.map((field) => [field.name, fieldOf(field.type, compression)])),
      };
  }
}

/** The file in memory: parquetjs writes to a stream, and a delivery puts the object whole, so no temporary file is needed. */
async function writeParquet(
  schema: ParquetSchema,
  rows: readonly Row[],
  writerVersion: FormatConversion['writerVersion'],
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  // Typed as a file's stream, but parquetjs only calls write() and end().
  const writer = await ParquetWriter.openStream(schema, sink as unknown as WriteStream, { useDataPageV2: writerVersion === 'V2' });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  return Buffer.concat(chunks);
}
