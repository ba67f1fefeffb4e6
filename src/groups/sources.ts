import { ResourceInUseException } from '../errors.js';
import type { ChildShardRef } from './processor.js';
import {
  pollBatches,
  pushBatches,
  sleep,
  type PollingCalls,
  type PushSubscription,
  type ReadStart,
  type Retrieval,
  type SourceBatch,
  type SourceRecord,
  type SourceShard,
} from './record_source.js';

/*
 * What the record sources (embedded, WebSocket, the AWS SDK) share: their options, the mapping
 * of the Kinesis answers they all get, and the choice between push and polling.
 */

export interface SourceOptions {
  /** push (default): a subscription of the group's registered consumer per shard; polling: GetRecords. */
  readonly retrieval?: Retrieval;
  /** Push: the registered consumer of this name (registered if missing) rather than one named as the group. */
  readonly consumerName?: string;
  /** Polling: the wait after an empty GetRecords. Default 1,000 ms (the KCL's: 1,500). */
  readonly idleTimeBetweenReadsMillis?: number;
  /** Polling: records per GetRecords. Default 10,000. */
  readonly maxRecords?: number;
}

export const IDLE_BETWEEN_READS_DEFAULT_MS = 1000;
const MAX_RECORDS_DEFAULT = 10_000;

/** A source reads by push unless told to poll. */
export function readsByPush(options: SourceOptions): boolean {
  return (options.retrieval ?? 'push') === 'push';
}

/** A GetRecords answer or a subscription's event: every API's has these members (the SDK's typed optional). */
export interface KinesisBatch {
  readonly Records?: readonly SourceRecord[] | undefined;
  readonly MillisBehindLatest?: number | undefined;
  readonly ChildShards?: readonly ChildShardRef[] | undefined;
}

export function sourceBatch(answer: KinesisBatch): SourceBatch {
  return {
    records: answer.Records ?? [],
    millisBehindLatest: answer.MillisBehindLatest ?? 0,
    ...(answer.ChildShards === undefined ? {} : { childShards: answer.ChildShards }),
  };
}

/** A GetRecords answer as pollBatches takes it. */
function polledBatch(answer: KinesisBatch & { readonly NextShardIterator?: string | undefined }) {
  return { ...sourceBatch(answer), next: answer.NextShardIterator ?? null };
}

/** How a source reaches one shard's records: SubscribeToShard of the group's consumer, or GetShardIterator and GetRecords. */
export interface ShardReads {
  subscribe(consumerARN: string, startingPosition: ReturnType<typeof subscribeStart>): Promise<PushSubscription>;
  iterator(start: ReturnType<typeof iteratorStart>): Promise<string>;
  records(request: { ShardIterator: string; Limit: number }): Promise<KinesisBatch & { readonly NextShardIterator?: string | undefined }>;
}

/** A shard's batches: by push when prepare() found the group's consumer, else by polling. */
export function readShard(
  consumerARN: string | null,
  reads: ShardReads,
  options: SourceOptions,
  start: ReadStart,
  signal: AbortSignal,
): AsyncIterable<SourceBatch> {
  if (consumerARN !== null) return pushBatches((from) => reads.subscribe(consumerARN, subscribeStart(from)), start, { signal });
  const polling: PollingCalls = {
    iterator: (from) => reads.iterator(iteratorStart(from)),
    records: async (ShardIterator) => polledBatch(await reads.records({ ShardIterator, Limit: options.maxRecords ?? MAX_RECORDS_DEFAULT })),
  };
  return pollBatches(polling, start, options.idleTimeBetweenReadsMillis ?? IDLE_BETWEEN_READS_DEFAULT_MS, { signal });
}

/** A shard as ListShards answers it (shardline's API, the engine's, and the AWS SDK's). */
export interface ListedShard {
  readonly ShardId?: string | undefined;
  readonly ParentShardId?: string | undefined;
  readonly AdjacentParentShardId?: string | undefined;
  readonly HashKeyRange?: { readonly StartingHashKey?: string | undefined; readonly EndingHashKey?: string | undefined } | undefined;
  readonly SequenceNumberRange?: { readonly EndingSequenceNumber?: string | undefined } | undefined;
}

export function sourceShard(shard: ListedShard): SourceShard {
  return {
    shardId: shard.ShardId!,
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined),
    startingHashKey: shard.HashKeyRange!.StartingHashKey!,
    endingHashKey: shard.HashKeyRange!.EndingHashKey!,
    open: shard.SequenceNumberRange?.EndingSequenceNumber === undefined,
  };
}

/** A read start as GetShardIterator takes it. */
export function iteratorStart(start: ReadStart): {
  ShardIteratorType: ReadStart['Type'];
  StartingSequenceNumber?: string;
  Timestamp?: Date;
} {
  if (start.Type === 'AT_SEQUENCE_NUMBER' || start.Type === 'AFTER_SEQUENCE_NUMBER')
    return { ShardIteratorType: start.Type, StartingSequenceNumber: start.SequenceNumber };
  if (start.Type === 'AT_TIMESTAMP') return { ShardIteratorType: start.Type, Timestamp: new Date(start.Timestamp) };
  return { ShardIteratorType: start.Type };
}

/** A read start as SubscribeToShard's StartingPosition takes it. */
export function subscribeStart(start: ReadStart): { Type: ReadStart['Type']; SequenceNumber?: string; Timestamp?: Date } {
  const { ShardIteratorType, StartingSequenceNumber, Timestamp } = iteratorStart(start);
  return {
    Type: ShardIteratorType,
    ...(StartingSequenceNumber === undefined ? {} : { SequenceNumber: StartingSequenceNumber }),
    ...(Timestamp === undefined ? {} : { Timestamp }),
  };
}

export interface ConsumerCalls {
  streamARN(): Promise<string>;
  register(streamARN: string, name: string): Promise<void>;
  describe(streamARN: string, name: string): Promise<{ ConsumerARN: string; ConsumerStatus: string }>;
}

const ACTIVE_WAIT_MS = 60_000;
const ACTIVE_POLL_MS = 500;

/**
 * The group's registered (enhanced fan-out) consumer, named as the group: registered by the
 * first worker, found by the others (a name taken is ResourceInUseException), waited for until
 * ACTIVE (at once on shardline, seconds on AWS).
 */
export async function groupConsumerARN(calls: ConsumerCalls, groupName: string): Promise<string> {
  const streamARN = await calls.streamARN();
  try {
    await calls.register(streamARN, groupName);
  } catch (error) {
    if (!(error instanceof ResourceInUseException) && (error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  const deadline = performance.now() + ACTIVE_WAIT_MS;
  for (;;) {
    const consumer = await calls.describe(streamARN, groupName);
    if (consumer.ConsumerStatus === 'ACTIVE') return consumer.ConsumerARN;
    if (performance.now() > deadline)
      throw new ResourceInUseException(`consumer ${groupName} is ${consumer.ConsumerStatus}, not ACTIVE, after ${ACTIVE_WAIT_MS} ms`);
    await sleep(ACTIVE_POLL_MS);
  }
}
