/*
 * What one flush of a delivery stream's buffer becomes (docs/DELIVERY.md): the records go through
 * the Lambda processor (Firehose's transformation contract: recordId, result Ok / Dropped /
 * ProcessingFailed, data), are grouped by their partition keys (dynamic partitioning), and each
 * group is serialized (concatenated, or converted to Parquet), compressed and named by the
 * prefix; records that fail a step become error records under the error output prefix, never
 * dropped. Nothing here writes: the caller puts the objects, then checkpoints.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { DeliverySettings, S3Settings } from './delivery_config.js';
import { MetadataExtractionError, extractPartitionKeys } from './metadata_query.js';
import type { DeliveryObject } from './object_store.js';
import { fittingBatches } from '../util/byte_prefix.js';
import { toParquet } from './parquet.js';
import { PrefixEvaluationError, evaluateErrorOutputPrefix, evaluatePrefix, objectName, type ErrorOutputType } from './prefixes.js';

export interface BufferedRecord {
  readonly recordId: string;
  readonly data: Uint8Array;
  readonly arrivalMs: number;
  /** When the source is a Kinesis stream: Firehose hands the record's place to the processor. */
  readonly kinesis?: {
    readonly shardId: string;
    readonly partitionKey: string;
    readonly sequenceNumber: string;
    readonly subsequenceNumber: number;
  };
}

/** A record as it goes on after the processor: its data may be new, and it may carry partition keys. */
interface Processed {
  readonly source: BufferedRecord;
  readonly data: Uint8Array;
  readonly partitionKeys?: Record<string, string>;
}

/** Firehose's error output record (processing-failed and the others), one JSON line each. */
export interface ErrorRecord {
  readonly attemptsMade: number;
  readonly arrivalTimestamp: number;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attemptEndingTimestamp: number;
  readonly rawData: string;
  readonly lambdaArn?: string;
}

export type Invoke = (functionName: string, payload: unknown) => Promise<{ payload: unknown; functionError?: string }>;

export interface BatchContext {
  readonly settings: DeliverySettings;
  readonly deliveryStreamArn: string;
  readonly versionId: number;
  readonly invoke: Invoke;
  readonly clock: () => number;
}

export interface PlannedObject {
  readonly bucket: string;
  readonly object: DeliveryObject;
  readonly records: number;
}

export interface Plan {
  /** What the destination gets: records in order (HTTP), or objects (S3). */
  readonly records: readonly Processed[];
  readonly objects: readonly PlannedObject[];
  /** Error records, by the output they go to. */
  readonly errors: ReadonlyMap<ErrorOutputType, ErrorRecord[]>;
}

const INVOKE_PAYLOAD_BYTES = 3 * 1024 * 1024;

/** Transforms and (for S3) partitions and serializes one flush. */
export async function planBatch(records: readonly BufferedRecord[], context: BatchContext): Promise<Plan> {
  const errors = new Map<ErrorOutputType, ErrorRecord[]>();
  const fail = (type: ErrorOutputType, record: BufferedRecord, errorCode: string, errorMessage: string, attempts = 1): void => {
    const list = errors.get(type) ?? [];
    list.push(errorRecord(record, errorCode, errorMessage, attempts, context));
    errors.set(type, list);
  };
  const processed = await transform(records, context, fail);
  const { destination } = context.settings;
  if (destination.kind === 'http') return { records: processed, objects: [], errors };
  const objects: PlannedObject[] = [];
  for (const group of partition(processed, destination, fail)) {
    const planned = await serialize(group, destination, context, fail);
    if (planned !== null) objects.push(planned);
  }
  return { records: processed, objects, errors };
}

/** The error records of one output as an object under the error output prefix. */
export function errorObject(s3: S3Settings, type: ErrorOutputType, records: readonly ErrorRecord[], context: BatchContext): PlannedObject {
  const arrivalMs = Math.min(...records.map((record) => record.arrivalTimestamp));
  const prefix = evaluateErrorOutputPrefix(s3.errorOutputPrefix, { arrivalMs, errorOutputType: type, prefix: s3.prefix });
  const name = objectName({
    deliveryStreamName: context.settings.name,
    versionId: context.versionId,
    arrivalMs,
    uuid: randomUUID(),
    extension: '',
  });
  const body = Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  return { bucket: s3.bucket, object: { key: `${prefix}${name}`, body, contentType: 'application/json' }, records: records.length };
}

type Fail = (type: ErrorOutputType, record: BufferedRecord, errorCode: string, errorMessage: string, attempts?: number) => void;

async function transform(records: readonly BufferedRecord[], context: BatchContext, fail: Fail): Promise<Processed[]> {
  const lambda = context.settings.destination.processors.lambda;
  const plain = records.map((source) => ({ source, data: source.data }));
  if (lambda === undefined) return plain;
  const out: Processed[] = [];
  for (const chunk of chunks(records)) out.push(...(await transformChunk(chunk, lambda, context, fail)));
  return out;
}

/** Invocations of at most INVOKE_PAYLOAD_BYTES of data each (Lambda's 6 MB payload, base64 inflating it). */
function chunks(records: readonly BufferedRecord[]): BufferedRecord[][] {
  return fittingBatches(records, (record) => record.data.length, INVOKE_PAYLOAD_BYTES);
}

async function transformChunk(
  records: readonly BufferedRecord[],
  lambda: NonNullable<DeliverySettings['destination']['processors']['lambda']>,
  context: BatchContext,
  fail: Fail,
): Promise<Processed[]> {
  const event = transformationEvent(records, context);
  let lastError = '';
  for (let attempt = 1; attempt <= lambda.numberOfRetries + 1; attempt++) {
    const answer = await context.invoke(lambda.functionName, event);
    if (answer.functionError === undefined) return transformed(records, answer.payload, fail);
    lastError = JSON.stringify(answer.payload);
  }
  for (const record of records) fail('processing-failed', record, 'Lambda.FunctionError', lastError, lambda.numberOfRetries + 1);
  return [];
}

function transformationEvent(records: readonly BufferedRecord[], context: BatchContext): unknown {
  const source = context.settings.sourceStreamArn;
  return {
    invocationId: randomUUID(),
    deliveryStreamArn: context.deliveryStreamArn,
    ...(source === undefined ? {} : { sourceKinesisStreamArn: source }),
    region: 'us-east-1',
    records: records.map((record) => ({
      recordId: record.recordId,
      approximateArrivalTimestamp: record.arrivalMs,
      data: Buffer.from(record.data).toString('base64'),
      ...(record.kinesis === undefined
        ? {}
        : { kinesisRecordMetadata: { ...record.kinesis, approximateArrivalTimestamp: record.arrivalMs } }),
    })),
  };
}

interface TransformedRecord {
  readonly recordId?: unknown;
  readonly result?: unknown;
  readonly data?: unknown;
  readonly metadata?: { readonly partitionKeys?: unknown };
}

/** Matches the answer to the records by recordId: a record the answer leaves out, or mangles, failed. */
function transformed(records: readonly BufferedRecord[], payload: unknown, fail: Fail): Processed[] {
  const answered = (payload as { records?: unknown } | null)?.records;
  const byId = new Map<unknown, TransformedRecord>();
  if (Array.isArray(answered)) for (const item of answered as TransformedRecord[]) byId.set(item?.recordId, item);
  const out: Processed[] = [];
  for (const record of records) {
    const item = byId.get(record.recordId);
    const failure = (code: string, message: string): void => fail('processing-failed', record, code, message);
    if (item === undefined) failure('Lambda.MissingRecordId', `the function's answer has no record ${record.recordId}`);
    else if (item.result === 'Dropped') continue;
    else if (item.result === 'ProcessingFailed') failure('Lambda.ProcessingFailed', 'the function answered ProcessingFailed');
    else if (item.result !== 'Ok' || typeof item.data !== 'string')
      failure('Lambda.InvalidResult', `record ${record.recordId}: result must be Ok, Dropped or ProcessingFailed, with base64 data`);
    else out.push({ source: record, data: Buffer.from(item.data, 'base64'), ...partitionKeysOf(item) });
  }
  return out;
}

function partitionKeysOf(item: TransformedRecord): { partitionKeys?: Record<string, string> } {
  const keys = item.metadata?.partitionKeys;
  if (keys === null || typeof keys !== 'object') return {};
  return { partitionKeys: Object.fromEntries(Object.entries(keys).map(([key, value]) => [key, String(value)])) };
}

/** One group per set of partition keys (one group without dynamic partitioning), in first-seen order. */
function partition(records: readonly Processed[], s3: S3Settings, fail: Fail): Processed[][] {
  if (!s3.dynamicPartitioning) return records.length === 0 ? [] : [[...records]];
  const groups = new Map<string, Processed[]>();
  const query = s3.processors.metadataQuery;
  for (const record of records) {
    let keys = record.partitionKeys ?? {};
    try {
      if (query !== undefined) keys = { ...keys, ...extractPartitionKeys(query, record.data) };
    } catch (error) {
      if (!(error instanceof MetadataExtractionError)) throw error;
      fail('processing-failed', record.source, error.name, error.message);
      continue;
    }
    const id = JSON.stringify(Object.entries(keys).sort());
    groups.set(id, [...(groups.get(id) ?? []), { ...record, partitionKeys: keys }]);
  }
  return [...groups.values()];
}

async function serialize(group: readonly Processed[], s3: S3Settings, context: BatchContext, fail: Fail): Promise<PlannedObject | null> {
  let body: Uint8Array;
  let records = group;
  if (s3.formatConversion !== null) {
    const { file, failures } = await toParquet(
      group.map((record) => record.data),
      s3.formatConversion,
    );
    const failed = new Set(failures.map((failure) => failure.index));
    for (const failure of failures) fail('format-conversion-failed', group[failure.index]!.source, failure.errorCode, failure.errorMessage);
    if (file === null) return null;
    records = group.filter((_, index) => !failed.has(index));
    body = file;
  } else {
    const delimiter = s3.processors.appendDelimiter ? '\n' : '';
    body = Buffer.concat(group.map((record) => (delimiter === '' ? record.data : Buffer.concat([record.data, Buffer.from(delimiter)]))));
    if (s3.compression === 'GZIP') body = gzipSync(body);
  }
  if (records.length === 0) return null;
  try {
    return { bucket: s3.bucket, object: objectOf(records, body, s3, context), records: records.length };
  } catch (error) {
    // A key that cannot be built (a partition key missing, over 512 characters): the records go to the error output.
    if (!(error instanceof PrefixEvaluationError)) throw error;
    for (const record of records) fail('processing-failed', record.source, 'S3.PrefixEvaluationFailed', error.message);
    return null;
  }
}

function objectOf(records: readonly Processed[], body: Uint8Array, s3: S3Settings, context: BatchContext): DeliveryObject {
  const arrivalMs = Math.min(...records.map((record) => record.source.arrivalMs));
  const prefix = evaluatePrefix(s3.prefix, {
    arrivalMs,
    ...(records[0]!.partitionKeys === undefined ? {} : { partitionKeys: records[0]!.partitionKeys }),
  });
  const extension = s3.fileExtension ?? (s3.formatConversion !== null ? '.parquet' : s3.compression === 'GZIP' ? '.gz' : '');
  const name = objectName({
    deliveryStreamName: context.settings.name,
    versionId: context.versionId,
    arrivalMs,
    uuid: randomUUID(),
    extension,
  });
  return {
    key: `${prefix}${name}`,
    body,
    contentType: 'application/octet-stream',
    ...(s3.compression === 'GZIP' ? { contentEncoding: 'gzip' } : {}),
  };
}

function errorRecord(
  record: BufferedRecord,
  errorCode: string,
  errorMessage: string,
  attempts: number,
  context: BatchContext,
): ErrorRecord {
  const lambda = context.settings.destination.processors.lambda;
  return {
    attemptsMade: attempts,
    arrivalTimestamp: record.arrivalMs,
    errorCode,
    errorMessage,
    attemptEndingTimestamp: context.clock(),
    rawData: Buffer.from(record.data).toString('base64'),
    ...(lambda === undefined ? {} : { lambdaArn: lambda.functionArn }),
  };
}
