import { CONSUMERS_PER_STREAM_MAX, LIST_CONSUMERS_PAGE_DEFAULT, RESUBSCRIBE_INTERVAL_MS } from '../limits.js';
import { LimitExceededException, ResourceInUseException, ResourceNotFoundException } from '../errors.js';
import { streamArn } from '../streams/kinesis_shapes.js';
import type { ConsumerRecord } from '../streams/stream_records.js';
import type {
  ConsumerDescription,
  ConsumerReference,
  DescribeStreamConsumerOutput,
  ListStreamConsumersInput,
  ListStreamConsumersOutput,
  RegisterStreamConsumerInput,
  RegisterStreamConsumerOutput,
} from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';

/**
 * The registered (enhanced fan-out) consumers of each stream, in the catalog, and when each
 * consumer last subscribed to each shard (in memory: the 5-second rule of SubscribeToShard,
 * enforced here for every door).
 */
export class ConsumerRegistry {
  /** `<consumer ARN> <ShardId>` -> when its last successful subscription began. */
  private readonly subscribedAtMs = new Map<string, number>();

  constructor(private readonly context: EngineContext) {}

  async register(request: RegisterStreamConsumerInput): Promise<RegisterStreamConsumerOutput> {
    const stream = this.context.stream({ StreamARN: request?.StreamARN });
    const name = request.ConsumerName;
    if (stream.consumers.some((consumer) => consumer.consumerName === name))
      throw new ResourceInUseException(`Consumer ${name} already exists`);
    if (stream.consumers.length >= CONSUMERS_PER_STREAM_MAX)
      throw new LimitExceededException(`a stream has at most ${CONSUMERS_PER_STREAM_MAX} consumers`);
    const createdAtMs = this.context.options.clock();
    const consumer = {
      consumerName: name,
      consumerArn: `${streamArn(stream.name)}/consumer/${name}:${Math.floor(createdAtMs / 1000)}`,
      createdAtMs,
    };
    this.context.catalog.addConsumer(stream, consumer);
    await this.context.catalog.save();
    return { Consumer: consumerDescription(consumer) };
  }

  async deregister(request: ConsumerReference): Promise<void> {
    const { stream, consumer } = this.lookup(request);
    this.context.catalog.removeConsumer(stream, consumer);
    await this.context.catalog.save();
    for (const runtime of this.context.shards.runtimesOf(stream)) runtime.throughput.deregisterConsumer(consumer.consumerArn);
    for (const key of this.subscribedAtMs.keys()) if (key.startsWith(`${consumer.consumerArn} `)) this.subscribedAtMs.delete(key);
  }

  describe(request: ConsumerReference): DescribeStreamConsumerOutput {
    const { stream, consumer } = this.lookup(request);
    return { ConsumerDescription: { ...consumerDescription(consumer), StreamARN: streamArn(stream.name) } };
  }

  list(request: ListStreamConsumersInput): ListStreamConsumersOutput {
    const stream = this.context.stream({ StreamARN: request?.StreamARN });
    const max = request.MaxResults ?? LIST_CONSUMERS_PAGE_DEFAULT;
    const after = request.NextToken;
    const consumers = stream.consumers
      .filter((consumer) => after === undefined || consumer.consumerName > after)
      .sort((a, b) => (a.consumerName < b.consumerName ? -1 : 1));
    const page = consumers.slice(0, max);
    return { Consumers: page.map(consumerDescription), ...(consumers.length > max ? { NextToken: page.at(-1)!.consumerName } : {}) };
  }

  /** A registered consumer, by its ARN or by its stream's ARN and its name (ResourceNotFoundException). */
  lookup(request: ConsumerReference): { stream: StreamView; consumer: ConsumerRecord } {
    const arn = request?.ConsumerARN;
    const streamArnText = arn === undefined ? request?.StreamARN : arn.split('/consumer/')[0];
    const stream = this.context.stream({ StreamARN: streamArnText });
    const consumer = stream.consumers.find((candidate) =>
      arn === undefined ? candidate.consumerName === request.ConsumerName : candidate.consumerArn === arn,
    );
    if (consumer === undefined)
      throw new ResourceNotFoundException(`Consumer ${arn ?? request.ConsumerName} under stream ${stream.name} not found`);
    return { stream, consumer };
  }

  /**
   * Takes the consumer's subscription to the shard for RESUBSCRIBE_INTERVAL_MS (ResourceInUseException
   * if it is taken), from now, so that two calls at once cannot both pass. Returns the release
   * for a subscription that fails to start, which gives the time back.
   */
  claimSubscription(consumer: ConsumerRecord, shard: ShardView): () => void {
    const nowMs = this.context.options.clock();
    for (const [key, atMs] of this.subscribedAtMs) if (nowMs - atMs >= RESUBSCRIBE_INTERVAL_MS) this.subscribedAtMs.delete(key);
    const key = `${consumer.consumerArn} ${shard.shardId}`;
    if (this.subscribedAtMs.has(key)) {
      throw new ResourceInUseException(
        `${consumer.consumerArn} subscribed to ${shard.shardId} less than 5 seconds ago: subscribe again after 5 seconds`,
      );
    }
    this.subscribedAtMs.set(key, nowMs);
    return () => {
      if (this.subscribedAtMs.get(key) === nowMs) this.subscribedAtMs.delete(key);
    };
  }
}

function consumerDescription(consumer: ConsumerRecord): ConsumerDescription {
  return {
    ConsumerName: consumer.consumerName,
    ConsumerARN: consumer.consumerArn,
    ConsumerStatus: 'ACTIVE',
    ConsumerCreationTimestamp: new Date(consumer.createdAtMs),
  };
}
