import type { ShardLevelMetric } from './metrics_types.js';
import { encodeSequenceNumber } from './sequence_number.js';

/*
 * The catalog's records: what the engine knows of each stream, shard and registered consumer,
 * with the Kinesis attributes the API reports. The engine's Catalog (src/engine/catalog.ts)
 * owns and persists them; the shapes here are pure so every layer above can read them.
 */

export type StreamMode = 'PROVISIONED' | 'ON_DEMAND';
export type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';

export interface ShardRecord {
  readonly shardId: string;
  readonly serial: number;
  readonly startingHashKey: string;
  readonly endingHashKey: string;
  readonly parentShardId?: string;
  readonly adjacentParentShardId?: string;
  /** Set once the shard is closed (split or merged): the offset after its last record. */
  endOffset?: number;
  /** Set when the shard was chosen to close but the close did not finish (a crash in between). */
  closing?: boolean;
}

export interface ConsumerRecord {
  readonly consumerName: string;
  readonly consumerArn: string;
  readonly createdAtMs: number;
}

export interface StreamRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAtMs: number;
  status: StreamStatus;
  mode: StreamMode;
  retentionHours: number;
  nextShardSerial: number;
  shards: ShardRecord[];
  tags: Record<string, string>;
  consumers: ConsumerRecord[];
  /** Encryption at rest (StartStreamEncryption): new batches use data key `dataKey`; absent: they are plaintext. */
  encryption?: StreamEncryption;
  /** Every data key the stream's batches were encrypted with, wrapped by its KMS key. */
  dataKeys?: DataKeyRecord[];
  /** EnableEnhancedMonitoring's shard-level metrics; absent: none. */
  shardLevelMetrics?: ShardLevelMetric[];
}

export interface StreamEncryption {
  /** The KeyId as StartStreamEncryption was given it (DescribeStream answers it so). */
  readonly keyId: string;
  readonly keyArn: string;
  readonly dataKey: number;
}

export interface DataKeyRecord {
  readonly number: number;
  readonly keyArn: string;
  /** The key store's wrapped data key, base64. */
  readonly wrapped: string;
}

export function shardIdOf(serial: number): string {
  return `shardId-${String(serial).padStart(12, '0')}`;
}

export function startingSequenceNumber(shard: ShardRecord): string {
  return encodeSequenceNumber(shard.serial, 0);
}

export function isOpen(shard: ShardRecord): boolean {
  return shard.endOffset === undefined && shard.closing !== true;
}
