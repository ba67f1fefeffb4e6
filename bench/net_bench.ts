/**
 * Network benchmark: the server (bench/net_bench_server.ts) in a child process, the Node client
 * here, over a real WebSocket on 127.0.0.1. In one run:
 *   1. producer throughput (Producer.put, one promise per record) for 100 B and 64 KiB
 *      records, and the same through client.putRecords (500 records a call);
 *   2. the echo ceiling: the same client and frames against a bare uWS server that answers
 *      each PUT without storing it, and the page-cache write rate (fs.writeSync of 64 KiB into
 *      the data directory) that the 64 KiB producer is held to;
 *   3. end-to-end latency put -> push consumer at 10,000 records/s, open loop (from each
 *      record's intended send time), fsync "never" and "always", and the floor under it: a
 *      plain TCP echo between two Node processes at the same rate and pacing.
 *
 * Usage: npm run bench:net [-- --json <file>]
 * Environment: BENCH_SECONDS (3 per throughput phase), LATENCY_SECONDS (10), LATENCY_RATE
 * (10000), SHARDS (4), BENCH_DIR (os.tmpdir()), PHASES (throughput,latency).
 * Throughput phases run with fsync "never" (the log's ceiling is bench:log's business); the
 * latency phases state theirs. Last line of stdout: one JSON object. MB = 10^6 bytes.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Consumer, Producer, connect, type ClientRecord, type ShardlineClient } from '../src/client/node.js';
import { rawWritePhase, type RawFigures } from './page_cache_write.js';
import {
  KIB,
  MB,
  Progress,
  echoEnvironment,
  envNumber,
  environment,
  finish,
  formatLatency,
  jsonPathArg,
  latencyHistogram,
  napUntil,
  patternBytes,
  ratio,
  round1,
  summarizeHistogram,
  yieldToLoop,
  type LatencySummary,
} from './bench_common.js';
import { startBenchServer } from './bench_server.js';

const STREAM = 'bench';
const PARTITION_KEYS = 10_000;
const WARMUP_SECONDS = 0.5;
const LATENCY_WARMUP_SECONDS = 1;
const BATCH_RECORDS = 500;
/** Frames of putRecords in flight in the batch phases. */
const BATCH_WINDOW = 16;
const CHECK_EVERY = 256;

interface Config {
  readonly seconds: number;
  readonly latencySeconds: number;
  readonly latencyRate: number;
  readonly shards: number;
  readonly phases: readonly string[];
  readonly rootDir: string;
  readonly jsonPath: string | null;
}

function readConfig(): Config {
  return {
    seconds: envNumber('BENCH_SECONDS', 3, 0.1, 3600),
    latencySeconds: envNumber('LATENCY_SECONDS', 10, 0.5, 3600),
    latencyRate: envNumber('LATENCY_RATE', 10_000, 1, 1_000_000),
    shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
    phases: (process.env.PHASES ?? 'throughput,latency').split(','),
    rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
    jsonPath: jsonPathArg(process.argv.slice(2)),
  };
}

// ---------------------------------------------------------------- server process

interface ServerProcess {
  readonly url: string;
  stop(): Promise<void>;
}

async function startServer(mode: 'shardline' | 'echo' | 'tcp', dataDir: string, fsync: string): Promise<ServerProcess> {
  const server = await startBenchServer({ MODE: mode, DATA_DIR: dataDir, FSYNC: fsync });
  return { url: mode === 'tcp' ? `tcp://127.0.0.1:${server.port}` : `ws://127.0.0.1:${server.port}/`, stop: () => server.stop() };
}

async function withServer<T>(
  root: string,
  name: string,
  mode: 'shardline' | 'echo',
  fsync: string,
  shards: number,
  run: (client: ShardlineClient) => Promise<T>,
): Promise<T> {
  const dataDir = path.join(root, name);
  const server = await startServer(mode, dataDir, fsync);
  const client = await connect(server.url, { clientName: 'bench' });
  try {
    if (mode === 'shardline') await client.call('CreateStream', { StreamName: STREAM, ShardCount: shards });
    return await run(client);
  } finally {
    client.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- throughput

interface ThroughputFigures {
  readonly system: 'shardline' | 'echo';
  readonly api: 'producer' | 'putRecords';
  readonly recordBytes: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly dataMBps: number;
}

function keys(): string[] {
  return Array.from({ length: PARTITION_KEYS }, (_, i) => `pk-${i}`);
}

/** Producer.put for every record, as an application would; in flight bounded by the producer. */
async function producerFor(
  client: ShardlineClient,
  recordBytes: number,
  seconds: number,
  progress: Progress | null,
): Promise<{ records: number; seconds: number }> {
  // rateLimit off: the server runs with limits off, and the KPL's per-shard limiter would be the ceiling.
  const maxRecordsInFlight = recordBytes >= KIB ? 256 : 50_000;
  const producer = new Producer(client, { rateLimit: false, lingerMs: 2, maxBatchBytes: 1024 * 1024, maxRecordsInFlight });
  const data = patternBytes(recordBytes);
  const partitionKeys = keys();
  let acknowledged = 0;
  let failed: unknown = null;
  const count = (): void => {
    acknowledged++;
  };
  const fail = (error: unknown): void => {
    failed = error;
  };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  // The clock is read every CHECK_EVERY records: at 100 B a read per record costs ~3%.
  for (let i = 0; failed === null && (i % CHECK_EVERY !== 0 || performance.now() < deadline); i++) {
    if (!producer.writable) await producer.drain();
    void producer.put({ streamName: STREAM, partitionKey: partitionKeys[i % PARTITION_KEYS]!, data }).then(count, fail);
    if (i % CHECK_EVERY === CHECK_EVERY - 1) {
      // Let replies in: a producer that never yields would only ever fill its queue.
      await yieldToLoop();
      progress?.tick(acknowledged, acknowledged * recordBytes);
    }
  }
  await producer.flush();
  if (failed !== null) throw failed;
  return { records: acknowledged, seconds: (performance.now() - start) / 1000 };
}

/** client.putRecords of 500 records (or 1 MiB), BATCH_WINDOW calls in flight. */
async function putRecordsFor(
  client: ShardlineClient,
  recordBytes: number,
  seconds: number,
  progress: Progress | null,
): Promise<{ records: number; seconds: number }> {
  const data = patternBytes(recordBytes);
  const perCall = Math.max(1, Math.min(BATCH_RECORDS, Math.floor((1024 * 1024) / recordBytes)));
  const partitionKeys = keys();
  const batches = Array.from({ length: PARTITION_KEYS / BATCH_RECORDS }, (_, b) =>
    Array.from({ length: perCall }, (_, i): ClientRecord => ({
      partitionKey: partitionKeys[(b * BATCH_RECORDS + i) % PARTITION_KEYS]!,
      data,
    })),
  );
  let records = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const results = await client.putRecords(STREAM, batches[next++ % batches.length]!);
      const failure = results.find((result) => 'errorCode' in result);
      if (failure !== undefined) throw new Error(`a put failed: ${JSON.stringify(failure)}`);
      records += results.length;
      progress?.tick(records, records * recordBytes);
    }
  };
  await Promise.all(Array.from({ length: BATCH_WINDOW }, lane));
  return { records, seconds: (performance.now() - start) / 1000 };
}

async function throughputPhase(
  root: string,
  system: 'shardline' | 'echo',
  api: 'producer' | 'putRecords',
  recordBytes: number,
  config: Config,
): Promise<ThroughputFigures> {
  const label = `${system} ${api} ${recordBytes} B`;
  return withServer(root, `${system}-${api}-${recordBytes}`, system, 'never', config.shards, async (client) => {
    const drive = api === 'producer' ? producerFor : putRecordsFor;
    await drive(client, recordBytes, WARMUP_SECONDS, null);
    const run = await drive(client, recordBytes, config.seconds, new Progress(label));
    const figures = {
      system,
      api,
      recordBytes,
      records: run.records,
      seconds: round1(run.seconds),
      recordsPerSec: Math.round(run.records / run.seconds),
      dataMBps: round1((run.records * recordBytes) / MB / run.seconds),
    };
    console.log(`${label}: ${figures.recordsPerSec} records/s, ${figures.dataMBps} MB/s`);
    return figures;
  });
}

// ---------------------------------------------------------------- latency

interface LatencyFigures {
  readonly fsync: string;
  readonly ratePerSec: number;
  readonly records: number;
  readonly endToEnd: LatencySummary;
  readonly publish: LatencySummary;
}

/**
 * Open loop: after every event-loop turn (and a nap of up to 0.1 ms until the next record is
 * due), the records due by now are put through a Producer (lingerMs 0), each stamped with its
 * intended send time; a push consumer on its own
 * connection records receipt minus intended time; the producer's acks give publish latency.
 */
async function latencyPhase(root: string, fsync: string, config: Config): Promise<LatencyFigures> {
  const label = `put -> push consumer at ${config.latencyRate} records/s, fsync ${fsync}`;
  return withServer(root, `latency-${fsync}`, 'shardline', fsync, 1, async (client) => {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: STREAM });
    const { Consumer: registered } = await client.call('RegisterStreamConsumer', {
      StreamARN: StreamDescriptionSummary.StreamARN as string,
      ConsumerName: 'bench',
    });
    const consumerClient = await connect(client.transport.url, { clientName: 'bench-consumer' });
    const endToEnd = latencyHistogram();
    const publish = latencyHistogram();
    const rate = config.latencyRate;
    const total = Math.round(rate * (LATENCY_WARMUP_SECONDS + config.latencySeconds));
    const warmup = Math.round(rate * LATENCY_WARMUP_SECONDS);
    const progress = new Progress(label);
    let received = 0;
    let lastUs = 0;
    const consumed = (async () => {
      for await (const record of new Consumer(consumerClient).subscribe({
        consumerARN: registered.ConsumerARN,
        shardId: 'shardId-000000000000',
        startingPosition: { Type: 'TRIM_HORIZON' },
      })) {
        const view = new DataView(record.Data.buffer, record.Data.byteOffset, record.Data.byteLength);
        lastUs = (performance.now() - view.getFloat64(0, true)) * 1000;
        if (view.getUint32(8, true) >= warmup) endToEnd.recordValue(Math.max(1, Math.round(lastUs)));
        progress.tick(++received, received * 100, lastUs);
        if (received >= total) return;
      }
    })();
    const producer = new Producer(client, { rateLimit: false, lingerMs: 0 });
    const start = performance.now();
    const puts: Promise<unknown>[] = [];
    for (let sent = 0; sent < total; napUntil(start + ((sent + 1) * 1000) / rate)) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; sent < due; sent++) {
        const intended = start + (sent * 1000) / rate;
        const data = Buffer.alloc(100);
        data.writeDoubleLE(intended, 0);
        data.writeUInt32LE(sent, 8);
        const index = sent;
        puts.push(
          producer.put({ streamName: STREAM, partitionKey: `p${sent % 100}`, data }).then(() => {
            if (index >= warmup) publish.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
          }),
        );
      }
      await yieldToLoop();
    }
    await Promise.all(puts);
    await consumed;
    consumerClient.close();
    const figures = {
      fsync,
      ratePerSec: rate,
      records: endToEnd.totalCount,
      endToEnd: summarizeHistogram(endToEnd),
      publish: summarizeHistogram(publish),
    };
    console.log(formatLatency(`${label}, end to end`, figures.endToEnd));
    console.log(formatLatency(`${label}, publish (put -> ack)`, figures.publish));
    return figures;
  });
}

/**
 * The floor under every latency here: a plain TCP echo between two Node processes at the same
 * rate and with the same pacing, round trip per message (as put -> ack is one round trip).
 */
async function tcpFloorPhase(root: string, config: Config): Promise<LatencySummary> {
  const server = await startServer('tcp', path.join(root, 'tcp'), 'never');
  const port = Number(new URL(server.url).port);
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const histogram = latencyHistogram();
  const rate = config.latencyRate;
  const total = Math.round(rate * (LATENCY_WARMUP_SECONDS + config.latencySeconds));
  const warmup = Math.round(rate * LATENCY_WARMUP_SECONDS);
  let received = 0;
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const now = performance.now();
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    for (; at + TCP_MESSAGE_BYTES <= pending.length; at += TCP_MESSAGE_BYTES, received++) {
      if (pending.readUInt32LE(at + 8) >= warmup) histogram.recordValue(Math.max(1, Math.round((now - pending.readDoubleLE(at)) * 1000)));
    }
    pending = pending.subarray(at);
  });
  const start = performance.now();
  for (let sent = 0; sent < total; napUntil(start + ((sent + 1) * 1000) / rate)) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      const message = Buffer.alloc(TCP_MESSAGE_BYTES);
      message.writeDoubleLE(start + (sent * 1000) / rate, 0);
      message.writeUInt32LE(sent, 8);
      socket.write(message);
    }
    await yieldToLoop();
  }
  while (received < total) await new Promise((resolve) => setTimeout(resolve, 10));
  socket.destroy();
  await server.stop();
  const floor = summarizeHistogram(histogram);
  console.log(formatLatency(`TCP echo floor at ${rate} messages/s`, floor));
  return floor;
}

const TCP_MESSAGE_BYTES = 16;
// ---------------------------------------------------------------- main

function find(throughput: ThroughputFigures[], system: string, api: string, recordBytes: number): ThroughputFigures {
  return throughput.find((t) => t.system === system && t.api === api && t.recordBytes === recordBytes)!;
}

async function main(): Promise<void> {
  const config = readConfig();
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-net-bench-'));
  const env = environment(root);
  echoEnvironment('shardline network benchmark', env);
  console.log(
    `  throughput: ${config.seconds} s a phase after ${WARMUP_SECONDS} s warm-up, ${config.shards} shards, fsync never, limits off, ${PARTITION_KEYS} partition keys`,
  );
  console.log(
    `  latency: ${config.latencyRate} records/s of 100 B, ${config.latencySeconds} s after ${LATENCY_WARMUP_SECONDS} s warm-up, 1 shard, producer lingerMs 0, one push consumer`,
  );
  try {
    const throughput: ThroughputFigures[] = [];
    let pageCache: RawFigures | null = null;
    if (config.phases.includes('throughput')) {
      pageCache = rawWritePhase(root, 'page-cache-write-64KiB', 64 * KIB, null, config.seconds);
      for (const recordBytes of [100, 64 * KIB]) {
        for (const api of ['producer', 'putRecords'] as const) {
          throughput.push(await throughputPhase(root, 'echo', api, recordBytes, config));
          throughput.push(await throughputPhase(root, 'shardline', api, recordBytes, config));
        }
      }
    }
    const latency = config.phases.includes('latency')
      ? [await latencyPhase(root, 'never', config), await latencyPhase(root, 'always', config)]
      : [];
    const tcpFloor = config.phases.includes('latency') ? await tcpFloorPhase(root, config) : null;
    const ratios =
      throughput.length === 0
        ? {}
        : {
            producer64KiBVsEcho: ratio(
              find(throughput, 'shardline', 'producer', 64 * KIB).dataMBps,
              find(throughput, 'echo', 'producer', 64 * KIB).dataMBps,
            ),
            putRecords64KiBVsEcho: ratio(
              find(throughput, 'shardline', 'putRecords', 64 * KIB).dataMBps,
              find(throughput, 'echo', 'putRecords', 64 * KIB).dataMBps,
            ),
            producer64KiBVsPageCache: ratio(find(throughput, 'shardline', 'producer', 64 * KIB).dataMBps, pageCache!.mbPerSec),
            producer100BVsEcho: ratio(
              find(throughput, 'shardline', 'producer', 100).recordsPerSec,
              find(throughput, 'echo', 'producer', 100).recordsPerSec,
            ),
          };
    const targets = {
      ...(throughput.length === 0
        ? {}
        : {
            producer100BAtLeast500kRecordsPerSec: find(throughput, 'shardline', 'producer', 100).recordsPerSec >= 500_000,
            producer64KiBAtLeast70PercentOfPageCache: (ratios.producer64KiBVsPageCache ?? 0) >= 0.7,
          }),
      ...(latency.length === 0
        ? {}
        : {
            endToEndP99AtMost5MsFsyncNever: latency[0]!.endToEnd.p99Us <= 5000,
            endToEndP99AtMost15MsFsyncAlways: latency[1]!.endToEnd.p99Us <= 15_000,
          }),
    };
    for (const [name, value] of Object.entries(ratios)) console.log(`ratio ${name}: ${value}`);
    for (const [name, met] of Object.entries(targets)) console.log(`target ${name}: ${met ? 'met' : 'MISSED'}`);
    const { rootDir: _rootDir, ...shownConfig } = config;
    finish(
      { bench: 'net', mbBytes: MB, config: shownConfig, environment: env, throughput, pageCache, latency, tcpFloor, ratios, targets },
      config.jsonPath,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
