import { afterEach, describe, expect, it } from 'vitest';
import { Producer, deaggregate } from '../../src/client/node.js';
import { Engine, engineSink } from '../../src/index.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the embedded door: a Producer over engineSink(engine) aggregates, rate-limits and
// retries as over the WebSocket, and what it acknowledged is in the engine, each user record
// where its result says. Method: a real engine on a temporary directory enforcing PROVISIONED
// limits, 1,500 records put at once into one shard at rateLimit 50 (none throttled, each at its
// first attempt), then aggregated puts read back through the engine and deaggregated.

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function storedUserRecords(opened: Engine, streamName: string): Promise<Map<string, string>> {
  const byData = new Map<string, string>();
  for (const { ShardId } of opened.listShards({ StreamName: streamName }).Shards) {
    const { ShardIterator } = await opened.getShardIterator({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    for (const record of (await opened.getRecords({ ShardIterator })).Records) {
      const users = deaggregate(record.Data) ?? [{ data: record.Data }];
      for (const user of users) byData.set(Buffer.from(user.data).toString(), ShardId);
    }
  }
  return byData;
}

describe('Producer over the embedded engine (engineSink)', () => {
  it('keeps a shard under its limit with rateLimit, each record at its first attempt', async () => {
    engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', enforceLimits: true, workers: 1 });
    await engine.createStream({ StreamName: 'embedded', ShardCount: 1 });
    const producer = new Producer(engineSink(engine), { rateLimit: 50 });
    const results = await Promise.all(
      Array.from({ length: 1500 }, (_, i) => producer.put({ streamName: 'embedded', partitionKey: `k${i}`, data: Buffer.from(`r${i}`) })),
    );
    expect(results.filter((result) => result.attempts !== 1)).toEqual([]);
    expect((await storedUserRecords(engine, 'embedded')).size).toBe(1500);
  });

  it('aggregates per predicted shard, each user record in the shard its result names', async () => {
    engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', enforceLimits: false, workers: 1 });
    await engine.createStream({ StreamName: 'embedded-kpl', ShardCount: 3 });
    const producer = new Producer(engineSink(engine), { aggregation: true, rateLimit: false });
    const data = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const results = await Promise.all(
      data.map((text, i) => producer.put({ streamName: 'embedded-kpl', partitionKey: `p${i}`, data: Buffer.from(text) })),
    );
    const stored = await storedUserRecords(engine, 'embedded-kpl');
    data.forEach((text, i) => expect(stored.get(text)).toBe(results[i]!.shardId));
    expect(results.filter((result) => result.subSequenceNumber !== undefined).length).toBeGreaterThan(250);
  });
});
