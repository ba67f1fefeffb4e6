import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consumer, connect, type ShardlineClient } from '../../src/client/node.js';
import { DryRunOperationException, InvalidArgumentException, ResourceInUseException } from '../../src/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the Kinesis rules the engine owns hold on the WebSocket door too: a SUBSCRIBE within
// 5 seconds of the consumer's last one on the shard is refused (ResourceInUseException), an
// AT_TIMESTAMP in the future is refused, a CALL's DryRun comes back as the typed
// DryRunOperationException; and the Node Consumer waits the 5 seconds out instead of failing.
// Method: the real client against the real uWS server and engine (its clock is Date.now, so
// the Consumer's wait is a real one of about 5 seconds); no verdict depends on timing.

const STREAM = 'ws-rules';
const SHARD = 'shardId-000000000000';

describe("WebSocket door: the engine's Kinesis rules", () => {
  let server: TestServer;
  let client: ShardlineClient;
  let consumerARN: string;
  beforeAll(async () => {
    server = await startTestServer();
    client = await connect(server.url);
    await client.call('CreateStream', { StreamName: STREAM, ShardCount: 1 });
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: STREAM });
    consumerARN = (await client.call('RegisterStreamConsumer', { StreamARN: StreamDescriptionSummary.StreamARN, ConsumerName: 'c' }))
      .Consumer.ConsumerARN;
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('answers a CALL with DryRun DryRunOperationException, storing nothing', async () => {
    await expect(
      client.call('PutRecord', { StreamName: STREAM, PartitionKey: 'k', Data: new TextEncoder().encode('dry'), DryRun: true }),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    const { ShardIterator } = await client.call('GetShardIterator', {
      StreamName: STREAM,
      ShardId: SHARD,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    expect((await client.getRecords({ ShardIterator })).Records).toEqual([]);
  });

  it('refuses a SUBSCRIBE AT_TIMESTAMP in the future', async () => {
    const subscription = client.subscribeToShard({
      ConsumerARN: consumerARN,
      ShardId: SHARD,
      StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: Date.now() + 3_600_000 },
    });
    await expect(subscription).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('refuses a second SUBSCRIBE of a consumer and shard within 5 seconds; the Consumer waits it out and delivers', async () => {
    await client.putRecords(STREAM, [{ partitionKey: 'k', data: new TextEncoder().encode('first') }]);
    const first = await client.subscribeToShard({ ConsumerARN: consumerARN, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    const events = first[Symbol.asyncIterator]();
    expect((await events.next()).value).toMatchObject({ Records: [{ PartitionKey: 'k' }] });
    const second = client.subscribeToShard({ ConsumerARN: consumerARN, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    await expect(second).rejects.toBeInstanceOf(ResourceInUseException);
    await events.return?.(undefined);
    for await (const record of new Consumer(client).subscribe({
      consumerARN: consumerARN,
      shardId: SHARD,
      startingPosition: { Type: 'TRIM_HORIZON' },
    })) {
      expect(new TextDecoder().decode(record.Data)).toBe('first');
      break;
    }
  });
});
