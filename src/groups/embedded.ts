import type { Engine } from '../engine/engine.js';
import type { Lease, LeaseExpectation, LeaseStore } from './lease.js';
import { LeaseTables } from './lease_tables.js';
import type { PushSubscription, ReadStart, RecordSource, SourceBatch, SourceShard } from './record_source.js';
import { groupConsumerARN, readShard, readsByPush, sourceBatch, sourceShard, type KinesisBatch, type SourceOptions } from './sources.js';

/** A group's leases in the lease tables of an Engine in this process (the ones its WebSocket door serves). */
export class EngineLeaseStore implements LeaseStore {
  private readonly tables: LeaseTables;

  constructor(
    engine: Engine,
    private readonly groupName: string,
    private readonly streamName: string,
  ) {
    this.tables = LeaseTables.of(engine);
  }

  prepare(): Promise<void> {
    return this.tables.prepare(this.groupName, this.streamName);
  }

  list(): Promise<Lease[]> {
    return this.tables.listLeases(this.groupName);
  }

  get(leaseKey: string): Promise<Lease | null> {
    return this.tables.getLease(this.groupName, leaseKey);
  }

  create(lease: Lease): Promise<void> {
    return this.tables.createLease(this.groupName, lease);
  }

  update(lease: Lease, expected: LeaseExpectation): Promise<void> {
    return this.tables.updateLease(this.groupName, lease, expected);
  }

  delete(leaseKey: string, expected: LeaseExpectation): Promise<void> {
    return this.tables.deleteLease(this.groupName, leaseKey, expected);
  }
}

/** The operations a group's reads use: the Engine's, or those of a handle acting as an identity (`withIdentity`). */
export type EngineReads = Pick<
  Engine,
  | 'listShards'
  | 'describeStreamSummary'
  | 'registerStreamConsumer'
  | 'describeStreamConsumer'
  | 'subscribeToShard'
  | 'getShardIterator'
  | 'getRecords'
>;

/** A stream of an Engine in this process, read through its public operations. */
export class EngineSource implements RecordSource {
  private consumerARN: string | null = null;

  constructor(
    private readonly engine: EngineReads,
    readonly streamName: string,
    private readonly options: SourceOptions = {},
  ) {}

  async listShards(): Promise<SourceShard[]> {
    const shards: SourceShard[] = [];
    let token: string | undefined;
    do {
      const page = this.engine.listShards(token === undefined ? { StreamName: this.streamName } : { NextToken: token });
      shards.push(...page.Shards.map(sourceShard));
      token = page.NextToken;
    } while (token !== undefined);
    return shards;
  }

  async prepare(groupName: string): Promise<void> {
    if (!readsByPush(this.options)) return;
    this.consumerARN = await groupConsumerARN(
      {
        streamARN: async () => this.engine.describeStreamSummary({ StreamName: this.streamName }).StreamDescriptionSummary.StreamARN,
        register: async (StreamARN, ConsumerName) => void (await this.engine.registerStreamConsumer({ StreamARN, ConsumerName })),
        describe: async (StreamARN, ConsumerName) => this.engine.describeStreamConsumer({ StreamARN, ConsumerName }).ConsumerDescription,
      },
      this.options.consumerName ?? groupName,
    );
  }

  read(shardId: string, start: ReadStart, signal: AbortSignal): AsyncIterable<SourceBatch> {
    return readShard(
      this.consumerARN,
      {
        subscribe: async (ConsumerARN, StartingPosition) =>
          subscription(this.engine.subscribeToShard({ ConsumerARN, ShardId: shardId, StartingPosition })),
        iterator: async (start) =>
          (await this.engine.getShardIterator({ StreamName: this.streamName, ShardId: shardId, ...start })).ShardIterator!,
        records: async (request) => (await this.engine.getRecords(request)) as KinesisBatch,
      },
      this.options,
      start,
      signal,
    );
  }
}

/**
 * The engine's subscription as a PushSubscription. Its first event (the engine checks the
 * request as it starts) is read before returning, so a refusal rejects the subscribe.
 */
async function subscription(events: ReturnType<Engine['subscribeToShard']>): Promise<PushSubscription> {
  let continuation: string | null = null;
  const first = await events.next();
  return {
    get continuation() {
      return continuation;
    },
    cancel: () => void events.return(undefined),
    async *[Symbol.asyncIterator]() {
      for (let next = first; next.done !== true; next = await events.next()) {
        const event = next.value;
        continuation = event.ContinuationSequenceNumber;
        yield sourceBatch(event as KinesisBatch);
      }
    },
  };
}

/** A group's source and lease store on an Engine of this process: `new GroupWorker({ groupName, ...overEngine(...), processor })`. */
export function overEngine(
  engine: Engine,
  groupName: string,
  streamName: string,
  options: SourceOptions = {},
): { source: EngineSource; leases: EngineLeaseStore } {
  return { source: new EngineSource(engine, streamName, options), leases: new EngineLeaseStore(engine, groupName, streamName) };
}
