/**
 * The continuous queries' figures (issue 22), on an embedded Engine in this process (fsync
 * "never", limits off, one shard worker, as the other embedded benchmarks), the query on its own
 * thread as always, the producer and the reader of the output in this process:
 * - throughput: a source of SHARDS shards is filled with RECORDS JSON records
 *   `{"k":"key-1234","v":12.25,"ts":...}` (k uniform over KEYS keys and the partition key; v a
 *   multiple of 0.25 below 1000, so every SUM is exact in a double; ts increasing over
 *   SPAN_SECONDS of event time), then one record per shard far ahead in event time (key
 *   `zz-end`) that closes every window. Then a query from TRIM_HORIZON is created and timed until
 *   Metrics.RecordsIn counts every record (polled every POLL_MS): records/s of the query itself,
 *   without the producer. For a tumbling window (`TUMBLE(ts, INTERVAL '1' MINUTE)`) and a hopping
 *   one (`HOP(ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)`: 6 windows per record), each
 *   `COUNT(*) AS n, SUM(v) AS total ... GROUP BY k`. Each run's output is read back and every
 *   row checked against counts kept while filling: each window of a real key once, with its exact
 *   n and total, and sum(n) = RECORDS (tumbling) or 6 x RECORDS (hopping). A wrong output throws.
 * - latency: window close -> row in the output, p50/p99: a paced producer puts LATENCY_RATE
 *   records/s (every TICK_MS the records due in one putRecords, ts = the time it was issued, each
 *   with a partition key of its own so every shard gets records) over LATENCY_KEYS keys for
 *   LATENCY_SECONDS; a push subscription reads the output. Per row: its ApproximateArrivalTimestamp
 *   in the output minus its window_end (and, beside it, the time the subscription delivered it
 *   minus window_end). For `TUMBLE(ROWTIME, INTERVAL '1' SECOND)` and for `TUMBLE(ts, INTERVAL '1'
 *   SECOND)` (event time = put time), then ROWTIME again at LATENCY_QUIET_RATE records/s (0: not
 *   run), where a shard has mostly delivered nothing after a window's end: the watermark of a
 *   shard read to its end is its newest arrival time or now - ROWTIME_SLACK_MS
 *   (src/queries/watermark.ts), whichever is later, so a window whose shards are quiet closes
 *   ROWTIME_SLACK_MS after its end by design. Rows of windows that began in the first
 *   LATENCY_WARMUP_SECONDS or ended after the last put are not counted; sum(n) over every row
 *   must be the records put, and no window may have two rows.
 * Usage: npm run bench:queries [-- --json <file>]. Environment: RECORDS (1000000), KEYS (10000),
 * SHARDS (4), SPAN_SECONDS (600, a multiple of 60), LATENCY_SECONDS (20, per run), LATENCY_RATE
 * (2000), LATENCY_KEYS (10), LATENCY_QUIET_RATE (4), BENCH_DIR (os.tmpdir()). Last line: one JSON
 * object. MB = 10^6 bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine, type PutRecordsRequestEntry } from '../src/index.js';
import { QueryRegistry } from '../src/queries/registry.js';
import { ROWTIME_SLACK_MS } from '../src/queries/watermark.js';
import { seededRandom } from '../test/helpers/random.js';
import {
  MB,
  Progress,
  echoEnvironment,
  envNumber,
  environment,
  finish,
  jsonPathArg,
  latencyHistogram,
  round1,
  summarizeHistogram,
  type LatencySummary,
} from './bench_common.js';

const config = {
  records: Math.round(envNumber('RECORDS', 1_000_000, 1000, 20_000_000)),
  keys: Math.round(envNumber('KEYS', 10_000, 1, 1_000_000)),
  shards: Math.round(envNumber('SHARDS', 4, 1, 64)),
  spanSeconds: Math.round(envNumber('SPAN_SECONDS', 600, 60, 7 * 86_400)),
  latencySeconds: envNumber('LATENCY_SECONDS', 20, 3, 3600),
  latencyRate: Math.round(envNumber('LATENCY_RATE', 2000, 10, 100_000)),
  latencyKeys: Math.round(envNumber('LATENCY_KEYS', 10, 1, 10_000)),
  quietRate: envNumber('LATENCY_QUIET_RATE', 4, 0, 1000),
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
if (config.spanSeconds % 60 !== 0) throw new Error(`SPAN_SECONDS must be a multiple of 60, got ${config.spanSeconds}`);

const ENGINE_OPTIONS = { fsync: 'never', enforceLimits: false, workers: 1 } as const;
const EPOCH_MS = Date.UTC(2026, 0, 1);
const MINUTE_MS = 60_000;
const SLIDE_MS = 10_000;
const BUCKETS_PER_MINUTE = MINUTE_MS / SLIDE_MS;
/** The last records' event time: far past every window of the fill, so each of them closes. */
const CLOSER_AHEAD_MS = 86_400_000;
const CLOSER_KEY = 'zz-end';
const RECORDS_PER_PUT = 500;
const SOURCE = 'events';
const OUTPUT_SHARDS = 1;
/**
 * How often the counters are polled while a query runs: by status(), whose counters describe()
 * returns as Metrics; describe() parses and plans the SQL again on every call (~0.3 ms here).
 */
const POLL_MS = 2;
const RUN_TIMEOUT_MS = 900_000;
const LATENCY_WARMUP_SECONDS = 1;
const LATENCY_WINDOW_MS = 1000;
/** A timer cannot wait less than 1 ms; 10 ms keeps the puts small (20 records at 2,000/s). */
const TICK_MS = 10;
const DRAIN_TIMEOUT_MS = 30_000;

type Kind = 'tumble' | 'hop';
type TimeKind = 'rowtime' | 'event';

interface ThroughputFigures {
  readonly window: Kind;
  readonly sql: string;
  readonly records: number;
  /** From CreateQuery until Metrics.RecordsIn counted every record (the closers too). */
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** From CreateQuery until the first record was counted: the thread's start, the group's leases. */
  readonly startSeconds: number;
  /** From the first record counted to the last. */
  readonly recordsPerSecAfterStart: number;
  readonly mbPerSec: number;
  /** From CreateQuery until every row of the fill's windows was in the output stream. */
  readonly rowsStoredSeconds: number;
  readonly rowsEmitted: number;
  readonly windowsClosed: number;
  readonly sumN: number;
  /** The windows still open at the end: the closers'. */
  readonly openWindows: number;
  readonly metrics: Record<string, unknown>;
}

interface LatencyFigures {
  readonly name: string;
  readonly time: TimeKind;
  readonly sql: string;
  readonly ratePerSec: number;
  readonly recordsPut: number;
  readonly rows: number;
  /** Rows of whole windows after the warm-up: the latencies' count. */
  readonly measuredRows: number;
  /** The distinct window ends among them: the rows of one end are put together, so they share a time. */
  readonly windowEnds: number;
  readonly rowtimeSlackMs: number;
  /** The row's ApproximateArrivalTimestamp in the output minus its window_end. */
  readonly closeToOutput: LatencySummary;
  /** When the push subscription on the output delivered the row, minus its window_end. */
  readonly closeToSubscriber: LatencySummary;
}

// ---------------------------------------------------------------- the fill and what it must give

function keyName(index: number): string {
  return `key-${String(index).padStart(Math.max(4, String(config.keys - 1).length), '0')}`;
}

/** Per key and 10-second bucket of event time: the records and their sum of v. */
class Expected {
  readonly buckets = config.spanSeconds / (SLIDE_MS / 1000);
  readonly counts = new Float64Array(config.keys * this.buckets);
  readonly sums = new Float64Array(config.keys * this.buckets);
  bytes = 0;

  add(key: number, timeMs: number, v: number): void {
    const at = key * this.buckets + Math.floor((timeMs - EPOCH_MS) / SLIDE_MS);
    this.counts[at]! += 1;
    this.sums[at]! += v;
  }

  /** Each window's first bucket (may be before the fill's first) for the kind; each spans a minute. */
  windowStarts(kind: Kind): number[] {
    const starts: number[] = [];
    if (kind === 'tumble') for (let bucket = 0; bucket < this.buckets; bucket += BUCKETS_PER_MINUTE) starts.push(bucket);
    else for (let bucket = 1 - BUCKETS_PER_MINUTE; bucket < this.buckets; bucket++) starts.push(bucket);
    return starts;
  }

  window(key: number, firstBucket: number): { n: number; total: number } {
    let n = 0;
    let total = 0;
    for (let bucket = Math.max(0, firstBucket); bucket < Math.min(this.buckets, firstBucket + BUCKETS_PER_MINUTE); bucket++) {
      n += this.counts[key * this.buckets + bucket]!;
      total += this.sums[key * this.buckets + bucket]!;
    }
    return { n, total };
  }
}

async function putAll(engine: Engine, stream: string, records: PutRecordsRequestEntry[]): Promise<void> {
  const answer = await engine.putRecords({ StreamName: stream, Records: records });
  if (answer.FailedRecordCount > 0) throw new Error(`${answer.FailedRecordCount} records of a put into ${stream} failed`);
}

/** One record per shard of the stream, by its first hash key (partition keys might miss a shard). */
async function putPerShard(engine: Engine, stream: string, data: string): Promise<number> {
  const { Shards } = engine.listShards({ StreamName: stream });
  await putAll(
    engine,
    stream,
    Shards.map((shard) => ({ PartitionKey: CLOSER_KEY, ExplicitHashKey: shard.HashKeyRange.StartingHashKey, Data: Buffer.from(data) })),
  );
  return Shards.length;
}

async function fill(engine: Engine): Promise<{ expected: Expected; closers: number; seconds: number }> {
  await engine.createStream({ StreamName: SOURCE, ShardCount: config.shards });
  const expected = new Expected();
  const random = seededRandom(22);
  const spanMs = config.spanSeconds * 1000;
  const progress = new Progress('fill');
  const started = performance.now();
  for (let at = 0; at < config.records; at += RECORDS_PER_PUT) {
    const records: PutRecordsRequestEntry[] = [];
    for (let index = at; index < Math.min(config.records, at + RECORDS_PER_PUT); index++) {
      const key = Math.floor(random() * config.keys);
      const v = Math.floor(random() * 4000) / 4;
      const ts = EPOCH_MS + Math.floor((index * spanMs) / config.records);
      const k = keyName(key);
      const data = Buffer.from(`{"k":"${k}","v":${v},"ts":${ts}}`);
      expected.add(key, ts, v);
      expected.bytes += data.length;
      records.push({ PartitionKey: k, Data: data });
    }
    await putAll(engine, SOURCE, records);
    progress.tick(at, expected.bytes);
  }
  const closers = await putPerShard(engine, SOURCE, `{"k":"${CLOSER_KEY}","v":0,"ts":${EPOCH_MS + spanMs + CLOSER_AHEAD_MS}}`);
  return { expected, closers, seconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------- reading and checking the output

interface OutputRecord {
  readonly row: Record<string, unknown>;
  readonly arrivalMs: number;
}

async function readAll(engine: Engine, stream: string): Promise<OutputRecord[]> {
  const records: OutputRecord[] = [];
  for (const shard of engine.listShards({ StreamName: stream }).Shards) {
    let iterator: string | undefined = (
      await engine.getShardIterator({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })
    ).ShardIterator;
    while (iterator !== undefined) {
      const answer = await engine.getRecords({ ShardIterator: iterator, Limit: 10_000 });
      for (const record of answer.Records)
        records.push({
          row: JSON.parse(Buffer.from(record.Data).toString('utf8')) as Record<string, unknown>,
          arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
        });
      if (answer.Records.length === 0 && answer.MillisBehindLatest === 0) break;
      iterator = answer.NextShardIterator;
    }
  }
  return records;
}

async function storedRecords(engine: Engine, stream: string): Promise<number> {
  const { Shards } = await engine.describeShardPositions({ StreamName: stream });
  return Shards.reduce((sum, shard) => sum + shard.RecordCount, 0);
}

/** Every window of a real key once, with its exact n and total; throws with the first faults. */
function checkRows(kind: Kind, expected: Expected, rows: readonly Record<string, unknown>[]): { rows: number; sumN: number } {
  const starts = expected.windowStarts(kind);
  const firstBucket = starts[0]!;
  const step = kind === 'tumble' ? BUCKETS_PER_MINUTE : 1;
  const seen = new Uint8Array(config.keys * starts.length);
  const faults: string[] = [];
  const fault = (text: string): void => void (faults.length < 10 && faults.push(text));
  let sumN = 0;
  for (const row of rows) {
    const {
      k,
      n,
      total,
      window_start: start,
      window_end: end,
    } = row as { k: string; n: number; total: number; window_start: number; window_end: number };
    const key = Number(k.slice('key-'.length));
    const bucketOffset = (start - EPOCH_MS) / SLIDE_MS - firstBucket;
    const window = bucketOffset / step;
    if (!k.startsWith('key-') || !Number.isInteger(key) || key < 0 || key >= config.keys || keyName(key) !== k) {
      fault(`a row of an unknown key: ${JSON.stringify(row)}`);
      continue;
    }
    if (!Number.isInteger(window) || window < 0 || window >= starts.length || end - start !== MINUTE_MS) {
      fault(`a row of a window that should not be: ${JSON.stringify(row)}`);
      continue;
    }
    const at = key * starts.length + window;
    if (seen[at] !== 0) fault(`a second row for the same window: ${JSON.stringify(row)}`);
    seen[at] = 1;
    const want = expected.window(key, starts[window]!);
    if (n !== want.n || total !== want.total) fault(`${JSON.stringify(row)}: expected n ${want.n}, total ${want.total}`);
    sumN += n;
  }
  let missing = 0;
  for (let key = 0; key < config.keys; key++)
    for (let window = 0; window < starts.length; window++)
      if (seen[key * starts.length + window] === 0 && expected.window(key, starts[window]!).n > 0) {
        missing++;
        fault(`no row for ${keyName(key)} window_start ${EPOCH_MS + starts[window]! * SLIDE_MS}`);
      }
  const perRecord = kind === 'tumble' ? 1 : BUCKETS_PER_MINUTE;
  if (sumN !== config.records * perRecord) fault(`sum(n) over the rows is ${sumN}, not ${config.records * perRecord}`);
  if (faults.length > 0) throw new Error(`${kind}: the output is WRONG (${missing} windows missing):\n  ${faults.join('\n  ')}`);
  return { rows: rows.length, sumN };
}

function expectedRows(kind: Kind, expected: Expected): number {
  let rows = 0;
  for (const start of expected.windowStarts(kind))
    for (let key = 0; key < config.keys; key++) if (expected.window(key, start).n > 0) rows++;
  return rows;
}

// ---------------------------------------------------------------- throughput

const THROUGHPUT_SQL: Record<Kind, string> = {
  tumble: `CREATE QUERY bench_tumble WITH (start = 'TRIM_HORIZON') AS INSERT INTO tumble_out
    SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ${SOURCE} GROUP BY k, TUMBLE(ts, INTERVAL '1' MINUTE)`,
  hop: `CREATE QUERY bench_hop WITH (start = 'TRIM_HORIZON') AS INSERT INTO hop_out
    SELECT k, COUNT(*) AS n, SUM(v) AS total FROM ${SOURCE} GROUP BY k, HOP(ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)`,
};

function checkHealthy(registry: QueryRegistry, name: string): void {
  const status = registry.status(name);
  if (status.state === 'FAILED') throw new Error(`query ${name} FAILED: ${status.lastError}`);
  if ((status.lateRecords ?? 0) > 0 || (status.errorRecords ?? 0) > 0)
    throw new Error(`query ${name}: ${status.lateRecords} late and ${status.errorRecords} unreadable records (${status.lastRecordError})`);
}

async function throughputRun(engine: Engine, registry: QueryRegistry, kind: Kind, fillResult: Awaited<ReturnType<typeof fill>>) {
  const { expected, closers } = fillResult;
  const name = `bench_${kind}`;
  const output = `${kind}_out`;
  const sql = THROUGHPUT_SQL[kind].replace(/\s+/g, ' ');
  await engine.createStream({ StreamName: output, ShardCount: OUTPUT_SHARDS });
  const rowsWanted = expectedRows(kind, expected);
  const recordsWanted = config.records + closers;
  const meanBytes = expected.bytes / config.records;
  const label = `${kind}, ${config.keys} keys`;
  const progress = new Progress(label);
  const started = performance.now();
  const late = (): boolean => performance.now() - started > RUN_TIMEOUT_MS;
  await registry.create({ Sql: sql });
  let firstAt: number | null = null;
  for (let recordsIn = 0; recordsIn < recordsWanted; recordsIn = registry.status(name).recordsIn ?? 0) {
    checkHealthy(registry, name);
    if (firstAt === null && recordsIn > 0) firstAt = performance.now();
    if (late()) throw new Error(`${label}: ${recordsIn} of ${recordsWanted} records taken in in time`);
    progress.tick(recordsIn, recordsIn * meanBytes);
    await sleep(POLL_MS);
  }
  const inAt = performance.now();
  firstAt ??= inAt;
  // Every window of the fill is closed once the watermark has passed the last one's end.
  const lastEnd = EPOCH_MS + config.spanSeconds * 1000;
  while ((registry.status(name).watermarkMs ?? -Infinity) < lastEnd || (await storedRecords(engine, output)) < rowsWanted) {
    checkHealthy(registry, name);
    if (late())
      throw new Error(
        `${label}: watermark ${registry.status(name).watermarkMs}, ${await storedRecords(engine, output)} of ${rowsWanted} rows stored in time`,
      );
    await sleep(POLL_MS);
  }
  const storedAt = performance.now();
  checkHealthy(registry, name);
  const { Metrics } = registry.describe(name) as { Metrics: Record<string, unknown> };
  await registry.stop(name);
  const rows = (await readAll(engine, output)).map((record) => record.row);
  const checked = checkRows(kind, expected, rows);
  const seconds = (inAt - started) / 1000;
  const figures: ThroughputFigures = {
    window: kind,
    sql,
    records: config.records,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSec: Math.round(config.records / seconds),
    startSeconds: Math.round(firstAt - started) / 1000,
    recordsPerSecAfterStart: Math.round(config.records / Math.max(0.001, (inAt - firstAt) / 1000)),
    mbPerSec: round1(expected.bytes / MB / seconds),
    rowsStoredSeconds: Math.round(storedAt - started) / 1000,
    rowsEmitted: checked.rows,
    windowsClosed: Number(Metrics['WindowsClosed']),
    sumN: checked.sumN,
    openWindows: Number(Metrics['OpenWindows']),
    metrics: Metrics,
  };
  console.log(
    `${label}: ${figures.recordsPerSec} records/s, ${figures.mbPerSec} MB/s (${round1(seconds)} s from CreateQuery to RecordsIn = ${recordsWanted}; ` +
      `first record after ${figures.startSeconds} s, ${figures.recordsPerSecAfterStart} records/s from there)`,
  );
  console.log(
    `  ${figures.rowsEmitted} rows emitted, all in the output after ${round1(figures.rowsStoredSeconds)} s, checked: ` +
      `every window of every key once with its exact n and total, sum(n) = ${figures.sumN}` +
      `${kind === 'hop' ? ` = ${BUCKETS_PER_MINUTE} x ${config.records}` : ''}; ${figures.openWindows} windows open (the closers')`,
  );
  return figures;
}

// ---------------------------------------------------------------- latency

/** One latency run: its query (and streams) by name, its window's time, the rate offered. */
interface LiveRun {
  readonly name: string;
  readonly time: TimeKind;
  readonly rate: number;
}

function latencySql(run: LiveRun, source: string, output: string): string {
  const attribute = run.time === 'rowtime' ? 'ROWTIME' : 'ts';
  return (
    `CREATE QUERY ${run.name} AS INSERT INTO ${output} SELECT k, COUNT(*) AS n FROM ${source} ` +
    `GROUP BY k, TUMBLE(${attribute}, INTERVAL '1' SECOND)`
  );
}

interface LiveRow {
  readonly k: string;
  readonly n: number;
  readonly start: number;
  readonly end: number;
  readonly arrivalMs: number;
  readonly seenMs: number;
}

/** Reads the output's one shard by a push subscription until the consumer is deregistered. */
function subscribe(engine: Engine, consumerARN: string, shardId: string, rows: LiveRow[]): Promise<void> {
  return (async () => {
    const events = engine.subscribeToShard({ ConsumerARN: consumerARN, ShardId: shardId, StartingPosition: { Type: 'TRIM_HORIZON' } });
    for await (const event of events) {
      const seenMs = Date.now();
      for (const record of event.Records) {
        const row = JSON.parse(Buffer.from(record.Data).toString('utf8')) as {
          k: string;
          n: number;
          window_start: number;
          window_end: number;
        };
        rows.push({
          k: row.k,
          n: row.n,
          start: row.window_start,
          end: row.window_end,
          arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
          seenMs,
        });
      }
    }
  })();
}

/** Open loop: puts are not awaited before the next, so a slow put does not slow the offered rate. */
async function offer(
  engine: Engine,
  source: string,
  rate: number,
  rows: readonly LiveRow[],
): Promise<{ total: number; firstMs: number; lastMs: number }> {
  const total = Math.round(rate * config.latencySeconds);
  const random = seededRandom(23);
  const puts: Promise<void>[] = [];
  let failure: unknown = null;
  const progress = new Progress(`  ${source}: rows out, put at ${rate} records/s`);
  const started = performance.now();
  let firstMs = 0;
  let lastMs = 0;
  for (let sent = 0; sent < total; await sleep(TICK_MS)) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    if (due === sent) continue;
    const ts = Date.now();
    if (sent === 0) firstMs = ts;
    lastMs = ts;
    const records: PutRecordsRequestEntry[] = [];
    for (; sent < due; sent++) {
      const k = `key-${Math.floor(random() * config.latencyKeys)}`;
      records.push({ PartitionKey: `p${sent}`, Data: Buffer.from(`{"k":"${k}","v":1,"ts":${ts}}`) });
    }
    puts.push(putAll(engine, source, records).catch((error: unknown) => void (failure ??= error)));
    const last = rows.at(-1);
    progress.tick(rows.length, 0, last === undefined ? -1 : (last.arrivalMs - last.end) * 1000);
  }
  await Promise.all(puts);
  if (failure !== null) throw failure;
  return { total, firstMs, lastMs };
}

function msOf(summary: LatencySummary, field: 'p50Us' | 'p99Us' | 'maxUs'): string {
  return (summary[field] / 1000).toFixed(1);
}

async function latencyRun(engine: Engine, registry: QueryRegistry, run: LiveRun): Promise<LatencyFigures> {
  const { name, time, rate } = run;
  const source = name;
  const output = `${name}_out`;
  await engine.createStream({ StreamName: source, ShardCount: config.shards });
  await engine.createStream({ StreamName: output, ShardCount: 1 });
  const { StreamARN } = engine.describeStreamSummary({ StreamName: output }).StreamDescriptionSummary;
  const { Consumer } = await engine.registerStreamConsumer({ StreamARN: StreamARN as string, ConsumerName: 'bench-reader' });
  const rows: LiveRow[] = [];
  const reading = subscribe(engine, Consumer.ConsumerARN, engine.listShards({ StreamName: output }).Shards[0]!.ShardId, rows);
  const sql = latencySql(run, source, output);
  let put: Awaited<ReturnType<typeof offer>>;
  try {
    await registry.create({ Sql: sql });
    put = await offer(engine, source, rate, rows);
    // The last window of event time closes only when a later record comes: one per shard, a window on.
    if (time === 'event') await putPerShard(engine, source, `{"k":"${CLOSER_KEY}","v":1,"ts":${put.lastMs + 2 * LATENCY_WINDOW_MS}}`);
    const lastEnd = Math.floor(put.lastMs / LATENCY_WINDOW_MS) * LATENCY_WINDOW_MS + LATENCY_WINDOW_MS;
    const deadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (!rows.some((row) => row.end >= lastEnd && row.k !== CLOSER_KEY)) {
      checkHealthy(registry, name);
      if (performance.now() > deadline) throw new Error(`${name}: no row of the window ending ${lastEnd} within ${DRAIN_TIMEOUT_MS} ms`);
      await sleep(20);
    }
    // The window's other rows were put in the same PutRecords; let a second batch come if it did not.
    await sleep(200);
    checkHealthy(registry, name);
  } finally {
    await registry.stop(name).catch(() => undefined);
    await engine.deregisterStreamConsumer({ StreamARN: StreamARN as string, ConsumerName: 'bench-reader' });
    await reading;
  }
  const real = rows.filter((row) => row.k !== CLOSER_KEY);
  const sumN = real.reduce((sum, row) => sum + row.n, 0);
  if (sumN !== put.total) throw new Error(`${name}: the output is WRONG: sum(n) over its ${real.length} rows is ${sumN}, not ${put.total}`);
  const windows = new Set(real.map((row) => `${row.k}/${row.start}`));
  if (windows.size !== real.length) throw new Error(`${name}: the output is WRONG: ${real.length - windows.size} windows have two rows`);
  const fromMs = put.firstMs + LATENCY_WARMUP_SECONDS * 1000;
  const measured = real.filter((row) => row.start >= fromMs && row.end <= put.lastMs);
  if (measured.length === 0) throw new Error(`${name}: no row of a whole window after the warm-up: LATENCY_SECONDS is too short`);
  const ends = new Set(measured.map((row) => row.end)).size;
  const toOutput = latencyHistogram();
  const toSubscriber = latencyHistogram();
  for (const row of measured) {
    toOutput.recordValue(Math.max(1, Math.round((row.arrivalMs - row.end) * 1000)));
    toSubscriber.recordValue(Math.max(1, Math.round((row.seenMs - row.end) * 1000)));
  }
  const figures: LatencyFigures = {
    name,
    time,
    sql,
    ratePerSec: rate,
    recordsPut: put.total,
    rows: real.length,
    measuredRows: measured.length,
    windowEnds: ends,
    rowtimeSlackMs: ROWTIME_SLACK_MS,
    closeToOutput: summarizeHistogram(toOutput),
    closeToSubscriber: summarizeHistogram(toSubscriber),
  };
  const what = time === 'rowtime' ? 'TUMBLE(ROWTIME, 1 s)' : 'TUMBLE(ts, 1 s), ts = put time';
  const slack =
    time === 'rowtime'
      ? ` (ROWTIME_SLACK_MS = ${ROWTIME_SLACK_MS} ms: a ROWTIME window waits that long past its end for a shard that has delivered nothing newer, by design)`
      : '';
  console.log(
    `window end -> row in the output, ${what}, ${rate} records/s over ${config.latencyKeys} keys: ` +
      `n=${measured.length} rows (${ends} window ends) p50=${msOf(figures.closeToOutput, 'p50Us')} ms p99=${msOf(figures.closeToOutput, 'p99Us')} ms ` +
      `max=${msOf(figures.closeToOutput, 'maxUs')} ms${slack}`,
  );
  console.log(
    `  -> the subscriber on the output: p50=${msOf(figures.closeToSubscriber, 'p50Us')} ms p99=${msOf(figures.closeToSubscriber, 'p99Us')} ms; ` +
      `checked: sum(n) over ${real.length} rows = ${put.total} records put`,
  );
  return figures;
}

function latencyRuns(): LiveRun[] {
  const runs: LiveRun[] = [
    { name: 'live_rowtime', time: 'rowtime', rate: config.latencyRate },
    { name: 'live_event', time: 'event', rate: config.latencyRate },
  ];
  if (config.quietRate > 0) runs.push({ name: 'live_rowtime_quiet', time: 'rowtime', rate: config.quietRate });
  return runs;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-queries-bench-'));
  try {
    const env = { ...environment(root), ...ENGINE_OPTIONS };
    const { rootDir: _rootDir, jsonPath: _jsonPath, ...shownConfig } = config;
    echoEnvironment('bench:queries', { ...env, ...shownConfig, rowtimeSlackMs: ROWTIME_SLACK_MS });
    const engine = await Engine.open({ dataDir: path.join(root, 'data'), ...ENGINE_OPTIONS });
    const registry = await QueryRegistry.of(engine);
    try {
      const filled = await fill(engine);
      console.log(
        `fill: ${config.records} records (mean ${round1(filled.expected.bytes / config.records)} B) over ${config.spanSeconds} s of event time ` +
          `into ${config.shards} shards in ${round1(filled.seconds)} s (${Math.round(config.records / filled.seconds)} records/s), then ${filled.closers} closers`,
      );
      const throughput: ThroughputFigures[] = [];
      for (const kind of ['tumble', 'hop'] as const) throughput.push(await throughputRun(engine, registry, kind, filled));
      const latency: LatencyFigures[] = [];
      for (const run of latencyRuns()) latency.push(await latencyRun(engine, registry, run));
      finish(
        {
          bench: 'queries',
          mbBytes: MB,
          config: { ...shownConfig, meanRecordBytes: round1(filled.expected.bytes / config.records) },
          environment: env,
          fill: { seconds: Math.round(filled.seconds * 1000) / 1000, recordsPerSec: Math.round(config.records / filled.seconds) },
          throughput,
          latency,
        },
        config.jsonPath,
      );
    } finally {
      await registry.stopAll();
      await engine.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
