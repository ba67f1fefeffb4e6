import { InvalidParameterValueException } from '../errors.js';

/*
 * An event source mapping's settings as Lambda takes them (../shared/reference/kinesis-family.md
 * §4.1): every Kinesis parameter with its default and range, checked once, so that a mapping that
 * would be refused by Lambda is refused here with its sentence and creates nothing.
 */

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** CreateEventSourceMapping's members (Lambda's names). */
export interface MappingRequest {
  readonly EventSourceArn?: unknown;
  readonly FunctionName?: unknown;
  readonly Enabled?: unknown;
  readonly BatchSize?: unknown;
  readonly MaximumBatchingWindowInSeconds?: unknown;
  readonly StartingPosition?: unknown;
  readonly StartingPositionTimestamp?: unknown;
  readonly ParallelizationFactor?: unknown;
  readonly BisectBatchOnFunctionError?: unknown;
  readonly MaximumRetryAttempts?: unknown;
  readonly MaximumRecordAgeInSeconds?: unknown;
  readonly DestinationConfig?: unknown;
  readonly FunctionResponseTypes?: unknown;
  readonly TumblingWindowInSeconds?: unknown;
  readonly FilterCriteria?: unknown;
}

export interface MappingSettings {
  readonly eventSourceArn: string;
  readonly functionName: string;
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds: number;
  readonly startingPosition: StartingPosition;
  /** With AT_TIMESTAMP: epoch seconds. */
  readonly startingPositionTimestamp?: number;
  readonly parallelizationFactor: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: until the records expire. */
  readonly maximumRetryAttempts: number;
  /** -1: no limit. */
  readonly maximumRecordAgeInSeconds: number;
  /** A stream ARN, or a file:// URL of JSON lines. */
  readonly onFailureDestination?: string;
  readonly reportBatchItemFailures: boolean;
  readonly tumblingWindowInSeconds?: number;
  readonly filterCriteria?: unknown;
}

const STREAM_ARN = /^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}(\/consumer\/[a-zA-Z0-9_.-]{1,128}:\d+)?$/;
const FUNCTION_NAME = /^[a-zA-Z0-9_.#:/-]{1,256}$/;
const RECORD_AGE_MIN = 60;
const RECORD_AGE_MAX = 604_800;

/** The mapping's settings, defaults filled; InvalidParameterValueException naming the first bad member. */
export function resolveMapping(request: MappingRequest): MappingSettings {
  const eventSourceArn = required(request.EventSourceArn, 'EventSourceArn');
  if (!STREAM_ARN.test(eventSourceArn)) throw invalid(`EventSourceArn ${eventSourceArn} is not a Kinesis stream or consumer ARN`);
  const functionName = required(request.FunctionName, 'FunctionName');
  if (!FUNCTION_NAME.test(functionName)) throw invalid(`FunctionName ${functionName} is not a function name`);
  const startingPosition = startingPositionOf(request.StartingPosition);
  const reportBatchItemFailures = responseTypes(request.FunctionResponseTypes);
  return {
    eventSourceArn,
    functionName,
    enabled: booleanOf(request.Enabled, 'Enabled', true),
    batchSize: integerIn(request.BatchSize, 'batchSize', 1, 10_000, 100),
    maximumBatchingWindowInSeconds: integerIn(request.MaximumBatchingWindowInSeconds, 'maximumBatchingWindowInSeconds', 0, 300, 0),
    startingPosition,
    ...timestampOf(startingPosition, request.StartingPositionTimestamp),
    parallelizationFactor: integerIn(request.ParallelizationFactor, 'parallelizationFactor', 1, 10, 1),
    bisectBatchOnFunctionError: booleanOf(request.BisectBatchOnFunctionError, 'BisectBatchOnFunctionError', false),
    maximumRetryAttempts: integerIn(request.MaximumRetryAttempts, 'maximumRetryAttempts', -1, 10_000, -1),
    maximumRecordAgeInSeconds: recordAge(request.MaximumRecordAgeInSeconds),
    ...destinationOf(request.DestinationConfig),
    reportBatchItemFailures,
    ...(request.TumblingWindowInSeconds === undefined
      ? {}
      : { tumblingWindowInSeconds: integerIn(request.TumblingWindowInSeconds, 'tumblingWindowInSeconds', 0, 900, 0) }),
    ...(request.FilterCriteria === undefined ? {} : { filterCriteria: request.FilterCriteria }),
  };
}

/** The stream of a stream or consumer ARN. */
export function streamNameOf(arn: string): string {
  return arn.split(':stream/')[1]!.split('/')[0]!;
}

/** The consumer of a consumer ARN (`.../stream/<name>/consumer/<consumer>:<created>`), else null. */
export function consumerNameOf(arn: string): string | null {
  const rest = arn.split('/consumer/')[1];
  return rest === undefined ? null : rest.slice(0, rest.lastIndexOf(':'));
}

function invalid(message: string): InvalidParameterValueException {
  return new InvalidParameterValueException(message);
}

function required(value: unknown, member: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${member} is required`);
  return value;
}

function booleanOf(value: unknown, member: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${member} must be true or false`);
  return value;
}

/** Lambda's own sentence for a value out of range. */
function integerIn(value: unknown, member: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalid(
      `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must be an integer`,
    );
  if (value < min)
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  if (value > max)
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  return value;
}

function startingPositionOf(value: unknown): StartingPosition {
  if (value === 'TRIM_HORIZON' || value === 'LATEST' || value === 'AT_TIMESTAMP') return value;
  throw invalid('StartingPosition must be one of TRIM_HORIZON, LATEST, AT_TIMESTAMP for a Kinesis event source');
}

function timestampOf(position: StartingPosition, value: unknown): { startingPositionTimestamp?: number } {
  if (position !== 'AT_TIMESTAMP') {
    if (value !== undefined) throw invalid('StartingPositionTimestamp is only for StartingPosition AT_TIMESTAMP');
    return {};
  }
  const seconds = value instanceof Date ? value.getTime() / 1000 : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
    throw invalid('StartingPositionTimestamp (epoch seconds) is required with StartingPosition AT_TIMESTAMP');
  return { startingPositionTimestamp: seconds };
}

/** -1, or 60 .. 604,800: Lambda refuses 0 .. 59. */
function recordAge(value: unknown): number {
  const age = integerIn(value, 'maximumRecordAgeInSeconds', -1, RECORD_AGE_MAX, -1);
  if (age !== -1 && age < RECORD_AGE_MIN)
    throw invalid(
      `1 validation error detected: Value '${age}' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to ${RECORD_AGE_MIN}`,
    );
  return age;
}

function destinationOf(value: unknown): { onFailureDestination?: string } {
  if (value === undefined) return {};
  const destination = (value as { OnFailure?: { Destination?: unknown } } | null)?.OnFailure?.Destination;
  if (destination === undefined) return {};
  if (typeof destination !== 'string' || !(STREAM_ARN.test(destination) || destination.startsWith('file://')))
    throw invalid(`DestinationConfig.OnFailure.Destination ${String(destination)} must be a Kinesis stream ARN or a file:// URL`);
  return { onFailureDestination: destination };
}

function responseTypes(value: unknown): boolean {
  if (value === undefined) return false;
  if (!Array.isArray(value) || value.some((type) => type !== 'ReportBatchItemFailures'))
    throw invalid('FunctionResponseTypes takes only ReportBatchItemFailures');
  return value.length > 0;
}
