/**
 * The peers the benchmark suite compares shardline with, each a child process of ours: Redis
 * (AOF on), NATS with JetStream (file store) and kinesalite (LevelDB on disk). Every peer binds
 * 127.0.0.1 only, on a free port, keeps its data in a fresh directory under the caller's root,
 * and is ready when its own log line says so. stop() sends SIGTERM, waits for the exit and
 * removes the directory. Children never outlive us: they are killed when this process exits
 * or is told to by a signal (a SIGKILL of ours cannot be caught: that one case would orphan them).
 * The last section holds what the three adapters (bench/suite/adapters/) share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { FsyncSetting, SystemFactory, SystemUnderTest } from '../bench/suite/types.js';

export const PEER_HOST = '127.0.0.1';
export const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Output kept for error messages: enough for the last few log lines. */
const OUTPUT_TAIL_BYTES = 4096;
/** Another process can take the free port between our probe and the child's bind: try again. */
const START_ATTEMPTS_MAX = 3;
/** Debian installs nats-server in /usr/sbin, which is not on a normal user's PATH. */
const EXTRA_BINARY_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
/** kinesalite refuses streams past this many shards in all (its default is 10, Kinesis' old quota). */
const KINESALITE_SHARD_LIMIT = 10_000;

export type PeerErrorCode = 'PeerNotInstalled' | 'PeerStartFailed' | 'PeerStopFailed' | 'PeerRequestFailed';

export class PeerError extends Error {
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return this.code;
  }
}

/** A running peer process. */
export interface PeerProcess {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  stop(): Promise<void>;
}

interface PeerSpec {
  readonly name: string;
  readonly command: string;
  /** The arguments; may first write files the peer needs into its data directory. */
  readonly args: (dataDir: string, port: number) => readonly string[];
  /** The log line that says the peer accepts connections. */
  readonly ready: RegExp;
}

// ---------------------------------------------------------------- the peers

/** Redis' AOF fsync policy for a setting: it has no interval but one second. */
export function redisAppendfsync(fsync: FsyncSetting): 'always' | 'everysec' | 'no' {
  if (fsync === 'always') return 'always';
  return fsync === 'never' ? 'no' : 'everysec';
}

/** Redis with the AOF as its only persistence (no RDB snapshots), fsynced as the setting says. */
export async function startRedis(fsync: FsyncSetting, dataRoot: string): Promise<PeerProcess> {
  return startPeer(dataRoot, {
    name: 'redis',
    command: findBinary('redis-server'),
    args: (dataDir, port) => [
      '--port',
      String(port),
      '--bind',
      PEER_HOST,
      '--dir',
      dataDir,
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      redisAppendfsync(fsync),
      '--save',
      '',
    ],
    ready: /Ready to accept connections/,
  });
}

/**
 * nats-server with JetStream storing in the data directory. 2.9.10 knows no fsync setting
 * (sync_interval came in 2.10 and is refused as an unknown field): its file store fsyncs every
 * two minutes whatever we ask, so the setting is not passed on (the adapter says so).
 */
export async function startNats(dataRoot: string): Promise<PeerProcess> {
  return startPeer(dataRoot, {
    name: 'nats',
    command: findBinary('nats-server'),
    args: (dataDir, port) => {
      const configFile = path.join(dataDir, 'nats.conf');
      fs.writeFileSync(configFile, `listen: "${PEER_HOST}:${port}"\njetstream {\n  store_dir: ${JSON.stringify(dataDir)}\n}\n`);
      return ['-js', '-c', configFile];
    },
    ready: /Server is ready/,
  });
}

/**
 * kinesalite in a Node process of its own, LevelDB in the data directory, streams ACTIVE at
 * once. Its CLI listens on every interface, so a one-line program calls listen() with our host.
 */
export async function startKinesalite(dataRoot: string): Promise<PeerProcess> {
  const program = [
    'const [modulePath, port, dir, shardLimit] = process.argv.slice(1);',
    'const options = { path: dir, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: Number(shardLimit) };',
    'const server = require(modulePath)(options);',
    // Node closes idle keep-alive sockets after 5 s; a client reusing one as it closes gets ECONNRESET.
    'server.keepAliveTimeout = 10 * 60 * 1000; server.headersTimeout = server.keepAliveTimeout + 1000;',
    `server.listen(Number(port), '${PEER_HOST}', () => console.log('kinesalite listening'));`,
  ].join('\n');
  return startPeer(dataRoot, {
    name: 'kinesalite',
    command: process.execPath,
    args: (dataDir, port) => ['-e', program, kinesaliteModule(), String(port), dataDir, String(KINESALITE_SHARD_LIMIT)],
    ready: /kinesalite listening/,
  });
}

export function kinesaliteModule(): string {
  return createRequire(import.meta.url).resolve('kinesalite');
}

// ---------------------------------------------------------------- processes

/** A command by name from PATH or the usual system directories; throws when it is nowhere. */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== ''), ...EXTRA_BINARY_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // Not here: try the next directory.
    }
  }
  throw new PeerError(
    'PeerNotInstalled',
    `${name} is not installed (looked in PATH and ${EXTRA_BINARY_DIRS.join(', ')}): run scripts/setup_peers.sh`,
  );
}

async function startPeer(dataRoot: string, spec: PeerSpec): Promise<PeerProcess> {
  for (let attempt = 1; ; attempt++) {
    const dataDir = fs.mkdtempSync(path.join(dataRoot, `${spec.name}-`));
    try {
      return await launch(spec, dataDir, await freePort());
    } catch (error) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (attempt >= START_ATTEMPTS_MAX || !(error instanceof PeerError) || error.code !== 'PeerStartFailed') throw error;
    }
  }
}

async function launch(spec: PeerSpec, dataDir: string, port: number): Promise<PeerProcess> {
  const child = spawn(spec.command, spec.args(dataDir, port), { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = new OutputTail();
  // Read the output for as long as the child lives: a full pipe would stall its logging.
  child.stdout!.on('data', (chunk: Buffer) => output.add(chunk));
  child.stderr!.on('data', (chunk: Buffer) => output.add(chunk));
  try {
    await untilReady(child, spec, output);
  } catch (error) {
    await kill(child, 'SIGKILL');
    throw error;
  }
  return {
    name: spec.name,
    port,
    dataDir,
    pid: child.pid!,
    stop: async () => {
      await kill(child, 'SIGTERM').catch((error: unknown) => {
        throw new PeerError('PeerStopFailed', `${spec.name} (pid ${child.pid}) did not exit on SIGTERM: ${output.text()}`, {
          cause: error,
        });
      });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function untilReady(child: ChildProcess, spec: PeerSpec, output: OutputTail): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      reject(new PeerError('PeerStartFailed', `${spec.name} ${message}; its output: ${output.text()}`, { cause }));
    };
    const onOutput = (): void => {
      if (!spec.ready.test(output.text())) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null, signal: string | null): void => fail(`exited (${signal ?? code}) before it was ready`);
    const onError = (error: Error): void => fail(`could not be started (${spec.command}): ${error.message}`, error);
    const timer = setTimeout(() => fail(`was not ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      output.off(onOutput);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    output.on(onOutput);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Sends the signal and waits for the exit; SIGTERM that is ignored for too long rejects. */
/** Signals the child and waits for its exit; SIGKILL and a rejection after STOP_TIMEOUT_MS. */
export function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit ${STOP_TIMEOUT_MS / 1000} s after ${signal}: killed`));
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The last OUTPUT_TAIL_BYTES a child wrote, to say why it failed; tells listeners of new output. */
class OutputTail {
  private tail = '';
  private readonly listeners = new Set<() => void>();

  add(chunk: Buffer): void {
    this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    for (const listener of this.listeners) listener();
  }

  text(): string {
    return this.tail.trim() === '' ? '(none)' : this.tail.trim();
  }

  on(listener: () => void): void {
    this.listeners.add(listener);
  }

  off(listener: () => void): void {
    this.listeners.delete(listener);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, PEER_HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- no orphans

const live = new Set<ChildProcess>();
const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

/** Kills the child with this process, whether it exits or is signalled: no orphans. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of EXIT_SIGNALS) process.once(signal, onSignal);
}

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * A handler for a signal cancels Node's default exit. When ours was the only one, nobody else
 * will end the process, so after killing the children we raise the signal again for the default.
 */
function onSignal(signal: NodeJS.Signals): void {
  killAll();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

// ---------------------------------------------------------------- what the adapters share

/** What every peer adapter returns: the system, and the process behind it for tests to inspect. */
export interface PeerSystemUnderTest extends SystemUnderTest {
  readonly peer: PeerProcess;
}

export interface PeerFactory extends SystemFactory {
  start(fsync: FsyncSetting, dataRoot: string): Promise<PeerSystemUnderTest>;
}

/**
 * The shard of a partition key for the peers that do not hash keys themselves (Redis, NATS):
 * FNV-1a over the key's UTF-16 code units, cheap and the same in every process.
 */
export function shardOfKey(partitionKey: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) hash = Math.imul(hash ^ partitionKey.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}

/** A Buffer over the same bytes: clients take Buffers, and records are views into shared slabs. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** The ports a system handed out and that are not closed yet, so that stop() can close the rest. */
export class OpenPorts {
  private readonly closers = new Set<() => Promise<void>>();

  /** The close to hand out: it runs once, and forgets the port. */
  add(close: () => Promise<void>): () => Promise<void> {
    let closing: Promise<void> | null = null;
    const closeOnce = (): Promise<void> => {
      this.closers.delete(closeOnce);
      return (closing ??= close());
    };
    this.closers.add(closeOnce);
    return closeOnce;
  }

  /** At stop the peer goes away regardless, so a port that fails to close is not an error. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.closers].map((close) => close()));
  }
}

/**
 * Runs a consumer's read loop until the returned close(), which disconnects (releasing a blocked
 * read) and then rejects if the loop had stopped on its own, failed or not, before it was asked to.
 */
export function readUntilClosed(
  what: string,
  read: (isOpen: () => boolean) => Promise<void>,
  disconnect: () => unknown,
): () => Promise<void> {
  let open = true;
  const stopped = read(() => open).then(
    () => (open ? new Error('the read loop ended') : null),
    (error: unknown) => (open ? error : null),
  );
  return async () => {
    open = false;
    await disconnect();
    const error = await stopped;
    if (error !== null)
      throw new PeerError('PeerRequestFailed', `${what} stopped reading before close: ${errorText(error)}`, { cause: error });
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
