import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type SubscribeToShardEvent } from '../../src/engine/engine.js';
import { simulateWorkerCrash } from '../../src/engine/test_hooks.js';
import type { WorkerCrash } from '../../src/workers/channel.js';
import {
  InternalFailureException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
} from '../../src/errors.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: throughput limits at Kinesis' documented rates, push subscriptions, and supervision of
// shard workers. Method: an engine with a hand-moved clock (limits refill by that clock), real
// worker threads, and a worker killed mid-flight in each way a thread dies (terminated, an
// uncaught exception, process.exit, its heap past the limit).

const MIB = 1024 * 1024;
const ARN = (name: string): string => `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;

describe('Engine: limits, subscriptions and supervision', () => {
  let now = 1_700_000_000_000;
  const suiteDir = suiteTempDir();
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open({ dataDir: suiteDir.dir, workers: 1, fsync: 'never', clock: () => now });
  });
  afterAll(async () => {
    await engine.close();
    suiteDir.remove();
  });

  it('a PROVISIONED shard takes 1 MiB or 1,000 records per second and throttles the rest per entry', async () => {
    await engine.createStream({ StreamName: 'limited', ShardCount: 1 });
    const put = (count: number, bytes: number) =>
      engine.putRecords({
        StreamName: 'limited',
        Records: Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${i}`, Data: new Uint8Array(bytes) })),
      });
    // Bytes-bound: 400 KiB records; the bucket holds one second, so two fit and the third is throttled.
    const big = await put(3, 400 * 1024 - 10);
    expect(big.Records.map((r) => ('ErrorCode' in r ? r.ErrorCode : 'ok'))).toEqual(['ok', 'ok', 'ProvisionedThroughputExceededException']);
    expect(big.FailedRecordCount).toBe(1);
    // Half a second later half a MiB has come back: one more 400 KiB record fits, not two.
    now += 500;
    expect((await put(2, 400 * 1024 - 10)).FailedRecordCount).toBe(1);
    // Count-bound: after a full second, 1,000 tiny records fit and the next ones are throttled.
    now += 1000;
    let accepted = 0;
    for (let i = 0; i < 3; i++) accepted += 500 - (await put(500, 1)).FailedRecordCount;
    expect(accepted).toBe(1000);
    await expect(engine.putRecord({ StreamName: 'limited', PartitionKey: 'k', Data: new Uint8Array(1) })).rejects.toThrow(
      ProvisionedThroughputExceededException,
    );
  });

  it('GetRecords is limited to 5 calls per second per shard', async () => {
    now += 10_000;
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: 'limited',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'LATEST',
    });
    for (let i = 0; i < 5; i++) await engine.getRecords({ ShardIterator });
    await expect(engine.getRecords({ ShardIterator })).rejects.toThrow(ProvisionedThroughputExceededException);
    now += 200;
    await expect(engine.getRecords({ ShardIterator })).resolves.toHaveProperty('Records');
  });

  it('an ON_DEMAND stream starts at four shards of 4 MiB/s', async () => {
    await engine.createStream({ StreamName: 'elastic', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expect(engine.listShards({ StreamName: 'elastic' }).Shards).toHaveLength(4);
    const records = Array.from({ length: 3 }, () => ({ PartitionKey: 'same', Data: new Uint8Array(MIB - 10) }));
    expect((await engine.putRecords({ StreamName: 'elastic', Records: records })).FailedRecordCount).toBe(0);
  });

  it('a subscription delivers records as they are committed, then the children at the end of a split shard', async () => {
    await engine.createStream({ StreamName: 'pushed', ShardCount: 1 });
    const { Consumer } = await engine.registerStreamConsumer({ StreamARN: ARN('pushed'), ConsumerName: 'c1' });
    const events: SubscribeToShardEvent[] = [];
    const subscription = (async () => {
      for await (const event of engine.subscribeToShard({
        ConsumerARN: Consumer.ConsumerARN,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      })) {
        events.push(event);
      }
    })();
    for (let i = 0; i < 5; i++) await engine.putRecord({ StreamName: 'pushed', PartitionKey: 'k', Data: Buffer.from(`r${i}`) });
    for (let i = 0; i < 200 && events.flatMap((e) => e.Records).length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await engine.splitShard({ StreamName: 'pushed', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1000' });
    await subscription;
    expect(events.flatMap((e) => e.Records).map((r) => Buffer.from(r.Data).toString())).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(events.at(-1)!.ChildShards!.map((c) => c.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    const lastRecord = events.flatMap((e) => e.Records).at(-1)!;
    expect(events.at(-1)!.ContinuationSequenceNumber).toBe(lastRecord.SequenceNumber);
  });

  it('a subscription resumes after its continuation sequence number', async () => {
    const arn = (await engine.describeStreamConsumer({ StreamARN: ARN('pushed'), ConsumerName: 'c1' })).ConsumerDescription.ConsumerARN;
    const { SequenceNumber } = await engine.putRecord({ StreamName: 'pushed', PartitionKey: 'k', Data: Buffer.from('first') });
    await engine.putRecord({ StreamName: 'pushed', PartitionKey: 'k', Data: Buffer.from('second') });
    const child = (await engine.putRecord({ StreamName: 'pushed', PartitionKey: 'k', Data: Buffer.from('x') })).ShardId;
    const iterator = engine.subscribeToShard({
      ConsumerARN: arn,
      ShardId: child,
      StartingPosition: { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber },
    });
    const { value } = await iterator.next();
    await iterator.return(undefined);
    expect((value as SubscribeToShardEvent).Records.map((r) => Buffer.from(r.Data).toString())).toEqual(['second', 'x']);
  });

  const CRASHES: readonly WorkerCrash[] = ['terminate', 'throw', 'exit', 'out of memory'];
  for (const [index, crash] of CRASHES.entries()) {
    it(`a shard worker that dies (${crash}) is replaced; requests in flight fail as retriable, nothing acknowledged is lost`, async () => {
      const name = `sturdy-${index}`;
      const restartsBefore = engine.workerRestarts;
      await engine.createStream({ StreamName: name, ShardCount: 2 });
      const first = await engine.putRecords({
        StreamName: name,
        Records: Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`a${i}`) })),
      });
      expect(first.FailedRecordCount).toBe(0);
      const inFlight = engine.putRecords({ StreamName: name, Records: [{ PartitionKey: 'k', Data: Buffer.from('maybe') }] });
      await simulateWorkerCrash(engine, { StreamName: name, ShardId: 'shardId-000000000000' }, crash);
      const outcome = await inFlight;
      const entry = outcome.Records[0]!;
      // The put in flight either failed as retriable or was acknowledged; whichever it was, it is
      // checked below, so that neither outcome lets the test pass without looking.
      const inFlightOutcome = 'ErrorCode' in entry ? entry.ErrorCode : 'acknowledged';
      expect([new InternalFailureException('').code, 'acknowledged']).toContain(inFlightOutcome);
      // After the restart the shards are open again and take writes; every acknowledged record is there.
      let retried = await engine.putRecords({ StreamName: name, Records: [{ PartitionKey: 'k', Data: Buffer.from('after') }] });
      for (let i = 0; i < 50 && retried.FailedRecordCount > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        retried = await engine.putRecords({ StreamName: name, Records: [{ PartitionKey: 'k', Data: Buffer.from('after') }] });
      }
      expect(retried.FailedRecordCount).toBe(0);
      expect(engine.workerRestarts).toBe(restartsBefore + 1);
      const stored = new Set<string>();
      for (const shard of engine.listShards({ StreamName: name }).Shards) {
        const { ShardIterator } = await engine.getShardIterator({
          StreamName: name,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        });
        now += 1000;
        for (const record of (await engine.getRecords({ ShardIterator })).Records) stored.add(Buffer.from(record.Data).toString());
      }
      for (let i = 0; i < 50; i++) expect(stored.has(`a${i}`)).toBe(true);
      expect(stored.has('after')).toBe(true);
      if (inFlightOutcome === 'acknowledged') expect(stored.has('maybe'), 'the acknowledged put in flight').toBe(true);
    });
  }
});

describe('Engine: scaling', () => {
  it('UpdateShardCount scales uniformly with real splits and merges, within half and double', async () => {
    const suiteDir = suiteTempDir();
    const engine = await Engine.open({ dataDir: suiteDir.dir, workers: 1, fsync: 'never', enforceLimits: false });
    try {
      await engine.createStream({ StreamName: 'scaled', ShardCount: 3 });
      await engine.putRecords({
        StreamName: 'scaled',
        Records: Array.from({ length: 30 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(String(i)) })),
      });
      await expect(engine.updateShardCount({ StreamName: 'scaled', TargetShardCount: 7, ScalingType: 'UNIFORM_SCALING' })).rejects.toThrow(
        LimitExceededException,
      );
      expect(await engine.updateShardCount({ StreamName: 'scaled', TargetShardCount: 5, ScalingType: 'UNIFORM_SCALING' })).toMatchObject({
        CurrentShardCount: 3,
        TargetShardCount: 5,
      });
      const open = engine.listShards({ StreamName: 'scaled', ShardFilter: { Type: 'AT_LATEST' } }).Shards;
      const size = (1n << 128n) / 5n;
      const starts = open.map((s) => BigInt(s.HashKeyRange.StartingHashKey)).sort((a, b) => (a < b ? -1 : 1));
      expect(starts).toEqual([0n, size, 2n * size, 3n * size, 4n * size]);
      const all = engine.listShards({ StreamName: 'scaled' }).Shards;
      expect(all.every((s) => s.AdjacentParentShardId === undefined || s.ParentShardId !== undefined)).toBe(true);
      await engine.updateShardCount({ StreamName: 'scaled', TargetShardCount: 3, ScalingType: 'UNIFORM_SCALING' });
      expect(engine.describeStreamSummary({ StreamName: 'scaled' }).StreamDescriptionSummary.OpenShardCount).toBe(3);
    } finally {
      await engine.close();
      suiteDir.remove();
    }
  });

  it('an ON_DEMAND stream splits a shard that stays near its capacity', async () => {
    const suiteDir = suiteTempDir();
    let now = 1_700_000_000_000;
    const engine = await Engine.open({ dataDir: suiteDir.dir, workers: 1, fsync: 'never', clock: () => now });
    try {
      await engine.createStream({ StreamName: 'hot', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
      const hotKey = '1'; // ExplicitHashKey 1: always the first shard
      for (
        let step = 0;
        step < 300 && engine.describeStreamSummary({ StreamName: 'hot' }).StreamDescriptionSummary.OpenShardCount === 4;
        step++
      ) {
        now += 100; // 400 KiB every 100 ms: the shard's full 4 MiB/s
        await engine.putRecords({
          StreamName: 'hot',
          Records: [{ PartitionKey: 'p', ExplicitHashKey: hotKey, Data: new Uint8Array(400 * 1024) }],
        });
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (
        let i = 0;
        i < 100 && engine.describeStreamSummary({ StreamName: 'hot' }).StreamDescriptionSummary.StreamStatus !== 'ACTIVE';
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 10));
      const shards = engine.listShards({ StreamName: 'hot' }).Shards;
      expect(engine.describeStreamSummary({ StreamName: 'hot' }).StreamDescriptionSummary.OpenShardCount).toBe(5);
      expect(shards.filter((s) => s.ParentShardId === 'shardId-000000000000')).toHaveLength(2);
    } finally {
      await engine.close();
      suiteDir.remove();
    }
  });
});

describe('Engine: the data directory', () => {
  it('is held by one engine at a time; a lock left by a dead process is taken over', async () => {
    const suiteDir = suiteTempDir();
    try {
      const engine = await Engine.open({ dataDir: suiteDir.dir, workers: 1 });
      await expect(Engine.open({ dataDir: suiteDir.dir, workers: 1 })).rejects.toThrow(ResourceInUseException);
      await engine.close();
      // A pid that cannot be running (above the kernel's pid_max).
      fs.writeFileSync(path.join(suiteDir.dir, 'LOCK'), '99999999\n');
      const again = await Engine.open({ dataDir: suiteDir.dir, workers: 1 });
      await again.close();
      expect(fs.existsSync(path.join(suiteDir.dir, 'LOCK'))).toBe(false);
    } finally {
      suiteDir.remove();
    }
  });
});

describe('Engine: verification on demand', () => {
  it('verifies every batch on piscina threads and names the first corrupt batch of a segment', async () => {
    const suiteDir = suiteTempDir();
    const engine = await Engine.open({
      dataDir: suiteDir.dir,
      workers: 1,
      fsync: 'never',
      enforceLimits: false,
      log: { segmentBytes: 4096 },
    });
    try {
      await engine.createStream({ StreamName: 'checked', ShardCount: 1 });
      for (let i = 0; i < 40; i++) {
        await engine.putRecords({
          StreamName: 'checked',
          Records: Array.from({ length: 5 }, (_, j) => ({ PartitionKey: `k${j}`, Data: new Uint8Array(100).fill(i) })),
        });
      }
      const clean = (await engine.verifyStream({ StreamName: 'checked' })).Shards[0]!;
      expect(clean.Segments).toBeGreaterThan(3);
      expect(clean.Batches).toBe(40);
      expect(clean.Corrupt).toEqual([]);
      const shardDir = path.join(suiteDir.dir, 'streams', fs.readdirSync(path.join(suiteDir.dir, 'streams'))[0]!, 'shardId-000000000000');
      const second = fs
        .readdirSync(shardDir)
        .filter((name) => name.endsWith('.log'))
        .sort()[1]!;
      const bytes = fs.readFileSync(path.join(shardDir, second));
      bytes[bytes.length - 20]! ^= 0x01; // inside the segment's last batch
      fs.writeFileSync(path.join(shardDir, second), bytes);
      const damaged = (await engine.verifyStream({ StreamName: 'checked' })).Shards[0]!;
      expect(damaged.Corrupt).toHaveLength(1);
      expect(damaged.Corrupt[0]!.Segment).toBe(second);
    } finally {
      await engine.close();
      suiteDir.remove();
    }
  });
});
