import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import { Consumer, connect, type ConsumedRecord, type ShardlineClient } from '../../src/client/node.js';
import { startTestServer, streamWithConsumers, type TestServer } from '../helpers/server.js';

// Goal: the Consumer unpacks KPL aggregates into their user records in place, and delivers a
// user record whose hash key is outside its shard (which the KCL would drop with its whole
// aggregate), marked and counted; a plain record and a blob that only looks aggregated pass
// through. Method: a real server and client; a 2-shard stream; an aggregate routed to shard 0
// holding user records of both halves of the hash key space; the hash of a partition key
// computed here with node:crypto.

let server: TestServer;
let client: ShardlineClient;
const HALF = 1n << 127n;

beforeAll(async () => {
  server = await startTestServer();
  client = await connect(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

const md5Key = (key: string): bigint => BigInt(`0x${createHash('md5').update(key).digest('hex')}`);

describe('Consumer deaggregation', () => {
  it('delivers every user record in place, marks and counts those outside their shard, and passes the rest through', async () => {
    const [consumerARN] = await streamWithConsumers(server.engine, 'kpl-in', 2, 1);
    const lowKey = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((key) => md5Key(key) < HALF)!;
    const highKey = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((key) => md5Key(key) >= HALF)!;
    const users = [
      { partitionKey: lowKey, data: Buffer.from('low by key') },
      { partitionKey: 'x', explicitHashKey: String(HALF + 5n), data: Buffer.from('high by hash key') },
      { partitionKey: highKey, data: Buffer.from('high by key') },
      { partitionKey: 'y', explicitHashKey: '7', data: Buffer.from('low by hash key') },
    ];
    const lookalike = Buffer.concat([aggregate(users).subarray(0, 30), Buffer.alloc(20)]); // the magic, a bad MD5
    await server.engine.putRecords({
      StreamName: 'kpl-in',
      Records: [
        { PartitionKey: 'a', ExplicitHashKey: '0', Data: aggregate(users) },
        { PartitionKey: 'a', ExplicitHashKey: '1', Data: Buffer.from('plain') },
        { PartitionKey: 'a', ExplicitHashKey: '2', Data: lookalike },
      ],
    });
    const consumer = new Consumer(client);
    const received: ConsumedRecord[] = [];
    for await (const record of consumer.subscribe({
      consumerARN: consumerARN!,
      shardId: 'shardId-000000000000',
      startingPosition: { Type: 'TRIM_HORIZON' },
    })) {
      received.push(record);
      if (received.length === 6) break;
    }
    expect(received.map((record) => [Buffer.from(record.Data).toString(), record.SubSequenceNumber, record.OutsideShard])).toEqual([
      ['low by key', 0, undefined],
      ['high by hash key', 1, true],
      ['high by key', 2, true],
      ['low by hash key', 3, undefined],
      ['plain', undefined, undefined],
      [lookalike.toString(), undefined, undefined],
    ]);
    expect(new Set(received.slice(0, 4).map((record) => record.SequenceNumber)).size).toBe(1);
    expect(received[1]!.ExplicitHashKey).toBe(String(HALF + 5n));
    expect(consumer.userRecordsOutsideShard).toBe(2);
  });
});
