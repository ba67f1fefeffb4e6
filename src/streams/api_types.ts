import type { KinesisShard, StreamReference } from './kinesis_shapes.js';
import type { EngineMetrics, ShardLevelMetric } from './metrics_types.js';
import type { StreamMode, StreamStatus } from './stream_records.js';

/*
 * The engine's requests and responses, with the Kinesis API's names and shapes (as the AWS SDK
 * for JavaScript v3 has them). Types only, no code: the Node and browser clients import them
 * without pulling in anything that runs on the engine's side.
 */

export type { KinesisShard, StreamReference } from './kinesis_shapes.js';
export type { StreamMode, StreamStatus } from './stream_records.js';

export type IteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'AT_TIMESTAMP';

/**
 * Set on PutRecord, PutRecords, GetShardIterator, GetRecords and SubscribeToShard: the request
 * is validated and what it names looked up, then refused with DryRunOperationException, as
 * Kinesis refuses a dry run that would have succeeded. Nothing is stored or read.
 */
export interface DryRunnable {
  readonly DryRun?: boolean | undefined;
}

export interface KinesisRecord {
  readonly SequenceNumber: string;
  readonly ApproximateArrivalTimestamp: Date;
  readonly Data: Uint8Array;
  readonly PartitionKey: string;
}

export interface HashKeyRangeShape {
  readonly StartingHashKey: string;
  readonly EndingHashKey: string;
}

export interface ChildShard {
  readonly ShardId: string;
  readonly ParentShards: string[];
  readonly HashKeyRange: HashKeyRangeShape;
}

export interface ConsumerDescription {
  readonly ConsumerName: string;
  readonly ConsumerARN: string;
  readonly ConsumerStatus: 'ACTIVE';
  readonly ConsumerCreationTimestamp: Date;
}

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

// ---- streams ----

export interface CreateStreamInput {
  readonly StreamName: string;
  readonly ShardCount?: number;
  readonly StreamModeDetails?: { readonly StreamMode: StreamMode };
  readonly Tags?: Record<string, string>;
}

export interface DeleteStreamInput extends StreamReference {
  readonly EnforceConsumerDeletion?: boolean;
}

/** What DescribeStream and DescribeStreamSummary both say of a stream. */
export interface StreamHeader {
  readonly StreamName: string;
  readonly StreamARN: string;
  readonly StreamStatus: StreamStatus;
  readonly StreamModeDetails: { readonly StreamMode: StreamMode };
  readonly RetentionPeriodHours: number;
  readonly StreamCreationTimestamp: Date;
  readonly EnhancedMonitoring: Array<{ readonly ShardLevelMetrics: string[] }>;
  readonly EncryptionType: EncryptionType;
  /** With EncryptionType KMS: the KeyId StartStreamEncryption was given. */
  readonly KeyId?: string;
}

export type EncryptionType = 'NONE' | 'KMS';

/** StartStreamEncryption and StopStreamEncryption. */
export interface StreamEncryptionInput extends StreamReference {
  readonly EncryptionType: string;
  readonly KeyId: string;
}

export interface StreamDescriptionSummary extends StreamHeader {
  readonly OpenShardCount: number;
  readonly ConsumerCount: number;
}

export interface StreamDescription extends StreamHeader {
  readonly Shards: KinesisShard[];
  readonly HasMoreShards: boolean;
}

export interface DescribeStreamInput extends StreamReference {
  readonly Limit?: number;
  readonly ExclusiveStartShardId?: string;
}

export interface DescribeStreamOutput {
  readonly StreamDescription: StreamDescription;
}

export interface DescribeStreamSummaryOutput {
  readonly StreamDescriptionSummary: StreamDescriptionSummary;
}

export interface ListStreamsInput {
  readonly Limit?: number;
  readonly ExclusiveStartStreamName?: string;
  readonly NextToken?: string;
}

export interface StreamSummary {
  readonly StreamName: string;
  readonly StreamARN: string;
  readonly StreamStatus: StreamStatus;
  readonly StreamModeDetails: { readonly StreamMode: StreamMode };
  readonly StreamCreationTimestamp: Date;
}

export interface ListStreamsOutput {
  readonly StreamNames: string[];
  readonly HasMoreStreams: boolean;
  readonly NextToken?: string;
  readonly StreamSummaries: StreamSummary[];
}

export interface ListShardsInput extends StreamReference {
  readonly NextToken?: string;
  readonly ExclusiveStartShardId?: string;
  readonly MaxResults?: number;
  readonly StreamCreationTimestamp?: Date;
  readonly ShardFilter?: { readonly Type: string; readonly ShardId?: string };
}

export interface ListShardsOutput {
  readonly Shards: KinesisShard[];
  readonly NextToken?: string;
}

// ---- records ----

export interface PutRecordsRequestEntry {
  readonly Data: Uint8Array;
  readonly PartitionKey: string;
  readonly ExplicitHashKey?: string | undefined;
}

export type PutRecordInput = PutRecordsRequestEntry & StreamReference & DryRunnable;

export interface PutRecordOutput {
  readonly ShardId: string;
  readonly SequenceNumber: string;
  readonly EncryptionType: EncryptionType;
}

export interface PutRecordsInput extends StreamReference, DryRunnable {
  readonly Records: readonly PutRecordsRequestEntry[];
}

export type PutRecordsResultEntry =
  { readonly SequenceNumber: string; readonly ShardId: string } | { readonly ErrorCode: string; readonly ErrorMessage: string };

export interface PutRecordsOutput {
  readonly FailedRecordCount: number;
  readonly Records: PutRecordsResultEntry[];
  readonly EncryptionType: EncryptionType;
}

export interface GetShardIteratorInput extends StreamReference, DryRunnable {
  readonly ShardId: string;
  readonly ShardIteratorType: IteratorType;
  readonly StartingSequenceNumber?: string;
  readonly Timestamp?: Date | number;
}

export interface GetShardIteratorOutput {
  readonly ShardIterator: string;
}

export interface GetRecordsInput extends DryRunnable {
  readonly ShardIterator: string;
  readonly Limit?: number;
}

export interface GetRecordsResult {
  readonly Records: KinesisRecord[];
  readonly NextShardIterator?: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: ChildShard[];
}

export interface StartingPosition {
  readonly Type: IteratorType;
  readonly SequenceNumber?: string;
  readonly Timestamp?: Date | number;
}

export interface SubscribeToShardRequest extends DryRunnable {
  readonly ConsumerARN: string;
  readonly ShardId: string;
  readonly StartingPosition: StartingPosition;
}

export interface SubscribeToShardEvent {
  readonly Records: KinesisRecord[];
  readonly ContinuationSequenceNumber: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: ChildShard[];
}

// ---- resharding and settings ----

export interface SplitShardInput extends StreamReference {
  readonly ShardToSplit: string;
  readonly NewStartingHashKey: string;
}

export interface MergeShardsInput extends StreamReference {
  readonly ShardToMerge: string;
  readonly AdjacentShardToMerge: string;
}

export interface UpdateShardCountInput extends StreamReference {
  readonly TargetShardCount: number;
  readonly ScalingType: 'UNIFORM_SCALING';
}

export interface UpdateShardCountOutput {
  readonly StreamName: string;
  readonly StreamARN: string;
  readonly CurrentShardCount: number;
  readonly TargetShardCount: number;
}

export interface RetentionPeriodInput extends StreamReference {
  readonly RetentionPeriodHours: number;
}

export interface UpdateStreamModeInput {
  readonly StreamARN: string;
  readonly StreamModeDetails: { readonly StreamMode: StreamMode };
}

export interface EnhancedMonitoringInput extends StreamReference {
  readonly ShardLevelMetrics: ReadonlyArray<ShardLevelMetric | 'ALL'>;
}

export interface EnhancedMonitoringOutput {
  readonly StreamName: string;
  readonly StreamARN: string;
  readonly CurrentShardLevelMetrics: ShardLevelMetric[];
  readonly DesiredShardLevelMetrics: ShardLevelMetric[];
}

export interface AddTagsToStreamInput extends StreamReference {
  readonly Tags: Record<string, string>;
}

export interface RemoveTagsFromStreamInput extends StreamReference {
  readonly TagKeys: string[];
}

export interface ListTagsForStreamInput extends StreamReference {
  readonly ExclusiveStartTagKey?: string;
  readonly Limit?: number;
}

export interface ListTagsForStreamOutput {
  readonly Tags: Tag[];
  readonly HasMoreTags: boolean;
}

// ---- enhanced fan-out consumers ----

export interface RegisterStreamConsumerInput {
  readonly StreamARN: string;
  readonly ConsumerName: string;
}

export interface RegisterStreamConsumerOutput {
  readonly Consumer: ConsumerDescription;
}

/** A consumer by its ARN, or by its stream's ARN and its name. */
export interface ConsumerReference {
  readonly StreamARN?: string;
  readonly ConsumerName?: string;
  readonly ConsumerARN?: string;
}

export interface DescribeStreamConsumerOutput {
  readonly ConsumerDescription: ConsumerDescription & { readonly StreamARN: string };
}

export interface ListStreamConsumersInput {
  readonly StreamARN: string;
  readonly MaxResults?: number;
  readonly NextToken?: string;
}

export interface ListStreamConsumersOutput {
  readonly Consumers: ConsumerDescription[];
  readonly NextToken?: string;
}

// ---- verification (beyond Kinesis) ----

export interface ShardVerification {
  readonly ShardId: string;
  readonly Segments: number;
  readonly Batches: number;
  readonly Bytes: number;
  /** The first invalid batch of each segment that has one. */
  readonly Corrupt: Array<{ readonly Segment: string; readonly PositionBytes: number; readonly Offset: number }>;
}

export interface VerifyStreamOutput {
  readonly Shards: ShardVerification[];
}

/** A shard's retained records (shardline's operation): absent sequence numbers when it holds none. */
export interface ShardPosition {
  readonly ShardId: string;
  readonly RecordCount: number;
  readonly OldestSequenceNumber?: string;
  readonly LatestSequenceNumber?: string;
}

export interface DescribeShardPositionsOutput {
  readonly Shards: ShardPosition[];
}

// ---- the operations, by their Kinesis names ----

interface Operation<Request, Response> {
  readonly request: Request;
  readonly response: Response;
}

/**
 * Every operation a door reaches by name (a WebSocket CALL, the Kinesis HTTP API): its request
 * and what the engine answers. SubscribeToShard streams its answer, so it is no entry here.
 */
export interface Operations {
  CreateStream: Operation<CreateStreamInput, void>;
  DeleteStream: Operation<DeleteStreamInput, void>;
  DescribeStream: Operation<DescribeStreamInput, DescribeStreamOutput>;
  DescribeStreamSummary: Operation<StreamReference, DescribeStreamSummaryOutput>;
  ListStreams: Operation<ListStreamsInput, ListStreamsOutput>;
  ListShards: Operation<ListShardsInput, ListShardsOutput>;
  PutRecord: Operation<PutRecordInput, PutRecordOutput>;
  PutRecords: Operation<PutRecordsInput, PutRecordsOutput>;
  GetShardIterator: Operation<GetShardIteratorInput, GetShardIteratorOutput>;
  GetRecords: Operation<GetRecordsInput, GetRecordsResult>;
  SplitShard: Operation<SplitShardInput, void>;
  MergeShards: Operation<MergeShardsInput, void>;
  UpdateShardCount: Operation<UpdateShardCountInput, UpdateShardCountOutput>;
  IncreaseStreamRetentionPeriod: Operation<RetentionPeriodInput, void>;
  DecreaseStreamRetentionPeriod: Operation<RetentionPeriodInput, void>;
  UpdateStreamMode: Operation<UpdateStreamModeInput, void>;
  StartStreamEncryption: Operation<StreamEncryptionInput, void>;
  StopStreamEncryption: Operation<StreamEncryptionInput, void>;
  RegisterStreamConsumer: Operation<RegisterStreamConsumerInput, RegisterStreamConsumerOutput>;
  DeregisterStreamConsumer: Operation<ConsumerReference, void>;
  DescribeStreamConsumer: Operation<ConsumerReference, DescribeStreamConsumerOutput>;
  ListStreamConsumers: Operation<ListStreamConsumersInput, ListStreamConsumersOutput>;
  EnableEnhancedMonitoring: Operation<EnhancedMonitoringInput, EnhancedMonitoringOutput>;
  DisableEnhancedMonitoring: Operation<EnhancedMonitoringInput, EnhancedMonitoringOutput>;
  GetMetrics: Operation<Record<string, never>, EngineMetrics>;
  AddTagsToStream: Operation<AddTagsToStreamInput, void>;
  RemoveTagsFromStream: Operation<RemoveTagsFromStreamInput, void>;
  ListTagsForStream: Operation<ListTagsForStreamInput, ListTagsForStreamOutput>;
  VerifyStream: Operation<StreamReference, VerifyStreamOutput>;
}

export type OperationName = keyof Operations;
export type OperationRequest<K extends OperationName> = Operations[K]['request'];
/** What a door answers: the engine's response, or {} for an operation that returns nothing. */
export type OperationResponse<K extends OperationName> = Operations[K]['response'] extends void
  ? Record<string, never>
  : Operations[K]['response'];
