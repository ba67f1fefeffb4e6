/**
 * The log-tailing agent's figures (issue 20), against `shardline serve` in its own process (fsync
 * never, limits off, no Kinesis HTTP API), every program the CLI from its sources (SOURCE_CLI):
 * - agent: `shardline agent --config agent.json --status-port 0` ships pre-written log files
 *   (initialPosition START_OF_FILE, maxBufferAgeMillis 1000, maxBufferSizeRecords 500) into a
 *   stream of SHARDS shards; timed from its banner until its status endpoint's RecordsSent counts
 *   every line (polled every POLL_MS, which bounds the error of each time).
 * - baseline, the same files in the same run: `tail -q -n +1 -F <files> | shardline put <stream>
 *   --rate-limit off` (the put CLI's default limiter, 150 % of a shard's write limit, would cap it
 *   at 1,500 lines/s a shard; the server's limits are off and the agent has no limiter); timed from
 *   tail's start until the stream holds every line. put is started first and left to settle (its
 *   CPU still for IDLE_SAMPLE_MS) so that neither its startup nor its connection is counted.
 * Each for one file and for FILES files under nested directories (a `**` pattern; tail takes them
 * all), and for lines of 100 B and 1 KiB (newline included): lines/s, MB/s of the files' bytes,
 * and CPU seconds per GB shipped (user + system from /proc/<pid>/stat; the agent's process from its
 * banner on, so tsx's startup is left out; tail's whole life plus put's from its settling on).
 * With VERIFY=1 every run's stream is then read back, outside the timing: each line's id must be
 * there exactly once. A run that fails (a stall, lines missing) is reported and the others go on.
 * Usage: npm run bench:agent [-- --json <file>]. Environment: LINES (200000 lines of 100 B a run),
 * LINES_1KIB (50000 lines of 1 KiB a run; both best multiples of 500, else the agent's last, partial
 * batch waits its 1 s), FILES (100), SHARDS (4), VERIFY (1), STALL_SECONDS (30: no progress that
 * long fails the run), RUN_TIMEOUT_SECONDS (600), BENCH_DIR (os.tmpdir()).
 * Last line: one JSON object. MB = 10^6 bytes, GB = 10^9 bytes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ShardlineClient } from '../src/client/node.js';
import { REPO_ROOT, SOURCE_CLI } from '../test/helpers/cli.js';
import { track } from '../scripts/peers.js';
import { KIB, MB, Progress, echoEnvironment, envNumber, environment, finish, jsonPathArg, ratio, round1 } from './bench_common.js';

const config = {
  lines: Math.round(envNumber('LINES', 200_000, 100, 100_000_000)),
  lines1KiB: Math.round(envNumber('LINES_1KIB', 50_000, 100, 10_000_000)),
  files: Math.round(envNumber('FILES', 100, 2, 10_000)),
  shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
  verify: envNumber('VERIFY', 1, 0, 1) === 1,
  stallSeconds: envNumber('STALL_SECONDS', 30, 1, 3600),
  runTimeoutSeconds: envNumber('RUN_TIMEOUT_SECONDS', 600, 10, 86_400),
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const GB = 1e9;
const LINE_SIZES = [100, KIB] as const;
const BUFFER_AGE_MS = 1000;
const BUFFER_RECORDS = 500;
const POLL_MS = 50;
const IDLE_SAMPLE_MS = 300;
const IDLE_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
/** The agent's own shutdown sends for at most 10 s; past this it is stuck. */
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_KEPT_CHARS = 8192;
/** Each line starts with its id in this many digits: the read-back finds every line by it. */
const ID_DIGITS = 10;
const READ_LIMIT = 10_000;
const EMPTY_READS_MAX = 100;
/**
 * A LATEST iterator carries its shard's end offset (src/streams/shard_iterator.ts's layout: a
 * version byte, then issuedAtMs u64, shardSerial u64, offset u64): a stream's record count in one
 * call a shard, where reading the records back would take a core from the processes measured.
 */
const ITERATOR_VERSION = 1;
const ITERATOR_OFFSET_POSITION = 17;
const CLOCK_TICKS = clockTicks();
const FILLER = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(40), 'latin1');

type Tool = 'agent' | 'tail|put';

interface Verification {
  readonly stored: number;
  readonly missing: number;
  readonly duplicates: number;
  /** Records whose data does not start with a line id of this run. */
  readonly foreign: number;
}

interface RunFigures {
  readonly tool: Tool;
  readonly files: number;
  readonly lineBytes: number;
  readonly lines: number;
  readonly bytes: number;
  readonly seconds?: number;
  readonly linesPerSec?: number;
  readonly mbPerSec?: number;
  readonly cpuSeconds?: number;
  readonly cpuSecondsPerGB?: number;
  /** cpuSeconds / seconds: the cores the shipping took. */
  readonly cores?: number;
  readonly verification?: Verification;
  readonly details?: Record<string, unknown>;
  readonly error?: string;
}

interface LogFiles {
  readonly pattern: string;
  readonly paths: readonly string[];
  readonly lines: number;
  readonly lineBytes: number;
  readonly bytes: number;
}

interface Timing {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

// ---------------------------------------------------------------- processes

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a live process (threads included), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces: the fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves true once the child has exited, false after `timeoutMs`. */
  exited(timeoutMs: number): Promise<boolean>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; what happened, in words. */
  stop(): Promise<string>;
}

function startChild(name: string, command: readonly string[], stdio: { stdin?: 'pipe' | 'ignore'; stdout?: Writable } = {}): Child {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    stdio: [stdio.stdin ?? 'ignore', stdio.stdout ?? 'pipe', 'pipe'],
  });
  track(child);
  if (child.pid === undefined) throw new Error(`${name} did not start: ${command.join(' ')}`);
  const output = { stdout: '', stderr: '' };
  const keep = (key: 'stdout' | 'stderr') => (text: string) => (output[key] = (output[key] + text).slice(-OUTPUT_KEPT_CHARS));
  child.stdout?.setEncoding('utf8').on('data', keep('stdout'));
  child.stderr!.setEncoding('utf8').on('data', keep('stderr'));
  const closed = once(child, 'close').then(() => undefined);
  const exited = (timeoutMs: number): Promise<boolean> => Promise.race([closed.then(() => true), sleep(timeoutMs, false, { ref: false })]);
  return {
    name,
    child,
    pid: child.pid,
    waitFor: (pattern, timeoutMs) => waitForOutput(name, child, () => output.stdout, pattern, timeoutMs),
    exited,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    stop: () => stopChild(child, exited),
  };
}

function waitForOutput(name: string, child: ChildProcess, text: () => string, pattern: RegExp, timeoutMs: number) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${name} did not print ${String(pattern)} within ${timeoutMs / 1000} s`)), timeoutMs);
    const check = (): void => {
      const match = pattern.exec(text());
      if (match !== null) finish(match);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`${name} exited (${signal ?? code}) before it printed ${String(pattern)}`));
    const finish = (outcome: RegExpMatchArray | Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', onExit);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    // After keep() (registered first): the text already holds the chunk that woke us.
    child.stdout?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

async function stopChild(child: ChildProcess, exited: (timeoutMs: number) => Promise<boolean>): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return `had exited (${child.signalCode ?? child.exitCode})`;
  const started = performance.now();
  child.kill('SIGTERM');
  if (await exited(STOP_TIMEOUT_MS))
    return `exited (${child.signalCode ?? child.exitCode}) ${round1((performance.now() - started) / 1000)} s after SIGTERM`;
  child.kill('SIGKILL');
  await exited(STOP_TIMEOUT_MS);
  return `no exit ${STOP_TIMEOUT_MS / 1000} s after SIGTERM: killed`;
}

/** Once the process has spent no CPU for IDLE_SAMPLE_MS (started, connected, waiting): its CPU then. */
async function settledCpu(child: Child): Promise<number> {
  const deadline = performance.now() + IDLE_TIMEOUT_MS;
  let last = cpuSeconds(child.pid);
  while (performance.now() < deadline) {
    await sleep(IDLE_SAMPLE_MS);
    const now = cpuSeconds(child.pid);
    if (now === last) return now;
    last = now;
  }
  throw new Error(`${child.name} was still busy ${IDLE_TIMEOUT_MS / 1000} s after its start; stderr: ${child.stderr()}`);
}

async function startServer(dataDir: string): Promise<{ server: Child; url: string }> {
  const args = ['serve', '--data-dir', dataDir, '--fsync', 'never', '--no-limits', '--port', '0', '--no-kinesis'];
  const server = startChild('shardline serve', [...SOURCE_CLI, ...args]);
  try {
    const match = await server.waitFor(/shardline listening on (ws:\/\/\S+)/, READY_TIMEOUT_MS);
    return { server, url: match[1]! };
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}; stderr: ${server.stderr()}`, { cause: error });
  }
}

// ---------------------------------------------------------------- log files

/** Line `id`: its id in ID_DIGITS digits, a space, filler, a newline; `lineBytes` in all. */
function putLine(target: Buffer, at: number, id: number, lineBytes: number): void {
  target.write(String(id).padStart(ID_DIGITS, '0'), at, 'latin1');
  target[at + ID_DIGITS] = 0x20;
  const from = id % 61;
  FILLER.copy(target, at + ID_DIGITS + 1, from, from + lineBytes - ID_DIGITS - 2);
  target[at + lineBytes - 1] = 0x0a;
}

function writeFile(file: string, firstId: number, count: number, lineBytes: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const perChunk = Math.max(1, Math.floor(MB / lineBytes));
  const chunk = Buffer.alloc(perChunk * lineBytes);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < count;) {
      const lines = Math.min(perChunk, count - written);
      for (let i = 0; i < lines; i++) putLine(chunk, i * lineBytes, firstId + written + i, lineBytes);
      fs.writeSync(fd, chunk, 0, lines * lineBytes);
      written += lines;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One file, or `files` files in two levels of directories, ids 0..lines-1 in contiguous runs. */
function writeLogFiles(dir: string, files: number, lines: number, lineBytes: number): LogFiles {
  const paths =
    files === 1
      ? [path.join(dir, 'app.log')]
      : Array.from({ length: files }, (_, i) => path.join(dir, 'logs', `host-${i % 10}`, `app-${Math.floor(i / 10)}`, `part-${i}.log`));
  let firstId = 0;
  paths.forEach((file, i) => {
    const count = Math.floor(lines / files) + (i < lines % files ? 1 : 0);
    writeFile(file, firstId, count, lineBytes);
    firstId += count;
  });
  const pattern = files === 1 ? paths[0]! : path.join(dir, 'logs', '**', '*.log');
  return { pattern, paths, lines, lineBytes, bytes: lines * lineBytes };
}

// ---------------------------------------------------------------- the stream

async function createStream(client: ShardlineClient, name: string): Promise<string[]> {
  await client.call('CreateStream', { StreamName: name, ShardCount: config.shards });
  return (await client.listAllShards({ StreamName: name })).map((shard) => shard.ShardId);
}

function iteratorOffset(token: string): number {
  const layout = Buffer.from(token, 'base64url');
  if (layout[0] !== ITERATOR_VERSION)
    throw new Error(`shard iterator version ${layout[0]}, not ${ITERATOR_VERSION}: see ITERATOR_OFFSET_POSITION in bench/agent_bench.ts`);
  return Number(layout.readBigUInt64LE(ITERATOR_OFFSET_POSITION));
}

async function shardEnd(client: ShardlineClient, stream: string, shardId: string): Promise<number> {
  const { ShardIterator } = await client.call('GetShardIterator', { StreamName: stream, ShardId: shardId, ShardIteratorType: 'LATEST' });
  return iteratorOffset(ShardIterator);
}

/** Records in the stream (a fresh stream: its shards' offsets start at 0). */
async function storedCount(client: ShardlineClient, stream: string, shardIds: readonly string[]): Promise<number> {
  const ends = await Promise.all(shardIds.map((shardId) => shardEnd(client, stream, shardId)));
  return ends.reduce((sum, end) => sum + end, 0);
}

function lineId(data: Uint8Array): number {
  if (data.length < ID_DIGITS) return -1;
  let id = 0;
  for (let i = 0; i < ID_DIGITS; i++) {
    const digit = data[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    id = id * 10 + digit;
  }
  return id;
}

/** Reads one shard to its end, counting each id in `seen`; the records read and the foreign ones. */
async function readShard(client: ShardlineClient, stream: string, shardId: string, seen: Uint8Array) {
  const end = await shardEnd(client, stream, shardId);
  let { ShardIterator: iterator } = await client.call('GetShardIterator', {
    StreamName: stream,
    ShardId: shardId,
    ShardIteratorType: 'TRIM_HORIZON',
  });
  let read = 0;
  let foreign = 0;
  for (let empty = 0; read < end && empty < EMPTY_READS_MAX;) {
    const page = await client.getRecords({ ShardIterator: iterator, Limit: READ_LIMIT });
    empty = page.Records.length === 0 ? empty + 1 : 0;
    for (const record of page.Records) {
      const id = lineId(record.Data);
      if (id < 0 || id >= seen.length) foreign++;
      else if (seen[id]! < 255) seen[id]!++;
    }
    read += page.Records.length;
    if (page.NextShardIterator === undefined) break;
    iterator = page.NextShardIterator;
  }
  return { read, foreign };
}

async function verifyStream(client: ShardlineClient, stream: string, shardIds: readonly string[], lines: number): Promise<Verification> {
  const seen = new Uint8Array(lines);
  let stored = 0;
  let foreign = 0;
  for (const shardId of shardIds) {
    const shard = await readShard(client, stream, shardId, seen);
    stored += shard.read;
    foreign += shard.foreign;
  }
  let missing = 0;
  let duplicates = 0;
  for (const count of seen) {
    if (count === 0) missing++;
    else duplicates += count - 1;
  }
  return { stored, missing, duplicates, foreign };
}

// ---------------------------------------------------------------- a run

/** Polls `count` until it reaches `total`; fails after STALL_SECONDS without progress or the run's timeout. */
async function untilShipped(label: string, files: LogFiles, count: () => Promise<number>, describe: () => Promise<string>): Promise<void> {
  const progress = new Progress(label);
  const started = performance.now();
  let last = -1;
  let lastChange = started;
  for (;;) {
    const now = performance.now();
    const done = await count();
    progress.tick(done, done * files.lineBytes);
    if (done >= files.lines) return;
    if (done !== last) [last, lastChange] = [done, now];
    if (now - lastChange > config.stallSeconds * 1000)
      throw new Error(`${label}: stalled at ${done} of ${files.lines} lines for ${config.stallSeconds} s; ${await describe()}`);
    if (now - started > config.runTimeoutSeconds * 1000)
      throw new Error(`${label}: ${done} of ${files.lines} lines after ${config.runTimeoutSeconds} s; ${await describe()}`);
    await sleep(POLL_MS);
  }
}

function runFigures(tool: Tool, files: LogFiles, timing: Timing, verification: Verification | undefined, details: Record<string, unknown>) {
  const figures: RunFigures = {
    tool,
    files: files.paths.length,
    lineBytes: files.lineBytes,
    lines: files.lines,
    bytes: files.bytes,
    seconds: Math.round(timing.seconds * 1000) / 1000,
    linesPerSec: Math.round(files.lines / timing.seconds),
    mbPerSec: round1(files.bytes / MB / timing.seconds),
    cpuSeconds: Math.round(timing.cpuSeconds * 100) / 100,
    cpuSecondsPerGB: round1(timing.cpuSeconds / (files.bytes / GB)),
    cores: ratio(timing.cpuSeconds, timing.seconds),
    ...(verification === undefined ? {} : { verification }),
    details,
  };
  console.log(`${runLabel(tool, files)}: ${describeFigures(figures)}`);
  return figures;
}

function runLabel(tool: Tool, files: LogFiles): string {
  const count = files.paths.length;
  return `${tool}, ${count} file${count === 1 ? '' : 's'}, ${files.lineBytes} B lines`;
}

function describeFigures(figures: RunFigures): string {
  const { linesPerSec, mbPerSec, seconds, cpuSeconds: cpu, cores, cpuSecondsPerGB, verification } = figures;
  const check =
    verification === undefined
      ? ''
      : `; read back ${verification.stored} records, ${verification.missing} lines missing, ${verification.duplicates} duplicated` +
        (verification.foreign > 0 ? `, ${verification.foreign} foreign` : '');
  return `${linesPerSec} lines/s, ${mbPerSec} MB/s (${seconds} s), CPU ${cpu} s (${cores} cores), ${cpuSecondsPerGB} CPU s/GB${check}`;
}

/** A failed check is an error of the run, but its figures stay: they say how far it got. */
function checked(verification: Verification | undefined, lines: number): string | undefined {
  if (verification === undefined) return undefined;
  const { stored, missing, duplicates, foreign } = verification;
  if (stored === lines && missing === 0 && duplicates === 0 && foreign === 0) return undefined;
  return `read back: ${stored} records for ${lines} lines, ${missing} missing, ${duplicates} duplicated, ${foreign} foreign`;
}

async function withStream<T>(client: ShardlineClient, name: string, run: (shardIds: string[]) => Promise<T>): Promise<T> {
  const shardIds = await createStream(client, name);
  try {
    return await run(shardIds);
  } finally {
    // Frees its disk for the next run.
    await client.call('DeleteStream', { StreamName: name }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- the agent

interface FlowStatus {
  readonly metrics: Record<string, number>;
  readonly buffered: number;
  readonly files: ReadonlyArray<{ readonly path: string; readonly readOffset: number; readonly ackedOffset: number }>;
  readonly lastError?: string;
}

async function flowStatus(url: string): Promise<FlowStatus> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const body = (await response.json()) as { flows: FlowStatus[] };
  return body.flows[0]!;
}

function describeFlow(status: FlowStatus, files: LogFiles): string {
  const read = status.files.reduce((sum, file) => sum + file.readOffset, 0);
  const acked = status.files.reduce((sum, file) => sum + file.ackedOffset, 0);
  const error = status.lastError === undefined ? '' : `, lastError: ${status.lastError}`;
  return (
    `agent status: ${status.files.length} of ${files.paths.length} files tracked, ${read} of ${files.bytes} bytes read, ` +
    `${acked} acknowledged, ${status.buffered} records buffered, metrics ${JSON.stringify(status.metrics)}${error}`
  );
}

function agentConfig(root: string, url: string, stream: string, files: LogFiles): string {
  const file = path.join(root, `agent-${stream}.json`);
  const flow = {
    filePattern: files.pattern,
    kinesisStream: stream,
    initialPosition: 'START_OF_FILE',
    maxBufferAgeMillis: BUFFER_AGE_MS,
    maxBufferSizeRecords: BUFFER_RECORDS,
  };
  const json = { 'kinesis.endpoint': url, checkpointFile: path.join(root, `checkpoints-${stream}`), flows: [flow] };
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  return file;
}

async function agentRun(client: ShardlineClient, root: string, url: string, stream: string, files: LogFiles): Promise<RunFigures> {
  return withStream(client, stream, async (shardIds) => {
    const agent = startChild('shardline agent', [
      ...SOURCE_CLI,
      'agent',
      '--config',
      agentConfig(root, url, stream, files),
      '--status-port',
      '0',
    ]);
    const details: Record<string, unknown> = {};
    try {
      const statusUrl = (await agent.waitFor(/status at (http:\/\/\S+)/, READY_TIMEOUT_MS))[1]!;
      const started = performance.now();
      const cpuBefore = cpuSeconds(agent.pid);
      const sent = async (): Promise<number> => (await flowStatus(statusUrl)).metrics['RecordsSent'] ?? 0;
      await untilShipped(runLabel('agent', files), files, sent, async () => describeFlow(await flowStatus(statusUrl), files));
      const timing = { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(agent.pid) - cpuBefore };
      const status = await flowStatus(statusUrl);
      Object.assign(details, { metrics: status.metrics, storedAtEnd: await storedCount(client, stream, shardIds) });
      if (status.lastError !== undefined) details['lastError'] = status.lastError;
      const verification = config.verify ? await verifyStream(client, stream, shardIds, files.lines) : undefined;
      const figures = runFigures('agent', files, timing, verification, details);
      const problem = checked(verification, files.lines);
      return problem === undefined ? figures : { ...figures, error: problem };
    } catch (error) {
      return failedRun('agent', files, error, agent, details);
    } finally {
      details['stop'] = await agent.stop();
      if (!/agent stopped/.test(agent.stdout())) details['stopOutput'] = agent.stdout().slice(-500);
    }
  });
}

function failedRun(tool: Tool, files: LogFiles, error: unknown, child: Child, details: Record<string, unknown>): RunFigures {
  const stderr = child.stderr().trim();
  const message = `${(error as Error).message}${stderr === '' ? '' : `; ${child.name} stderr: ${stderr.slice(-2000)}`}`;
  console.log(`${runLabel(tool, files)}: FAILED: ${message}`);
  return { tool, files: files.paths.length, lineBytes: files.lineBytes, lines: files.lines, bytes: files.bytes, details, error: message };
}

// ---------------------------------------------------------------- the baseline

async function baselineRun(client: ShardlineClient, url: string, stream: string, files: LogFiles): Promise<RunFigures> {
  return withStream(client, stream, async (shardIds) => {
    const put = startChild('shardline put', [...SOURCE_CLI, 'put', stream, '--url', url, '--rate-limit', 'off'], { stdin: 'pipe' });
    let tail: Child | null = null;
    const details: Record<string, unknown> = {};
    try {
      const putBefore = await settledCpu(put);
      const started = performance.now();
      tail = startChild('tail', ['tail', '-q', '-n', '+1', '-F', ...files.paths], { stdout: put.child.stdin! });
      // tail holds the pipe's write end now; ours closed, put sees its end when tail's goes.
      put.child.stdin!.destroy();
      const count = (): Promise<number> => storedCount(client, stream, shardIds);
      const describe = async (): Promise<string> => `put's stderr: ${put.stderr().trim() || '(none)'}`;
      await untilShipped(runLabel('tail|put', files), files, count, describe);
      const seconds = (performance.now() - started) / 1000;
      const putCpu = cpuSeconds(put.pid) - putBefore;
      const tailCpu = cpuSeconds(tail.pid);
      Object.assign(details, { putCpuSeconds: round2(putCpu), tailCpuSeconds: round2(tailCpu) });
      const verification = config.verify ? await verifyStream(client, stream, shardIds, files.lines) : undefined;
      const figures = runFigures('tail|put', files, { seconds, cpuSeconds: putCpu + tailCpu }, verification, details);
      const problem = checked(verification, files.lines);
      return problem === undefined ? figures : { ...figures, error: problem };
    } catch (error) {
      return failedRun('tail|put', files, error, put, details);
    } finally {
      details['tailStop'] = (await tail?.stop()) ?? 'not started';
      // At its stdin's end put sends what it holds and exits.
      if (!(await put.exited(STOP_TIMEOUT_MS))) details['putStop'] = await put.stop();
      details['putSaid'] = put.stderr().trim().slice(-300);
    }
  });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

// ---------------------------------------------------------------- main

interface Comparison {
  readonly files: number;
  readonly lineBytes: number;
  /** agent lines/s / baseline lines/s. */
  readonly agentToBaselineLinesPerSec: number;
  /** agent CPU s/GB / baseline CPU s/GB. */
  readonly agentToBaselineCpuPerGB: number;
}

async function shape(client: ShardlineClient, root: string, url: string, fileCount: number, lineBytes: number): Promise<RunFigures[]> {
  const lines = lineBytes === KIB ? config.lines1KiB : config.lines;
  const dir = path.join(root, `logs-${fileCount}-${lineBytes}`);
  const files = writeLogFiles(dir, fileCount, lines, lineBytes);
  try {
    const name = `${fileCount}files-${lineBytes}b`;
    return [await agentRun(client, root, url, `agent-${name}`, files), await baselineRun(client, url, `baseline-${name}`, files)];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function comparison([agent, baseline]: RunFigures[]): Comparison | null {
  if (agent?.linesPerSec === undefined || baseline?.linesPerSec === undefined) return null;
  const compared = {
    files: agent.files,
    lineBytes: agent.lineBytes,
    agentToBaselineLinesPerSec: ratio(agent.linesPerSec, baseline.linesPerSec),
    agentToBaselineCpuPerGB: ratio(agent.cpuSecondsPerGB!, baseline.cpuSecondsPerGB!),
  };
  console.log(
    `  ${agent.files} file(s), ${agent.lineBytes} B: agent ${compared.agentToBaselineLinesPerSec}x the lines/s of tail|put, ` +
      `${compared.agentToBaselineCpuPerGB}x its CPU per GB`,
  );
  return compared;
}

async function runAll(root: string, url: string): Promise<{ runs: RunFigures[]; comparisons: Comparison[] }> {
  const client = await connect(url);
  const runs: RunFigures[] = [];
  const comparisons: Comparison[] = [];
  try {
    for (const lineBytes of LINE_SIZES)
      for (const fileCount of [1, config.files]) {
        const pair = await shape(client, root, url, fileCount, lineBytes);
        runs.push(...pair);
        const compared = comparison(pair);
        if (compared !== null) comparisons.push(compared);
      }
  } finally {
    client.close();
  }
  return { runs, comparisons };
}

const EXIT_CODES: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Ctrl-C: scripts/peers.ts kills the children (its handler, registered with the first child, runs
 * before this one), and the finally blocks never run: the files are removed here.
 */
function removeOnSignal(root: string): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 });
    process.exit(EXIT_CODES[signal] ?? 1);
  };
  const signals = Object.keys(EXIT_CODES) as NodeJS.Signals[];
  for (const signal of signals) process.once(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

async function main(): Promise<void> {
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-agent-bench-'));
  let server: Child | null = null;
  let unhook = (): void => undefined;
  try {
    const env = environment(root);
    const { rootDir: _rootDir, jsonPath: _jsonPath, ...shownConfig } = config;
    echoEnvironment('bench:agent', { ...env, ...shownConfig, clockTicks: CLOCK_TICKS });
    if (config.lines % BUFFER_RECORDS !== 0 || config.lines1KiB % BUFFER_RECORDS !== 0)
      console.log(
        `  note: a count of lines not a multiple of ${BUFFER_RECORDS} leaves the agent a last batch that waits ${BUFFER_AGE_MS} ms`,
      );
    const started = await startServer(path.join(root, 'data'));
    server = started.server;
    unhook = removeOnSignal(root);
    const { runs, comparisons } = await runAll(root, started.url);
    const failed = runs.filter((run) => run.error !== undefined).length;
    if (failed > 0) process.exitCode = 1;
    finish({ bench: 'agent', mbBytes: MB, gbBytes: GB, config: shownConfig, environment: env, runs, comparisons, failed }, config.jsonPath);
  } finally {
    await server?.stop();
    unhook();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
