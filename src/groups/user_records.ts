import { DecryptionError } from '../errors.js';
import { isSealed, type EnvelopeEncryption } from '../client/envelope.js';
import { deaggregate, hasMagic } from '../client/kpl_aggregation.js';
import { routingHashKey } from '../client/shard_maps.js';
import { compareExtended } from './lease.js';
import type { ExtendedSequenceNumber, KinesisClientRecord } from './processor.js';
import type { SourceRecord, SourceShard } from './record_source.js';

export interface Unpacking {
  /** Unpack KPL aggregates (default true). */
  readonly deaggregate: boolean;
  /** Open records sealed by a Producer's `encryption` first. */
  readonly encryption: EnvelopeEncryption | null;
}

/**
 * A batch's user records past `after` (a checkpoint inside an aggregate resumes at its next
 * sub-record): sealed records opened, KPL aggregates unpacked with their sub-sequence numbers.
 * A sub-record whose hash key is outside the shard is kept and marked (the KCL drops the whole
 * aggregate, silently: see ../shared/reference/kinesis-family.md §2.2).
 */
export async function userRecords(
  records: readonly SourceRecord[],
  shard: SourceShard | undefined,
  unpacking: Unpacking,
  after: ExtendedSequenceNumber | null,
  streamName: string,
): Promise<KinesisClientRecord[]> {
  const out: KinesisClientRecord[] = [];
  for (const record of records) {
    const data =
      unpacking.encryption !== null && isSealed(record.Data) ? await open(unpacking.encryption, record, shard, streamName) : record.Data;
    const users = unpacking.deaggregate && hasMagic(data) ? deaggregate(data) : null;
    if (users === null) {
      out.push(plain(record, data));
      continue;
    }
    const start = shard === undefined ? null : BigInt(shard.startingHashKey);
    const end = shard === undefined ? null : BigInt(shard.endingHashKey);
    for (const user of users) {
      const hashKey = start === null ? null : routingHashKey(user);
      out.push({
        sequenceNumber: record.SequenceNumber,
        subSequenceNumber: user.subSequenceNumber,
        partitionKey: user.partitionKey,
        ...(user.explicitHashKey === undefined ? {} : { explicitHashKey: user.explicitHashKey }),
        data: user.data,
        approximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
        aggregated: true,
        ...(hashKey !== null && (hashKey < start! || hashKey > end!) ? { outsideShard: true as const } : {}),
      });
    }
  }
  return after === null ? out : out.filter((record) => compareExtended(record, after) > 0);
}

function plain(record: SourceRecord, data: Uint8Array): KinesisClientRecord {
  return {
    sequenceNumber: record.SequenceNumber,
    subSequenceNumber: 0,
    partitionKey: record.PartitionKey,
    data,
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
    aggregated: false,
  };
}

async function open(
  encryption: EnvelopeEncryption,
  record: SourceRecord,
  shard: SourceShard | undefined,
  streamName: string,
): Promise<Uint8Array> {
  try {
    return await encryption.decrypt(record.Data);
  } catch (error) {
    if (!(error instanceof DecryptionError)) throw error;
    throw error.withRecord({
      streamName,
      ...(shard === undefined ? {} : { shardId: shard.shardId }),
      sequenceNumber: record.SequenceNumber,
    });
  }
}
