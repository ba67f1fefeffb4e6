import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { QueryRegistry } from '../../src/queries/registry.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';
import { oracle } from './oracle.js';
import { closeQueryEngine, openQueryEngine, outputRows, putJson, sortedRows, until } from './query_helpers.js';

// Goal: each window kind, with every aggregate, agrees with DuckDB over the same records, window
// by window: exactly for the exact aggregates, within the documented bounds for the approximate
// ones; KDA's spellings (FLOOR(ROWTIME TO SECOND), STEP) make windows of arrival time (with a
// grace period, so a loaded machine's delays make no record late). Method:
// a real engine, a 2-shard source whose records are in event-time order per shard (so none is
// late), a query from TRIM_HORIZON run on its thread, the output stream read back; a last record
// far ahead (key "zz") moves the watermark past every other window. Seeded.

let engine: Engine | undefined;
afterEach(async () => {
  await closeQueryEngine(engine);
  engine = undefined;
});

const SEED = testSeed();
const BASE_MS = 1_800_000_000_000;
const KEYS = ['a', 'b', 'c', 'd', 'e'];

interface Event {
  readonly k: string;
  readonly v: number;
  readonly u: string;
  readonly ts: number;
}

function events(count: number, spanMs: number): Event[] {
  const random = seededRandom(SEED);
  const rows = Array.from({ length: count }, () => ({
    k: KEYS[Math.floor(random() * KEYS.length)]!,
    v: Math.round(random() * 10_000) / 10,
    u: `u${Math.floor(random() * 20)}`,
    ts: BASE_MS + Math.floor(random() * spanMs),
  }));
  return rows.sort((a, b) => a.ts - b.ts);
}

/** Runs the query over the events (each shard in event-time order) until `expected` rows are out. */
async function run(sql: string, rows: readonly Event[], expected: number): Promise<Record<string, unknown>[]> {
  engine = await openQueryEngine(tempDir());
  const random = seededRandom(SEED + 1);
  await putJson(engine, 'events', rows, () => `p${Math.floor(random() * 1000)}`);
  await (await QueryRegistry.of(engine)).create({ Sql: sql });
  await putJson(engine, 'events', [{ k: 'zz', v: 1000, u: 'u0', ts: BASE_MS + 86_400_000 }], () => 'p0');
  await until(async () => (await outputRows(engine!)).length >= expected, `${expected} rows (seed ${SEED})`);
  return outputRows(engine);
}

const COLUMNS = { k: 'VARCHAR', v: 'DOUBLE', u: 'VARCHAR', ts: 'BIGINT' };

function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(p * (sorted.length - 1))]!;
}

describe(`windowed queries against DuckDB (seed ${SEED})`, () => {
  it('tumbling: every aggregate, window by window', async () => {
    const rows = events(3000, 10 * 60_000);
    const sql = `CREATE QUERY per_minute WITH (start = 'TRIM_HORIZON') AS INSERT INTO out
      SELECT k, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS lo, MAX(v) AS hi, AVG(v) AS mean,
             COUNT(DISTINCT u) AS users, APPROX_PERCENTILE(v, 0.9) AS p90, TOP_K(u, 3) AS top
      FROM events WHERE v >= 100 GROUP BY k, TUMBLE(ts, INTERVAL '1' MINUTE)`;
    const expected = await oracle(
      rows,
      COLUMNS,
      `SELECT k, (ts // 60000) * 60000 AS window_start, count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi,
              avg(v) AS mean, count(DISTINCT u) AS users, list(v) AS vs, list(u) AS us
       FROM t WHERE v >= 100 GROUP BY ALL`,
    );
    const actual = (await run(sql, rows, expected.length)).filter((row) => row['k'] !== 'zz');
    expect(actual).toHaveLength(expected.length);
    const byWindow = new Map(actual.map((row) => [`${String(row['k'])}/${String(row['window_start'])}`, row]));
    for (const want of expected) {
      const got = byWindow.get(`${String(want['k'])}/${String(want['window_start'])}`);
      expect(got, `window ${String(want['k'])} ${String(want['window_start'])}`).toBeDefined();
      expect(got).toMatchObject({ n: want['n'], lo: want['lo'], hi: want['hi'], users: want['users'] });
      expect(got!['window_end']).toBe((want['window_start'] as number) + 60_000);
      expect(got!['total'] as number).toBeCloseTo(want['total'] as number, 6);
      expect(got!['mean'] as number).toBeCloseTo(want['mean'] as number, 6);
      const p90 = quantile(want['vs'] as number[], 0.9);
      expect(Math.abs((got!['p90'] as number) - p90)).toBeLessThanOrEqual(p90 * 0.01);
      const counts = new Map<string, number>();
      for (const u of want['us'] as string[]) counts.set(u, (counts.get(u) ?? 0) + 1);
      const top = got!['top'] as { key: string; count: number }[];
      expect(top.map((entry) => entry.count)).toEqual([...counts.values()].sort((a, b) => b - a).slice(0, 3));
      for (const entry of top) expect(entry.count).toBe(counts.get(entry.key));
    }
  });

  it('hopping: each record in size / slide windows', async () => {
    const rows = events(2000, 5 * 60_000);
    const sql = `CREATE QUERY sliding WITH (start = 'TRIM_HORIZON') AS INSERT INTO out
      SELECT k, COUNT(*) AS n, SUM(v) AS total, WINDOW_START AS ws, WINDOW_END AS we
      FROM events GROUP BY HOP(ts, INTERVAL '30' SECOND, INTERVAL '2' MINUTE), k`;
    const expected = await oracle(
      rows,
      COLUMNS,
      `SELECT k, ws, ws + 120000 AS we, count(*) AS n, sum(v) AS total
       FROM t, unnest(generate_series((ts // 30000) * 30000 - 90000, (ts // 30000) * 30000, 30000)) AS w(ws)
       GROUP BY ALL`,
    );
    const actual = (await run(sql, rows, expected.length)).filter((row) => row['k'] !== 'zz');
    const pick = (row: Record<string, unknown>): unknown[] => [
      row['k'],
      row['ws'],
      row['we'],
      row['n'],
      Math.round((row['total'] as number) * 10),
    ];
    expect(sortedRows(actual.map((row) => ({ ...pick(row) })))).toEqual(sortedRows(expected.map((row) => ({ ...pick(row) }))));
  });

  it('session: per key, split by a 10-second gap', async () => {
    const rows = events(1500, 20 * 60_000);
    const sql = `CREATE QUERY sessions WITH (start = 'TRIM_HORIZON') AS INSERT INTO out
      SELECT k, COUNT(*) AS n, MIN(ts) AS first_ts, MAX(ts) AS last_ts
      FROM events GROUP BY k, SESSION(ts, INTERVAL '10' SECOND)`;
    const expected = await oracle(
      rows,
      COLUMNS,
      `WITH marked AS (
         SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts) < 10000 THEN 0 ELSE 1 END AS starts FROM t),
       numbered AS (SELECT *, sum(starts) OVER (PARTITION BY k ORDER BY ts ROWS UNBOUNDED PRECEDING) AS session FROM marked)
       SELECT k, min(ts) AS window_start, max(ts) + 10000 AS window_end, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts
       FROM numbered GROUP BY k, session`,
    );
    const actual = (await run(sql, rows, expected.length)).filter((row) => row['k'] !== 'zz');
    const pick = (row: Record<string, unknown>): Record<string, unknown> => ({
      k: row['k'],
      start: row['window_start'],
      end: row['window_end'],
      n: row['n'],
      first: row['first_ts'],
      last: row['last_ts'],
    });
    expect(sortedRows(actual.map(pick))).toEqual(sortedRows(expected.map(pick)));
  });

  it("KDA's FLOOR(ROWTIME TO SECOND) and STEP: windows of arrival time", async () => {
    engine = await openQueryEngine(tempDir());
    const registry = await QueryRegistry.of(engine);
    await engine.createStream({ StreamName: 'out2', ShardCount: 1 });
    await registry.create({
      Sql: `CREATE QUERY floor_query WITH (grace = '3 seconds') AS INSERT INTO out
            SELECT STREAM k, COUNT(*) AS n FROM events GROUP BY k, FLOOR(ROWTIME TO SECOND)`,
    });
    await registry.create({
      Sql: `CREATE QUERY step_query WITH (grace = '3 seconds') AS INSERT INTO out2 SELECT k, COUNT(*) AS n FROM events
            GROUP BY k, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND)`,
    });
    const random = seededRandom(SEED);
    for (let round = 0; round < 15; round++) {
      const rows = Array.from({ length: 40 }, () => ({ k: KEYS[Math.floor(random() * 3)]! }));
      await putJson(engine, 'events', rows, (_, index) => `p${round}-${index}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const arrivals = await arrivalTimes(engine);
    const lastSecond = Math.floor(Math.max(...arrivals.map((row) => row.ts)) / 1000) * 1000;
    const expected = (
      await oracle(
        arrivals,
        { k: 'VARCHAR', ts: 'BIGINT' },
        `SELECT k, (ts // 1000) * 1000 AS window_start, count(*) AS n FROM t GROUP BY ALL`,
      )
    ).filter((row) => (row['window_start'] as number) < lastSecond);
    for (const stream of ['out', 'out2']) {
      await until(async () => (await outputRows(engine!, stream)).length >= expected.length, `${stream}: ${expected.length} rows`);
      const pick = (row: Record<string, unknown>): Record<string, unknown> => ({ k: row['k'], start: row['window_start'], n: row['n'] });
      const actual = (await outputRows(engine, stream)).filter((row) => (row['window_start'] as number) < lastSecond);
      expect(sortedRows(actual.map(pick)), stream).toEqual(sortedRows(expected.map(pick)));
    }
  });
});

async function arrivalTimes(engine: Engine): Promise<{ k: string; ts: number }[]> {
  const rows: { k: string; ts: number }[] = [];
  for (const shard of engine.listShards({ StreamName: 'events' }).Shards) {
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: 'events',
      ShardId: shard.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const answer = await engine.getRecords({ ShardIterator: ShardIterator!, Limit: 10_000 });
    for (const record of answer.Records)
      rows.push({
        k: (JSON.parse(Buffer.from(record.Data).toString()) as { k: string }).k,
        ts: record.ApproximateArrivalTimestamp!.getTime(),
      });
  }
  return rows;
}
