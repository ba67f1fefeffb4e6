import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineLeaseStore } from '../src/groups/embedded.js';
import { killAllClis, runCli } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Goal: `shardline fault add|list|delete|clear` manages the fault rules of a running server, and
// a rule added there acts on the server's answers; a bad option is a usage error (exit 2) and a
// rule the server refuses exits 1 with the reason. `fault expire-lease|steal-lease` change a
// group's lease (its effect on a worker: test/groups/lease_faults.test.ts). Method: the real CLI
// as child processes against a real server on a free port, the effect read through the server's
// engine.

afterEach(killAllClis);

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.engine.createStream({ StreamName: 's', ShardCount: 1 });
});

afterAll(() => server.stop());

async function cli(args: readonly string[]): Promise<string> {
  const result = await runCli([...args, '--url', server.url]);
  expect([result.code, result.stderr], args.join(' ')).toEqual([0, '']);
  return result.stdout;
}

describe('shardline fault', () => {
  it('adds a rule that acts, lists it with its counts, deletes and clears', async () => {
    const args = ['fault', 'add', '--id', 'storm', '--stream', 's', '--operation', 'PutRecords', '--kind', 'throttle', '--every', '2'];
    expect(await cli([...args, '--seed', '7'])).toBe('storm\n');
    const Records = [0, 1, 2, 3].map((index) => ({ PartitionKey: `k${index}`, Data: new Uint8Array([index]) }));
    expect((await server.engine.putRecords({ StreamName: 's', Records })).FailedRecordCount).toBe(2);
    expect(await cli(['fault', 'list'])).toBe('storm\tTHROTTLE\ts/*/PutRecords\tevery=2\tseed=7\tmatched=4\tinjected=2\tACTIVE\n');
    await cli(['fault', 'add', '--id', 'slow', '--kind', 'latency', '--latency', '50..80', '--share', '0.5']);
    const listed = JSON.parse(await cli(['fault', 'list', '--json'])) as { Rules: Record<string, unknown>[] };
    expect(listed.Rules[1]).toMatchObject({
      RuleId: 'slow',
      Kind: 'LATENCY',
      Probability: 0.5,
      Latency: { Distribution: 'UNIFORM', MinMs: 50, MaxMs: 80 },
    });
    expect(await cli(['fault', 'delete', 'storm'])).toBe('deleted storm\n');
    expect(await cli(['fault', 'clear'])).toBe('cleared 1\n');
    expect(server.engine.listFaultRules()).toEqual({ Rules: [] });
  });

  it('refuses a bad option with exit 2 and a rule the server refuses with exit 1, adding nothing', async () => {
    const usage = await runCli(['fault', 'add', '--kind', 'nap', '--share', '0.5', '--url', server.url]);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      "shardline: option '--kind <kind>' argument 'nap' is invalid. --kind takes throttle, latency, fail, drop-subscription, expire-iterator\n",
    ]);
    const refused = await runCli([
      'fault',
      'add',
      '--kind',
      'expire-iterator',
      '--operation',
      'PutRecords',
      '--every',
      '1',
      '--url',
      server.url,
    ]);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      'shardline: InvalidArgumentException: Invalid fault rule: EXPIRE_ITERATOR applies to GetRecords only\n',
    ]);
    expect(server.engine.listFaultRules()).toEqual({ Rules: [] });
  });

  it("expires and steals a group's lease; an unknown shard exits 1 and a steal without --owner 2, changing nothing", async () => {
    const store = new EngineLeaseStore(server.engine, 'app', 's');
    await store.prepare();
    const shard = 'shardId-000000000000';
    const lease = {
      leaseKey: shard,
      leaseOwner: 'w',
      leaseCounter: 0,
      checkpoint: 'LATEST',
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
    };
    await store.create(lease);
    expect(await cli(['fault', 'expire-lease', 'app', shard])).toBe(`expired app/${shard} (counter 1)\n`);
    expect(await cli(['fault', 'steal-lease', 'app', shard, '--owner', 'thief'])).toBe(`stole app/${shard} for thief (counter 2)\n`);
    const after = { ...lease, leaseOwner: 'thief', leaseCounter: 2, ownerSwitchesSinceCheckpoint: 1 };
    expect(await store.get(shard)).toEqual(after);

    const unknown = await runCli(['fault', 'expire-lease', 'app', 'shardId-000000000009', '--url', server.url]);
    expect([unknown.code, unknown.stderr]).toEqual([
      1,
      'shardline: ResourceNotFoundException: no lease shardId-000000000009 in group app\n',
    ]);
    const usage = await runCli(['fault', 'steal-lease', 'app', shard, '--url', server.url]);
    expect([usage.code, usage.stderr]).toEqual([2, "shardline: required option '--owner <name>' not specified\n"]);
    expect(await store.get(shard)).toEqual(after);
  });
});
