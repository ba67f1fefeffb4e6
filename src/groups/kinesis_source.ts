import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  type ChildShard,
  type KinesisClient,
  type SubscribeToShardCommandInput,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { callError, kinesisClient, listAllShards, type KinesisEndpointOptions } from '../client/kinesis_sink.js';
import { errorFromCode } from '../errors.js';
import type { PushSubscription, ReadStart, RecordSource, SourceBatch, SourceShard } from './record_source.js';
import {
  groupConsumerARN,
  readShard,
  readsByPush,
  sourceBatch,
  sourceShard,
  type ConsumerCalls,
  type KinesisBatch,
  type SourceOptions,
} from './sources.js';

/*
 * A consumer group's records from any Kinesis endpoint (AWS Kinesis, shardline's HTTP door, an
 * emulator) through the AWS SDK, Node only. The client made here has the SDK's retries off, as
 * the Producer's: pushBatches and pollBatches retry by themselves, and they know a retriable
 * failure by shardline's typed errors, to which the SDK's are mapped.
 */

export interface KinesisApiSourceOptions extends KinesisEndpointOptions, SourceOptions {
  readonly streamName: string;
}

/**
 * A stream read through the AWS SDK's KinesisClient:
 * `new GroupWorker({ groupName, source: new KinesisApiSource({ streamName, endpoint }), leases, processor })`.
 */
export class KinesisApiSource implements RecordSource {
  readonly streamName: string;
  readonly client: KinesisClient;
  private consumerARN: string | null = null;

  constructor(private readonly options: KinesisApiSourceOptions) {
    this.streamName = options.streamName;
    this.client = kinesisClient(options);
  }

  async listShards(): Promise<SourceShard[]> {
    return (await sdkCall(listAllShards(this.client, this.streamName))).map(sourceShard);
  }

  async prepare(groupName: string): Promise<void> {
    if (readsByPush(this.options)) this.consumerARN = await groupConsumerARN(this.consumerCalls(), this.options.consumerName ?? groupName);
  }

  read(shardId: string, start: ReadStart, signal: AbortSignal): AsyncIterable<SourceBatch> {
    return readShard(
      this.consumerARN,
      {
        subscribe: (consumerARN, startingPosition) => this.subscribe(consumerARN, shardId, startingPosition),
        iterator: async (start) =>
          (await sdkCall(this.client.send(new GetShardIteratorCommand({ StreamName: this.streamName, ShardId: shardId, ...start }))))
            .ShardIterator!,
        records: async (request) => kinesisBatch(await sdkCall(this.client.send(new GetRecordsCommand(request)))),
      },
      this.options,
      start,
      signal,
    );
  }

  /** A client of the caller's is theirs to destroy. */
  close(): void {
    if (this.options.client === undefined) this.client.destroy();
  }

  private consumerCalls(): ConsumerCalls {
    return {
      streamARN: async () =>
        (await sdkCall(this.client.send(new DescribeStreamSummaryCommand({ StreamName: this.streamName })))).StreamDescriptionSummary!
          .StreamARN!,
      register: async (StreamARN, ConsumerName) =>
        void (await sdkCall(this.client.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName })))),
      describe: async (StreamARN, ConsumerName) => {
        const { ConsumerDescription } = await sdkCall(this.client.send(new DescribeStreamConsumerCommand({ StreamARN, ConsumerName })));
        return { ConsumerARN: ConsumerDescription!.ConsumerARN!, ConsumerStatus: ConsumerDescription!.ConsumerStatus! };
      },
    };
  }

  /**
   * Cancelled by aborting the request: the SDK then closes the subscription's stream (and the
   * connection it has to itself), where leaving the events' iterator would wait for the next one.
   */
  private async subscribe(
    ConsumerARN: string,
    ShardId: string,
    StartingPosition: SubscribeToShardCommandInput['StartingPosition'],
  ): Promise<PushSubscription> {
    const request = new AbortController();
    const { EventStream } = await sdkCall(
      this.client.send(new SubscribeToShardCommand({ ConsumerARN, ShardId, StartingPosition }), {
        abortSignal: request.signal,
      }),
    );
    let continuation: string | null = null;
    return {
      get continuation() {
        return continuation;
      },
      cancel: () => request.abort(),
      async *[Symbol.asyncIterator]() {
        try {
          for await (const message of EventStream!) {
            const event = shardEvent(message);
            continuation = event.ContinuationSequenceNumber ?? continuation;
            yield sourceBatch(kinesisBatch(event));
          }
        } catch (error) {
          throw sourceError(error);
        }
      },
    };
  }
}

/** The stream's members other than SubscribeToShardEvent are its exceptions. */
function shardEvent(message: SubscribeToShardEventStream): SubscribeToShardEvent {
  if (message.SubscribeToShardEvent === undefined) throw Object.values(message)[0];
  return message.SubscribeToShardEvent;
}

/** The SDK types the model's required members as optional; Kinesis always sends them. */
function kinesisBatch<T extends { readonly Records?: _Record[] | undefined; readonly ChildShards?: ChildShard[] | undefined }>(
  answer: T,
): T & KinesisBatch {
  return answer as T & KinesisBatch;
}

async function sdkCall<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw sourceError(error);
  });
}

/**
 * The typed error of shardline for a Kinesis exception it knows, which pushBatches and
 * pollBatches act on (ResourceInUseException waits out the 5 seconds between subscriptions,
 * ExpiredIteratorException gets a new iterator); any other failure as the Producer sees it,
 * retriable when it is a network error or the server's.
 */
function sourceError(error: unknown): Error {
  const failure = callError(error);
  const typed = errorFromCode(failure.name, failure.message);
  return typed.code === failure.name ? typed : failure;
}
