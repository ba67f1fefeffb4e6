/**
 * The Producer with and without KPL aggregation (issue 15): user records of RECORD_BYTES with
 * random partition keys into a stream of SHARDS shards, over the WebSocket to the real server in
 * its own process (bench/net_bench_server.ts, fsync never), both in one run, for BENCH_SECONDS
 * each: user records/s, and bytes on the wire (the Kinesis records' keys and data) per user
 * record. The issue's target over the WebSocket: aggregated at least 1.5x unaggregated.
 * Usage: npm run bench:producer [-- --json <file>]. Environment: BENCH_SECONDS (3), SHARDS (4),
 * RECORD_BYTES (100). Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Producer, connect, type ProducerOptions, type ShardlineClient } from '../src/client/node.js';
import { echoEnvironment, envNumber, environment, finish, jsonPathArg, ratio, round1 } from './bench_common.js';
import { startBenchServer } from './bench_server.js';

const config = {
  seconds: envNumber('BENCH_SECONDS', 3, 0.5, 600),
  shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 1, 1_000_000)),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};

interface Phase {
  readonly userRecordsPerSecond: number;
  readonly wireBytesPerUserRecord: number;
}

async function phase(url: string, streamName: string, options: ProducerOptions): Promise<Phase> {
  const client = await connect(url, { clientName: 'bench-producer' });
  try {
    await client.call('CreateStream', { StreamName: streamName, ShardCount: config.shards });
    const producer = new Producer(client, options);
    const data = new Uint8Array(config.recordBytes).fill(7);
    let sent = 0;
    let failed = 0;
    const started = performance.now();
    const endMs = started + config.seconds * 1000;
    while (performance.now() < endMs) {
      for (let i = 0; i < 1000; i++) producer.put({ streamName, partitionKey: `k${sent++}-${Math.random()}`, data }).catch(() => failed++);
      await producer.drain();
    }
    await producer.flush();
    const elapsedS = (performance.now() - started) / 1000;
    if (failed > 0) throw new Error(`${failed} puts to ${streamName} failed`);
    return {
      userRecordsPerSecond: Math.round(sent / elapsedS),
      wireBytesPerUserRecord: round1((await storedBytes(client, streamName)) / sent),
    };
  } finally {
    client.close();
  }
}

/** The partition keys and data of every Kinesis record stored: what went over the wire as records. */
async function storedBytes(client: ShardlineClient, streamName: string): Promise<number> {
  let bytes = 0;
  const { Shards } = await client.call('ListShards', { StreamName: streamName });
  for (const shard of Shards) {
    const start = await client.call('GetShardIterator', {
      StreamName: streamName,
      ShardId: shard.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    for (let iterator: string | undefined = start.ShardIterator; iterator !== undefined;) {
      const page = await client.getRecords({ ShardIterator: iterator, Limit: 10_000 });
      for (const record of page.Records) bytes += Buffer.byteLength(record.PartitionKey) + record.Data.length;
      if (page.Records.length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return bytes;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-producer-'));
  const env = environment(dataDir);
  echoEnvironment('bench:producer', { ...env, ...config, jsonPath: config.jsonPath ?? '-' });
  const server = await startBenchServer({ MODE: 'shardline', DATA_DIR: dataDir, FSYNC: 'never' });
  try {
    const url = `ws://127.0.0.1:${server.port}/`;
    const plain = await phase(url, 'plain', {});
    const aggregated = await phase(url, 'aggregated', { aggregation: true });
    const speedup = ratio(aggregated.userRecordsPerSecond, plain.userRecordsPerSecond);
    console.log(
      `${config.recordBytes} B user records: plain ${plain.userRecordsPerSecond}/s (${plain.wireBytesPerUserRecord} B each as stored), ` +
        `aggregated ${aggregated.userRecordsPerSecond}/s (${aggregated.wireBytesPerUserRecord} B each): ${speedup}x (target 1.5x over the WebSocket)`,
    );
    finish(
      { benchmark: 'producer', environment: env, config: { ...config, jsonPath: undefined }, plain, aggregated, ratio: speedup },
      config.jsonPath,
    );
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
