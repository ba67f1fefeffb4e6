import { afterEach, describe, expect, it } from 'vitest';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import { Engine } from '../../src/index.js';
import { InvalidArgumentException, LeaseLostError } from '../../src/errors.js';
import { overEngine } from '../../src/groups/embedded.js';
import { groupRecords } from '../../src/groups/group_records.js';
import type { Checkpointer, KinesisClientRecord, ShardRecordProcessor } from '../../src/groups/processor.js';
import { GroupWorker, type GroupWorkerOptions } from '../../src/groups/worker.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the consumer group's contract on the embedded door: leases spread over workers, move on
// join and graceful leave without a record processed twice, a child shard's records come after
// all of its parents', checkpoints are bounded by what was delivered, a throwing processor
// gets its batch again, KPL aggregates arrive unpacked and a checkpoint inside one resumes
// there. Method: a real engine on a temporary directory, workers in this process with
// failover 600 ms (so a test waits for lease moves in under a second or two).

let engine: Engine | undefined;
const workers: GroupWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.shutdown()));
  await engine?.close();
  engine = undefined;
});

const FAST = { failoverTimeMillis: 600, takeIntervalMillis: 300, shardSyncIntervalMillis: 300, parentShardPollIntervalMillis: 100 };

interface Seen extends KinesisClientRecord {
  readonly shardId: string;
  readonly workerId: string;
}

function collecting(
  seen: Seen[],
  workerId: string,
  after?: (checkpointer: Checkpointer) => Promise<void>,
  checkpointOnShutdown = true,
): () => ShardRecordProcessor {
  return () => {
    let shardId = '';
    return {
      initialize: (input) => void (shardId = input.shardId),
      processRecords: async ({ records, checkpointer }) => {
        seen.push(...records.map((record) => ({ ...record, shardId, workerId })));
        await (after ?? ((c) => c.checkpoint()))(checkpointer);
      },
      leaseLost: () => undefined,
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: async ({ checkpointer }) => {
        if (checkpointOnShutdown) await checkpointer.checkpoint();
      },
    };
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function worker(opened: Engine, options: Partial<GroupWorkerOptions> & Pick<GroupWorkerOptions, 'processor'>): GroupWorker {
  const started = new GroupWorker({
    groupName: 'app',
    ...overEngine(opened, 'app', 'orders'),
    initialPosition: 'TRIM_HORIZON',
    ...FAST,
    ...options,
  });
  workers.push(started);
  return started;
}

async function open(shards: number): Promise<Engine> {
  engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', workers: 1 });
  await engine.createStream({ StreamName: 'orders', ShardCount: shards });
  return engine;
}

async function put(opened: Engine, from: number, count: number, keys = count): Promise<void> {
  for (let at = from; at < from + count; at += 500)
    await opened.putRecords({
      StreamName: 'orders',
      Records: Array.from({ length: Math.min(500, from + count - at) }, (_, i) => ({
        PartitionKey: `k${(at + i) % keys}`,
        Data: Buffer.from(`r${at + i}`),
      })),
    });
}

const texts = (records: readonly KinesisClientRecord[]): string[] => records.map((record) => Buffer.from(record.data).toString());

describe('consumer group, embedded', () => {
  it('spreads 4 shards over 2 workers and processes every record once', async () => {
    const opened = await open(4);
    await put(opened, 0, 400);
    const seen: Seen[] = [];
    const a = worker(opened, { workerId: 'a', processor: collecting(seen, 'a') });
    const b = worker(opened, { workerId: 'b', processor: collecting(seen, 'b') });
    await Promise.all([a.start(), b.start()]);
    await until(() => seen.length >= 400 && a.heldShards.length === 2 && b.heldShards.length === 2, 'every record, 2 leases each');
    expect(new Set(texts(seen)).size).toBe(400);
    expect(seen.length).toBe(400);
  });

  it('moves leases to a joining worker (within one) and back on a graceful leave, with no record processed twice', async () => {
    const opened = await open(6);
    const seen: Seen[] = [];
    const a = worker(opened, { workerId: 'a', processor: collecting(seen, 'a') });
    await a.start();
    await until(() => a.heldShards.length === 6, 'a holds every lease');
    await put(opened, 0, 300);
    const b = worker(opened, { workerId: 'b', processor: collecting(seen, 'b') });
    const c = worker(opened, { workerId: 'c', processor: collecting(seen, 'c') });
    await Promise.all([b.start(), c.start()]);
    await until(() => [a, b, c].every((w) => w.heldShards.length === 2), 'two leases each');
    await put(opened, 300, 300);
    await until(() => seen.length >= 600, 'records put after the rebalance');
    await c.shutdown();
    await until(() => a.heldShards.length + b.heldShards.length === 6, "c's leases taken");
    expect(Math.abs(a.heldShards.length - b.heldShards.length)).toBeLessThanOrEqual(1);
    await put(opened, 600, 300);
    await until(() => seen.length >= 900, 'records put after the leave');
    // Every take above was of a lease released after a checkpoint, or of one stolen between batches
    // whose checkpoint covered everything processed: no duplicates.
    expect(texts(seen).sort()).toEqual(Array.from({ length: 900 }, (_, i) => `r${i}`).sort());
  });

  it('processes a child shard only after its parents ended: a split and then a merge keep each key in order', async () => {
    const opened = await open(2);
    const seen: Seen[] = [];
    const a = worker(opened, { workerId: 'a', processor: collecting(seen, 'a') });
    const b = worker(opened, { workerId: 'b', processor: collecting(seen, 'b') });
    await Promise.all([a.start(), b.start()]);
    await put(opened, 0, 400, 40);
    const [first] = opened.listShards({ StreamName: 'orders' }).Shards;
    const middle = (BigInt(first!.HashKeyRange.StartingHashKey) + BigInt(first!.HashKeyRange.EndingHashKey)) / 2n;
    await opened.splitShard({ StreamName: 'orders', ShardToSplit: first!.ShardId, NewStartingHashKey: middle.toString() });
    await put(opened, 400, 400, 40);
    const children = opened.listShards({ StreamName: 'orders' }).Shards.filter((shard) => shard.ParentShardId === first!.ShardId);
    await opened.mergeShards({ StreamName: 'orders', ShardToMerge: children[0]!.ShardId, AdjacentShardToMerge: children[1]!.ShardId });
    await put(opened, 800, 400, 40);
    await until(() => seen.length >= 1200, 'every record of parents and children');
    expect(new Set(texts(seen)).size).toBe(1200);
    const byKey = new Map<string, number[]>();
    for (const record of seen)
      byKey.set(record.partitionKey, [...(byKey.get(record.partitionKey) ?? []), Number(texts([record])[0]!.slice(1))]);
    for (const [key, order] of byKey) expect(order, `records of ${key} in put order`).toEqual([...order].sort((x, y) => x - y));
  });

  it('refuses a checkpoint beyond the last record delivered, or below the checkpoint, and writes nothing', async () => {
    const opened = await open(1);
    await put(opened, 0, 10);
    const errors: unknown[] = [];
    const seen: Seen[] = [];
    let first = '';
    const a = worker(opened, {
      workerId: 'a',
      processor: collecting(seen, 'a', async (checkpointer) => {
        const last = seen.at(-1)!;
        first ||= seen[0]!.sequenceNumber;
        await checkpointer.checkpoint(last);
        for (const bad of [(BigInt(last.sequenceNumber) + 1n).toString(), '1'])
          await checkpointer.checkpoint(bad).catch((error: unknown) => errors.push(error));
      }),
    });
    await a.start();
    await until(() => errors.length === 2, 'the two refusals');
    expect(errors.every((error) => error instanceof InvalidArgumentException)).toBe(true);
    const [lease] = await overEngine(opened, 'app', 'orders').leases.list();
    expect(lease!.checkpoint).toBe(seen.at(-1)!.sequenceNumber);
  });

  it('a checkpoint after the lease was taken fails with LeaseLostError and changes nothing', async () => {
    const opened = await open(1);
    await put(opened, 0, 5);
    let hold: Checkpointer | null = null;
    const a = worker(opened, { workerId: 'a', processor: collecting([], 'a', async (checkpointer) => void (hold = checkpointer)) });
    await a.start();
    await until(() => hold !== null, 'a batch');
    const { leases } = overEngine(opened, 'app', 'orders');
    const [lease] = await leases.list();
    await leases.update(
      { ...lease!, leaseOwner: 'thief', leaseCounter: lease!.leaseCounter + 1 },
      { leaseCounter: lease!.leaseCounter, leaseOwner: 'a' },
    );
    await expect(hold!.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    const [after] = await leases.list();
    expect(after).toMatchObject({ leaseOwner: 'thief', checkpoint: 'TRIM_HORIZON' });
    await until(() => a.heldShards.length === 0, 'a gives the shard up');
  });

  it('gives a batch whose processor threw to it again, and goes on', async () => {
    const opened = await open(1);
    await put(opened, 0, 20);
    let throws = 2;
    const attempts: string[][] = [];
    const errors: unknown[] = [];
    const a = worker(opened, {
      workerId: 'a',
      onError: (error) => errors.push(error),
      processor: () => ({
        initialize: () => undefined,
        processRecords: async ({ records, checkpointer }) => {
          attempts.push(texts(records));
          if (throws-- > 0) throw new Error('processor failed');
          await checkpointer.checkpoint();
        },
        leaseLost: () => undefined,
        shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
      }),
    });
    await a.start();
    await until(() => attempts.length >= 3, 'three attempts');
    expect(attempts[1]).toEqual(attempts[0]);
    expect(attempts[2]).toEqual(attempts[0]);
    expect(errors).toHaveLength(2);
  });

  it('unpacks KPL aggregates with sub-sequence numbers, and a checkpoint inside one resumes after it', async () => {
    const opened = await open(1);
    const users = Array.from({ length: 5 }, (_, i) => ({ partitionKey: `u${i}`, data: Buffer.from(`user${i}`) }));
    await opened.putRecord({ StreamName: 'orders', PartitionKey: 'a', Data: aggregate(users) });
    const first: Seen[] = [];
    const a = worker(opened, {
      workerId: 'a',
      processor: collecting(first, 'a', (checkpointer) => checkpointer.checkpoint(first[2]!), false),
    });
    await a.start();
    await until(() => first.length === 5, 'the 5 user records');
    expect(first.map((record) => [record.subSequenceNumber, record.partitionKey, record.aggregated])).toEqual(
      users.map((user, i) => [i, user.partitionKey, true]),
    );
    await a.shutdown();
    const [lease] = await overEngine(opened, 'app', 'orders').leases.list();
    expect(lease).toMatchObject({ checkpoint: first[2]!.sequenceNumber, checkpointSubSequenceNumber: 2 });
    const again: Seen[] = [];
    const b = worker(opened, { workerId: 'b', processor: collecting(again, 'b', async () => undefined) });
    await b.start();
    await until(() => again.length === 2, 'the two after the checkpoint');
    expect(again.map((record) => record.subSequenceNumber)).toEqual([3, 4]);
  });

  it('reads by polling as by push', async () => {
    const opened = await open(2);
    await put(opened, 0, 100);
    const seen: Seen[] = [];
    const a = worker(opened, {
      workerId: 'a',
      ...overEngine(opened, 'app', 'orders', { retrieval: 'polling', idleTimeBetweenReadsMillis: 20 }),
      processor: collecting(seen, 'a'),
    });
    await a.start();
    await until(() => seen.length >= 100, 'every record');
    expect(new Set(texts(seen)).size).toBe(100);
  });

  it('keeps its leases and checkpoints across an engine restart', async () => {
    const dataDir = tempDir();
    let opened = await Engine.open({ dataDir, fsync: 'never', workers: 1 });
    engine = opened;
    await opened.createStream({ StreamName: 'orders', ShardCount: 2 });
    await put(opened, 0, 50);
    const seen: Seen[] = [];
    const a = worker(opened, { workerId: 'a', processor: collecting(seen, 'a') });
    await a.start();
    await until(() => seen.length >= 50, 'every record');
    await a.shutdown();
    const before = await overEngine(opened, 'app', 'orders').leases.list();
    await opened.close();
    opened = await Engine.open({ dataDir, fsync: 'never', workers: 1 });
    engine = opened;
    expect(await overEngine(opened, 'app', 'orders').leases.list()).toEqual(before);
    await put(opened, 50, 50);
    const b = worker(opened, { workerId: 'b', processor: collecting(seen, 'b') });
    await b.start();
    await until(() => seen.length >= 100, 'the records put after the restart');
    expect(texts(seen).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`).sort());
  });

  it('as an async iteration: every record, and leaving the loop hands the leases back with checkpoints', async () => {
    const opened = await open(2);
    await put(opened, 0, 60);
    const got: string[] = [];
    for await (const record of groupRecords({
      groupName: 'app',
      workerId: 'it',
      ...overEngine(opened, 'app', 'orders'),
      initialPosition: 'TRIM_HORIZON',
      ...FAST,
    })) {
      got.push(texts([record])[0]!);
      if (got.length === 60) break;
    }
    expect(new Set(got).size).toBe(60);
    const leases = await overEngine(opened, 'app', 'orders').leases.list();
    expect(leases.every((lease) => lease.leaseOwner === undefined && lease.checkpoint !== 'TRIM_HORIZON')).toBe(true);
  });
});
