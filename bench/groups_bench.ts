/**
 * The consumer groups' figures (issue 16), in one run against the real server in its own process
 * (bench/net_bench_server.ts, fsync never), every client in this process over the WebSocket:
 * - throughput: RECORDS records of RECORD_BYTES in SHARDS shards, read from TRIM_HORIZON by one
 *   plain Consumer (subscribeStream) and by a group of WORKERS GroupWorkers (push, a checkpoint
 *   after every batch): records/s of each and their ratio, and the cost of a checkpoint (p50/p99).
 * - rebalance: a group of WORKERS - 1 workers at the KCL's default timings (failover 10 s, take
 *   20.05 s); the time until a joining worker holds its share, and until the others hold every
 *   lease after one worker drops off the network without handing its leases back (its
 *   connections closed: a crash, as the others see it), against the failover time.
 * Usage: npm run bench:groups [-- --json <file>]. Environment: RECORDS (200000), SHARDS (8),
 * WORKERS (4), RECORD_BYTES (100). Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

const config = {
  records: Math.round(envNumber('RECORDS', 200_000, 1000, 10_000_000)),
  shards: Math.round(envNumber('SHARDS', 8, 1, 500)),
  workers: Math.round(envNumber('WORKERS', 4, 2, 64)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 1, 1_000_000)),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const FAILOVER_MS = 10_000;

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
  const members: Array<{ worker: GroupWorker; client: ShardlineClient; source: { close(): void } }> = [];
  const timings = fast ? { failoverTimeMillis: 1000, takeIntervalMillis: 200 } : { failoverTimeMillis: FAILOVER_MS };
  const add = async (): Promise<GroupWorker> => {
    const client = await connect(url);
    const parts = overWebSocket(client, name, stream);
    // A worker cut off the network keeps failing its renewals: expected here, not worth printing.
    const worker = new GroupWorker({
      groupName: name,
      ...parts,
      initialPosition: 'TRIM_HORIZON',
      ...timings,
      processor,
      onError: () => undefined,
    });
    members.push({ worker, client, source: parts.source });
    await worker.start();
    return worker;
  };
  for (let i = 0; i < count; i++) await add();
  return { members, add };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
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
    await Promise.all(readers.members.map(async ({ worker, client: own }) => (await worker.shutdown(), own.close())));
    const checkpoint = summarizeHistogram(checkpoints);
    console.log(
      `group of ${config.workers}: ${Math.round(groupPerSecond)} records/s (${ratio(groupPerSecond, plainPerSecond)}x the plain Consumer); checkpoint p50 ${checkpoint.p50Us} us, p99 ${checkpoint.p99Us} us`,
    );

    const idle = { count: 0 };
    const balancing = await group(url, 'groups', 'rebalance', config.workers - 1, countingProcessor(idle, latencyHistogram()), false);
    const share = Math.floor(config.shards / config.workers);
    const joiner = await balancing.add();
    const joinMs = await until(() => joiner.heldShards.length >= share, 120_000);
    console.log(
      `join: the new worker held ${share} leases after ${round1(joinMs / 1000)} s (take period ${(2 * (FAILOVER_MS + 25)) / 1000} s)`,
    );
    const [crashed, ...rest] = balancing.members;
    crashed!.client.close();
    crashed!.source.close();
    const failoverMs = await until(() => rest.reduce((sum, { worker }) => sum + worker.heldShards.length, 0) === config.shards, 180_000);
    console.log(`crash: the others held every lease ${round1(failoverMs / 1000)} s after (failover ${FAILOVER_MS / 1000} s)`);
    await Promise.all(rest.map(async ({ worker, client: own }) => (await worker.shutdown(), own.close())));
    await crashed!.worker.shutdown();
    finish(
      {
        plainRecordsPerSecond: Math.round(plainPerSecond),
        groupRecordsPerSecond: Math.round(groupPerSecond),
        groupToPlain: ratio(groupPerSecond, plainPerSecond),
        checkpointP50Us: checkpoint.p50Us,
        checkpointP99Us: checkpoint.p99Us,
        joinSeconds: round1(joinMs / 1000),
        crashSeconds: round1(failoverMs / 1000),
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
