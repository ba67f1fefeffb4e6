import { afterEach, describe, expect, it } from 'vitest';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import type { Engine } from '../../src/engine/engine.js';
import { QueryRegistry } from '../../src/queries/registry.js';
import { tempDir } from '../helpers/temp_dir.js';
import { closeQueryEngine, openQueryEngine, outputRows, readStream, until } from './query_helpers.js';

// Goal: a record late beyond the grace period is counted and sent to the late stream, one within
// it is still counted in its window; records a query cannot read (not JSON, not an object, a
// field of the wrong type, no time, a CSV row of the wrong width) are counted, sent to the error
// stream, and never stop the query; CSV with a declared schema and a delimiter, and raw bytes with
// KPL aggregates unpacked. Method: a real engine, a 1-shard source (so the order of reads is the
// order of puts), each put waited for until the query has taken it in.

let engine: Engine | undefined;
afterEach(async () => {
  await closeQueryEngine(engine);
  engine = undefined;
});

const BASE_MS = 1_800_000_000_000;

async function start(sql: string, extraStreams: readonly string[] = []): Promise<QueryRegistry> {
  engine = await openQueryEngine(tempDir(), 1);
  for (const stream of extraStreams) await engine.createStream({ StreamName: stream, ShardCount: 1 });
  const registry = await QueryRegistry.of(engine);
  await registry.create({ Sql: sql });
  return registry;
}

function metrics(registry: QueryRegistry, name: string): Record<string, number | string> {
  return registry.describe(name)['Metrics'] as Record<string, number | string>;
}

/** Puts one record and waits until the query has taken it in. */
async function putOne(registry: QueryRegistry, name: string, data: string | Uint8Array, partitionKey = 'p'): Promise<void> {
  const before = metrics(registry, name)['RecordsIn'] as number;
  await engine!.putRecord({ StreamName: 'events', PartitionKey: partitionKey, Data: typeof data === 'string' ? Buffer.from(data) : data });
  await until(() => (metrics(registry, name)['RecordsIn'] as number) > before, 'the record taken in');
}

const event = (k: string, offsetMs: number | null, v = 1): string =>
  JSON.stringify({ k, v, ts: offsetMs === null ? null : BASE_MS + offsetMs });

describe('late records and bad records', () => {
  it('counts a record within the grace period and sends one beyond it to the late stream', async () => {
    const registry = await start(
      `CREATE QUERY lateness WITH (start = 'TRIM_HORIZON', grace = '2 seconds', late_stream = 'late')
       AS INSERT INTO out SELECT k, COUNT(*) AS n FROM events GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND)`,
      ['late'],
    );
    for (const offsetMs of [100, 500, 3200, 900, 2500, 10_000]) await putOne(registry, 'lateness', event('a', offsetMs));
    await until(async () => (await outputRows(engine!)).length >= 3, 'three windows');
    const rows = (await outputRows(engine!)).map((row) => [row['window_start'], row['n']]);
    expect(rows).toEqual([
      [BASE_MS, 2],
      [BASE_MS + 2000, 1],
      [BASE_MS + 3000, 1],
    ]);
    expect(metrics(registry, 'lateness')['LateRecords']).toBe(1);
    const late = (await readStream(engine!, 'late')).map((record) => JSON.parse(record.data) as Record<string, unknown>);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ reason: 'late', time_ms: BASE_MS + 900, watermark_ms: BASE_MS + 3200, partition_key: 'p' });
    expect(Buffer.from(late[0]!['data'] as string, 'base64').toString()).toBe(event('a', 900));
  });

  it('sends each unreadable record to the error stream with its reason and goes on', async () => {
    const registry = await start(
      `CREATE QUERY checked WITH (start = 'TRIM_HORIZON', error_stream = 'errors')
       AS INSERT INTO out SELECT k, COUNT(*) AS n, SUM(v) AS total
       FROM events FORMAT JSON (k VARCHAR, v DOUBLE, ts TIMESTAMP) GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND)`,
      ['errors'],
    );
    const bad = ['not json', '[1, 2]', JSON.stringify({ k: 'a', v: 'abc', ts: BASE_MS + 10 }), event('a', null)];
    await putOne(registry, 'checked', event('a', 100, 2));
    for (const data of bad) await putOne(registry, 'checked', data);
    await putOne(registry, 'checked', event('a', 200, 3));
    await putOne(registry, 'checked', event('a', 5000));
    await until(async () => (await outputRows(engine!)).length >= 1, 'a window');
    expect((await outputRows(engine!))[0]).toMatchObject({ k: 'a', n: 2, total: 5, window_start: BASE_MS });
    expect(metrics(registry, 'checked')).toMatchObject({ ErrorRecords: 4, RecordsIn: 7 });
    const errors = (await readStream(engine!, 'errors')).map((record) => JSON.parse(record.data) as Record<string, string>);
    expect(errors.map((error) => Buffer.from(error['data']!, 'base64').toString())).toEqual(bad);
    expect(errors.map((error) => error['reason'])).toEqual([
      expect.stringMatching(/not valid JSON/),
      expect.stringMatching(/not a JSON object/),
      expect.stringMatching(/"v".*DOUBLE/),
      expect.stringMatching(/time attribute/),
    ]);
  });

  it('reads CSV with its declared columns and delimiter, counting a row of the wrong width', async () => {
    const registry = await start(
      `CREATE QUERY sales WITH (start = 'TRIM_HORIZON') AS INSERT INTO out
       SELECT item, SUM(qty * price) AS revenue, COUNT(*) AS n
       FROM events FORMAT CSV (item VARCHAR, qty BIGINT, price DOUBLE, ts BIGINT) DELIMITER ';'
       GROUP BY item, TUMBLE(ts, INTERVAL '1' MINUTE)`,
    );
    for (const line of [
      `"tea; green";2;1.5;${BASE_MS}`,
      `"tea; green";1;1.5;${BASE_MS + 10}`,
      `coffee;3;2`,
      `coffee;1;4.25;${BASE_MS + 20}\n`,
    ])
      await putOne(registry, 'sales', line);
    await putOne(registry, 'sales', `end;0;0;${BASE_MS + 120_000}`);
    await until(async () => (await outputRows(engine!)).length >= 2, 'two rows');
    const rows = (await outputRows(engine!)).map((row) => [row['item'], row['revenue'], row['n']]);
    expect(rows.sort()).toEqual([
      ['coffee', 4.25, 1],
      ['tea; green', 4.5, 2],
    ]);
    expect(metrics(registry, 'sales')['ErrorRecords']).toBe(1);
    expect(metrics(registry, 'sales')['LastRecordError']).toMatch(/3 fields.*4/);
  });

  it('reads raw bytes by partition key, with KPL aggregates unpacked into their user records', async () => {
    const registry = await start(
      `CREATE QUERY raw_counts AS INSERT INTO out SELECT PARTITION_KEY AS pk, COUNT(*) AS n, SUM(LENGTH(DATA)) AS bytes
       FROM events FORMAT RAW GROUP BY PARTITION_KEY, TUMBLE(ROWTIME, INTERVAL '1' SECOND)`,
    );
    const packed = aggregate([
      { partitionKey: 'x', data: Buffer.from('abc') },
      { partitionKey: 'y', data: Buffer.from('de') },
      { partitionKey: 'x', data: Buffer.from('f') },
    ]);
    await engine!.putRecords({
      StreamName: 'events',
      Records: [
        { PartitionKey: 'x', Data: packed },
        { PartitionKey: 'x', Data: Buffer.from('ghij') },
      ],
    });
    await until(async () => (await outputRows(engine!)).length >= 2, 'two rows');
    const rows = (await outputRows(engine!)).map((row) => [row['pk'], row['n'], row['bytes']]);
    expect(rows.sort()).toEqual([
      ['x', 3, 8],
      ['y', 1, 2],
    ]);
    expect(metrics(registry, 'raw_counts')['RecordsIn']).toBe(4);
  });
});

describe('a query whose output stream is gone', () => {
  it('reports the failing puts, and a stop gives up on them and keeps its last checkpoint', async () => {
    const registry = await start(
      `CREATE QUERY orphan WITH (start = 'TRIM_HORIZON') AS INSERT INTO out
       SELECT k, COUNT(*) AS n FROM events GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND)`,
    );
    await engine!.deleteStream({ StreamName: 'out' });
    await putOne(registry, 'orphan', event('a', 100));
    await putOne(registry, 'orphan', event('a', 5000));
    await until(() => /putting into out/.test(String(metrics(registry, 'orphan')['LastError'])), 'the failing put reported');
    const checkpointed = metrics(registry, 'orphan')['LastCheckpointMs'];
    await registry.stop('orphan');
    expect(registry.describe('orphan')['QueryDescription']).toMatchObject({ QueryStatus: 'STOPPED' });
    expect(metrics(registry, 'orphan')).toMatchObject({ RecordsIn: 2, LastCheckpointMs: checkpointed });
  }, 60_000);
});
