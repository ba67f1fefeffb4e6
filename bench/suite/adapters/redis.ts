/**
 * Redis Streams as a system under test: redis-server in its own process with the AOF as its
 * only persistence (scripts/peers.ts). A stream of N shards is N stream keys `${stream}:${i}`,
 * a partition key picks its key by shardOfKey. A put is one pipeline of `XADD key * d <data>`
 * on the producer's own connection, acknowledged when every reply is in. A consumer is one
 * blocking XREAD over all N keys on a connection of its own, which close() disconnects.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import {
  OpenPorts,
  PEER_HOST,
  PeerError,
  asBuffer,
  findBinary,
  readUntilClosed,
  shardOfKey,
  startRedis,
  type PeerFactory,
  type PeerProcess,
  type PeerSystemUnderTest,
} from '../../../scripts/peers.js';
import type {
  BenchRecord,
  Ceiling,
  CeilingSpec,
  ConsumerOptions,
  ConsumerPort,
  FsyncSetting,
  ProducerPort,
  PutOutcome,
  StreamSpec,
} from '../types.js';

/** Entries one XREAD returns per key at most: bounds a reply while keeping calls few. */
const READ_COUNT_MAX = 1000;
/** The one field of every entry, holding the record's data. */
const DATA_FIELD = 'd';
/** redis-benchmark's ceiling: one connection, 64 commands pipelined (the measurement), and a count for about the time asked. */
const CEILING_PIPELINE = 64;
const CEILING_RECORDS_PER_SECOND_GUESS = 400_000;
const CEILING_KEY = 'ceiling';

function durabilityOf(fsync: FsyncSetting): string {
  if (fsync === 'always')
    return 'AOF, appendfsync always: fsynced before the reply (one fsync per event-loop pass, shared by its commands)';
  if (fsync === 'never') return 'AOF, appendfsync no: written to the OS page cache before the reply, fsync left to the OS';
  return `AOF, appendfsync everysec (Redis has no ${fsync.intervalMs} ms interval, only 1 s): in the page cache at the reply (or up to 2 s in Redis' memory behind a slow fsync), fsynced about once a second`;
}

/** A connection that fails instead of queueing or reconnecting: a lost peer must fail the run. */
async function connectRedis(port: number): Promise<Redis> {
  const redis = new Redis({
    host: PEER_HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  await redis.connect();
  return redis;
}

async function serverVersion(redis: Redis): Promise<string> {
  const version = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
  if (version === undefined) throw new PeerError('PeerRequestFailed', 'redis INFO server has no redis_version line');
  return version;
}

export const redisFactory: PeerFactory = {
  name: 'redis',
  async start(fsync, dataRoot) {
    const peer = await startRedis(fsync, dataRoot);
    try {
      const admin = await connectRedis(peer.port);
      return new RedisSystem(peer, admin, await serverVersion(admin), durabilityOf(fsync));
    } catch (error) {
      await peer.stop();
      throw error;
    }
  },
};

class RedisSystem implements PeerSystemUnderTest {
  readonly name = 'redis';
  readonly consumerModes = ['push'] as const;
  readonly supportsLimits = false;
  /** Each stream's shard keys, in shard order. */
  private readonly keys = new Map<string, readonly string[]>();
  private readonly ports = new OpenPorts();

  constructor(
    readonly peer: PeerProcess,
    private readonly admin: Redis,
    readonly version: string,
    readonly durability: string,
  ) {}

  /** Stream keys come into being with their first XADD: only the names are recorded. */
  async createStreams(spec: StreamSpec): Promise<void> {
    for (const name of spec.names)
      this.keys.set(
        name,
        Array.from({ length: spec.shards }, (_, i) => `${name}:${i}`),
      );
  }

  async openProducer(): Promise<ProducerPort> {
    const redis = await connectRedis(this.peer.port);
    return {
      put: (stream, records) => put(redis, this.keysOf(stream), records),
      close: this.ports.add(async () => void (await redis.quit())),
    };
  }

  async openConsumer(options: ConsumerOptions): Promise<ConsumerPort> {
    if (options.mode !== 'push') throw new PeerError('PeerRequestFailed', `redis consumers push only, not ${options.mode}`);
    const keys = this.keysOf(options.stream);
    const redis = await connectRedis(this.peer.port);
    const close = readUntilClosed(
      `redis consumer of ${options.stream}`,
      (isOpen) => readKeys(redis, keys, options.onRecord, isOpen),
      () => redis.disconnect(),
    );
    return { close: this.ports.add(close) };
  }

  /** redis-benchmark's XADD of records of the same size, on this server as it is configured (its AOF setting). */
  async ceiling(spec: CeilingSpec): Promise<Ceiling> {
    const records = Math.round(CEILING_RECORDS_PER_SECOND_GUESS * spec.seconds);
    const args = ['-h', PEER_HOST, '-p', String(this.peer.port), '-c', '1', '-P', String(CEILING_PIPELINE), '-n', String(records), '--csv'];
    const command = ['XADD', CEILING_KEY, '*', DATA_FIELD, 'x'.repeat(spec.recordBytes)];
    const { stdout } = await promisify(execFile)(findBinary('redis-benchmark'), [...args, ...command], { maxBuffer: 1 << 20 });
    const recordsPerSec = rpsOf(stdout);
    const stored = await this.admin.xlen(CEILING_KEY);
    await this.admin.del(CEILING_KEY);
    if (stored !== records) throw new PeerError('PeerRequestFailed', `redis-benchmark: ${stored} of ${records} XADDs stored`);
    return {
      tool: `redis-benchmark -c 1 -P ${CEILING_PIPELINE} XADD (${spec.recordBytes} B)`,
      records,
      seconds: Math.round((records / recordsPerSec) * 1000) / 1000,
      recordsPerSec: Math.round(recordsPerSec),
    };
  }

  async stop(): Promise<void> {
    await this.ports.closeAll();
    this.admin.disconnect();
    await this.peer.stop();
  }

  private keysOf(stream: string): readonly string[] {
    const keys = this.keys.get(stream);
    if (keys === undefined) throw new PeerError('PeerRequestFailed', `redis: stream ${stream} was not created`);
    return keys;
  }
}

/** The rps column of redis-benchmark's --csv output (a header line, then one line per test). */
function rpsOf(csv: string): number {
  const [header, row] = csv
    .trim()
    .split('\n')
    .map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '')));
  const column = header?.indexOf('rps') ?? -1;
  const rps = column < 0 ? NaN : Number(row?.[column]);
  if (!Number.isFinite(rps) || rps <= 0) throw new PeerError('PeerRequestFailed', `redis-benchmark printed no rps: ${csv}`);
  return rps;
}

async function put(redis: Redis, keys: readonly string[], records: readonly BenchRecord[]): Promise<PutOutcome> {
  const pipeline = redis.pipeline();
  for (const record of records) pipeline.xadd(keys[shardOfKey(record.partitionKey, keys.length)]!, '*', DATA_FIELD, asBuffer(record.data));
  const replies = await pipeline.exec();
  if (replies === null) throw new PeerError('PeerRequestFailed', 'redis XADD pipeline was discarded');
  for (const [error] of replies) {
    if (error !== null) throw new PeerError('PeerRequestFailed', `redis XADD failed: ${error.message}`, { cause: error });
  }
  return { throttled: 0 };
}

/** Reads every key from its start, in order per key, until closed (a blocked XREAD rejects on disconnect). */
async function readKeys(redis: Redis, keys: readonly string[], onRecord: (data: Uint8Array) => void, isOpen: () => boolean): Promise<void> {
  const shardOf = new Map(keys.map((key, shard) => [key, shard]));
  const lastIds = keys.map(() => '0-0');
  while (isOpen()) {
    const reply = await redis.xreadBuffer('COUNT', READ_COUNT_MAX, 'BLOCK', 0, 'STREAMS', ...keys, ...lastIds);
    for (const [key, entries] of reply ?? []) {
      for (const [, fields] of entries) onRecord(fields[1]!);
      const last = entries[entries.length - 1];
      if (last !== undefined) lastIds[shardOf.get(key.toString())!] = last[0].toString();
    }
  }
}
