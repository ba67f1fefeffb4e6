import fs from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { kinesaliteFactory } from '../../bench/suite/adapters/kinesalite.js';
import { natsFactory } from '../../bench/suite/adapters/nats.js';
import { redisFactory } from '../../bench/suite/adapters/redis.js';
import type { BenchRecord, ConsumerMode, ConsumerPort, FsyncSetting } from '../../bench/suite/types.js';
import { PEER_HOST, type PeerSystemUnderTest } from '../../scripts/peers.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: each peer adapter starts its server on 127.0.0.1 in a fresh directory, carries records
// from a producer to every consumer mode it offers, each record once, unchanged and in put order
// per partition key, and on stop leaves neither a process listening nor a file behind. Method:
// the real servers (redis-server, nats-server, kinesalite) started by the adapters; 2,000
// records whose data holds their index, put in batches of 250 over a stream of 2 shards, read
// back by consumers opened before the first put. A missing server binary fails the test.

const STREAM = 'peer-test';
const SHARDS = 2;
const RECORDS = 2000;
const BATCH_RECORDS = 250;
const KEYS = 7;
const INDEX_BYTES = 4;
/** Only a deadline for a consumer that lost records: nothing is measured. */
const READ_ALL_TIMEOUT_MS = 60_000;

/** Record i: key i mod KEYS; data its index, then 0..63 bytes spanning every byte value. */
function record(index: number): BenchRecord {
  const data = new Uint8Array(INDEX_BYTES + (index % 64));
  new DataView(data.buffer).setUint32(0, index, true);
  for (let i = INDEX_BYTES; i < data.length; i++) data[i] = (index * 37 + i * 101) & 0xff;
  return { partitionKey: `pk-${index % KEYS}`, data };
}

function indexOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, INDEX_BYTES).getUint32(0, true);
}

interface Reader {
  readonly mode: ConsumerMode;
  readonly port: ConsumerPort;
  readonly received: Uint8Array[];
}

async function openReader(system: PeerSystemUnderTest, mode: ConsumerMode): Promise<Reader> {
  const received: Uint8Array[] = [];
  const port = await system.openConsumer({ stream: STREAM, mode, onRecord: (data) => received.push(data) });
  return { mode, port, received };
}

function expectEveryRecordOnceInKeyOrder(received: readonly Uint8Array[]): void {
  expect(received.length).toBe(RECORDS);
  const seen = new Set<number>();
  const lastOfKey = new Map<string, number>();
  for (const data of received) {
    const index = indexOf(data);
    const expected = record(index);
    expect(Buffer.from(data).equals(Buffer.from(expected.data))).toBe(true);
    expect(seen.has(index)).toBe(false);
    seen.add(index);
    expect(index).toBeGreaterThan(lastOfKey.get(expected.partitionKey) ?? -1);
    lastOfKey.set(expected.partitionKey, index);
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: PEER_HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.each([redisFactory, natsFactory, kinesaliteFactory])('$name adapter', (factory) => {
  it('delivers every record once, unchanged, in put order per key, to every consumer mode; stop leaves nothing behind', async () => {
    const root = tempDir('shardline-peers-');
    const system = await factory.start('never', root);
    try {
      expect(system.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(system.supportsLimits).toBe(false);
      expect(fs.readdirSync(root)).toHaveLength(1);
      await system.createStreams({ names: [STREAM], shards: SHARDS, capacityMode: 'ON_DEMAND' });
      const readers = await Promise.all(system.consumerModes.map((mode) => openReader(system, mode)));
      const producer = await system.openProducer({ retryThrottled: false });
      for (let first = 0; first < RECORDS; first += BATCH_RECORDS) {
        const outcome = await producer.put(
          STREAM,
          Array.from({ length: BATCH_RECORDS }, (_, i) => record(first + i)),
        );
        expect(outcome.throttled).toBe(0);
      }
      await producer.close();
      for (const reader of readers) {
        await vi.waitFor(() => expect(reader.received.length, `${reader.mode} consumer`).toBeGreaterThanOrEqual(RECORDS), {
          timeout: READ_ALL_TIMEOUT_MS,
          interval: 10,
        });
        await reader.port.close();
        expectEveryRecordOnceInKeyOrder(reader.received);
      }
    } finally {
      await system.stop();
    }
    expect(fs.readdirSync(root)).toEqual([]);
    expect(await portAccepts(system.peer.port)).toBe(false);
  }, 120_000);
});

describe.each([redisFactory, natsFactory, kinesaliteFactory])('$name ceiling', (factory) => {
  it('loads the server with its own tool, every record it counts stored (the adapter checks), and says how', async () => {
    const root = tempDir('shardline-peers-');
    const system = await factory.start('never', root);
    try {
      const ceiling = await system.ceiling!({ recordBytes: 100, seconds: 0.3 });
      expect(ceiling.records).toBeGreaterThan(0);
      // redis-benchmark reports its own rate; its seconds are derived from it, to the ms.
      expect(Math.abs(ceiling.recordsPerSec - ceiling.records / ceiling.seconds)).toBeLessThan(ceiling.recordsPerSec * 0.01);
      expect(ceiling.tool).toMatch(/redis-benchmark|raw/);
    } finally {
      await system.stop();
    }
  }, 60_000);
});

describe.each([redisFactory, natsFactory])('$name fsync settings', (factory) => {
  it('starts under every setting and states a different durability for each', async () => {
    const settings: FsyncSetting[] = ['never', 'always', { intervalMs: 5 }];
    const statements: string[] = [];
    for (const fsync of settings) {
      const system = await factory.start(fsync, tempDir('shardline-peers-'));
      try {
        statements.push(system.durability);
        await system.createStreams({ names: [STREAM], shards: 1, capacityMode: 'ON_DEMAND' });
        const producer = await system.openProducer({ retryThrottled: false });
        expect(await producer.put(STREAM, [record(0), record(1)])).toEqual({ throttled: 0 });
        await producer.close();
      } finally {
        await system.stop();
      }
    }
    expect(new Set(statements).size).toBe(settings.length);
  }, 60_000);
});

describe('redis configuration', () => {
  it('runs the AOF alone, fsynced as the setting maps (intervals become everysec)', async () => {
    const expected: Array<[FsyncSetting, string]> = [
      ['never', 'no'],
      ['always', 'always'],
      [{ intervalMs: 5 }, 'everysec'],
    ];
    for (const [fsync, appendfsync] of expected) {
      const system = await redisFactory.start(fsync, tempDir('shardline-peers-'));
      const redis = new Redis({ host: PEER_HOST, port: system.peer.port, lazyConnect: true });
      try {
        await redis.connect();
        expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
        expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', appendfsync]);
        expect(await redis.config('GET', 'save')).toEqual(['save', '']);
        expect(await redis.config('GET', 'bind')).toEqual(['bind', PEER_HOST]);
      } finally {
        redis.disconnect();
        await system.stop();
      }
    }
  }, 60_000);
});
