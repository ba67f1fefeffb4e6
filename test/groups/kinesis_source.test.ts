import {
  CreateStreamCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { DynamoDBLeaseStore } from '../../src/groups/dynamodb_lease_store.js';
import { EngineLeaseStore } from '../../src/groups/embedded.js';
import type { LeaseStore } from '../../src/groups/lease.js';
import { KinesisApiSource } from '../../src/groups/kinesis_source.js';
import type { Retrieval } from '../../src/groups/record_source.js';
import type { ShardRecordProcessor } from '../../src/groups/processor.js';
import { GroupWorker } from '../../src/groups/worker.js';
import { DYNALITE_CREDENTIALS, useDynalite } from '../helpers/dynalite.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: a consumer group reads any Kinesis endpoint through the AWS SDK, by push
// (SubscribeToShard's event stream) and by polling (GetShardIterator, GetRecords): every record
// processed exactly once over two workers, and a split shard's children after all of its
// records for each key; with the leases in shardline's lease tables or in a DynamoDB table (the
// whole path a group takes on AWS). Method: shardline's real HTTP server (HTTP/2, the SDK's
// default) on a free port, records put and shards split through the SDK; the leases in the
// lease tables of the server's engine, or in dynalite (the DynamoDB emulator from npm) on a free
// port through @aws-sdk/client-dynamodb; workers in this process with failover 600 ms.

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const FAST = { failoverTimeMillis: 600, takeIntervalMillis: 300, shardSyncIntervalMillis: 300, parentShardPollIntervalMillis: 100 };
// A lease moving to the other worker is subscribed again there only after Kinesis' 5 seconds.
const WAIT = { timeout: 30_000, interval: 50 };

let engine: Engine;
let endpoint = '';
useKinesisServer('shardline-group-kinesis-api-', (running) => {
  engine = running.engine;
  endpoint = running.server.url;
});

let dynamoEndpoint = '';
useDynalite((url) => (dynamoEndpoint = url));

let sdk: KinesisClient;
beforeAll(() => {
  sdk = new KinesisClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
});
afterAll(() => sdk.destroy());

const workers: GroupWorker[] = [];
const closing: { close(): void }[] = [];
/** What the workers got past: a read's failure the source did not recognize as retriable, a processor's. */
const errors: unknown[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.shutdown()));
  for (const client of closing.splice(0)) client.close();
  errors.splice(0);
});

interface Processed {
  readonly shardId: string;
  readonly partitionKey: string;
  /** The record's place in the order of the puts. */
  readonly index: number;
}

/** Checkpoints after each batch, at the shard's end and on shutdown: a lease moved between batches takes all it processed along. */
function processorInto(processed: Processed[]): () => ShardRecordProcessor {
  return () => {
    let shardId = '';
    return {
      initialize: (input) => void (shardId = input.shardId),
      processRecords: async ({ records, checkpointer }) => {
        for (const record of records)
          processed.push({ shardId, partitionKey: record.partitionKey, index: Number(Buffer.from(record.data).toString().slice(1)) });
        await checkpointer.checkpoint();
      },
      leaseLost: () => undefined,
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
    };
  };
}

type Leases = 'lease tables' | 'DynamoDB';

/** The group's leases: the KCL names its table after the application, as the group here. */
function leaseStore(leases: Leases, streamName: string): LeaseStore {
  if (leases === 'lease tables') return new EngineLeaseStore(engine, streamName, streamName);
  const store = new DynamoDBLeaseStore({ tableName: streamName, endpoint: dynamoEndpoint, credentials: DYNALITE_CREDENTIALS });
  closing.push(store);
  return store;
}

function startWorker(streamName: string, retrieval: Retrieval, leases: Leases, workerId: string, processed: Processed[]): GroupWorker {
  const source = new KinesisApiSource({
    streamName,
    endpoint,
    credentials: CREDENTIALS,
    retrieval,
    ...(retrieval === 'polling' ? { idleTimeBetweenReadsMillis: 50 } : {}),
  });
  const worker = new GroupWorker({
    groupName: streamName,
    workerId,
    source,
    leases: leaseStore(leases, streamName),
    processor: processorInto(processed),
    onError: (error) => errors.push(error),
    initialPosition: 'TRIM_HORIZON',
    ...FAST,
  });
  workers.push(worker);
  closing.push(source);
  return worker;
}

async function createStream(streamName: string, shardCount: number): Promise<void> {
  await sdk.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
}

/** Records r{from} to r{from + count - 1} (at most 500: one PutRecords), over `keys` partition keys. */
async function put(streamName: string, from: number, count: number, keys: number): Promise<void> {
  const Records = Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${(from + i) % keys}`, Data: Buffer.from(`r${from + i}`) }));
  await sdk.send(new PutRecordsCommand({ StreamName: streamName, Records }));
}

async function shards(streamName: string): Promise<Shard[]> {
  return (await sdk.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
}

const recordsProcessed = (worker: GroupWorker): number => worker.shardProgress.reduce((sum, shard) => sum + shard.recordsProcessed, 0);

const PATHS: [Retrieval, Leases][] = [
  ['push', 'lease tables'],
  ['polling', 'lease tables'],
  ['push', 'DynamoDB'],
  ['polling', 'DynamoDB'],
];

describe.each(PATHS)('consumer group over the Kinesis HTTP API by %s, leases in %s', (retrieval, leases) => {
  const name = (test: string): string => `${test}-${retrieval}-${leases === 'DynamoDB' ? 'ddb' : 'tables'}`;

  it('moves leases to a joining worker and processes every record exactly once', async () => {
    const streamName = name('join');
    await createStream(streamName, 4);
    await put(streamName, 0, 400, 400);
    const processed: Processed[] = [];
    const a = startWorker(streamName, retrieval, leases, 'a', processed);
    await a.start();
    await vi.waitFor(() => expect(recordsProcessed(a)).toBe(400), WAIT);
    // a is idle when b steals: each lease moves between batches, after a's checkpoint of all it
    // processed (a steal during a batch would have b read that batch again: at least once).
    const b = startWorker(streamName, retrieval, leases, 'b', processed);
    await b.start();
    await vi.waitFor(() => expect([a.heldShards.length, b.heldShards.length]).toEqual([2, 2]), WAIT);
    await put(streamName, 400, 400, 400);
    await vi.waitFor(() => expect(processed.length).toBeGreaterThanOrEqual(800), WAIT);
    expect(processed.map((record) => record.index).sort((x, y) => x - y)).toEqual(Array.from({ length: 800 }, (_, i) => i));
    expect(new Set(processed.map((record) => record.shardId)).size).toBe(4);
    // The subscription b made within 5 seconds of a's was refused, and waited out inside the source.
    expect(errors).toEqual([]);
  });

  it("processes a split shard's children after all of its records, for each partition key", async () => {
    const streamName = name('split');
    await createStream(streamName, 2);
    const processed: Processed[] = [];
    const a = startWorker(streamName, retrieval, leases, 'a', processed);
    const b = startWorker(streamName, retrieval, leases, 'b', processed);
    await Promise.all([a.start(), b.start()]);
    await put(streamName, 0, 400, 40);
    const [parent] = await shards(streamName);
    const { StartingHashKey, EndingHashKey } = parent!.HashKeyRange!;
    const middle = (BigInt(StartingHashKey!) + BigInt(EndingHashKey!)) / 2n;
    await sdk.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: parent!.ShardId, NewStartingHashKey: middle.toString() }));
    await put(streamName, 400, 400, 40);
    await vi.waitFor(() => expect(new Set(processed.map((record) => record.index)).size).toBe(800), WAIT);
    const children = new Set(
      (await shards(streamName)).filter((shard) => shard.ParentShardId === parent!.ShardId).map((shard) => shard.ShardId),
    );
    expect(children.size).toBe(2);
    // At least once (a lease may be stolen during a batch), but no child's record before the parent's last.
    for (const key of new Set(processed.map((record) => record.partitionKey))) {
      const order = processed.filter((record) => record.partitionKey === key).map((record) => record.shardId);
      const firstOfChildren = order.findIndex((shardId) => children.has(shardId));
      if (firstOfChildren >= 0) expect(order.lastIndexOf(parent!.ShardId!), `records of ${key}`).toBeLessThan(firstOfChildren);
    }
    expect([...children].every((child) => processed.some((record) => record.shardId === child))).toBe(true);
    expect(errors).toEqual([]);
  });
});
