/*
 * What the query tests share: an engine on a temporary directory with the source and output
 * streams, records put with known times, and the output stream read back as rows.
 */
import { Engine } from '../../src/engine/engine.js';
import { QueryRegistry } from '../../src/queries/registry.js';

export async function openQueryEngine(dataDir: string, shards = 2): Promise<Engine> {
  const engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1 });
  await engine.createStream({ StreamName: 'events', ShardCount: shards });
  await engine.createStream({ StreamName: 'out', ShardCount: 1 });
  return engine;
}

export async function closeQueryEngine(engine: Engine | undefined): Promise<void> {
  if (engine === undefined) return;
  await (await QueryRegistry.of(engine)).stopAll();
  await engine.close();
}

/** Puts JSON records in batches of 500, the partition key from `keyOf`. */
export async function putJson(
  engine: Engine,
  stream: string,
  rows: readonly object[],
  keyOf: (row: object, index: number) => string,
): Promise<void> {
  for (let at = 0; at < rows.length; at += 500) {
    const Records = rows
      .slice(at, at + 500)
      .map((row, index) => ({ PartitionKey: keyOf(row, at + index), Data: Buffer.from(JSON.stringify(row)) }));
    const answer = await engine.putRecords({ StreamName: stream, Records });
    if (answer.FailedRecordCount !== 0) throw new Error(`${answer.FailedRecordCount} records were not put`);
  }
}

export interface StreamRecord {
  readonly partitionKey: string;
  readonly data: string;
}

/** Every record of the stream, shard after shard. */
export async function readStream(engine: Engine, stream: string): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const shard of engine.listShards({ StreamName: stream }).Shards) {
    let iterator: string | undefined = (
      await engine.getShardIterator({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })
    ).ShardIterator;
    while (iterator !== undefined) {
      const answer = await engine.getRecords({ ShardIterator: iterator, Limit: 10_000 });
      records.push(
        ...answer.Records.map((record) => ({ partitionKey: record.PartitionKey, data: Buffer.from(record.Data).toString('utf8') })),
      );
      if (answer.Records.length === 0 && answer.MillisBehindLatest === 0) break;
      iterator = answer.NextShardIterator;
    }
  }
  return records;
}

export async function outputRows(engine: Engine, stream = 'out'): Promise<Record<string, unknown>[]> {
  return (await readStream(engine, stream)).map((record) => JSON.parse(record.data) as Record<string, unknown>);
}

export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Rows sorted by their JSON text, for comparing sets of rows. */
export function sortedRows(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}
