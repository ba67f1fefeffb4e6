import { randomUUID } from 'node:crypto';
import type { KinesisClientRecord } from '../groups/processor.js';
import { sleep } from '../groups/record_source.js';
import { firstFailedIndex, kinesisEvent, type EventSource, type KinesisEvent } from './kinesis_event.js';
import type { MappingSettings } from './mapping.js';

/*
 * One batch of a shard through a function, as Lambda's Kinesis poller runs it (kinesis-family.md
 * §4.3): records older than MaximumRecordAgeInSeconds go to the failure destination unread; a
 * function error retries the batch (after a backoff) until MaximumRetryAttempts, bisecting it
 * first when asked (a split consumes no retry); with ReportBatchItemFailures the records before
 * the lowest failed one are done and the rest is retried; what is given up goes to the failure
 * destination as AWS's on-failure record. The batch is done only once every record succeeded or
 * was sent there: a destination that is down holds the batch (and the shard's checkpoint).
 */

export type Invoke = (event: KinesisEvent) => Promise<unknown>;

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** AWS's on-failure record: the batch's place, never its records. */
export interface OnFailureRecord {
  readonly requestContext: { requestId: string; functionArn: string; condition: FailureCondition; approximateInvokeCount: number };
  readonly responseContext: { statusCode: number; executedVersion: string; functionError: string } | null;
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

export interface BatchContext {
  readonly settings: MappingSettings;
  readonly source: EventSource;
  readonly functionArn: string;
  readonly invoke: Invoke;
  /** Where given-up records are reported; absent: they are dropped (as Lambda without a destination). */
  readonly onFailure?: (record: OnFailureRecord) => Promise<void>;
  readonly clock: () => number;
  /** Aborted when the shard's lease is lost or the trigger stops: the batch is left unfinished. */
  readonly signal: AbortSignal;
  /** The wait before retry `attempt` (1 and up). Default 100 ms doubling to 10 s. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface BatchReport {
  readonly invocations: number;
  /** Records sent to the failure destination (or dropped without one). */
  readonly failedRecords: number;
  /** The last function error's message, if any. */
  readonly lastError?: string;
}

interface Pending {
  readonly records: readonly KinesisClientRecord[];
  readonly attempts: number;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;

/** Runs the batch to its end; false if it was aborted first (nothing after the abort counts as done). */
export async function runBatch(
  records: readonly KinesisClientRecord[],
  context: BatchContext,
): Promise<BatchReport & { completed: boolean }> {
  const pending: Pending[] = [{ records, attempts: 0 }];
  let invocations = 0;
  let failedRecords = 0;
  let lastError: string | undefined;
  const fail = async (given: readonly KinesisClientRecord[], condition: FailureCondition, errorText: string | null): Promise<void> => {
    failedRecords += given.length;
    await report(context, failureRecord(given, condition, invocations, errorText, context));
  };
  while (pending.length > 0) {
    if (context.signal.aborted) return { invocations, failedRecords, completed: false, ...(lastError === undefined ? {} : { lastError }) };
    const item = pending.shift()!;
    const [expired, live] = splitExpired(item.records, context);
    if (expired.length > 0) await fail(expired, 'RecordAgeExceeded', null);
    if (live.length === 0) continue;
    invocations++;
    const failedFrom = await invokeOnce(live, context).catch((error: unknown) => {
      lastError = error instanceof Error ? error.message : String(error);
      return 0;
    });
    if (failedFrom < 0) continue;
    const failed = live.slice(failedFrom);
    if (context.settings.bisectBatchOnFunctionError && failed.length > 1) {
      const middle = Math.ceil(failed.length / 2);
      pending.unshift(
        { records: failed.slice(0, middle), attempts: item.attempts },
        { records: failed.slice(middle), attempts: item.attempts },
      );
      continue;
    }
    const attempts = item.attempts + 1;
    const { maximumRetryAttempts } = context.settings;
    if (maximumRetryAttempts !== -1 && attempts > maximumRetryAttempts) {
      await fail(failed, 'RetryAttemptsExhausted', lastError ?? 'Unhandled');
      continue;
    }
    await sleep((context.retryDelayMs ?? backoff)(attempts), context.signal);
    pending.unshift({ records: failed, attempts });
  }
  return { invocations, failedRecords, completed: true, ...(lastError === undefined ? {} : { lastError }) };
}

/** -1: every record succeeded; else the index the failed records start at (0: the whole batch). */
async function invokeOnce(records: readonly KinesisClientRecord[], context: BatchContext): Promise<number> {
  const answer = await context.invoke(kinesisEvent(records, context.source));
  if (!context.settings.reportBatchItemFailures) return -1;
  return firstFailedIndex(answer, records) ?? 0;
}

/** Records arrive in order, so the expired ones are a prefix. */
function splitExpired(
  records: readonly KinesisClientRecord[],
  context: BatchContext,
): [readonly KinesisClientRecord[], readonly KinesisClientRecord[]] {
  const age = context.settings.maximumRecordAgeInSeconds;
  if (age === -1) return [[], records];
  const oldest = context.clock() - age * 1000;
  const firstLive = records.findIndex((record) => record.approximateArrivalTimestamp.getTime() >= oldest);
  return firstLive < 0 ? [records, []] : [records.slice(0, firstLive), records.slice(firstLive)];
}

function backoff(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
}

/** A destination that is down is tried again (with backoff) until it takes the record or the batch is aborted. */
async function report(context: BatchContext, record: OnFailureRecord): Promise<void> {
  if (context.onFailure === undefined) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await context.onFailure(record);
      return;
    } catch (error) {
      if (context.signal.aborted) throw error;
      await sleep(backoff(attempt), context.signal);
    }
  }
}

function failureRecord(
  records: readonly KinesisClientRecord[],
  condition: FailureCondition,
  invocations: number,
  functionError: string | null,
  context: BatchContext,
): OnFailureRecord {
  const first = records[0]!;
  const last = records.at(-1)!;
  return {
    requestContext: { requestId: randomUUID(), functionArn: context.functionArn, condition, approximateInvokeCount: invocations },
    responseContext: functionError === null ? null : { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date(context.clock()).toISOString(),
    KinesisBatchInfo: {
      shardId: context.source.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: first.approximateArrivalTimestamp.toISOString(),
      approximateArrivalOfLastRecord: last.approximateArrivalTimestamp.toISOString(),
      batchSize: records.length,
      streamArn: context.source.streamArn,
    },
  };
}
