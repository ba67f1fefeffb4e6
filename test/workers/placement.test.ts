import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { workerOfShard } from '../../src/engine/test_hooks.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a shard is placed, when it opens, on the worker with the least recent write load, and
// among equally loaded workers on the one with the fewest shards. Method: a real engine with two
// workers; placement read through the test hook; the load is 8 MiB put into one shard.

const engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

async function open(dataDir: string): Promise<Engine> {
  const engine = await Engine.open({ dataDir, workers: 2, fsync: 'never', enforceLimits: false });
  engines.push(engine);
  return engine;
}

const workerOf = (engine: Engine, StreamName: string, ShardId: string): number => workerOfShard(engine, { StreamName, ShardId });

describe('placement of shards on workers', () => {
  it('spreads idle shards by count and puts new shards away from the busy worker', async () => {
    const dataDir = tempDir();
    const engine = await open(dataDir);
    await engine.createStream({ StreamName: 'first', ShardCount: 4 });
    const first = [0, 1, 2, 3].map((i) => workerOf(engine, 'first', `shardId-00000000000${i}`));
    expect(first.filter((worker) => worker === 0)).toHaveLength(2);

    const busyShard = engine.listShards({ StreamName: 'first' }).Shards![0]!;
    const busy = workerOf(engine, 'first', busyShard.ShardId!);
    for (let put = 0; put < 16; put++) {
      const Records = Array.from({ length: 8 }, (_, i) => ({
        PartitionKey: `k${i}`,
        ExplicitHashKey: busyShard.HashKeyRange!.StartingHashKey!,
        Data: Buffer.alloc(64 * 1024, put),
      }));
      expect((await engine.putRecords({ StreamName: 'first', Records })).FailedRecordCount).toBe(0);
    }
    await engine.createStream({ StreamName: 'second', ShardCount: 3 });
    for (const i of [0, 1, 2]) expect(workerOf(engine, 'second', `shardId-00000000000${i}`)).toBe(1 - busy);
  });
});
