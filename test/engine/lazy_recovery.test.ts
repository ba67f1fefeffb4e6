import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { CONSUMER, RECORDS, SHARDS, STREAMS, recordData } from './fixtures/fill_plan.js';

// Goal: after a kill -9 the engine serves as soon as its catalog is read; every shard is
// visible at once and recovers in the background; a request to a shard still recovering opens
// it ahead of the others and waits for it (never fails); closing while shards recover is clean;
// and nothing acknowledged is lost.
// Method: a child process fills 2 x 120 shards under fsync "always" and is killed with SIGKILL;
// each test opens an engine (one worker) on its own copy of that directory and makes requests
// race the recovery. The verdicts are the records read back, and how many shards were still
// recovering when the first request was answered (shards open through a queue on the worker,
// so most of them must still be waiting).

const CHILD = fileURLToPath(new URL('./fixtures/fill_child.ts', import.meta.url));
const TOTAL = STREAMS * SHARDS;

let suite: { dir: string; remove: () => void };
let killed: string;
let copies = 0;
const engines: Engine[] = [];

async function fillAndKill(dir: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      output += text;
      if (output.includes('filled\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the fill child exited with ${code} before filling`)));
  });
  child.kill('SIGKILL');
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect(signal).toBe('SIGKILL');
}

/** An engine on a fresh copy of the killed directory: every test starts from the crash. */
async function openAfterCrash(): Promise<{ engine: Engine; dataDir: string }> {
  const dataDir = path.join(suite.dir, `copy-${copies++}`);
  fs.cpSync(killed, dataDir, { recursive: true });
  fs.rmSync(path.join(dataDir, 'LOCK'), { force: true }); // the dead child's; a copy's pid would be stale anyway
  const engine = await Engine.open({ dataDir, workers: 1, fsync: 'always', enforceLimits: false });
  engines.push(engine);
  return { engine, dataDir };
}

const text = (data: Uint8Array): string => Buffer.from(data).toString();
const expected = (s: number, j: number): string[] => Array.from({ length: RECORDS }, (_, i) => recordData(s, j, i).toString());

async function recordsOf(engine: Engine, name: string, shardId: string): Promise<string[]> {
  const { ShardIterator } = await engine.getShardIterator({ StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  return (await engine.getRecords({ ShardIterator: ShardIterator! })).Records.map((record) => text(record.Data));
}

beforeAll(async () => {
  suite = suiteTempDir();
  killed = path.join(suite.dir, 'killed');
  await fillAndKill(killed);
}, 120_000);

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

afterAll(() => suite?.remove());

describe('lazy recovery after kill -9', () => {
  it('shows every shard at once and serves the last one first, while most others still recover', async () => {
    const { engine } = await openAfterCrash();
    // Engine.open returned before any worker's reply: nothing has recovered yet.
    expect(engine.shardsRecovering).toBe(TOTAL);
    const last = `lazy-${STREAMS - 1}`;
    const shards = engine.listShards({ StreamName: last }).Shards!;
    expect(shards).toHaveLength(SHARDS);
    expect(engine.describeStreamSummary({ StreamName: last }).StreamDescriptionSummary.OpenShardCount).toBe(SHARDS);
    const records = await recordsOf(engine, last, shards[SHARDS - 1]!.ShardId!);
    expect(engine.shardsRecovering).toBeGreaterThan(TOTAL / 2);
    expect(records).toEqual(expected(STREAMS - 1, SHARDS - 1));
  });

  it('answers puts, iterators, reads and a subscription racing the recovery of every shard, losing nothing', async () => {
    const { engine } = await openAfterCrash();
    const consumer = engine.describeStreamConsumer({
      StreamARN: engine.describeStreamSummary({ StreamName: 'lazy-0' }).StreamDescriptionSummary.StreamARN,
      ConsumerName: CONSUMER,
    }).ConsumerDescription;
    const subscribed = (async () => {
      const events = engine.subscribeToShard({
        ConsumerARN: consumer.ConsumerARN,
        ShardId: 'shardId-000000000060',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      });
      const seen: string[] = [];
      for await (const event of events) {
        seen.push(...event.Records.map((record) => text(record.Data)));
        if (seen.length >= RECORDS) break;
      }
      return seen;
    })();
    const checks = Array.from({ length: STREAMS }, (_, s) => s).flatMap((s) => {
      const name = `lazy-${s}`;
      return engine.listShards({ StreamName: name }).Shards!.map(async (shard, j) => {
        const HashKey = shard.HashKeyRange!.StartingHashKey!;
        const put = await engine.putRecord({ StreamName: name, PartitionKey: 'k', ExplicitHashKey: HashKey, Data: Buffer.from('after') });
        expect(put.ShardId).toBe(shard.ShardId);
        expect(await recordsOf(engine, name, shard.ShardId!), `${name} ${shard.ShardId}`).toEqual([...expected(s, j), 'after']);
      });
    });
    expect(engine.shardsRecovering).toBeGreaterThan(0); // the requests above went out while shards were recovering
    await Promise.all(checks);
    expect((await subscribed).slice(0, RECORDS)).toEqual(expected(0, 60));
    expect(engine.shardsRecovering).toBe(0);
  });

  it('closes cleanly while shards recover, and the next open finds every record', async () => {
    const { engine, dataDir } = await openAfterCrash();
    await engine.close();
    engines.pop();
    const again = await Engine.open({ dataDir, workers: 1, fsync: 'always', enforceLimits: false });
    engines.push(again);
    for (let s = 0; s < STREAMS; s++) {
      const shards = again.listShards({ StreamName: `lazy-${s}` }).Shards!;
      for (const [j, shard] of shards.entries()) expect(await recordsOf(again, `lazy-${s}`, shard.ShardId!)).toEqual(expected(s, j));
    }
  });
});
