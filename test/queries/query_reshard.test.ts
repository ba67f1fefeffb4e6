import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { QueryRegistry } from '../../src/queries/registry.js';
import { tempDir } from '../helpers/temp_dir.js';
import { closeQueryEngine, openQueryEngine, outputRows, putJson, until } from './query_helpers.js';

// Goal: a query keeps every record through a split of its source's shard: the parent is read to
// its end first, its children then, and no window loses or doubles a record; the query's state
// and leases survive a stop and start between. Method: a real engine, a 1-shard source split while
// the query runs, event times in put order, a last record far ahead closing every other window.

let engine: Engine | undefined;
afterEach(async () => {
  await closeQueryEngine(engine);
  engine = undefined;
});

const BASE_MS = 1_800_000_000_000;

function rows(fromSecond: number, toSecond: number): { k: string; ts: number }[] {
  return Array.from({ length: (toSecond - fromSecond) * 20 }, (_, i) => ({ k: `k${i % 4}`, ts: BASE_MS + fromSecond * 1000 + i * 50 }));
}

describe('a query over a resharded source', () => {
  it('counts every record once through a split and a stop and start', async () => {
    engine = await openQueryEngine(tempDir(), 1);
    const registry = await QueryRegistry.of(engine);
    await registry.create({
      Sql: `CREATE QUERY per_second WITH (start = 'TRIM_HORIZON', checkpoint_interval = '200 ms')
            AS INSERT INTO out SELECT k, COUNT(*) AS n FROM events GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND)`,
    });
    const key = (_: object, index: number): string => `p${index}`;
    await putJson(engine, 'events', rows(0, 5), key);
    const [shard] = engine.listShards({ StreamName: 'events' }).Shards;
    await engine.splitShard({ StreamName: 'events', ShardToSplit: shard!.ShardId, NewStartingHashKey: (2n ** 127n).toString() });
    await putJson(engine, 'events', rows(5, 10), key);
    await registry.stop('per_second');
    await registry.start('per_second');
    await putJson(engine, 'events', rows(10, 15), key);
    await putJson(engine, 'events', [{ k: 'end', ts: BASE_MS + 60_000 }], () => 'p0');
    await putJson(engine, 'events', [{ k: 'end', ts: BASE_MS + 60_000 }], () => 'p1');
    await until(async () => (await outputRows(engine!)).length >= 15 * 4, '60 windows');
    const out = (await outputRows(engine)).filter((row) => row['k'] !== 'end');
    expect(out).toHaveLength(60);
    expect(new Set(out.map((row) => `${String(row['k'])}/${String(row['window_start'])}`)).size).toBe(60);
    for (const row of out) expect(row['n'], `${String(row['k'])} ${String(row['window_start'])}`).toBe(5);
    expect((registry.describe('per_second')['Metrics'] as Record<string, number>)['LateRecords']).toBe(0);
  });
});
