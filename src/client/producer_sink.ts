import type { PutFrameBuilder } from '../net/messages/put.js';
import { BuilderPool } from './builder_pool.js';
import { putResults, type ClientPutResult, type ClientRecord, type ShardlineClient } from './client.js';

/*
 * Where a Producer's records go: the shardline WebSocket (below) or any Kinesis HTTP endpoint
 * (kinesis_sink.ts, Node only). The Producer batches, aggregates, limits and retries the same
 * way over either, so code written against a local shardline runs against AWS unchanged.
 */

export type StreamCapacityMode = 'PROVISIONED' | 'ON_DEMAND';

export interface OpenShard {
  readonly shardId: string;
  /** Decimal, as ListShards gives it. */
  readonly startingHashKey: string;
}

/** One PutRecords under construction. */
export interface PutBatch {
  /** Adds a record and returns its partition key's UTF-8 byte length (what Kinesis counts besides the data). */
  add(record: ClientRecord): number;
  /**
   * Sends the records: each one's outcome, in order. A failure of the whole call rejects with an
   * error carrying `code` and `retriable`.
   */
  send(): Promise<readonly ClientPutResult[]>;
}

export interface ProducerSink {
  newBatch(streamName: string): PutBatch;
  listOpenShards(streamName: string): Promise<OpenShard[]>;
  capacityMode(streamName: string): Promise<StreamCapacityMode>;
}

/** The shardline WebSocket: a batch is one PUT frame, encoded as records are added. */
export class WebSocketSink implements ProducerSink {
  private readonly builders = new BuilderPool();

  constructor(private readonly client: ShardlineClient) {}

  newBatch(streamName: string): PutBatch {
    const builder = this.builders.take(streamName);
    return {
      add: (record) => this.client.addRecord(builder, record),
      send: () => this.sendFrame(builder),
    };
  }

  private async sendFrame(builder: PutFrameBuilder): Promise<readonly ClientPutResult[]> {
    try {
      return putResults(await this.client.putFrame(builder));
    } finally {
      this.builders.release(builder);
    }
  }

  async listOpenShards(streamName: string): Promise<OpenShard[]> {
    const shards = await this.client.listAllShards({ StreamName: streamName });
    return shards
      .filter((shard) => shard.SequenceNumberRange.EndingSequenceNumber === undefined)
      .map((shard) => ({ shardId: shard.ShardId, startingHashKey: shard.HashKeyRange.StartingHashKey }));
  }

  async capacityMode(streamName: string): Promise<StreamCapacityMode> {
    const { StreamDescriptionSummary } = await this.client.call('DescribeStreamSummary', { StreamName: streamName });
    return StreamDescriptionSummary.StreamModeDetails?.StreamMode ?? 'PROVISIONED';
  }
}
