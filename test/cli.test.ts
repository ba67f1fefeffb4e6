import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/client/kpl_aggregation.js';
import { Engine } from '../src/engine/engine.js';
import { SOURCE_CLI, closedPort, killAllClis, runCli, runProcess, startCli, type CliResult } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: the `shardline` binary does what its help says against a real server: each command's
// effect is checked on the server's engine, not only in the CLI's own output, and exit codes
// are 0 (done), 1 (the operation failed) and 2 (bad usage).
// Method: one real engine and server for the suite (startTestServer); every test runs the CLI
// as a child process (node --import tsx src/cli/main.ts) against its --url, on streams of its own.
// Nothing waits on a clock: long-running children (serve, tail) are awaited by their output.

const COMMANDS = ['serve', 'create-stream', 'list-streams', 'describe', 'put', 'tail', 'split', 'merge', 'create-key-file'];
const PUT_LINE = /^shardId-\d{12} \d{56}$/;
const HASH_KEY_HALF = 2n ** 127n;
/** Each test starts a few Node processes (about 0.6 s each here): room for a loaded 2-core machine. */
const CLI_TEST_TIMEOUT_MS = 120_000;

let server: TestServer;
let url: string;

beforeAll(async () => {
  server = await startTestServer();
  url = server.url;
});

afterEach(async () => {
  await killAllClis();
});

afterAll(async () => {
  await killAllClis();
  await server?.stop();
});

function cli(...args: string[]): Promise<CliResult> {
  return runCli([...args, '--url', url]);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

function text(data: Uint8Array): string {
  return Buffer.from(data).toString('utf8');
}

/** Every record of one shard, as the engine stores it. */
async function storedRecords(
  streamName: string,
  shardId = 'shardId-000000000000',
): Promise<Array<{ data: string; key: string; sequenceNumber: string }>> {
  const { ShardIterator } = await server.engine.getShardIterator({
    StreamName: streamName,
    ShardId: shardId,
    ShardIteratorType: 'TRIM_HORIZON',
  });
  const { Records } = await server.engine.getRecords({ ShardIterator, Limit: 10_000 });
  return Records.map((record) => ({ data: text(record.Data), key: record.PartitionKey, sequenceNumber: record.SequenceNumber }));
}

async function createStream(name: string, shardCount = 1): Promise<void> {
  await server.engine.createStream({ StreamName: name, ShardCount: shardCount });
}

function consumersOf(streamName: string): string[] {
  const arn = String(server.engine.describeStreamSummary({ StreamName: streamName }).StreamDescriptionSummary.StreamARN);
  return server.engine.listStreamConsumers({ StreamARN: arn }).Consumers.map((consumer) => consumer.ConsumerName);
}

function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect(result.stdout).toBe('');
  expect(lines(result.stderr)).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
}

describe('help', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('--help of every command exits 0 and names the command', async () => {
    const results = await Promise.all(COMMANDS.map((command) => runCli([command, '--help'])));
    results.forEach((result, i) => {
      expect(result.code, COMMANDS[i]).toBe(0);
      expect(result.stdout).toContain(`Usage: shardline ${COMMANDS[i]} `);
    });
  });

  it('the top-level --help lists every command', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toContain(command);
  });
});

describe('streams', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('create-stream then list-streams shows it', async () => {
    const created = await cli('create-stream', 'cli-created', '--shards', '3');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('created stream cli-created (PROVISIONED, 3 shards)\n');
    expect(server.engine.describeStreamSummary({ StreamName: 'cli-created' }).StreamDescriptionSummary.OpenShardCount).toBe(3);

    const listed = await cli('list-streams');
    expect(listed.code, listed.stderr).toBe(0);
    expect(lines(listed.stdout)).toContain('cli-created');
  });

  it('create-stream --on-demand makes an ON_DEMAND stream', async () => {
    const created = await cli('create-stream', 'cli-on-demand', '--on-demand');
    expect(created.code, created.stderr).toBe(0);
    const summary = server.engine.describeStreamSummary({ StreamName: 'cli-on-demand' }).StreamDescriptionSummary;
    expect(summary.StreamModeDetails).toEqual({ StreamMode: 'ON_DEMAND' });
  });

  it('takes the server from SHARDLINE_URL when --url is not given', async () => {
    await createStream('cli-env-url');
    const listed = await runCli(['list-streams'], { env: { SHARDLINE_URL: url } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(lines(listed.stdout)).toContain('cli-env-url');
  });

  it('describe shows the summary and every shard', async () => {
    await createStream('cli-described', 2);
    const result = await cli('describe', 'cli-described');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^stream +cli-described$/m);
    expect(result.stdout).toMatch(/^status +ACTIVE$/m);
    expect(result.stdout).toMatch(new RegExp(`^shardId-000000000000 +open +- +0\\.\\.${HASH_KEY_HALF - 1n}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^shardId-000000000001 +open +- +${HASH_KEY_HALF}\\.\\.${2n ** 128n - 1n}$`, 'm'));
  });

  it('describe --json prints the summary and the shards as JSON', async () => {
    await createStream('cli-described-json', 2);
    const result = await cli('describe', 'cli-described-json', '--json');
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      StreamDescriptionSummary: { StreamName: string; OpenShardCount: number };
      Shards: Array<{ ShardId: string }>;
    };
    expect(parsed.StreamDescriptionSummary.StreamName).toBe('cli-described-json');
    expect(parsed.StreamDescriptionSummary.OpenShardCount).toBe(2);
    expect(parsed.Shards.map((shard) => shard.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  });
});

describe('put', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('puts each argument as a record and prints where each went', async () => {
    await createStream('cli-put-args', 2);
    const result = await cli('put', 'cli-put-args', 'first', 'second', '--key', 'user-7');
    expect(result.code, result.stderr).toBe(0);
    const printed = lines(result.stdout);
    expect(printed).toHaveLength(2);
    for (const line of printed) expect(line).toMatch(PUT_LINE);
    // One partition key: one shard, in argument order; each record is where the CLI said.
    const [shardId] = printed[0]!.split(' ') as [string];
    const stored = await storedRecords('cli-put-args', shardId);
    expect(stored.map((record) => record.data)).toEqual(['first', 'second']);
    expect(stored.map((record) => `${shardId} ${record.sequenceNumber}`)).toEqual(printed);
    expect(stored.every((record) => record.key === 'user-7')).toBe(true);
  });

  it('gives every record its own random partition key unless --key', async () => {
    await createStream('cli-put-random-keys');
    const result = await cli('put', 'cli-put-random-keys', 'a', 'b', 'c');
    expect(result.code, result.stderr).toBe(0);
    const keys = (await storedRecords('cli-put-random-keys')).map((record) => record.key);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('routes by --explicit-hash-key', async () => {
    await createStream('cli-put-hash-key', 2);
    const result = await cli('put', 'cli-put-hash-key', 'upper', '--key', 'k', '--explicit-hash-key', String(HASH_KEY_HALF));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^shardId-000000000001 \d{56}\n$/);
  });

  it('puts each line of stdin and prints only a count', async () => {
    await createStream('cli-put-stdin');
    const result = await runCli(['put', 'cli-put-stdin', '--key', 'k', '--url', url], { input: 'one\ntwo\r\nthree\n' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('put 3 records into cli-put-stdin\n');
    expect((await storedRecords('cli-put-stdin')).map((record) => record.data)).toEqual(['one', 'two', 'three']);
  });

  it('packs stdin lines into KPL aggregates with --aggregate; tail prints the user records', async () => {
    await createStream('cli-put-aggregate');
    const input = Array.from({ length: 50 }, (_, i) => `line-${i}`).join('\n');
    const result = await runCli(['put', 'cli-put-aggregate', '--aggregate', '--verbose', '--rate-limit', 'off', '--url', url], { input });
    expect(result.code, result.stderr).toBe(0);
    // One shard, one stdin: every line lands in the first aggregate's run of sub-sequence numbers.
    const placements = lines(result.stdout).map((line) => line.split(' '));
    expect(placements.map((fields) => fields.length)).toEqual(Array(50).fill(3));
    expect(new Set(placements.map((fields) => fields[1])).size).toBeLessThan(50);
    const stored = await storedRecords('cli-put-aggregate');
    expect(stored.length).toBeLessThan(50);
    const tailed = await cli('tail', 'cli-put-aggregate', '--from', 'trim-horizon', '--max-records', '50');
    expect(tailed.code, tailed.stderr).toBe(0);
    expect(lines(tailed.stdout)).toEqual(input.split('\n'));
    const bad = await cli('put', 'cli-put-aggregate', 'x', '--rate-limit', '0');
    expect(bad.code).toBe(2);
  });

  it('seals records with put --key-file (create-key-file made it) and opens them with tail --key-file', async () => {
    await createStream('cli-put-sealed');
    const keyFile = path.join(tempDir(), 'key.json');
    const created = await runCli(['create-key-file', keyFile, '--key-id', 'cli-key']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('cli-key\n');
    const again = await runCli(['create-key-file', keyFile]);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^shardline: .*exists/)]); // never overwrites a key
    const put = await cli('put', 'cli-put-sealed', 'first secret', 'second secret', '--key-file', keyFile);
    expect(put.code, put.stderr).toBe(0);
    for (const record of await storedRecords('cli-put-sealed')) expect(record.data).not.toContain('secret');
    const opened = await cli('tail', 'cli-put-sealed', '--from', 'trim-horizon', '--max-records', '2', '--key-file', keyFile);
    expect(opened.code, opened.stderr).toBe(0);
    expect(lines(opened.stdout)).toEqual(['first secret', 'second secret']);
  });

  it('prints every stdin record with --verbose', async () => {
    await createStream('cli-put-stdin-verbose');
    const result = await runCli(['put', 'cli-put-stdin-verbose', '--key', 'k', '--verbose', '--url', url], { input: 'x\ny' });
    expect(result.code, result.stderr).toBe(0);
    const stored = await storedRecords('cli-put-stdin-verbose');
    expect(stored.map((record) => record.data)).toEqual(['x', 'y']);
    expect(lines(result.stdout)).toEqual(stored.map((record) => `shardId-000000000000 ${record.sequenceNumber}`));
  });
});

describe('tail', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  /** Puts `count` records with one key (so one shard and one order) straight into the engine. */
  async function putNumbered(streamName: string, from: number, count: number): Promise<string[]> {
    const data = Array.from({ length: count }, (_, i) => `record-${from + i}`);
    await server.engine.putRecords({
      StreamName: streamName,
      Records: data.map((item) => ({ PartitionKey: 'k', Data: Buffer.from(item) })),
    });
    return data;
  }

  it('--from trim-horizon --max-records N prints exactly the data put, then removes its consumer', async () => {
    await createStream('cli-tail', 2);
    const data = await putNumbered('cli-tail', 0, 5);
    const result = await cli('tail', 'cli-tail', '--from', 'trim-horizon', '--max-records', '5');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(data.map((item) => `${item}\n`).join(''));
    expect(consumersOf('cli-tail')).toEqual([]);
  });

  it('--format json prints one object per record', async () => {
    await createStream('cli-tail-json');
    await putNumbered('cli-tail-json', 0, 2);
    const stored = await storedRecords('cli-tail-json');
    const result = await cli('tail', 'cli-tail-json', '--from', 'trim-horizon', '--max-records', '2', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const printed = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, string>);
    expect(printed.map((record) => [record.ShardId, record.SequenceNumber, record.PartitionKey, record.Data])).toEqual(
      stored.map((record) => ['shardId-000000000000', record.sequenceNumber, 'k', record.data]),
    );
    for (const record of printed) expect(Number.isNaN(Date.parse(record.ApproximateArrivalTimestamp!))).toBe(false);
  });

  it('prints the user records of a KPL aggregate, with --raw the aggregate as it is stored', async () => {
    await createStream('cli-tail-kpl');
    const users = ['one', 'two', 'three'].map((item) => ({ partitionKey: `u-${item}`, data: Buffer.from(item) }));
    const aggregated = aggregate(users);
    await server.engine.putRecords({
      StreamName: 'cli-tail-kpl',
      Records: [
        { PartitionKey: 'a', Data: aggregated },
        { PartitionKey: 'k', Data: Buffer.from('plain') },
      ],
    });
    const [outer] = await storedRecords('cli-tail-kpl');
    const result = await cli('tail', 'cli-tail-kpl', '--from', 'trim-horizon', '--max-records', '4', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const printed = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      printed.map((record) => [
        record.SequenceNumber === outer!.sequenceNumber,
        record.SubSequenceNumber,
        record.PartitionKey,
        record.Data,
      ]),
    ).toEqual([
      [true, 0, 'u-one', 'one'],
      [true, 1, 'u-two', 'two'],
      [true, 2, 'u-three', 'three'],
      [false, undefined, 'k', 'plain'],
    ]);
    const raw = await cli('tail', 'cli-tail-kpl', '--from', 'trim-horizon', '--max-records', '1', '--format', 'json', '--raw');
    expect(raw.code, raw.stderr).toBe(0);
    const [stored] = lines(raw.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    // The aggregate's bytes, printed as the CLI prints any data: decoded as UTF-8.
    expect(stored).toMatchObject({ PartitionKey: 'a', Data: Buffer.from(aggregated).toString('utf8') });
    expect(stored).not.toHaveProperty('SubSequenceNumber');
  });

  it('reads as an existing --consumer and leaves it registered', async () => {
    await createStream('cli-tail-existing');
    const arn = String(server.engine.describeStreamSummary({ StreamName: 'cli-tail-existing' }).StreamDescriptionSummary.StreamARN);
    await server.engine.registerStreamConsumer({ StreamARN: arn, ConsumerName: 'dashboard' });
    const data = await putNumbered('cli-tail-existing', 0, 1);
    const result = await cli('tail', 'cli-tail-existing', '--from', 'trim-horizon', '--max-records', '1', '--consumer', 'dashboard');
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual(data);
    expect(consumersOf('cli-tail-existing')).toEqual(['dashboard']);
  });

  it('follows records put while it runs, and on SIGINT deregisters its consumer and exits 0', async () => {
    await createStream('cli-tail-follow');
    await putNumbered('cli-tail-follow', 0, 1);
    const tail = startCli(['tail', 'cli-tail-follow', '--from', 'trim-horizon', '--consumer', 'follower', '--url', url]);
    await tail.waitForOutput(/^record-0$/m);
    await putNumbered('cli-tail-follow', 1, 2);
    await tail.waitForOutput(/^record-2$/m);
    expect(consumersOf('cli-tail-follow')).toEqual(['follower']);
    tail.child.kill('SIGINT');
    const result = await tail.exited();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('record-0\nrecord-1\nrecord-2\n');
    expect(consumersOf('cli-tail-follow')).toEqual([]);
  });

  it('stops when its reader goes away (tail | head), deregistering its consumer, exit 0', async () => {
    await createStream('cli-tail-pipe');
    await putNumbered('cli-tail-pipe', 0, 1);
    const tail = startCli(['tail', 'cli-tail-pipe', '--from', 'trim-horizon', '--consumer', 'piped', '--url', url]);
    await tail.waitForOutput(/^record-0$/m);
    tail.child.stdout.destroy();
    // The next record's write meets the closed pipe (EPIPE).
    await putNumbered('cli-tail-pipe', 1, 1);
    const result = await tail.exited();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(consumersOf('cli-tail-pipe')).toEqual([]);
  });
});

describe('resharding', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('split cuts a shard at the middle of its range by default', async () => {
    await createStream('cli-split');
    const result = await cli('split', 'cli-split', 'shardId-000000000000');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`split shardId-000000000000 at ${HASH_KEY_HALF}`);
    const { Shards } = server.engine.listShards({ StreamName: 'cli-split' });
    expect(Shards.map((shard) => [shard.ShardId, shard.ParentShardId, shard.HashKeyRange.StartingHashKey])).toEqual([
      ['shardId-000000000000', undefined, '0'],
      ['shardId-000000000001', 'shardId-000000000000', '0'],
      ['shardId-000000000002', 'shardId-000000000000', String(HASH_KEY_HALF)],
    ]);
    expect(Shards[0]!.SequenceNumberRange.EndingSequenceNumber).toBeDefined();
  });

  it('split --at, then merge joins the children again', async () => {
    await createStream('cli-merge');
    const split = await cli('split', 'cli-merge', 'shardId-000000000000', '--at', '1000');
    expect(split.code, split.stderr).toBe(0);
    expect(server.engine.listShards({ StreamName: 'cli-merge' }).Shards[2]!.HashKeyRange.StartingHashKey).toBe('1000');

    const merged = await cli('merge', 'cli-merge', 'shardId-000000000001', 'shardId-000000000002');
    expect(merged.code, merged.stderr).toBe(0);
    const open = server.engine.listShards({ StreamName: 'cli-merge', ShardFilter: { Type: 'AT_LATEST' } }).Shards;
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      ShardId: 'shardId-000000000003',
      ParentShardId: 'shardId-000000000001',
      AdjacentParentShardId: 'shardId-000000000002',
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(2n ** 128n - 1n) },
    });
  });
});

describe('errors', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('an unknown stream is a one-line ResourceNotFoundException and exit 1', async () => {
    for (const args of [
      ['describe', 'cli-missing'],
      ['put', 'cli-missing', 'data'],
      ['tail', 'cli-missing'],
      ['split', 'cli-missing', 'shardId-000000000000'],
    ]) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(1);
      expectOneLineError(result, /^shardline: ResourceNotFoundException: .*cli-missing.*\n$/);
    }
  });

  it('an unknown shard is ResourceNotFoundException', async () => {
    await createStream('cli-no-such-shard');
    const result = await cli('split', 'cli-no-such-shard', 'shardId-000000000009');
    expect(result.code).toBe(1);
    expectOneLineError(result, /^shardline: ResourceNotFoundException: .*shardId-000000000009/);
  });

  it('an existing stream is ResourceInUseException', async () => {
    await createStream('cli-taken');
    const result = await cli('create-stream', 'cli-taken');
    expect(result.code).toBe(1);
    expectOneLineError(result, /^shardline: ResourceInUseException: /);
  });

  it('a refused connection says so, exit 1', async () => {
    const port = await closedPort();
    const result = await runCli(['list-streams', '--url', `ws://127.0.0.1:${port}/`]);
    expect(result.code).toBe(1);
    expectOneLineError(result, new RegExp(`^shardline: cannot connect to ws://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED`));
  });

  it('a stdout that cannot be written (/dev/full: ENOSPC) is a one-line error, exit 1', async () => {
    await createStream('cli-full-stdout');
    const result = await runProcess(['bash', '-c', '"$@" > /dev/full', 'bash', ...SOURCE_CLI, 'list-streams', '--url', url]);
    expect(result.code).toBe(1);
    expectOneLineError(result, /^shardline: cannot write to stdout: .*ENOSPC/);
  });

  it('bad usage exits 2 with a one-line error', async () => {
    const cases = [
      ['no-such-command'],
      ['describe'],
      ['merge', 'stream', 'shardId-000000000000'],
      ['list-streams', 'extra'],
      ['create-stream', 'x', '--shards', '0'],
      ['create-stream', 'x', '--shards', '2', '--on-demand'],
      ['tail', 'x', '--from', 'yesterday'],
      ['split', 'x', 'shardId-000000000000', '--at', '-1'],
      ['list-streams', '--url', 'http://127.0.0.1:1/'],
      ['serve', '--fsync', 'sometimes'],
      ['serve', '--port', '70000'],
    ];
    const results = await Promise.all(cases.map((args) => runCli(args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]!.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr, cases[i]!.join(' ')).toMatch(/^shardline: \S/);
      expect(lines(result.stderr)).toHaveLength(1);
    });
  });

  it('no command prints the help on stderr and exits 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: shardline');
  });
});

describe('serve', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('refuses a TLS certificate without its key, before opening anything', async () => {
    const dataDir = tempDir();
    const result = await runCli(['serve', '--port', '0', '--kinesis-port', '0', '--data-dir', dataDir, '--kinesis-tls-cert', 'cert.pem']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('shardline: --kinesis-tls-cert and --kinesis-tls-key go together\n');
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('listens on a free port, answers, and on SIGTERM shuts down cleanly with exit 0', async () => {
    const dataDir = tempDir();
    const serve = startCli([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--kinesis-port',
      '0',
      '--data-dir',
      dataDir,
      '--fsync',
      '100',
      '--workers',
      '1',
    ]);
    const served = (await serve.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/) \(data in (.+)\)\n/))[1]!;
    expect(served).not.toMatch(/:0\/$/);
    expect(serve.stdout()).toContain(`(data in ${dataDir})`);
    expect((await serve.waitForOutput(/^connect: .*connect\('([^']+)'\)$/m))[1]).toBe(served);

    const created = await runCli(['create-stream', 'served', '--url', served]);
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['list-streams', '--url', served]);
    expect(listed.stdout).toBe('served\n');
    // The same engine answers the Kinesis HTTP API on its own port.
    const kinesisUrl = (await serve.waitForOutput(/^Kinesis HTTP API on (http:\/\/127\.0\.0\.1:\d+) /m))[1]!;
    const answer = await fetch(kinesisUrl, {
      method: 'POST',
      body: '{}',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Kinesis_20131202.ListStreams',
        'x-amz-date': '20261201T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=a/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00',
      },
    });
    expect(await answer.json()).toMatchObject({ StreamNames: ['served'] });

    serve.child.kill('SIGTERM');
    const result = await serve.exited();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('shutting down\n');
    // A clean close released the data directory's lock and kept the stream.
    const engine = await Engine.open({ dataDir, fsync: 'never', workers: 1 });
    try {
      expect(engine.listStreams().StreamNames).toEqual(['served']);
    } finally {
      await engine.close();
    }
  });

  it('refuses a port in use, exit 1', async () => {
    const result = await runCli([
      'serve',
      '--port',
      String(server.server.port),
      '--kinesis-port',
      '0',
      '--data-dir',
      tempDir(),
      '--workers',
      '1',
    ]);
    expect(result.code).toBe(1);
    expectOneLineError(result, new RegExp(`^shardline: cannot listen on 127\\.0\\.0\\.1:${server.server.port} `));
  });

  it('refuses a data directory another engine holds, exit 1', async () => {
    const result = await runCli(['serve', '--port', '0', '--kinesis-port', '0', '--data-dir', server.dataDir, '--workers', '1']);
    expect(result.code).toBe(1);
    expectOneLineError(result, /^shardline: ResourceInUseException: data directory .* is in use/);
  });
});
