import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/index.js';
import { EngineLeaseStore, EngineSource } from '../../src/groups/embedded.js';
import type { KinesisClientRecord, ShardRecordProcessor } from '../../src/groups/processor.js';
import { GroupWorker, type GroupWorkerOptions } from '../../src/groups/worker.js';
import { tempDir } from '../helpers/temp_dir.js';

let engine: Engine | undefined;
const workers: GroupWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.shutdown()));
  await engine?.close();
  engine = undefined;
});

const FAST = { failoverTimeMillis: 600, takeIntervalMillis: 300, shardSyncIntervalMillis: 300, parentShardPollIntervalMillis: 100 };

function collecting(seen: KinesisClientRecord[]): () => ShardRecordProcessor {
  return () => ({
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer }) => {
      seen.push(...records);
      await checkpointer.checkpoint();
    },
    leaseLost: () => undefined,
    shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
    shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function worker(opened: Engine, options: Partial<GroupWorkerOptions> & Pick<GroupWorkerOptions, 'processor'>): GroupWorker {
  const started = new GroupWorker({
    groupName: 'app',
    source: new EngineSource(opened, 'orders'),
    leases: new EngineLeaseStore(opened, 'app', 'orders'),
    initialPosition: 'TRIM_HORIZON',
    ...FAST,
    ...options,
  });
  workers.push(started);
  return started;
}

describe('consumer group, embedded', () => {
  it('spreads 4 shards over 2 workers and processes every record once', async () => {
    engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', workers: 1 });
    await engine.createStream({ StreamName: 'orders', ShardCount: 4 });
    await engine.putRecords({
      StreamName: 'orders',
      Records: Array.from({ length: 400 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`r${i}`) })),
    });
    const seen: KinesisClientRecord[] = [];
    const a = worker(engine, { workerId: 'a', processor: collecting(seen) });
    const b = worker(engine, { workerId: 'b', processor: collecting(seen) });
    await Promise.all([a.start(), b.start()]);
    await until(() => seen.length >= 400 && a.heldShards.length === 2 && b.heldShards.length === 2);
    expect(new Set(seen.map((record) => Buffer.from(record.data).toString())).size).toBe(400);
    expect(seen.length).toBe(400);
  });
});
