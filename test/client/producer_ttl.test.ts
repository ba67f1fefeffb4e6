import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, RecordExpiredError, connect, type ShardlineClient } from '../../src/client/node.js';
import { ProvisionedThroughputExceededException } from '../../src/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: a record still being retried when its recordTtlMs passes fails once, with a typed
// RecordExpiredError whose cause is the last failure, and every record that resolved is stored.
// Method: the real client and Producer against a server enforcing PROVISIONED limits: 5,000
// records put at once into one shard (1,000 records/s) with a TTL of 100 ms cannot all get in
// before they expire; the verdict is the kind of every rejection and the stored records.

describe('Producer: recordTtlMs', () => {
  let server: TestServer;
  let client: ShardlineClient;
  beforeAll(async () => {
    server = await startTestServer({ fsync: 'never', enforceLimits: true });
    client = await connect(server.url);
    await client.call('CreateStream', { StreamName: 'ttl', ShardCount: 1 });
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('fails throttled records that outlive their TTL with RecordExpiredError and stores the rest', async () => {
    expect(() => new Producer(client, { recordTtlMs: 99 })).toThrow(/recordTtlMs must be a number from 100/);
    // No rate limit: the records are throttled by the server, and retried until they expire.
    const producer = new Producer(client, { recordTtlMs: 100, maxAttempts: 1000, rateLimit: false });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5000 }, (_, i) => producer.put({ streamName: 'ttl', partitionKey: 'k', data: Buffer.from(`r${i}`) })),
    );
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const { reason } of rejected) {
      expect(reason).toBeInstanceOf(RecordExpiredError);
      expect((reason as RecordExpiredError).code).toBe('RecordExpired');
      expect((reason as Error).cause).toBeInstanceOf(Error);
      expect(((reason as Error).cause as { code?: string }).code).toBe(new ProvisionedThroughputExceededException('').code);
    }
    const resolved = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    const { ShardIterator } = await server.engine.getShardIterator({
      StreamName: 'ttl',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    expect((await server.engine.getRecords({ ShardIterator })).Records).toHaveLength(resolved);
  });
});
