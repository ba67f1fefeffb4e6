import type { ShardlineClient } from '../client/client.js';
import type { Lease, LeaseExpectation, LeaseStore } from './lease.js';
import { parseLease, corruptLease } from './lease.js';
import type { PushSubscription, ReadStart, RecordSource, SourceBatch, SourceShard } from './record_source.js';
import { groupConsumerARN, readShard, readsByPush, sourceBatch, sourceShard, type KinesisBatch, type SourceOptions } from './sources.js';

/** A group's leases in shardline's lease tables, over the WebSocket (docs/PROTOCOL.md, "Consumer groups"). */
export class ShardlineLeaseStore implements LeaseStore {
  constructor(
    private readonly client: ShardlineClient,
    private readonly groupName: string,
    private readonly streamName: string,
  ) {}

  async prepare(): Promise<void> {
    await this.call('PrepareGroup', { StreamName: this.streamName });
  }

  async list(): Promise<Lease[]> {
    const { Leases } = (await this.call('ListLeases', {})) as { Leases: unknown[] };
    return Leases.map((lease) => parseLease(lease, corruptLease(`group ${this.groupName}`)));
  }

  async get(leaseKey: string): Promise<Lease | null> {
    const { Lease } = (await this.call('GetLease', { LeaseKey: leaseKey })) as { Lease: unknown };
    return Lease === null || Lease === undefined ? null : parseLease(Lease, corruptLease(`group ${this.groupName}`));
  }

  async create(lease: Lease): Promise<void> {
    await this.call('CreateLease', { Lease: lease });
  }

  async update(lease: Lease, expected: LeaseExpectation): Promise<void> {
    await this.call('UpdateLease', { Lease: lease, Expected: wireExpected(expected) });
  }

  async delete(leaseKey: string, expected: LeaseExpectation): Promise<void> {
    await this.call('DeleteLease', { LeaseKey: leaseKey, Expected: wireExpected(expected) });
  }

  private call(operation: string, request: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.client.callNamed(operation, { GroupName: this.groupName, ...request });
  }
}

function wireExpected(expected: LeaseExpectation): Record<string, unknown> {
  return { LeaseCounter: expected.leaseCounter, LeaseOwner: expected.leaseOwner };
}

/** A stream read over shardline's WebSocket protocol. */
export class WebSocketSource implements RecordSource {
  private consumerARN: string | null = null;
  /**
   * The subscriptions' own connection: a subscription whose processor is busy pauses its
   * connection (backpressure), and the processor's checkpoint, or any call it makes, must not be
   * waiting behind that pause.
   */
  private subscriptions: ShardlineClient | null = null;

  constructor(
    private readonly client: ShardlineClient,
    readonly streamName: string,
    private readonly options: SourceOptions = {},
  ) {}

  async listShards(): Promise<SourceShard[]> {
    return (await this.client.listAllShards({ StreamName: this.streamName })).map(sourceShard);
  }

  async prepare(groupName: string): Promise<void> {
    if (!readsByPush(this.options)) return;
    this.consumerARN = await groupConsumerARN(
      {
        streamARN: async () =>
          (await this.client.call('DescribeStreamSummary', { StreamName: this.streamName })).StreamDescriptionSummary.StreamARN,
        register: async (StreamARN, ConsumerName) => void (await this.client.call('RegisterStreamConsumer', { StreamARN, ConsumerName })),
        describe: async (StreamARN, ConsumerName) =>
          (await this.client.call('DescribeStreamConsumer', { StreamARN, ConsumerName })).ConsumerDescription,
      },
      this.options.consumerName ?? groupName,
    );
  }

  read(shardId: string, start: ReadStart, signal: AbortSignal): AsyncIterable<SourceBatch> {
    return readShard(
      this.consumerARN,
      {
        subscribe: async (ConsumerARN, StartingPosition) => {
          const subscriptions = (this.subscriptions ??= this.client.clone());
          return subscription(await subscriptions.subscribeToShard({ ConsumerARN, ShardId: shardId, StartingPosition }));
        },
        iterator: async (start) =>
          (await this.client.call('GetShardIterator', { StreamName: this.streamName, ShardId: shardId, ...start })).ShardIterator!,
        records: async (request) => (await this.client.getRecords(request)) as KinesisBatch,
      },
      this.options,
      start,
      signal,
    );
  }

  close(): void {
    this.subscriptions?.close();
    this.subscriptions = null;
  }
}

function subscription(shard: Awaited<ReturnType<ShardlineClient['subscribeToShard']>>): PushSubscription {
  return {
    get continuation() {
      return shard.continuationSequenceNumber === '' ? null : shard.continuationSequenceNumber;
    },
    cancel: () => shard.cancel(),
    async *[Symbol.asyncIterator]() {
      for await (const event of shard) yield sourceBatch(event);
    },
  };
}

/** A group's source and lease store over one WebSocket client: `new GroupWorker({ groupName, ...overWebSocket(...), processor })`. */
export function overWebSocket(
  client: ShardlineClient,
  groupName: string,
  streamName: string,
  options: SourceOptions = {},
): { source: WebSocketSource; leases: ShardlineLeaseStore } {
  return { source: new WebSocketSource(client, streamName, options), leases: new ShardlineLeaseStore(client, groupName, streamName) };
}
