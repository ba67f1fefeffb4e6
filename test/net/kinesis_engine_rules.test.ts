import {
  CreateStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  DryRunOperationException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  InvalidArgumentException,
  KinesisClient,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  SubscribeToShardCommand,
  type SubscribeToShardCommandInput,
} from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: the Kinesis rules the engine owns for every door, answered over the HTTP door as AWS
// answers them: SubscribeToShard's 5-second rule (checked after the consumer is looked up),
// AT_TIMESTAMP in the future, DryRun on the five operations that take it, and PutRecord's
// errors naming its own members. Method: the unmodified AWS SDK (HTTP/2) against the real
// server and a real engine whose clock the test moves by hand, so "now" and the 5 seconds are
// exact; limits are on, so a dry run can be seen not to count against them.

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const STREAM = 'rules';
const SHARD = 'shardId-000000000000';
/** 2^128: one above the largest hash key. */
const HASH_KEY_TOO_BIG = '340282366920938463463374607431768211456';
const encoder = new TextEncoder();

let now = 1_700_000_000_000;
let server: KinesisHttpServer;
let client: KinesisClient;
let streamArn: string;
useKinesisServer(
  'shardline-kinesis-rules-',
  async (running) => {
    ({ server } = running);
    client = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    await client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
    streamArn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }))).StreamDescriptionSummary!.StreamARN!;
  },
  { enforceLimits: true, clock: () => now },
);

afterAll(() => client?.destroy());

async function registered(name: string): Promise<string> {
  return (await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }))).Consumer!.ConsumerARN!;
}

/** Subscribes, expects it to start, and ends it at once; the rule holds the 5 seconds from here. */
async function subscribeOnce(input: SubscribeToShardCommandInput): Promise<void> {
  const abort = new AbortController();
  try {
    const { EventStream } = await client.send(new SubscribeToShardCommand(input), { abortSignal: abort.signal });
    expect(EventStream).toBeDefined();
  } finally {
    abort.abort();
  }
}

function subscribing(input: SubscribeToShardCommandInput): Promise<unknown> {
  return client.send(new SubscribeToShardCommand(input));
}

describe('SubscribeToShard', () => {
  it('answers a deregistered consumer ResourceNotFoundException, even within 5 seconds of its last subscription', async () => {
    const arn = await registered('leaving');
    await subscribeOnce({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } });
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: arn }));
    await expect(subscribing({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("refuses a second subscription within 5 seconds of the engine's clock, and takes one after", async () => {
    const arn = await registered('twice');
    const input = { ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' as const } };
    await subscribeOnce(input);
    now += 4999;
    await expect(subscribing(input)).rejects.toBeInstanceOf(ResourceInUseException);
    now += 1;
    await subscribeOnce(input);
  });

  it('refuses AT_TIMESTAMP in the future as Kinesis words it, before any event', async () => {
    const arn = await registered('early');
    const future = now + 60_000;
    const refused = subscribing({
      ConsumerARN: arn,
      ShardId: SHARD,
      StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: new Date(future) },
    });
    await expect(refused).rejects.toMatchObject({
      name: 'InvalidArgumentException',
      message: `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${future}, currentTimestampInMillis: ${now}`,
      $metadata: { httpStatusCode: 400 },
    });
    // A refused start does not count as a subscription: the next call is taken.
    await subscribeOnce({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: new Date(now) } });
  });

  it('answers a dry run DryRunOperationException, without taking the 5 seconds', async () => {
    const arn = await registered('dry');
    const input = { ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' as const } };
    await expect(subscribing({ ...input, DryRun: true })).rejects.toBeInstanceOf(DryRunOperationException);
    await expect(subscribing({ ...input, ShardId: 'shardId-000000000009', DryRun: true })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await subscribeOnce(input);
  });
});

describe('GetShardIterator and GetRecords', () => {
  it("refuses AT_TIMESTAMP in the future with Kinesis' InvalidArgumentException, and takes now", async () => {
    const future = now + 1;
    const refused = client.send(
      new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(future) }),
    );
    await expect(refused).rejects.toMatchObject({
      name: 'InvalidArgumentException',
      message: `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${future}, currentTimestampInMillis: ${now}`,
    });
    const atNow = await client.send(
      new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(now) }),
    );
    expect(atNow.ShardIterator).toEqual(expect.any(String));
  });

  it('answers dry runs DryRunOperationException after checking the iterator, and a dry read does not count against the limit', async () => {
    now += 10_000;
    await expect(
      client.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'LATEST', DryRun: true })),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'LATEST' }),
    );
    const forged = `${ShardIterator!.slice(0, 10)}${ShardIterator![10] === 'A' ? 'B' : 'A'}${ShardIterator!.slice(11)}`;
    await expect(client.send(new GetRecordsCommand({ ShardIterator: forged, DryRun: true }))).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
    // Five reads a second per shard: ten dry runs, then the five real reads all pass.
    for (let i = 0; i < 10; i++)
      await expect(client.send(new GetRecordsCommand({ ShardIterator, DryRun: true }))).rejects.toBeInstanceOf(DryRunOperationException);
    for (let i = 0; i < 5; i++) expect((await client.send(new GetRecordsCommand({ ShardIterator }))).Records).toEqual([]);
  });
});

describe('PutRecord and PutRecords', () => {
  it("names PutRecord's own members in its errors, and PutRecords' entries by number", async () => {
    const single = await client
      .send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', ExplicitHashKey: HASH_KEY_TOO_BIG, Data: encoder.encode('x') }))
      .catch((error: unknown) => error);
    expect(single).toBeInstanceOf(InvalidArgumentException);
    expect((single as Error).message).toMatch(/^ExplicitHashKey /);
    expect((single as Error).message).not.toContain('Records');
    const batch = client.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: [
          { PartitionKey: 'k', Data: encoder.encode('x') },
          { PartitionKey: 'k', ExplicitHashKey: HASH_KEY_TOO_BIG, Data: encoder.encode('y') },
        ],
      }),
    );
    await expect(batch).rejects.toMatchObject({
      name: 'InvalidArgumentException',
      message: expect.stringMatching(/^Records\.2\.ExplicitHashKey /),
    });
  });

  it('checks a dry run and stores nothing', async () => {
    await expect(
      client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: encoder.encode('dry'), DryRun: true })),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    await expect(
      client.send(
        new PutRecordsCommand({ StreamName: STREAM, Records: [{ PartitionKey: 'k', Data: encoder.encode('dry') }], DryRun: true }),
      ),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    await expect(
      client.send(
        new PutRecordCommand({
          StreamName: STREAM,
          PartitionKey: 'k',
          ExplicitHashKey: HASH_KEY_TOO_BIG,
          Data: encoder.encode('dry'),
          DryRun: true,
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    now += 1000;
    for (const ShardId of [SHARD, 'shardId-000000000001']) {
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({ StreamName: STREAM, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      expect((await client.send(new GetRecordsCommand({ ShardIterator }))).Records).toEqual([]);
    }
  });
});
