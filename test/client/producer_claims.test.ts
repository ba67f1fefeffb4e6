import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, connect, type ShardlineClient } from '../../src/client/node.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the README's Producer backpressure: at most maxRecordsInFlight records are accepted and
// unacknowledged, put() waits beyond that, and drain() resolves only once there is room.
// Method: the real client and Producer against the real server on 127.0.0.1; puts made in one
// synchronous run, so none can be acknowledged before the counts are read.

describe('Producer: maxRecordsInFlight and drain()', () => {
  let server: TestServer;
  let client: ShardlineClient;
  beforeAll(async () => {
    server = await startTestServer({ fsync: 'never' });
    client = await connect(server.url);
    await client.call('CreateStream', { StreamName: 'bounded', ShardCount: 1 });
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('accepts two records with maxRecordsInFlight 2, holds the third until one is acknowledged, then stores all three', async () => {
    const producer = new Producer(client, { lingerMs: 0, maxRecordsInFlight: 2 });
    const events: string[] = [];
    const put = (name: string): Promise<string> =>
      producer.put({ streamName: 'bounded', partitionKey: 'k', data: Buffer.from(name) }).then((result) => {
        events.push(`${name} acknowledged`);
        return result.sequenceNumber;
      });
    const first = put('r0');
    const second = put('r1');
    expect(producer.writable).toBe(false);
    const third = put('r2');
    expect(producer.recordsInFlight).toBe(2);
    const drained = producer.drain().then(() => events.push('drained'));
    const sequenceNumbers = await Promise.all([first, second, third]);
    await drained;
    expect(events.indexOf('drained')).toBeGreaterThan(Math.min(events.indexOf('r0 acknowledged'), events.indexOf('r1 acknowledged')));
    // The third went out only after room was made: after the first two on the shard.
    expect(BigInt(sequenceNumbers[2]!)).toBeGreaterThan(BigInt(sequenceNumbers[1]!));
    expect(BigInt(sequenceNumbers[1]!)).toBeGreaterThan(BigInt(sequenceNumbers[0]!));
    expect(producer.recordsInFlight).toBe(0);
    expect(producer.writable).toBe(true);
    const { ShardIterator } = await client.call('GetShardIterator', {
      StreamName: 'bounded',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const { Records } = await client.getRecords({ ShardIterator });
    expect(Records.map((record) => Buffer.from(record.Data).toString())).toEqual(['r0', 'r1', 'r2']);
  });
});
