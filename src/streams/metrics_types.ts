/*
 * The engine's metrics as `Engine.metrics()` and the CALL `GetMetrics` answer them
 * (docs/OPERATIONS.md, "Metrics"): CloudWatch's AWS/Kinesis metrics as running totals since the
 * engine opened, plus the time integrals the cost estimate prices. Pure types: the console and
 * the CLI read them too.
 */

/** EnableEnhancedMonitoring's names (ALL stands for every one). */
export const SHARD_LEVEL_METRICS = [
  'IncomingBytes',
  'IncomingRecords',
  'OutgoingBytes',
  'OutgoingRecords',
  'WriteProvisionedThroughputExceeded',
  'ReadProvisionedThroughputExceeded',
  'IteratorAgeMilliseconds',
] as const;
export type ShardLevelMetric = (typeof SHARD_LEVEL_METRICS)[number];

export interface ShardMetrics {
  readonly shardId: string;
  readonly incomingBytes: number;
  readonly incomingRecords: number;
  /** GetRecords and SubscribeToShard events alike, as CloudWatch's OutgoingBytes. */
  readonly outgoingBytes: number;
  readonly outgoingRecords: number;
  readonly writeThrottledRecords: number;
  readonly readThrottledRequests: number;
  readonly iteratorAgeMs: number;
}

/** SubscribeToShard's metrics, dimensions StreamName and ConsumerName. */
export interface ConsumerMetrics {
  readonly consumerName: string;
  readonly subscribeSuccess: number;
  readonly subscribeRateExceeded: number;
  readonly eventRecords: number;
  readonly eventBytes: number;
  /** Of the latest event. */
  readonly millisBehindLatest: number;
}

export interface StreamMetrics {
  readonly streamName: string;
  readonly mode: 'PROVISIONED' | 'ON_DEMAND';
  readonly retentionHours: number;
  readonly openShards: number;
  readonly shardLevelMetrics: readonly ShardLevelMetric[];
  /** IncomingBytes / IncomingRecords: stored records, data and partition key. */
  readonly incomingBytes: number;
  readonly incomingRecords: number;
  /** WriteProvisionedThroughputExceeded: records refused by a shard's write limit. */
  readonly writeThrottledRecords: number;
  /** ReadProvisionedThroughputExceeded: GetRecords calls refused by a shard's read limit. */
  readonly readThrottledRequests: number;
  readonly putRecordSuccess: number;
  readonly putRecordFailed: number;
  readonly putRecordsRequests: number;
  readonly putRecordsTotalRecords: number;
  /** PutRecords.FailedRecords: refused for another reason than throttling (ThrottledRecords are apart). */
  readonly putRecordsFailedRecords: number;
  readonly putRecordsThrottledRecords: number;
  readonly getRecordsSuccess: number;
  readonly getRecordsRecords: number;
  readonly getRecordsBytes: number;
  /** GetRecords.IteratorAgeMilliseconds: the largest over the shards of their latest read's last record's age. */
  readonly getRecordsIteratorAgeMs: number;
  /** 25 KiB chunks of the stored records (provisioned pricing). */
  readonly putPayloadUnits: number;
  /** The stored records each rounded up to 1 KiB (on-demand pricing). */
  readonly onDemandIncomingBytes: number;
  /** How long the stream was observed (since it was created or the engine opened). */
  readonly observedMs: number;
  /** Integrals over the observed time: open shards, registered consumers x open shards, ... */
  readonly shardMs: number;
  readonly consumerShardMs: number;
  /** Open shards while retention was above 24 hours. */
  readonly extendedRetentionShardMs: number;
  /** Time spent in ON_DEMAND mode. */
  readonly onDemandMs: number;
  /** Only for streams with enhanced monitoring, and only the shards that saw traffic since. */
  readonly shards: readonly ShardMetrics[];
  readonly consumers: readonly ConsumerMetrics[];
}

export interface EngineMetrics {
  /** The engine's clock at the snapshot, and when counting began (the engine opened). */
  readonly atMs: number;
  readonly sinceMs: number;
  /** false when the engine was opened with `metrics: false`: every counter stays 0. */
  readonly enabled: boolean;
  readonly streams: readonly StreamMetrics[];
}
