import {
  DESCRIBE_STREAM_SHARDS_DEFAULT,
  LIST_SHARDS_PAGE_DEFAULT,
  LIST_STREAMS_PAGE_DEFAULT,
  ON_DEMAND_INITIAL_SHARDS,
  SHARDS_PER_STREAM_MAX,
  STREAMS_MAX,
} from '../limits.js';
import fs from 'node:fs';
import { InvalidArgumentException, LimitExceededException, ResourceInUseException, ValidationException } from '../errors.js';
import { ACCOUNT_ID, streamArn, toKinesisShard } from '../streams/kinesis_shapes.js';
import { isOpen, type StreamMode } from '../streams/stream_records.js';
import type {
  CreateStreamInput,
  DeleteStreamInput,
  DescribeStreamInput,
  DescribeStreamOutput,
  DescribeStreamSummaryOutput,
  ListShardsInput,
  ListShardsOutput,
  ListStreamsInput,
  ListStreamsOutput,
  StreamHeader,
  StreamReference,
} from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';
import { withinTagLimit } from './stream_settings.js';
import type { StreamStates } from './stream_states.js';

/** A stream created without ShardCount: ON_DEMAND starts at 4 shards; PROVISIONED must say. */
function shardCountOf(mode: StreamMode): number {
  if (mode === 'ON_DEMAND') return ON_DEMAND_INITIAL_SHARDS;
  throw new ValidationException(
    "1 validation error detected: Value null at 'shardCount' failed to satisfy constraint: Member must not be null",
  );
}

/** Kinesis' account shard limit is ours per stream: asking for more is a limit, not bad input. */
export function withinShardLimit(shardCount: number): number {
  if (shardCount > SHARDS_PER_STREAM_MAX)
    throw new LimitExceededException(`a stream has at most ${SHARDS_PER_STREAM_MAX} open shards, ${shardCount} were asked for`);
  return shardCount;
}

/** A ListShards NextToken names its stream and position: AWS refuses it with any of them again. */
function checkListShardsToken(request: ListShardsInput): void {
  if (request.NextToken === undefined) {
    if (request.StreamName === undefined && request.StreamARN === undefined)
      throw new InvalidArgumentException('Either NextToken or StreamName should be provided.');
    return;
  }
  const also = (['StreamName', 'StreamARN', 'ExclusiveStartShardId', 'StreamCreationTimestamp', 'ShardFilter'] as const).find(
    (member) => request[member] !== undefined,
  );
  if (also !== undefined) throw new InvalidArgumentException(`NextToken and ${also} cannot be provided together.`);
}

/**
 * Streams: create, delete (finishing a delete a crash interrupted), describe and list them and
 * their shards. Under state durations a new stream is CREATING, a deleted one DELETING, for the
 * duration (stream_states.ts), its shards open throughout.
 */
export class StreamAdmin {
  constructor(
    private readonly context: EngineContext,
    private readonly states: StreamStates,
  ) {}

  async createStream(request: CreateStreamInput): Promise<void> {
    const { catalog, shards, options } = this.context;
    this.context.checkOpen();
    const name = request.StreamName;
    const tags = withinTagLimit({ ...request.Tags });
    const mode = request.StreamModeDetails?.StreamMode ?? 'PROVISIONED';
    const shardCount = withinShardLimit(request.ShardCount ?? shardCountOf(mode));
    if (catalog.get(name) !== undefined) throw new ResourceInUseException(`Stream ${name} under account ${ACCOUNT_ID} already exists.`);
    if (catalog.all().length >= STREAMS_MAX) throw new LimitExceededException(`at most ${STREAMS_MAX} streams`);
    const { createStreamMs } = this.states.durations;
    const stream = catalog.create(name, shardCount, mode, options.clock(), tags, createStreamMs > 0 ? 'CREATING' : 'ACTIVE');
    await catalog.save();
    await Promise.all(stream.shards.map((shard) => shards.open(stream, shard)));
    shards.route(stream);
    if (createStreamMs > 0) this.states.endLater(stream, 'CREATING', createStreamMs, () => this.finishCreate(stream));
  }

  /** At the end of its create duration a CREATING stream, its shards open since it was created, goes ACTIVE. */
  private async finishCreate(stream: StreamView): Promise<void> {
    this.context.catalog.activate(stream);
    await this.context.catalog.save();
  }

  async deleteStream(request: DeleteStreamInput): Promise<void> {
    const stream = this.context.stream(request);
    if (stream.status === 'CREATING')
      throw new ResourceInUseException(`Stream ${stream.name} under account ${ACCOUNT_ID} is CREATING: it can be deleted once ACTIVE.`);
    if (stream.consumers.length > 0 && request.EnforceConsumerDeletion !== true) {
      throw new ResourceInUseException(`Stream ${stream.name} has registered consumers: deregister them or set EnforceConsumerDeletion`);
    }
    this.context.catalog.beginDelete(stream);
    await this.context.catalog.save();
    const { deleteStreamMs } = this.states.durations;
    if (deleteStreamMs > 0) this.states.endLater(stream, 'DELETING', deleteStreamMs, () => this.finishDelete(stream));
    else await this.finishDelete(stream);
  }

  /** Closes a DELETING stream's shards, removes its files, then its catalog entry. */
  async finishDelete(stream: StreamView): Promise<void> {
    const { catalog, shards } = this.context;
    await shards.streamReady(stream); // its shards' opens, if it was never touched since a start
    await shards.closeStream(stream);
    fs.rmSync(catalog.streamDir(stream), { recursive: true, force: true });
    catalog.remove(stream);
    this.context.meter.forget(stream);
    await catalog.save();
  }

  describeStreamSummary(request: StreamReference): DescribeStreamSummaryOutput {
    const stream = this.context.described(request);
    return {
      StreamDescriptionSummary: {
        ...streamHeader(stream),
        OpenShardCount: this.context.shards.visibleShards(stream).filter(isOpen).length,
        ConsumerCount: stream.consumers.length,
      },
    };
  }

  describeStream(request: DescribeStreamInput): DescribeStreamOutput {
    const stream = this.context.described(request);
    const limit = request.Limit ?? DESCRIBE_STREAM_SHARDS_DEFAULT;
    const after = request.ExclusiveStartShardId;
    const shards = this.context.shards.visibleShards(stream).filter((shard) => after === undefined || shard.shardId > after);
    return {
      StreamDescription: {
        ...streamHeader(stream),
        Shards: shards.slice(0, limit).map(toKinesisShard),
        HasMoreShards: shards.length > limit,
      },
    };
  }

  listStreams(request: ListStreamsInput = {}): ListStreamsOutput {
    this.context.checkOpen();
    const limit = request.Limit ?? LIST_STREAMS_PAGE_DEFAULT;
    const after = request.NextToken ?? request.ExclusiveStartStreamName;
    const streams = this.context.catalog
      .all()
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .filter((stream) => after === undefined || stream.name > after);
    const page = streams.slice(0, limit);
    const more = streams.length > limit;
    return {
      StreamNames: page.map((stream) => stream.name),
      HasMoreStreams: more,
      ...(more ? { NextToken: page.at(-1)!.name } : {}),
      StreamSummaries: page.map((stream) => ({
        StreamName: stream.name,
        StreamARN: streamArn(stream.name),
        StreamStatus: stream.status,
        StreamModeDetails: { StreamMode: stream.mode },
        StreamCreationTimestamp: new Date(stream.createdAtMs),
      })),
    };
  }

  listShards(request: ListShardsInput): ListShardsOutput {
    checkListShardsToken(request);
    const stream = this.context.stream(request.NextToken === undefined ? request : { StreamName: request.NextToken.split('/')[0] });
    const max = request.MaxResults ?? LIST_SHARDS_PAGE_DEFAULT;
    const after =
      request.NextToken?.split('/')[1] ??
      request.ExclusiveStartShardId ??
      (request.ShardFilter?.Type === 'AFTER_SHARD_ID' ? request.ShardFilter.ShardId : undefined);
    const shards = this.filterShards(stream, request.ShardFilter?.Type).filter((shard) => after === undefined || shard.shardId > after);
    const page = shards.slice(0, max);
    return { Shards: page.map(toKinesisShard), ...(shards.length > max ? { NextToken: `${stream.name}/${page.at(-1)!.shardId}` } : {}) };
  }

  private filterShards(stream: StreamView, type: string | undefined): ShardView[] {
    const shards = this.context.shards.visibleShards(stream);
    switch (type) {
      case undefined:
      case 'AFTER_SHARD_ID':
      case 'FROM_TRIM_HORIZON':
        return shards;
      case 'AT_LATEST':
        return shards.filter(isOpen);
      case 'AT_TRIM_HORIZON': {
        const present = new Set(shards.map((shard) => shard.shardId));
        return shards.filter((shard) => shard.parentShardId === undefined || !present.has(shard.parentShardId));
      }
      default:
        throw new InvalidArgumentException(`ShardFilter type ${String(type)} is not supported`);
    }
  }
}

function streamHeader(stream: StreamView): StreamHeader {
  return {
    StreamName: stream.name,
    StreamARN: streamArn(stream.name),
    StreamStatus: stream.status,
    StreamModeDetails: { StreamMode: stream.mode },
    RetentionPeriodHours: stream.retentionHours,
    StreamCreationTimestamp: new Date(stream.createdAtMs),
    EnhancedMonitoring: [{ ShardLevelMetrics: [...(stream.shardLevelMetrics ?? [])] }],
    ...(stream.encryption === undefined ? { EncryptionType: 'NONE' } : { EncryptionType: 'KMS', KeyId: stream.encryption.keyId }),
  };
}
