/**
 * The triggers' figures (issue 18), on an embedded Engine in this process (fsync "never", limits
 * off, as the other embedded benchmarks), with every handler and the producer in this process too:
 * - throughput: a stream of SHARDS shards is filled with RECORDS records of RECORD_BYTES, then an
 *   event source mapping from TRIM_HORIZON to a no-op function is timed from its creation until
 *   the checkpoints of its group (`trigger-<uuid>`) cover every record: records/s of a module
 *   handler (an ES module's export on piscina threads) and of an HTTP handler (a node:http server
 *   here answering 200 {}), at BatchSize 100 and 1,000.
 * - latency: put -> handler, p50/p99, at 1,000 and 10,000 records/s offered (every TICK_MS the
 *   records due go in one putRecords, each stamped with the time that put was issued), BatchSize
 *   100, MaximumBatchingWindowInSeconds 0, an embedded JavaScript handler taking its clock minus
 *   the stamp for each record; for the stream ARN as the source (polling, 1 s after an empty read)
 *   and for an enhanced fan-out consumer ARN (push; a consumer registered for each run), after a
 *   warm-up of LATENCY_WARMUP_SECONDS. A source the runtime refuses is reported as not measured.
 * Usage: npm run bench:triggers [-- --json <file>]. Environment: RECORDS (100000), SHARDS (4),
 * RECORD_BYTES (100, at least 16: the stamp), LATENCY_SECONDS (10, per rate and source),
 * BENCH_DIR (os.tmpdir()). Last line: one JSON object.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Engine,
  EngineLeaseStore,
  decodeSequenceNumber,
  type PutRecordsRequestEntry,
  type ShardPosition,
  type TriggerHandler,
  TriggerRegistry,
} from '../src/index.js';
import {
  MB,
  Progress,
  echoEnvironment,
  envNumber,
  environment,
  finish,
  formatLatency,
  jsonPathArg,
  latencyHistogram,
  patternBytes,
  round1,
  summarizeHistogram,
  type LatencySummary,
} from './bench_common.js';

const config = {
  records: Math.round(envNumber('RECORDS', 100_000, 1000, 10_000_000)),
  shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 100, 16, 1_000_000)),
  latencySeconds: envNumber('LATENCY_SECONDS', 10, 0.5, 3600),
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const BATCH_SIZES = [100, 1000];
const LATENCY_RATES = [1000, 10_000];
const LATENCY_BATCH_SIZE = 100;
const LATENCY_WARMUP_SECONDS = 1;
/** A timer cannot wait less than 1 ms; 5 ms keeps puts small (50 records at 10,000/s) without spinning a core. */
const TICK_MS = 5;
const RECORDS_PER_PUT = 500;
const HANDLED_POLL_MS = 20;
const HANDLED_TIMEOUT_MS = 600_000;
const DRAIN_TIMEOUT_MS = 30_000;
const FILL_STREAM = 'fill';
const LATENCY_STREAM = 'latency';
const UNSUPPORTED = 'not supported by shardline yet';

type Kind = 'module' | 'http';
type Source = 'stream' | 'consumer';

interface ThroughputFigures {
  readonly kind: Kind;
  readonly batchSize: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** For the HTTP kind: records the server was sent (more than `records` if a batch ran twice). */
  readonly handlerRecords?: number;
  readonly lastProcessingResult: string;
}

type LatencyFigures =
  | {
      readonly source: Source;
      readonly ratePerSec: number;
      readonly measured: true;
      /** Records after the warm-up the handler had not seen DRAIN_TIMEOUT_MS after the last put. */
      readonly missing: number;
      readonly lastProcessingResult: string;
      readonly endToEnd: LatencySummary;
    }
  | { readonly source: Source; readonly ratePerSec: number; readonly measured: false; readonly reason: string };

// ---------------------------------------------------------------- handlers

/** The no-op HTTP function; it counts the records it is sent so a lost batch would show. */
async function startNoopServer(): Promise<{ url: string; received: { count: number }; stop: () => Promise<void> }> {
  const received = { count: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.count += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Records: unknown[] }).Records.length;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // fetch keeps its connection alive: close() alone would wait for its idle timeout.
        server.closeAllConnections();
      }),
  };
}

function writeNoopModule(root: string): string {
  const file = path.join(root, 'noop_handler.mjs');
  fs.writeFileSync(file, 'export const handler = async () => ({});\n');
  return `${file}#handler`;
}

/** Records of one latency run: its phase number in the data keeps a previous run's stragglers out. */
class LatencyCollector {
  readonly histogram = latencyHistogram();
  received = 0;
  measured = 0;
  lastLatencyUs = 0;

  constructor(
    readonly phase: number,
    private readonly warmup: number,
  ) {}

  take(data: Buffer, nowMs: number): void {
    if (data.readUInt32LE(12) !== this.phase) return;
    this.received++;
    this.lastLatencyUs = (nowMs - data.readDoubleLE(0)) * 1000;
    if (data.readUInt32LE(8) < this.warmup) return;
    this.histogram.recordValue(Math.max(1, Math.round(this.lastLatencyUs)));
    this.measured++;
  }
}

function stampReader(collecting: { current: LatencyCollector | null }): TriggerHandler {
  return (event) => {
    for (const record of event.Records)
      collecting.current?.take(Buffer.from(record.kinesis.data, 'base64'), performance.timeOrigin + performance.now());
    return {};
  };
}

// ---------------------------------------------------------------- throughput

async function fill(engine: Engine): Promise<Map<string, ShardPosition>> {
  await engine.createStream({ StreamName: FILL_STREAM, ShardCount: config.shards });
  const data = patternBytes(config.recordBytes);
  for (let at = 0; at < config.records; at += RECORDS_PER_PUT) {
    const records = Array.from({ length: Math.min(RECORDS_PER_PUT, config.records - at) }, (_, i) => ({
      PartitionKey: `k${at + i}`,
      Data: data,
    }));
    const result = await engine.putRecords({ StreamName: FILL_STREAM, Records: records });
    if (result.FailedRecordCount > 0) throw new Error(`${result.FailedRecordCount} records of the fill failed`);
  }
  const { Shards } = await engine.describeShardPositions({ StreamName: FILL_STREAM });
  return new Map(Shards.map((shard) => [shard.ShardId, shard]));
}

/** Offsets are consecutive within a shard, so a checkpoint tells how many of its records are done. */
function handledOf(checkpoint: string, shard: ShardPosition): number {
  if (checkpoint === 'SHARD_END') return shard.RecordCount;
  if (!/^\d+$/.test(checkpoint) || shard.OldestSequenceNumber === undefined) return 0;
  return decodeSequenceNumber(checkpoint).offset - decodeSequenceNumber(shard.OldestSequenceNumber).offset + 1;
}

async function handledRecords(leases: EngineLeaseStore, shards: ReadonlyMap<string, ShardPosition>): Promise<number> {
  let handled = 0;
  for (const lease of await leases.list()) {
    const shard = shards.get(lease.leaseKey);
    if (shard !== undefined) handled += handledOf(lease.checkpoint, shard);
  }
  return handled;
}

async function throughputRun(
  engine: Engine,
  shards: ReadonlyMap<string, ShardPosition>,
  kind: Kind,
  batchSize: number,
  server: { received: { count: number } },
): Promise<ThroughputFigures> {
  const registry = TriggerRegistry.of(engine);
  const label = `${kind} handler, BatchSize ${batchSize}`;
  const progress = new Progress(label);
  const receivedBefore = server.received.count;
  const started = performance.now();
  const { UUID } = await registry.create({
    EventSourceArn: streamArn(engine, FILL_STREAM),
    FunctionName: `noop-${kind}`,
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: batchSize,
    MaximumBatchingWindowInSeconds: 0,
  });
  const leases = new EngineLeaseStore(engine, `trigger-${UUID}`, FILL_STREAM);
  for (let handled = 0; handled < config.records; handled = await handledRecords(leases, shards)) {
    if (performance.now() - started > HANDLED_TIMEOUT_MS)
      throw new Error(`${label}: ${handled} of ${config.records} records handled in time (${registry.get(UUID).LastProcessingResult})`);
    progress.tick(handled, handled * config.recordBytes);
    await sleep(HANDLED_POLL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const { LastProcessingResult } = registry.get(UUID);
  await registry.delete(UUID);
  const figures: ThroughputFigures = {
    kind,
    batchSize,
    records: config.records,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSec: Math.round(config.records / seconds),
    ...(kind === 'http' ? { handlerRecords: server.received.count - receivedBefore } : {}),
    lastProcessingResult: LastProcessingResult,
  };
  console.log(`${label}: ${figures.recordsPerSec} records/s (${round1(seconds)} s, ${LastProcessingResult})`);
  return figures;
}

// ---------------------------------------------------------------- latency

function streamArn(engine: Engine, streamName: string): string {
  return engine.describeStreamSummary({ StreamName: streamName }).StreamDescriptionSummary.StreamARN as string;
}

/** One putRecords of the records [from, to), stamped just before it is issued. */
async function putStamped(engine: Engine, phase: number, from: number, to: number): Promise<void> {
  const records: PutRecordsRequestEntry[] = [];
  for (let index = from; index < to; index++) {
    const data = Buffer.alloc(config.recordBytes);
    data.writeUInt32LE(index, 8);
    data.writeUInt32LE(phase, 12);
    records.push({ PartitionKey: `p${index}`, Data: data });
  }
  const sentAt = performance.timeOrigin + performance.now();
  for (const record of records) (record.Data as Buffer).writeDoubleLE(sentAt, 0);
  const result = await engine.putRecords({ StreamName: LATENCY_STREAM, Records: records });
  if (result.FailedRecordCount > 0) throw new Error(`${result.FailedRecordCount} records failed`);
}

/** Open loop: puts are not awaited before the next, so a slow put does not slow the offered rate. */
async function offer(engine: Engine, collector: LatencyCollector, rate: number, total: number, progress: Progress): Promise<void> {
  const puts: Promise<void>[] = [];
  let failure: unknown = null;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due) {
      const to = Math.min(due, sent + RECORDS_PER_PUT);
      puts.push(putStamped(engine, collector.phase, sent, to).catch((error: unknown) => void (failure ??= error)));
      sent = to;
    }
    progress.tick(collector.received, collector.received * config.recordBytes, collector.lastLatencyUs);
    await sleep(TICK_MS);
  }
  await Promise.all(puts);
  if (failure !== null) throw failure;
}

async function drained(collector: LatencyCollector, expected: number, progress: Progress): Promise<number> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  while (collector.measured < expected && performance.now() < deadline) {
    progress.tick(collector.received, collector.received * config.recordBytes, collector.lastLatencyUs);
    await sleep(10);
  }
  return expected - collector.measured;
}

async function latencyRun(
  engine: Engine,
  collecting: { current: LatencyCollector | null },
  source: { kind: Source; arn: string },
  rate: number,
  phase: number,
): Promise<LatencyFigures> {
  const registry = TriggerRegistry.of(engine);
  const label = `put -> handler at ${rate} records/s, ${source.kind} ARN`;
  let UUID: string;
  try {
    ({ UUID } = await registry.create({
      EventSourceArn: source.arn,
      FunctionName: 'stamp-reader',
      StartingPosition: 'LATEST',
      BatchSize: LATENCY_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: 0,
    }));
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes(UNSUPPORTED)) throw error;
    console.log(`${label}: not measured (${error.message})`);
    return { source: source.kind, ratePerSec: rate, measured: false, reason: error.message };
  }
  const warmup = Math.round(rate * LATENCY_WARMUP_SECONDS);
  const total = warmup + Math.round(rate * config.latencySeconds);
  const collector = new LatencyCollector(phase, warmup);
  collecting.current = collector;
  const progress = new Progress(label);
  try {
    await offer(engine, collector, rate, total, progress);
    const missing = await drained(collector, total - warmup, progress);
    const endToEnd = summarizeHistogram(collector.histogram);
    const { LastProcessingResult } = registry.get(UUID);
    const shortfall = missing > 0 ? ` (${missing} records not handled in time, ${LastProcessingResult})` : '';
    console.log(`${formatLatency(label, endToEnd)}${shortfall}`);
    return { source: source.kind, ratePerSec: rate, measured: true, missing, lastProcessingResult: LastProcessingResult, endToEnd };
  } finally {
    collecting.current = null;
    await registry.delete(UUID);
  }
}

/**
 * A consumer of its own for every consumer-ARN run: a mapping made on a consumer whose previous
 * mapping was just deleted handled nothing in a smoke run (the trigger runtime was being built then).
 */
async function sourceArn(engine: Engine, kind: Source, phase: number): Promise<string> {
  const StreamARN = streamArn(engine, LATENCY_STREAM);
  if (kind === 'stream') return StreamARN;
  const { Consumer } = await engine.registerStreamConsumer({ StreamARN, ConsumerName: `triggers-bench-${phase}` });
  return Consumer.ConsumerARN;
}

async function latencyPhase(engine: Engine): Promise<LatencyFigures[]> {
  await engine.createStream({ StreamName: LATENCY_STREAM, ShardCount: config.shards });
  const collecting: { current: LatencyCollector | null } = { current: null };
  await TriggerRegistry.of(engine).registerFunction('stamp-reader', { handler: stampReader(collecting) });
  const figures: LatencyFigures[] = [];
  for (const kind of ['stream', 'consumer'] as const)
    for (const rate of LATENCY_RATES) {
      const phase = figures.length;
      figures.push(await latencyRun(engine, collecting, { kind, arn: await sourceArn(engine, kind, phase) }, rate, phase));
    }
  return figures;
}

// ---------------------------------------------------------------- main

async function throughputPhase(engine: Engine, root: string): Promise<ThroughputFigures[]> {
  const server = await startNoopServer();
  try {
    const registry = TriggerRegistry.of(engine);
    await registry.registerFunction('noop-module', { handler: writeNoopModule(root) });
    await registry.registerFunction('noop-http', { handler: server.url });
    const shards = await fill(engine);
    const figures: ThroughputFigures[] = [];
    for (const kind of ['module', 'http'] as const)
      for (const batchSize of BATCH_SIZES) figures.push(await throughputRun(engine, shards, kind, batchSize, server));
    return figures;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-triggers-bench-'));
  const env = { ...environment(root), workers: Math.max(1, os.availableParallelism() - 1) };
  const { rootDir: _rootDir, ...shownConfig } = config;
  echoEnvironment('bench:triggers', { ...env, ...shownConfig });
  console.log(
    `  latency: BatchSize ${LATENCY_BATCH_SIZE}, a putRecords every ${TICK_MS} ms, ${config.latencySeconds} s after ${LATENCY_WARMUP_SECONDS} s warm-up`,
  );
  const engine = await Engine.open({ dataDir: path.join(root, 'data'), fsync: 'never', enforceLimits: false });
  try {
    const throughput = await throughputPhase(engine, root);
    const latency = await latencyPhase(engine);
    finish({ bench: 'triggers', mbBytes: MB, config: shownConfig, environment: env, throughput, latency }, config.jsonPath);
  } finally {
    await TriggerRegistry.of(engine).stopAll();
    await engine.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
