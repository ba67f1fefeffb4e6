import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ShardlineClient } from '../../src/client/node.js';
import { InvalidArgumentException, LeaseLostError, ResourceNotFoundException, ShardlineError } from '../../src/errors.js';
import { expireLease, stealLease } from '../../src/index.js';
import { EngineLeaseStore } from '../../src/groups/embedded.js';
import type { GroupDescription } from '../../src/groups/group_operations.js';
import type { Lease } from '../../src/groups/lease.js';
import type { Checkpointer } from '../../src/groups/processor.js';
import { ShardlineLeaseStore, WebSocketSource } from '../../src/groups/websocket.js';
import { GroupWorker, type LeaseEvent } from '../../src/groups/worker.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { keyOf, rawCall, startSecureServers, writeCredentials } from '../auth/fixtures.js';
import { failureOf } from '../helpers/failure.js';

// Goal: the test kit's lease faults. ExpireLease leaves a held lease unowned and StealLease gives
// it to a named owner, each with the next counter, so the real worker holding it loses it
// (a 'lost' event, leaseLost, and its checkpointer refusing with LeaseLostError) and a worker
// takes it again: at once when it was expired, from the thief once the thief's failover time
// passes without renewal when stolen. Both are counted in the group's description; an unknown
// group or shard is ResourceNotFoundException and changes nothing; with auth on, each is
// `shardline:<Op>` on the group's ARN. Method: a real server on a free port and real
// GroupWorkers in this process over the WebSocket (failover 600 ms); the faults through the
// CALL, the embedded functions and the signed HTTP target. Waits poll without deadlines (the
// test's own timeout bounds them).

const SHARD = 'shardId-000000000000';
const POLL_MS = 20;
const FAST = { failoverTimeMillis: 600, takeIntervalMillis: 300, shardSyncIntervalMillis: 300, parentShardPollIntervalMillis: 100 };

let server: TestServer;
let client: ShardlineClient;
const running: RunningWorker[] = [];

beforeAll(async () => {
  server = await startTestServer();
  client = await connect(server.url);
});

afterAll(async () => {
  await Promise.all(running.map((worker) => worker.stop()));
  client?.close();
  await server?.stop();
});

interface RunningWorker {
  readonly worker: GroupWorker;
  readonly events: LeaseEvent[];
  readonly leaseLost: string[];
  /** The checkpointer of the shard's latest batch. */
  checkpointer: Checkpointer | null;
  stop(): Promise<void>;
}

async function startWorker(group: string, stream: string, workerId: string): Promise<RunningWorker> {
  const own = await connect(server.url);
  const state: RunningWorker = {
    worker: new GroupWorker({
      groupName: group,
      workerId,
      source: new WebSocketSource(own, stream),
      leases: new ShardlineLeaseStore(own, group, stream),
      initialPosition: 'TRIM_HORIZON',
      ...FAST,
      onError: () => undefined,
      onLeaseEvent: (event) => state.events.push(event),
      processor: () => {
        let shardId = '';
        return {
          initialize: (input) => void (shardId = input.shardId),
          processRecords: ({ checkpointer }) => void (state.checkpointer = checkpointer),
          leaseLost: () => void state.leaseLost.push(shardId),
          shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
          shutdownRequested: () => undefined,
        };
      },
    }),
    events: [],
    leaseLost: [],
    checkpointer: null,
    async stop() {
      await state.worker.shutdown();
      own.close();
    },
  };
  running.push(state);
  await state.worker.start();
  return state;
}

async function until<T>(find: () => T | undefined | false): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined && found !== false) return found;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function streamWithRecords(stream: string): Promise<void> {
  await server.engine.createStream({ StreamName: stream, ShardCount: 1 });
  await server.engine.putRecords({
    StreamName: stream,
    Records: [0, 1, 2].map((i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`r${i}`) })),
  });
}

async function leaseOf(group: string): Promise<Lease> {
  return (await client.callNamed('GetLease', { GroupName: group, LeaseKey: SHARD }))['Lease'] as Lease;
}

async function faultsOf(group: string): Promise<GroupDescription['LeaseFaults']> {
  return ((await client.callNamed('DescribeGroup', { GroupName: group })) as unknown as GroupDescription).LeaseFaults;
}

const failure = (run: () => Promise<unknown> | unknown): Promise<ShardlineError> => failureOf<ShardlineError>(run);

describe('lease faults on a running group', () => {
  it('ExpireLease: the holder loses the lease and a worker takes it, unowned', async () => {
    await streamWithRecords('expiring');
    const a = await startWorker('expiring-app', 'expiring', 'a');
    expect(a.worker.heldShards).toEqual([SHARD]);
    const b = await startWorker('expiring-app', 'expiring', 'b');
    const checkpointer = await until(() => a.checkpointer ?? undefined);
    const before = await leaseOf('expiring-app');

    const { Lease: expired } = (await client.callNamed('Faults.ExpireLease', { GroupName: 'expiring-app', ShardId: SHARD })) as {
      Lease: Lease;
    };
    expect(expired.leaseOwner).toBeUndefined();
    expect(expired.leaseCounter).toBeGreaterThan(before.leaseCounter);

    await until(() => a.events.some((event) => event.type === 'lost' && event.leaseKey === SHARD));
    await until(() => a.leaseLost.includes(SHARD));
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    const taken = await until(() =>
      [...a.events, ...b.events].find(
        (event) => event.type === 'taken' && event.from === null && event.leaseCounter === expired.leaseCounter + 1,
      ),
    );
    const taker = taken.workerId === 'a' ? a : b;
    await until(() => taker.worker.heldShards.includes(SHARD));
    expect((await leaseOf('expiring-app')).leaseOwner).toBe(taken.workerId);
    expect(await faultsOf('expiring-app')).toEqual({ Expired: 1, Stolen: 0 });
  });

  it('StealLease: the lease goes to the named owner, and comes back once that owner does not renew it', async () => {
    await streamWithRecords('stolen');
    const a = await startWorker('stolen-app', 'stolen', 'a');
    const checkpointer = await until(() => a.checkpointer ?? undefined);
    const before = await leaseOf('stolen-app');

    const request = { GroupName: 'stolen-app', ShardId: SHARD, NewOwner: 'intruder' };
    const { Lease: stolen } = (await client.callNamed('Faults.StealLease', request)) as { Lease: Lease };
    expect(stolen).toMatchObject({ leaseKey: SHARD, leaseOwner: 'intruder' });
    expect(stolen.leaseCounter).toBeGreaterThan(before.leaseCounter);

    await until(() => a.events.some((event) => event.type === 'lost' && event.leaseKey === SHARD));
    await until(() => a.leaseLost.includes(SHARD));
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    const back = await until(() => a.events.find((event) => event.type === 'taken' && event.from === 'intruder'));
    expect(back.leaseCounter).toBe(stolen.leaseCounter + 1);
    expect(await faultsOf('stolen-app')).toEqual({ Expired: 0, Stolen: 1 });
  });
});

describe('lease faults refused', () => {
  it('refuses an unknown group or shard, or a steal without an owner, and changes nothing', async () => {
    await server.engine.createStream({ StreamName: 'quiet', ShardCount: 1 });
    const store = new EngineLeaseStore(server.engine, 'quiet-app', 'quiet');
    await store.prepare();
    const lease: Lease = {
      leaseKey: SHARD,
      leaseOwner: 'w',
      leaseCounter: 4,
      checkpoint: 'TRIM_HORIZON',
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 1,
    };
    await store.create(lease);
    const engine = server.engine;

    expect(await failure(() => expireLease(engine, { GroupName: 'no-such-app', ShardId: SHARD }))).toBeInstanceOf(
      ResourceNotFoundException,
    );
    const unknownShard = await failure(() =>
      stealLease(engine, { GroupName: 'quiet-app', ShardId: 'shardId-000000000009', NewOwner: 'x' }),
    );
    expect(unknownShard).toBeInstanceOf(ResourceNotFoundException);
    expect(unknownShard.message).toBe('no lease shardId-000000000009 in group quiet-app');
    const noOwner = { GroupName: 'quiet-app', ShardId: SHARD } as unknown as Parameters<typeof stealLease>[1];
    expect(await failure(() => stealLease(engine, noOwner))).toBeInstanceOf(InvalidArgumentException);
    const overCall = await failure(() =>
      client.callNamed('Faults.ExpireLease', { GroupName: 'quiet-app', ShardId: 'shardId-000000000009' }),
    );
    expect(overCall.code).toBe('ResourceNotFoundException');

    expect(await store.get(SHARD)).toEqual(lease);
    expect(await faultsOf('quiet-app')).toEqual({ Expired: 0, Stolen: 0 });
  });
});

describe('lease faults with auth on', () => {
  const root = suiteTempDir('shardline-lease-faults-auth-');
  afterAll(() => root.remove());

  it("is shardline:<Op> on the group's ARN, on the HTTP target and the CALL", async () => {
    const credentials = writeCredentials(root.dir, {
      tester: [
        {
          Effect: 'Allow',
          Action: ['shardline:ExpireLease', 'shardline:StealLease'],
          Resource: 'arn:aws:kinesis:us-east-1:000000000000:group/open-*',
        },
      ],
    });
    fs.mkdirSync(`${root.dir}/data`);
    const servers = await startSecureServers(`${root.dir}/data`, credentials);
    const secure = await connect(servers.ws.url, { credentials: keyOf('tester') });
    try {
      await servers.engine.createStream({ StreamName: 's', ShardCount: 1 });
      const lease: Lease = {
        leaseKey: SHARD,
        leaseOwner: 'w',
        leaseCounter: 0,
        checkpoint: 'LATEST',
        checkpointSubSequenceNumber: 0,
        ownerSwitchesSinceCheckpoint: 0,
      };
      for (const group of ['open-app', 'closed-app']) {
        const store = new EngineLeaseStore(servers.engine, group, 's');
        await store.prepare();
        await store.create(lease);
      }
      const api = { targetPrefix: 'ShardlineFaults_20261208.', service: 'kinesis' };
      const steal = (group: string) =>
        rawCall(servers.http.url, 'StealLease', { GroupName: group, ShardId: SHARD, NewOwner: 'thief' }, keyOf('tester'), Date.now(), api);

      const allowed = await steal('open-app');
      expect([allowed.status, allowed.body['Lease']]).toEqual([
        200,
        { ...lease, leaseOwner: 'thief', leaseCounter: 1, ownerSwitchesSinceCheckpoint: 1 },
      ]);
      const denied = await steal('closed-app');
      expect([denied.status, denied.type]).toEqual([400, 'AccessDeniedException']);
      const overCall = await failure(() => secure.callNamed('Faults.ExpireLease', { GroupName: 'closed-app', ShardId: SHARD }));
      expect(overCall.code).toBe('AccessDeniedException');
      expect(await new EngineLeaseStore(servers.engine, 'closed-app', 's').get(SHARD)).toEqual(lease);

      await secure.callNamed('Faults.ExpireLease', { GroupName: 'open-app', ShardId: SHARD });
      expect(await new EngineLeaseStore(servers.engine, 'open-app', 's').get(SHARD)).toEqual({
        ...lease,
        leaseOwner: undefined,
        leaseCounter: 2,
        ownerSwitchesSinceCheckpoint: 1,
      });
    } finally {
      secure.close();
      await servers.stop();
    }
  });
});
