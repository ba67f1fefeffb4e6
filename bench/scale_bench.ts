/**
 * Scale in the number of shards (issue 14): what idle shards cost and how fast a server with
 * many of them comes back after kill -9. The real server (the built `shardline serve`, its own
 * process, fsync FSYNC) on a fresh data directory:
 *   1. CreateStream of SHARDS shards, STREAMS times, each timed until ACTIVE;
 *   2. RECORDS records of RECORD_BYTES to every shard (routed by explicit hash key), then
 *      IDLE_SECONDS without traffic (the shards trim their preallocation);
 *   3. disk (allocated blocks and apparent bytes) against the data, and the server's resident
 *      memory, descriptors and mappings against the empty server's;
 *   4. kill -9, a restart on the same directory: until the Kinesis HTTP port answers (and how
 *      many shards were still recovering then, from GET /health); until every shard has served
 *      a read (its first record) and a put, CHECKS_IN_FLIGHT shards at a time over one
 *      connection, every stream at once (so most requests meet shards still recovering); then
 *      every record read back and checked byte for byte (timed on its own: 1 GB through one
 *      connection at the target size);
 *   5. Producer throughput to a stream of 4 shards and to one of THROUGHPUT_SHARDS.
 * The server runs with --no-limits (phase 5 measures it, not Kinesis' per-shard rates).
 * Usage: npm run build && npm run bench:scale [-- --json <file>]. Environment: STREAMS (10),
 * SHARDS (100), RECORDS (1000), RECORD_BYTES (100), IDLE_SECONDS (35), FSYNC (never),
 * THROUGHPUT_SHARDS (500), THROUGHPUT_SECONDS (3). The issue's targets are STREAMS=20 SHARDS=500.
 * Last line: one JSON object.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Producer, connect, type ShardlineClient } from '../src/client/node.js';
import { kill, track } from '../scripts/peers.js';
import { KIB, MB, echoEnvironment, envNumber, environment, finish, jsonPathArg, ratio, round1 } from './bench_common.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
const READY_TIMEOUT_MS = 600_000;
/**
 * Shards checked at once after the restart: within the connection's 256 requests in flight,
 * and their answers (about 100 KiB each) within the server's 8 MiB of unsent bytes.
 */
const CHECKS_IN_FLIGHT = 48;

const config = {
  streams: Math.round(envNumber('STREAMS', 10, 1, 1000)),
  shards: Math.round(envNumber('SHARDS', 100, 1, 500)),
  records: Math.round(envNumber('RECORDS', 1000, 1, 1_000_000)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 1, 1_048_000)),
  idleSeconds: envNumber('IDLE_SECONDS', 35, 0, 3600),
  fsync: process.env.FSYNC ?? 'never',
  throughputShards: Math.round(envNumber('THROUGHPUT_SHARDS', 500, 1, 500)),
  throughputSeconds: envNumber('THROUGHPUT_SECONDS', 3, 0.5, 600),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly startedMs: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function serve(dataDir: string, port: number, kinesisPort: number): Server {
  // --no-limits: the throughput phase measures the server, not Kinesis' 1 MiB/s per shard.
  const args = [
    'serve',
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--kinesis-port',
    String(kinesisPort),
    '--fsync',
    config.fsync,
    '--no-limits',
  ];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  return { child, url: `ws://127.0.0.1:${port}/`, startedMs: performance.now() };
}

function untilBanner(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no banner')), READY_TIMEOUT_MS);
    server.child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    readline.createInterface({ input: server.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('shardline listening')) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The server's own pid: under npm or not, the data directory's lock names it. */
function serverPid(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, 'LOCK'), 'utf8'));
}

function processFigures(pid: number): { rssKiB: number; virtualGiB: number; descriptors: number; mappings: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return {
    rssKiB: field('VmRSS'),
    virtualGiB: round1(field('VmSize') / (1024 * 1024)),
    descriptors: fs.readdirSync(`/proc/${pid}/fd`).length,
    mappings: fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length - 1,
  };
}

function diskBytes(dir: string): { allocated: number; apparent: number; files: number } {
  const allocated = Number(execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' }).split('\t')[0]);
  const apparent = Number(execFileSync('du', ['-s', '--block-size=1', '--apparent-size', dir], { encoding: 'utf8' }).split('\t')[0]);
  const files = Number(execFileSync('sh', ['-c', `find "${dir}" -type f | wc -l`], { encoding: 'utf8' }).trim());
  return { allocated, apparent, files };
}

function recordData(stream: number, shard: number, i: number): Buffer {
  const data = Buffer.alloc(config.recordBytes, (stream * 31 + shard * 7 + i) & 0xff);
  if (data.length >= 12) {
    data.writeUInt32LE(stream, 0);
    data.writeUInt32LE(shard, 4);
    data.writeUInt32LE(i, 8);
  }
  return data;
}

const streamName = (s: number): string => `scale-${s}`;

async function untilActive(client: ShardlineClient, name: string): Promise<void> {
  for (;;) {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: name });
    if (StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function createStreams(client: ShardlineClient): Promise<number[]> {
  const times: number[] = [];
  for (let s = 0; s < config.streams; s++) {
    const started = performance.now();
    await client.call('CreateStream', { StreamName: streamName(s), ShardCount: config.shards });
    await untilActive(client, streamName(s));
    times.push(performance.now() - started);
  }
  return times;
}

async function shardsOf(client: ShardlineClient, name: string): Promise<{ ShardId: string; StartingHashKey: string }[]> {
  const { Shards } = await client.call('ListShards', { StreamName: name, MaxResults: 1000 });
  return Shards!.map((shard) => ({ ShardId: shard.ShardId!, StartingHashKey: shard.HashKeyRange!.StartingHashKey! }));
}

/** RECORDS records into every shard, 500 to a put, a few puts in flight. */
async function fill(client: ShardlineClient): Promise<number> {
  const jobs: Array<() => Promise<void>> = [];
  for (let s = 0; s < config.streams; s++) {
    const shards = await shardsOf(client, streamName(s));
    shards.forEach((shard, j) => {
      for (let first = 0; first < config.records; first += 500) {
        const count = Math.min(500, config.records - first);
        const records = Array.from({ length: count }, (_, k) => ({
          partitionKey: `p${first + k}`,
          data: recordData(s, j, first + k),
          explicitHashKey: shard.StartingHashKey,
        }));
        jobs.push(async () => {
          const results = await client.putRecords(streamName(s), records);
          if (results.some((result) => !('sequenceNumber' in result)))
            throw new Error(`a put to ${shard.ShardId} of ${streamName(s)} failed`);
        });
      }
    });
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  return config.streams * config.shards * config.records * (config.recordBytes + 4);
}

async function untilHttpAnswers(port: number): Promise<void> {
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

type ShardCheck = (client: ShardlineClient, s: number, j: number, shard: { ShardId: string; StartingHashKey: string }) => Promise<void>;

/** Runs `check` on every shard, CHECKS_IN_FLIGHT at a time. */
async function everyShard(client: ShardlineClient, check: ShardCheck): Promise<void> {
  const jobs: Array<() => Promise<void>> = [];
  for (let s = 0; s < config.streams; s++) {
    const shards = await shardsOf(client, streamName(s));
    shards.forEach((shard, j) => jobs.push(() => check(client, s, j, shard)));
  }
  // Interleaved by stream, so the first requests reach every stream's shards while they recover.
  const order = jobs.map((_, i) => i).sort((a, b) => (a % config.shards) - (b % config.shards) || a - b);
  let next = 0;
  await Promise.all(
    Array.from({ length: CHECKS_IN_FLIGHT }, async () => {
      while (next < order.length) await jobs[order[next++]!]!();
    }),
  );
}

/** SIGTERM and the time until the server exits (it closes every log cleanly first). */
async function stopGracefully(server: Server): Promise<number> {
  const started = performance.now();
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), READY_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  if (server.child.signalCode === 'SIGKILL') throw new Error(`no exit ${READY_TIMEOUT_MS / 1000} s after SIGTERM`);
  return performance.now() - started;
}

async function health(port: number): Promise<string> {
  return (await (await fetch(`http://127.0.0.1:${port}/health`)).text()).trim();
}

/** A read of the shard's first record and a put: the shard serves. */
const servesShard: ShardCheck = async (client, s, j, shard) => {
  const name = streamName(s);
  const start = await client.call('GetShardIterator', { StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' });
  const page = await client.getRecords({ ShardIterator: start.ShardIterator!, Limit: 1 });
  if (page.Records.length !== 1 || !Buffer.from(page.Records[0]!.Data).equals(recordData(s, j, 0)))
    throw new Error(`${name} ${shard.ShardId}: its first record is not served after the restart`);
  const [put] = await client.putRecords(name, [
    { partitionKey: 'after', data: Buffer.from('after'), explicitHashKey: shard.StartingHashKey },
  ]);
  if (!('sequenceNumber' in put!)) throw new Error(`${name} ${shard.ShardId}: the put after the restart failed`);
};

/** Every record of the shard, checked byte for byte, then the put servesShard made. */
const checkShard: ShardCheck = async (client, s, j, shard) => {
  const name = streamName(s);
  const start = await client.call('GetShardIterator', { StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' });
  let iterator: string | undefined = start.ShardIterator;
  const expected = [...Array.from({ length: config.records }, (_, i) => recordData(s, j, i)), Buffer.from('after')];
  let seen = 0;
  while (seen < expected.length && iterator !== undefined) {
    const page = await client.getRecords({ ShardIterator: iterator });
    for (const record of page.Records) {
      if (!Buffer.from(record.Data).equals(expected[seen] ?? Buffer.alloc(0)))
        throw new Error(`${name} ${shard.ShardId}: record ${seen} differs`);
      seen++;
    }
    iterator = page.NextShardIterator;
    if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
  }
  if (seen !== expected.length) throw new Error(`${name} ${shard.ShardId}: ${seen} of ${expected.length} records after the restart`);
};

async function throughput(client: ShardlineClient, shards: number): Promise<number> {
  const name = `throughput-${shards}`;
  await client.call('CreateStream', { StreamName: name, ShardCount: shards });
  await untilActive(client, name);
  const producer = new Producer(client, { lingerMs: 1 });
  const data = Buffer.alloc(config.recordBytes, 7);
  const endMs = performance.now() + config.throughputSeconds * 1000;
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  while (performance.now() < endMs) {
    for (let i = 0; i < 1000; i++) producer.put({ streamName: name, partitionKey: `k${sent++}`, data }).catch(() => failed++);
    await producer.drain();
  }
  await producer.flush();
  if (failed > 0) throw new Error(`${failed} puts to ${name} failed`);
  return sent / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-scale-'));
  const env = environment(dataDir);
  echoEnvironment('bench:scale', { ...env, ...config, jsonPath: config.jsonPath ?? '-' });
  const [port, kinesisPort] = [await freePort(), await freePort()];
  let server: Server | null = null;
  try {
    server = serve(dataDir, port, kinesisPort);
    await untilBanner(server);
    const empty = processFigures(serverPid(dataDir));
    let client = await connect(server.url);
    const createMs = await createStreams(client);
    console.log(`created ${config.streams} streams of ${config.shards} shards: ${Math.round(Math.max(...createMs))} ms at most`);
    const dataBytes = await fill(client);
    console.log(`filled: ${(dataBytes / MB).toFixed(1)} MB of records; idle for ${config.idleSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, config.idleSeconds * 1000));
    const disk = diskBytes(path.join(dataDir, 'streams'));
    const idle = processFigures(serverPid(dataDir));
    client.close();

    const exited = new Promise((resolve) => server!.child.once('exit', resolve));
    process.kill(serverPid(dataDir), 'SIGKILL');
    await exited;
    const restarted = serve(dataDir, port, kinesisPort);
    server = restarted;
    await untilHttpAnswers(kinesisPort);
    const httpAnswersMs = performance.now() - restarted.startedMs;
    await untilBanner(restarted).catch(() => undefined);
    const healthAtStart = await health(port);
    client = await connect(restarted.url);
    await everyShard(client, servesShard);
    const everyShardServesMs = performance.now() - restarted.startedMs;
    const checkStartedMs = performance.now();
    await everyShard(client, checkShard);
    const everyRecordCheckedMs = performance.now() - checkStartedMs;
    console.log(
      `after kill -9: HTTP answered in ${Math.round(httpAnswersMs)} ms (health: ${healthAtStart}), every shard served a read and a put in ${Math.round(everyShardServesMs)} ms; every record checked in ${Math.round(everyRecordCheckedMs)} ms more`,
    );

    const small = await throughput(client, 4);
    const large = await throughput(client, config.throughputShards);
    client.close();
    const stopMs = await stopGracefully(restarted);
    console.log(`graceful stop (SIGTERM, every log closed cleanly): ${Math.round(stopMs)} ms`);

    const shardCount = config.streams * config.shards;
    finish(
      {
        benchmark: 'scale',
        environment: env,
        config: { ...config, jsonPath: undefined },
        shards: shardCount,
        createStreamMs: { max: Math.round(Math.max(...createMs)), mean: Math.round(createMs.reduce((a, b) => a + b, 0) / createMs.length) },
        dataBytes,
        disk: {
          ...disk,
          perShardOverDataKiB: round1((disk.allocated - dataBytes) / shardCount / KIB),
          allocatedOverData: ratio(disk.allocated, dataBytes),
          targetBytes: 2 * dataBytes + 64 * KIB * shardCount,
        },
        server: {
          empty,
          idle,
          rssPerShardKiB: round1((idle.rssKiB - empty.rssKiB) / shardCount),
          descriptorsPerShard: round1((idle.descriptors - empty.descriptors) / shardCount),
          mappingsPerShard: round1((idle.mappings - empty.mappings) / shardCount),
        },
        restart: {
          httpAnswersMs: Math.round(httpAnswersMs),
          healthAtStart,
          everyShardServesMs: Math.round(everyShardServesMs),
          everyRecordCheckedMs: Math.round(everyRecordCheckedMs),
        },
        gracefulStopMs: Math.round(stopMs),
        putsPerSecond: { shards4: Math.round(small), [`shards${config.throughputShards}`]: Math.round(large), ratio: ratio(large, small) },
      },
      config.jsonPath,
    );
  } finally {
    // Stopped first: a server still writing would make the removal fail and hide the error.
    if (server !== null) await kill(server.child, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
