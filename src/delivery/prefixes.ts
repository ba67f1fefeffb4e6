import { randomInt } from 'node:crypto';
import { InvalidArgumentException } from '../errors.js';

/*
 * Where a delivery stream puts each S3 object: the Prefix and ErrorOutputPrefix expressions,
 * checked as CreateDeliveryStream checks them and evaluated per object as Firehose evaluates them,
 * and the object name Firehose writes after the evaluated prefix
 * (../shared/reference/kinesis-family.md §5.3, AWS's guide s3-prefixes.md and s3-object-name.md).
 * Glue and Athena tables partitioned by the layout, and tools that parse the object name, read the
 * keys Firehose writes, so the quirks are kept: a Prefix without expressions gets the hour path
 * appended with no `/` between (`logs` → `logs2026/07/13/14/`, observed on AWS in floci#1857).
 *
 * The refusals are AWS's sentences as CreateDeliveryStream answers them (quoted in issue reports
 * and in rule sets measured against the service); where AWS's sentence does not say which
 * expression is wrong, the expression follows it.
 */

export type ErrorOutputType =
  'processing-failed' | 'AmazonOpenSearchService-failed' | 'splunk-failed' | 'format-conversion-failed' | 'http-endpoint-failed';

export type PartitionKeyNamespace = 'partitionKeyFromQuery' | 'partitionKeyFromLambda';

export interface PrefixContext {
  /** Approximate arrival (epoch ms) of the oldest record in the object: every timestamp expression formats this instant, in UTC. */
  readonly arrivalMs: number;
  /** The partition keys of the object's records (dynamic partitioning), from their query or their transformation Lambda. */
  readonly partitionKeys?: Readonly<Record<string, string>>;
  /** One !{firehose:random-string}; by default 11 random characters of [a-zA-Z0-9]. */
  readonly random?: () => string;
}

export interface ErrorOutputContext extends PrefixContext {
  readonly errorOutputType: ErrorOutputType;
  /** The destination's Prefix: without an ErrorOutputPrefix, failed records go under it. */
  readonly prefix?: string | undefined;
}

export interface ObjectNameInput {
  readonly deliveryStreamName: string;
  /** The delivery stream's VersionId: 1, then one more per configuration change. */
  readonly versionId: number;
  readonly arrivalMs: number;
  readonly uuid: string;
  /** '' for UNCOMPRESSED, '.gz' for GZIP, '.parquet' once converted. */
  readonly extension: string;
}

/**
 * An object whose key cannot be evaluated from its records. Firehose delivers such records under
 * the ErrorOutputPrefix instead, so the caller routes them there.
 */
export class PrefixEvaluationError extends Error {
  override readonly name: string = 'PrefixEvaluationError';
}

/** A record without the partition key its Prefix names. */
export class MissingPartitionKeyError extends PrefixEvaluationError {
  override readonly name = 'MissingPartitionKeyError';

  constructor(
    readonly namespace: PartitionKeyNamespace,
    readonly key: string,
  ) {
    super(`The record has no partition key ${key} for !{${namespace}:${key}}`);
  }
}

type Field = 'Prefix' | 'ErrorOutputPrefix';
type Format = readonly ((instant: Date) => string)[];
type Segment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'timestamp'; readonly format: Format }
  | { readonly kind: 'random-string' }
  | { readonly kind: 'error-output-type' }
  | { readonly kind: 'partition-key'; readonly namespace: PartitionKeyNamespace; readonly key: string };

const PREFIX_MAX = 1024;
const EVALUATED_MAX = 512;
const RANDOM_LENGTH = 11;
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const EXPRESSION = /!\{([^{}]*)\}/g;
const NAMESPACE_VALUE = /^([a-zA-Z]+):(.+)$/s;
// AWS's spelling ("Ths"), as CreateDeliveryStream answers.
const ERROR_PREFIX_REQUIRED =
  'Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions';
const ERROR_TYPE_IN_PREFIX = 'Prefix must not contain any occurrence of !{firehose:error-output-type}';

/** Refuses a Prefix / ErrorOutputPrefix pair CreateDeliveryStream would refuse, with its sentence. */
export function validatePrefixes(
  prefix: string | undefined,
  errorOutputPrefix: string | undefined,
  options: { dynamicPartitioning: boolean },
): void {
  const data = checked(prefix, 'Prefix');
  const errors = checked(errorOutputPrefix, 'ErrorOutputPrefix');
  if (data.some((segment) => segment.kind === 'error-output-type')) throw new InvalidArgumentException(ERROR_TYPE_IN_PREFIX);
  checkDynamicPartitioning(data, options.dynamicPartitioning);
  if (errors.some((segment) => segment.kind === 'partition-key'))
    throw new InvalidArgumentException("Dynamic Partitioning Namespaces can't be part of an error prefix expression");
  if (hasExpressions(data) && !errorOutputPrefix) throw new InvalidArgumentException(ERROR_PREFIX_REQUIRED);
  if (hasExpressions(errors) && !errors.some((segment) => segment.kind === 'error-output-type'))
    throw new InvalidArgumentException('ErrorOutputPrefix must contain at least one occurrence of !{firehose:error-output-type}');
}

/**
 * The key prefix of an object of delivered records. No Prefix is `yyyy/MM/dd/HH/`; a Prefix
 * without expressions gets that appended as it is, with no `/` between.
 */
export function evaluatePrefix(prefix: string | undefined, context: PrefixContext): string {
  return withinLimit(render(withHourPath(parse(prefix ?? '', 'Prefix'), HOUR_PATH), context, undefined), 'prefix');
}

/**
 * The key prefix of an object of failed records. AWS's guide (s3-prefixes.md, "Semantic rules"):
 * an ErrorOutputPrefix can be absent only when the Prefix has no expressions, and then evaluates
 * to `<specified-prefix><error-output-type>YYYY/MM/DD/HH/`; its example shows a `/` after the
 * error output type (`myFirehosePrefix` → `myFirehosePrefix/processing-failed/2018/08/27/`, where
 * the Prefix's own `/` is the example's mistake, as observed on AWS). So the Prefix, or nothing,
 * followed by `<error-output-type>/yyyy/MM/dd/HH/`. An ErrorOutputPrefix without expressions is
 * taken the same way, in the Prefix's place.
 */
export function evaluateErrorOutputPrefix(errorOutputPrefix: string | undefined, context: ErrorOutputContext): string {
  const segments = errorOutputPrefix ? parse(errorOutputPrefix, 'ErrorOutputPrefix') : parse(context.prefix ?? '', 'Prefix');
  if (!errorOutputPrefix && hasExpressions(segments)) throw new InvalidArgumentException(ERROR_PREFIX_REQUIRED);
  return withinLimit(render(withHourPath(segments, ERROR_HOUR_PATH), context, context.errorOutputType), 'ErrorOutputPrefix');
}

/** `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`, the part of the key after the prefix. */
export function objectName(input: ObjectNameInput): string {
  const time = formatted(OBJECT_TIME, new Date(input.arrivalMs));
  return `${input.deliveryStreamName}-${input.versionId}-${time}-${input.uuid}${input.extension}`;
}

function checked(prefix: string | undefined, field: Field): Segment[] {
  if (prefix === undefined) return [];
  if (prefix.length > PREFIX_MAX)
    throw new InvalidArgumentException(
      `${field} failed to satisfy constraint: Member must have length less than or equal to ${PREFIX_MAX}`,
    );
  const segments = parse(prefix, field);
  // Known before any object: each literal character is kept and each expression yields one at least.
  const shortest = segments.reduce((length, segment) => length + (segment.kind === 'text' ? segment.text.length : 1), 0);
  if (shortest > EVALUATED_MAX) throw new InvalidArgumentException(tooLong(field === 'Prefix' ? 'prefix' : field));
  return segments;
}

function checkDynamicPartitioning(segments: readonly Segment[], enabled: boolean): void {
  const partitioned = segments.some((segment) => segment.kind === 'partition-key');
  if (partitioned && !enabled)
    throw new InvalidArgumentException(
      'Dynamic Partitioning Namespaces can only be part of a prefix expression when Dynamic Partitioning is enabled.',
    );
  if (!partitioned && enabled)
    throw new InvalidArgumentException('S3 Prefix should contain Dynamic Partitioning namespaces when Dynamic Partitioning is enabled');
}

function hasExpressions(segments: readonly Segment[]): boolean {
  return segments.some((segment) => segment.kind !== 'text');
}

function withHourPath(segments: readonly Segment[], hourPath: readonly Segment[]): readonly Segment[] {
  return hasExpressions(segments) ? segments : [...segments, ...hourPath];
}

function withinLimit(evaluated: string, label: string): string {
  if (evaluated.length > EVALUATED_MAX) throw new PrefixEvaluationError(tooLong(label));
  return evaluated;
}

function tooLong(label: string): string {
  return `Length of evaluated ${label} cannot be greater than ${EVALUATED_MAX}`;
}

function parse(prefix: string, field: Field): Segment[] {
  const segments: Segment[] = [];
  let end = 0;
  for (const match of prefix.matchAll(EXPRESSION)) {
    segments.push(text(prefix.slice(end, match.index), field), expression(match[1]!, field));
    end = match.index! + match[0].length;
  }
  segments.push(text(prefix.slice(end), field));
  return segments.filter((segment) => segment.kind !== 'text' || segment.text !== '');
}

function text(literal: string, field: Field): Segment {
  if (literal.includes('!{')) throw strayExpression(field);
  return { kind: 'text', text: literal };
}

function expression(body: string, field: Field): Segment {
  const parts = NAMESPACE_VALUE.exec(body);
  if (parts === null) throw strayExpression(field);
  const namespace = parts[1]!;
  const value = parts[2]!;
  switch (namespace) {
    case 'timestamp':
      return { kind: 'timestamp', format: compileFormat(value, field) };
    case 'firehose':
      return firehoseExpression(value, field);
    case 'partitionKeyFromQuery':
    case 'partitionKeyFromLambda':
      return { kind: 'partition-key', namespace, key: value };
    default:
      throw new InvalidArgumentException(`Namespace to the left of colon (${namespace}) is an invalid keyword!`);
  }
}

function firehoseExpression(value: string, field: Field): Segment {
  if (value === 'random-string' || value === 'error-output-type') return { kind: value };
  throw invalidConversion(field, `!{firehose:${value}}`);
}

function strayExpression(field: Field): InvalidArgumentException {
  return new InvalidArgumentException(`Invalid expression usage: ${field} has a '!{' that opens no !{namespace:value} expression`);
}

function invalidConversion(field: Field, detail: string): InvalidArgumentException {
  return new InvalidArgumentException(`Invalid conversion character used in the value of the expression in ${field}: ${detail}`);
}

function render(segments: readonly Segment[], context: PrefixContext, errorOutputType: ErrorOutputType | undefined): string {
  const instant = new Date(context.arrivalMs);
  return segments.map((segment) => evaluated(segment, instant, context, errorOutputType)).join('');
}

function evaluated(segment: Segment, instant: Date, context: PrefixContext, errorOutputType: ErrorOutputType | undefined): string {
  switch (segment.kind) {
    case 'text':
      return segment.text;
    case 'timestamp':
      return formatted(segment.format, instant);
    case 'random-string':
      return (context.random ?? randomString)();
    case 'error-output-type':
      if (errorOutputType === undefined) throw new InvalidArgumentException(ERROR_TYPE_IN_PREFIX);
      return errorOutputType;
    case 'partition-key':
      return partitionKey(segment.namespace, segment.key, context.partitionKeys);
  }
}

function partitionKey(namespace: PartitionKeyNamespace, key: string, keys: Readonly<Record<string, string>> | undefined): string {
  // hasOwn: a key such as `constructor` is the record's or missing, never the prototype's.
  if (keys === undefined || !Object.hasOwn(keys, key)) throw new MissingPartitionKeyError(namespace, key);
  return keys[key]!;
}

function randomString(): string {
  return Array.from({ length: RANDOM_LENGTH }, () => ALPHANUMERIC.charAt(randomInt(ALPHANUMERIC.length))).join('');
}

/*
 * !{timestamp:...} takes a Java DateTimeFormatter pattern: runs of a letter are fields, text in
 * single quotes is literal ('' is a quote), and other characters are literal. The letters Firehose
 * refuses are the ones Java does not know (measured by trying each ASCII letter on the service);
 * of the ones it accepts, those prefixes use are formatted here and the rest are refused by name.
 */

interface Letter {
  /** Java's limit: one more letter is "Too many pattern letters". */
  readonly most: number;
  render(instant: Date, count: number): string;
}

const REFUSED_LETTERS = new Set('CIJPRTUVbfijloprt');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const PATTERN_TOKEN = /''|'((?:[^']|'')*)'|([a-zA-Z])\2*|[^a-zA-Z']/y;
const RESERVED = new Set(['[', ']', '#']);
const DAY_MS = 86_400_000;

const LETTERS = new Map<string, Letter>([
  ['y', { most: Infinity, render: year }],
  ['u', { most: Infinity, render: year }],
  ['M', { most: 5, render: (instant, count) => named(MONTHS, instant.getUTCMonth(), count, 2) }],
  ['d', numeric(2, (instant) => instant.getUTCDate())],
  ['D', numeric(3, dayOfYear)],
  ['H', numeric(2, (instant) => instant.getUTCHours())],
  ['h', numeric(2, (instant) => ((instant.getUTCHours() + 11) % 12) + 1)],
  ['K', numeric(2, (instant) => instant.getUTCHours() % 12)],
  ['k', numeric(2, (instant) => instant.getUTCHours() || 24)],
  ['m', numeric(2, (instant) => instant.getUTCMinutes())],
  ['s', numeric(2, (instant) => instant.getUTCSeconds())],
  ['S', { most: 9, render: (instant, count) => String(instant.getUTCMilliseconds()).padStart(3, '0').padEnd(count, '0').slice(0, count) }],
  ['a', { most: 1, render: (instant) => (instant.getUTCHours() < 12 ? 'AM' : 'PM') }],
  ['E', { most: 5, render: (instant, count) => named(DAYS, instant.getUTCDay(), count, 0) }],
]);

const HOUR_PATH = parse('!{timestamp:yyyy/MM/dd/HH/}', 'Prefix');
const ERROR_HOUR_PATH = parse('!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH/}', 'ErrorOutputPrefix');
const OBJECT_TIME = compileFormat('yyyy-MM-dd-HH-mm-ss', 'Prefix');

function compileFormat(pattern: string, field: Field): Format {
  const format: ((instant: Date) => string)[] = [];
  const token = new RegExp(PATTERN_TOKEN);
  while (token.lastIndex < pattern.length) {
    const match = token.exec(pattern);
    if (match === null)
      throw new InvalidArgumentException(`Pattern ends with an incomplete string literal: !{timestamp:${pattern}} in ${field}`);
    format.push(piece(match, pattern, field));
  }
  return format;
}

function piece(match: RegExpExecArray, pattern: string, field: Field): (instant: Date) => string {
  const [whole, quoted, letter] = [match[0], match[1], match[2]];
  if (whole === "''") return () => "'";
  if (quoted !== undefined) return literal(quoted.replaceAll("''", "'"));
  if (letter !== undefined) return letterField(letter, whole.length, pattern, field);
  if (RESERVED.has(whole))
    throw new InvalidArgumentException(
      `'${whole}' in !{timestamp:${pattern}} in ${field} is not supported; quote it ('${whole}') to write the character`,
    );
  return literal(whole);
}

function literal(text: string): () => string {
  return () => text;
}

function letterField(letter: string, count: number, pattern: string, field: Field): (instant: Date) => string {
  if (REFUSED_LETTERS.has(letter)) throw invalidConversion(field, `'${letter}' in !{timestamp:${pattern}} is not a pattern letter`);
  const known = LETTERS.get(letter);
  if (known === undefined)
    throw new InvalidArgumentException(
      `The pattern letter '${letter}' in !{timestamp:${pattern}} in ${field} is valid in Firehose but not supported here; use y u M d D H h K k m s S a E`,
    );
  if (count > known.most)
    throw new InvalidArgumentException(`Too many pattern letters: ${letter.repeat(count)} in !{timestamp:${pattern}} in ${field}`);
  return (instant) => known.render(instant, count);
}

function formatted(format: Format, instant: Date): string {
  return format.map((piece) => piece(instant)).join('');
}

function numeric(most: number, value: (instant: Date) => number): Letter {
  return { most, render: (instant, count) => String(value(instant)).padStart(count, '0') };
}

/** y and u: two letters are the year's last two digits, other counts the year padded to the count. */
function year(instant: Date, count: number): string {
  const value = instant.getUTCFullYear();
  return count === 2 ? String(value % 100).padStart(2, '0') : String(value).padStart(count, '0');
}

function dayOfYear(instant: Date): number {
  const midnight = Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate());
  return (midnight - Date.UTC(instant.getUTCFullYear(), 0, 1)) / DAY_MS + 1;
}

/** Up to `numbers` letters the number (1-based), then the short name, the full name, the first letter. */
function named(names: readonly string[], index: number, count: number, numbers: number): string {
  if (count <= numbers) return String(index + 1).padStart(count, '0');
  const name = names[index]!;
  if (count === 4) return name;
  return count === 5 ? name.charAt(0) : name.slice(0, 3);
}
