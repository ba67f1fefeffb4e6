import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { killAllClis, runCli, startCli, type CliProcess, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: `shardline serve --clock manual` and `shardline clock advance|show` move a running
// server's time forward so that retention deletes records 25 hours old on its shard workers;
// bad durations are usage errors that change nothing, and a server without the manual clock
// refuses the move; `--create-stream-ms` and `--update-stream-ms` keep streams CREATING and
// UPDATING, and a kill -9 of the server mid-CREATING reopens the stream ACTIVE. Method: the real
// CLI and serve processes on free ports, records put with `shardline put`, read back through
// the Kinesis port with the AWS SDK.

afterEach(killAllClis);

const SHARD = 'shardId-000000000000';

interface Server {
  readonly process: CliProcess;
  readonly url: string;
  readonly kinesisUrl: string;
}

async function serve(dataDir: string, extra: readonly string[]): Promise<Server> {
  const process = startCli(['serve', '--data-dir', dataDir, '--port', '0', '--kinesis-port', '0', '--workers', '1', ...extra]);
  const url = (await process.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  const kinesisUrl = (await process.waitForOutput(/Kinesis HTTP API on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  return { process, url, kinesisUrl };
}

async function cli(server: Server, args: readonly string[], input?: string): Promise<string> {
  const result = await runCli([...args, '--url', server.url], input === undefined ? {} : { input });
  // put reports its count on stderr.
  expect([result.code, args[0] === 'put' ? '' : result.stderr], args.join(' ')).toEqual([0, '']);
  return result.stdout;
}

function failing(server: Server, args: readonly string[], input?: string): Promise<CliResult> {
  return runCli([...args, '--url', server.url], input === undefined ? {} : { input });
}

async function status(server: Server, stream: string): Promise<string> {
  const described = JSON.parse(await cli(server, ['describe', stream, '--json'])) as { StreamDescriptionSummary: { StreamStatus: string } };
  return described.StreamDescriptionSummary.StreamStatus;
}

async function readAll(server: Server, stream: string): Promise<string[]> {
  const client = new KinesisClient({
    endpoint: server.kinesisUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records } = await client.send(new GetRecordsCommand({ ShardIterator }));
    return (Records ?? []).map((record) => Buffer.from(record.Data!).toString());
  } finally {
    client.destroy();
  }
}

async function stop(server: Server): Promise<void> {
  server.process.child.kill('SIGTERM');
  expect((await server.process.exited()).code).toBe(0);
}

describe('shardline clock', () => {
  it('moves a manual clock forward so that retention deletes what is 25 hours old, refusing bad durations', async () => {
    const server = await serve(path.join(tempDir(), 'data'), ['--clock', 'manual']);
    await cli(server, ['create-stream', 'events']);
    await cli(server, ['put', 'events'], 'one\ntwo\nthree\n');
    expect(await readAll(server, 'events')).toEqual(['one', 'two', 'three']);
    expect(await cli(server, ['clock', 'show'])).toMatch(
      /^mode {4}MANUAL\nnow {5}\d{4}-\d\d-\d\dT[\d:.]+Z\noffset {2}0s ahead of real time\n$/,
    );

    // After `--` a negative reaches the duration's parser; without it, commander takes it for an option.
    for (const bad of [['--', '-5m'], ['0s'], ['abc'], ['25'], ['1.5h'], ['2 d'], ['-5m']]) {
      const refused = await runCli(['clock', 'advance', '--url', server.url, ...bad]);
      expect([refused.code, refused.stdout], bad.join(' ')).toEqual([2, '']);
      expect(refused.stderr, bad.join(' ')).toMatch(bad[0] === '-5m' ? /unknown option '-5m'/ : /expected a duration/);
    }
    expect(await cli(server, ['clock', 'advance', '23h'])).toMatch(/\noffset {2}23h ahead of real time\n$/);
    expect(await readAll(server, 'events')).toEqual(['one', 'two', 'three']);
    expect(await cli(server, ['clock', 'advance', '2h'])).toMatch(/^mode {4}MANUAL\n.*\noffset {2}1d1h ahead of real time\n$/s);
    expect(await readAll(server, 'events')).toEqual([]);
    await cli(server, ['put', 'events'], 'four\n');
    expect(await readAll(server, 'events')).toEqual(['four']);
    await stop(server);
  });

  it('refuses to move the clock of a server started without --clock manual', async () => {
    const server = await serve(path.join(tempDir(), 'data'), []);
    const refused = await failing(server, ['clock', 'advance', '1h']);
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toMatch(/^shardline: InvalidArgumentException: The clock is not manual/);
    expect(await cli(server, ['clock', 'show'])).toMatch(/^mode {4}SYSTEM\n/);
    await stop(server);
  });

  it('keeps a reshard UPDATING for --update-stream-ms of the manual clock, refusing a second one meanwhile', async () => {
    const server = await serve(path.join(tempDir(), 'data'), ['--clock', 'manual', '--update-stream-ms', '600000']);
    await cli(server, ['create-stream', 'resharded', '--shards', '2']);
    await cli(server, ['split', 'resharded', SHARD]);
    expect(await status(server, 'resharded')).toBe('UPDATING');
    const second = await failing(server, ['split', 'resharded', 'shardId-000000000001']);
    expect([second.code, second.stderr]).toEqual([1, expect.stringMatching(/^shardline: ResourceInUseException: .*UPDATING/)]);
    await cli(server, ['clock', 'advance', '10m']);
    expect(await status(server, 'resharded')).toBe('ACTIVE');
    await cli(server, ['split', 'resharded', 'shardId-000000000001']);
    await stop(server);
  });

  it('reopens a stream ACTIVE after a kill -9 of the server while it was CREATING', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const first = await serve(dataDir, ['--create-stream-ms', '600000']);
    await cli(first, ['create-stream', 'young']);
    expect(await status(first, 'young')).toBe('CREATING');
    const refused = await failing(first, ['put', 'young'], 'early\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ResourceNotFoundException/);
    first.process.child.kill('SIGKILL');
    expect((await first.process.exited()).signal).toBe('SIGKILL');

    const second = await serve(dataDir, ['--create-stream-ms', '600000']);
    expect(await status(second, 'young')).toBe('ACTIVE');
    await cli(second, ['put', 'young'], 'late\n');
    expect(await readAll(second, 'young')).toEqual(['late']);
    await stop(second);
  });
});
