import { describe, expect, it } from 'vitest';
import type { KinesisClientRecord } from '../../src/groups/processor.js';
import { runBatch, type BatchContext, type OnFailureRecord } from '../../src/triggers/batch_runner.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import { resolveMapping, type MappingRequest } from '../../src/triggers/mapping.js';
import { InvalidParameterValueException } from '../../src/errors.js';

// Goal: a batch goes through a function as Lambda's Kinesis poller runs it: retries up to
// MaximumRetryAttempts, bisection on error (splits consume no retry), partial batch failures
// (the records before the lowest failed one are done), records past MaximumRecordAgeInSeconds
// given up unread, AWS's on-failure record with the right KinesisBatchInfo, the event in AWS's
// shape; and mappings Lambda would refuse are refused. Method: runBatch with a JavaScript
// function that fails on chosen records, a controlled clock, no delay between retries.

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/orders';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

function records(count: number, ageSeconds = 0): KinesisClientRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequenceNumber: String(1000 + i),
    subSequenceNumber: 0,
    partitionKey: `k${i}`,
    data: Buffer.from(JSON.stringify({ i })),
    approximateArrivalTimestamp: new Date(NOW - ageSeconds * 1000 + i),
    aggregated: false,
  }));
}

interface Run {
  readonly invocations: KinesisEvent[];
  readonly failures: OnFailureRecord[];
  readonly report: Awaited<ReturnType<typeof runBatch>>;
}

async function run(
  batch: KinesisClientRecord[],
  mapping: Partial<MappingRequest>,
  handler: (event: KinesisEvent) => unknown,
): Promise<Run> {
  const invocations: KinesisEvent[] = [];
  const failures: OnFailureRecord[] = [];
  const context: BatchContext = {
    settings: resolveMapping({ EventSourceArn: STREAM_ARN, FunctionName: 'f', StartingPosition: 'TRIM_HORIZON', ...mapping }),
    source: {
      streamArn: STREAM_ARN,
      shardId: 'shardId-000000000000',
      region: 'us-east-1',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
      encrypted: false,
    },
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    invoke: async (event) => {
      invocations.push(event);
      return handler(event);
    },
    onFailure: async (record) => void failures.push(record),
    clock: () => NOW,
    signal: new AbortController().signal,
    retryDelayMs: () => 0,
  };
  return { invocations, failures, report: await runBatch(batch, context) };
}

const sequences = (event: KinesisEvent): string[] => event.Records.map((record) => record.kinesis.sequenceNumber);
const failingOn = (bad: string) => (event: KinesisEvent) => {
  if (sequences(event).includes(bad)) throw new Error(`bad record ${bad}`);
};

describe('runBatch', () => {
  it("hands the function AWS's Kinesis event", async () => {
    const { invocations } = await run(records(2), {}, () => undefined);
    expect(invocations[0]!.Records[0]).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'k0',
        sequenceNumber: '1000',
        data: Buffer.from('{"i":0}').toString('base64'),
        approximateArrivalTimestamp: NOW / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: 'shardId-000000000000:1000',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
      awsRegion: 'us-east-1',
      eventSourceARN: STREAM_ARN,
    });
  });

  it('retries a failing batch MaximumRetryAttempts times, then sends its on-failure record', async () => {
    const { invocations, failures, report } = await run(records(4), { MaximumRetryAttempts: 2 }, failingOn('1002'));
    expect(invocations).toHaveLength(3);
    expect(report).toMatchObject({ completed: true, failedRecords: 4, lastError: 'bad record 1002' });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: '1000',
        endSequenceNumber: '1003',
        approximateArrivalOfFirstRecord: new Date(NOW).toISOString(),
        approximateArrivalOfLastRecord: new Date(NOW + 3).toISOString(),
        batchSize: 4,
        streamArn: STREAM_ARN,
      },
    });
  });

  it('bisects a failing batch down to the bad record, without spending retries on the splits', async () => {
    const { invocations, failures } = await run(
      records(8),
      { MaximumRetryAttempts: 1, BisectBatchOnFunctionError: true },
      failingOn('1005'),
    );
    expect(failures.map((failure) => [failure.KinesisBatchInfo.startSequenceNumber, failure.KinesisBatchInfo.batchSize])).toEqual([
      ['1005', 1],
    ]);
    // [0..7] fails, [0..3] passes, [4..7] fails, [4,5] fails, [4] passes, [5] fails twice, [6,7] passes.
    expect(invocations.map(sequences).map((batch) => batch.join(','))).toEqual([
      '1000,1001,1002,1003,1004,1005,1006,1007',
      '1000,1001,1002,1003',
      '1004,1005,1006,1007',
      '1004,1005',
      '1004',
      '1005',
      '1005',
      '1006,1007',
    ]);
  });

  it('retries from the lowest reported failure with ReportBatchItemFailures, and the whole batch for a malformed answer', async () => {
    let calls = 0;
    const partial = await run(records(5), { FunctionResponseTypes: ['ReportBatchItemFailures'] }, () =>
      ++calls === 1 ? { batchItemFailures: [{ itemIdentifier: '1003' }, { itemIdentifier: '1001' }] } : { batchItemFailures: [] },
    );
    expect(partial.invocations.map(sequences)).toEqual([
      ['1000', '1001', '1002', '1003', '1004'],
      ['1001', '1002', '1003', '1004'],
    ]);
    let again = 0;
    const malformed = await run(records(3), { FunctionResponseTypes: ['ReportBatchItemFailures'] }, () =>
      ++again === 1 ? { batchItemFailures: [{ itemIdentifier: '' }] } : null,
    );
    expect(malformed.invocations.map(sequences)).toEqual([
      ['1000', '1001', '1002'],
      ['1000', '1001', '1002'],
    ]);
  });

  it('gives up records older than MaximumRecordAgeInSeconds without invoking the function', async () => {
    const old = records(3, 120);
    const fresh = records(2).map((record, i) => ({ ...record, sequenceNumber: String(2000 + i) }));
    const { invocations, failures } = await run([...old, ...fresh], { MaximumRecordAgeInSeconds: 60 }, () => undefined);
    expect(invocations.map(sequences)).toEqual([['2000', '2001']]);
    expect(failures).toMatchObject([
      {
        requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 0 },
        responseContext: null,
        KinesisBatchInfo: { batchSize: 3 },
      },
    ]);
  });

  it('holds the batch while the failure destination is down, until it takes the record', async () => {
    let refusals = 2;
    const failures: OnFailureRecord[] = [];
    const context: BatchContext = {
      settings: resolveMapping({ EventSourceArn: STREAM_ARN, FunctionName: 'f', StartingPosition: 'LATEST', MaximumRetryAttempts: 0 }),
      source: { streamArn: STREAM_ARN, shardId: 'shardId-000000000000', region: 'us-east-1', invokeIdentityArn: 'r', encrypted: false },
      functionArn: 'f',
      invoke: async () => {
        throw new Error('always');
      },
      onFailure: async (record) => {
        if (refusals-- > 0) throw new Error('destination down');
        failures.push(record);
      },
      clock: () => NOW,
      signal: new AbortController().signal,
      retryDelayMs: () => 0,
    };
    expect((await runBatch(records(2), context)).completed).toBe(true);
    expect(failures).toHaveLength(1);
    expect(refusals).toBe(-1);
  });
});

describe('resolveMapping', () => {
  const base = { EventSourceArn: STREAM_ARN, FunctionName: 'f', StartingPosition: 'TRIM_HORIZON' };

  it("fills Lambda's defaults", () => {
    expect(resolveMapping(base)).toMatchObject({
      enabled: true,
      batchSize: 100,
      maximumBatchingWindowInSeconds: 0,
      parallelizationFactor: 1,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      reportBatchItemFailures: false,
    });
  });

  it.each([
    [{ BatchSize: 0 }, "Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"],
    [
      { BatchSize: 10_001 },
      "Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000",
    ],
    [
      { MaximumRecordAgeInSeconds: 30 },
      "Value '30' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
    ],
    [{ ParallelizationFactor: 11 }, "at 'parallelizationFactor'"],
    [{ MaximumBatchingWindowInSeconds: 301 }, "at 'maximumBatchingWindowInSeconds'"],
    [{ StartingPosition: 'NOW' }, 'StartingPosition must be one of'],
    [{ StartingPosition: 'AT_TIMESTAMP' }, 'StartingPositionTimestamp (epoch seconds) is required'],
    [{ FunctionResponseTypes: ['Everything'] }, 'FunctionResponseTypes takes only ReportBatchItemFailures'],
    [
      { DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:us-east-1:000000000000:q' } } },
      'must be a Kinesis stream ARN or a file:// URL',
    ],
    [{ EventSourceArn: 'orders' }, 'is not a Kinesis stream or consumer ARN'],
  ])('refuses %j', (change, message) => {
    expect(() => resolveMapping({ ...base, ...change })).toThrow(InvalidParameterValueException);
    expect(() => resolveMapping({ ...base, ...change })).toThrow(message);
  });
});
