/**
 * The Producer's figures (issue 15), each side of every ratio in the same run, against the real
 * server in its own process (bench/net_bench_server.ts, fsync never):
 * - ws, http: user records of RECORD_BYTES with random partition keys into SHARDS shards, with
 *   and without KPL aggregation, over the WebSocket and over the Kinesis HTTP API (the AWS SDK
 *   underneath, HTTP/2), BENCH_SECONDS each, limits off and rateLimit off: user records/s, and the
 *   Kinesis records' keys and data stored per user record. Targets: aggregated >= 1.5x plain over
 *   the WebSocket, >= 3x over HTTP.
 * - encryption: plain records against envelope-encrypted ones (node:crypto and WebCrypto, and
 *   aggregated then sealed) over the WebSocket: records/s, MB/s of data, stored bytes per record.
 * - provisioned: a PROVISIONED stream of 4 shards with limits on, fed at twice its records limit
 *   for PROVISIONED_SECONDS with each RATE_LIMITS value: records accepted per second while fed
 *   (target within 5 % of the limit) and the share of PutRecords requests with a throttled
 *   record (target below 1 %).
 * Usage: npm run bench:producer [-- --json <file>]. Environment: PHASES (ws,http,encryption,provisioned),
 * BENCH_SECONDS (3), SHARDS (4), RECORD_BYTES (100), PROVISIONED_SECONDS (30), RATE_LIMITS
 * (150,100). Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { randomBytes } from 'node:crypto';
import {
  EnvelopeEncryption,
  KinesisApiSink,
  keyProvider,
  webCipherBackend,
  Producer,
  WebSocketSink,
  connect,
  type ProducerOptions,
  type ProducerSink,
  type PutBatch,
  type ShardlineClient,
} from '../src/client/node.js';
import { PROVISIONED_WRITE_RECORDS_PER_SEC } from '../src/limits.js';
import { echoEnvironment, envNumber, environment, finish, jsonPathArg, ratio, round1 } from './bench_common.js';
import { startBenchServer, type BenchServer } from './bench_server.js';

const config = {
  phases: (process.env.PHASES ?? 'ws,http,encryption,provisioned').split(','),
  seconds: envNumber('BENCH_SECONDS', 3, 0.5, 600),
  shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 1, 1_000_000)),
  provisionedSeconds: envNumber('PROVISIONED_SECONDS', 30, 1, 3600),
  rateLimits: (process.env.RATE_LIMITS ?? '150,100').split(',').map(Number),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

interface Throughput {
  readonly userRecordsPerSecond: number;
  readonly storedBytesPerUserRecord: number;
}

/** Puts as fast as the Producer takes them (1,000 at a time, then drain) for BENCH_SECONDS. */
async function flatOut(producer: Producer, streamName: string): Promise<{ sent: number; perSecond: number }> {
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
  if (failed > 0) throw new Error(`${failed} puts to ${streamName} failed`);
  return { sent, perSecond: Math.round(sent / ((performance.now() - started) / 1000)) };
}

/** Keys and data of every Kinesis record stored, read through the SDK (either door's records are the same). */
async function storedBytes(
  readBack: (streamName: string) => AsyncIterable<{ key: string; data: Uint8Array }>,
  streamName: string,
): Promise<number> {
  let bytes = 0;
  for await (const record of readBack(streamName)) bytes += Buffer.byteLength(record.key) + record.data.length;
  return bytes;
}

function wsReadBack(client: ShardlineClient) {
  return async function* (streamName: string): AsyncIterable<{ key: string; data: Uint8Array }> {
    const { Shards } = await client.call('ListShards', { StreamName: streamName });
    for (const shard of Shards) {
      const start = await client.call('GetShardIterator', {
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      });
      for (let iterator: string | undefined = start.ShardIterator; iterator !== undefined;) {
        const page = await client.getRecords({ ShardIterator: iterator, Limit: 10_000 });
        for (const record of page.Records) yield { key: record.PartitionKey, data: record.Data };
        if (page.Records.length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
  };
}

function httpReadBack(sdk: KinesisClient) {
  return async function* (streamName: string): AsyncIterable<{ key: string; data: Uint8Array }> {
    const { Shards = [] } = await sdk.send(new ListShardsCommand({ StreamName: streamName }));
    for (const shard of Shards) {
      const start = await sdk.send(
        new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      for (let iterator: string | undefined = start.ShardIterator; iterator !== undefined;) {
        const page = await sdk.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const record of page.Records ?? []) yield { key: record.PartitionKey!, data: record.Data! };
        if ((page.Records ?? []).length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
  };
}

interface Door {
  readonly sink: ProducerSink;
  createStream(name: string, shards: number): Promise<void>;
  readBack(streamName: string): AsyncIterable<{ key: string; data: Uint8Array }>;
  close(): void;
}

async function wsDoor(server: BenchServer): Promise<Door> {
  const client = await connect(`ws://127.0.0.1:${server.port}/`, { clientName: 'bench-producer' });
  return {
    sink: new WebSocketSink(client),
    createStream: async (name, shards) => void (await client.call('CreateStream', { StreamName: name, ShardCount: shards })),
    readBack: wsReadBack(client),
    close: () => client.close(),
  };
}

async function httpDoor(server: BenchServer): Promise<Door> {
  const endpoint = `http://127.0.0.1:${server.port}`;
  const sdk = new KinesisClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  const sink = new KinesisApiSink({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  const { CreateStreamCommand } = await import('@aws-sdk/client-kinesis');
  return {
    sink,
    createStream: async (name, shards) => void (await sdk.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }))),
    readBack: httpReadBack(sdk),
    close: () => {
      sink.destroy();
      sdk.destroy();
    },
  };
}

async function throughput(door: Door, streamName: string, options: ProducerOptions): Promise<Throughput> {
  await door.createStream(streamName, config.shards);
  const { sent, perSecond } = await flatOut(new Producer(door.sink, { rateLimit: false, ...options }), streamName);
  return { userRecordsPerSecond: perSecond, storedBytesPerUserRecord: round1((await storedBytes(door.readBack, streamName)) / sent) };
}

async function withServer<T>(settings: Record<string, string>, run: (server: BenchServer) => Promise<T>): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-producer-'));
  const server = await startBenchServer({ DATA_DIR: dataDir, FSYNC: 'never', ...settings });
  try {
    return await run(server);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function doorRatio(label: string, mode: string, open: (server: BenchServer) => Promise<Door>, target: number) {
  return withServer({ MODE: mode }, async (server) => {
    const door = await open(server);
    try {
      const plain = await throughput(door, `${label}-plain`, {});
      const aggregated = await throughput(door, `${label}-aggregated`, { aggregation: true });
      const speedup = ratio(aggregated.userRecordsPerSecond, plain.userRecordsPerSecond);
      console.log(
        `${label}: ${config.recordBytes} B user records: plain ${plain.userRecordsPerSecond}/s (${plain.storedBytesPerUserRecord} B each stored), ` +
          `aggregated ${aggregated.userRecordsPerSecond}/s (${aggregated.storedBytesPerUserRecord} B each): ${speedup}x (target ${target}x)`,
      );
      return { plain, aggregated, ratio: speedup };
    } finally {
      door.close();
    }
  });
}

/** Envelope encryption's cost over the WebSocket: plain, sealed with node:crypto, sealed with WebCrypto. */
async function encryption() {
  return withServer({ MODE: 'shardline' }, async (server) => {
    const door = await wsDoor(server);
    try {
      const keys = keyProvider('bench', randomBytes(32));
      const plain = await throughput(door, 'enc-plain', {});
      const node = await throughput(door, 'enc-node', { encryption: new EnvelopeEncryption(keys) });
      const web = await throughput(door, 'enc-web', { encryption: new EnvelopeEncryption(keys, { backend: webCipherBackend }) });
      const aggregated = await throughput(door, 'enc-aggregated', { aggregation: true, encryption: new EnvelopeEncryption(keys) });
      const mbps = (phase: Throughput): number => round1((phase.userRecordsPerSecond * config.recordBytes) / 1e6);
      console.log(
        `encryption, ${config.recordBytes} B records: plain ${plain.userRecordsPerSecond}/s (${mbps(plain)} MB/s), ` +
          `node:crypto ${node.userRecordsPerSecond}/s (${mbps(node)} MB/s, ${ratio(node.userRecordsPerSecond, plain.userRecordsPerSecond)}x), ` +
          `WebCrypto ${web.userRecordsPerSecond}/s (${mbps(web)} MB/s, ${ratio(web.userRecordsPerSecond, plain.userRecordsPerSecond)}x); ` +
          `aggregated and sealed ${aggregated.userRecordsPerSecond}/s (${mbps(aggregated)} MB/s); ` +
          `stored per record ${plain.storedBytesPerUserRecord} / ${node.storedBytesPerUserRecord} / ${aggregated.storedBytesPerUserRecord} B`,
      );
      return { plain, node, web, aggregated, nodeRatio: ratio(node.userRecordsPerSecond, plain.userRecordsPerSecond) };
    } finally {
      door.close();
    }
  });
}

/** Counts the Producer's PutRecords requests and those that came back with a throttled record. */
function countingSink(
  inner: ProducerSink,
  counts: { requests: number; throttledRequests: number; throttledRecords: number },
): ProducerSink {
  return {
    listOpenShards: (streamName) => inner.listOpenShards(streamName),
    capacityMode: (streamName) => inner.capacityMode(streamName),
    newBatch: (streamName): PutBatch => {
      const batch = inner.newBatch(streamName);
      return {
        add: (record) => batch.add(record),
        send: async () => {
          counts.requests++;
          const outcomes = await batch.send();
          const throttled = outcomes.filter(
            (outcome) => 'errorCode' in outcome && outcome.errorCode === 'ProvisionedThroughputExceededException',
          ).length;
          counts.throttledRecords += throttled;
          if (throttled > 0) counts.throttledRequests++;
          return outcomes;
        },
      };
    },
  };
}

/** Twice the stream's records limit, paced every 10 ms, for PROVISIONED_SECONDS; accepted = acknowledged meanwhile. */
async function provisioned(rateLimit: number) {
  return withServer({ MODE: 'shardline', LIMITS: 'on' }, async (server) => {
    const door = await wsDoor(server);
    try {
      const shards = 4;
      const streamName = `provisioned-${rateLimit}`;
      await door.createStream(streamName, shards);
      const counts = { requests: 0, throttledRequests: 0, throttledRecords: 0 };
      const producer = new Producer(countingSink(door.sink, counts), {
        rateLimit,
        maxRecordsInFlight: 1_000_000,
        recordTtlMs: 86_400_000,
        maxAttempts: 1000,
      });
      const limit = shards * PROVISIONED_WRITE_RECORDS_PER_SEC;
      const data = new Uint8Array(config.recordBytes).fill(7);
      const started = performance.now();
      const endMs = started + config.provisionedSeconds * 1000;
      let fed = 0;
      let acceptedWhileFed = 0;
      let failed = 0;
      for (let tick = 1; performance.now() < endMs; tick++) {
        const due = Math.round(((tick * 10) / 1000) * limit * 2);
        for (; fed < due; fed++)
          producer.put({ streamName, partitionKey: `k${fed}-${Math.random()}`, data }).then(
            () => {
              if (performance.now() < endMs) acceptedWhileFed++;
            },
            () => failed++,
          );
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + tick * 10 - performance.now())));
      }
      const acceptedPerSecond = Math.round(acceptedWhileFed / config.provisionedSeconds);
      const requestsWhileFed = counts.requests;
      const throttledWhileFed = counts.throttledRequests;
      await producer.flush();
      const result = {
        rateLimit,
        fedPerSecond: Math.round(fed / config.provisionedSeconds),
        limitPerSecond: limit,
        acceptedPerSecond,
        acceptedOfLimit: ratio(acceptedPerSecond, limit),
        requests: requestsWhileFed,
        throttledRequests: throttledWhileFed,
        throttledRequestShare: ratio(throttledWhileFed, requestsWhileFed),
        failed,
      };
      console.log(
        `provisioned, 4 shards fed ${result.fedPerSecond}/s for ${config.provisionedSeconds} s, rateLimit ${rateLimit} %: ` +
          `accepted ${acceptedPerSecond}/s (${result.acceptedOfLimit} of the limit ${limit}/s, target within 5 %), ` +
          `${throttledWhileFed} of ${requestsWhileFed} requests throttled (${round1(result.throttledRequestShare * 100)} %, target < 1 %), ${failed} records failed`,
      );
      return result;
    } finally {
      door.close();
    }
  });
}

async function main(): Promise<void> {
  const env = environment(os.tmpdir());
  echoEnvironment('bench:producer', { ...env, ...config, jsonPath: config.jsonPath ?? '-' });
  const result: Record<string, unknown> = { benchmark: 'producer', environment: env, config: { ...config, jsonPath: undefined } };
  if (config.phases.includes('ws')) result.ws = await doorRatio('ws', 'shardline', wsDoor, 1.5);
  if (config.phases.includes('http')) result.http = await doorRatio('http', 'kinesis', httpDoor, 3);
  if (config.phases.includes('encryption')) result.encryption = await encryption();
  if (config.phases.includes('provisioned')) {
    const runs = [];
    for (const rateLimit of config.rateLimits) runs.push(await provisioned(rateLimit));
    result.provisioned = runs;
  }
  finish(result, config.jsonPath);
}

await main();
