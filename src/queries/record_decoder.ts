/*
 * A record's bytes as a query's FORMAT reads them (docs/QUERIES.md): a JSON object, a CSV row of
 * the declared columns, or nothing but the pseudo-columns (RAW). A record that is not what the
 * format says throws RecordError with a short reason: the query counts it and goes on.
 */
import type { ColumnDeclaration, SourceFormat } from './ast.js';
import { convertValue, valueText } from './evaluate.js';
import { RecordError, type DecodedRecord, type Value } from './plan_types.js';

type Fields = Record<string, Value>;

export function recordDecoder(
  format: SourceFormat,
): (input: {
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  shardId: string;
  arrivalMs: number;
}) => DecodedRecord {
  const fields = fieldsDecoder(format);
  return (input) => ({
    fields: fields(input.data),
    data: input.data,
    partitionKey: input.partitionKey,
    sequenceNumber: input.sequenceNumber,
    subSequenceNumber: input.subSequenceNumber,
    shardId: input.shardId,
    arrivalMs: input.arrivalMs,
  });
}

function fieldsDecoder(format: SourceFormat): (data: Uint8Array) => Value {
  switch (format.kind) {
    case 'raw':
      return () => null;
    case 'json': {
      const columns = format.columns;
      if (columns === undefined) return jsonObject;
      return (data) => {
        const fields = jsonObject(data);
        // A missing column stays missing, which reads as NULL.
        for (const column of columns) {
          if (Object.hasOwn(fields, column.name)) fields[column.name] = convertField(fields[column.name]!, column);
        }
        return fields;
      };
    }
    case 'csv': {
      const { columns, delimiter } = format;
      return (data) => {
        const texts = csvFields(withoutNewline(utf8(data)), delimiter);
        if (texts.length !== columns.length)
          throw new RecordError(`CSV row has ${texts.length} fields, the format declares ${columns.length}`);
        const fields: Fields = {};
        columns.forEach((column, index) => {
          const text = texts[index]!;
          setField(fields, column.name, text === '' && column.type !== 'VARCHAR' ? null : convertField(text, column));
        });
        return fields;
      };
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function utf8(data: Uint8Array): string {
  try {
    return UTF8.decode(data);
  } catch {
    throw new RecordError('not valid UTF-8');
  }
}

function jsonObject(data: Uint8Array): Fields {
  const text = utf8(data);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RecordError(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RecordError('not a JSON object');
  return parsed as Fields;
}

/** The value as its column's type. Decoding checks a type where CAST converts to it: 1.5 is no BIGINT here. */
function convertField(value: Value, column: ColumnDeclaration): Value {
  if (value === null) return null;
  const converted = convertValue(value, column.type === 'BIGINT' ? 'DOUBLE' : column.type);
  if (converted === undefined || (column.type === 'BIGINT' && !Number.isInteger(converted))) {
    throw new RecordError(`field "${column.name}": ${valueText(value)} is not a ${column.type}`);
  }
  return converted;
}

/** A column named `__proto__` must be a field, not the object's prototype. */
function setField(fields: Fields, name: string, value: Value): void {
  if (name === '__proto__') Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  else fields[name] = value;
}

function withoutNewline(line: string): string {
  if (line.endsWith('\r\n')) return line.slice(0, -2);
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

/** RFC 4180's fields of one line: a field in double quotes may hold the delimiter, and "" for a quote. */
function csvFields(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const fields: string[] = [];
  let start = 0;
  for (;;) {
    const { field, end } = line[start] === '"' ? quotedField(line, start, delimiter) : plainField(line, start, delimiter);
    fields.push(field);
    if (end >= line.length) return fields;
    start = end + delimiter.length;
  }
}

/** A field without quotes; a quote inside it is kept as it is. */
function plainField(line: string, start: number, delimiter: string): { field: string; end: number } {
  const found = line.indexOf(delimiter, start);
  const end = found < 0 ? line.length : found;
  return { field: line.slice(start, end), end };
}

function quotedField(line: string, start: number, delimiter: string): { field: string; end: number } {
  let field = '';
  let from = start + 1;
  for (;;) {
    const quote = line.indexOf('"', from);
    if (quote < 0) throw new RecordError('CSV row has a quoted field without its closing quote');
    field += line.slice(from, quote);
    if (line[quote + 1] !== '"') {
      const end = quote + 1;
      if (end < line.length && !line.startsWith(delimiter, end)) throw new RecordError('CSV row has text after a quoted field');
      return { field, end };
    }
    field += '"';
    from = quote + 2;
  }
}
