/**
 * The consumer groups' figures (issue 16), in one run against the real server in its own process
 * (bench/net_bench_server.ts, fsync never), every client in this process over the WebSocket:
 * - throughput: RECORDS records of RECORD_BYTES in SHARDS shards, read from TRIM_HORIZON by one
 *   plain Consumer (subscribeStream) and by a group of WORKERS GroupWorkers (push, a checkpoint
 *   after every batch): records/s of each and their ratio, and the cost of a checkpoint (p50/p99).
 * - rebalance: a group of WORKERS - 1 workers in this process at the KCL's default timings
 *   (failover 10 s, take 20.05 s) and one worker process (bench/group_worker_process.ts) joining
 *   it: the time from the process's start until it holds its share, and from its kill -9 until
 *   the others hold every lease, against the failover time.
 * Usage: npm run bench:groups [-- --json <file>]. Environment: RECORDS (200000), SHARDS (8),
 * WORKERS (4), RECORD_BYTES (100). Last line: one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Consumer, GroupWorker, connect, overWebSocket, type ShardRecordProcessor, type ShardlineClient } from '../src/client/node.js';
import {
  echoEnvironment,
  envNumber,
  environment,
  finish,
  jsonPathArg,
  latencyHistogram,
  ratio,
  round1,
  summarizeHistogram,
} from './bench_common.js';
import { startBenchServer } from './bench_server.js';
import { track } from '../scripts/peers.js';

const config = {
  records: Math.round(envNumber('RECORDS', 200_000, 1000, 10_000_000)),
  shards: Math.round(envNumber('SHARDS', 8, 1, 500)),
  workers: Math.round(envNumber('WORKERS', 4, 2, 64)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 1, 1_000_000)),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const FAILOVER_MS = 10_000;
const WORKER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'group_worker_process.ts');

async function fill(client: ShardlineClient, stream: string): Promise<void> {
  await client.call('CreateStream', { StreamName: stream, ShardCount: config.shards });
  const data = new Uint8Array(config.recordBytes).fill(7);
  for (let at = 0; at < config.records; at += 500) {
    const records = Array.from({ length: Math.min(500, config.records - at) }, (_, i) => ({ partitionKey: `k${at + i}`, data }));
    await client.putRecords(stream, records);
  }
}

async function plainConsumer(client: ShardlineClient, stream: string): Promise<number> {
  const { StreamARN } = (await client.call('DescribeStreamSummary', { StreamName: stream })).StreamDescriptionSummary;
  const { Consumer: registered } = await client.call('RegisterStreamConsumer', { StreamARN, ConsumerName: 'plain' });
  const started = performance.now();
  let count = 0;
  for await (const _record of new Consumer(client).subscribeStream({
    streamName: stream,
    consumerARN: registered.ConsumerARN,
    startingPosition: { Type: 'TRIM_HORIZON' },
  }))
    if (++count === config.records) break;
  return config.records / ((performance.now() - started) / 1000);
}

function countingProcessor(counter: { count: number }, checkpoints: ReturnType<typeof latencyHistogram>): () => ShardRecordProcessor {
  return () => ({
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer }) => {
      counter.count += records.length;
      const started = performance.now();
      await checkpointer.checkpoint();
      checkpoints.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    },
    leaseLost: () => undefined,
    shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
    shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
  });
}

async function group(url: string, stream: string, name: string, count: number, processor: () => ShardRecordProcessor, fast: boolean) {
  const members: Array<{ worker: GroupWorker; client: ShardlineClient }> = [];
  const timings = fast ? { failoverTimeMillis: 1000, takeIntervalMillis: 200 } : { failoverTimeMillis: FAILOVER_MS };
  for (let i = 0; i < count; i++) {
    const client = await connect(url);
    const worker = new GroupWorker({
      groupName: name,
      ...overWebSocket(client, name, stream),
      initialPosition: 'TRIM_HORIZON',
      ...timings,
      processor,
      onError: (error) => console.error(`worker: ${String(error)}`),
    });
    members.push({ worker, client });
    await worker.start();
  }
  return members;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

/**
 * A worker of `group` in its own process; held() resolves, with the time since the process
 * printed its first count, once the count of leases it holds passes `enough`.
 */
function spawnWorker(url: string, group: string, stream: string) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    env: { ...process.env, GROUP_URL: url, GROUP_NAME: group, GROUP_STREAM: stream, GROUP_FAILOVER_MS: String(FAILOVER_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  let startedAt: number | null = null;
  const counts = readline.createInterface({ input: child.stdout! });
  return {
    child,
    held: (enough: (count: number) => boolean, timeoutMs: number) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the worker process did not take its share in time')), timeoutMs);
        child.once('exit', (code, signal) => reject(new Error(`the worker process ended (${code ?? signal})`)));
        counts.on('line', (line) => {
          const match = /^HELD (\d+)$/.exec(line);
          if (match === null) return;
          startedAt ??= performance.now();
          if (!enough(Number(match[1]))) return;
          clearTimeout(timer);
          resolve(performance.now() - startedAt);
        });
      }),
  };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-groups-'));
  echoEnvironment('bench:groups', { ...environment(dataDir), ...config });
  const server = await startBenchServer({ DATA_DIR: dataDir, FSYNC: 'never' });
  const url = `ws://127.0.0.1:${server.port}`;
  const client = await connect(url);
  try {
    await fill(client, 'groups');
    const plainPerSecond = await plainConsumer(client, 'groups');
    console.log(`plain Consumer: ${Math.round(plainPerSecond)} records/s`);
    const counter = { count: 0 };
    const checkpoints = latencyHistogram();
    const started = performance.now();
    const readers = await group(url, 'groups', 'throughput', config.workers, countingProcessor(counter, checkpoints), true);
    await until(() => counter.count >= config.records, 300_000);
    const groupPerSecond = config.records / ((performance.now() - started) / 1000);
    await Promise.all(readers.map(async ({ worker, client: own }) => (await worker.shutdown(), own.close())));
    const checkpoint = summarizeHistogram(checkpoints);
    console.log(
      `group of ${config.workers}: ${Math.round(groupPerSecond)} records/s (${ratio(groupPerSecond, plainPerSecond)}x the plain Consumer); checkpoint p50 ${checkpoint.p50Us} us, p99 ${checkpoint.p99Us} us`,
    );

    const idle = { count: 0 };
    const balancing = await group(url, 'groups', 'rebalance', config.workers - 1, countingProcessor(idle, latencyHistogram()), false);
    const share = Math.floor(config.shards / config.workers);
    const joiner = spawnWorker(url, 'rebalance', 'groups');
    const joinMs = await joiner.held((count) => count >= share, 120_000);
    console.log(
      `join: the worker process held ${share} leases ${round1(joinMs / 1000)} s after it started (take period ${(2 * (FAILOVER_MS + 25)) / 1000} s)`,
    );
    const others = balancing.map(({ worker }) => worker);
    const killedAt = performance.now();
    joiner.child.kill('SIGKILL');
    await until(() => others.reduce((sum, worker) => sum + worker.heldShards.length, 0) === config.shards, 180_000);
    const failoverMs = performance.now() - killedAt;
    console.log(`kill -9: the others held every lease ${round1(failoverMs / 1000)} s after (failover ${FAILOVER_MS / 1000} s)`);
    await Promise.all(balancing.map(async ({ worker, client: own }) => (await worker.shutdown(), own.close())));
    finish(
      {
        plainRecordsPerSecond: Math.round(plainPerSecond),
        groupRecordsPerSecond: Math.round(groupPerSecond),
        groupToPlain: ratio(groupPerSecond, plainPerSecond),
        checkpointP50Us: checkpoint.p50Us,
        checkpointP99Us: checkpoint.p99Us,
        joinSeconds: round1(joinMs / 1000),
        killSeconds: round1(failoverMs / 1000),
        failoverSeconds: FAILOVER_MS / 1000,
      },
      config.jsonPath,
    );
  } finally {
    client.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
