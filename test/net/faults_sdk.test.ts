import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import { ConfiguredRetryStrategy, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { JSON_HEADERS, callKinesis, rawKinesis, type RawAnswer } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';
import { failureOf } from '../helpers/failure.js';

// Goal: each fault kind, put through the HTTP port's ShardlineFaults_20261208 API, reaches the
// unmodified AWS SDK as AWS's own failures would: throttles are the SDK's throttling errors and
// retried, InternalFailure and ServiceUnavailable are transient server errors and retried, an
// expired iterator is not; every touched answer carries x-shardline-injected, every injected
// error the rule's marker. Method: the real server on a free port, the SDK v3 over HTTP/1.1
// with a short fixed backoff, rules with EveryNth and MaxInjections so that the count of
// attempts is exact; raw requests where the SDK hides a header.

const encoder = new TextEncoder();
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer('shardline-faults-sdk-', async (running) => {
  ({ engine, server } = running);
  await engine.createStream({ StreamName: 's', ShardCount: 1 });
});

afterEach(() => engine.clearFaultRules());

function sdk(maxAttempts = 3): KinesisClient {
  return new KinesisClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, () => 10),
  });
}

function faults(operation: string, request: unknown): Promise<RawAnswer> {
  return rawKinesis(server.port, { ...JSON_HEADERS, 'x-amz-target': `ShardlineFaults_20261208.${operation}` }, JSON.stringify(request));
}

async function putRule(rule: Record<string, unknown>): Promise<void> {
  const answer = await faults('PutFaultRule', rule);
  expect([answer.status, answer.body]).toEqual([200, { RuleId: rule['RuleId'] }]);
}

const sdkFailure = (run: () => Promise<unknown> | unknown): Promise<Error & { $metadata: { attempts: number; httpStatusCode: number } }> =>
  failureOf<Error & { $metadata: { attempts: number; httpStatusCode: number } }>(run);

const put = (client: KinesisClient): Promise<unknown> =>
  client.send(new PutRecordCommand({ StreamName: 's', PartitionKey: 'k', Data: encoder.encode('x') }));

describe('fault rules through the AWS SDK', () => {
  it('throttles: the SDK classifies it as throttling and retries until the rule is spent', async () => {
    await putRule({ RuleId: 't', StreamName: 's', Operations: ['PutRecord'], Kind: 'THROTTLE', EveryNth: 1, MaxInjections: 2 });
    const done = (await put(sdk())) as { $metadata: { attempts: number } };
    expect(done.$metadata.attempts).toBe(3);
    await putRule({ RuleId: 't', StreamName: 's', Operations: ['PutRecord'], Kind: 'THROTTLE', EveryNth: 1 });
    const error = await sdkFailure(() => put(sdk()));
    expect([error.name, error.$metadata.httpStatusCode, error.$metadata.attempts, isThrottlingError(error as never)]).toEqual([
      'ProvisionedThroughputExceededException',
      400,
      3,
      true,
    ]);
    expect(error.message).toMatch(/ \(injected by fault rule t\)$/);
    const raw = await callKinesis(server.port, 'PutRecord', { StreamName: 's', PartitionKey: 'k', Data: 'eA==' });
    expect([raw.status, raw.headers['x-shardline-injected'], raw.body.__type]).toEqual([
      400,
      't',
      'ProvisionedThroughputExceededException',
    ]);
  });

  it('fails with InternalFailure (500) and ServiceUnavailable (503), transient errors the SDK retries', async () => {
    for (const [failure, status] of [
      ['InternalFailure', 500],
      ['ServiceUnavailable', 503],
    ] as const) {
      engine.clearFaultRules();
      await putRule({ RuleId: failure, Operations: ['ListShards'], Kind: 'FAIL', Failure: failure, EveryNth: 1, MaxInjections: 1 });
      const done = await sdk().send(new ListShardsCommand({ StreamName: 's' }));
      expect(done.$metadata.attempts).toBe(2);
      await putRule({ RuleId: failure, Operations: ['ListShards'], Kind: 'FAIL', Failure: failure, EveryNth: 1 });
      const error = await sdkFailure(() => sdk(2).send(new ListShardsCommand({ StreamName: 's' })));
      expect([error.name, error.$metadata.httpStatusCode, error.$metadata.attempts, isTransientError(error as never)]).toEqual([
        failure,
        status,
        2,
        true,
      ]);
      const raw = await callKinesis(server.port, 'ListShards', { StreamName: 's' });
      expect([raw.status, raw.headers['x-amzn-errortype'], raw.headers['x-shardline-injected']]).toEqual([status, failure, failure]);
    }
  });

  it('throttles a share of PutRecords entries: FailedRecordCount, the marker per entry, the header', async () => {
    await putRule({ RuleId: 'half', StreamName: 's', Kind: 'THROTTLE', Operations: ['PutRecords'], EveryNth: 2 });
    const Records = Array.from({ length: 4 }, (_, index) => ({ PartitionKey: `k${index}`, Data: encoder.encode(`r${index}`) }));
    const answer = await sdk().send(new PutRecordsCommand({ StreamName: 's', Records }));
    expect(answer.FailedRecordCount).toBe(2);
    expect(answer.Records!.map((entry) => entry.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'ProvisionedThroughputExceededException',
      'ok',
      'ProvisionedThroughputExceededException',
    ]);
    expect(answer.Records![1]!.ErrorMessage).toMatch(/ \(injected by fault rule half\)$/);
    const raw = await callKinesis(server.port, 'PutRecords', {
      StreamName: 's',
      Records: [
        { PartitionKey: 'a', Data: 'eA==' },
        { PartitionKey: 'b', Data: 'eA==' },
      ],
    });
    expect([raw.status, raw.headers['x-shardline-injected'], raw.body.FailedRecordCount]).toEqual([200, 'half', 1]);
  });

  it('expires an iterator early: ExpiredIteratorException, not retried', async () => {
    const client = sdk();
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
    );
    await putRule({ RuleId: 'exp', StreamName: 's', Kind: 'EXPIRE_ITERATOR', Probability: 1 });
    const error = await sdkFailure(() => client.send(new GetRecordsCommand({ ShardIterator })));
    expect([error.name, error.$metadata.attempts, error.message]).toEqual([
      'ExpiredIteratorException',
      1,
      'Iterator expired. (injected by fault rule exp)',
    ]);
  });

  it('delays an answer by at least the rule’s delay and says so in the header, for a synchronous operation too', async () => {
    await putRule({
      RuleId: 'slow',
      Operations: ['PutRecord', 'DescribeStreamSummary'],
      Kind: 'LATENCY',
      EveryNth: 1,
      Latency: { Distribution: 'FIXED', DelayMs: 150 },
    });
    for (const [operation, request] of [
      ['PutRecord', { StreamName: 's', PartitionKey: 'k', Data: 'eA==' }],
      ['DescribeStreamSummary', { StreamName: 's' }],
    ] as const) {
      const startedAt = performance.now();
      const raw = await callKinesis(server.port, operation, request);
      // A timer may fire up to a millisecond early.
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(149);
      expect([raw.status, raw.headers['x-shardline-injected']]).toEqual([200, 'slow']);
    }
  });

  it('drops a SubscribeToShard stream mid-way with an InternalFailure event', async () => {
    const client = sdk();
    const { StreamARN } = engine.describeStreamSummary({ StreamName: 's' }).StreamDescriptionSummary;
    const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: 'drop-me' }));
    await put(client);
    await putRule({ RuleId: 'drop', ConsumerName: 'drop-me', Kind: 'DROP_SUBSCRIPTION', EveryNth: 1 });
    const { EventStream } = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: Consumer!.ConsumerARN,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      }),
    );
    let events = 0;
    const error = await sdkFailure(async () => {
      for await (const event of EventStream!) if (event.SubscribeToShardEvent !== undefined) events++;
    });
    expect(events).toBe(1);
    expect([error.name, error.message]).toEqual([
      'InternalFailureException',
      'The subscription was dropped. (injected by fault rule drop)',
    ]);
  });

  it('refuses a bad rule with its reasons over HTTP, and lists the rules with their counts', async () => {
    const bad = await faults('PutFaultRule', { Kind: 'THROTTLE', Probability: 2 });
    expect([bad.status, bad.body]).toEqual([
      400,
      { __type: 'InvalidArgumentException', message: 'Invalid fault rule: Probability must be a number above 0 and at most 1' },
    ]);
    await putRule({ RuleId: 'counted', Operations: ['ListShards'], Kind: 'THROTTLE', EveryNth: 2, Seed: 5 });
    for (let call = 0; call < 4; call++) await callKinesis(server.port, 'ListShards', { StreamName: 's' });
    const listed = await faults('ListFaultRules', {});
    expect(listed.body).toMatchObject({ Rules: [{ RuleId: 'counted', Seed: 5, Matched: 4, Injected: 2, Status: 'ACTIVE' }] });
    expect((await faults('DeleteFaultRule', { RuleId: 'counted' })).status).toBe(200);
    expect((await faults('ListFaultRules', {})).body).toEqual({ Rules: [] });
  });
});
