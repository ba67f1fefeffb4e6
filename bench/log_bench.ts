/**
 * Log benchmark, in one run:
 *   1. append throughput, 100-byte records in batches of 500, fsync "never" and "always";
 *   2. append throughput, one 64 KiB record per append, fsync "never" and "always", against
 *   3. raw fs.writeSync of 64 KiB buffers to a file in the same directory (no fsync, and one
 *      fdatasync every RAW_SYNC_EVERY writes);
 *   4. lookup latency by offset and by timestamp on a log of LOG_GIB GiB;
 *   5. full-scan read through the mapping (copy each chunk + walk batch headers) against memcpy;
 *   6. recovery time (Log.open) after a writer child process is SIGKILLed with LOG_GIB GiB written.
 *
 * Usage: npm run bench:log [-- --json <file>]
 * Environment: BENCH_SECONDS (3), LOG_GIB (1), BENCH_DIR (os.tmpdir()), BENCH_SEED (random),
 * LOOKUP_COUNT (100000), SCAN_MIB (512), WINDOW (64), RAW_SYNC_EVERY (64).
 *
 * Prints configuration and environment first, progress lines every 2 s in long phases, and one
 * JSON object with every figure as the last line of stdout. MB = 10^6 bytes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Log, readBatchHeader, type FsyncPolicy, type LogRecord, type RecoveryReport } from '../src/index.js';
import { seededRandom } from '../test/helpers/random.js';
import { rawWritePhase, type RawFigures } from './page_cache_write.js';
import {
  GIB,
  KIB,
  MB,
  MIB,
  Progress,
  echoEnvironment,
  environment,
  envNumber,
  finish,
  jsonPathArg,
  patternBytes,
  ratio,
  round1,
  yieldToLoop,
} from './bench_common.js';

const SMALL_RECORD_BYTES = 100;
const SMALL_RECORDS_PER_APPEND = 500;
const LARGE_RECORD_BYTES = 64 * KIB;
const BUILD_RECORD_BYTES = 2 * KIB;
const BUILD_RECORDS_PER_APPEND = 500;
const READ_BYTES = 4 * MIB;
/** A read returns at least one batch, and batches are at most 16 MiB. */
const READ_DEST_BYTES = READ_BYTES + 16 * MIB;
const SCAN_PASSES = 5;
const LOOKUP_WARMUP_COUNT_MAX = 10_000;
/** Lookup answers checked against the data (outside the timed calls): one in this many. */
const LOOKUP_CHECK_EVERY = 997;
/** Yield to the event loop this often while appending, so that background seals, checkpoints and fdatasyncs run as in a server. */
const YIELD_EVERY_MS = 5;
/** Untimed appends before each timed append phase, so that JIT warm-up is not measured. */
const APPEND_WARMUP_SECONDS = 0.25;
/** Latency samples kept per phase; appends past it still count for throughput. */
const SAMPLES_MAX = 1 << 20;
/** Bound on the data one timed append phase may write, whatever BENCH_SECONDS says. */
const PHASE_BYTES_MAX = 16 * GIB;
const READS_MAX = 10_000_000;

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.dirname(BENCH_DIR);
const WRITER_SCRIPT = path.join(BENCH_DIR, 'log_bench_writer.ts');

interface Config {
  readonly seconds: number;
  readonly logGib: number;
  readonly rootDir: string;
  readonly seed: number;
  readonly lookupCount: number;
  readonly scanMib: number;
  readonly window: number;
  readonly rawSyncEvery: number;
  readonly jsonPath: string | null;
}

interface LatencySummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p95Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

interface AppendFigures {
  readonly appends: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** Record data only (no keys, no headers). */
  readonly dataMBps: number;
  /** Batch bytes written to segment files. */
  readonly diskMBps: number;
  readonly latency: LatencySummary;
}

interface ScanFigures {
  readonly bytes: number;
  readonly records: number;
  readonly batches: number;
  readonly reads: number;
  readonly chunks: number;
  readonly firstPassMBps: number;
  readonly mbPerSec: number;
  readonly memcpyMBps: number;
  readonly passesMBps: readonly number[];
  readonly memcpyPassesMBps: readonly number[];
}

interface RecoveryFigures {
  readonly logBytes: number;
  readonly segments: number;
  readonly endOffset: number;
  readonly openMs: number;
  readonly report: RecoveryReport;
}

// ---------------------------------------------------------------- configuration

function readConfig(): Config {
  const seedText = process.env.BENCH_SEED;
  return {
    seconds: envNumber('BENCH_SECONDS', 3, 0.1, 3600),
    logGib: envNumber('LOG_GIB', 1, 0.01, 64),
    rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
    seed: seedText === undefined ? Math.floor(Math.random() * 2 ** 32) : envNumber('BENCH_SEED', 0, 0, 2 ** 32 - 1),
    lookupCount: Math.round(envNumber('LOOKUP_COUNT', 100_000, 100, 10_000_000)),
    scanMib: envNumber('SCAN_MIB', 512, 1, 64 * KIB),
    window: Math.round(envNumber('WINDOW', 64, 1, 100_000)),
    rawSyncEvery: Math.round(envNumber('RAW_SYNC_EVERY', 64, 1, 1_000_000)),
    jsonPath: jsonPathArg(process.argv.slice(2)),
  };
}

function echoConfig(config: Config, env: Record<string, unknown>): void {
  echoEnvironment('shardline log benchmark', env);
  console.log(`  phaseSeconds: ${config.seconds}  logGiB: ${config.logGib}  seed: ${config.seed}`);
  console.log(
    `  small appends: ${SMALL_RECORDS_PER_APPEND} x ${SMALL_RECORD_BYTES} B; large appends: 1 x ${LARGE_RECORD_BYTES} B; window under "always": ${config.window}`,
  );
  console.log(`  raw writes: ${LARGE_RECORD_BYTES} B, fdatasync every ${config.rawSyncEvery} in the synced variant`);
  console.log(
    `  lookup log: ${BUILD_RECORDS_PER_APPEND} x ${BUILD_RECORD_BYTES} B per append, segmentBytes default; lookups: ${config.lookupCount}`,
  );
  console.log(
    `  scan: up to ${config.scanMib} MiB, reads of ${READ_BYTES / MIB} MiB, ${SCAN_PASSES} passes; json: ${config.jsonPath ?? '(none)'}`,
  );
}

// ---------------------------------------------------------------- helpers

/** The same array is appended each time: the log copies records into its batch buffer. */
function makeRecords(count: number, dataBytes: number): LogRecord[] {
  const data = patternBytes(dataBytes);
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `key-${i}`, data }));
}

function summarize(samples: Float64Array, count: number): LatencySummary {
  const n = Math.min(count, samples.length);
  if (n === 0) return { count: 0, meanUs: 0, p50Us: 0, p95Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 };
  const sorted = samples.slice(0, n).sort();
  const rank = (p: number): number => sorted[Math.min(n - 1, Math.ceil(p * n) - 1)]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    count: n,
    meanUs: round(sum / n),
    p50Us: round(rank(0.5)),
    p95Us: round(rank(0.95)),
    p99Us: round(rank(0.99)),
    p999Us: round(rank(0.999)),
    maxUs: round(sorted[n - 1]!),
  };
}

function formatLatency(label: string, summary: LatencySummary): string {
  const { count, meanUs, p50Us, p95Us, p99Us, p999Us, maxUs } = summary;
  return `${label}: n=${count} mean=${meanUs}us p50=${p50Us}us p95=${p95Us}us p99=${p99Us}us p99.9=${p999Us}us max=${maxUs}us`;
}

// ---------------------------------------------------------------- append phases

/**
 * Appends `records` as one batch per call for `seconds`, keeping up to `window` appends in
 * flight: under "always" one fdatasync then covers many appends (group commit), as it would
 * with many producers. Latency runs from the call to the append's promise resolving.
 */
async function appendFor(log: Log, records: readonly LogRecord[], window: number, seconds: number, label: string): Promise<AppendFigures> {
  const dataBytesPerAppend = records.reduce((sum, record) => sum + record.data.length, 0);
  const appendsMax = Math.ceil(PHASE_BYTES_MAX / dataBytesPerAppend);
  const samples = new Float64Array(SAMPLES_MAX);
  const inFlight = new Set<Promise<void>>();
  const progress = new Progress(label);
  const sizeBefore = log.sizeBytes;
  let completed = 0;
  let lastLatencyUs = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let lastYield = start;
  for (let appends = 0; appends < appendsMax; appends++) {
    const now = performance.now();
    if (now >= deadline) break;
    if (now - lastYield >= YIELD_EVERY_MS) {
      await yieldToLoop();
      lastYield = performance.now();
    }
    while (inFlight.size >= window) await Promise.race(inFlight);
    const sent = performance.now();
    const done: Promise<void> = log.append(records).then(() => {
      lastLatencyUs = (performance.now() - sent) * 1000;
      if (completed < samples.length) samples[completed] = lastLatencyUs;
      completed++;
      inFlight.delete(done);
    });
    inFlight.add(done);
    progress.tick(completed * records.length, completed * dataBytesPerAppend, lastLatencyUs);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  return {
    appends: completed,
    records: completed * records.length,
    seconds: Math.round(elapsed * 100) / 100,
    recordsPerSec: Math.round((completed * records.length) / elapsed),
    dataMBps: round1((completed * dataBytesPerAppend) / MB / elapsed),
    diskMBps: round1((log.sizeBytes - sizeBefore) / MB / elapsed),
    latency: summarize(samples, completed),
  };
}

/** One append phase in a fresh log directory, deleted afterwards so its dirty pages go too. */
async function appendPhase(
  root: string,
  name: string,
  fsync: FsyncPolicy,
  records: readonly LogRecord[],
  config: Config,
): Promise<AppendFigures> {
  const dir = path.join(root, name);
  const log = await Log.open(dir, { fsync });
  try {
    const window = fsync === 'always' ? config.window : 1;
    await appendFor(log, records, window, Math.min(APPEND_WARMUP_SECONDS, config.seconds), `${name} warm-up`);
    const figures = await appendFor(log, records, window, config.seconds, name);
    console.log(`${name}: ${figures.recordsPerSec} records/s, ${figures.dataMBps} MB/s data, ${figures.diskMBps} MB/s to disk`);
    console.log(`  ${formatLatency('append latency', figures.latency)}`);
    return figures;
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the large log: build, lookups, scan

interface BuiltLog {
  readonly log: Log;
  readonly firstTimestampMs: number;
  readonly lastTimestampMs: number;
  readonly buildMBps: number;
}

/** Fills a log with fsync "never" and ~1 MB batches until it holds `targetBytes`. */
async function buildLog(dir: string, targetBytes: number): Promise<BuiltLog> {
  const log = await Log.open(dir, { fsync: 'never' });
  const records = makeRecords(BUILD_RECORDS_PER_APPEND, BUILD_RECORD_BYTES);
  const appendsMax = Math.ceil(targetBytes / (BUILD_RECORDS_PER_APPEND * BUILD_RECORD_BYTES)) + 1;
  const progress = new Progress('build');
  let firstTimestampMs = -1;
  let lastTimestampMs = -1;
  const start = performance.now();
  let lastYield = start;
  for (let i = 0; i < appendsMax && log.sizeBytes < targetBytes; i++) {
    const result = await log.append(records);
    if (firstTimestampMs < 0) firstTimestampMs = result.timestampMs;
    lastTimestampMs = result.timestampMs;
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await yieldToLoop();
      lastYield = performance.now();
    }
    progress.tick(log.endOffset, log.sizeBytes);
  }
  const buildMBps = round1(log.sizeBytes / MB / ((performance.now() - start) / 1000));
  console.log(`build: ${(log.sizeBytes / MB).toFixed(0)} MB, ${log.endOffset} records, ${log.segmentCount} segments, ${buildMBps} MB/s`);
  return { log, firstTimestampMs, lastTimestampMs, buildMBps };
}

/** Times `count` calls of `lookupOne` one by one (after an untimed warm-up), in microseconds. */
function timeLookups(count: number, lookupOne: (index: number) => void): LatencySummary {
  const warmup = Math.min(LOOKUP_WARMUP_COUNT_MAX, count);
  for (let i = 0; i < warmup; i++) lookupOne(i);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    lookupOne(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return summarize(samples, count);
}

/** The batch holding `offset` really starts at or before it: checks a lookup's answer. */
function checkBatchHolds(log: Log, offset: number): void {
  const chunk = log.read(offset, 1).chunks[0];
  assert(chunk !== undefined, `no batch read at offset ${offset}`);
  const header = readBatchHeader(chunk, 0);
  assert(
    header.baseOffset <= offset && offset < header.baseOffset + header.recordCount,
    `batch at ${header.baseOffset} does not hold ${offset}`,
  );
}

/** `offset` is the first with arrival time >= timestampMs. */
function checkTimestampAnswer(log: Log, timestampMs: number, offset: number): void {
  const at = log.readRecords(offset, 1).records[0];
  assert(at !== undefined && at.timestampMs >= timestampMs, `offset ${offset} is before ${timestampMs}`);
  if (offset === log.startOffset) return;
  const before = log.readRecords(offset - 1, 1).records[0];
  assert(before !== undefined && before.timestampMs < timestampMs, `offset ${offset - 1} is already at ${timestampMs}`);
}

function lookupPhase(built: BuiltLog, config: Config): { byOffset: LatencySummary; byTimestamp: LatencySummary } {
  const { log, firstTimestampMs, lastTimestampMs } = built;
  const count = config.lookupCount;
  const random = seededRandom(config.seed);
  const span = log.endOffset - log.startOffset;
  const offsets = Float64Array.from({ length: count }, () => log.startOffset + Math.floor(random() * span));
  const timestamps = Float64Array.from(
    { length: count },
    () => firstTimestampMs + Math.floor(random() * (lastTimestampMs - firstTimestampMs + 1)),
  );
  const byOffset = timeLookups(count, (i) => log.lookup(offsets[i]!));
  const byTimestamp = timeLookups(count, (i) => log.offsetForTimestamp(timestamps[i]!));
  for (let i = 0; i < count; i += LOOKUP_CHECK_EVERY) {
    checkBatchHolds(log, offsets[i]!);
    checkTimestampAnswer(log, timestamps[i]!, log.offsetForTimestamp(timestamps[i]!));
  }
  console.log(formatLatency('lookup by offset', byOffset));
  console.log(formatLatency('lookup by timestamp', byTimestamp));
  return { byOffset, byTimestamp };
}

interface ScanPass {
  readonly bytes: number;
  readonly records: number;
  readonly batches: number;
  readonly reads: number;
  readonly chunkLengths: number[];
  readonly seconds: number;
}

/** Walks the batch headers of a chunk, asserting offsets run on without gaps; returns the next offset and batch count. */
function walkBatches(chunk: Buffer, expectedOffset: number): { nextOffset: number; batches: number } {
  let nextOffset = expectedOffset;
  let batches = 0;
  for (let position = 0; position < chunk.length; batches++) {
    const header = readBatchHeader(chunk, position);
    assert(
      header.baseOffset === nextOffset && header.batchBytes > 0,
      `batch at position ${position} has offset ${header.baseOffset}, expected ${nextOffset}`,
    );
    position += header.batchBytes;
    nextOffset += header.recordCount;
  }
  return { nextOffset, batches };
}

/** Reads the log from its start until `scanBytes`, copying each chunk into `dest` as a socket write would. */
function scanPass(log: Log, scanBytes: number, dest: Buffer): ScanPass {
  const chunkLengths: number[] = [];
  let offset = log.startOffset;
  let bytes = 0;
  let batches = 0;
  let reads = 0;
  const start = performance.now();
  for (; reads < READS_MAX && bytes < scanBytes && offset < log.endOffset; reads++) {
    const result = log.read(offset, READ_BYTES);
    let expected = offset;
    for (const chunk of result.chunks) {
      chunk.copy(dest, 0);
      const walked = walkBatches(chunk, expected);
      expected = walked.nextOffset;
      batches += walked.batches;
      bytes += chunk.length;
      chunkLengths.push(chunk.length);
    }
    assert(expected === result.nextOffset && expected > offset, `read at ${offset} ended at ${expected}, said ${result.nextOffset}`);
    offset = result.nextOffset;
  }
  const seconds = (performance.now() - start) / 1000;
  return { bytes, records: offset - log.startOffset, batches, reads, chunkLengths, seconds };
}

/** The same copies, in the same chunk sizes, from a heap buffer: the bound a mapped read is compared with. */
function memcpyPass(source: Buffer, chunkLengths: readonly number[], dest: Buffer): number {
  let position = 0;
  const start = performance.now();
  for (const length of chunkLengths) {
    source.copy(dest, 0, position, position + length);
    position += length;
  }
  return (performance.now() - start) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function scanPhase(log: Log, config: Config): ScanFigures {
  const scanBytes = Math.min(log.sizeBytes, config.scanMib * MIB);
  const dest = Buffer.allocUnsafe(READ_DEST_BYTES);
  dest.fill(1); // fault the destination in before timing
  const first = scanPass(log, scanBytes, dest);
  // Filled, not zeroed: untouched zero pages all map one shared page and would copy too fast.
  const source = Buffer.allocUnsafe(first.bytes).fill(0xa5);
  const passesMBps: number[] = [];
  const memcpyPassesMBps: number[] = [];
  for (let pass = 0; pass < SCAN_PASSES; pass++) {
    const scanned = pass === 0 ? first : scanPass(log, scanBytes, dest);
    assert.equal(scanned.bytes, first.bytes, 'scan passes read different byte counts');
    passesMBps.push(round1(scanned.bytes / MB / scanned.seconds));
    memcpyPassesMBps.push(round1(first.bytes / MB / memcpyPass(source, first.chunkLengths, dest)));
    console.log(`  scan pass ${pass + 1}: mapped ${passesMBps[pass]} MB/s, memcpy ${memcpyPassesMBps[pass]} MB/s`);
  }
  const figures = {
    bytes: first.bytes,
    records: first.records,
    batches: first.batches,
    reads: first.reads,
    chunks: first.chunkLengths.length,
    firstPassMBps: passesMBps[0]!,
    // The first pass includes first-touch page faults of the mapping; later passes do not.
    mbPerSec: median(passesMBps),
    memcpyMBps: median(memcpyPassesMBps),
    passesMBps,
    memcpyPassesMBps,
  };
  console.log(
    `scan: ${(figures.bytes / MB).toFixed(0)} MB in ${figures.reads} reads, median ${figures.mbPerSec} MB/s vs memcpy ${figures.memcpyMBps} MB/s`,
  );
  return figures;
}

// ---------------------------------------------------------------- recovery

/** Resolves with the child's "ready" line; rejects if it exits first or takes over `timeoutMs`. */
function waitForReady(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`writer not ready after ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | null, line = ''): void => {
      clearTimeout(timer);
      lines.close();
      if (error === null) resolve(line);
      else reject(error);
    };
    lines.on('line', (line) => {
      if (line.startsWith('ready ')) finish(null, line);
    });
    child.once('exit', (code, signal) => finish(new Error(`writer exited before ready (code ${code}, signal ${signal})`)));
    child.once('error', (error) => finish(error));
  });
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** A child appends `logBytes` with fsync "never" and is SIGKILLed; times the unclean Log.open. */
async function recoveryPhase(root: string, logBytes: number): Promise<RecoveryFigures> {
  const dir = path.join(root, 'recovery');
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER_SCRIPT, dir, String(logBytes)], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    // Generous: even at 20 MB/s the writer finishes well inside this.
    const ready = await waitForReady(child, 60_000 + (logBytes / (20 * MB)) * 1000);
    await killAndWait(child);
    const [, endText, sizeText] = ready.split(' ');
    const writtenEndOffset = Number(endText);
    console.log(`recovery: writer killed (SIGKILL) at offset ${writtenEndOffset}, ${(Number(sizeText) / MB).toFixed(0)} MB`);
    return await timeOpen(dir, writtenEndOffset);
  } finally {
    await killAndWait(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function timeOpen(dir: string, writtenEndOffset: number): Promise<RecoveryFigures> {
  const start = performance.now();
  const log = await Log.open(dir, { fsync: 'never' });
  const openMs = Math.round((performance.now() - start) * 100) / 100;
  try {
    assert.equal(log.recovery.clean, false, 'the writer was killed: its log must not look cleanly closed');
    // A killed process loses nothing the kernel already has: every append must be there.
    assert.equal(log.endOffset, writtenEndOffset, 'recovered end offset differs from what the writer appended');
    const figures = { logBytes: log.sizeBytes, segments: log.segmentCount, endOffset: log.endOffset, openMs, report: log.recovery };
    console.log(`recovery: Log.open took ${openMs} ms; report ${JSON.stringify(log.recovery)}`);
    return figures;
  } finally {
    await log.close();
  }
}

// ---------------------------------------------------------------- main

interface AppendResults {
  readonly smallNever: AppendFigures;
  readonly smallAlways: AppendFigures;
  readonly largeNever: AppendFigures;
  readonly largeAlways: AppendFigures;
  readonly raw: RawFigures;
  readonly rawSynced: RawFigures;
}

async function appendPhases(root: string, config: Config): Promise<AppendResults> {
  const small = makeRecords(SMALL_RECORDS_PER_APPEND, SMALL_RECORD_BYTES);
  const large = makeRecords(1, LARGE_RECORD_BYTES);
  const smallNever = await appendPhase(root, 'append-100B-never', 'never', small, config);
  const smallAlways = await appendPhase(root, 'append-100B-always', 'always', small, config);
  // Raw writes run next to the log phases they are compared with, on the same directory.
  const raw = rawWritePhase(root, 'raw-write-64KiB', LARGE_RECORD_BYTES, null, config.seconds);
  const largeNever = await appendPhase(root, 'append-64KiB-never', 'never', large, config);
  const rawSynced = rawWritePhase(
    root,
    `raw-write-64KiB-fdatasync-every-${config.rawSyncEvery}`,
    LARGE_RECORD_BYTES,
    config.rawSyncEvery,
    config.seconds,
  );
  const largeAlways = await appendPhase(root, 'append-64KiB-always', 'always', large, config);
  return { smallNever, smallAlways, largeNever, largeAlways, raw, rawSynced };
}

interface LargeLogResults {
  readonly log: { readonly bytes: number; readonly records: number; readonly segments: number; readonly buildMBps: number };
  readonly lookups: { readonly byOffset: LatencySummary; readonly byTimestamp: LatencySummary };
  readonly scan: ScanFigures;
}

async function largeLogPhases(root: string, config: Config): Promise<LargeLogResults> {
  const dir = path.join(root, 'lookup');
  const built = await buildLog(dir, Math.round(config.logGib * GIB));
  try {
    const lookups = lookupPhase(built, config);
    const scan = scanPhase(built.log, config);
    const log = { bytes: built.log.sizeBytes, records: built.log.endOffset, segments: built.log.segmentCount, buildMBps: built.buildMBps };
    return { log, lookups, scan };
  } finally {
    await built.log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ratiosOf(appends: AppendResults, scan: ScanFigures): Record<string, number> {
  return {
    append64KiBNeverVsRaw: ratio(appends.largeNever.dataMBps, appends.raw.mbPerSec),
    append64KiBAlwaysVsRawSynced: ratio(appends.largeAlways.dataMBps, appends.rawSynced.mbPerSec),
    scanVsMemcpy: ratio(scan.mbPerSec, scan.memcpyMBps),
    scanFirstPassVsMemcpy: ratio(scan.firstPassMBps, scan.memcpyMBps),
  };
}

function targetsOf(
  appends: AppendResults,
  ratios: Record<string, number>,
  large: LargeLogResults,
  recovery: RecoveryFigures,
): Record<string, boolean> {
  return {
    append100BNeverAtLeast2MRecordsPerSec: appends.smallNever.recordsPerSec >= 2_000_000,
    append64KiBNeverVsRawAtLeast0_70: (ratios.append64KiBNeverVsRaw ?? 0) >= 0.7,
    scanVsMemcpyAtLeast0_50: (ratios.scanVsMemcpy ?? 0) >= 0.5,
    lookupByOffsetP99Under20Us: large.lookups.byOffset.p99Us < 20,
    lookupByTimestampP99Under20Us: large.lookups.byTimestamp.p99Us < 20,
    recoveryUnder1000Ms: recovery.openMs < 1000,
  };
}

async function main(): Promise<void> {
  const config = readConfig();
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-log-bench-'));
  const env = environment(root);
  echoConfig(config, env);
  try {
    const appends = await appendPhases(root, config);
    const large = await largeLogPhases(root, config);
    const recovery = await recoveryPhase(root, Math.round(config.logGib * GIB));
    const ratios = ratiosOf(appends, large.scan);
    const targets = targetsOf(appends, ratios, large, recovery);
    for (const [name, value] of Object.entries(ratios)) console.log(`ratio ${name}: ${value}`);
    for (const [name, met] of Object.entries(targets)) console.log(`target ${name}: ${met ? 'met' : 'MISSED'}`);
    const { rootDir: _rootDir, ...shownConfig } = config;
    const result = { bench: 'log', mbBytes: MB, config: shownConfig, environment: env, appends, ...large, recovery, ratios, targets };
    finish(result, config.jsonPath);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
