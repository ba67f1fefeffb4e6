import { describe, expect, it } from 'vitest';
import { InvalidArgumentException } from '../../src/errors.js';
import {
  evaluateErrorOutputPrefix,
  evaluatePrefix,
  MissingPartitionKeyError,
  objectName,
  PrefixEvaluationError,
  validatePrefixes,
  type ErrorOutputType,
} from '../../src/delivery/prefixes.js';

// Goal: S3 keys are the ones Firehose writes (kinesis-family.md §5.3, AWS's s3-prefixes guide):
// the default hour path, the hour path appended with no `/` to a Prefix without expressions, the
// timestamp patterns (letters, padding, quoted literals, one instant for every use), random
// strings new per use, the error output type, partition keys and the typed error when one is
// missing, the error output default, the 512-character limit and the object name; and every
// Prefix / ErrorOutputPrefix pair CreateDeliveryStream refuses is refused with its sentence.
// Method: fixed instants (one afternoon, one early morning, one midnight) and a counting random
// source, so every expected key is written out in full.

const AFTERNOON = Date.UTC(2026, 6, 13, 14, 5, 9, 42); // Monday 2026-07-13T14:05:09.042Z
const MORNING = Date.UTC(2026, 0, 5, 3, 4, 5, 6); // Monday 2026-01-05T03:04:05.006Z
const MIDNIGHT = Date.UTC(2026, 11, 31); // Thursday 2026-12-31T00:00:00.000Z

/** RANDOM00001, RANDOM00002, ...: one more per call, 11 characters like Firehose's. */
function counting(): () => string {
  let calls = 0;
  return () => `RANDOM${String(++calls).padStart(5, '0')}`;
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function refusal(action: () => unknown): string {
  const error = thrown(action);
  expect(error).toBeInstanceOf(InvalidArgumentException);
  return (error as Error).message;
}

const ERROR_TYPE_REQUIRED = 'ErrorOutputPrefix must contain at least one occurrence of !{firehose:error-output-type}';
const ERROR_PREFIX_REQUIRED =
  'Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions';
const STRAY_IN_PREFIX = "Invalid expression usage: Prefix has a '!{' that opens no !{namespace:value} expression";
const ERROR_TYPE_IN_PREFIX = 'Prefix must not contain any occurrence of !{firehose:error-output-type}';

describe('evaluatePrefix', () => {
  it('is yyyy/MM/dd/HH/ without a Prefix', () => {
    expect(evaluatePrefix(undefined, { arrivalMs: AFTERNOON })).toBe('2026/07/13/14/');
    expect(evaluatePrefix('', { arrivalMs: MORNING })).toBe('2026/01/05/03/');
  });

  it('appends yyyy/MM/dd/HH/ to a Prefix without expressions, with no / between', () => {
    expect(evaluatePrefix('logs', { arrivalMs: AFTERNOON })).toBe('logs2026/07/13/14/');
    expect(evaluatePrefix('logs/', { arrivalMs: AFTERNOON })).toBe('logs/2026/07/13/14/');
    // A `!` or a `{` alone opens no expression.
    expect(evaluatePrefix('a!b{c}/', { arrivalMs: AFTERNOON })).toBe('a!b{c}/2026/07/13/14/');
  });

  it('appends nothing to a Prefix with any expression', () => {
    expect(evaluatePrefix('year=!{timestamp:yyyy}/', { arrivalMs: AFTERNOON })).toBe('year=2026/');
    expect(evaluatePrefix('data/!{firehose:random-string}/', { arrivalMs: AFTERNOON, random: counting() })).toBe('data/RANDOM00001/');
  });

  it('formats the one instant, in UTC, for every timestamp expression', () => {
    const prefix = 'y=!{timestamp:yyyy}/m=!{timestamp:MM}/d=!{timestamp:dd}/h=!{timestamp:HH}/!{timestamp:mm:ss.SSS}/!{timestamp:yyyy}/';
    expect(evaluatePrefix(prefix, { arrivalMs: AFTERNOON })).toBe('y=2026/m=07/d=13/h=14/05:09.042/2026/');
  });

  it('takes text in single quotes literally, and two quotes as one', () => {
    const context = { arrivalMs: AFTERNOON };
    expect(evaluatePrefix("!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}/", context)).toBe('year=2026/month=07/day=13/hour=14/');
    expect(evaluatePrefix("!{timestamp:'yyyy' yyyy}", context)).toBe('yyyy 2026');
    expect(evaluatePrefix("!{timestamp:''yy'' 'it''s' '' ''}", context)).toBe("'26' it's ' '");
    expect(evaluatePrefix('!{timestamp:yyyy-MM-dd_HH.mm =,+}', context)).toBe('2026-07-13_14.05 =,+');
  });

  it.each([
    ['yyyy', '2026', '2026', '2026'],
    ['yy', '26', '26', '26'],
    ['y', '2026', '2026', '2026'],
    ['yyyyy', '02026', '02026', '02026'],
    ['uuuu', '2026', '2026', '2026'],
    ['MM', '07', '01', '12'],
    ['M', '7', '1', '12'],
    ['MMM', 'Jul', 'Jan', 'Dec'],
    ['MMMM', 'July', 'January', 'December'],
    ['MMMMM', 'J', 'J', 'D'],
    ['dd', '13', '05', '31'],
    ['d', '13', '5', '31'],
    ['D', '194', '5', '365'],
    ['DDD', '194', '005', '365'],
    ['HH', '14', '03', '00'],
    ['H', '14', '3', '0'],
    ['hh', '02', '03', '12'],
    ['K', '2', '3', '0'],
    ['k', '14', '3', '24'],
    ['mm', '05', '04', '00'],
    ['m', '5', '4', '0'],
    ['ss', '09', '05', '00'],
    ['s', '9', '5', '0'],
    ['SSS', '042', '006', '000'],
    ['S', '0', '0', '0'],
    ['SSSSSS', '042000', '006000', '000000'],
    ['a', 'PM', 'AM', 'AM'],
    ['EEE', 'Mon', 'Mon', 'Thu'],
    ['EEEE', 'Monday', 'Monday', 'Thursday'],
  ])('formats %s as Java does', (pattern, afternoon, morning, midnight) => {
    const expression = `!{timestamp:${pattern}}`;
    expect(evaluatePrefix(expression, { arrivalMs: AFTERNOON })).toBe(afternoon);
    expect(evaluatePrefix(expression, { arrivalMs: MORNING })).toBe(morning);
    expect(evaluatePrefix(expression, { arrivalMs: MIDNIGHT })).toBe(midnight);
  });

  it('draws a new random string for each use', () => {
    const prefix = '!{firehose:random-string}/!{firehose:random-string}/';
    expect(evaluatePrefix(prefix, { arrivalMs: AFTERNOON, random: counting() })).toBe('RANDOM00001/RANDOM00002/');
    const [first, second] = evaluatePrefix(prefix, { arrivalMs: AFTERNOON }).split('/');
    expect(first).toMatch(/^[a-zA-Z0-9]{11}$/);
    expect(second).toMatch(/^[a-zA-Z0-9]{11}$/);
    expect(first).not.toBe(second);
  });

  it('puts in the partition keys of either namespace', () => {
    const prefix = 'customer=!{partitionKeyFromQuery:customer}/device=!{partitionKeyFromLambda:device}/!{timestamp:HH}/';
    const partitionKeys = { customer: '1234567890', device: 'mobile' };
    expect(evaluatePrefix(prefix, { arrivalMs: AFTERNOON, partitionKeys })).toBe('customer=1234567890/device=mobile/14/');
  });

  it('throws MissingPartitionKeyError, an evaluation error to route, for a key the record lacks', () => {
    const missing = thrown(() =>
      evaluatePrefix('c=!{partitionKeyFromQuery:customer}/d=!{partitionKeyFromLambda:device}/', {
        arrivalMs: AFTERNOON,
        partitionKeys: { customer: '7' },
      }),
    );
    expect(missing).toBeInstanceOf(MissingPartitionKeyError);
    expect(missing).toBeInstanceOf(PrefixEvaluationError);
    expect(missing).toMatchObject({ namespace: 'partitionKeyFromLambda', key: 'device' });
    expect((missing as Error).message).toBe('The record has no partition key device for !{partitionKeyFromLambda:device}');
    expect(thrown(() => evaluatePrefix('!{partitionKeyFromQuery:c}', { arrivalMs: AFTERNOON }))).toBeInstanceOf(MissingPartitionKeyError);
    // A name on Object's prototype is not a key the record has.
    const inherited = thrown(() => evaluatePrefix('!{partitionKeyFromQuery:constructor}', { arrivalMs: AFTERNOON, partitionKeys: {} }));
    expect(inherited).toMatchObject({ namespace: 'partitionKeyFromQuery', key: 'constructor' });
  });

  it('refuses !{firehose:error-output-type}, which only an ErrorOutputPrefix has', () => {
    expect(refusal(() => evaluatePrefix('!{firehose:error-output-type}/', { arrivalMs: AFTERNOON }))).toBe(ERROR_TYPE_IN_PREFIX);
  });

  it('allows 512 evaluated characters and throws PrefixEvaluationError past them', () => {
    // 498 characters and the 14 of yyyy/MM/dd/HH/.
    expect(evaluatePrefix('p'.repeat(498), { arrivalMs: AFTERNOON })).toHaveLength(512);
    const tooLong = thrown(() => evaluatePrefix('p'.repeat(499), { arrivalMs: AFTERNOON }));
    expect(tooLong).toBeInstanceOf(PrefixEvaluationError);
    expect((tooLong as Error).message).toBe('Length of evaluated prefix cannot be greater than 512');
    // A partition key's value is what makes a key too long at delivery time.
    const context = { arrivalMs: AFTERNOON, partitionKeys: { k: 'v'.repeat(510) } };
    expect(evaluatePrefix('k=!{partitionKeyFromQuery:k}', context)).toHaveLength(512);
    expect(thrown(() => evaluatePrefix('k=!{partitionKeyFromQuery:k}/', context))).toBeInstanceOf(PrefixEvaluationError);
  });
});

describe('evaluateErrorOutputPrefix', () => {
  const types: ErrorOutputType[] = [
    'processing-failed',
    'AmazonOpenSearchService-failed',
    'splunk-failed',
    'format-conversion-failed',
    'http-endpoint-failed',
  ];

  it.each(types)('puts in the error output type %s, the same for every use', (errorOutputType) => {
    const errorOutputPrefix = 'failed/!{firehose:error-output-type}/!{timestamp:yyyy}/!{firehose:error-output-type}';
    expect(evaluateErrorOutputPrefix(errorOutputPrefix, { arrivalMs: AFTERNOON, errorOutputType })).toBe(
      `failed/${errorOutputType}/2026/${errorOutputType}`,
    );
  });

  it("evaluates AWS's guide examples", () => {
    const context = { arrivalMs: AFTERNOON, errorOutputType: 'processing-failed', random: counting() } as const;
    const failures = 'myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}';
    expect(evaluateErrorOutputPrefix(failures, context)).toBe('myFirehoseFailures/processing-failed/2026/anyMonth/13');
    expect(evaluateErrorOutputPrefix('myFirehoseFailures/!{firehose:error-output-type}/', context)).toBe(
      'myFirehoseFailures/processing-failed/',
    );
    const hive =
      'myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/!{firehose:error-output-type}';
    expect(evaluateErrorOutputPrefix(hive, context)).toBe('myErrorPrefix/year=2026/month=07/day=13/hour=14/processing-failed');
  });

  it('without an ErrorOutputPrefix is the Prefix, then <error-output-type>/yyyy/MM/dd/HH/', () => {
    const context = { arrivalMs: AFTERNOON, errorOutputType: 'processing-failed' } as const;
    expect(evaluateErrorOutputPrefix(undefined, context)).toBe('processing-failed/2026/07/13/14/');
    expect(evaluateErrorOutputPrefix('', { ...context, prefix: undefined })).toBe('processing-failed/2026/07/13/14/');
    expect(evaluateErrorOutputPrefix(undefined, { ...context, prefix: 'logs/' })).toBe('logs/processing-failed/2026/07/13/14/');
    expect(evaluateErrorOutputPrefix(undefined, { ...context, prefix: 'myFirehosePrefix' })).toBe(
      'myFirehosePrefixprocessing-failed/2026/07/13/14/',
    );
  });

  it('appends <error-output-type>/yyyy/MM/dd/HH/ to an ErrorOutputPrefix without expressions, in place of the Prefix', () => {
    const context = { arrivalMs: MORNING, errorOutputType: 'format-conversion-failed', prefix: 'logs/' } as const;
    expect(evaluateErrorOutputPrefix('errors/', context)).toBe('errors/format-conversion-failed/2026/01/05/03/');
  });

  it('refuses to fall back on a Prefix with expressions', () => {
    const context = { arrivalMs: AFTERNOON, errorOutputType: 'processing-failed', prefix: '!{timestamp:yyyy}/' } as const;
    expect(refusal(() => evaluateErrorOutputPrefix(undefined, context))).toBe(ERROR_PREFIX_REQUIRED);
  });

  it('allows 512 evaluated characters and throws PrefixEvaluationError past them', () => {
    const context = { arrivalMs: AFTERNOON, errorOutputType: 'processing-failed' } as const;
    // 'processing-failed' is 17 characters.
    expect(evaluateErrorOutputPrefix(`${'e'.repeat(495)}!{firehose:error-output-type}`, context)).toHaveLength(512);
    const tooLong = thrown(() => evaluateErrorOutputPrefix(`${'e'.repeat(496)}!{firehose:error-output-type}`, context));
    expect(tooLong).toBeInstanceOf(PrefixEvaluationError);
    expect((tooLong as Error).message).toBe('Length of evaluated ErrorOutputPrefix cannot be greater than 512');
  });
});

describe('objectName', () => {
  it('is <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension> in UTC', () => {
    const uuid = 'a9fa96af-e4e4-409f-bac3-1f804714faaa';
    const object = { deliveryStreamName: 'orders', versionId: 1, arrivalMs: AFTERNOON, uuid, extension: '' };
    expect(objectName(object)).toBe(`orders-1-2026-07-13-14-05-09-${uuid}`);
    expect(objectName({ ...object, versionId: 12, arrivalMs: MORNING, extension: '.gz' })).toBe(`orders-12-2026-01-05-03-04-05-${uuid}.gz`);
    expect(objectName({ ...object, extension: '.parquet' })).toBe(`orders-1-2026-07-13-14-05-09-${uuid}.parquet`);
  });

  it('follows the evaluated prefix to make the whole key', () => {
    const key =
      evaluatePrefix('logs', { arrivalMs: AFTERNOON }) +
      objectName({ deliveryStreamName: 'legacy', versionId: 3, arrivalMs: AFTERNOON, uuid: 'u', extension: '' });
    expect(key).toBe('logs2026/07/13/14/legacy-3-2026-07-13-14-05-09-u');
  });
});

describe('validatePrefixes', () => {
  it.each([
    [undefined, undefined, false],
    ['', '', false],
    ['logs', undefined, false],
    ['logs/', 'errors/', false],
    ['a/!{timestamp:yyyy}/', 'errors/', false],
    ['!{firehose:random-string}/', 'e/!{firehose:error-output-type}/!{firehose:random-string}', false],
    [undefined, 'myFirehoseFailures/!{firehose:error-output-type}/', false],
    ["!{timestamp:'year='yyyy'/month='MM}/", "e/!{timestamp:'year='yyyy}/!{firehose:error-output-type}", false],
    ['c=!{partitionKeyFromQuery:customer_id}/d=!{partitionKeyFromLambda:device}/', 'e/!{firehose:error-output-type}/', true],
    [`${'p'.repeat(510)}!{timestamp:yyyy}!{timestamp:MM}`, 'e/!{firehose:error-output-type}', false],
  ])('accepts Prefix %j with ErrorOutputPrefix %j (dynamic partitioning %s)', (prefix, errorOutputPrefix, dynamicPartitioning) => {
    expect(() => validatePrefixes(prefix, errorOutputPrefix, { dynamicPartitioning })).not.toThrow();
  });

  const errorPrefix = 'e/!{firehose:error-output-type}/';
  it.each([
    ['an unknown namespace', '!{time:yyyy}/', errorPrefix, false, 'Namespace to the left of colon (time) is an invalid keyword!'],
    [
      'an unknown firehose value',
      '!{firehose:uuid}/',
      errorPrefix,
      false,
      'Invalid conversion character used in the value of the expression in Prefix: !{firehose:uuid}',
    ],
    [
      'an unknown firehose value in ErrorOutputPrefix',
      undefined,
      'e/!{firehose:error-output-type}/!{firehose:random}',
      false,
      'Invalid conversion character used in the value of the expression in ErrorOutputPrefix: !{firehose:random}',
    ],
    ['an expression without a colon', 'a/!{timestamp}/', errorPrefix, false, STRAY_IN_PREFIX],
    ['an expression without a value', 'a/!{timestamp:}/', errorPrefix, false, STRAY_IN_PREFIX],
    ['an unclosed expression', 'a/!{timestamp:yyyy', errorPrefix, false, STRAY_IN_PREFIX],
    ['a nested expression', '!{timestamp:!{timestamp:yyyy}}', errorPrefix, false, STRAY_IN_PREFIX],
    ['!{ in the text', 'a!{b', undefined, false, STRAY_IN_PREFIX],
    [
      '!{ in the ErrorOutputPrefix text',
      undefined,
      'e/!{',
      false,
      "Invalid expression usage: ErrorOutputPrefix has a '!{' that opens no !{namespace:value} expression",
    ],
    ['!{firehose:error-output-type} in Prefix', 'a/!{firehose:error-output-type}/', errorPrefix, false, ERROR_TYPE_IN_PREFIX],
    [
      '!{partitionKeyFromQuery:..} in ErrorOutputPrefix',
      'c=!{partitionKeyFromQuery:c}/',
      'e/!{firehose:error-output-type}/!{partitionKeyFromQuery:c}/',
      true,
      "Dynamic Partitioning Namespaces can't be part of an error prefix expression",
    ],
    [
      '!{partitionKeyFromLambda:..} in ErrorOutputPrefix',
      undefined,
      'e/!{firehose:error-output-type}/!{partitionKeyFromLambda:c}/',
      false,
      "Dynamic Partitioning Namespaces can't be part of an error prefix expression",
    ],
    ['expressions in Prefix without an ErrorOutputPrefix', 'a/!{timestamp:yyyy}/', undefined, false, ERROR_PREFIX_REQUIRED],
    ['expressions in Prefix with an empty ErrorOutputPrefix', 'a/!{firehose:random-string}/', '', false, ERROR_PREFIX_REQUIRED],
    ['an ErrorOutputPrefix with expressions but no error output type', undefined, 'e/!{timestamp:yyyy}/', false, ERROR_TYPE_REQUIRED],
    [
      '!{partitionKeyFromQuery:..} without dynamic partitioning',
      'c=!{partitionKeyFromQuery:c}/',
      errorPrefix,
      false,
      'Dynamic Partitioning Namespaces can only be part of a prefix expression when Dynamic Partitioning is enabled.',
    ],
    [
      '!{partitionKeyFromLambda:..} without dynamic partitioning',
      'c=!{partitionKeyFromLambda:c}/',
      errorPrefix,
      false,
      'Dynamic Partitioning Namespaces can only be part of a prefix expression when Dynamic Partitioning is enabled.',
    ],
    [
      'dynamic partitioning with a Prefix of no partition key',
      'a/!{timestamp:yyyy}/',
      errorPrefix,
      true,
      'S3 Prefix should contain Dynamic Partitioning namespaces when Dynamic Partitioning is enabled',
    ],
    [
      'dynamic partitioning without a Prefix',
      undefined,
      errorPrefix,
      true,
      'S3 Prefix should contain Dynamic Partitioning namespaces when Dynamic Partitioning is enabled',
    ],
    [
      'a letter that is no pattern letter',
      '!{timestamp:yyyy-bb}/',
      errorPrefix,
      false,
      "Invalid conversion character used in the value of the expression in Prefix: 'b' in !{timestamp:yyyy-bb} is not a pattern letter",
    ],
    [
      'a pattern letter not formatted here',
      '!{timestamp:ww}/',
      errorPrefix,
      false,
      "The pattern letter 'w' in !{timestamp:ww} in Prefix is valid in Firehose but not supported here; use y u M d D H h K k m s S a E",
    ],
    ['too many pattern letters', '!{timestamp:ddd}/', errorPrefix, false, 'Too many pattern letters: ddd in !{timestamp:ddd} in Prefix'],
    ['too many hour letters', '!{timestamp:HHH}/', errorPrefix, false, 'Too many pattern letters: HHH in !{timestamp:HHH} in Prefix'],
    [
      'too many letters in ErrorOutputPrefix',
      undefined,
      'e/!{firehose:error-output-type}/!{timestamp:aa}',
      false,
      'Too many pattern letters: aa in !{timestamp:aa} in ErrorOutputPrefix',
    ],
    [
      'an unclosed quote',
      "!{timestamp:'year=yyyy}/",
      errorPrefix,
      false,
      "Pattern ends with an incomplete string literal: !{timestamp:'year=yyyy} in Prefix",
    ],
    [
      'a reserved pattern character',
      '!{timestamp:yyyy#}/',
      errorPrefix,
      false,
      "'#' in !{timestamp:yyyy#} in Prefix is not supported; quote it ('#') to write the character",
    ],
    [
      'an optional section',
      '!{timestamp:[yyyy]}/',
      errorPrefix,
      false,
      "'[' in !{timestamp:[yyyy]} in Prefix is not supported; quote it ('[') to write the character",
    ],
    [
      'a Prefix over 1024 characters',
      'p'.repeat(1025),
      undefined,
      false,
      'Prefix failed to satisfy constraint: Member must have length less than or equal to 1024',
    ],
    [
      'an ErrorOutputPrefix over 1024 characters',
      undefined,
      'e'.repeat(1025),
      false,
      'ErrorOutputPrefix failed to satisfy constraint: Member must have length less than or equal to 1024',
    ],
    [
      'a Prefix that cannot evaluate to 512 characters',
      'p'.repeat(513),
      undefined,
      false,
      'Length of evaluated prefix cannot be greater than 512',
    ],
    [
      'a Prefix whose expressions cannot fit in 512 characters',
      `${'p'.repeat(511)}!{timestamp:yyyy}!{timestamp:MM}`,
      errorPrefix,
      false,
      'Length of evaluated prefix cannot be greater than 512',
    ],
    [
      'an ErrorOutputPrefix that cannot evaluate to 512 characters',
      undefined,
      `${'e'.repeat(512)}!{firehose:error-output-type}`,
      false,
      'Length of evaluated ErrorOutputPrefix cannot be greater than 512',
    ],
  ])('refuses %s', (_case, prefix, errorOutputPrefix, dynamicPartitioning, message) => {
    expect(refusal(() => validatePrefixes(prefix, errorOutputPrefix, { dynamicPartitioning }))).toBe(message);
  });
});
