import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { RETRIABLE_PUT_CODES, type ClientPutResult, type ClientRecord } from './client.js';
import type { OpenShard, ProducerSink, PutBatch, StreamCapacityMode } from './producer_sink.js';

/*
 * The Producer over the Kinesis HTTP API, through the AWS SDK's own client: shardline's HTTP
 * door, kinesalite, or AWS Kinesis itself. The SDK's retries are turned off in the client made
 * here, so that the Producer's backoff, TTL and rate limit are the only ones (two layers of
 * retries multiply each other's attempts and hide throttling from the rate limit). Consumer
 * groups (src/groups/kinesis_source.ts) reach an endpoint through the same client, for the same
 * reason: their reads retry by themselves.
 */

/** How a client of the AWS SDK reaches a Kinesis endpoint. */
export interface KinesisEndpointOptions {
  /** e.g. http://127.0.0.1:4567 for a local shardline; omitted for AWS (the region's endpoint). */
  readonly endpoint?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default: the SDK's provider chain (environment, profile, ...). A local shardline without --auth takes any. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /**
   * The SDK speaks HTTP/2 to Kinesis; kinesalite and other emulators speak only HTTP/1.1 (the
   * SDK then fails with "Protocol error"). shardline takes both. Default '2'.
   */
  readonly httpVersion?: '1.1' | '2';
  /** A client of the caller's instead (its own retries, TLS and credentials settings kept). */
  readonly client?: KinesisClient;
}

export type KinesisApiSinkOptions = KinesisEndpointOptions;

/** The caller's client, or one for the endpoint without the SDK's retries. */
export function kinesisClient(options: KinesisEndpointOptions): KinesisClient {
  return (
    options.client ??
    new KinesisClient({
      region: options.region ?? 'us-east-1',
      maxAttempts: 1,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.httpVersion === '1.1' ? { requestHandler: new NodeHttpHandler() } : {}),
    })
  );
}

/** Every shard of the stream (ListShards, page after page), open and closed. */
export async function listAllShards(client: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await client
      .send(new ListShardsCommand(token === undefined ? { StreamName: streamName } : { NextToken: token }))
      .catch((error: unknown) => {
        throw callError(error);
      });
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return shards;
}

/** Whole-call failures worth another attempt besides 5xx and network errors. */
const RETRIABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'TimeoutError',
]);

export class KinesisApiSink implements ProducerSink {
  readonly client: KinesisClient;

  constructor(options: KinesisApiSinkOptions = {}) {
    this.client = kinesisClient(options);
  }

  newBatch(streamName: string): PutBatch {
    const records: PutRecordsRequestEntry[] = [];
    return {
      add: (record: ClientRecord) => {
        records.push({ PartitionKey: record.partitionKey, Data: record.data, ExplicitHashKey: record.explicitHashKey });
        return Buffer.byteLength(record.partitionKey, 'utf8');
      },
      send: () => this.putRecords(streamName, records),
    };
  }

  private async putRecords(streamName: string, records: PutRecordsRequestEntry[]): Promise<readonly ClientPutResult[]> {
    const answer = await this.client.send(new PutRecordsCommand({ StreamName: streamName, Records: records })).catch((error: unknown) => {
      throw callError(error);
    });
    return answer.Records!.map((result): ClientPutResult => {
      if (result.ErrorCode === undefined) return { shardId: result.ShardId!, sequenceNumber: result.SequenceNumber! };
      return {
        errorCode: result.ErrorCode,
        errorMessage: result.ErrorMessage ?? '',
        retriable: RETRIABLE_PUT_CODES.has(result.ErrorCode),
      };
    });
  }

  async listOpenShards(streamName: string): Promise<OpenShard[]> {
    return (await listAllShards(this.client, streamName))
      .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
      .map((shard) => ({ shardId: shard.ShardId!, startingHashKey: shard.HashKeyRange!.StartingHashKey! }));
  }

  async capacityMode(streamName: string): Promise<StreamCapacityMode> {
    const answer = await this.client.send(new DescribeStreamSummaryCommand({ StreamName: streamName })).catch((error: unknown) => {
      throw callError(error);
    });
    // kinesalite predates capacity modes: a stream without one is provisioned.
    return answer.StreamDescriptionSummary?.StreamModeDetails?.StreamMode ?? 'PROVISIONED';
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** The SDK's error, with the `code` and `retriable` the Producer (and a group's reads) decide on. */
export function callError(error: unknown): Error {
  const failure = error instanceof Error ? error : new Error(String(error));
  const status = (failure as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // No status: the request never got an answer (a refused or dropped connection), unless the
  // client could not even sign it.
  const unanswered = status === undefined && failure.name !== 'CredentialsProviderError' && !(failure instanceof TypeError);
  const retriable = RETRIABLE_CALL_ERRORS.has(failure.name) || unanswered || (status !== undefined && status >= 500);
  return Object.assign(failure, { code: failure.name, retriable });
}
