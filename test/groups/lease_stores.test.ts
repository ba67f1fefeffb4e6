import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ShardlineClient } from '../../src/client/node.js';
import type { Engine } from '../../src/engine/engine.js';
import { DynamoDBLeaseStore } from '../../src/groups/dynamodb_lease_store.js';
import { EngineLeaseStore } from '../../src/groups/embedded.js';
import type { LeaseStore } from '../../src/groups/lease.js';
import { ShardlineLeaseStore } from '../../src/groups/websocket.js';
import { DYNALITE_CREDENTIALS, useDynalite } from '../helpers/dynalite.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { leaseStoreContract, type LeaseStoreUnderTest } from './lease_store_contract.js';

// Goal: the three lease stores keep one contract (lease_store_contract.ts): shardline's lease
// tables in-process and over the WebSocket door, and a DynamoDB table in the KCL's schema.
// Method: a real server (engine on a temporary directory, uWS on a free port) and a Node client;
// dynalite, the DynamoDB emulator from npm, on a free port, through @aws-sdk/client-dynamodb.

const STREAM = 'leases';

/** A group document whose one lease has a leaseCounter that is a string, written as a crash or an editor could leave it. */
async function writeCorruptGroup(engine: Engine, groupName: string, leaseKey: string): Promise<void> {
  const lease = {
    leaseKey,
    leaseCounter: 'seven',
    checkpoint: 'TRIM_HORIZON',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
  };
  const document = { version: 1, groupName, streamName: STREAM, leases: [lease] };
  await engine.writeDocument(`group.${groupName}.json`, new TextEncoder().encode(JSON.stringify(document)));
}

let server: TestServer;
let client: ShardlineClient;
beforeAll(async () => {
  server = await startTestServer();
  await server.engine.createStream({ StreamName: STREAM, ShardCount: 1 });
  client = await connect(server.url);
});
afterAll(async () => {
  client.close();
  await server.stop();
});

function onShardline(store: (groupName: string) => LeaseStore): LeaseStoreUnderTest {
  return {
    fresh: async (name) => {
      const leases = store(name);
      await leases.prepare();
      return leases;
    },
    corrupted: async (name, leaseKey) => {
      await writeCorruptGroup(server.engine, name, leaseKey);
      return store(name);
    },
  };
}

describe('the lease tables of an engine in this process', () => {
  leaseStoreContract('embedded', () => onShardline((name) => new EngineLeaseStore(server.engine, name, STREAM)));
});

describe('the lease tables over the WebSocket door', () => {
  leaseStoreContract('websocket', () => onShardline((name) => new ShardlineLeaseStore(client, name, STREAM)));
});

describe('a DynamoDB table in the KCL schema (dynalite)', () => {
  let endpoint = '';
  useDynalite((url) => (endpoint = url));
  const stores: DynamoDBLeaseStore[] = [];
  afterAll(() => stores.forEach((store) => store.close()));
  const open = async (tableName: string): Promise<DynamoDBLeaseStore> => {
    const store = new DynamoDBLeaseStore({ tableName, endpoint, credentials: DYNALITE_CREDENTIALS });
    stores.push(store);
    await store.prepare();
    return store;
  };
  leaseStoreContract('dynamodb', () => ({
    fresh: open,
    corrupted: async (name, leaseKey) => {
      const store = await open(name);
      await store.client.send(
        new PutItemCommand({
          TableName: name,
          Item: { leaseKey: { S: leaseKey }, leaseCounter: { S: 'seven' }, checkpoint: { S: 'TRIM_HORIZON' } },
        }),
      );
      return store;
    },
  }));

  it("writes the KCL's table: HASH key leaseKey, each attribute under the KCL's name and type", async () => {
    const store = await open('kcl-schema');
    const { Table } = await store.client.send(new DescribeTableCommand({ TableName: 'kcl-schema' }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
    await store.create({
      leaseKey: 'shardId-000000000002',
      leaseOwner: 'worker-a',
      leaseCounter: 3,
      checkpoint: '4959',
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 1,
      parentShardId: ['shardId-000000000000', 'shardId-000000000001'],
      childShardIds: [],
      pendingCheckpointState: Buffer.from('state').toString('base64'),
    });
    const { Item } = await store.client.send(
      new GetItemCommand({ TableName: 'kcl-schema', Key: { leaseKey: { S: 'shardId-000000000002' } } }),
    );
    const types = Object.fromEntries(Object.entries(Item!).map(([name, value]) => [name, Object.keys(value)[0]]));
    // An empty set is no attribute: DynamoDB has no empty sets, and the KCL leaves them out.
    expect(types).toEqual({
      leaseKey: 'S',
      leaseOwner: 'S',
      leaseCounter: 'N',
      checkpoint: 'S',
      checkpointSubSequenceNumber: 'N',
      ownerSwitchesSinceCheckpoint: 'N',
      parentShardId: 'SS',
      pendingCheckpointState: 'B',
    });
    expect(Buffer.from(Item!['pendingCheckpointState']!.B!).toString()).toBe('state');
    expect([...Item!['parentShardId']!.SS!].sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  });
});
