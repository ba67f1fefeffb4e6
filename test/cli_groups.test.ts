import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ShardlineClient } from '../src/client/node.js';
import type { GroupDescription } from '../src/groups/group_operations.js';
import { GroupWorker } from '../src/groups/worker.js';
import { ShardlineLeaseStore, WebSocketSource } from '../src/groups/websocket.js';
import { closedPort, killAllClis, runCli, type CliResult } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Goal: `shardline group list|describe|reset|delete` show and change a consumer group as its
// workers see it: members, leases, checkpoints and lag as the server keeps them; a reset or a
// delete refused while a worker holds leases (exit 1, the server's ResourceInUseException)
// unless --force; bad reset flags a usage error (exit 2) before anything is sent.
// Method: one real engine and server for the suite (startTestServer); a real GroupWorker in this
// process over the WebSocket (push retrieval, failover 600 ms) makes the group and its leases;
// records are put through the engine with explicit hash keys, so each shard's count is known;
// the CLI runs as a child process against --url. Waits poll DescribeGroup until a state is
// reached (no fixed sleeps).

/** Each test starts several Node processes (about 0.6 s each here): room for a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 120_000;
const POLL_MS = 50;
const WAIT_MAX_MS = 30_000;
/** Explicit hash keys in the first and second half of the range: shard 0 and shard 1 of a 2-shard stream. */
const SHARD_KEYS = ['0', String(2n ** 127n)] as const;
const SHARDS = ['shardId-000000000000', 'shardId-000000000001'] as const;

let server: TestServer;
let url: string;
let client: ShardlineClient;

beforeAll(async () => {
  server = await startTestServer();
  url = server.url;
  client = await connect(url);
});

afterEach(async () => {
  await killAllClis();
});

afterAll(async () => {
  await killAllClis();
  client?.close();
  await server?.stop();
});

function cli(...args: string[]): Promise<CliResult> {
  return runCli([...args, '--url', url]);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

async function createStream(name: string): Promise<void> {
  await server.engine.createStream({ StreamName: name, ShardCount: 2 });
}

/** Puts `count` records into shard `shard` (0 or 1) of `stream`: the last one's sequence number. */
async function putTo(stream: string, shard: 0 | 1, count: number): Promise<string> {
  const { Records, FailedRecordCount } = await server.engine.putRecords({
    StreamName: stream,
    Records: Array.from({ length: count }, (_, i) => ({
      PartitionKey: `k${i}`,
      ExplicitHashKey: SHARD_KEYS[shard],
      Data: Buffer.from(`r${i}`),
    })),
  });
  expect(FailedRecordCount).toBe(0);
  const placed = Records.map((record) => ('ShardId' in record ? record : { ShardId: '', SequenceNumber: '' }));
  expect(placed.every((record) => record.ShardId === SHARDS[shard])).toBe(true);
  return placed.at(-1)!.SequenceNumber;
}

interface RunningWorker {
  readonly worker: GroupWorker;
  readonly errors: unknown[];
  stop(): Promise<void>;
}

/** A worker of `group` on `stream` in this process, on its own connection, checkpointing every batch. */
async function startWorker(group: string, stream: string, workerId = 'w1'): Promise<RunningWorker> {
  const own = await connect(url);
  const errors: unknown[] = [];
  const worker = new GroupWorker({
    groupName: group,
    workerId,
    source: new WebSocketSource(own, stream),
    leases: new ShardlineLeaseStore(own, group, stream),
    initialPosition: 'TRIM_HORIZON',
    failoverTimeMillis: 600,
    takeIntervalMillis: 300,
    shardSyncIntervalMillis: 300,
    parentShardPollIntervalMillis: 100,
    onError: (error) => errors.push(error),
    processor: () => ({
      initialize() {},
      async processRecords({ checkpointer }) {
        await checkpointer.checkpoint();
      },
      leaseLost() {},
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
    }),
  });
  await worker.start();
  return {
    worker,
    errors,
    async stop() {
      await worker.shutdown();
      own.close();
    },
  };
}

function describeGroup(group: string): Promise<GroupDescription> {
  return client.callNamed('DescribeGroup', { GroupName: group }) as unknown as Promise<GroupDescription>;
}

/** Polls DescribeGroup until `done` holds: the description then. */
async function until(group: string, what: string, done: (description: GroupDescription) => boolean): Promise<GroupDescription> {
  const deadline = Date.now() + WAIT_MAX_MS;
  for (;;) {
    const description = await describeGroup(group);
    if (done(description)) return description;
    if (Date.now() > deadline) throw new Error(`group ${group}: ${what} did not happen: ${JSON.stringify(description)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Every shard's lease held by `owner` and checkpointed at that shard's last record. */
function caughtUp(owner: string, last: readonly string[]): (description: GroupDescription) => boolean {
  return ({ Leases }) =>
    Leases.length === SHARDS.length &&
    SHARDS.every((shard, i) =>
      Leases.some((lease) => lease.leaseKey === shard && lease.leaseOwner === owner && lease.checkpoint === last[i]),
    );
}

async function describeJson(group: string): Promise<GroupDescription> {
  const result = await cli('group', 'describe', group, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as GroupDescription;
}

function leaseOf(description: GroupDescription, shard: string): GroupDescription['Leases'][number] {
  const lease = description.Leases.find((candidate) => candidate.leaseKey === shard);
  expect(lease, `lease of ${shard}`).toBeDefined();
  return lease!;
}

/** The table row of `shard` in describe's text output, split into its cells. */
function rowOf(stdout: string, shard: string): string[] {
  const row = lines(stdout).find((line) => line.startsWith(`${shard} `));
  expect(row, `row of ${shard} in:\n${stdout}`).toBeDefined();
  return row!.split(/\s{2,}/);
}

describe('group list and describe', { timeout: TEST_TIMEOUT_MS }, () => {
  it('show a running worker as a member with its leases, checkpoints and lag 0; then the lag of records put while it is stopped', async () => {
    await createStream('orders');
    const last = [await putTo('orders', 0, 3), await putTo('orders', 1, 2)];
    const running = await startWorker('app', 'orders');
    try {
      await until('app', 'catching up', caughtUp('w1', last));

      const listed = await cli('group', 'list', '--json');
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { Groups: unknown[] }).Groups).toContainEqual({
        GroupName: 'app',
        StreamName: 'orders',
        LeaseCount: 2,
      });
      const listedText = await cli('group', 'list');
      expect(listedText.code, listedText.stderr).toBe(0);
      expect(lines(listedText.stdout)[0]).toMatch(/^GROUP\s+STREAM\s+LEASES$/);
      expect(lines(listedText.stdout)).toContainEqual(expect.stringMatching(/^app\s+orders\s+2$/));

      const described = await describeJson('app');
      expect(described.GroupName).toBe('app');
      expect(described.StreamName).toBe('orders');
      expect(described.Members).toEqual([{ WorkerId: 'w1', Leases: 2 }]);
      SHARDS.forEach((shard, i) => {
        expect(leaseOf(described, shard)).toMatchObject({
          leaseOwner: 'w1',
          Live: true,
          checkpoint: last[i],
          checkpointSubSequenceNumber: 0,
          LagRecords: 0,
          LagMillis: 0,
        });
      });

      const text = await cli('group', 'describe', 'app');
      expect(text.code, text.stderr).toBe(0);
      const [group, stream, members, blank, header] = text.stdout.split('\n');
      expect([group, stream, members, blank]).toEqual(['group        app', 'stream       orders', 'members      w1 (2 leases)', '']);
      expect(header!.split(/\s{2,}/)).toEqual([
        'SHARD',
        'OWNER',
        'LIVE',
        'COUNTER',
        'CHECKPOINT',
        'SWITCHES',
        'PARENTS',
        'CHILDREN',
        'LAG RECORDS',
        'LAG MS',
      ]);
      SHARDS.forEach((shard, i) => {
        const cells = rowOf(text.stdout, shard);
        expect(cells).toHaveLength(10);
        expect([cells[1], cells[2], cells[4], cells[6], cells[7], cells[8], cells[9]]).toEqual(['w1', 'yes', last[i], '-', '-', '0', '0']);
        expect(cells[3]).toMatch(/^\d+$/);
      });
    } finally {
      await running.stop();
    }

    // Stopped: its leases handed back (no owner, no member), and 4 more records in shard 0 only.
    await putTo('orders', 0, 4);
    const stopped = await describeJson('app');
    expect(stopped.Members).toEqual([]);
    expect(leaseOf(stopped, SHARDS[0])).toMatchObject({ checkpoint: last[0], LagRecords: 4, Live: false });
    expect(leaseOf(stopped, SHARDS[0]).leaseOwner).toBeUndefined();
    expect(leaseOf(stopped, SHARDS[0]).LagMillis).toBeGreaterThanOrEqual(0);
    expect(leaseOf(stopped, SHARDS[1])).toMatchObject({ checkpoint: last[1], LagRecords: 0, LagMillis: 0 });
    const text = await cli('group', 'describe', 'app');
    expect(text.code, text.stderr).toBe(0);
    expect(lines(text.stdout)[2]).toBe('members      -');
    const cells = rowOf(text.stdout, SHARDS[0]);
    expect([cells[1], cells[2], cells[8]]).toEqual(['-', 'no', '4']);
  });

  it('describe of an unknown group is ResourceNotFoundException, exit 1', async () => {
    const result = await cli('group', 'describe', 'no-such-group');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^shardline: ResourceNotFoundException: group no-such-group not found\n$/);
  });
});

describe('group reset', { timeout: TEST_TIMEOUT_MS }, () => {
  it('is refused while a worker runs (ResourceInUseException, exit 1) and done with --force; the worker cannot write over it', async () => {
    await createStream('forced-orders');
    const last = [await putTo('forced-orders', 0, 2), await putTo('forced-orders', 1, 2)];
    const running = await startWorker('forced', 'forced-orders');
    try {
      await until('forced', 'catching up', caughtUp('w1', last));

      const refused = await cli('group', 'reset', 'forced', '--trim-horizon');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^shardline: ResourceInUseException: cannot reset group forced: 2 leases .*held by w1.*force it\n$/);
      const unchanged = await describeGroup('forced');
      SHARDS.forEach((shard, i) => expect(leaseOf(unchanged, shard).checkpoint).toBe(last[i]));

      const forced = await cli('group', 'reset', 'forced', '--latest', '--force');
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toBe('reset group forced to LATEST\n');
      // The worker lost its leases (the counter moved) and takes them again at the reset checkpoint.
      const retaken = await until('forced', 'the worker taking its leases again', ({ Leases }) =>
        Leases.every((lease) => lease.leaseOwner === 'w1'),
      );
      expect(retaken.Leases.map((lease) => lease.checkpoint)).toEqual(['LATEST', 'LATEST']);
    } finally {
      await running.stop();
    }
    const after = await describeGroup('forced');
    expect(after.Leases.map((lease) => lease.checkpoint)).toEqual(['LATEST', 'LATEST']);
  });

  it('on a stopped group: --trim-horizon, --at-timestamp and --sequence-number move the checkpoints and drop the owners', async () => {
    await createStream('reset-orders');
    const last = [await putTo('reset-orders', 0, 3), await putTo('reset-orders', 1, 5)];
    const running = await startWorker('resettable', 'reset-orders');
    await until('resettable', 'catching up', caughtUp('w1', last));
    await running.stop();

    const reset = await cli('group', 'reset', 'resettable', '--trim-horizon');
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toBe('reset group resettable to TRIM_HORIZON\n');
    const described = await describeJson('resettable');
    expect(described.Members).toEqual([]);
    SHARDS.forEach((shard, i) => {
      const lease = leaseOf(described, shard);
      expect(lease).toMatchObject({
        checkpoint: 'TRIM_HORIZON',
        checkpointSubSequenceNumber: 0,
        ownerSwitchesSinceCheckpoint: 0,
        Live: false,
      });
      expect(lease.leaseOwner).toBeUndefined();
      expect(lease.LagRecords).toBe([3, 5][i]);
    });
    const text = await cli('group', 'describe', 'resettable');
    for (const shard of SHARDS)
      expect(rowOf(text.stdout, shard).slice(1, 5)).toEqual(['-', 'no', expect.stringMatching(/^\d+$/), 'TRIM_HORIZON']);

    const at = await cli('group', 'reset', 'resettable', '--at-timestamp', '2024-05-01T12:00:00+02:00');
    expect(at.code, at.stderr).toBe(0);
    expect(at.stdout).toBe('reset group resettable to AT_TIMESTAMP 2024-05-01T10:00:00.000Z\n');
    const atTimestamp = await describeJson('resettable');
    for (const shard of SHARDS)
      expect(leaseOf(atTimestamp, shard)).toMatchObject({
        checkpoint: 'AT_TIMESTAMP',
        checkpointTimestampMillis: Date.UTC(2024, 4, 1, 10),
      });
    const atText = await cli('group', 'describe', 'resettable');
    expect(rowOf(atText.stdout, SHARDS[0])[4]).toBe('AT_TIMESTAMP@2024-05-01T10:00:00.000Z');

    // A sequence number moves only the lease of its own shard.
    const bySequence = await cli('group', 'reset', 'resettable', '--sequence-number', last[0]!);
    expect(bySequence.code, bySequence.stderr).toBe(0);
    const sequenced = await describeJson('resettable');
    expect(leaseOf(sequenced, SHARDS[0])).toMatchObject({ checkpoint: last[0], LagRecords: 0 });
    expect(leaseOf(sequenced, SHARDS[1]).checkpoint).toBe('AT_TIMESTAMP');
  });

  it('bad flags are a one-line usage error, exit 2, before anything is sent', async () => {
    // A closed port: a command that tried to connect would fail with exit 1 instead.
    const nowhere = `ws://127.0.0.1:${await closedPort()}/`;
    const cases: Array<[string[], RegExp]> = [
      [[], /^shardline: group reset needs a position: one of --trim-horizon, --latest, --at-timestamp, --sequence-number\n$/],
      [['--force'], /needs a position/],
      [['--trim-horizon', '--latest'], /^shardline: group reset takes one position, not --trim-horizon and --latest\n$/],
      [['--latest', '--sequence-number', '1'], /takes one position, not --latest and --sequence-number/],
      [
        ['--at-timestamp', 'yesterday'],
        /^shardline: option '--at-timestamp <time>' argument 'yesterday' is invalid\. expected an ISO 8601 time/,
      ],
      [['--at-timestamp', '2024-02-30'], /'2024-02-30' is invalid/],
      [['--at-timestamp', '2024-05-01T12:00:00'], /is invalid\. expected an ISO 8601 time with its zone/],
      [['--at-timestamp', '-5'], /is invalid|unknown option/],
      [['--sequence-number', 'abc'], /'abc' is invalid\. expected a sequence number/],
    ];
    const results = await Promise.all(cases.map(([flags]) => runCli(['group', 'reset', 'app', ...flags, '--url', nowhere])));
    results.forEach((result, i) => {
      const [flags, pattern] = cases[i]!;
      expect(result.code, `${flags.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    });
  });
});

describe('group delete', { timeout: TEST_TIMEOUT_MS }, () => {
  it('is refused while a worker runs; once it stopped the group is gone from list', async () => {
    await createStream('deleted-orders');
    const last = [await putTo('deleted-orders', 0, 1), await putTo('deleted-orders', 1, 1)];
    const running = await startWorker('doomed', 'deleted-orders');
    try {
      await until('doomed', 'catching up', caughtUp('w1', last));
      const refused = await cli('group', 'delete', 'doomed');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^shardline: ResourceInUseException: cannot delete group doomed: .*held by w1/);
    } finally {
      await running.stop();
    }
    expect(lines((await cli('group', 'list')).stdout)).toContainEqual(expect.stringMatching(/^doomed\s+deleted-orders\s+2$/));

    const deleted = await cli('group', 'delete', 'doomed');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('deleted group doomed\n');
    const listed = await cli('group', 'list', '--json');
    expect((JSON.parse(listed.stdout) as { Groups: Array<{ GroupName: string }> }).Groups.map((group) => group.GroupName)).not.toContain(
      'doomed',
    );
    const gone = await cli('group', 'describe', 'doomed');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/ResourceNotFoundException: group doomed not found/);
  });

  it('--force deletes a group whose worker still runs', async () => {
    await createStream('forced-deleted-orders');
    const last = [await putTo('forced-deleted-orders', 0, 1), await putTo('forced-deleted-orders', 1, 1)];
    const running = await startWorker('forced-doomed', 'forced-deleted-orders');
    try {
      await until('forced-doomed', 'catching up', caughtUp('w1', last));
      const deleted = await cli('group', 'delete', 'forced-doomed', '--force');
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout).toBe('deleted group forced-doomed\n');
      const listed = await cli('group', 'list', '--json');
      expect((JSON.parse(listed.stdout) as { Groups: Array<{ GroupName: string }> }).Groups.map((group) => group.GroupName)).not.toContain(
        'forced-doomed',
      );
    } finally {
      await running.stop();
    }
  });
});
