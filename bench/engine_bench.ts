/**
 * Engine benchmark (embedded API, worker-thread shards, real files), in one run:
 *   1. putRecords throughput, 100 B and 1 KiB records, 500 per request, across 1, 4 and 16
 *      shards, limits off, fsync "never" (and 100 B on 4 shards under "always");
 *   2. a PROVISIONED stream offered twice its write limits: the accepted rate per shard against
 *      1,000 records/s (100 B records) and 1 MiB/s (8 KiB records), measured after the one-second
 *      burst allowance is spent; every accepted record is read back (none lost);
 *   3. put -> subscriber latency at 10,000 records/s, open loop (each record's latency runs from
 *      its intended send time, so a stall counts), fsync "never" and "always", and the floor
 *      under it: a worker-thread round trip at the same rate and pacing;
 *   4. the metrics' cost on the put path: 100 B on 4 shards with them off, on (the Prometheus
 *      exporter observing), and with enhanced monitoring, in turns.
 *
 * Usage: npm run bench:engine [-- --json <file>]
 * Environment: BENCH_SECONDS (3, per throughput phase), LIMIT_SECONDS (10), LATENCY_SECONDS (10),
 * LATENCY_RATE (10000), WINDOW (32 requests in flight), BENCH_DIR (os.tmpdir()).
 *
 * Prints configuration and environment first, progress lines every 2 s, and one JSON object
 * with every figure as the last line of stdout. MB = 10^6 bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Engine, type FsyncPolicy, type PutRecordsRequestEntry } from '../src/index.js';
import { initialHashKeyRanges } from '../src/streams/hash_key.js';
import { PrometheusExporter } from '../src/metrics/prometheus.js';
import {
  KIB,
  MB,
  MIB,
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
  yieldToLoop,
  type LatencySummary,
} from './bench_common.js';
import { phaseCpu, threadCpuSeconds } from './thread_cpu.js';

const RECORDS_PER_PUT = 500;
/** Distinct partition keys the throughput producers cycle through. */
const PARTITION_KEYS = 10_000;
const WARMUP_SECONDS = 0.5;
const LIMIT_SHARDS = 2;
/** Offered load in the limit phases, as a multiple of the limit. */
const LIMIT_OVERLOAD = 2;
/** The burst allowance is one second of the rate: spent before measuring starts. */
const LIMIT_WARMUP_SECONDS = 2;
const LIMIT_TICK_MS = 10;
const LATENCY_WARMUP_SECONDS = 1;
const STREAM = 'bench';
/** Rounds of the metrics phase: each of off, on and enhanced runs this often, in turn. */
const METRICS_ROUNDS = 3;

interface Config {
  readonly seconds: number;
  readonly limitSeconds: number;
  readonly latencySeconds: number;
  readonly latencyRate: number;
  readonly window: number;
  readonly rootDir: string;
  readonly jsonPath: string | null;
}

function readConfig(): Config {
  return {
    seconds: envNumber('BENCH_SECONDS', 3, 0.1, 3600),
    limitSeconds: envNumber('LIMIT_SECONDS', 10, 1, 3600),
    latencySeconds: envNumber('LATENCY_SECONDS', 10, 0.5, 3600),
    latencyRate: envNumber('LATENCY_RATE', 10_000, 1, 1_000_000),
    window: Math.round(envNumber('WINDOW', 32, 1, 10_000)),
    rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
    jsonPath: jsonPathArg(process.argv.slice(2)),
  };
}

async function withEngine<T>(
  root: string,
  name: string,
  options: { fsync: FsyncPolicy; enforceLimits: boolean; metrics?: boolean; workers?: number },
  run: (engine: Engine) => Promise<T>,
): Promise<T> {
  const dataDir = path.join(root, name);
  const engine = await Engine.open({ dataDir, ...options });
  try {
    return await run(engine);
  } finally {
    await engine.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- throughput

interface ThroughputFigures {
  readonly shards: number;
  readonly recordBytes: number;
  readonly fsync: FsyncPolicy;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** Record data only (no keys). */
  readonly dataMBps: number;
  readonly putLatency: LatencySummary;
}

function putRequests(recordBytes: number): PutRecordsRequestEntry[][] {
  const data = patternBytes(recordBytes);
  const requests = PARTITION_KEYS / RECORDS_PER_PUT;
  return Array.from({ length: requests }, (_, r) =>
    Array.from({ length: RECORDS_PER_PUT }, (_, i) => ({ PartitionKey: `pk-${r * RECORDS_PER_PUT + i}`, Data: data })),
  );
}

/** Keeps `window` putRecords in flight for `seconds`, cycling through the requests. */
async function putFor(
  engine: Engine,
  requests: PutRecordsRequestEntry[][],
  window: number,
  seconds: number,
  label: string | null,
): Promise<{ records: number; seconds: number; latency: LatencySummary }> {
  const histogram = latencyHistogram();
  const progress = label === null ? null : new Progress(label);
  const recordBytes = requests[0]![0]!.Data.length;
  let records = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const producer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      const result = await engine.putRecords({ StreamName: STREAM, Records: requests[next++ % requests.length]! });
      if (result.FailedRecordCount > 0)
        throw new Error(`${result.FailedRecordCount} records failed: ${JSON.stringify(result.Records.find((r) => 'ErrorCode' in r))}`);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
      records += RECORDS_PER_PUT;
      progress?.tick(records, records * recordBytes);
    }
  };
  await Promise.all(Array.from({ length: window }, producer));
  const elapsed = (performance.now() - start) / 1000;
  return { records, seconds: elapsed, latency: summarizeHistogram(histogram) };
}

async function throughputPhase(
  root: string,
  shards: number,
  recordBytes: number,
  fsync: FsyncPolicy,
  config: Config,
): Promise<ThroughputFigures> {
  const label = `put ${recordBytes} B x ${shards} shards, fsync ${String(fsync)}`;
  return withEngine(root, `put-${shards}-${recordBytes}-${String(fsync)}`, { fsync, enforceLimits: false }, async (engine) => {
    await engine.createStream({ StreamName: STREAM, ShardCount: shards });
    const requests = putRequests(recordBytes);
    await putFor(engine, requests, config.window, WARMUP_SECONDS, null);
    const run = await putFor(engine, requests, config.window, config.seconds, label);
    const figures = {
      shards,
      recordBytes,
      fsync,
      records: run.records,
      seconds: round1(run.seconds),
      recordsPerSec: Math.round(run.records / run.seconds),
      dataMBps: round1((run.records * recordBytes) / MB / run.seconds),
      putLatency: run.latency,
    };
    console.log(
      `${label}: ${figures.recordsPerSec} records/s, ${figures.dataMBps} MB/s; ${formatLatency('putRecords latency', run.latency)}`,
    );
    return figures;
  });
}

// ---------------------------------------------------------------- metrics

interface MetricsCostFigures {
  readonly recordBytes: number;
  readonly shards: number;
  /** Engines opened with `metrics: false`: nothing counted, no observer. */
  readonly offRecordsPerSec: number;
  /** Counted, with the Prometheus exporter observing every call (as `serve` runs). */
  readonly onRecordsPerSec: number;
  /** As on, and enhanced monitoring ALL: every shard's meters too. */
  readonly enhancedRecordsPerSec: number;
  /** on / off and enhanced / off: 1 is free. */
  readonly onRatio: number;
  readonly enhancedRatio: number;
}

type MetricsMode = 'off' | 'on' | 'enhanced';

/**
 * The put path's cost of the metrics: 100 B on 4 shards, fsync never, with them off, on and
 * with enhanced monitoring, each measured METRICS_ROUNDS times in turn (so drift on a shared
 * machine falls on all three alike), the best round of each kept.
 */
async function metricsCostPhase(root: string, config: Config): Promise<MetricsCostFigures> {
  const best: Record<MetricsMode, number> = { off: 0, on: 0, enhanced: 0 };
  for (let round = 0; round < METRICS_ROUNDS; round++)
    for (const mode of ['off', 'on', 'enhanced'] as const) best[mode] = Math.max(best[mode], await metricsRound(root, mode, config));
  const figures = {
    recordBytes: 100,
    shards: 4,
    offRecordsPerSec: best.off,
    onRecordsPerSec: best.on,
    enhancedRecordsPerSec: best.enhanced,
    onRatio: Math.round((best.on / best.off) * 1000) / 1000,
    enhancedRatio: Math.round((best.enhanced / best.off) * 1000) / 1000,
  };
  console.log(
    `metrics on the put path (100 B x 4 shards, fsync never, best of ${METRICS_ROUNDS}): off ${best.off} records/s, on ${best.on} (${figures.onRatio}x), enhanced ${best.enhanced} (${figures.enhancedRatio}x)`,
  );
  return figures;
}

async function metricsRound(root: string, mode: MetricsMode, config: Config): Promise<number> {
  const options = { fsync: 'never' as const, enforceLimits: false, metrics: mode !== 'off' };
  return withEngine(root, `metrics-${mode}`, options, async (engine) => {
    const exporter = mode === 'off' ? null : PrometheusExporter.create(engine);
    try {
      await engine.createStream({ StreamName: STREAM, ShardCount: 4 });
      if (mode === 'enhanced') await engine.enableEnhancedMonitoring({ StreamName: STREAM, ShardLevelMetrics: ['ALL'] });
      const requests = putRequests(100);
      await putFor(engine, requests, config.window, WARMUP_SECONDS, null);
      const run = await putFor(engine, requests, config.window, config.seconds, `put 100 B x 4 shards, metrics ${mode}`);
      // A scrape at the end, so that what was counted is also what an exporter would show.
      if (exporter !== null && !(await exporter.text()).includes('shardline_incoming_records_total'))
        throw new Error('no metrics exported');
      return Math.round(run.records / run.seconds);
    } finally {
      exporter?.close();
    }
  });
}

// ---------------------------------------------------------------- limits

interface LimitFigures {
  readonly recordBytes: number;
  readonly shards: number;
  readonly offeredRecordsPerSecPerShard: number;
  readonly acceptedRecordsPerSecPerShard: number[];
  /** Partition key and data, as Kinesis counts the 1 MiB/s. */
  readonly acceptedBytesPerSecPerShard: number[];
  readonly limit: 'records' | 'bytes';
  /** Accepted rate / limit, per shard. */
  readonly ratioToLimit: number[];
  readonly throttled: number;
  readonly acceptedTotal: number;
  readonly readBack: number;
}

/**
 * Offers each shard LIMIT_OVERLOAD times its limit (ExplicitHashKey pins records to shards), in
 * one put per shard every LIMIT_TICK_MS, and counts what it accepts once the burst is spent.
 */
async function limitPhase(root: string, recordBytes: number, limit: 'records' | 'bytes', config: Config): Promise<LimitFigures> {
  return withEngine(root, `limit-${recordBytes}`, { fsync: 'never', enforceLimits: true }, async (engine) => {
    await engine.createStream({ StreamName: STREAM, ShardCount: LIMIT_SHARDS });
    const key = 'k';
    const payloadBytes = recordBytes + key.length;
    const limitRecordsPerSec = limit === 'records' ? 1000 : MIB / payloadBytes;
    const offered = limitRecordsPerSec * LIMIT_OVERLOAD;
    const data = patternBytes(recordBytes);
    const hashKeys = initialHashKeyRanges(LIMIT_SHARDS).map((range) => range.startingHashKey.toString());
    const accepted = new Array<number>(LIMIT_SHARDS).fill(0);
    let acceptedTotal = 0;
    let throttled = 0;
    const progress = new Progress(`PROVISIONED, ${recordBytes} B records offered at ${Math.round(offered)}/s per shard`);
    const start = performance.now();
    const measureFrom = start + LIMIT_WARMUP_SECONDS * 1000;
    const end = measureFrom + config.limitSeconds * 1000;
    let due = 0;
    for (let now = start; now < end; now = performance.now()) {
      const target = Math.floor(((now - start) / 1000) * offered);
      const count = target - due;
      due = target;
      const measuring = now >= measureFrom;
      if (count > 0) {
        await Promise.all(
          hashKeys.map(async (hashKey, shard) => {
            for (let sent = 0; sent < count; sent += RECORDS_PER_PUT) {
              const records = Array.from({ length: Math.min(RECORDS_PER_PUT, count - sent) }, () => ({
                PartitionKey: key,
                Data: data,
                ExplicitHashKey: hashKey,
              }));
              const result = await engine.putRecords({ StreamName: STREAM, Records: records });
              const ok = records.length - result.FailedRecordCount;
              acceptedTotal += ok;
              throttled += result.Records.filter(
                (r) => 'ErrorCode' in r && r.ErrorCode === 'ProvisionedThroughputExceededException',
              ).length;
              if (measuring) accepted[shard] = accepted[shard]! + ok;
            }
          }),
        );
      }
      if (measuring)
        progress.tick(
          accepted.reduce((a, b) => a + b, 0),
          accepted.reduce((a, b) => a + b, 0) * payloadBytes,
        );
      await new Promise((resolve) => setTimeout(resolve, LIMIT_TICK_MS));
    }
    const seconds = (performance.now() - measureFrom) / 1000;
    const readBack = await countRecords(engine);
    const perSec = accepted.map((n) => n / seconds);
    const figures: LimitFigures = {
      recordBytes,
      shards: LIMIT_SHARDS,
      offeredRecordsPerSecPerShard: Math.round(offered),
      acceptedRecordsPerSecPerShard: perSec.map(round1),
      acceptedBytesPerSecPerShard: perSec.map((r) => Math.round(r * payloadBytes)),
      limit,
      ratioToLimit: perSec.map((r) => Math.round((limit === 'records' ? r / 1000 : (r * payloadBytes) / MIB) * 1000) / 1000),
      throttled,
      acceptedTotal,
      readBack,
    };
    console.log(
      `PROVISIONED ${recordBytes} B: accepted ${figures.acceptedRecordsPerSecPerShard.join(', ')} records/s per shard (${figures.acceptedBytesPerSecPerShard.join(', ')} B/s), ratio to the ${limit} limit ${figures.ratioToLimit.join(', ')}; ${throttled} throttled; ${readBack} of ${acceptedTotal} accepted read back`,
    );
    return figures;
  });
}

/** Every record of the stream, read back with GetRecords from TRIM_HORIZON. */
async function countRecords(engine: Engine): Promise<number> {
  let total = 0;
  for (const shard of engine.listShards({ StreamName: STREAM }).Shards) {
    let { ShardIterator } = await engine.getShardIterator({
      StreamName: STREAM,
      ShardId: shard.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    for (let calls = 0; calls < 100_000; calls++) {
      // GetRecords is limited to 5 calls/s and 2 MiB/s per shard on a PROVISIONED stream.
      await new Promise((resolve) => setTimeout(resolve, 210));
      let result;
      try {
        result = await engine.getRecords({ ShardIterator });
      } catch (error) {
        if ((error as { code?: string }).code === 'ProvisionedThroughputExceededException') continue;
        throw error;
      }
      total += result.Records.length;
      if (result.Records.length === 0 || result.NextShardIterator === undefined) break;
      ShardIterator = result.NextShardIterator;
    }
  }
  return total;
}

// ---------------------------------------------------------------- latency

interface LatencyFigures {
  readonly fsync: FsyncPolicy;
  readonly ratePerSec: number;
  readonly records: number;
  readonly endToEnd: LatencySummary;
}

/**
 * An open-loop producer puts `rate` records/s (after every turn of the event loop, the records
 * due by then, each stamped with its intended send time); a registered consumer's subscription measures
 * receipt minus intended time. Records of the warm-up second are not counted.
 */
async function latencyPhase(root: string, fsync: FsyncPolicy, config: Config): Promise<LatencyFigures> {
  return withEngine(root, `latency-${String(fsync)}`, { fsync, enforceLimits: false }, async (engine) => {
    await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
    const streamArn = engine.describeStreamSummary({ StreamName: STREAM }).StreamDescriptionSummary.StreamARN as string;
    const { Consumer } = await engine.registerStreamConsumer({ StreamARN: streamArn, ConsumerName: 'bench' });
    const histogram = latencyHistogram();
    const rate = config.latencyRate;
    const total = Math.round(rate * (LATENCY_WARMUP_SECONDS + config.latencySeconds));
    const warmup = Math.round(rate * LATENCY_WARMUP_SECONDS);
    const label = `put -> subscriber at ${rate} records/s, fsync ${String(fsync)}`;
    const progress = new Progress(label);
    let received = 0;
    let lastLatencyUs = 0;
    const subscription = engine.subscribeToShard({
      ConsumerARN: Consumer.ConsumerARN,
      ShardId: 'shardId-000000000000',
      StartingPosition: { Type: 'TRIM_HORIZON' },
    });
    const consumed = (async () => {
      for await (const event of subscription) {
        const now = performance.now();
        for (const record of event.Records) {
          const view = new DataView(record.Data.buffer, record.Data.byteOffset, record.Data.byteLength);
          const index = view.getUint32(8, true);
          lastLatencyUs = (now - view.getFloat64(0, true)) * 1000;
          if (index >= warmup) histogram.recordValue(Math.max(1, Math.round(lastLatencyUs)));
          received++;
        }
        progress.tick(received, received * 100, lastLatencyUs);
        if (received >= total) return;
      }
    })();
    const start = performance.now();
    let sent = 0;
    const puts: Promise<unknown>[] = [];
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      if (due > sent) {
        const records = [];
        for (; sent < due; sent++) {
          const data = Buffer.alloc(100);
          data.writeDoubleLE(start + (sent * 1000) / rate, 0); // the intended send time
          data.writeUInt32LE(sent, 8);
          records.push({ PartitionKey: `p${sent % 100}`, Data: data });
        }
        for (let at = 0; at < records.length; at += RECORDS_PER_PUT)
          puts.push(engine.putRecords({ StreamName: STREAM, Records: records.slice(at, at + RECORDS_PER_PUT) }));
      }
      // setImmediate, not a timer: a timer's 1 ms+ granularity would add up to a tick of
      // latency to every record; this checks again after each turn of the event loop.
      await yieldToLoop();
    }
    await Promise.all(puts);
    await consumed;
    const figures = { fsync, ratePerSec: rate, records: histogram.totalCount, endToEnd: summarizeHistogram(histogram) };
    console.log(formatLatency(label, figures.endToEnd));
    return figures;
  });
}

/**
 * The floor under the latency above: a message to a worker thread and back (postMessage both
 * ways), at the same rate and with the same pacing. A put reaches a subscriber through two such
 * hops (to the shard's worker, and its commit back through the shared committed position).
 */
async function threadFloorPhase(config: Config): Promise<LatencySummary> {
  const worker = new Worker(
    "require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));",
    { eval: true },
  );
  const histogram = latencyHistogram();
  const rate = config.latencyRate;
  const total = Math.round(rate * (LATENCY_WARMUP_SECONDS + config.latencySeconds));
  const warmup = Math.round(rate * LATENCY_WARMUP_SECONDS);
  let received = 0;
  worker.on('message', (message: { intended: number; index: number }[]) => {
    const now = performance.now();
    for (const { intended, index } of message) {
      if (index >= warmup) histogram.recordValue(Math.max(1, Math.round((now - intended) * 1000)));
      received++;
    }
  });
  const start = performance.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    const batch = [];
    for (; sent < due; sent++) batch.push({ intended: start + (sent * 1000) / rate, index: sent });
    if (batch.length > 0) worker.postMessage(batch);
    await yieldToLoop();
  }
  while (received < total) await new Promise((resolve) => setTimeout(resolve, 10));
  await worker.terminate();
  const floor = summarizeHistogram(histogram);
  console.log(formatLatency(`worker-thread round trip floor at ${rate} messages/s`, floor));
  return floor;
}

// ---------------------------------------------------------------- cost model

interface CostRun {
  readonly workers: number;
  readonly recordsPerSec: number;
  /** The I/O (main) thread's CPU per record and per putRecords of RECORDS_PER_PUT, in us. */
  readonly ioUsPerRecord: number;
  readonly ioUsPerBatch: number;
  /** Each shard worker's CPU per record (of all records), in us, busiest first. */
  readonly workerUsPerRecord: readonly number[];
  /** GC and libuv helpers' CPU per record, in us. */
  readonly otherUsPerRecord: number;
}

interface CostModel {
  readonly runs: readonly CostRun[];
  /** From the 1-worker run: the predicted records/s on N cores (N - 1 workers), and for the 2-worker run beside its measure. */
  readonly predictedRecordsPerSec: Readonly<Record<string, number>>;
  readonly predictedTwoWorkers: number;
  readonly measuredTwoWorkers: number;
}

/**
 * The put path's cost per thread (100 B, 4 shards, fsync never), measured with 1 and 2 shard
 * workers. The model: a record costs the I/O thread c_io, the workers c_w together, the helpers
 * c_h; the I/O thread is one thread, each worker one more, and all share the cores, so on N
 * cores with W workers: min(1 / c_io, min(W, N) / c_w, N / (c_io + c_w + c_h)) records/s.
 */
async function costModelPhase(root: string, config: Config): Promise<CostModel> {
  const runs: CostRun[] = [];
  for (const workers of [1, 2]) runs.push(await costRun(root, workers, config));
  const [one, two] = runs as [CostRun, CostRun];
  const predict = (cores: number, workers: number): number => {
    const worker = one.workerUsPerRecord.reduce((sum, us) => sum + us, 0);
    const bounds = [1 / one.ioUsPerRecord, Math.min(workers, cores) / worker, cores / (one.ioUsPerRecord + worker + one.otherUsPerRecord)];
    return Math.round(Math.min(...bounds) * 1e6);
  };
  const predictedRecordsPerSec = Object.fromEntries([2, 4, 8, 16].map((cores) => [`${cores} cores`, predict(cores, cores - 1)]));
  const cores = os.availableParallelism();
  const model = { runs, predictedRecordsPerSec, predictedTwoWorkers: predict(cores, 2), measuredTwoWorkers: two.recordsPerSec };
  console.log(
    `cost model (from 1 worker): ${Object.entries(predictedRecordsPerSec)
      .map(([n, rate]) => `${n} ${rate}`)
      .join(
        ', ',
      )} records/s predicted; 2 workers on this machine's ${cores} cores: predicted ${model.predictedTwoWorkers}, measured ${model.measuredTwoWorkers}`,
  );
  return model;
}

async function costRun(root: string, workers: number, config: Config): Promise<CostRun> {
  return withEngine(root, `cost-${workers}`, { fsync: 'never', enforceLimits: false, workers }, async (engine) => {
    await engine.createStream({ StreamName: STREAM, ShardCount: 4 });
    const requests = putRequests(100);
    await putFor(engine, requests, config.window, WARMUP_SECONDS, null);
    const before = threadCpuSeconds();
    const run = await putFor(engine, requests, config.window, config.seconds, `cost model, ${workers} worker(s)`);
    const cpu = phaseCpu(before, threadCpuSeconds(), workers);
    const perRecord = (seconds: number): number => Math.round((seconds * 1e9) / run.records) / 1000;
    const figures: CostRun = {
      workers,
      recordsPerSec: Math.round(run.records / run.seconds),
      ioUsPerRecord: perRecord(cpu.main),
      ioUsPerBatch: round1((cpu.main * 1e6) / (run.records / RECORDS_PER_PUT)),
      workerUsPerRecord: cpu.workers.map(perRecord),
      otherUsPerRecord: perRecord(cpu.other),
    };
    console.log(
      `cost, ${workers} worker(s): ${figures.recordsPerSec} records/s; I/O thread ${figures.ioUsPerRecord} us/record (${figures.ioUsPerBatch} us a putRecords of ${RECORDS_PER_PUT}), workers ${figures.workerUsPerRecord.join(' + ')} us/record, helpers ${figures.otherUsPerRecord} us/record`,
    );
    return figures;
  });
}

// ---------------------------------------------------------------- main

function targetsOf(throughput: ThroughputFigures[], limits: LimitFigures[], latency: LatencyFigures[]): Record<string, boolean> {
  const small = throughput.filter((t) => t.recordBytes === 100 && t.fsync === 'never');
  const byFsync = (fsync: FsyncPolicy): LatencyFigures => latency.find((l) => l.fsync === fsync)!;
  return {
    put100BAtLeast1MRecordsPerSecEveryShardCount: small.every((t) => t.recordsPerSec >= 1_000_000),
    put100BAtLeast1MRecordsPerSecSomeShardCount: small.some((t) => t.recordsPerSec >= 1_000_000),
    provisionedAcceptedWithin5PercentOfLimit: limits.every((l) => l.ratioToLimit.every((r) => Math.abs(r - 1) <= 0.05)),
    provisionedNoAcceptedRecordLost: limits.every((l) => l.readBack === l.acceptedTotal),
    subscriberP99Under1MsFsyncNever: byFsync('never').endToEnd.p99Us < 1000,
    subscriberP99Under5MsFsyncAlways: byFsync('always').endToEnd.p99Us < 5000,
  };
}

async function main(): Promise<void> {
  const config = readConfig();
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-engine-bench-'));
  const env = { ...environment(root), workers: Math.max(1, os.availableParallelism() - 1) };
  echoEnvironment('shardline engine benchmark', env);
  console.log(
    `  throughput: ${RECORDS_PER_PUT} records per putRecords, ${config.window} in flight, ${PARTITION_KEYS} partition keys, ${config.seconds} s a phase after ${WARMUP_SECONDS} s warm-up, limits off`,
  );
  console.log(
    `  limits: ${LIMIT_SHARDS} PROVISIONED shards offered ${LIMIT_OVERLOAD}x their limit, ${config.limitSeconds} s measured after ${LIMIT_WARMUP_SECONDS} s`,
  );
  console.log(
    `  latency: ${config.latencyRate} records/s of 100 B, open loop, ${config.latencySeconds} s after ${LATENCY_WARMUP_SECONDS} s warm-up, 1 shard, one subscriber`,
  );
  try {
    const throughput: ThroughputFigures[] = [];
    for (const recordBytes of [100, KIB]) {
      for (const shards of [1, 4, 16]) throughput.push(await throughputPhase(root, shards, recordBytes, 'never', config));
    }
    throughput.push(await throughputPhase(root, 4, 100, 'always', config));
    const limits = [await limitPhase(root, 100, 'records', config), await limitPhase(root, 8 * KIB, 'bytes', config)];
    const latency = [await latencyPhase(root, 'never', config), await latencyPhase(root, 'always', config)];
    const threadFloor = await threadFloorPhase(config);
    const metricsCost = await metricsCostPhase(root, config);
    const costModel = await costModelPhase(root, config);
    const targets = targetsOf(throughput, limits, latency);
    for (const [name, met] of Object.entries(targets)) console.log(`target ${name}: ${met ? 'met' : 'MISSED'}`);
    const { rootDir: _rootDir, ...shownConfig } = config;
    finish(
      {
        bench: 'engine',
        mbBytes: MB,
        config: shownConfig,
        environment: env,
        throughput,
        limits,
        latency,
        threadFloor,
        metricsCost,
        costModel,
        targets,
      },
      config.jsonPath,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
