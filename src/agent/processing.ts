/*
 * The Kinesis Agent's `dataProcessingOptions` (../shared/reference/kinesis-family.md §3.1): a chain
 * of converters applied to each record before it is buffered, in the configured order. The
 * outputs are the agent's byte for byte (awslabs/amazon-kinesis-agent, processing/processors,
 * processing/parsers and their DataConverterTest), so a consumer written against the agent's
 * records reads shardline's unchanged. Where the agent's own behaviour is surprising it is kept:
 *
 * - A record reaches the chain as the splitter cut it, its trailing "\n" included. CSVTOJSON,
 *   LOGTOJSON and ADDMETADATA drop one trailing "\n" (never a "\r") and always end their JSON
 *   with "\n"; SINGLELINE always ends with "\n"; ADDBRACKETS wraps everything, that newline too.
 * - CSVTOJSON knows no quoting: the delimiter is a Java regular expression that String.split
 *   applies (trailing empty columns dropped), so a quoted comma splits a column like any other.
 * - LOGTOJSON must match the whole record (Java's matches()): a "\r" left by a CRLF file makes a
 *   record fail. A failing record is a ProcessingFailure here; the agent drops it silently.
 * - JSON is Jackson's: "\u001F"-style escapes in upper case, "/" and non-ASCII left as they are,
 *   PRETTYPRINT with " : " and inline arrays, and keys in configured order (a Map, because a JS
 *   object would move integer-like keys first).
 *
 * Patterns run as JavaScript regular expressions: the built-in ones are written to mean what
 * Java's do ("." and "\s" spelled out); a matchPattern or delimiter using Java-only syntax
 * (possessive quantifiers, (?i), \p{Alpha}) is refused when the configuration is read.
 */

/** A bad `agent.json` key: `key` is its path (`flows[0].dataProcessingOptions[1].logFormat`). */
export class AgentConfigError extends Error {
  readonly key: string;
  readonly reason: string;

  constructor(reason: string, key: string) {
    super(key === '' ? reason : `${key}: ${reason}`);
    this.key = key;
    this.reason = reason;
  }

  override get name(): string {
    return 'AgentConfigError';
  }
}

export type JsonFormat = 'COMPACT' | 'PRETTYPRINT';
export type LogFormat = 'COMMONAPACHELOG' | 'COMBINEDAPACHELOG' | 'APACHEERRORLOG' | 'SYSLOG' | 'RFC3339SYSLOG';
export type SingleLineParseOption = 'NO_TRIM' | 'ESCAPE_NEW_LINE';
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type ProcessingOption =
  | { readonly optionName: 'SINGLELINE'; readonly parseOptions?: readonly SingleLineParseOption[] }
  | {
      readonly optionName: 'CSVTOJSON';
      readonly customFieldNames: readonly string[];
      /** A Java regular expression; default ",". */
      readonly delimiter?: string;
      /** Columns mapped, then left out of the JSON. */
      readonly ignoredFieldNames?: readonly string[];
      readonly jsonFormat?: JsonFormat;
    }
  | {
      readonly optionName: 'LOGTOJSON';
      readonly logFormat: LogFormat;
      /** Replaces the format's pattern; needs customFieldNames, one per capturing group. */
      readonly matchPattern?: string;
      /** Without matchPattern: renames the format's fields, as many as it has. */
      readonly customFieldNames?: readonly string[];
      readonly jsonFormat?: JsonFormat;
    }
  | {
      readonly optionName: 'ADDMETADATA';
      /** Written as `"metadata"`; absent: null, as the agent writes it. */
      readonly metadata?: JsonValue;
      /** Adds `"ts"`, the processing time in UTC (`2024-03-12T12:00:08.123Z`), first. */
      readonly timestamp?: boolean;
      readonly jsonFormat?: JsonFormat;
    }
  | { readonly optionName: 'ADDBRACKETS' };

/** A record an option could not convert; `record` is the record as it came in, to send as it is or dead-letter. */
export interface ProcessingFailure {
  readonly option: string;
  readonly reason: string;
  readonly record: Uint8Array;
}

export interface ProcessingContext {
  readonly now: () => number;
  readonly filePath?: string;
}

// ---------------------------------------------------------------------------------------------
// Configuration

const OPTION_NAMES = ['SINGLELINE', 'CSVTOJSON', 'LOGTOJSON', 'ADDMETADATA', 'ADDBRACKETS'] as const;
const LOG_FORMATS: readonly LogFormat[] = ['COMMONAPACHELOG', 'COMBINEDAPACHELOG', 'APACHEERRORLOG', 'SYSLOG', 'RFC3339SYSLOG'];
const JSON_FORMATS: readonly JsonFormat[] = ['COMPACT', 'PRETTYPRINT'];
const PARSE_OPTIONS: readonly SingleLineParseOption[] = ['NO_TRIM', 'ESCAPE_NEW_LINE'];
/** Options the agent has that need what shardline does not have (EC2's instance metadata, Java classes). */
const UNSUPPORTED: ReadonlyMap<unknown, string> = new Map([
  ['ADDEC2METADATA', 'ADDEC2METADATA reads EC2 instance metadata, which shardline does not fetch; use ADDMETADATA'],
  ['USINGPLUGGIN', 'USINGPLUGGIN loads a Java class, which shardline cannot run'],
]);

/** Validates the agent.json `dataProcessingOptions` array; AgentConfigError naming the first bad key. */
export function parseProcessingOptions(value: unknown, keyPath: string): ProcessingOption[] {
  // The agent silently ignores a single object here (awslabs/amazon-kinesis-agent#22): refuse it.
  if (!Array.isArray(value)) throw new AgentConfigError('must be a list of processing options', keyPath);
  return value.map((item, index) => parseOption(item, `${keyPath}[${index}]`));
}

type Fields = Readonly<Record<string, unknown>>;

function parseOption(item: unknown, key: string): ProcessingOption {
  const option = objectAt(item, key);
  const name = option['optionName'];
  switch (name) {
    case 'SINGLELINE':
      return parseSingleLine(option, key);
    case 'CSVTOJSON':
      return parseCsv(option, key);
    case 'LOGTOJSON':
      return parseLog(option, key);
    case 'ADDMETADATA':
      return parseMetadata(option, key);
    case 'ADDBRACKETS':
      return { optionName: 'ADDBRACKETS' };
  }
  throw new AgentConfigError(UNSUPPORTED.get(name) ?? `must be one of ${OPTION_NAMES.join(', ')}`, `${key}.optionName`);
}

function parseSingleLine(option: Fields, key: string): ProcessingOption {
  const parseOptions = stringList(option, 'parseOptions', key);
  if (parseOptions === undefined) return { optionName: 'SINGLELINE' };
  parseOptions.forEach((item, index) => oneOf(item, PARSE_OPTIONS, `${key}.parseOptions[${index}]`));
  return { optionName: 'SINGLELINE', parseOptions: parseOptions as SingleLineParseOption[] };
}

function parseCsv(option: Fields, key: string): ProcessingOption {
  const customFieldNames = stringList(option, 'customFieldNames', key);
  if (customFieldNames === undefined) throw new AgentConfigError('is required: the JSON keys, one per column', `${key}.customFieldNames`);
  const delimiter = optionalString(option, 'delimiter', key);
  if (delimiter !== undefined) compileRegex(delimiter, `${key}.delimiter`);
  const ignoredFieldNames = stringList(option, 'ignoredFieldNames', key);
  const jsonFormat = parseJsonFormat(option, key);
  return {
    optionName: 'CSVTOJSON',
    customFieldNames,
    ...(delimiter === undefined ? {} : { delimiter }),
    ...(ignoredFieldNames === undefined ? {} : { ignoredFieldNames }),
    ...(jsonFormat === undefined ? {} : { jsonFormat }),
  };
}

function parseLog(option: Fields, key: string): ProcessingOption {
  if (option['logFormat'] === undefined) throw new AgentConfigError(`is required: one of ${LOG_FORMATS.join(', ')}`, `${key}.logFormat`);
  const logFormat = oneOf(option['logFormat'], LOG_FORMATS, `${key}.logFormat`);
  const matchPattern = optionalString(option, 'matchPattern', key);
  const customFieldNames = stringList(option, 'customFieldNames', key);
  const jsonFormat = parseJsonFormat(option, key);
  if (matchPattern !== undefined) checkMatchPattern(matchPattern, customFieldNames, key);
  else if (customFieldNames !== undefined && customFieldNames.length !== LOG_PARSERS[logFormat].fields.length) {
    const fields = LOG_PARSERS[logFormat].fields;
    throw new AgentConfigError(
      `${logFormat} has ${fields.length} fields (${fields.join(', ')}); give as many names or a matchPattern`,
      `${key}.customFieldNames`,
    );
  }
  return {
    optionName: 'LOGTOJSON',
    logFormat,
    ...(matchPattern === undefined ? {} : { matchPattern }),
    ...(customFieldNames === undefined ? {} : { customFieldNames }),
    ...(jsonFormat === undefined ? {} : { jsonFormat }),
  };
}

/** The agent would accept a pattern whose groups and names differ, then drop every record: refuse it here. */
function checkMatchPattern(matchPattern: string, customFieldNames: readonly string[] | undefined, key: string): void {
  if (customFieldNames === undefined)
    throw new AgentConfigError('is required with matchPattern: one name per capturing group', `${key}.customFieldNames`);
  const groups = groupCount(compileRegex(matchPattern, `${key}.matchPattern`));
  if (groups !== customFieldNames.length) {
    throw new AgentConfigError(
      `has ${groups} capturing groups but customFieldNames has ${customFieldNames.length} names`,
      `${key}.matchPattern`,
    );
  }
}

function parseMetadata(option: Fields, key: string): ProcessingOption {
  const metadata = option['metadata'];
  if (metadata !== undefined) checkJson(metadata, `${key}.metadata`);
  const timestamp = parseTimestamp(option['timestamp'], `${key}.timestamp`);
  const jsonFormat = parseJsonFormat(option, key);
  return {
    optionName: 'ADDMETADATA',
    ...(metadata === undefined ? {} : { metadata: metadata as JsonValue }),
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(jsonFormat === undefined ? {} : { jsonFormat }),
  };
}

/** The agent documents `"timestamp": "true/false"`, a string; a JSON boolean is taken as well. */
function parseTimestamp(value: unknown, key: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new AgentConfigError('must be "true" or "false"', key);
}

function parseJsonFormat(option: Fields, key: string): JsonFormat | undefined {
  const value = option['jsonFormat'];
  return value === undefined ? undefined : oneOf(value, JSON_FORMATS, `${key}.jsonFormat`);
}

function objectAt(value: unknown, key: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AgentConfigError('must be an object', key);
  return value as Fields;
}

function optionalString(option: Fields, member: string, key: string): string | undefined {
  const value = option[member];
  if (value !== undefined && typeof value !== 'string') throw new AgentConfigError('must be a string', `${key}.${member}`);
  return value;
}

function stringList(option: Fields, member: string, key: string): string[] | undefined {
  const value = option[member];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new AgentConfigError('must be a list of strings', `${key}.${member}`);
  const bad = value.findIndex((item) => typeof item !== 'string');
  if (bad !== -1) throw new AgentConfigError('must be a string', `${key}.${member}[${bad}]`);
  return value as string[];
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], key: string): T {
  if (!choices.includes(value as T)) throw new AgentConfigError(`must be one of ${choices.join(', ')}`, key);
  return value as T;
}

/** Config files are JSON, but a caller may build the object: only what Jackson would write back. */
function checkJson(value: unknown, key: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(item, `${key}[${index}]`));
  } else if (typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    for (const [member, item] of Object.entries(value)) checkJson(item, `${key}.${member}`);
  } else {
    throw new AgentConfigError('must be JSON (a finite number, a string, a boolean, null, a list or an object)', key);
  }
}

/** The regex alone first: wrapped, an unbalanced ")" Java refuses could become valid. */
function compileRegex(source: string, key: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new AgentConfigError(`is not a regular expression shardline can run: ${(error as Error).message}`, key);
  }
}

function groupCount(pattern: RegExp): number {
  // An empty alternative always matches "", and the match has a slot per capturing group.
  return new RegExp(`${pattern.source}|`).exec('')!.length - 1;
}

// ---------------------------------------------------------------------------------------------
// The log formats: processing/parsers/PatternConstants.java, ApacheLogParser.java, SysLogParser.java

/** Java's "." and "\s" (JavaScript's also match U+0085 and Unicode spaces respectively). */
const DOT = '[^\\n\\r\\u0085\\u2028\\u2029]';
const SPACE = '[ \\t\\n\\x0B\\f\\r]';

const INT = '(?:[+-]?(?:[0-9]+))';
const POSINT = '(?:[1-9][0-9]*)';
const NONNEGINT = '(?:[0-9]+)';
const ANYDATA = `${DOT}*`;
const WORD = '\\w+';
const NOQUOTE = '[^"]+';
const IP = '(?:[\\d\\.]+)';
const HOSTNAME = '(?:[\\w\\-]+)(?:\\.(?:[\\w\\-]+))*(?:\\.?|\\b)';
const IPORHOST = `(?:${HOSTNAME}|${IP})`;
const URIHOST = `(?:${IPORHOST}(?::${POSINT})?)`;
const USER = '(?:[a-zA-Z0-9._-]+)';
const MONTHDAY = '(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])';
const DAY = '(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)';
const MONTH =
  '\\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\b';
const YEAR = '(?:[1-9]\\d*)';
const TIME = '(?:(?:2[0123]|[01]?[0-9]):(?:[0-5][0-9]):(?:(?:[0-5]?[0-9]|60)(?:[:\\.,][0-9]+)?))';
const HTTPDATE = `(?:${MONTHDAY}/${MONTH}/${YEAR}:${TIME}${SPACE}${INT})`;
const ERRORLOG_TIMESTAMP = `(?:${DAY}${SPACE}+${MONTH}${SPACE}+${MONTHDAY}${SPACE}+${TIME}${SPACE}+${YEAR})`;
const SYSLOG_TIMESTAMP = `(?:${MONTH}${SPACE}+${MONTHDAY}${SPACE}+${TIME})`;
const RFC3339 = '(?:\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?)(?:Z|(?:[-+]\\d{2}:\\d{2}))';
// The agent's facility is "<n.n>" with an unescaped "." (any character).
const SYSLOG_FACILITY = `<${NONNEGINT}${DOT}${NONNEGINT}>`;
const SYSLOG_PROG = `([\\w\\._/%-]+)(?:\\[(${POSINT})\\])?`;

const COMMON_APACHE_LOG = `(${IPORHOST}) (${USER}) (${USER}) \\[(${HTTPDATE})\\] "(${NOQUOTE})" (${INT}|\\-) (${INT}|\\-)`;
const COMBINED_APACHE_LOG = `${COMMON_APACHE_LOG} "(${NOQUOTE})" "(${NOQUOTE})"`;
const APACHE_ERROR_LOG =
  `\\[(${ERRORLOG_TIMESTAMP})\\] \\[(?:(${WORD}):)?(${WORD})\\] \\[pid (${NONNEGINT})(?::tid (${NONNEGINT}))?\\] ` +
  `\\[client (${URIHOST})\\] (${ANYDATA})`;
const syslog = (timestamp: string): string => `(${timestamp}) (?:${SYSLOG_FACILITY} )?(${USER}) ${SYSLOG_PROG}: (${ANYDATA})`;

const COMMON_FIELDS = ['host', 'ident', 'authuser', 'datetime', 'request', 'response', 'bytes'];
const SYSLOG_FIELDS = ['timestamp', 'hostname', 'program', 'processid', 'message'];

interface LogParser {
  readonly pattern: RegExp;
  readonly fields: readonly string[];
  /** ApacheLogParser writes a "-" field as null (with a matchPattern too); SysLogParser keeps it. */
  readonly dashIsNull: boolean;
}

/** The whole record must match, as Java's Matcher.matches() requires. */
const whole = (source: string): RegExp => new RegExp(`^(?:${source})$`);

const LOG_PARSERS: Readonly<Record<LogFormat, LogParser>> = {
  // The agent appends ".*" to both access-log patterns: anything may follow the last field.
  COMMONAPACHELOG: { pattern: whole(`${COMMON_APACHE_LOG}${ANYDATA}`), fields: COMMON_FIELDS, dashIsNull: true },
  COMBINEDAPACHELOG: {
    pattern: whole(`${COMBINED_APACHE_LOG}${ANYDATA}`),
    fields: [...COMMON_FIELDS, 'referer', 'agent'],
    dashIsNull: true,
  },
  APACHEERRORLOG: {
    pattern: whole(APACHE_ERROR_LOG),
    fields: ['timestamp', 'module', 'severity', 'processid', 'threadid', 'client', 'message'],
    dashIsNull: true,
  },
  SYSLOG: { pattern: whole(syslog(SYSLOG_TIMESTAMP)), fields: SYSLOG_FIELDS, dashIsNull: false },
  RFC3339SYSLOG: { pattern: whole(syslog(RFC3339)), fields: SYSLOG_FIELDS, dashIsNull: false },
};

// ---------------------------------------------------------------------------------------------
// Processing

type LogToJsonOption = Extract<ProcessingOption, { optionName: 'LOGTOJSON' }>;
type CsvToJsonOption = Extract<ProcessingOption, { optionName: 'CSVTOJSON' }>;
/** A JSON object whose keys keep their order. */
type Printable = JsonValue | ReadonlyMap<string, Printable>;

const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // Java's new String(bytes, UTF_8) keeps a BOM.
const encoder = new TextEncoder();
/** Compiled per option, once: an option is validated configuration, so its patterns compile. */
const compiled = new WeakMap<ProcessingOption, RegExp>();

/** Applies the chain to one record, as the splitter cut it (trailing "\n" included); a failure is returned, never thrown. */
export function processRecord(
  chain: readonly ProcessingOption[],
  record: Uint8Array,
  context: ProcessingContext,
): { readonly data: Uint8Array } | { readonly failure: ProcessingFailure } {
  let data = record;
  for (const option of chain) {
    const text = convert(option, decoder.decode(data), context);
    if (typeof text !== 'string') return { failure: { option: option.optionName, reason: text.reason, record } };
    data = encoder.encode(text);
  }
  return { data };
}

function convert(option: ProcessingOption, text: string, context: ProcessingContext): string | { readonly reason: string } {
  switch (option.optionName) {
    case 'SINGLELINE':
      return singleLine(text, option.parseOptions ?? []);
    case 'CSVTOJSON':
      return printRecord(csvColumns(option, withoutNewline(text)), option.jsonFormat);
    case 'LOGTOJSON':
      return logToJson(option, withoutNewline(text));
    case 'ADDMETADATA': {
      const record = new Map<string, Printable>();
      if (option.timestamp === true) record.set('ts', new Date(context.now()).toISOString());
      record.set('metadata', option.metadata ?? null);
      record.set('data', withoutNewline(text));
      return printRecord(record, option.jsonFormat);
    }
    case 'ADDBRACKETS':
      return `{${text}}`;
  }
}

/** Lines trimmed (unless NO_TRIM) and joined with nothing, or with a literal `\\n` for ESCAPE_NEW_LINE. */
function singleLine(text: string, parseOptions: readonly SingleLineParseOption[]): string {
  const lines = dropTrailingEmpty(text.split('\n'));
  const kept = parseOptions.includes('NO_TRIM') ? lines : lines.map(javaTrim);
  return kept.join(parseOptions.includes('ESCAPE_NEW_LINE') ? '\\\\n' : '') + '\n';
}

function csvColumns(option: CsvToJsonOption, text: string): Map<string, Printable> {
  const columns = javaSplit(
    text,
    cachedRegex(option, () => new RegExp(option.delimiter ?? ',', 'g')),
  );
  const record = new Map<string, Printable>();
  option.customFieldNames.forEach((name, index) => record.set(name, columns[index] ?? null));
  for (const name of option.ignoredFieldNames ?? []) record.delete(name);
  return record;
}

function logToJson(option: LogToJsonOption, text: string): string | { readonly reason: string } {
  const parser = LOG_PARSERS[option.logFormat];
  const pattern = option.matchPattern === undefined ? parser.pattern : cachedRegex(option, () => whole(option.matchPattern!));
  const match = pattern.exec(text);
  if (match === null) {
    const against = option.matchPattern === undefined ? `the ${option.logFormat} pattern` : 'matchPattern';
    return { reason: `the record does not match ${against} (the Kinesis Agent drops such a record)` };
  }
  const record = new Map<string, Printable>();
  (option.customFieldNames ?? parser.fields).forEach((name, index) => {
    const value = match[index + 1] ?? null;
    record.set(name, parser.dashIsNull && value === '-' ? null : value);
  });
  return printRecord(record, option.jsonFormat);
}

function cachedRegex(option: ProcessingOption, compile: () => RegExp): RegExp {
  let pattern = compiled.get(option);
  if (pattern === undefined) compiled.set(option, (pattern = compile()));
  return pattern;
}

function withoutNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** Java's String.trim: every code unit up to U+0020 (control characters too), and nothing above it. */
function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/**
 * Java's String.split(regex): no leading empty piece for a zero-width match at the start, trailing
 * empty pieces dropped, the whole text when nothing matched; capturing groups add no pieces (as
 * they do in JavaScript's split).
 */
function javaSplit(text: string, delimiter: RegExp): string[] {
  const pieces: string[] = [];
  let index = 0;
  delimiter.lastIndex = 0;
  for (let match = delimiter.exec(text); match !== null; match = delimiter.exec(text)) {
    const empty = match[0].length === 0;
    if (empty) delimiter.lastIndex++;
    if (empty && match.index === 0) continue;
    pieces.push(text.slice(index, match.index));
    index = match.index + match[0].length;
  }
  if (index === 0) return [text];
  pieces.push(text.slice(index));
  return dropTrailingEmpty(pieces);
}

function dropTrailingEmpty(pieces: string[]): string[] {
  let length = pieces.length;
  while (length > 0 && pieces[length - 1] === '') length--;
  return pieces.slice(0, length);
}

// ---------------------------------------------------------------------------------------------
// Jackson's ObjectMapper output: writeValueAsString, and writerWithDefaultPrettyPrinter()

function printRecord(record: ReadonlyMap<string, Printable>, format: JsonFormat | undefined): string {
  return `${format === 'PRETTYPRINT' ? pretty(record, 0) : compact(record)}\n`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

function quote(text: string): string {
  // eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in a string
  const escaped = text.replace(/["\\\u0000-\u001f]/g, (char) => {
    if (char === '"' || char === '\\') return `\\${char}`;
    return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

function entriesOf(value: ReadonlyMap<string, Printable> | { readonly [key: string]: JsonValue }): [string, Printable][] {
  return value instanceof Map ? [...value.entries()] : Object.entries(value);
}

function scalar(value: Printable): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  return undefined;
}

function compact(value: Printable): string {
  const text = scalar(value);
  if (text !== undefined) return text;
  if (Array.isArray(value)) return `[${value.map(compact).join(',')}]`;
  const entries = entriesOf(value as ReadonlyMap<string, Printable>);
  return `{${entries.map(([key, item]) => `${quote(key)}:${compact(item)}`).join(',')}}`;
}

/** DefaultPrettyPrinter: objects one entry a line, indented 2 per enclosing object; arrays on one line. */
function pretty(value: Printable, depth: number): string {
  const text = scalar(value);
  if (text !== undefined) return text;
  if (Array.isArray(value)) return value.length === 0 ? '[ ]' : `[ ${value.map((item: Printable) => pretty(item, depth)).join(', ')} ]`;
  const entries = entriesOf(value as ReadonlyMap<string, Printable>);
  if (entries.length === 0) return '{ }';
  const indent = '  '.repeat(depth + 1);
  const lines = entries.map(([key, item]) => `\n${indent}${quote(key)} : ${pretty(item, depth + 1)}`);
  return `{${lines.join(',')}\n${'  '.repeat(depth)}}`;
}
