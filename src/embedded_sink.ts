import { RETRIABLE_PUT_CODES, type ClientPutResult } from './client/client.js';
import type { OpenShard, ProducerSink, StreamCapacityMode } from './client/producer_sink.js';
import type { Engine } from './engine/engine.js';
import type { KinesisShard, PutRecordsRequestEntry } from './streams/api_types.js';

/*
 * The Producer embedded: its batches go straight to an Engine in this process, with no socket,
 * so an application that embeds shardline gets aggregation, rate limits, retries and
 * encryption as over the WebSocket: `new Producer(engineSink(engine), options)`. It sits above
 * both the engine and the client (neither may import the other: docs/ARCHITECTURE.md).
 */
export function engineSink(engine: Engine): ProducerSink {
  return {
    newBatch(streamName) {
      const records: PutRecordsRequestEntry[] = [];
      return {
        add: (record) => {
          records.push({ PartitionKey: record.partitionKey, Data: record.data, ExplicitHashKey: record.explicitHashKey });
          return Buffer.byteLength(record.partitionKey, 'utf8');
        },
        send: async () => (await engine.putRecords({ StreamName: streamName, Records: records })).Records.map(outcome),
      };
    },
    listOpenShards: async (streamName) => openShards(engine, streamName),
    capacityMode: async (streamName): Promise<StreamCapacityMode> =>
      engine.describeStreamSummary({ StreamName: streamName }).StreamDescriptionSummary.StreamModeDetails?.StreamMode ?? 'PROVISIONED',
  };
}

function outcome(
  entry: { readonly SequenceNumber: string; readonly ShardId: string } | { readonly ErrorCode: string; readonly ErrorMessage: string },
): ClientPutResult {
  if ('ErrorCode' in entry)
    return { errorCode: entry.ErrorCode, errorMessage: entry.ErrorMessage, retriable: RETRIABLE_PUT_CODES.has(entry.ErrorCode) };
  return { shardId: entry.ShardId, sequenceNumber: entry.SequenceNumber };
}

function openShards(engine: Engine, streamName: string): OpenShard[] {
  const shards: KinesisShard[] = [];
  let token: string | undefined;
  do {
    const page = engine.listShards(token === undefined ? { StreamName: streamName } : { NextToken: token });
    shards.push(...page.Shards);
    token = page.NextToken;
  } while (token !== undefined);
  return shards
    .filter((shard) => shard.SequenceNumberRange.EndingSequenceNumber === undefined)
    .map((shard) => ({ shardId: shard.ShardId, startingHashKey: shard.HashKeyRange.StartingHashKey }));
}
