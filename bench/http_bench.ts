/**
 * Kinesis HTTP API benchmark: shardline's API (bench/net_bench_server.ts MODE=kinesis, its own
 * process) and kinesalite (scripts/peers.ts, its own process), the same workload on each, one
 * at a time:
 *   1. PutRecords of 500 x 100 B: through the AWS SDK, through raw HTTP/1.1 (keep-alive) and
 *      through raw HTTP/2 (one session), WINDOW requests in flight;
 *   2. GetRecords throughput, reading back what phase 1 wrote, raw HTTP/1.1;
 *   3. put -> GetRecords-poll latency at LATENCY_RATE records/s (open loop, from each
 *      record's intended send time; the poller waits 1 ms after an empty read).
 * kinesalite speaks only HTTP/1.1, so its SDK and "HTTP/2" rows use HTTP/1.1 (stated in the
 * output). Both write to disk without fsync: shardline fsync "never", kinesalite LevelDB.
 * Usage: npm run bench:http [-- --json <file>]. Environment: BENCH_SECONDS (3 per phase),
 * LATENCY_SECONDS (5), LATENCY_RATE (1000), WINDOW (8). Last line: one JSON object.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKinesalite } from '../scripts/peers.js';
import {
  MB,
  echoEnvironment,
  envNumber,
  environment,
  finish,
  formatLatency,
  jsonPathArg,
  latencyHistogram,
  napUntil,
  ratio,
  round1,
  summarizeHistogram,
  yieldToLoop,
  type LatencySummary,
} from './bench_common.js';
import { startBenchServer } from './bench_server.js';

const RECORDS_PER_PUT = 500;
const RECORD_BYTES = 100;
const SHARDS = 4;
const SIGNED_HEADERS = {
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-date': '20261201T000000Z',
  authorization: 'AWS4-HMAC-SHA256 Credential=bench/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
};
const POLL_EMPTY_WAIT_MS = 1;

const config = {
  seconds: envNumber('BENCH_SECONDS', 3, 0.5, 600),
  latencySeconds: envNumber('LATENCY_SECONDS', 5, 0.5, 600),
  latencyRate: envNumber('LATENCY_RATE', 1000, 1, 100_000),
  window: Math.round(envNumber('WINDOW', 8, 1, 256)),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};

interface Target {
  readonly system: 'shardline' | 'kinesalite';
  readonly port: number;
  readonly http2: boolean;
  stop(): Promise<void>;
}

async function startShardline(root: string): Promise<Target> {
  const server = await startBenchServer({ MODE: 'kinesis', DATA_DIR: fs.mkdtempSync(path.join(root, 'shardline-')), FSYNC: 'never' });
  return { system: 'shardline', port: server.port, http2: true, stop: () => server.stop() };
}

async function startPeer(root: string): Promise<Target> {
  const peer = await startKinesalite(root);
  return { system: 'kinesalite', port: peer.port, http2: false, stop: () => peer.stop() };
}

// ---------------------------------------------------------------- raw requests

type Send = (operation: string, body: string) => Promise<Record<string, unknown>>;

function http1Sender(port: number): { send: Send; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.window });
  const send: Send = (operation, body) =>
    new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          agent,
          headers: { ...SIGNED_HEADERS, 'x-amz-target': `Kinesis_20131202.${operation}` },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => settle(response.statusCode ?? 0, Buffer.concat(chunks), resolve, reject));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  return { send, close: () => agent.destroy() };
}

function http2Sender(port: number): { send: Send; close: () => void } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const send: Send = (operation, body) =>
    new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/',
        ...SIGNED_HEADERS,
        'x-amz-target': `Kinesis_20131202.${operation}`,
      });
      const chunks: Buffer[] = [];
      let status = 0;
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => settle(status, Buffer.concat(chunks), resolve, reject));
      stream.on('error', reject);
      stream.end(body);
    });
  return { send, close: () => session.close() };
}

function settle(status: number, body: Buffer, resolve: (value: Record<string, unknown>) => void, reject: (error: Error) => void): void {
  const parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  if (status === 200) resolve(parsed);
  else reject(new Error(`HTTP ${status}: ${JSON.stringify(parsed)}`));
}

// ---------------------------------------------------------------- phases

function putBody(stream: string, batch: number): string {
  const data = Buffer.alloc(RECORD_BYTES, batch & 0xff).toString('base64');
  return JSON.stringify({
    StreamName: stream,
    Records: Array.from({ length: RECORDS_PER_PUT }, (_, i) => ({
      PartitionKey: `pk-${(batch * RECORDS_PER_PUT + i) % 10_000}`,
      Data: data,
    })),
  });
}

/** WINDOW lanes, each sending its next put when the last is answered, for `seconds`. */
async function putThroughput(put: (batch: number) => Promise<void>): Promise<number> {
  let records = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + config.seconds * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await put(next++);
      records += RECORDS_PER_PUT;
    }
  };
  await Promise.all(Array.from({ length: config.window }, lane));
  return Math.round(records / ((performance.now() - start) / 1000));
}

function sdkClient(target: Target): KinesisClient {
  return new KinesisClient({
    endpoint: `http://127.0.0.1:${target.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
    ...(target.http2
      ? {}
      : { requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: config.window }) }) }),
  });
}

async function sdkPuts(target: Target, stream: string): Promise<number> {
  const client = sdkClient(target);
  const data = Buffer.alloc(RECORD_BYTES, 7);
  const records = Array.from({ length: RECORDS_PER_PUT }, (_, i) => ({ PartitionKey: `pk-${i}`, Data: data }));
  try {
    return await putThroughput(async () => {
      const result = await client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
      if (result.FailedRecordCount !== 0) throw new Error(`${result.FailedRecordCount} records failed`);
    });
  } finally {
    client.destroy();
  }
}

async function rawPuts(send: Send, stream: string): Promise<number> {
  const bodies = Array.from({ length: 16 }, (_, batch) => putBody(stream, batch));
  return putThroughput(async (batch) => {
    const result = await send('PutRecords', bodies[batch % bodies.length]!);
    if (result.FailedRecordCount !== 0) throw new Error(`${String(result.FailedRecordCount)} records failed`);
  });
}

/** Reads every shard from TRIM_HORIZON to its end; records/s over the whole read. */
async function getThroughput(send: Send, stream: string): Promise<{ recordsPerSec: number; records: number }> {
  const { Shards } = (await send('ListShards', JSON.stringify({ StreamName: stream }))) as { Shards: Array<{ ShardId: string }> };
  const start = performance.now();
  let records = 0;
  await Promise.all(
    Shards.map(async (shard) => {
      let { ShardIterator: iterator } = (await send(
        'GetShardIterator',
        JSON.stringify({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )) as { ShardIterator?: string };
      while (iterator !== undefined) {
        const result = (await send('GetRecords', JSON.stringify({ ShardIterator: iterator, Limit: 10_000 }))) as {
          Records: unknown[];
          NextShardIterator?: string;
          MillisBehindLatest?: number;
        };
        records += result.Records.length;
        if (result.Records.length === 0 || result.MillisBehindLatest === 0) return;
        iterator = result.NextShardIterator;
      }
    }),
  );
  return { recordsPerSec: Math.round(records / ((performance.now() - start) / 1000)), records };
}

/** CreateStream, then wait for ACTIVE: kinesalite creates streams asynchronously. */
async function createStream(send: Send, stream: string, shards: number): Promise<void> {
  await send('CreateStream', JSON.stringify({ StreamName: stream, ShardCount: shards }));
  for (let attempt = 0; attempt < 1000; attempt++) {
    const { StreamDescriptionSummary } = (await send('DescribeStreamSummary', JSON.stringify({ StreamName: stream }))) as {
      StreamDescriptionSummary: { StreamStatus: string };
    };
    if (StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}

/** Open loop at LATENCY_RATE: each record stamped with its intended time, read by a poller. */
async function pollLatency(send: Send, stream: string): Promise<LatencySummary> {
  await createStream(send, stream, 1);
  const { ShardIterator } = (await send(
    'GetShardIterator',
    JSON.stringify({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }),
  )) as { ShardIterator: string };
  const histogram = latencyHistogram();
  const total = Math.round(config.latencyRate * config.latencySeconds);
  let received = 0;
  const polling = (async () => {
    let iterator = ShardIterator;
    while (received < total) {
      const result = (await send('GetRecords', JSON.stringify({ ShardIterator: iterator }))) as {
        Records: Array<{ Data: string }>;
        NextShardIterator: string;
      };
      const now = performance.now();
      for (const record of result.Records)
        histogram.recordValue(Math.max(1, Math.round((now - Buffer.from(record.Data, 'base64').readDoubleLE(0)) * 1000)));
      received += result.Records.length;
      // kinesalite's iterator after an empty read may skip what comes next: keep the old one.
      if (result.Records.length > 0) iterator = result.NextShardIterator;
      else await new Promise((resolve) => setTimeout(resolve, POLL_EMPTY_WAIT_MS));
    }
  })();
  const start = performance.now() + 20;
  const puts: Promise<unknown>[] = [];
  for (let sent = 0; sent < total; napUntil(start + (sent * 1000) / config.latencyRate)) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * config.latencyRate) / 1000) + 1);
    for (; sent < due; sent++) {
      const data = Buffer.alloc(RECORD_BYTES);
      data.writeDoubleLE(start + (sent * 1000) / config.latencyRate, 0);
      puts.push(send('PutRecord', JSON.stringify({ StreamName: stream, PartitionKey: `pk-${sent % 100}`, Data: data.toString('base64') })));
    }
    await yieldToLoop();
  }
  await Promise.all(puts);
  await polling;
  return summarizeHistogram(histogram);
}

interface Figures {
  readonly system: string;
  readonly transports: string;
  readonly putRecordsPerSec: { readonly sdk: number; readonly http1: number; readonly http2: number };
  readonly getRecordsPerSec: number;
  readonly pollLatency: LatencySummary;
}

async function measure(target: Target): Promise<Figures> {
  const h1 = http1Sender(target.port);
  const h2 = target.http2 ? http2Sender(target.port) : h1;
  try {
    const stream = 'bench-puts';
    await createStream(h1.send, stream, SHARDS);
    const sdk = await sdkPuts(target, stream);
    console.log(`  ${target.system} PutRecords via the AWS SDK (${target.http2 ? 'HTTP/2' : 'HTTP/1.1'}): ${sdk} records/s`);
    const http1 = await rawPuts(h1.send, stream);
    console.log(`  ${target.system} PutRecords raw HTTP/1.1: ${http1} records/s`);
    const http2Rate = target.http2 ? await rawPuts(h2.send, stream) : http1;
    console.log(
      `  ${target.system} PutRecords raw HTTP/2: ${target.http2 ? `${http2Rate} records/s` : 'not served (HTTP/1.1 figure repeated)'}`,
    );
    const get = await getThroughput(h1.send, stream);
    console.log(`  ${target.system} GetRecords raw HTTP/1.1: ${get.recordsPerSec} records/s (${get.records} records)`);
    const latency = await pollLatency(h1.send, 'bench-latency');
    console.log(formatLatency(`  ${target.system} put -> GetRecords poll at ${config.latencyRate}/s`, latency));
    return {
      system: target.system,
      transports: target.http2 ? 'HTTP/1.1 and HTTP/2 (h2c)' : 'HTTP/1.1 only',
      putRecordsPerSec: { sdk, http1, http2: http2Rate },
      getRecordsPerSec: get.recordsPerSec,
      pollLatency: latency,
    };
  } finally {
    h1.close();
    if (h2 !== h1) h2.close();
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-http-bench-'));
  const env = environment(root);
  echoEnvironment('Kinesis HTTP API benchmark', env);
  console.log(
    `  PutRecords of ${RECORDS_PER_PUT} x ${RECORD_BYTES} B, ${config.window} in flight, ${config.seconds} s a phase, ${SHARDS} shards; poll latency at ${config.latencyRate}/s for ${config.latencySeconds} s`,
  );
  const figures: Figures[] = [];
  try {
    for (const start of [startShardline, startPeer]) {
      const target = await start(root);
      try {
        figures.push(await measure(target));
      } finally {
        await target.stop();
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const [ours, theirs] = figures as [Figures, Figures];
  const best = (f: Figures): number => Math.max(f.putRecordsPerSec.sdk, f.putRecordsPerSec.http1, f.putRecordsPerSec.http2);
  const ratios = {
    putRecordsSdk: ratio(ours.putRecordsPerSec.sdk, theirs.putRecordsPerSec.sdk),
    putRecordsRawHttp1: ratio(ours.putRecordsPerSec.http1, theirs.putRecordsPerSec.http1),
    putRecordsBest: ratio(best(ours), best(theirs)),
    getRecords: ratio(ours.getRecordsPerSec, theirs.getRecordsPerSec),
  };
  const targets = { putRecordsAtLeast20xKinesalite: ratios.putRecordsBest >= 20 };
  for (const [name, value] of Object.entries(ratios)) console.log(`ratio shardline / kinesalite ${name}: ${value}`);
  console.log(
    `target PutRecords >= 20x kinesalite: ${targets.putRecordsAtLeast20xKinesalite ? 'met' : 'MISSED'} (${ratios.putRecordsBest}x, best transport each: ${best(ours)} vs ${best(theirs)} records/s, ${round1((best(ours) * RECORD_BYTES) / MB)} vs ${round1((best(theirs) * RECORD_BYTES) / MB)} MB/s)`,
  );
  finish(
    {
      bench: 'http',
      mbBytes: MB,
      config: { ...config, recordsPerPut: RECORDS_PER_PUT, recordBytes: RECORD_BYTES, shards: SHARDS },
      environment: env,
      figures,
      ratios,
      targets,
    },
    config.jsonPath,
  );
}

await main();
