import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/engine.js';
import { killAllClis, runCli, startCli, type CliProcess } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';
import { outputRows, until } from './queries/query_helpers.js';

// Goal: `shardline query` manages a query on a running server (create, list, describe, stop,
// start, delete; a query that does not parse refused with its line and column), and a kill -9 of
// the server mid-window neither loses a window nor puts one twice. Method: the real CLI and
// `serve` processes; event-time windows of 1 s over JSON records put with `shardline put`;
// killed (SIGKILL) right after rows came out that the last checkpoint may not cover, started
// again, the rest put; then the output stream read from the data directory: every window once,
// with its exact count.

afterEach(killAllClis);

const BASE_MS = 1_800_000_000_000;
const KEYS = ['a', 'b', 'c'];

function lines(fromSecond: number, toSecond: number): { text: string; count: Map<string, number> } {
  const count = new Map<string, number>();
  const rows: string[] = [];
  for (let second = fromSecond; second < toSecond; second++)
    for (let i = 0; i < 30; i++) {
      const k = KEYS[i % KEYS.length]!;
      rows.push(JSON.stringify({ k, ts: BASE_MS + second * 1000 + i * 10 }));
      count.set(`${k}/${BASE_MS + second * 1000}`, (count.get(`${k}/${BASE_MS + second * 1000}`) ?? 0) + 1);
    }
  return { text: `${rows.join('\n')}\n`, count };
}

async function serve(dataDir: string): Promise<{ process: CliProcess; url: string }> {
  const process = startCli(['serve', '--data-dir', dataDir, '--port', '0', '--no-kinesis', '--workers', '1']);
  const url = (await process.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  return { process, url };
}

async function cli(args: readonly string[], url: string, input?: string): Promise<string> {
  const result = await runCli([...args, '--url', url], input === undefined ? {} : { input });
  expect([result.code, args[0] === 'put' ? '' : result.stderr], args.join(' ')).toEqual([0, '']);
  return result.stdout;
}

async function describeQuery(url: string, name: string): Promise<{ Metrics: Record<string, number> }> {
  return JSON.parse(await cli(['query', 'describe', name], url)) as { Metrics: Record<string, number> };
}

describe('shardline query', () => {
  it('puts every window once, with its exact count, through a kill -9 of the server', async () => {
    const dataDir = path.join(tempDir(), 'data');
    let { process, url } = await serve(dataDir);
    await cli(['create-stream', 'events', '--shards', '2'], url);
    await cli(['create-stream', 'out'], url);
    const sql = `CREATE QUERY per_second WITH (start = 'TRIM_HORIZON', checkpoint_interval = '1 second')
      AS INSERT INTO out SELECT k, COUNT(*) AS n FROM events GROUP BY k, TUMBLE(ts, INTERVAL '1' SECOND)`;
    expect(await cli(['query', 'create', sql], url)).toBe('arn:aws:kinesisanalytics:us-east-1:000000000000:application/per_second\n');
    expect(await cli(['query', 'list'], url)).toBe('per_second\tRUNNING\tevents -> out\n');

    const first = lines(0, 6);
    await cli(['put', 'events'], url, first.text);
    await until(async () => (await describeQuery(url, 'per_second')).Metrics['LastCheckpointMs'] !== undefined, 'a checkpoint');
    const second = lines(6, 12);
    await cli(['put', 'events'], url, second.text);
    await until(
      async () => (await describeQuery(url, 'per_second')).Metrics['RowsEmitted']! >= 11 * KEYS.length,
      'rows after the checkpoint',
    );
    process.child.kill('SIGKILL');
    await process.exited();

    ({ process, url } = await serve(dataDir));
    const third = lines(12, 20);
    await cli(['put', 'events'], url, third.text);
    // The last second stays open: the watermark is the newest event time.
    await until(async () => (await describeQuery(url, 'per_second')).Metrics['WatermarkMs']! >= BASE_MS + 19_000, 'the watermark at 19 s');
    await until(async () => (await describeQuery(url, 'per_second')).Metrics['OpenWindows']! <= KEYS.length, 'windows closed');
    await cli(['query', 'stop', 'per_second'], url);
    expect(await cli(['query', 'list'], url)).toBe('per_second\tSTOPPED\tevents -> out\n');
    process.child.kill('SIGTERM');
    await process.exited();

    const engine = await Engine.open({ dataDir, workers: 1 });
    try {
      const rows = await outputRows(engine);
      const windows = rows.map((row) => `${String(row['k'])}/${String(row['window_start'])}`);
      expect(new Set(windows).size, 'no window twice').toBe(windows.length);
      const expected = new Map([...first.count, ...second.count, ...third.count]);
      for (const key of [...expected.keys()].filter((window) => Number(window.split('/')[1]) < BASE_MS + 19_000))
        expect(rows.find((row) => `${String(row['k'])}/${String(row['window_start'])}` === key)?.['n'], key).toBe(expected.get(key));
      expect(windows).toHaveLength(19 * KEYS.length);
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('refuses a query that does not parse with its line and column, and manages one', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const { url } = await serve(dataDir);
    await cli(['create-stream', 'events'], url);
    await cli(['create-stream', 'out'], url);
    const bad = await runCli(['query', 'create', 'CREATE QUERY q AS INSERT INTO out\nSELECT COUNT(*) FORM events', '--url', url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/InvalidQueryException.*line 2, column \d+/);
    const unknownStream = await runCli([
      'query',
      'create',
      "CREATE QUERY q AS INSERT INTO nowhere SELECT COUNT(*) FROM events GROUP BY TUMBLE(ROWTIME, INTERVAL '1' SECOND)",
      '--url',
      url,
    ]);
    expect(unknownStream.stderr).toMatch(/ResourceNotFoundException/);
    await cli(
      [
        'query',
        'create',
        "CREATE QUERY q AS INSERT INTO out SELECT COUNT(*) AS n FROM events GROUP BY TUMBLE(ROWTIME, INTERVAL '1' SECOND)",
      ],
      url,
    );
    const described = JSON.parse(await cli(['query', 'describe', 'q'], url)) as { QueryDescription: Record<string, unknown> };
    expect(described.QueryDescription).toMatchObject({
      QueryName: 'q',
      QueryStatus: 'RUNNING',
      SourceStream: 'events',
      OutputStream: 'out',
    });
    expect(await cli(['query', 'stop', 'q'], url)).toBe('stopped q\n');
    expect(await cli(['query', 'start', 'q'], url)).toBe('started q\n');
    expect(await cli(['query', 'delete', 'q'], url)).toBe('deleted q\n');
    expect(await cli(['query', 'list'], url)).toBe('');
  }, 60_000);
});
