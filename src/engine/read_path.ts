import { GET_RECORDS_RECORDS_MAX } from '../limits.js';
import {
  InvalidArgumentException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  ValidationException,
} from '../errors.js';
import { ACCOUNT_ID } from '../streams/kinesis_shapes.js';
import { SequenceNumberRun, decodeSequenceNumber, encodeSequenceNumber } from '../streams/sequence_number.js';
import type { StreamReference } from '../streams/kinesis_shapes.js';
import type {
  ChildShard,
  DescribeShardPositionsOutput,
  GetRecordsInput,
  GetRecordsResult,
  GetShardIteratorInput,
  GetShardIteratorOutput,
  IteratorType,
  KinesisRecord,
} from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { RawRecords } from './data_path.js';
import { refuseDryRun, type EngineContext } from './engine_context.js';
import { ShardRuntime } from './shard_runtime.js';
import { readRaw, recordsOf, type RawRead } from './shard_reads.js';

/** A starting position, as GetShardIterator and SubscribeToShard's StartingPosition give it. */
export interface StartRequest {
  readonly ShardIteratorType: IteratorType;
  readonly StartingSequenceNumber?: string | undefined;
  readonly Timestamp?: Date | number | undefined;
}

/** A validated starting position: an offset, or (AT_TIMESTAMP) a time the shard's owner looks up. */
export type Start = { readonly offset: number } | { readonly timestampMs: number };

/**
 * The read path (Kafka's fetchMessages): shard iterators, and GetRecords read straight from the
 * shard's mapped files on this thread, up to the committed position its owner publishes.
 * Subscriptions share its starting positions and its read of a shard.
 */
export class ReadPath {
  constructor(private readonly context: EngineContext) {}

  async getShardIterator(request: GetShardIteratorInput): Promise<GetShardIteratorOutput> {
    const { catalog, shards, iterators, options } = this.context;
    const stream = this.context.dataStream(request);
    const shard = catalog.shard(stream, request.ShardId);
    const start = this.startOf(stream, shard, await shards.ready(stream, shard), request);
    refuseDryRun(request);
    const offset = await this.offsetOf(stream, shard, start);
    return {
      ShardIterator: iterators.encode(
        { streamId: stream.id, shardSerial: shard.serial, offset, segmentBaseOffset: 0, positionBytes: 0 },
        options.clock(),
      ),
    };
  }

  /** Where each shard's retained records begin and end (shardline's: lag is counted from it). */
  async describeShardPositions(request: StreamReference): Promise<DescribeShardPositionsOutput> {
    const stream = this.context.stream(request);
    const positions = await Promise.all(
      stream.shards.map(async (shard) => {
        const { startOffset, endOffset } = (await this.context.shards.ready(stream, shard)).reader;
        if (endOffset === startOffset) return { ShardId: shard.shardId, RecordCount: 0 };
        return {
          ShardId: shard.shardId,
          RecordCount: endOffset - startOffset,
          OldestSequenceNumber: encodeSequenceNumber(shard.serial, startOffset),
          LatestSequenceNumber: encodeSequenceNumber(shard.serial, endOffset - 1),
        };
      }),
    );
    return { Shards: positions };
  }

  /** Checks a starting position against the shard (InvalidArgumentException, as Kinesis words it). */
  startOf(stream: StreamView, shard: ShardView, runtime: ShardRuntime, request: StartRequest): Start {
    const reader = runtime.reader;
    switch (request.ShardIteratorType) {
      case 'TRIM_HORIZON':
        return { offset: reader.startOffset };
      case 'LATEST':
        return { offset: reader.endOffset };
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        // "0" is the continuation of a subscription that delivered nothing at the start of a shard.
        if (request.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && request.StartingSequenceNumber === '0')
          return { offset: reader.startOffset };
        const position = decodeSequenceNumber(request.StartingSequenceNumber as string, 'StartingSequenceNumber');
        if (position.shardSerial !== shard.serial)
          throw new InvalidArgumentException(
            `StartingSequenceNumber ${request.StartingSequenceNumber} used in GetShardIterator on shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID} is invalid because it did not come from this stream.`,
          );
        const offset = position.offset + (request.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1 : 0);
        if (offset > reader.endOffset)
          throw new InvalidArgumentException(
            `StartingSequenceNumber ${request.StartingSequenceNumber} is beyond the end of shard ${shard.shardId}`,
          );
        return { offset: Math.max(offset, reader.startOffset) };
      }
      case 'AT_TIMESTAMP':
        return { timestampMs: this.timestampOf(request.Timestamp) };
      default:
        throw new ValidationException(
          `ShardIteratorType must be one of TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP`,
        );
    }
  }

  /** The offset a start names: AT_TIMESTAMP asks the shard's owner (its time index). */
  async offsetOf(stream: StreamView, shard: ShardView, start: Start): Promise<number> {
    if ('offset' in start) return start.offset;
    const { offset } = await this.context.pool.request<{ offset: number }>({
      kind: 'offsetForTimestamp',
      shardKey: ShardRuntime.keyOf(stream, shard),
      timestampMs: start.timestampMs,
    });
    return offset;
  }

  /**
   * Records from a shard iterator: at most Limit (10,000) records and 10 MiB. At the end of a
   * closed shard NextShardIterator is absent and ChildShards names the shards that continue it.
   */
  async getRecords(request: GetRecordsInput): Promise<GetRecordsResult> {
    const raw = await this.getRecordsRaw(request);
    const { Records, MillisBehindLatest } = kinesisRecords(raw);
    if (raw.nextShardIterator === undefined) return { Records, MillisBehindLatest, ChildShards: raw.childShards ?? [] };
    return { Records, NextShardIterator: raw.nextShardIterator, MillisBehindLatest };
  }

  /** The name of the stream a shard iterator reads (an access check needs it before GetRecords). */
  streamOfShardIterator(token: string): string {
    const position = this.context.iterators.decode(token, this.context.options.clock());
    const stream = this.context.catalog.live(position.streamId);
    if (stream === undefined) throw new ResourceNotFoundException('the stream of this ShardIterator no longer exists');
    return stream.name;
  }

  /**
   * getRecords without decoding: whole batches as views of the mapped files (the data path's).
   * At once when the shard is open; a promise while it still recovers after a start.
   */
  getRecordsRaw(request: GetRecordsInput): RawRecords | Promise<RawRecords> {
    this.context.checkOpen();
    const { options, iterators } = this.context;
    const nowMs = options.clock();
    const position = iterators.decode(request?.ShardIterator, nowMs);
    const limit = request.Limit ?? GET_RECORDS_RECORDS_MAX;
    const stream = this.context.catalog.live(position.streamId);
    if (stream === undefined) throw new ResourceNotFoundException('the stream of this ShardIterator no longer exists');
    const shard = stream.shards.find((candidate) => candidate.serial === position.shardSerial);
    if (shard === undefined) throw new ResourceNotFoundException('the shard of this ShardIterator no longer exists');
    const runtime = this.context.shards.openRuntime(stream, shard);
    if (runtime === null) return this.context.shards.ready(stream, shard).then(() => this.getRecordsRaw(request));
    // A dry run stops before the read, which is what would count against the shard's limits.
    refuseDryRun(request);
    if (options.enforceLimits && !runtime.throughput.admitRead(nowMs)) {
      this.context.meter.readThrottled(stream, shard.shardId);
      throw new ProvisionedThroughputExceededException(
        `Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID}.`,
      );
    }
    const open = this.context.keys.opener(stream, `stream ${stream.name} ${shard.shardId}`);
    const read = readRaw(runtime.reader, Math.max(position.offset, runtime.reader.startOffset), limit, position, open);
    if (options.enforceLimits) runtime.throughput.chargeRead(read.bytes, nowMs);
    this.context.meter.read(stream, shard.shardId, read.toOffset - read.fromOffset, read.bytes, read.lastTimestampMs);
    const base = this.rawRecords(stream, shard, runtime, read, nowMs);
    if (base.childShards !== undefined) return base;
    const nextShardIterator = iterators.encode(
      { streamId: stream.id, shardSerial: shard.serial, offset: read.toOffset, ...read.hint },
      nowMs,
    );
    return { ...base, nextShardIterator };
  }

  /** A read as the network sends it: how far behind it is, and the children once the shard ended. */
  rawRecords(stream: StreamView, shard: ShardView, runtime: ShardRuntime, read: RawRead, nowMs: number): RawRecords {
    const caughtUp = read.lastTimestampMs < 0 || read.toOffset >= runtime.reader.endOffset;
    const millisBehindLatest = caughtUp ? 0 : Math.max(0, nowMs - read.lastTimestampMs);
    const ended = shard.endOffset !== undefined && read.toOffset >= shard.endOffset;
    return { shardSerial: shard.serial, read, millisBehindLatest, ...(ended ? { childShards: childShards(stream, shard) } : {}) };
  }

  /**
   * An AT_TIMESTAMP's time in epoch milliseconds: Kinesis refuses one in the future, in these
   * words, by its own clock (the engine's here).
   */
  private timestampOf(timestamp: Date | number | undefined): number {
    const timestampMs = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs))
      throw new InvalidArgumentException('AT_TIMESTAMP needs a Timestamp');
    const wholeMs = Math.floor(timestampMs);
    const nowMs = this.context.options.clock();
    if (wholeMs > nowMs)
      throw new InvalidArgumentException(
        `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${wholeMs}, currentTimestampInMillis: ${nowMs}`,
      );
    return wholeMs;
  }
}

function childShards(stream: StreamView, shard: ShardView): ChildShard[] {
  return stream.shards
    .filter((child) => child.parentShardId === shard.shardId || child.adjacentParentShardId === shard.shardId)
    .map((child) => ({
      ShardId: child.shardId,
      ParentShards: [child.parentShardId, child.adjacentParentShardId].filter((id): id is string => id !== undefined),
      HashKeyRange: { StartingHashKey: child.startingHashKey, EndingHashKey: child.endingHashKey },
    }));
}

/** Records as GetRecords and SubscribeToShard return them: copied out of the mapping. */
export function kinesisRecords(raw: RawRecords): { Records: KinesisRecord[]; MillisBehindLatest: number } {
  const stored = recordsOf(raw.read);
  const sequenceNumbers = new SequenceNumberRun(raw.shardSerial, raw.read.fromOffset);
  const Records = stored.map((record) => ({
    SequenceNumber: sequenceNumbers.at(record.offset),
    ApproximateArrivalTimestamp: new Date(record.timestampMs),
    Data: new Uint8Array(record.data),
    PartitionKey: record.partitionKey,
  }));
  return { Records, MillisBehindLatest: raw.millisBehindLatest };
}
