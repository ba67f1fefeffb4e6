import { md5 } from 'js-md5';
import { InvalidArgumentException } from '../errors.js';
import { explicitHashKey } from './hash_keys.js';
import type { OpenShard, ProducerSink, StreamCapacityMode } from './producer_sink.js';

/*
 * What the Producer predicts about where a record lands, per stream: the open shards by
 * starting hash key (ListShards) and the capacity mode (DescribeStreamSummary), read once and
 * again after a misprediction (a split or merge since). The aggregator packs by predicted shard
 * and the rate limiter counts by it; a wrong guess costs only a record stored in another shard
 * than expected, never a lost one.
 */

export interface ShardMap {
  readonly shards: ReadonlyArray<{ readonly shardId: string; readonly start: bigint }>;
  readonly mode: StreamCapacityMode;
}

export class ShardMaps {
  private readonly pending = new Map<string, Promise<ShardMap>>();
  private readonly loaded = new Map<string, ShardMap>();

  constructor(private readonly sink: ProducerSink) {}

  /** The stream's map if read already: callers skip a promise turn per record. */
  loadedMap(streamName: string): ShardMap | undefined {
    return this.loaded.get(streamName);
  }

  mapOf(streamName: string): Promise<ShardMap> {
    let map = this.pending.get(streamName);
    if (map === undefined) {
      map = readShardMap(this.sink, streamName);
      this.pending.set(streamName, map);
      map.then(
        (read) => {
          if (this.pending.get(streamName) === map) this.loaded.set(streamName, read);
        },
        () => {
          if (this.pending.get(streamName) === map) this.pending.delete(streamName);
        },
      );
    }
    return map;
  }

  /** After a misprediction: what follows reads the map again. */
  forget(streamName: string): void {
    this.pending.delete(streamName);
    this.loaded.delete(streamName);
  }
}

async function readShardMap(sink: ProducerSink, streamName: string): Promise<ShardMap> {
  const [open, mode] = await Promise.all([sink.listOpenShards(streamName), sink.capacityMode(streamName)]);
  const shards = open.map((shard: OpenShard) => ({ shardId: shard.shardId, start: BigInt(shard.startingHashKey) }));
  shards.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { shards, mode };
}

/** The open shard whose range holds the hash key: the last one starting at or below it. */
export function predictShard(map: ShardMap, hashKey: bigint): string {
  let low = 0;
  let high = map.shards.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (map.shards[middle]!.start <= hashKey) low = middle;
    else high = middle - 1;
  }
  return map.shards[low]?.shardId ?? '';
}

interface Keyed {
  readonly partitionKey: string;
  readonly explicitHashKey?: string | undefined;
}

/** The record's routing hash key, its keys checked first: a record to be sent. */
export function hashKeyOf(record: Keyed): bigint {
  if (record.explicitHashKey !== undefined) explicitHashKey(record.explicitHashKey);
  else if (typeof record.partitionKey !== 'string' || record.partitionKey.length === 0)
    throw new InvalidArgumentException('a record needs a partitionKey of 1 to 256 characters');
  return routingHashKey(record);
}

/** Kinesis' rule: the explicit hash key, or else the MD5 of the partition key, as a 128-bit integer. */
export function routingHashKey(record: Keyed): bigint {
  return record.explicitHashKey !== undefined ? BigInt(record.explicitHashKey) : BigInt(`0x${md5.hex(record.partitionKey)}`);
}
