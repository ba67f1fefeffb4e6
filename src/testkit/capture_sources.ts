import type { ShardlineClient } from '../client/client.js';
import type { Engine } from '../engine/engine.js';
import { decodeRecords, encodeGetRecords } from '../net/messages/records.js';
import type { KinesisShard } from '../streams/api_types.js';
import { SequenceNumberRun } from '../streams/sequence_number.js';
import { hashKeyDecimal } from './capture_format.js';

/*
 * Where an export reads, through public interfaces only: an Engine in this process (its
 * GetRecords, which like Kinesis' does not return explicit hash keys) or a shardline server
 * through the WebSocket client (whose RECORDS frames carry the batches as stored, explicit hash
 * keys included: docs/PROTOCOL.md).
 */

export interface SourceRecord {
  readonly sequenceNumber: string;
  readonly arrivalMs: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string | undefined;
  readonly data: Uint8Array;
}

export interface SourcePage {
  readonly records: readonly SourceRecord[];
  /** Absent at the end of a closed shard. */
  readonly nextIterator: string | undefined;
  readonly millisBehindLatest: number;
}

export type IteratorStart =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestampMs: number }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

export interface CaptureSource {
  readonly seesExplicitHashKeys: boolean;
  listShards(stream: string): Promise<KinesisShard[]>;
  shardIterator(stream: string, shardId: string, start: IteratorStart): Promise<string>;
  read(iterator: string, limit: number): Promise<SourcePage>;
}

/** What an export, import or replay talks to: an Engine in this process or a client of a server. */
export type ShardlineTarget = Engine | ShardlineClient;

export function isClient(target: ShardlineTarget): target is ShardlineClient {
  return 'transport' in target;
}

export function captureSource(target: ShardlineTarget): CaptureSource {
  return isClient(target) ? clientSource(target) : engineSource(target);
}

function iteratorRequest(stream: string, shardId: string, start: IteratorStart) {
  const base = { StreamName: stream, ShardId: shardId, ShardIteratorType: start.type };
  if (start.type === 'AT_TIMESTAMP') return { ...base, Timestamp: new Date(start.timestampMs) };
  if (start.type === 'AFTER_SEQUENCE_NUMBER') return { ...base, StartingSequenceNumber: start.sequenceNumber };
  return base;
}

function engineSource(engine: Engine): CaptureSource {
  return {
    seesExplicitHashKeys: false,
    listShards: async (stream) => {
      const shards: KinesisShard[] = [];
      let token: string | undefined;
      do {
        const page = engine.listShards(token === undefined ? { StreamName: stream } : { NextToken: token });
        shards.push(...page.Shards);
        token = page.NextToken;
      } while (token !== undefined);
      return shards;
    },
    shardIterator: async (stream, shardId, start) => (await engine.getShardIterator(iteratorRequest(stream, shardId, start))).ShardIterator,
    read: async (iterator, limit) => {
      const page = await engine.getRecords({ ShardIterator: iterator, Limit: limit });
      return {
        records: page.Records.map((record) => ({
          sequenceNumber: record.SequenceNumber,
          arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
          partitionKey: record.PartitionKey,
          data: record.Data,
        })),
        nextIterator: page.NextShardIterator,
        millisBehindLatest: page.MillisBehindLatest,
      };
    },
  };
}

function clientSource(client: ShardlineClient): CaptureSource {
  return {
    seesExplicitHashKeys: true,
    listShards: (stream) => client.listAllShards({ StreamName: stream }),
    shardIterator: async (stream, shardId, start) =>
      (await client.call('GetShardIterator', iteratorRequest(stream, shardId, start))).ShardIterator,
    // The RECORDS frame itself, not client.getRecords: its records keep their explicit hash keys.
    read: async (iterator, limit) => {
      const frame = await client.transport.call((id) => encodeGetRecords(id, iterator, limit), decodeRecords);
      const sequenceNumbers = new SequenceNumberRun(frame.shardSerial, frame.fromOffset);
      return {
        records: frame.records.map((record) => ({
          sequenceNumber: sequenceNumbers.at(record.offset),
          arrivalMs: record.timestampMs,
          partitionKey: record.partitionKey,
          explicitHashKey: record.explicitHashKey === undefined ? undefined : hashKeyDecimal(record.explicitHashKey),
          data: record.data,
        })),
        nextIterator: frame.nextShardIterator ?? undefined,
        millisBehindLatest: frame.millisBehindLatest,
      };
    },
  };
}
