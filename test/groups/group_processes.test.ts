import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../src/engine/engine.js';
import { connect } from '../../src/client/node.js';
import { closedPort, killAllClis, startCli, type CliProcess } from '../helpers/cli.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp_dir.js';
import { childBeforeParent, leaseConflicts, processedBelowCheckpoint, readJournal, skipped, type Journal } from './journal.js';

// Goal: the consumer group's guarantees with real worker processes: a worker killed (-9) in the
// middle of a batch has its shards resumed by the others from their checkpoints; workers
// joining, leaving and dying on a seeded schedule under load, with a split and a merge, never
// share a lease, process every record, repeat only records past a checkpoint, and keep each
// key's parent records before its child records. Method: a real server (uWS and an engine in
// this process), workers as `node --import tsx` processes writing one shared journal
// (fixtures/group_worker_process.ts), records put by this process; failover 1 s.

const FIXTURE = fileURLToPath(new URL('./fixtures/group_worker_process.ts', import.meta.url));
const FAILOVER_MS = 1000;

let server: TestServer | undefined;
afterEach(async () => {
  await killAllClis();
  await server?.stop();
  server = undefined;
});

interface Fleet {
  readonly journal: string;
  start(id: string): Promise<CliProcess>;
}

function fleet(url: string, stream: string, extra: Record<string, string> = {}): Fleet {
  const journal = path.join(tempDir(), 'journal');
  return {
    journal,
    async start(id) {
      const worker = startCli([], {
        cli: [process.execPath, '--import', 'tsx', FIXTURE],
        env: {
          GROUP_URL: url,
          GROUP_STREAM: stream,
          GROUP_WORKER: id,
          GROUP_JOURNAL: journal,
          GROUP_FAILOVER_MS: String(FAILOVER_MS),
          GROUP_TAKE_MS: '500',
          ...extra,
        },
      });
      await worker.waitForOutput(/started/);
      return worker;
    },
  };
}

/** Puts `count` records in batches of 50, `pauseMs` apart: their data strings. */
async function putSteadily(engine: Engine, stream: string, from: number, count: number, keys: number, pauseMs: number): Promise<string[]> {
  const put: string[] = [];
  for (let at = from; at < from + count; at += 50) {
    const records = Array.from({ length: Math.min(50, from + count - at) }, (_, i) => ({
      PartitionKey: `k${(at + i) % keys}`,
      Data: Buffer.from(`r${at + i}`),
    }));
    const { FailedRecordCount } = await engine.putRecords({ StreamName: stream, Records: records });
    expect(FailedRecordCount).toBe(0);
    put.push(...records.map((record) => record.Data.toString()));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return put;
}

async function untilProcessed(journalFile: string, put: readonly string[], timeoutMs: number): Promise<Journal> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const journal = readJournal(journalFile);
    const missing = skipped(journal, put);
    if (missing.length === 0) return journal;
    if (Date.now() > deadline) throw new Error(`${missing.length} records never processed, e.g. ${missing.slice(0, 5).join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function parentsOf(engine: Engine, stream: string): Map<string, string[]> {
  return new Map(
    engine
      .listShards({ StreamName: stream })
      .Shards.map((shard) => [
        shard.ShardId,
        [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined),
      ]),
  );
}

function expectGuarantees(journal: Journal): void {
  expect(leaseConflicts(journal)).toEqual([]);
  expect(processedBelowCheckpoint(journal)).toEqual([]);
}

describe('consumer group worker processes', () => {
  it('resumes the shards of a worker killed with -9 in the middle of a batch on the other, from its checkpoints', async () => {
    server = await startTestServer();
    await server.engine.createStream({ StreamName: 'orders', ShardCount: 4 });
    const workers = fleet(server.url, 'orders', { GROUP_PROCESS_DELAY_MS: '30' });
    const a = await workers.start('a');
    await workers.start('b');
    const putting = putSteadily(server.engine, 'orders', 0, 3000, 100, 20);
    // Killed once it is busy: its batches take 30 ms each, so the kill almost always lands inside one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = readJournal(workers.journal).processed.filter((record) => record.worker === 'a').length;
    expect(before).toBeGreaterThan(0);
    a.child.kill('SIGKILL');
    const put = await putting;
    const journal = await untilProcessed(workers.journal, put, 30_000);
    expectGuarantees(journal);
    const taken = journal.leases.filter((write) => write.type === 'taken' && write.worker === 'b');
    expect(taken.length).toBe(4);
  });

  const seed = testSeed();
  it(`keeps every guarantee while 5 workers join, leave and die for 60 s under load, with a split and a merge (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    server = await startTestServer();
    const engine = server.engine;
    await engine.createStream({ StreamName: 'orders', ShardCount: 3 });
    const workers = fleet(server.url, 'orders');
    const running = new Map<string, CliProcess>();
    const slots = ['w0', 'w1', 'w2', 'w3', 'w4'];
    for (const id of slots.slice(0, 3)) running.set(id, await workers.start(id));
    const putting = putSteadily(engine, 'orders', 0, 18_000, 60, 150);
    const started = Date.now();
    let resharded = 0;
    const endings: Array<NodeJS.Signals | null> = [];
    while (Date.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 1500 + random() * 2500));
      const elapsed = Date.now() - started;
      if (resharded === 0 && elapsed > 20_000) resharded = await split(engine);
      else if (resharded === 1 && elapsed > 40_000) resharded = await merge(engine);
      endings.push(await churn(random, slots, running, workers));
    }
    // Whatever the seed, the run has had a crash and a graceful leave.
    for (const signal of ['SIGKILL', 'SIGTERM'] as const)
      if (!endings.includes(signal)) await end(running, [...running.keys()][0]!, signal);
    for (const id of slots) if (!running.has(id)) running.set(id, await workers.start(id));
    const put = await putting;
    const journal = await untilProcessed(workers.journal, put, 60_000);
    expectGuarantees(journal);
    expect(childBeforeParent(journal, parentsOf(engine, 'orders'))).toEqual([]);
    expect(resharded).toBe(2);
  }, 180_000);

  it('goes on after the server is killed (-9) and restarted: leases and checkpoints survive', async () => {
    const dataDir = tempDir();
    const port = String(await closedPort());
    const serve = (): CliProcess =>
      startCli(['serve', '--port', port, '--kinesis-port', '0', '--data-dir', dataDir, '--workers', '1', '--fsync', 'always']);
    let serverProcess = serve();
    await serverProcess.waitForOutput(/ws:\/\//);
    const url = `ws://127.0.0.1:${port}`;
    const admin = await connect(url);
    await admin.call('CreateStream', { StreamName: 'orders', ShardCount: 2 });
    admin.close();
    const workers = fleet(url, 'orders');
    await workers.start('a');
    await workers.start('b');
    const put = await putOver(url, 0, 300);
    await untilProcessed(workers.journal, put, 20_000);
    await untilCheckpointed(url);
    const killedAt = readJournal(workers.journal);
    serverProcess.child.kill('SIGKILL');
    await serverProcess.exited();
    serverProcess = serve();
    await serverProcess.waitForOutput(/ws:\/\//);
    put.push(...(await putOver(url, 300, 300)));
    const journal = await untilProcessed(workers.journal, put, 40_000);
    expectGuarantees(journal);
    // Nothing checkpointed before the restart was processed again: the checkpoints were on disk.
    const lastLine = Math.max(...killedAt.processed.map((record) => record.at), ...killedAt.checkpoints.map((entry) => entry.at));
    const done = new Set(killedAt.processed.map((record) => record.data));
    const again = journal.processed.filter((record) => record.at > lastLine && done.has(record.data));
    expect(again).toEqual([]);
  }, 90_000);
});

async function split(engine: Engine): Promise<number> {
  const [first] = engine.listShards({ StreamName: 'orders', ShardFilter: { Type: 'AT_LATEST' } }).Shards;
  const middle = (BigInt(first!.HashKeyRange.StartingHashKey) + BigInt(first!.HashKeyRange.EndingHashKey)) / 2n;
  await engine.splitShard({ StreamName: 'orders', ShardToSplit: first!.ShardId, NewStartingHashKey: middle.toString() });
  return 1;
}

async function merge(engine: Engine): Promise<number> {
  const shards = engine.listShards({ StreamName: 'orders' }).Shards;
  const children = shards.filter(
    (shard) => shard.ParentShardId !== undefined && shard.SequenceNumberRange.EndingSequenceNumber === undefined,
  );
  await engine.mergeShards({ StreamName: 'orders', ShardToMerge: children[0]!.ShardId, AdjacentShardToMerge: children[1]!.ShardId });
  return 2;
}

/** One step of the schedule: start a stopped worker, stop one gracefully, or kill one (at least one keeps running); how one ended. */
async function churn(
  random: () => number,
  slots: string[],
  running: Map<string, CliProcess>,
  workers: Fleet,
): Promise<NodeJS.Signals | null> {
  const roll = random();
  const stopped = slots.filter((id) => !running.has(id));
  if ((roll < 0.4 && stopped.length > 0) || running.size <= 1) {
    const id = stopped[Math.floor(random() * stopped.length)]!;
    running.set(id, await workers.start(id));
    return null;
  }
  const ids = [...running.keys()];
  const signal = roll < 0.7 ? 'SIGTERM' : 'SIGKILL';
  await end(running, ids[Math.floor(random() * ids.length)]!, signal);
  return signal;
}

async function end(running: Map<string, CliProcess>, id: string, signal: NodeJS.Signals): Promise<void> {
  const worker = running.get(id)!;
  running.delete(id);
  worker.child.kill(signal);
  await worker.exited();
}

/** Waits until every lease of the group is checkpointed at its shard's last record (DescribeGroup's lag 0). */
async function untilCheckpointed(url: string): Promise<void> {
  const client = await connect(url);
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Leases } = (await client.callNamed('DescribeGroup', { GroupName: 'app' })) as {
        Leases: Array<{ LagRecords: number | null }>;
      };
      if (Leases.length > 0 && Leases.every((lease) => lease.LagRecords === 0)) return;
      if (Date.now() > deadline) throw new Error(`the group did not catch up: ${JSON.stringify(Leases)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
}

/** Puts `count` records over the WebSocket: their data strings. */
async function putOver(url: string, from: number, count: number): Promise<string[]> {
  const client = await connect(url);
  try {
    const records = Array.from({ length: count }, (_, i) => ({ partitionKey: `k${(from + i) % 20}`, data: Buffer.from(`r${from + i}`) }));
    const results = await client.putRecords('orders', records);
    expect(results.filter((result) => 'errorCode' in result)).toEqual([]);
    return records.map((record) => Buffer.from(record.data).toString());
  } finally {
    client.close();
  }
}
