import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KinesisHttpServer } from '../src/net/kinesis/server.js';
import { killAllClis, runCli } from './helpers/cli.js';
import { seededRandom, testSeed } from './helpers/random.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp_dir.js';
import { byKey, putInOrder, randomRecords, storedRecords } from './testkit/capture_helpers.js';

// Goal: `shardline export`, `import` and `replay` do what the embedded functions do, from the
// command line: a stream exported (to a file and to stdout, either encoding), imported and
// replayed into other streams with every record back, each key in order; replay through the AWS
// SDK with --endpoint; a truncated file refused with exit 1 and its position; bad options exit 2.
// Method: the real CLI as child processes against a real server on 127.0.0.1 (WebSocket and
// Kinesis HTTP ports); seeded records put through the engine; the streams read back.

const SEED = testSeed();
let server: TestServer;
let http: KinesisHttpServer;

beforeEach(async () => {
  server = await startTestServer();
  http = await KinesisHttpServer.start({ engine: server.engine, host: '127.0.0.1', port: 0 });
  await server.engine.createStream({ StreamName: 'source', ShardCount: 2 });
  // Without explicit hash keys: the engine's reads that check the streams here do not show them
  // (test/testkit covers them), and a partition key then routes all of its records.
  const records = randomRecords(seededRandom(SEED), 150, 6).map(({ partitionKey, data }) => ({ partitionKey, data }));
  await putInOrder(server.engine, 'source', records);
});
afterEach(async () => {
  await killAllClis();
  await http.stop();
  await server.stop();
});

async function cli(args: readonly string[]): Promise<string> {
  const result = await runCli([...args, '--url', server.url], {
    env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' },
  });
  // stderr may also hold the AWS SDK's warning about Node 20.
  expect([result.code, /^shardline:/m.test(result.stderr)], `${args.join(' ')} (seed ${SEED}): ${result.stderr}`).toEqual([0, false]);
  return result.stdout;
}

async function sameAsSource(stream: string): Promise<void> {
  expect(byKey(await storedRecords(server.engine, stream)), `seed ${SEED}`).toEqual(byKey(await storedRecords(server.engine, 'source')));
}

describe(`shardline export, import, replay (seed ${SEED})`, () => {
  it('exports to a file and to stdout, imports and replays every record back', async () => {
    const dir = tempDir();
    const jsonl = path.join(dir, 'source.jsonl');
    expect(await cli(['export', 'source', '--out', jsonl])).toBe('');
    // To stdout: the same capture but for the time it was made.
    const unstamped = (text: string): string => text.replace(/"exportedAtMs":\d+/, '"exportedAtMs":0');
    expect(unstamped(await cli(['export', 'source']))).toBe(unstamped(fs.readFileSync(jsonl, 'utf8')));
    const binary = path.join(dir, 'source.binary');
    await cli(['export', 'source', '--format', 'binary', '--out', binary]);

    await server.engine.createStream({ StreamName: 'imported', ShardCount: 1 });
    expect(await cli(['import', jsonl, '--stream', 'imported', '--check-first'])).toMatch(
      /^imported 150 records \(\d+ bytes\) into imported in \d+ ms\n$/,
    );
    await sameAsSource('imported');

    const timings = path.join(dir, 'timings.jsonl');
    await server.engine.createStream({ StreamName: 'replayed', ShardCount: 3 });
    const summary = await cli(['replay', binary, '--stream', 'replayed', '--speed', '20', '--timings', timings]);
    expect(summary).toMatch(
      /^replayed 150 records into replayed in \d+ ms \(recorded span \d+ ms, speed 20\); timing error p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\n$/,
    );
    await sameAsSource('replayed');
    const lines = fs
      .readFileSync(timings, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { dueMs: number; sentMs: number });
    expect(lines.length).toBe(150);
    expect(lines.every((line) => line.sentMs >= line.dueMs)).toBe(true);
  });

  it('replays into a Kinesis endpoint through the AWS SDK with --endpoint', async () => {
    const file = path.join(tempDir(), 'source.jsonl');
    await cli(['export', 'source', '--out', file]);
    await server.engine.createStream({ StreamName: 'over-http', ShardCount: 2 });
    expect(await cli(['replay', file, '--stream', 'over-http', '--speed', '50', '--endpoint', http.url])).toMatch(/^replayed 150 records/);
    await sameAsSource('over-http');
  });

  it('refuses a truncated file with exit 1 and the position of its first bad record', async () => {
    const file = path.join(tempDir(), 'source.binary');
    await cli(['export', 'source', '--format', 'binary', '--out', file]);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 30));
    await server.engine.createStream({ StreamName: 'cut', ShardCount: 1 });
    const result = await runCli(['import', file, '--stream', 'cut', '--url', server.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^shardline: CaptureFormat: byte \d+ \(after 149 records\): truncated: a frame of \d+ bytes\n$/);
    expect((await storedRecords(server.engine, 'cut')).length).toBe(149);
  });

  it('exits 2 on bad options', async () => {
    for (const args of [
      ['replay', 'x', '--stream', 's', '--speed', '0'],
      ['export', 'source', '--format', 'xml'],
      ['export', 'source', '--from', '2024-05-01', '--to', '2024-04-01'],
      ['import', 'x'],
    ]) {
      const result = await runCli([...args, '--url', server.url]);
      expect([result.code, args.join(' ')]).toEqual([args.includes('--to') ? 1 : 2, args.join(' ')]);
      expect(result.stderr).toMatch(/^shardline: /);
    }
  });
});
