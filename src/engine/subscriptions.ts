import { checkRequest } from '../streams/request_check.js';
import { GET_RECORDS_RECORDS_MAX, SUBSCRIPTION_HEARTBEAT_MS, SUBSCRIPTION_LIFETIME_MS } from '../limits.js';
import { encodeSequenceNumber } from '../streams/sequence_number.js';
import type { ConsumerRecord } from '../streams/stream_records.js';
import type { IteratorType, SubscribeToShardEvent, SubscribeToShardRequest } from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { ConsumerRegistry } from './consumer_registry.js';
import type { RawSubscribeEvent, SubscriptionStart } from './data_path.js';
import { refuseDryRun, type EngineContext } from './engine_context.js';
import { kinesisRecords, type ReadPath } from './read_path.js';
import type { ShardRuntime } from './shard_runtime.js';
import { readRaw } from './shard_reads.js';

/** The continuation before a shard's first record: AFTER_SEQUENCE_NUMBER "0" starts at it (docs/PROTOCOL.md). */
const SHARD_START_CONTINUATION = '0';
/** Longest sleep between checks that the subscription should go on (engine closed, consumer gone). */
const SUBSCRIPTION_WAIT_MS = 1000;
const SUBSCRIPTION_PACE_MS = 50;
/** 10 MiB at 2 MiB/s takes 5 s to pay off: 200 waits of 50 ms cover it. */
const SUBSCRIPTION_PACE_WAITS_MAX = 200;

/** A subscription that has started: what it reads, and where. */
interface Started {
  readonly stream: StreamView;
  readonly consumer: ConsumerRecord;
  readonly shard: ShardView;
  readonly runtime: ShardRuntime;
  readonly offset: number;
}

/**
 * Push subscriptions, like SubscribeToShard: events of records as they are committed, from the
 * starting position on, for a registered consumer (each has its own 2 MiB/s per shard). A call
 * for a consumer and shard within 5 seconds of the last successful one is refused
 * (ResourceInUseException), as Kinesis refuses it, on every door.
 */
export class Subscriptions {
  constructor(
    private readonly context: EngineContext,
    private readonly reads: ReadPath,
    private readonly consumers: ConsumerRegistry,
  ) {}

  /**
   * An event comes at least every 5 seconds, empty if nothing arrived. Resume after a break with
   * AFTER_SEQUENCE_NUMBER and the last ContinuationSequenceNumber. At the end of a closed shard
   * the last event carries ChildShards and the iteration ends; it also ends when the consumer is
   * deregistered, the stream deleted or the engine closed, and, as on Kinesis, after 5 minutes
   * of the engine's clock (SUBSCRIPTION_LIFETIME_MS): the caller subscribes again from the last
   * continuation. (The WebSocket protocol's subscriptions, on subscribeRaw, last until cancelled.)
   */
  async *subscribeToShard(request: SubscribeToShardRequest): AsyncGenerator<SubscribeToShardEvent> {
    const endsAtMs = this.context.options.clock() + SUBSCRIPTION_LIFETIME_MS;
    for await (const event of this.subscribeRaw(request)) {
      const { Records, MillisBehindLatest } = kinesisRecords(event);
      yield {
        Records,
        ContinuationSequenceNumber: event.continuationSequenceNumber,
        MillisBehindLatest,
        ...(event.childShards === undefined ? {} : { ChildShards: event.childShards }),
      };
      if (this.context.options.clock() >= endsAtMs) return;
    }
  }

  /** subscribeToShard without decoding: each event's batches as views of the mapped files (the data path's). */
  async *subscribeRaw(request: SubscribeToShardRequest, onStart?: (start: SubscriptionStart) => void): AsyncGenerator<RawSubscribeEvent> {
    const { stream, consumer, shard, runtime, offset: startOffset } = await this.start(request);
    onStart?.({ shardSerial: shard.serial, startOffset: Math.max(startOffset, runtime.reader.startOffset) });
    let offset = startOffset;
    let position = { offset, segmentBaseOffset: 0, positionBytes: 0 };
    let lastEventMs = this.context.options.clock();
    while (this.goesOn(stream, consumer)) {
      const sequence = runtime.committed.sequence;
      const open = this.context.keys.opener(stream, `stream ${stream.name} ${shard.shardId}`);
      const read = readRaw(runtime.reader, Math.max(offset, runtime.reader.startOffset), GET_RECORDS_RECORDS_MAX, position, open);
      const nowMs = this.context.options.clock();
      const event = this.reads.rawRecords(stream, shard, runtime, read, nowMs);
      const hasRecords = read.toOffset > read.fromOffset;
      if (hasRecords || event.childShards !== undefined || nowMs - lastEventMs >= SUBSCRIPTION_HEARTBEAT_MS) {
        if (read.bytes > 0) await this.pace(runtime, consumer.consumerArn, read.bytes);
        const records = read.toOffset - read.fromOffset;
        this.context.meter.pushed(stream, shard.shardId, consumer.consumerName, records, read.bytes, event.millisBehindLatest);
        yield {
          ...event,
          continuationSequenceNumber:
            read.toOffset === 0 ? SHARD_START_CONTINUATION : encodeSequenceNumber(shard.serial, read.toOffset - 1),
        };
        if (event.childShards !== undefined) return;
        lastEventMs = nowMs;
      }
      offset = read.toOffset;
      position = { offset, ...read.hint };
      if (!hasRecords) await runtime.committed.waitForChange(sequence, SUBSCRIPTION_WAIT_MS);
    }
  }

  /**
   * Checks the request (the request validation of every door, here so that it runs as the
   * generator's first step, as every other refusal does), looks up the consumer first (so a
   * deregistered one is ResourceNotFoundException, not the 5-second rule), then the shard and
   * the starting position; a dry run stops there. Then the subscription is claimed, and given
   * back if its start cannot be resolved.
   */
  private async start(request: SubscribeToShardRequest): Promise<Started> {
    checkRequest('SubscribeToShard', request);
    const { stream, consumer } = this.consumers.lookup({ ConsumerARN: request?.ConsumerARN });
    const shard = this.context.catalog.shard(stream, request.ShardId);
    const runtime = await this.context.shards.ready(stream, shard);
    const position = request.StartingPosition ?? ({} as { Type: IteratorType });
    const start = this.reads.startOf(stream, shard, runtime, {
      ShardIteratorType: position.Type,
      StartingSequenceNumber: position.SequenceNumber,
      Timestamp: position.Timestamp,
    });
    refuseDryRun(request);
    const release = this.claim(stream, consumer, shard);
    try {
      return { stream, consumer, shard, runtime, offset: await this.reads.offsetOf(stream, shard, start) };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The 5-second rule's claim, counted as SubscribeToShard.Success or .RateExceeded. */
  private claim(stream: StreamView, consumer: ConsumerRecord, shard: ShardView): () => void {
    try {
      const release = this.consumers.claimSubscription(consumer, shard);
      this.context.meter.subscribed(stream, consumer.consumerName, 'success');
      return release;
    } catch (error) {
      this.context.meter.subscribed(stream, consumer.consumerName, 'rateExceeded');
      throw error;
    }
  }

  /** A subscription ends with the engine, its consumer's registration, or its stream. */
  private goesOn(stream: StreamView, consumer: ConsumerRecord): boolean {
    return (
      !this.context.closed &&
      stream.consumers.includes(consumer) &&
      this.context.catalog.get(stream.name) === stream &&
      stream.status !== 'DELETING'
    );
  }

  /** Holds a subscription back while its consumer is over 2 MiB/s on this shard. */
  private async pace(runtime: ShardRuntime, consumerArn: string, bytes: number): Promise<void> {
    const { options } = this.context;
    if (!options.enforceLimits) return;
    runtime.throughput.registerConsumer(consumerArn, options.clock());
    for (
      let waits = 0;
      waits < SUBSCRIPTION_PACE_WAITS_MAX && !runtime.throughput.admitSubscriptionBytes(consumerArn, bytes, options.clock());
      waits++
    ) {
      await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_PACE_MS));
    }
  }
}
