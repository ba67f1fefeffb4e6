import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisApiSink, Producer, deaggregate } from '../../src/client/node.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: the same Producer code sends through any Kinesis HTTP endpoint (the KPL's promise): to
// shardline's HTTP door and to kinesalite, with and without aggregation, each user record told
// where it went, and what was put read back record for record through the AWS SDK.
// Method: the real Kinesis HTTP server of shardline and a real kinesalite (npm) listening on
// free ports of 127.0.0.1, the AWS SDK's client underneath the Producer and for reading back.

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

let shardlineEndpoint = '';
useKinesisServer('shardline-producer-http-', ({ server }) => {
  shardlineEndpoint = server.url;
});

let kinesalite: Server;
let kinesaliteEndpoint = '';
beforeAll(async () => {
  const start = createRequire(import.meta.url)('kinesalite') as (options: object) => Server;
  kinesalite = start({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  await new Promise<void>((resolve) => kinesalite.listen(0, '127.0.0.1', resolve));
  kinesaliteEndpoint = `http://127.0.0.1:${(kinesalite.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => kinesalite.close(() => resolve())));

interface Put {
  readonly partitionKey: string;
  readonly data: string;
}

/** Every user record stored in the stream, read through the SDK and deaggregated, by its data. */
async function storedUserRecords(sdk: KinesisClient, streamName: string): Promise<Map<string, { shardId: string; partitionKey: string }>> {
  const found = new Map<string, { shardId: string; partitionKey: string }>();
  const { Shards = [] } = await sdk.send(new ListShardsCommand({ StreamName: streamName }));
  for (const { ShardId } of Shards) {
    const { ShardIterator } = await sdk.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records = [] } = await sdk.send(new GetRecordsCommand({ ShardIterator }));
    for (const record of Records) {
      const users = deaggregate(record.Data!) ?? [{ partitionKey: record.PartitionKey!, data: record.Data! }];
      for (const user of users) found.set(Buffer.from(user.data).toString(), { shardId: ShardId!, partitionKey: user.partitionKey });
    }
  }
  return found;
}

// kinesalite speaks only HTTP/1.1; shardline is reached over HTTP/2, the SDK's default.
describe.each([
  ['shardline', () => shardlineEndpoint, '2'],
  ['kinesalite', () => kinesaliteEndpoint, '1.1'],
] as const)('Producer over the Kinesis HTTP API of %s', (_name, endpoint, httpVersion) => {
  let sdk: KinesisClient;
  let sink: KinesisApiSink;
  beforeAll(() => {
    sdk = new KinesisClient({
      endpoint: endpoint(),
      region: 'us-east-1',
      credentials: CREDENTIALS,
      ...(httpVersion === '1.1' ? { requestHandler: new NodeHttpHandler() } : {}),
    });
    sink = new KinesisApiSink({ endpoint: endpoint(), region: 'us-east-1', credentials: CREDENTIALS, httpVersion });
  });
  afterAll(() => {
    sdk.destroy();
    sink.destroy();
  });
  const createStream = async (streamName: string): Promise<void> => {
    await sdk.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
    await waitUntilStreamExists({ client: sdk, maxWaitTime: 30, minDelay: 1 }, { StreamName: streamName });
  };

  it.each([
    ['plain', false],
    ['aggregated', true],
  ])('puts %s records, each resolved with the shard it is read back from', async (_kind, aggregation) => {
    const streamName = `http-${aggregation ? 'aggregated' : 'plain'}`;
    await createStream(streamName);
    const producer = new Producer(sink, { aggregation });
    const puts: Put[] = Array.from({ length: 300 }, (_, i) => ({ partitionKey: `key-${i % 37}`, data: `record-${i}` }));
    const results = await Promise.all(
      puts.map((put) => producer.put({ streamName, partitionKey: put.partitionKey, data: Buffer.from(put.data) })),
    );
    const stored = await storedUserRecords(sdk, streamName);
    expect(stored.size).toBe(puts.length);
    puts.forEach((put, i) => {
      expect(stored.get(put.data)).toEqual({ shardId: results[i]!.shardId, partitionKey: put.partitionKey });
      expect(results[i]!.attempts).toBe(1);
    });
    const aggregated = results.filter((result) => result.subSequenceNumber !== undefined).length;
    if (aggregation) expect(aggregated).toBeGreaterThan(250);
    else expect(aggregated).toBe(0);
  });

  it('fails a record for a stream that does not exist with the endpoint error, not retried', async () => {
    const producer = new Producer(sink, { rateLimit: false });
    const failure = await producer
      .put({ streamName: 'no-such-stream', partitionKey: 'k', data: Buffer.from('x') })
      .catch((error: unknown) => error);
    expect((failure as { code: string }).code).toBe('ResourceNotFoundException');
    expect((failure as { retriable: boolean }).retriable).toBe(false);
  });
});
