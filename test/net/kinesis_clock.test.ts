import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  PutRecordCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, expect, it } from 'vitest';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { keyOf, rawCall, startSecureServers, writeCredentials } from '../auth/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';
import { JSON_HEADERS, rawKinesis, type RawAnswer } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: on the HTTP port, the unmodified AWS SDK sees a stream CREATING (its PutRecord refused
// with ResourceNotFoundException) until its waiter finds it ACTIVE, and the manual clock moved
// through the ShardlineClock_20261208 JSON API deletes what retention would delete 25 hours
// later; a bad move is answered 400 InvalidArgumentException and changes nothing; under access
// control the moves need `shardline:AdvanceClock`. Method: the real server on a free port over
// an engine with clock 'manual' and createStreamMs 1 s, the SDK v3 over HTTP/1.1, the clock's
// target called with raw requests (SigV4-signed by @smithy/signature-v4 under access control).

const HOUR_MS = 3_600_000;
const CREATE_MS = 1000;
const SHARD = 'shardId-000000000000';

let server: KinesisHttpServer;
useKinesisServer(
  'shardline-kinesis-clock-',
  (running) => {
    server = running.server;
  },
  { clock: 'manual', createStreamMs: CREATE_MS },
);

function sdk(): KinesisClient {
  return new KinesisClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: new NodeHttpHandler(),
  });
}

function clock(operation: string, request: unknown): Promise<RawAnswer> {
  return rawKinesis(server.port, { ...JSON_HEADERS, 'x-amz-target': `ShardlineClock_20261208.${operation}` }, JSON.stringify(request));
}

async function createActive(client: KinesisClient, name: string): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
  expect(StreamDescriptionSummary?.StreamStatus).toBe('CREATING');
  const put = client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'k', Data: Buffer.from('early') }));
  await expect(put).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
  const waited = await waitUntilStreamExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { StreamName: name });
  expect(waited.state).toBe('SUCCESS');
}

async function readAll(client: KinesisClient, name: string): Promise<string[]> {
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({ StreamName: name, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const { Records } = await client.send(new GetRecordsCommand({ ShardIterator }));
  return (Records ?? []).map((record) => Buffer.from(record.Data!).toString());
}

describe('the clock and the state durations on the HTTP port', () => {
  it("keeps a new stream CREATING for the SDK's waiter, then deletes its records once the clock passes retention", async () => {
    const client = sdk();
    await createActive(client, 'aged');
    for (const text of ['one', 'two'])
      await client.send(new PutRecordCommand({ StreamName: 'aged', PartitionKey: text, Data: Buffer.from(text) }));
    expect(await readAll(client, 'aged')).toEqual(['one', 'two']);

    const before = await clock('DescribeClock', {});
    expect([before.status, before.body['Mode']]).toEqual([200, 'MANUAL']);
    const advanced = await clock('AdvanceClock', { ByMillis: 25 * HOUR_MS });
    expect([advanced.status, advanced.body['OffsetMillis']]).toEqual([200, (before.body['OffsetMillis'] as number) + 25 * HOUR_MS]);
    expect(await readAll(client, 'aged')).toEqual([]);
    client.destroy();
  });

  it('answers a bad move with 400 InvalidArgumentException and leaves the clock where it was', async () => {
    const before = (await clock('DescribeClock', {})).body['OffsetMillis'];
    for (const request of [{ ByMillis: -1000 }, { ByMillis: 0 }, { ByMillis: '25h' }, {}]) {
      const answer = await clock('AdvanceClock', request);
      expect([answer.status, answer.headers['x-amzn-errortype'], answer.body['__type']]).toEqual([
        400,
        'InvalidArgumentException',
        'InvalidArgumentException',
      ]);
    }
    expect((await clock('DescribeClock', {})).body['OffsetMillis']).toBe(before);
    expect((await clock('TurnBackClock', {})).status).toBe(400);
  });

  it('asks shardline:AdvanceClock and shardline:DescribeClock of a caller under access control', async () => {
    const dir = tempDir();
    const credentials = writeCredentials(dir, {
      admin: [{ Effect: 'Allow', Action: ['shardline:AdvanceClock', 'shardline:DescribeClock'], Resource: '*' }],
      reader: [{ Effect: 'Allow', Action: ['shardline:DescribeClock'], Resource: '*' }],
    });
    const secure = await startSecureServers(dir, credentials);
    try {
      const api = { targetPrefix: 'ShardlineClock_20261208.', service: 'kinesis' };
      const call = (operation: string, request: unknown, who: string): ReturnType<typeof rawCall> =>
        rawCall(secure.http.url, operation, request, keyOf(who), Date.now(), api);
      expect((await call('DescribeClock', {}, 'reader')).body).toMatchObject({ Mode: 'SYSTEM', OffsetMillis: 0 });
      const denied = await call('AdvanceClock', { ByMillis: 1000 }, 'reader');
      expect([denied.status, denied.type]).toEqual([400, 'AccessDeniedException']);
      expect(denied.message).toContain('shardline:AdvanceClock');
      // Allowed, and then refused by the engine: its clock is not manual.
      const allowed = await call('AdvanceClock', { ByMillis: 1000 }, 'admin');
      expect([allowed.status, allowed.type]).toEqual([400, 'InvalidArgumentException']);
    } finally {
      await secure.stop();
    }
  });
});
