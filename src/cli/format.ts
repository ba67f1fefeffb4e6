import type { StreamDescriptionSummary } from '../streams/api_types.js';
import type { ConsumedRecord } from '../client/node.js';
import type { KinesisShard } from '../streams/kinesis_shapes.js';

/* What the client commands print: plain text for people, JSON where asked. Pure functions. */

export type RecordFormat = 'text' | 'json';

export function summaryLines(summary: StreamDescriptionSummary): string[] {
  const created = summary.StreamCreationTimestamp;
  const rows: Array<[string, unknown]> = [
    ['stream', summary.StreamName],
    ['arn', summary.StreamARN],
    ['status', summary.StreamStatus],
    ['mode', summary.StreamModeDetails.StreamMode],
    ['retention', `${String(summary.RetentionPeriodHours)} hours`],
    ['created', created instanceof Date ? created.toISOString() : created],
    ['open shards', summary.OpenShardCount],
    ['consumers', summary.ConsumerCount],
  ];
  return rows.map(([label, value]) => `${label.padEnd(12)} ${String(value)}`);
}

export function shardTable(shards: readonly KinesisShard[]): string[] {
  const rows = shards.map((shard) => [
    shard.ShardId,
    shard.SequenceNumberRange.EndingSequenceNumber === undefined ? 'open' : 'closed',
    [shard.ParentShardId, shard.AdjacentParentShardId].filter((id) => id !== undefined).join(',') || '-',
    hashKeyRange(shard),
  ]);
  return formatTable([['SHARD', 'STATE', 'PARENTS', 'HASH KEYS'], ...rows]);
}

/** Columns padded to their widest cell; the last column is not padded (no trailing blanks). */
export function formatTable(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}

/** A shard's hash key range as the commands print it: `start..end`. */
export function hashKeyRange(shard: KinesisShard): string {
  return `${shard.HashKeyRange.StartingHashKey}..${shard.HashKeyRange.EndingHashKey}`;
}

export function formatRecord(record: ConsumedRecord, format: RecordFormat): string {
  const text = Buffer.from(record.Data.buffer, record.Data.byteOffset, record.Data.byteLength).toString('utf8');
  if (format === 'text') return text;
  return JSON.stringify({
    ShardId: record.ShardId,
    SequenceNumber: record.SequenceNumber,
    ...(record.SubSequenceNumber === undefined ? {} : { SubSequenceNumber: record.SubSequenceNumber }),
    PartitionKey: record.PartitionKey,
    ...(record.ExplicitHashKey === undefined ? {} : { ExplicitHashKey: record.ExplicitHashKey }),
    ApproximateArrivalTimestamp: record.ApproximateArrivalTimestamp.toISOString(),
    Data: text,
  });
}
