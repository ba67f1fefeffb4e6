import type { KinesisClientRecord } from '../groups/processor.js';

/*
 * What a function is given and what it may answer, as AWS Lambda's Kinesis integration has them
 * (../shared/reference/kinesis-family.md §4.2, §4.3), so that a handler written for Lambda runs
 * unchanged.
 */

export interface KinesisEventRecord {
  readonly kinesis: {
    readonly kinesisSchemaVersion: '1.0';
    readonly partitionKey: string;
    readonly sequenceNumber: string;
    /** base64. */
    readonly data: string;
    /** Epoch seconds, with the milliseconds as a fraction. */
    readonly approximateArrivalTimestamp: number;
    readonly encryptionType?: 'KMS';
  };
  readonly eventSource: 'aws:kinesis';
  readonly eventVersion: '1.0';
  readonly eventID: string;
  readonly eventName: 'aws:kinesis:record';
  readonly invokeIdentityArn: string;
  readonly awsRegion: string;
  readonly eventSourceARN: string;
}

export interface KinesisEvent {
  readonly Records: KinesisEventRecord[];
  /** With TumblingWindowInSeconds (ISO times). */
  readonly window?: { readonly start: string; readonly end: string };
  readonly state?: Record<string, unknown>;
  readonly shardId?: string;
  readonly eventSourceARN?: string;
  readonly isFinalInvokeForWindow?: boolean;
  readonly isWindowTerminatedEarly?: boolean;
}

export interface EventSource {
  readonly streamArn: string;
  readonly shardId: string;
  readonly region: string;
  readonly invokeIdentityArn: string;
  readonly encrypted: boolean;
}

export function kinesisEvent(records: readonly KinesisClientRecord[], source: EventSource): KinesisEvent {
  return {
    Records: records.map((record) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime() / 1000,
        ...(source.encrypted ? { encryptionType: 'KMS' as const } : {}),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${source.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: source.invokeIdentityArn,
      awsRegion: source.region,
      eventSourceARN: source.streamArn,
    })),
  };
}

/**
 * The answer of a function with ReportBatchItemFailures: the index of the first failed record,
 * or -1 when all succeeded; null for an answer Lambda counts as the whole batch failed (an item
 * without an identifier, or one naming no record of the batch).
 */
export function firstFailedIndex(answer: unknown, records: readonly KinesisClientRecord[]): number | null {
  if (answer === null || answer === undefined || answer === '') return -1;
  if (typeof answer !== 'object') return null;
  const failures = (answer as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return -1;
  if (!Array.isArray(failures)) return null;
  let first = -1;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return null;
    const index = records.findIndex((record) => record.sequenceNumber === id);
    if (index < 0) return null;
    if (first < 0 || index < first) first = index;
  }
  return first;
}
