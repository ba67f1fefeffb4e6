/**
 * The input shapes of the Kinesis Data Streams API (2013-12-02) as its published model defines
 * them: for each operation, its members in the model's order, which are required, and each
 * member's constraints (length, range, pattern, enumeration). input_validation.ts reads requests
 * against them. Rules the model states only in prose are the engine's to check where they tie
 * several members or the engine's state together (StreamName or StreamARN, retention from 24 to
 * 8760 hours, shard limits); a rule on one value's characters (tags, TAG_CHARACTERS) is here,
 * with the value's other constraints.
 *
 * The constraints are the published model's. The members are those of the current API, as the
 * installed @aws-sdk/client-kinesis sends them: it adds StreamId (reserved, ignored), DryRun,
 * CreateStream's Tags, and members for features shardline does not have, which are refused by
 * name rather than ignored. The current API makes PartitionKey optional for streams that route
 * records themselves; here every stream routes by partition key, so it stays required.
 *
 * Patterns: the model writes them anchored (`^[a-zA-Z0-9_.-]+$`); AWS's API reference and its
 * error messages quote them bare (`[a-zA-Z0-9_.-]+`), and a value must match whole. The model's
 * `^0|([1-9]\d{0,38})$` for hash keys binds `|` loosely and would pass `0x`; what it means, and
 * what is checked here, is the whole value matching `0|([1-9]\d{0,38})`.
 *
 * Where a constraint is one of Kinesis' limits (PutRecords' 500 entries, a record's 1 MiB, a
 * partition key's 256 characters, page sizes, tags), it is read from src/limits.ts.
 */

import {
  LIST_PAGE_ENTRIES_MAX,
  PARTITION_KEY_CHARS_MAX,
  PUT_RECORDS_RECORDS_MAX,
  RECORD_PAYLOAD_BYTES_MAX,
  TAG_KEY_CHARS_MAX,
  TAG_VALUE_CHARS_MAX,
  TAGS_PER_STREAM_MAX,
} from '../limits.js';
import { SHARD_LEVEL_METRICS } from './metrics_types.js';

export interface Sized {
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface StringShape extends Sized {
  readonly type: 'string';
  /** Matched against the whole value; `patternText` is how AWS quotes it. */
  readonly pattern?: RegExp;
  readonly patternText?: string;
  readonly enum?: readonly string[];
  /** A rule on the value's characters that the API states in prose, not in the model. */
  readonly characters?: CharacterRule;
}

/**
 * Broken, a CharacterRule is an InvalidArgumentException with its message, as Kinesis answers
 * it; it is read only once the model's constraints hold (they are a ValidationException first).
 */
export interface CharacterRule {
  /** Matched against the whole value. */
  readonly pattern: RegExp;
  readonly message: string;
}

export interface IntegerShape {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
}

export interface BlobShape extends Sized {
  readonly type: 'blob';
}

export interface ListShape extends Sized {
  readonly type: 'list';
  readonly member: StringShape | StructureShape;
}

export interface MapShape extends Sized {
  readonly type: 'map';
  readonly key: StringShape;
  readonly value: StringShape;
}

export interface Member {
  readonly name: string;
  /** The name as AWS's messages give it: first letter in lower case. */
  readonly pathName: string;
  readonly shape: Shape;
  readonly required: boolean;
}

export interface StructureShape {
  readonly type: 'structure';
  readonly name: string;
  readonly members: readonly Member[];
}

/** A member of the current API that shardline does not implement: refused, never ignored. */
export interface UnsupportedShape {
  readonly type: 'unsupported';
  readonly why: string;
}

export type Shape =
  | StringShape
  | IntegerShape
  | BlobShape
  | ListShape
  | MapShape
  | StructureShape
  | UnsupportedShape
  | { readonly type: 'boolean' }
  | { readonly type: 'timestamp' };

function string(constraints: Omit<StringShape, 'type' | 'pattern' | 'patternText'> & { readonly pattern?: string } = {}): StringShape {
  const { pattern, ...rest } = constraints;
  return pattern === undefined
    ? { type: 'string', ...rest }
    : { type: 'string', ...rest, pattern: new RegExp(`^(?:${pattern})$`), patternText: pattern };
}

/** Members in model order: `name` or `name!` (required) to shape. */
function structure(name: string, members: Record<string, Shape>): StructureShape {
  return {
    type: 'structure',
    name,
    members: Object.entries(members).map(([key, shape]) => {
      const required = key.endsWith('!');
      const memberName = required ? key.slice(0, -1) : key;
      return { name: memberName, pathName: memberName[0]!.toLowerCase() + memberName.slice(1), shape, required };
    }),
  };
}

const NAME_PATTERN = '[a-zA-Z0-9_.-]+';
const STREAM_NAME = string({ minLength: 1, maxLength: 128, pattern: NAME_PATTERN });
const STREAM_ARN = string({ minLength: 1, maxLength: 2048, pattern: 'arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+' });
const CONSUMER_NAME = STREAM_NAME;
const CONSUMER_ARN = string({
  minLength: 1,
  maxLength: 2048,
  pattern: '(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+',
});
const SHARD_ID = STREAM_NAME;
const HASH_KEY = string({ pattern: '0|([1-9]\\d{0,38})' });
const SEQUENCE_NUMBER = string({ pattern: '0|([1-9]\\d{0,128})' });
const PARTITION_KEY = string({ minLength: 1, maxLength: PARTITION_KEY_CHARS_MAX });
const SHARD_ITERATOR = string({ minLength: 1, maxLength: 512 });
const NEXT_TOKEN = string({ minLength: 1, maxLength: 1048576 });
/**
 * Kinesis refuses a tag key or value (AddTagsToStream, CreateStream's Tags, RemoveTagsFromStream)
 * with other characters than these, in its words: "white space" is the Unicode separators
 * (\p{Z}), so a tab or a newline is refused.
 */
const TAG_CHARACTERS: CharacterRule = {
  pattern: /^[\p{L}\p{Z}\p{N}_./=+\-%@]*$/u,
  message: 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.',
};
const TAG_KEY = string({ minLength: 1, maxLength: TAG_KEY_CHARS_MAX, characters: TAG_CHARACTERS });
const TAG_VALUE = string({ minLength: 0, maxLength: TAG_VALUE_CHARS_MAX, characters: TAG_CHARACTERS });
/** ListTagsForStream's ExclusiveStartTagKey: it names where a page starts, and makes no tag. */
const START_TAG_KEY = string({ minLength: 1, maxLength: TAG_KEY_CHARS_MAX });
const DATA: BlobShape = { type: 'blob', minLength: 0, maxLength: RECORD_PAYLOAD_BYTES_MAX };
const TIMESTAMP: Shape = { type: 'timestamp' };
const BOOLEAN: Shape = { type: 'boolean' };
const POSITIVE_INTEGER: IntegerShape = { type: 'integer', min: 1 };
const RETENTION_HOURS: IntegerShape = { type: 'integer' };
const PAGE_LIMIT: IntegerShape = { type: 'integer', min: 1, max: LIST_PAGE_ENTRIES_MAX };
const SHARD_ITERATOR_TYPE = string({ enum: ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] });
const STREAM_MODE_DETAILS = structure('StreamModeDetails', { 'StreamMode!': string({ enum: ['PROVISIONED', 'ON_DEMAND'] }) });
const TAG_MAP: MapShape = { type: 'map', key: TAG_KEY, value: TAG_VALUE, minLength: 1, maxLength: 200 };
/** "Not Implemented. Reserved for future use." in AWS's reference: taken and ignored. */
const STREAM_ID = string();
const DRY_RUN = BOOLEAN;
const SHARD_LEVEL_METRICS_LIST: ListShape = {
  type: 'list',
  member: string({ enum: [...SHARD_LEVEL_METRICS, 'ALL'] }),
  minLength: 1,
  maxLength: SHARD_LEVEL_METRICS.length,
};
const WARM_THROUGHPUT: UnsupportedShape = { type: 'unsupported', why: 'there is no warm throughput to provision on one machine' };

const SHARD_FILTER = structure('ShardFilter', {
  'Type!': string({ enum: ['AFTER_SHARD_ID', 'AT_TRIM_HORIZON', 'FROM_TRIM_HORIZON', 'AT_LATEST', 'AT_TIMESTAMP', 'FROM_TIMESTAMP'] }),
  ShardId: SHARD_ID,
  Timestamp: TIMESTAMP,
});

const PUT_RECORDS_ENTRY = structure('PutRecordsRequestEntry', { 'Data!': DATA, ExplicitHashKey: HASH_KEY, 'PartitionKey!': PARTITION_KEY });

const STARTING_POSITION = structure('StartingPosition', {
  'Type!': SHARD_ITERATOR_TYPE,
  SequenceNumber: SEQUENCE_NUMBER,
  Timestamp: TIMESTAMP,
});

/** The input shape of each operation the HTTP API serves, by operation name. */
export const INPUT_SHAPES: Readonly<Record<string, StructureShape>> = Object.assign(Object.create(null) as Record<string, StructureShape>, {
  CreateStream: structure('CreateStreamInput', {
    'StreamName!': STREAM_NAME,
    ShardCount: POSITIVE_INTEGER,
    StreamModeDetails: STREAM_MODE_DETAILS,
    Tags: TAG_MAP,
    WarmThroughputMiBps: WARM_THROUGHPUT,
    MaxRecordSizeInKiB: { type: 'unsupported', why: 'records are at most 1 MiB' },
    RecordDistributionStrategy: { type: 'unsupported', why: 'records are routed by partition key' },
  }),
  DeleteStream: structure('DeleteStreamInput', {
    StreamName: STREAM_NAME,
    EnforceConsumerDeletion: BOOLEAN,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  DescribeStream: structure('DescribeStreamInput', {
    StreamName: STREAM_NAME,
    Limit: PAGE_LIMIT,
    ExclusiveStartShardId: SHARD_ID,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  DescribeStreamSummary: structure('DescribeStreamSummaryInput', { StreamName: STREAM_NAME, StreamARN: STREAM_ARN, StreamId: STREAM_ID }),
  ListStreams: structure('ListStreamsInput', { Limit: PAGE_LIMIT, ExclusiveStartStreamName: STREAM_NAME, NextToken: NEXT_TOKEN }),
  ListShards: structure('ListShardsInput', {
    StreamName: STREAM_NAME,
    NextToken: NEXT_TOKEN,
    ExclusiveStartShardId: SHARD_ID,
    MaxResults: PAGE_LIMIT,
    StreamCreationTimestamp: TIMESTAMP,
    ShardFilter: SHARD_FILTER,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  PutRecord: structure('PutRecordInput', {
    StreamName: STREAM_NAME,
    'Data!': DATA,
    'PartitionKey!': PARTITION_KEY,
    ExplicitHashKey: HASH_KEY,
    SequenceNumberForOrdering: SEQUENCE_NUMBER,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
    DryRun: DRY_RUN,
  }),
  PutRecords: structure('PutRecordsInput', {
    'Records!': { type: 'list', member: PUT_RECORDS_ENTRY, minLength: 1, maxLength: PUT_RECORDS_RECORDS_MAX },
    StreamName: STREAM_NAME,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
    DryRun: DRY_RUN,
  }),
  GetShardIterator: structure('GetShardIteratorInput', {
    StreamName: STREAM_NAME,
    'ShardId!': SHARD_ID,
    'ShardIteratorType!': SHARD_ITERATOR_TYPE,
    StartingSequenceNumber: SEQUENCE_NUMBER,
    Timestamp: TIMESTAMP,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
    DryRun: DRY_RUN,
  }),
  GetRecords: structure('GetRecordsInput', {
    'ShardIterator!': SHARD_ITERATOR,
    Limit: PAGE_LIMIT,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
    DryRun: DRY_RUN,
  }),
  SplitShard: structure('SplitShardInput', {
    StreamName: STREAM_NAME,
    'ShardToSplit!': SHARD_ID,
    'NewStartingHashKey!': HASH_KEY,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  MergeShards: structure('MergeShardsInput', {
    StreamName: STREAM_NAME,
    'ShardToMerge!': SHARD_ID,
    'AdjacentShardToMerge!': SHARD_ID,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  UpdateShardCount: structure('UpdateShardCountInput', {
    StreamName: STREAM_NAME,
    'TargetShardCount!': POSITIVE_INTEGER,
    'ScalingType!': string({ enum: ['UNIFORM_SCALING'] }),
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  IncreaseStreamRetentionPeriod: structure('IncreaseStreamRetentionPeriodInput', {
    StreamName: STREAM_NAME,
    'RetentionPeriodHours!': RETENTION_HOURS,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  DecreaseStreamRetentionPeriod: structure('DecreaseStreamRetentionPeriodInput', {
    StreamName: STREAM_NAME,
    'RetentionPeriodHours!': RETENTION_HOURS,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  UpdateStreamMode: structure('UpdateStreamModeInput', {
    'StreamARN!': STREAM_ARN,
    StreamId: STREAM_ID,
    'StreamModeDetails!': STREAM_MODE_DETAILS,
    WarmThroughputMiBps: WARM_THROUGHPUT,
  }),
  StartStreamEncryption: structure('StartStreamEncryptionInput', {
    StreamName: STREAM_NAME,
    'EncryptionType!': string({ enum: ['NONE', 'KMS'] }),
    'KeyId!': string({ minLength: 1, maxLength: 2048 }),
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  StopStreamEncryption: structure('StopStreamEncryptionInput', {
    StreamName: STREAM_NAME,
    'EncryptionType!': string({ enum: ['NONE', 'KMS'] }),
    'KeyId!': string({ minLength: 1, maxLength: 2048 }),
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  RegisterStreamConsumer: structure('RegisterStreamConsumerInput', {
    'StreamARN!': STREAM_ARN,
    'ConsumerName!': CONSUMER_NAME,
    StreamId: STREAM_ID,
    Tags: { type: 'unsupported', why: 'consumers carry no tags here' },
  }),
  DeregisterStreamConsumer: structure('DeregisterStreamConsumerInput', {
    StreamARN: STREAM_ARN,
    ConsumerName: CONSUMER_NAME,
    ConsumerARN: CONSUMER_ARN,
    StreamId: STREAM_ID,
  }),
  DescribeStreamConsumer: structure('DescribeStreamConsumerInput', {
    StreamARN: STREAM_ARN,
    ConsumerName: CONSUMER_NAME,
    ConsumerARN: CONSUMER_ARN,
    StreamId: STREAM_ID,
  }),
  ListStreamConsumers: structure('ListStreamConsumersInput', {
    'StreamARN!': STREAM_ARN,
    NextToken: NEXT_TOKEN,
    MaxResults: PAGE_LIMIT,
    StreamCreationTimestamp: TIMESTAMP,
    StreamId: STREAM_ID,
  }),
  EnableEnhancedMonitoring: structure('EnableEnhancedMonitoringInput', {
    StreamName: STREAM_NAME,
    'ShardLevelMetrics!': SHARD_LEVEL_METRICS_LIST,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  DisableEnhancedMonitoring: structure('DisableEnhancedMonitoringInput', {
    StreamName: STREAM_NAME,
    'ShardLevelMetrics!': SHARD_LEVEL_METRICS_LIST,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  AddTagsToStream: structure('AddTagsToStreamInput', {
    StreamName: STREAM_NAME,
    'Tags!': TAG_MAP,
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  RemoveTagsFromStream: structure('RemoveTagsFromStreamInput', {
    StreamName: STREAM_NAME,
    'TagKeys!': { type: 'list', member: TAG_KEY, minLength: 1, maxLength: TAGS_PER_STREAM_MAX },
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  ListTagsForStream: structure('ListTagsForStreamInput', {
    StreamName: STREAM_NAME,
    ExclusiveStartTagKey: START_TAG_KEY,
    Limit: { type: 'integer', min: 1, max: TAGS_PER_STREAM_MAX },
    StreamARN: STREAM_ARN,
    StreamId: STREAM_ID,
  }),
  SubscribeToShard: structure('SubscribeToShardInput', {
    'ConsumerARN!': CONSUMER_ARN,
    StreamId: STREAM_ID,
    'ShardId!': SHARD_ID,
    'StartingPosition!': STARTING_POSITION,
    DryRun: DRY_RUN,
  }),
  // shardline's own: checks a stream's logs end to end (docs/PROTOCOL.md).
  VerifyStream: structure('VerifyStreamInput', { StreamName: STREAM_NAME, StreamARN: STREAM_ARN }),
  /** shardline's, not Kinesis': the metrics CloudWatch would hold (src/streams/metrics_types.ts). */
  GetMetrics: structure('GetMetricsInput', {}),
} satisfies Record<string, StructureShape>);
