/**
 * shardline's ingest capacity, not one Node producer's (issue 23): the server
 * (bench/net_bench_server.ts, MODE shardline, fsync never, limits off) in its own process, fed
 * 100 B records into a stream of 4 shards over the WebSocket by K producer processes
 * (bench/capacity_producer.ts: the client's Producer at max rate, IN_FLIGHT records in flight
 * each), K = 1, 2, 3, 4 by default, a fresh server and data directory for each K.
 *
 * For each K, after WARMUP_SECONDS, over BENCH_SECONDS: acknowledged records/s in all and per
 * producer, and the CPU every process spent in that window from /proc (user + system clock
 * ticks / 100): each producer process (and its main thread), the server per thread (its main
 * thread, tid = pid, is the I/O thread: uWS, decoding, routing; the busiest others are the
 * shard workers, as many as the engine starts; the rest V8's and libuv's helpers), and the
 * machine as a whole from /proc/stat. The limit named for each K is the thread or process
 * closest to a full core; when every core is busy, the producers' CPU is CPU the server's
 * threads did not get, and the output says so.
 *
 * After each K the server is stopped and an engine opened on its data directory counts the
 * records each shard holds (describeShardPositions): at least the acknowledged total, or the
 * run fails.
 *
 * Usage: npm run bench:capacity [-- --json <file>]
 * With RECORD_BYTES of 64 KiB or more, the page-cache write rate (fs.writeSync of records of that
 * size into the data directory, bench/page_cache_write.ts) is measured first, and each K's MB/s
 * is given as a share of it.
 *
 * Environment: BENCH_SECONDS (10), WARMUP_SECONDS (2), PRODUCERS (1,2,3,4), RECORD_BYTES (100),
 * IN_FLIGHT (50000 below 1 KiB records, else 256),
 * BENCH_DIR (os.tmpdir()). Last line of stdout: one JSON object. MB = 10^6 bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/client/node.js';
import { resolveEngineOptions } from '../src/config.js';
import { Engine } from '../src/index.js';
import { kill, track } from '../scripts/peers.js';
import { MB, echoEnvironment, envNumber, environment, finish, jsonPathArg, ratio, round1 } from './bench_common.js';
import { startBenchServer } from './bench_server.js';
import { rawWritePhase } from './page_cache_write.js';
import type { ChildMessage, ParentMessage } from './capacity_producer.js';

const STREAM = 'capacity';
const SHARDS = 4;
/** Records this big are held to the page-cache write rate (issue 23: at least 70 % of it). */
const LARGE_RECORD_BYTES = 64 * 1024;
const TICKS_PER_SECOND = 100;
const PRODUCER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'capacity_producer.ts');
const SERVER_SCRIPT_NAME = 'net_bench_server.ts';
/** A thread or process at this share of a core or more is called saturated. */
const SATURATED_PERCENT = 90;
const READY_TIMEOUT_MS = 30_000;

const recordBytes = Math.round(envNumber('RECORD_BYTES', 100, 1, 1024 * 1024));
const config = {
  seconds: envNumber('BENCH_SECONDS', 10, 0.5, 3600),
  warmupSeconds: envNumber('WARMUP_SECONDS', 2, 0, 600),
  producers: (process.env.PRODUCERS ?? '1,2,3,4').split(',').map((text) => {
    const k = Number(text);
    if (!Number.isSafeInteger(k) || k < 1 || k > 64) throw new Error(`PRODUCERS must list integers from 1 to 64, got ${text}`);
    return k;
  }),
  recordBytes,
  // 50,000 records of 100 B in flight are 5 MB; as many of 64 KiB would be 3 GB.
  inFlight: Math.round(envNumber('IN_FLIGHT', recordBytes >= 1024 ? 256 : 50_000, 1, 10_000_000)),
  shards: SHARDS,
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const RECORD_BYTES = config.recordBytes;
const cores = os.cpus().length;
/** The shard worker threads the server's engine starts (its default, on this machine). */
const shardWorkers = resolveEngineOptions({ dataDir: config.rootDir }).workers;

// ---------------------------------------------------------------- /proc

/** utime + stime of a /proc stat line, in clock ticks (fields 14 and 15; the command may hold spaces). */
function statTicks(file: string): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(file, 'utf8');
  } catch {
    return null; // the thread or process ended
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * The server's pid: bench_server.ts keeps its child to itself, so the deepest process under
 * this one that runs net_bench_server.ts (deepest: a BENCH_SERVER_WRAP wrapper's command line
 * names the script too).
 */
function findServerPid(): number {
  const pids = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const depthUnderUs = (pid: number): number => {
    let depth = 0;
    for (let at: number | null = pid; at !== null && at > 1; at = parentPid(at), depth++) if (at === process.pid) return depth;
    return -1;
  };
  let best = { pid: -1, depth: 0 };
  for (const pid of pids) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes(SERVER_SCRIPT_NAME)) continue;
    const depth = depthUnderUs(pid);
    if (depth > best.depth) best = { pid, depth };
  }
  if (best.pid < 0) throw new Error(`no process running ${SERVER_SCRIPT_NAME} under this one`);
  return best.pid;
}

interface ThreadTicks {
  readonly tid: number;
  readonly name: string;
  readonly ticks: number;
}

function threadTicks(pid: number): ThreadTicks[] {
  const threads: ThreadTicks[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const ticks = statTicks(`/proc/${pid}/task/${tid}/stat`);
    if (ticks === null) continue;
    let name = '?';
    try {
      name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      // ended meanwhile: its ticks stand
    }
    threads.push({ tid: Number(tid), name, ticks });
  }
  return threads;
}

/** The machine's busy and steal ticks over all cores, from /proc/stat's first line. */
function machineTicks(): { busy: number; steal: number; total: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

interface CpuSnapshot {
  readonly atMs: number;
  readonly server: ThreadTicks[];
  readonly serverProcess: number;
  readonly producers: Array<{ readonly process: number; readonly main: number }>;
  readonly machine: { busy: number; steal: number; total: number };
}

function snapshot(serverPid: number, producerPids: readonly number[]): CpuSnapshot {
  return {
    atMs: performance.now(),
    server: threadTicks(serverPid),
    serverProcess: statTicks(`/proc/${serverPid}/stat`) ?? 0,
    producers: producerPids.map((pid) => ({
      process: statTicks(`/proc/${pid}/stat`) ?? 0,
      main: statTicks(`/proc/${pid}/task/${pid}/stat`) ?? 0,
    })),
    machine: machineTicks(),
  };
}

/** CPU % of one core: ticks over the window's seconds. */
function percent(ticks: number, seconds: number): number {
  return round1((ticks / TICKS_PER_SECOND / seconds) * 100);
}

interface ServerCpu {
  readonly processPercent: number;
  readonly ioThreadPercent: number;
  readonly shardWorkerPercents: number[];
  readonly otherThreadsPercent: number;
  readonly threads: Array<{ tid: number; name: string; role: string; percent: number }>;
}

function serverCpu(serverPid: number, before: CpuSnapshot, after: CpuSnapshot, seconds: number): ServerCpu {
  const start = new Map(before.server.map((thread) => [thread.tid, thread.ticks]));
  const spent = after.server
    .map((thread) => ({ tid: thread.tid, name: thread.name, ticks: thread.ticks - (start.get(thread.tid) ?? 0) }))
    .sort((a, b) => b.ticks - a.ticks);
  const io = spent.find((thread) => thread.tid === serverPid);
  const others = spent.filter((thread) => thread.tid !== serverPid);
  const workers = others.slice(0, shardWorkers);
  const rest = others.slice(shardWorkers);
  const roleOf = (tid: number): string => {
    if (tid === serverPid) return 'I/O';
    return workers.some((thread) => thread.tid === tid) ? 'shard worker' : 'other';
  };
  return {
    processPercent: percent(after.serverProcess - before.serverProcess, seconds),
    ioThreadPercent: percent(io?.ticks ?? 0, seconds),
    shardWorkerPercents: workers.map((thread) => percent(thread.ticks, seconds)),
    otherThreadsPercent: percent(
      rest.reduce((sum, thread) => sum + thread.ticks, 0),
      seconds,
    ),
    threads: spent
      .filter((thread) => thread.ticks > 0)
      .map((thread) => ({ tid: thread.tid, name: thread.name, role: roleOf(thread.tid), percent: percent(thread.ticks, seconds) })),
  };
}

// ---------------------------------------------------------------- producer processes

interface ProducerProcess {
  readonly pid: number;
  send(message: ParentMessage): void;
  next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>>;
  exited: Promise<void>;
  stop(): Promise<void>;
}

function startProducer(index: number, url: string): ProducerProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', PRODUCER_SCRIPT], {
    env: {
      ...process.env,
      SERVER_URL: url,
      STREAM,
      PRODUCER_INDEX: String(index),
      RECORD_BYTES: String(RECORD_BYTES),
      IN_FLIGHT: String(config.inFlight),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  const waiting = new Map<string, Array<(message: ChildMessage) => void>>();
  const failures = new Set<(error: Error) => void>();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve();
      if (code !== 0) for (const fail of failures) fail(new Error(`producer ${index} exited (${code ?? signal}) unexpectedly`));
    });
  });
  child.on('message', (message: ChildMessage) => waiting.get(message.type)?.shift()?.(message));
  return {
    pid: child.pid!,
    send: (message) => child.send(message),
    next: <T extends ChildMessage['type']>(type: T) =>
      new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`producer ${index}: no '${type}' within ${READY_TIMEOUT_MS / 1000} s`)),
          READY_TIMEOUT_MS,
        );
        const settle = (): void => {
          clearTimeout(timer);
          failures.delete(reject);
        };
        failures.add(reject);
        const queue = waiting.get(type) ?? [];
        waiting.set(type, queue);
        queue.push((message) => {
          settle();
          resolve(message as Extract<ChildMessage, { type: T }>);
        });
      }),
    exited,
    stop: () => kill(child, 'SIGKILL').catch(() => undefined),
  };
}

/** Asks every producer for its acknowledged count; reads the CPU meanwhile (the reply's delay is the same at both ends). */
async function mark(producers: readonly ProducerProcess[], serverPid: number): Promise<{ cpu: CpuSnapshot; acknowledged: number[] }> {
  const replies = producers.map((producer) => producer.next('mark'));
  for (const producer of producers) producer.send({ type: 'mark' });
  const cpu = snapshot(
    serverPid,
    producers.map((producer) => producer.pid),
  );
  return { cpu, acknowledged: (await Promise.all(replies)).map((reply) => reply.acknowledged) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- one K

interface ProducerFigures {
  readonly index: number;
  readonly recordsPerSec: number;
  readonly processCpuPercent: number;
  readonly mainThreadCpuPercent: number;
}

interface MachineCpu {
  readonly cores: number;
  /** All processes' CPU, from /proc/stat, in % of one core. */
  readonly busyPercent: number;
  readonly stealPercent: number;
  readonly capacityPercent: number;
  /** What neither the server nor the producers spent: this process, and any other job. */
  readonly otherProcessesPercent: number;
}

interface CapacityRun {
  readonly producers: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly dataMBps: number;
  readonly perProducer: ProducerFigures[];
  readonly server: ServerCpu;
  readonly producersCpuPercent: number;
  readonly machine: MachineCpu;
  readonly limit: ReturnType<typeof limitOf>;
  readonly acknowledgedTotal: number;
  readonly stored: number;
  readonly storedPerShard: number[];
  readonly verified: boolean;
}

/**
 * The limit: the server thread or producer process closest to a full core, when one is at
 * SATURATED_PERCENT or more; else, when the machine's cores are that busy, the cores themselves
 * (the producers' and the server's threads wait for a core in turn); else none of them (waiting,
 * not CPU, bounds it).
 */
function limitOf(server: ServerCpu, producers: readonly ProducerFigures[], machine: MachineCpu, producersCpu: number) {
  const candidates = [
    { name: 'the server I/O thread', percent: server.ioThreadPercent },
    ...server.shardWorkerPercents.map((value, i) => ({
      name: server.shardWorkerPercents.length > 1 ? `server shard worker ${i + 1}` : 'the server shard worker',
      percent: value,
    })),
    // A producer counts as a process: the CPU of its V8 helpers (GC) is the cost of its puts too.
    ...producers.map((producer) => ({
      name: `producer ${producer.index} (process; main thread ${producer.mainThreadCpuPercent} %)`,
      percent: producer.processCpuPercent,
    })),
  ];
  const busiest = candidates.reduce((a, b) => (b.percent > a.percent ? b : a));
  const saturated = busiest.percent >= SATURATED_PERCENT;
  const machineSaturated = machine.busyPercent >= (SATURATED_PERCENT / 100) * machine.capacityPercent;
  let name: string;
  if (saturated) name = busiest.name;
  else if (machineSaturated) name = `the machine's ${cores} cores`;
  else name = 'no thread nor the cores';
  const parts = [`${name}: the busiest is ${busiest.name} at ${busiest.percent} % of a core`];
  if (machineSaturated)
    parts.push(
      `all ${cores} cores busy (${machine.busyPercent} % of ${machine.capacityPercent} %), ` +
        `the producers' ${producersCpu} % of it CPU the server's threads did not get`,
    );
  else parts.push(`${round1(machine.capacityPercent - machine.busyPercent)} % of the machine idle`);
  return { name, busiest: busiest.name, busiestPercent: busiest.percent, saturated, machineSaturated, text: parts.join('; ') };
}

async function storedRecords(dataDir: string): Promise<number[]> {
  const engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false });
  try {
    const { Shards } = await engine.describeShardPositions({ StreamName: STREAM });
    return Shards.map((shard) => shard.RecordCount);
  } finally {
    await engine.close();
  }
}

async function runK(root: string, k: number): Promise<CapacityRun> {
  const dataDir = path.join(root, `k${k}`);
  const server = await startBenchServer({ MODE: 'shardline', DATA_DIR: dataDir, FSYNC: 'never', LIMITS: 'off' });
  const producers: ProducerProcess[] = [];
  let serverStopped = false;
  try {
    const serverPid = findServerPid();
    const url = `ws://127.0.0.1:${server.port}/`;
    const admin = await connect(url, { clientName: 'capacity-admin' });
    await admin.call('CreateStream', { StreamName: STREAM, ShardCount: SHARDS });
    admin.close();
    for (let i = 1; i <= k; i++) producers.push(startProducer(i, url));
    await Promise.all(producers.map((producer) => producer.next('ready')));
    for (const producer of producers) producer.send({ type: 'go' });
    await sleep(config.warmupSeconds * 1000);
    const start = await mark(producers, serverPid);
    await sleep(config.seconds * 1000);
    const end = await mark(producers, serverPid);
    const done = producers.map((producer) => producer.next('done'));
    for (const producer of producers) producer.send({ type: 'stop' });
    const results = await Promise.all(done);
    await Promise.all(producers.map((producer) => producer.exited));
    await server.stop();
    serverStopped = true;

    const seconds = (end.cpu.atMs - start.cpu.atMs) / 1000;
    const perProducer = producers.map((_, i) => ({
      index: i + 1,
      recordsPerSec: Math.round((end.acknowledged[i]! - start.acknowledged[i]!) / seconds),
      processCpuPercent: percent(end.cpu.producers[i]!.process - start.cpu.producers[i]!.process, seconds),
      mainThreadCpuPercent: percent(end.cpu.producers[i]!.main - start.cpu.producers[i]!.main, seconds),
    }));
    const recordsPerSec = perProducer.reduce((sum, producer) => sum + producer.recordsPerSec, 0);
    const cpu = serverCpu(serverPid, start.cpu, end.cpu, seconds);
    const producersCpuPercent = round1(perProducer.reduce((sum, producer) => sum + producer.processCpuPercent, 0));
    const machineTotal = end.cpu.machine.total - start.cpu.machine.total;
    const machineFigures = {
      cores,
      busyPercent: round1(((end.cpu.machine.busy - start.cpu.machine.busy) / machineTotal) * cores * 100),
      stealPercent: round1(((end.cpu.machine.steal - start.cpu.machine.steal) / machineTotal) * cores * 100),
      capacityPercent: cores * 100,
    };
    const machine: MachineCpu = {
      ...machineFigures,
      otherProcessesPercent: round1(machineFigures.busyPercent - cpu.processPercent - producersCpuPercent),
    };
    const limit = limitOf(cpu, perProducer, machine, producersCpuPercent);

    const failed = results.reduce((sum, result) => sum + result.failed, 0);
    if (failed > 0)
      throw new Error(`K=${k}: ${failed} puts failed, the first: ${results.find((result) => result.firstError !== null)?.firstError}`);
    const acknowledgedTotal = results.reduce((sum, result) => sum + result.acknowledged, 0);
    const storedPerShard = await storedRecords(dataDir);
    const stored = storedPerShard.reduce((sum, count) => sum + count, 0);
    const run: CapacityRun = {
      producers: k,
      seconds: round1(seconds),
      recordsPerSec,
      dataMBps: round1((recordsPerSec * RECORD_BYTES) / MB),
      perProducer,
      server: cpu,
      producersCpuPercent,
      machine,
      limit,
      acknowledgedTotal,
      stored,
      storedPerShard,
      verified: stored >= acknowledgedTotal,
    };
    report(run);
    if (!run.verified) throw new Error(`K=${k}: the stream holds ${stored} records, fewer than the ${acknowledgedTotal} acknowledged`);
    return run;
  } finally {
    await Promise.all(producers.map((producer) => producer.stop()));
    if (!serverStopped) await server.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(run: CapacityRun): void {
  const n = (value: number): string => value.toLocaleString('en-US');
  const { server } = run;
  console.log(`K=${run.producers} producer process(es), ${run.seconds} s measured:`);
  console.log(`  acknowledged: ${n(run.recordsPerSec)} records/s in all (${run.dataMBps} MB/s of data)`);
  for (const producer of run.perProducer)
    console.log(
      `  producer ${producer.index}: ${n(producer.recordsPerSec)} records/s, CPU ${producer.processCpuPercent} % (main thread ${producer.mainThreadCpuPercent} %)`,
    );
  console.log(
    `  server: CPU ${server.processPercent} % in all: I/O thread ${server.ioThreadPercent} %, ` +
      `shard worker${server.shardWorkerPercents.length > 1 ? 's' : ''} ${server.shardWorkerPercents.map((value) => `${value} %`).join(', ')}, ` +
      `other threads ${server.otherThreadsPercent} %`,
  );
  console.log(
    `  server threads: ${server.threads.map((thread) => `${thread.tid} ${thread.name} (${thread.role}) ${thread.percent} %`).join(', ')}`,
  );
  console.log(
    `  machine: ${run.machine.busyPercent} % of ${run.machine.capacityPercent} % busy (${cores} cores), steal ${run.machine.stealPercent} %; ` +
      `producers ${run.producersCpuPercent} %, server ${server.processPercent} %, other processes ${run.machine.otherProcessesPercent} %`,
  );
  console.log(`  limit: ${run.limit.text}`);
  console.log(
    `  verified: the stream holds ${n(run.stored)} records (${run.storedPerShard.map(n).join(' + ')}), ` +
      `${run.verified ? 'at least' : 'FEWER than'} the ${n(run.acknowledgedTotal)} acknowledged`,
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  fs.mkdirSync(config.rootDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(config.rootDir, 'shardline-capacity-'));
  const env = environment(root);
  echoEnvironment('shardline capacity benchmark', env);
  console.log(
    `  ${RECORD_BYTES} B records into ${SHARDS} shards over the WebSocket, fsync never, limits off; K = ${config.producers.join(', ')} producer processes, ` +
      `each a Producer at max rate with ${config.inFlight} records in flight; ${config.seconds} s measured after ${config.warmupSeconds} s warm-up`,
  );
  console.log(
    `  ${cores} cores; the server runs 1 I/O thread and ${shardWorkers} shard worker(s): with K producer processes on ${cores} cores, ` +
      `the producers take cores from the server, so the figures are this machine's total, not the server's alone`,
  );
  try {
    const pageCache =
      RECORD_BYTES >= LARGE_RECORD_BYTES ? rawWritePhase(root, 'page-cache-write', RECORD_BYTES, null, config.seconds) : null;
    const runs: CapacityRun[] = [];
    for (const k of config.producers) runs.push(await runK(root, k));
    const best = runs.reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a));
    const first = runs[0]!;
    console.log('summary:');
    for (const run of runs)
      console.log(
        `  K=${run.producers}: ${run.recordsPerSec.toLocaleString('en-US')} records/s (${ratio(run.recordsPerSec, first.recordsPerSec)}x K=${first.producers}); ` +
          `I/O ${run.server.ioThreadPercent} %, worker ${run.server.shardWorkerPercents.join('/')} %, producers ${run.producersCpuPercent} %, machine ${run.machine.busyPercent}/${run.machine.capacityPercent} %; limit: ${run.limit.name}`,
      );
    console.log(`  best: K=${best.producers} at ${best.recordsPerSec.toLocaleString('en-US')} records/s, limit there: ${best.limit.text}`);
    if (pageCache !== null)
      console.log(
        `  against the page-cache write rate: best ${best.dataMBps} MB/s = ${ratio(best.dataMBps, pageCache.mbPerSec)} of ${pageCache.mbPerSec} MB/s`,
      );
    console.log(
      `  on ${cores} cores the producers' CPU comes out of the server's: past the cores the server's threads leave free, ` +
        `more producer processes measure this machine, not the server's capacity`,
    );
    const { rootDir: _rootDir, jsonPath: _jsonPath, ...shownConfig } = config;
    finish(
      {
        bench: 'capacity',
        mbBytes: MB,
        config: { ...shownConfig, shardWorkers },
        environment: env,
        runs,
        pageCache,
        best: { producers: best.producers, recordsPerSec: best.recordsPerSec, dataMBps: best.dataMBps },
      },
      config.jsonPath,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
