import type { Engine } from '../../src/engine/engine.js';
import type { CaptureRecord } from '../../src/testkit/capture_format.js';
import { orderKey } from '../../src/testkit/capture_putter.js';
import { openCapture } from '../../src/testkit/capture_reader.js';
import { HASH_KEY_MAX } from '../../src/streams/hash_key.js';

/** One record as put: what a round trip must give back. */
export interface PutRecord {
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly explicitHashKey?: string;
}

/** `count` records over `keyCount` keys, sizes 0 .. 2 KiB, one in five with an explicit hash key, from `random`. */
export function randomRecords(random: () => number, count: number, keyCount: number): PutRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const data = Buffer.alloc(Math.floor(random() * 2048));
    for (let b = 0; b < data.length; b++) data[b] = Math.floor(random() * 256);
    const record = { partitionKey: `key-${Math.floor(random() * keyCount)}-${'é'.repeat(i % 3)}`, data };
    if (random() >= 0.2) return record;
    return { ...record, explicitHashKey: ((BigInt(Math.floor(random() * 2 ** 52)) * HASH_KEY_MAX) / 2n ** 52n).toString() };
  });
}

/** Puts the records in order, 100 a call: a key's records then sit in their shard in put order. */
export async function putInOrder(engine: Engine, stream: string, records: readonly PutRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 100) {
    const result = await engine.putRecords({
      StreamName: stream,
      Records: records.slice(i, i + 100).map((record) => ({
        PartitionKey: record.partitionKey,
        Data: record.data,
        ...(record.explicitHashKey === undefined ? {} : { ExplicitHashKey: record.explicitHashKey }),
      })),
    });
    if (result.FailedRecordCount !== 0) throw new Error(`${result.FailedRecordCount} records failed`);
  }
}

export async function captureRecords(file: string): Promise<CaptureRecord[]> {
  const records: CaptureRecord[] = [];
  for await (const record of (await openCapture(file)).records()) records.push(record);
  return records;
}

/**
 * Each key's records (partition key, data in hex, explicit hash key) in their order: what per-key
 * order and fidelity compare. A key is what routes a record (capture_putter.ts: orderKey).
 */
export function byKey(
  records: readonly { partitionKey: string; data: Uint8Array; explicitHashKey?: string | undefined }[],
): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const record of records) {
    const key = orderKey(record);
    const list = keys.get(key) ?? [];
    list.push(`${record.partitionKey}/${Buffer.from(record.data).toString('hex')}/${record.explicitHashKey ?? '-'}`);
    keys.set(key, list);
  }
  return keys;
}

/** Every record of the stream, shard by shard (parents first), through the engine's GetRecords. */
export async function storedRecords(engine: Engine, stream: string): Promise<{ partitionKey: string; data: Uint8Array }[]> {
  const records: { partitionKey: string; data: Uint8Array }[] = [];
  for (const shard of engine.listShards({ StreamName: stream }).Shards) {
    let iterator: string | undefined = (
      await engine.getShardIterator({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })
    ).ShardIterator;
    while (iterator !== undefined) {
      const page = await engine.getRecords({ ShardIterator: iterator, Limit: 10_000 });
      records.push(...page.Records.map((record) => ({ partitionKey: record.PartitionKey, data: record.Data })));
      iterator = page.Records.length === 0 && page.MillisBehindLatest === 0 ? undefined : page.NextShardIterator;
    }
  }
  return records;
}
