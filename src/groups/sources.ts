import { ResourceInUseException } from '../errors.js';
import type { ReadStart, SourceShard } from './record_source.js';
import { sleep } from './record_source.js';

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
