/**
 * The delivery streams' figures (issue 19), on an embedded Engine in this process (fsync "never",
 * limits off, as the other embedded benchmarks), a fresh engine for every run:
 * - throughput: RECORDS JSON records of 1 KiB (seven fields; the payload words drawn by a seeded
 *   PRNG from a vocabulary of 256, so that GZIP and Parquet meet text-like data, not one repeated
 *   byte) are put into a Direct PUT stream by PutRecordBatch of 500, WINDOW batches in flight,
 *   then flush(name); timed from the first put until status().recordsDelivered counts every
 *   record. Reported: records/s and MB/s of records in, and the bytes of the objects written
 *   (status().bytesDelivered) against the bytes put, for UNCOMPRESSED, GZIP and Parquet (OpenX
 *   JSON in, ParquetSerDe's default SNAPPY out, the seven columns given inline), each into the
 *   directory destination (<dataDir>/s3/<bucket>/<key>, each object fsynced and renamed into
 *   place) and into s3rver (an S3-compatible server from npm, run in a child process so that its
 *   request handling does not share this event loop, as a real S3 would not). BufferingHints
 *   SizeInMBs BUFFER_MB, IntervalInSeconds 900: the size and the final flush cut the objects.
 * - latency: put -> object visible, directory destination, BufferingHints IntervalInSeconds 1
 *   and SizeInMBs 128 (the interval decides): a paced producer puts LATENCY_RATE records/s (every
 *   TICK_MS the records due go in one PutRecordBatch, each stamped with the time it was issued)
 *   for LATENCY_SECONDS after a warm-up of LATENCY_WARMUP_SECONDS; the bucket's directory is
 *   listed every VISIBLE_POLL_MS, and each new object's records give (the listing that first
 *   showed it) minus (their stamp): p50/p99 per record, and per object the age of its oldest
 *   record. The poll adds up to VISIBLE_POLL_MS to each figure.
 * Usage: npm run bench:delivery [-- --json <file>]. Environment: RECORDS (50000), BUFFER_MB (5,
 * Firehose's default), WINDOW (4 batches in flight), LATENCY_SECONDS (10), LATENCY_RATE (1000),
 * BENCH_DIR (os.tmpdir()). Last line: one JSON object. MB = 10^6 bytes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine, TriggerRegistry } from '../src/index.js';
import type { ObjectStore } from '../src/delivery/object_store.js';
import { DeliveryRegistry } from '../src/delivery/registry.js';
import { S3Store } from '../src/delivery/s3_store.js';
import { configureDeliveryStore } from '../src/delivery/store_config.js';
import { seededRandom } from '../test/helpers/random.js';
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
  ratio,
  round1,
  summarizeHistogram,
  type LatencySummary,
} from './bench_common.js';

const config = {
  records: Math.round(envNumber('RECORDS', 50_000, 500, 10_000_000)),
  bufferMB: Math.round(envNumber('BUFFER_MB', 5, 1, 128)),
  window: Math.round(envNumber('WINDOW', 4, 1, 64)),
  latencySeconds: envNumber('LATENCY_SECONDS', 10, 0.5, 3600),
  latencyRate: Math.round(envNumber('LATENCY_RATE', 1000, 1, 100_000)),
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const RECORD_BYTES = KIB;
const RECORDS_PER_PUT = 500;
/** Distinct records the throughput producer cycles through: 2 MiB, far beyond GZIP's 32 KiB window. */
const POOL_RECORDS = 2048;
const THROUGHPUT_INTERVAL_SECONDS = 900;
const LATENCY_BUFFERING = { SizeInMBs: 128, IntervalInSeconds: 1 };
const LATENCY_WARMUP_SECONDS = 1;
/** A timer cannot wait less than 1 ms; 10 ms keeps the puts small (10 records at 1,000/s). */
const TICK_MS = 10;
const VISIBLE_POLL_MS = 5;
const STATUS_POLL_MS = 20;
const DELIVERED_TIMEOUT_MS = 600_000;
const DRAIN_TIMEOUT_MS = 30_000;
const S3RVER_START_TIMEOUT_MS = 30_000;
const BUCKET = 'delivery-bench';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/firehose-bench';
/** The only key pair s3rver accepts (it checks signatures). */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const LATENCY_STREAM = 'latency';
const EPOCH_MS = Date.UTC(2026, 0, 1);
const EVENTS = ['view', 'click', 'add-to-cart', 'purchase', 'search', 'logout'];

const FORMATS = ['UNCOMPRESSED', 'GZIP', 'PARQUET'] as const;
type Format = (typeof FORMATS)[number];
type Destination = 'directory' | 's3';

const PARQUET_CONVERSION = {
  Enabled: true,
  InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
  OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } },
  SchemaConfiguration: {
    Columns: [
      { Name: 'id', Type: 'bigint' },
      { Name: 'time', Type: 'timestamp' },
      { Name: 'user', Type: 'string' },
      { Name: 'event', Type: 'string' },
      { Name: 'amount', Type: 'double' },
      { Name: 'ok', Type: 'boolean' },
      { Name: 'payload', Type: 'string' },
    ],
  },
};

interface ThroughputFigures {
  readonly destination: Destination;
  readonly format: Format;
  readonly records: number;
  readonly seconds: number;
  /** From the first put until the last PutRecordBatch was acknowledged. */
  readonly putSeconds: number;
  readonly recordsPerSec: number;
  /** Record bytes put, per second. */
  readonly mbPerSec: number;
  readonly bytesIn: number;
  readonly bytesWritten: number;
  /** bytesWritten / bytesIn. */
  readonly ratio: number;
  readonly objects: number;
  readonly recordsFailed: number;
  readonly retries: number;
  readonly lastError?: string;
}

interface LatencyFigures {
  readonly ratePerSec: number;
  readonly intervalSeconds: number;
  readonly pollMs: number;
  readonly objects: number;
  /** Records after the warm-up not seen in an object DRAIN_TIMEOUT_MS after the last put. */
  readonly missing: number;
  readonly putToVisible: LatencySummary;
  readonly oldestRecordAtVisible: LatencySummary;
}

// ---------------------------------------------------------------- records

const encoder = new TextEncoder();

function vocabulary(random: () => number): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: 256 }, () =>
    Array.from({ length: 3 + Math.floor(random() * 8) }, () => letters[Math.floor(random() * letters.length)]).join(''),
  );
}

function words(random: () => number, dictionary: readonly string[], length: number): string {
  let text = '';
  while (text.length < length) text += `${dictionary[Math.floor(random() * dictionary.length)]} `;
  return text.slice(0, length);
}

/** One JSON line of exactly RECORD_BYTES: the payload is cut to fill what the other fields leave. */
function jsonRecord(id: number, random: () => number, dictionary: readonly string[], stamp: Record<string, number> = {}): Uint8Array {
  const fields = {
    id,
    ...stamp,
    time: new Date(EPOCH_MS + id * 1000).toISOString(),
    user: `user-${Math.floor(random() * 10_000)}`,
    event: EVENTS[Math.floor(random() * EVENTS.length)],
    amount: Math.round(random() * 1_000_000) / 100,
    ok: random() < 0.9,
  };
  const head = JSON.stringify(fields).slice(0, -1);
  const room = RECORD_BYTES - head.length - ',"payload":""}\n'.length;
  if (room < 0) throw new Error(`a record's fields take more than ${RECORD_BYTES} bytes`);
  return encoder.encode(`${head},"payload":"${words(random, dictionary, room)}"}\n`);
}

function recordPool(): Uint8Array[] {
  const random = seededRandom(19);
  const dictionary = vocabulary(random);
  return Array.from({ length: POOL_RECORDS }, (_, id) => jsonRecord(id, random, dictionary));
}

// ---------------------------------------------------------------- engines and servers

function deliveryRequest(
  name: string,
  format: Format,
  buffering: { SizeInMBs: number; IntervalInSeconds: number },
): Record<string, unknown> {
  return {
    DeliveryStreamName: name,
    DeliveryStreamType: 'DirectPut',
    ExtendedS3DestinationConfiguration: {
      RoleARN: ROLE_ARN,
      BucketARN: `arn:aws:s3:::${BUCKET}`,
      Prefix: `${name}/`,
      BufferingHints: buffering,
      CompressionFormat: format === 'GZIP' ? 'GZIP' : 'UNCOMPRESSED',
      ...(format === 'PARQUET' ? { DataFormatConversionConfiguration: PARQUET_CONVERSION } : {}),
    },
  };
}

/** A fresh engine per run, so no run reads a buffer log, group or object another one left. */
async function withEngine<T>(
  root: string,
  name: string,
  store: (() => ObjectStore) | null,
  run: (engine: Engine, registry: DeliveryRegistry) => Promise<T>,
): Promise<T> {
  const dataDir = path.join(root, name);
  const engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false });
  try {
    // The store is read when the engine's registry is made: it must be set before.
    if (store !== null) configureDeliveryStore(engine, store);
    const registry = await DeliveryRegistry.of(engine);
    try {
      return await run(engine, registry);
    } finally {
      await registry.stopAll();
      await TriggerRegistry.of(engine).stopAll();
    }
  } finally {
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

interface S3rverProcess {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** s3rver's own CLI in a child process, on a free port, the bucket made; its files under `root`. */
async function startS3rver(root: string): Promise<S3rverProcess> {
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const directory = path.join(root, 's3rver');
  const args = [bin, '-d', directory, '-a', '127.0.0.1', '-p', '0', '-s', '--configure-bucket', BUCKET];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(directory, { recursive: true, force: true });
  };
  try {
    return { endpoint: `http://127.0.0.1:${await listeningPort(child.stdout, exited)}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function listeningPort(stdout: NodeJS.ReadableStream, exited: Promise<void>): Promise<number> {
  const lines = createInterface({ input: stdout });
  const port = new Promise<number>((resolve) =>
    lines.on('line', (line) => {
      const match = /S3rver listening on [\d.]+:(\d+)/.exec(line);
      if (match !== null) resolve(Number(match[1]));
    }),
  );
  const failed = exited.then(() => Promise.reject(new Error('s3rver exited before it listened')));
  const late = sleep(S3RVER_START_TIMEOUT_MS, undefined, { ref: false }).then(() =>
    Promise.reject(new Error(`s3rver did not listen within ${S3RVER_START_TIMEOUT_MS} ms`)),
  );
  return Promise.race([port, failed, late]);
}

// ---------------------------------------------------------------- throughput

/** WINDOW producers take the next batch in turn, so WINDOW PutRecordBatch calls are in flight. */
async function putAll(registry: DeliveryRegistry, name: string, pool: readonly Uint8Array[], onPut: () => void): Promise<void> {
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < config.records) {
      const from = next;
      next = Math.min(config.records, from + RECORDS_PER_PUT);
      const records = Array.from({ length: next - from }, (_, i) => ({ Data: pool[(from + i) % pool.length]! }));
      const answer = await registry.putRecordBatch(name, records);
      if (answer['FailedPutCount'] !== 0) throw new Error(`${String(answer['FailedPutCount'])} records of a PutRecordBatch failed`);
      onPut();
    }
  };
  await Promise.all(Array.from({ length: config.window }, producer));
}

async function delivered(registry: DeliveryRegistry, name: string, started: number, onPoll: () => void): Promise<void> {
  for (;;) {
    const status = registry.status(name);
    if (status !== undefined && status.recordsDelivered + status.recordsFailed >= config.records) return;
    if (performance.now() - started > DELIVERED_TIMEOUT_MS)
      throw new Error(`${name}: ${status?.recordsDelivered ?? 0} of ${config.records} records delivered in time (${status?.lastError})`);
    onPoll();
    await sleep(STATUS_POLL_MS);
  }
}

async function throughputRun(registry: DeliveryRegistry, destination: Destination, format: Format, pool: readonly Uint8Array[]) {
  const name = `bench-${format.toLowerCase()}`;
  const label = `${format} into ${destination}`;
  await registry.create(deliveryRequest(name, format, { SizeInMBs: config.bufferMB, IntervalInSeconds: THROUGHPUT_INTERVAL_SECONDS }));
  const progress = new Progress(label);
  const tick = (): void => {
    const done = registry.status(name)?.recordsDelivered ?? 0;
    progress.tick(done, done * RECORD_BYTES);
  };
  const started = performance.now();
  await putAll(registry, name, pool, tick);
  const putSeconds = (performance.now() - started) / 1000;
  await registry.flush(name);
  await delivered(registry, name, started, tick);
  const seconds = (performance.now() - started) / 1000;
  const status = registry.status(name)!;
  await registry.delete(name);
  return throughputFigures(destination, format, seconds, putSeconds, status);
}

function throughputFigures(
  destination: Destination,
  format: Format,
  seconds: number,
  putSeconds: number,
  status: NonNullable<ReturnType<DeliveryRegistry['status']>>,
): ThroughputFigures {
  const bytesIn = config.records * RECORD_BYTES;
  const figures: ThroughputFigures = {
    destination,
    format,
    records: config.records,
    seconds: Math.round(seconds * 1000) / 1000,
    putSeconds: Math.round(putSeconds * 1000) / 1000,
    recordsPerSec: Math.round(config.records / seconds),
    mbPerSec: round1(bytesIn / MB / seconds),
    bytesIn,
    bytesWritten: status.bytesDelivered,
    ratio: ratio(status.bytesDelivered, bytesIn),
    objects: status.objectsWritten,
    recordsFailed: status.recordsFailed,
    retries: status.retries,
    ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
  };
  const failed = figures.recordsFailed > 0 ? `, ${figures.recordsFailed} records FAILED (${status.lastError})` : '';
  console.log(
    `${format} into ${destination}: ${figures.recordsPerSec} records/s, ${figures.mbPerSec} MB/s in (${round1(seconds)} s, puts ${round1(putSeconds)} s), ` +
      `${figures.objects} objects, written/in ${figures.ratio}${failed}`,
  );
  return figures;
}

async function throughputPhase(root: string, pool: readonly Uint8Array[]): Promise<ThroughputFigures[]> {
  const figures: ThroughputFigures[] = [];
  for (const format of FORMATS)
    figures.push(await withEngine(root, `directory-${format}`, null, (_, registry) => throughputRun(registry, 'directory', format, pool)));
  const s3rver = await startS3rver(root);
  try {
    const store = (): ObjectStore => new S3Store({ endpoint: s3rver.endpoint, credentials: S3RVER_CREDENTIALS });
    for (const format of FORMATS)
      figures.push(await withEngine(root, `s3-${format}`, store, (_, registry) => throughputRun(registry, 's3', format, pool)));
  } finally {
    await s3rver.stop();
  }
  return figures;
}

// ---------------------------------------------------------------- latency

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Lists the bucket's directory; each object seen for the first time gives its records' latencies. */
class VisibilityWatch {
  readonly perRecord = latencyHistogram();
  readonly perObject = latencyHistogram();
  measured = 0;
  objects = 0;
  /** The progress line's: the age of the last object's oldest record when it became visible. */
  lastLatencyUs = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly warmup: number,
  ) {}

  async poll(): Promise<void> {
    const names = await fs.promises.readdir(this.dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const visibleAt = wallNow();
    // The store writes `.shardline-<uuid>.tmp` and renames it: only the renamed object counts.
    const fresh = names.filter((name) => path.basename(name).startsWith(`${LATENCY_STREAM}-`) && !this.seen.has(name));
    for (const name of fresh) {
      this.seen.add(name);
      this.take(await fs.promises.readFile(path.join(this.dir, name), 'utf8'), visibleAt);
    }
  }

  private take(body: string, visibleAt: number): void {
    let oldest = Infinity;
    for (const line of body.split('\n')) {
      if (line === '') continue;
      const { id, sentAt } = JSON.parse(line) as { id: number; sentAt: number };
      oldest = Math.min(oldest, sentAt);
      if (id < this.warmup) continue;
      this.perRecord.recordValue(Math.max(1, Math.round((visibleAt - sentAt) * 1000)));
      this.measured++;
    }
    this.objects++;
    this.lastLatencyUs = (visibleAt - oldest) * 1000;
    this.perObject.recordValue(Math.max(1, Math.round(this.lastLatencyUs)));
  }
}

/** Polls until `stop` is set; a failure is kept for the caller rather than left unhandled. */
function watchLoop(watch: VisibilityWatch, stop: { stopped: boolean }): Promise<void> {
  return (async () => {
    while (!stop.stopped) {
      await watch.poll();
      await sleep(VISIBLE_POLL_MS);
    }
  })();
}

/** Open loop: puts are not awaited before the next, so a slow put does not slow the offered rate. */
async function offer(registry: DeliveryRegistry, total: number, watch: VisibilityWatch, progress: Progress): Promise<void> {
  const random = seededRandom(20);
  const dictionary = vocabulary(random);
  const puts: Promise<unknown>[] = [];
  const started = performance.now();
  for (let sent = 0; sent < total; await sleep(TICK_MS)) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * config.latencyRate));
    for (; sent < due; sent = Math.min(due, sent + RECORDS_PER_PUT)) {
      const sentAt = wallNow();
      const records = Array.from({ length: Math.min(due, sent + RECORDS_PER_PUT) - sent }, (_, i) => ({
        Data: jsonRecord(sent + i, random, dictionary, { sentAt }),
      }));
      puts.push(registry.putRecordBatch(LATENCY_STREAM, records));
    }
    progress.tick(watch.measured, watch.measured * RECORD_BYTES, watch.lastLatencyUs);
  }
  const answers = (await Promise.all(puts)) as Record<string, unknown>[];
  const failed = answers.reduce((sum, answer) => sum + Number(answer['FailedPutCount']), 0);
  if (failed > 0) throw new Error(`${failed} records of the paced producer failed`);
}

async function drained(watch: VisibilityWatch, expected: number, progress: Progress): Promise<number> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (watch.measured < expected && performance.now() < deadline) {
    progress.tick(watch.measured, watch.measured * RECORD_BYTES, watch.lastLatencyUs);
    await sleep(STATUS_POLL_MS);
  }
  return expected - watch.measured;
}

async function latencyRun(engine: Engine, registry: DeliveryRegistry): Promise<LatencyFigures> {
  await registry.create(deliveryRequest(LATENCY_STREAM, 'UNCOMPRESSED', LATENCY_BUFFERING));
  const warmup = Math.round(config.latencyRate * LATENCY_WARMUP_SECONDS);
  const total = warmup + Math.round(config.latencyRate * config.latencySeconds);
  const watch = new VisibilityWatch(path.join(engine.dataDir, 's3', BUCKET), warmup);
  const label = `put -> object visible at ${config.latencyRate} records/s, IntervalInSeconds ${LATENCY_BUFFERING.IntervalInSeconds}`;
  const progress = new Progress(label);
  const stop = { stopped: false };
  const watching = watchLoop(watch, stop);
  let missing: number;
  try {
    await offer(registry, total, watch, progress);
    missing = await drained(watch, total - warmup, progress);
  } finally {
    stop.stopped = true;
    await watching;
  }
  const figures: LatencyFigures = {
    ratePerSec: config.latencyRate,
    intervalSeconds: LATENCY_BUFFERING.IntervalInSeconds,
    pollMs: VISIBLE_POLL_MS,
    objects: watch.objects,
    missing,
    putToVisible: summarizeHistogram(watch.perRecord),
    oldestRecordAtVisible: summarizeHistogram(watch.perObject),
  };
  const shortfall = missing > 0 ? ` (${missing} records not visible in time)` : '';
  console.log(`${formatLatency(label, figures.putToVisible)}${shortfall}`);
  console.log(formatLatency(`  oldest record of each object (${figures.objects} objects)`, figures.oldestRecordAtVisible));
  return figures;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-delivery-bench-'));
  try {
    const env = environment(root);
    const { rootDir: _rootDir, jsonPath: _jsonPath, ...shownConfig } = config;
    echoEnvironment('bench:delivery', { ...env, ...shownConfig, recordBytes: RECORD_BYTES });
    const throughput = await throughputPhase(root, recordPool());
    const latency = await withEngine(root, 'latency', null, latencyRun);
    finish(
      { bench: 'delivery', mbBytes: MB, config: { ...shownConfig, recordBytes: RECORD_BYTES }, environment: env, throughput, latency },
      config.jsonPath,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
