import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentException, Producer, connect, type ShardlineClient } from '../../src/client/node.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the Producer's RateLimit keeps a shard's records under its limit (none throttled), the
// KPL's FailIfThrottled fails a throttled record at once, every result says how many sends it
// took, and a record over Kinesis' limits is refused before it is buffered.
// Method: the real client and Producer against a server enforcing PROVISIONED limits (1,000
// records/s per shard, a one-second burst); the verdicts are the results and the stored records.

describe('Producer: rateLimit, failIfThrottled, attempts, record limits', () => {
  let server: TestServer;
  let client: ShardlineClient;
  let streams = 0;
  beforeAll(async () => {
    server = await startTestServer({ fsync: 'never', enforceLimits: true });
    client = await connect(server.url);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });
  const newStream = async (): Promise<string> => {
    const name = `limited-${streams++}`;
    await client.call('CreateStream', { StreamName: name, ShardCount: 1 });
    return name;
  };
  const stored = async (streamName: string): Promise<number> => {
    const { ShardIterator } = await server.engine.getShardIterator({
      StreamName: streamName,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    return (await server.engine.getRecords({ ShardIterator })).Records.length;
  };
  const putMany = (producer: Producer, streamName: string, count: number) =>
    Promise.allSettled(
      Array.from({ length: count }, (_, i) => producer.put({ streamName, partitionKey: `k${i}`, data: Buffer.from(`r${i}`) })),
    );

  it('at 50 % of the limit, 1,500 records put at once all land at their first attempt', async () => {
    const streamName = await newStream();
    // Without the limit the burst of 1,000 would admit two thirds and throttle the rest.
    const producer = new Producer(client, { rateLimit: 50 });
    const outcomes = await putMany(producer, streamName, 1500);
    const attempts = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.attempts : -1));
    expect(attempts.filter((count) => count !== 1)).toEqual([]);
    expect(await stored(streamName)).toBe(1500);
  });

  it('with failIfThrottled and no rate limit, a throttled record fails at once and the rest are stored', async () => {
    const streamName = await newStream();
    const producer = new Producer(client, { rateLimit: false, failIfThrottled: true, lingerMs: 0 });
    const outcomes = await putMany(producer, streamName, 2500);
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const { reason } of rejected) expect((reason as { code: string }).code).toBe('ProvisionedThroughputExceededException');
    const resolved = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    for (const outcome of resolved) expect(outcome.value.attempts).toBe(1);
    expect(await stored(streamName)).toBe(resolved.length);
  });

  it('refuses a record over the limits before buffering it, naming the limit, and stores the others', async () => {
    const streamName = await newStream();
    const producer = new Producer(client, { rateLimit: false });
    const bad = [
      { partitionKey: '', data: Buffer.from('x'), message: /partitionKey has 1 to 256 characters, got 0/ },
      { partitionKey: 'k'.repeat(257), data: Buffer.from('x'), message: /1 to 256 characters, got 257/ },
      { partitionKey: 'ü', data: Buffer.alloc(1024 * 1024 - 1), message: /at most 1048576 bytes, got 1048577/ },
      { partitionKey: 'k', data: 'text' as unknown as Buffer, message: /must be a Uint8Array/ },
      { partitionKey: 'k', data: Buffer.from('x'), explicitHashKey: '2'.repeat(40), message: /ExplicitHashKey must be a decimal integer/ },
    ];
    const results = await Promise.allSettled([
      producer.put({ streamName, partitionKey: 'good', data: Buffer.from('before') }),
      ...bad.map(({ message: _message, ...record }) => producer.put({ streamName, ...record })),
      producer.put({ streamName, partitionKey: 'good', data: Buffer.alloc(1024 * 1024 - 4) }),
    ]);
    bad.forEach(({ message }, i) => {
      const outcome = results[i + 1]!;
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(InvalidArgumentException);
      expect(reason.message).toMatch(message);
    });
    expect(results[0]!.status).toBe('fulfilled');
    expect(results.at(-1)!.status).toBe('fulfilled');
    expect(producer.recordsInFlight).toBe(0);
    expect(await stored(streamName)).toBe(2);
  });

  it('refuses a rate limit outside 1..10,000 %', () => {
    expect(() => new Producer(client, { rateLimit: 0 })).toThrow(/rateLimit must be a number from 1 to 10000, got 0/);
  });
});
