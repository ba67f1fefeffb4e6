import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { FsyncPolicy } from '../../src/log/log_config.js';
import { defaultOpenShardsMax, descriptorLimit } from '../../src/workers/open_logs.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a worker keeps at most openShardsMax shards with open files (3 descriptors each), so
// 10,000 shards written within the idle time do not run out of descriptors; a shard whose files
// were closed takes appends and serves reads again, and nothing acknowledged is lost across a
// reopen, under every fsync policy. Method: a real engine with one worker and a bound of 16,
// 48 shards written round-robin; the verdict is the count of this process's descriptors open on
// the data directory (polled until the closes queued behind syncs have run), then every record
// read back, before and after a reopen.

const SHARDS = 48;
const BOUND = 16;
const ROUNDS = 2;

const engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

function descriptorsInto(dir: string): number {
  const real = fs.realpathSync(dir);
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${real}/`);
    } catch {
      return false;
    }
  }).length;
}

async function untilAtMost(dir: string, bound: number): Promise<number> {
  let count = descriptorsInto(dir);
  for (let tries = 0; count > bound && tries < 500; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    count = descriptorsInto(dir);
  }
  return count;
}

async function open(dataDir: string, fsync: FsyncPolicy, openShardsMax?: number): Promise<Engine> {
  const engine = await Engine.open({
    dataDir,
    workers: 1,
    fsync,
    enforceLimits: false,
    ...(openShardsMax === undefined ? {} : { openShardsMax }),
  });
  engines.push(engine);
  return engine;
}

async function recordsOf(engine: Engine, shardId: string): Promise<string[]> {
  const { ShardIterator } = await engine.getShardIterator({ StreamName: 'wide', ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  const { Records } = await engine.getRecords({ ShardIterator: ShardIterator! });
  return Records.map((record) => Buffer.from(record.Data).toString());
}

describe.each<FsyncPolicy>(['never', 'always', { intervalMs: 20 }])('open shard files bounded (fsync %j)', (fsync) => {
  it(`keeps at most ${BOUND} shards' files open and loses nothing`, async () => {
    const dataDir = tempDir();
    let engine = await open(dataDir, fsync, BOUND);
    await engine.createStream({ StreamName: 'wide', ShardCount: SHARDS });
    const shards = engine.listShards({ StreamName: 'wide' }).Shards!;
    for (let round = 0; round < ROUNDS; round++) {
      for (const shard of shards) {
        const Records = [0, 1, 2].map((i) => ({
          PartitionKey: 'k',
          ExplicitHashKey: shard.HashKeyRange!.StartingHashKey!,
          Data: Buffer.from(`${shard.ShardId}/${round}/${i}`),
        }));
        const { FailedRecordCount } = await engine.putRecords({ StreamName: 'wide', Records });
        expect(FailedRecordCount).toBe(0);
      }
    }
    expect(await untilAtMost(dataDir, BOUND * 3)).toBeLessThanOrEqual(BOUND * 3);
    const expected = (shardId: string): string[] =>
      Array.from({ length: ROUNDS * 3 }, (_, n) => `${shardId}/${Math.floor(n / 3)}/${n % 3}`);
    for (const shard of shards) expect(await recordsOf(engine, shard.ShardId!)).toEqual(expected(shard.ShardId!));
    await engine.close();
    engines.pop();
    engine = await open(dataDir, fsync, BOUND);
    for (const shard of shards) expect(await recordsOf(engine, shard.ShardId!)).toEqual(expected(shard.ShardId!));
  });
});

describe('the default bound', () => {
  it('is half the soft open-file limit, 3 descriptors a shard', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                40000                files\n';
    expect(descriptorLimit(limits)).toBe(20_000);
    expect(defaultOpenShardsMax(20_000)).toBe(3333);
    expect(descriptorLimit('Max open files            unlimited            unlimited            files\n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(descriptorLimit('nothing here')).toBe(1024);
  });

  it('refuses fewer than 16 per worker with InvalidArgument, before anything opens', async () => {
    const dataDir = tempDir();
    await expect(Engine.open({ dataDir, workers: 2, openShardsMax: 31 })).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
