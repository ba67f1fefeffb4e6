import { InvalidArgumentException, ResourceNotFoundException, ValidationException } from '../errors.js';
import { startingSequenceNumber, type ShardRecord, type StreamRecord } from './stream_records.js';
import { encodeSequenceNumber } from './sequence_number.js';

/*
 * Names and ARNs (the stream a request names, by StreamName or StreamARN), and the Shard object
 * as DescribeStream and ListShards return it, shared by the engine's operations. The limits are
 * src/limits.ts; the request validation is input_validation.ts.
 */

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
const NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,128}$/;
const STREAM_ARN_PATTERN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([a-zA-Z0-9_.-]{1,128})$/;

export interface StreamReference {
  readonly StreamName?: string | undefined;
  readonly StreamARN?: string | undefined;
}

export interface KinesisShard {
  readonly ShardId: string;
  readonly ParentShardId?: string;
  readonly AdjacentParentShardId?: string;
  readonly HashKeyRange: { readonly StartingHashKey: string; readonly EndingHashKey: string };
  readonly SequenceNumberRange: { readonly StartingSequenceNumber: string; readonly EndingSequenceNumber?: string };
}

export function streamArn(name: string): string {
  return `arn:aws:kinesis:${REGION}:${ACCOUNT_ID}:stream/${name}`;
}

export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw new ValidationException(`${field} must match [a-zA-Z0-9_.-]{1,128}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The stream name a request names, by StreamName or StreamARN (both must agree when both are given). */
export function streamNameOf(request: StreamReference | undefined): string {
  const byArn = request?.StreamARN === undefined ? undefined : STREAM_ARN_PATTERN.exec(request.StreamARN)?.[1];
  if (request?.StreamARN !== undefined && byArn === undefined)
    throw new ValidationException(`StreamARN ${JSON.stringify(request.StreamARN)} is not a stream ARN`);
  if (request?.StreamName !== undefined) {
    const name = checkName(request.StreamName, 'StreamName');
    if (byArn !== undefined && byArn !== name) throw new InvalidArgumentException('StreamName and StreamARN name different streams');
    return name;
  }
  if (byArn === undefined) throw new ValidationException('either StreamName or StreamARN is required');
  return byArn;
}

export function toKinesisShard(shard: ShardRecord): KinesisShard {
  return {
    ShardId: shard.shardId,
    ...(shard.parentShardId === undefined ? {} : { ParentShardId: shard.parentShardId }),
    ...(shard.adjacentParentShardId === undefined ? {} : { AdjacentParentShardId: shard.adjacentParentShardId }),
    HashKeyRange: { StartingHashKey: shard.startingHashKey, EndingHashKey: shard.endingHashKey },
    SequenceNumberRange: {
      StartingSequenceNumber: startingSequenceNumber(shard),
      ...(shard.endOffset === undefined
        ? {}
        : { EndingSequenceNumber: encodeSequenceNumber(shard.serial, Math.max(0, shard.endOffset - 1)) }),
    },
  };
}

export function findShard(stream: StreamRecord, shardId: unknown): ShardRecord {
  if (typeof shardId !== 'string' || shardId.length === 0 || shardId.length > 128)
    throw new ValidationException(`ShardId must be a string of 1 to 128 characters`);
  const shard = stream.shards.find((candidate) => candidate.shardId === shardId);
  if (shard === undefined)
    throw new ResourceNotFoundException(`Shard ${shardId} in stream ${stream.name} under account ${ACCOUNT_ID} does not exist`);
  return shard;
}
