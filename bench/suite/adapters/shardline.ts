/**
 * shardline as a system under test: the real server in its own process (bench/net_bench_server.ts)
 * and the Node client over WebSockets. Producers send each batch as one PUT frame
 * (client.putRecords), whose per-record results say which were throttled. Push consumers are registered
 * (enhanced fan-out) subscriptions to every shard; poll consumers loop GetRecords per shard.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, connect, type ClientGetRecordsResult, type ShardlineClient } from '../../../src/client/node.js';
import { OpenPorts, readUntilClosed } from '../../../scripts/peers.js';
import { startBenchServer } from '../../bench_server.js';
import type {
  BenchRecord,
  ConsumerOptions,
  ConsumerPort,
  FsyncSetting,
  ProducerPort,
  PutOutcome,
  StreamSpec,
  SystemFactory,
  SystemUnderTest,
} from '../types.js';

const PACKAGE_JSON = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json');
const THROTTLED = 'ProvisionedThroughputExceededException';
const PUT_ATTEMPTS_MAX = 20;
const RETRY_WAIT_MS = 20;
/** A poll that found nothing waits this long: about what a tight KCL-style poller would. */
const EMPTY_POLL_WAIT_MS = 1;
/** GetRecords throttled (5 calls/s per shard when PROVISIONED): back off this long. */
const THROTTLED_POLL_WAIT_MS = 200;

function fsyncText(fsync: FsyncSetting): string {
  return typeof fsync === 'string' ? fsync : String(fsync.intervalMs);
}

function durabilityOf(fsync: FsyncSetting): string {
  if (fsync === 'always') return 'fsync always: acknowledged after the batch is fdatasynced (group commit)';
  if (fsync === 'never') return "fsync never: acknowledged once in the log's mapped pages (the OS page cache), not fsynced";
  return `fsync every ${fsync.intervalMs} ms: acknowledged once in the page cache, fdatasynced within ${fsync.intervalMs} ms`;
}

export const shardlineFactory: SystemFactory = {
  name: 'shardline',
  async start(fsync, dataRoot, options) {
    const dataDir = fs.mkdtempSync(path.join(dataRoot, 'shardline-'));
    const server = await startBenchServer({
      MODE: 'shardline',
      DATA_DIR: dataDir,
      FSYNC: fsyncText(fsync),
      LIMITS: options?.enforceLimits === true ? 'on' : 'off',
    }).catch((error: unknown) => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    const stopServer = async (): Promise<void> => {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      const url = `ws://127.0.0.1:${server.port}/`;
      const control = await connect(url, { clientName: 'bench-control' });
      const version = (JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
      return new ShardlineSystem(url, control, version, durabilityOf(fsync), stopServer);
    } catch (error) {
      await stopServer().catch(() => undefined);
      throw error;
    }
  },
};

class ShardlineSystem implements SystemUnderTest {
  readonly name = 'shardline';
  readonly consumerModes = ['push', 'poll'] as const;
  readonly supportsLimits = true;
  private readonly ports = new OpenPorts();
  private consumers = 0;

  constructor(
    private readonly url: string,
    private readonly control: ShardlineClient,
    readonly version: string,
    readonly durability: string,
    private readonly stopServer: () => Promise<void>,
  ) {}

  async createStreams(spec: StreamSpec): Promise<void> {
    for (const name of spec.names)
      await this.control.call('CreateStream', {
        StreamName: name,
        ShardCount: spec.shards,
        StreamModeDetails: { StreamMode: spec.capacityMode },
      });
  }

  async openProducer(options: { readonly retryThrottled: boolean }): Promise<ProducerPort> {
    const client = await connect(this.url, { clientName: 'bench-producer' });
    return producerPort(
      client,
      options.retryThrottled,
      this.ports.add(async () => client.close()),
    );
  }

  async openConsumer(options: ConsumerOptions): Promise<ConsumerPort> {
    const client = await connect(this.url, { clientName: 'bench-consumer' });
    const read = options.mode === 'push' ? () => this.push(client, options) : () => poll(client, options);
    const close = readUntilClosed(`shardline ${options.mode} consumer`, read, () => client.close());
    return { close: this.ports.add(close) };
  }

  async stop(): Promise<void> {
    await this.ports.closeAll();
    this.control.close();
    await this.stopServer();
  }

  private async push(client: ShardlineClient, options: ConsumerOptions): Promise<void> {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: options.stream });
    const { Consumer: registered } = await client.call('RegisterStreamConsumer', {
      StreamARN: StreamDescriptionSummary.StreamARN as string,
      ConsumerName: `bench-${++this.consumers}`,
    });
    const records = new Consumer(client).subscribeStream({
      streamName: options.stream,
      consumerARN: registered.ConsumerARN,
      startingPosition: { Type: 'TRIM_HORIZON' },
      reconnectAttemptsMax: 0,
    });
    for await (const record of records) options.onRecord(record.Data);
  }
}

/**
 * client.putRecords: one PUT frame per batch, as the runner already batches (at most 500, like
 * the peers' pipelines and PutRecords). Throttled records are tried again after a short
 * jittered wait when asked to, else reported by index. Other retriable failures (SlowDown, a
 * dropped connection) are always tried again; a put that still fails after PUT_ATTEMPTS_MAX
 * rejects, so that a failing server is counted as errors, never as throttling.
 */
function producerPort(client: ShardlineClient, retryThrottled: boolean, close: () => Promise<void>): ProducerPort {
  return {
    put: async (stream, records): Promise<PutOutcome> => {
      const dropped: number[] = [];
      let pending = records.map((record, index) => ({ record, index }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > PUT_ATTEMPTS_MAX) throw new Error(`${pending.length} records still failing after ${PUT_ATTEMPTS_MAX} attempts`);
        if (attempt > 1) await sleep(Math.random() * RETRY_WAIT_MS * attempt);
        const { throttled, failed } = await putOnce(client, stream, pending);
        if (!retryThrottled) dropped.push(...throttled.map((entry) => entry.index));
        pending = retryThrottled ? [...throttled, ...failed] : failed;
      }
      return dropped.length === 0 ? { throttled: 0 } : { throttled: dropped.length, throttledIndices: dropped };
    },
    close,
  };
}

interface Pending {
  readonly record: BenchRecord;
  readonly index: number;
}

/** Sorts one put's records into throttled and otherwise retriably failed; anything else throws. */
async function putOnce(
  client: ShardlineClient,
  stream: string,
  pending: readonly Pending[],
): Promise<{ throttled: Pending[]; failed: Pending[] }> {
  let results;
  try {
    results = await client.putRecords(
      stream,
      pending.map((entry) => entry.record),
    );
  } catch (error) {
    if ((error as { retriable?: boolean }).retriable === true) return { throttled: [], failed: [...pending] };
    throw error;
  }
  const throttled: Pending[] = [];
  const failed: Pending[] = [];
  results.forEach((result, i) => {
    if (!('errorCode' in result)) return;
    if (!result.retriable) throw new Error(`put failed: ${result.errorCode}: ${result.errorMessage}`);
    (result.errorCode === THROTTLED ? throttled : failed).push(pending[i]!);
  });
  return { throttled, failed };
}

async function poll(client: ShardlineClient, options: ConsumerOptions): Promise<void> {
  const { Shards } = await client.call('ListShards', { StreamName: options.stream });
  await Promise.all(
    Shards.map(async (shard) => {
      const { ShardIterator } = await client.call('GetShardIterator', {
        StreamName: options.stream,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      });
      let iterator: string | undefined = ShardIterator;
      while (iterator !== undefined) {
        const result: ClientGetRecordsResult | null = await client.getRecords({ ShardIterator: iterator }).catch((error: unknown) => {
          if ((error as Error).name !== THROTTLED) throw error;
          return null;
        });
        if (result === null) {
          await sleep(THROTTLED_POLL_WAIT_MS);
          continue;
        }
        for (const record of result.Records) options.onRecord(record.Data);
        iterator = result.NextShardIterator;
        if (result.Records.length === 0) await sleep(EMPTY_POLL_WAIT_MS);
      }
    }),
  );
}
