import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deaggregate } from '../../src/client/kpl_aggregation.js';
import { Consumer, Producer, connect, type ConsumedRecord, type ProducerResult, type ShardlineClient } from '../../src/client/node.js';
import { startTestServer, streamWithConsumers, type TestServer } from '../helpers/server.js';

// Goal: with aggregation on, the Producer packs user records predicted to share a shard into KPL
// aggregates (partition key "a", the first user record's hash key), each user record's promise
// says where it went (shard, sequence number, sub-sequence number), every record lands in the
// shard its hash key belongs to, and after a split the Producer reads the shard map again.
// Method: a real server and client; the stored Kinesis records read back from the engine and
// unpacked; the Consumer's count of user records outside their shard.

let server: TestServer;
let client: ShardlineClient;

beforeAll(async () => {
  server = await startTestServer();
  client = await connect(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

async function stored(
  streamName: string,
): Promise<Array<{ shardId: string; sequenceNumber: string; partitionKey: string; data: Uint8Array }>> {
  const out: Array<{ shardId: string; sequenceNumber: string; partitionKey: string; data: Uint8Array }> = [];
  for (const shard of server.engine.listShards({ StreamName: streamName }).Shards!) {
    const { ShardIterator } = await server.engine.getShardIterator({
      StreamName: streamName,
      ShardId: shard.ShardId!,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const { Records } = await server.engine.getRecords({ ShardIterator: ShardIterator! });
    for (const record of Records)
      out.push({ shardId: shard.ShardId!, sequenceNumber: record.SequenceNumber, partitionKey: record.PartitionKey, data: record.Data });
  }
  return out;
}

describe('Producer aggregation', () => {
  it('packs records per predicted shard, reports each one, and lands every one in its own shard', async () => {
    const [consumerARN] = await streamWithConsumers(server.engine, 'agg', 4, 1);
    const producer = new Producer(client, { aggregation: { maxBufferedTimeMs: 20 } });
    const puts = Array.from({ length: 400 }, (_, i) =>
      producer.put({ streamName: 'agg', partitionKey: `key-${i}`, data: Buffer.from(`record-${i}`) }),
    );
    const results: ProducerResult[] = await Promise.all(puts);
    await producer.close();

    const kinesis = await stored('agg');
    expect(kinesis.length).toBeLessThan(20);
    expect(kinesis.every((record) => record.partitionKey === 'a' || deaggregate(record.data) === null)).toBe(true);
    const users = new Map<string, string>();
    for (const record of kinesis)
      for (const user of deaggregate(record.data) ?? [])
        users.set(`${record.sequenceNumber}/${user.subSequenceNumber}`, `${record.shardId}:${Buffer.from(user.data).toString()}`);
    results.forEach((result, i) =>
      expect(users.get(`${result.sequenceNumber}/${result.subSequenceNumber}`)).toBe(`${result.shardId}:record-${i}`),
    );

    const consumer = new Consumer(client);
    const seen: ConsumedRecord[] = [];
    for await (const record of consumer.subscribeStream({
      streamName: 'agg',
      consumerARN: consumerARN!,
      startingPosition: { Type: 'TRIM_HORIZON' },
    })) {
      seen.push(record);
      if (seen.length === 400) break;
    }
    expect(new Set(seen.map((record) => Buffer.from(record.Data).toString())).size).toBe(400);
    expect(consumer.userRecordsOutsideShard).toBe(0);
  });

  it('reads the shard map again after a split, so later aggregates land in the children', async () => {
    const [consumerARN] = await streamWithConsumers(server.engine, 'agg-split', 1, 1);
    const producer = new Producer(client, { aggregation: { maxBufferedTimeMs: 5 } });
    const put = (from: number): Promise<ProducerResult[]> =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          producer.put({ streamName: 'agg-split', partitionKey: `key-${from + i}`, data: Buffer.from(`r${from + i}`) }),
        ),
      );
    await put(0);
    await server.engine.splitShard({
      StreamName: 'agg-split',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: (1n << 127n).toString(),
    });
    await put(100); // predicted with the old map: aggregates of both halves land in one child
    const last = await put(200);
    await producer.close();
    expect(new Set(last.map((result) => result.shardId))).toEqual(new Set(['shardId-000000000001', 'shardId-000000000002']));

    const consumer = new Consumer(client);
    const seen = new Set<string>();
    for await (const record of consumer.subscribeStream({
      streamName: 'agg-split',
      consumerARN: consumerARN!,
      startingPosition: { Type: 'TRIM_HORIZON' },
    })) {
      seen.add(Buffer.from(record.Data).toString());
      if (seen.size === 300) break;
    }
    expect(seen.size).toBe(300);
  });
});
