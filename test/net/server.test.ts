import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import fs from 'node:fs';
import { ClientClosedError, Consumer, ConnectionError, Producer, connect, type ShardlineClient } from '../../src/client/node.js';
import {
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
  InvalidArgumentException,
  ExpiredIteratorException,
} from '../../src/errors.js';
import { decodeError } from '../../src/net/messages/error.js';
import { encodeHello } from '../../src/net/messages/hello.js';
import { encodeSubscribe } from '../../src/net/messages/records.js';
import { FrameReader, Opcode, PROTOCOL_VERSION } from '../../src/net/protocol.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: every way into the server works over real sockets, as docs/PROTOCOL.md says: control
// calls, the binary put and read paths, subscriptions, errors, backpressure, many connections
// and shutdown. Method: a real engine behind the real uWS server on 127.0.0.1, driven by the
// real client (and raw `ws` sockets where the client would hide what is tested).

const text = (data: Uint8Array): string => Buffer.from(data).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

async function readShard(client: ShardlineClient, stream: string, shardId: string): Promise<string[]> {
  let { ShardIterator } = await client.call('GetShardIterator', {
    StreamName: stream,
    ShardId: shardId,
    ShardIteratorType: 'TRIM_HORIZON',
  });
  const out: string[] = [];
  for (let calls = 0; calls < 1000; calls++) {
    const result = await client.getRecords({ ShardIterator, Limit: 1000 });
    out.push(...result.Records.map((record) => text(record.Data)));
    if (result.NextShardIterator === undefined || result.Records.length === 0) break;
    ShardIterator = result.NextShardIterator;
  }
  return out;
}

async function streamArn(client: ShardlineClient, stream: string): Promise<string> {
  return (await client.call('DescribeStreamSummary', { StreamName: stream })).StreamDescriptionSummary.StreamARN as string;
}

/** A raw socket that has shaken hands: for what the client library would not send. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; frames: FrameReader[]; next: () => Promise<FrameReader> }> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const frames: FrameReader[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: ArrayBuffer) => {
    frames.push(new FrameReader(new Uint8Array(data)));
    wake?.();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = async (): Promise<FrameReader> => {
    while (frames.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return frames.shift()!;
  };
  ws.send(encodeHello(1, { version: PROTOCOL_VERSION, clientName: 'raw' }));
  expect((await next()).opcode).toBe(Opcode.HELLO_OK);
  return { ws, frames, next };
}

describe('server: control calls, puts and reads over the WebSocket', () => {
  let server: TestServer;
  let client: ShardlineClient;
  beforeAll(async () => {
    server = await startTestServer();
    client = await connect(server.url);
    await client.call('CreateStream', { StreamName: 'orders', ShardCount: 3 });
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('answers control operations with the Kinesis shapes, dates and all', async () => {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: 'orders' });
    expect(StreamDescriptionSummary).toMatchObject({ StreamName: 'orders', OpenShardCount: 3, StreamStatus: 'ACTIVE' });
    expect(StreamDescriptionSummary.StreamCreationTimestamp).toBeInstanceOf(Date);
    expect((await client.call('ListStreams', {})).StreamNames).toContain('orders');
    expect((await client.call('ListShards', { StreamName: 'orders' })).Shards.map((shard) => shard.ShardId)).toEqual([
      'shardId-000000000000',
      'shardId-000000000001',
      'shardId-000000000002',
    ]);
    await client.call('AddTagsToStream', { StreamName: 'orders', Tags: { team: 'billing' } });
    expect((await client.call('ListTagsForStream', { StreamName: 'orders' })).Tags).toEqual([{ Key: 'team', Value: 'billing' }]);
  });

  it('turns engine errors into the same typed errors on the client', async () => {
    await expect(client.call('DescribeStream', { StreamName: 'missing' })).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.call('CreateStream', { StreamName: 'orders', ShardCount: 1 })).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(client.call('CreateStream', { StreamName: 'bad name', ShardCount: 1 })).rejects.toBeInstanceOf(ValidationException);
    await expect(client.getRecords({ ShardIterator: 'forged' })).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(client.putRecords('orders', [{ partitionKey: 'k', data: new Uint8Array(1024 * 1024) }])).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(client.putRecords('missing', [{ partitionKey: 'k', data: bytes('x') }])).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.putRecords('orders', [{ partitionKey: 'k', data: bytes('x'), explicitHashKey: '-1' }])).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
  });

  it('puts on the binary path route by MD5 as the engine does, with sequence numbers the reads agree on', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ partitionKey: `user-${i % 13}`, data: bytes(`event-${i}`) }));
    const results = await client.putRecords('orders', records);
    const embedded = await server.engine.putRecords({ StreamName: 'orders', Records: [{ PartitionKey: 'user-5', Data: bytes('probe') }] });
    const byKey = new Map(records.map((record, i) => [record.partitionKey, results[i]!]));
    expect((byKey.get('user-5') as { shardId: string }).shardId).toBe((embedded.Records[0] as { ShardId: string }).ShardId);
    for (const shard of ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']) {
      const expected = records.filter((_, i) => (results[i] as { shardId: string }).shardId === shard).map((record) => text(record.data));
      const read = (await readShard(client, 'orders', shard)).filter((value) => value.startsWith('event-'));
      expect(read).toEqual(expected);
    }
    const sequenceNumbers = results.map((result) => (result as { sequenceNumber: string }).sequenceNumber);
    expect(sequenceNumbers.every((s) => /^\d{56}$/.test(s))).toBe(true);
    expect(new Set(sequenceNumbers).size).toBe(200);
  });

  it('routes by ExplicitHashKey, stores it, and CALL PutRecords with base64 data works too', async () => {
    const [last] = await client.putRecords('orders', [
      { partitionKey: 'x', data: bytes('explicit'), explicitHashKey: '340282366920938463463374607431768211455' },
    ]);
    expect(last).toMatchObject({ shardId: 'shardId-000000000002' });
    const viaCall = await client.call('PutRecords', {
      StreamName: 'orders',
      Records: [{ PartitionKey: 'p', Data: bytes('via-call'), ExplicitHashKey: '0' }],
    });
    expect(viaCall.Records[0]).toMatchObject({ ShardId: 'shardId-000000000000' });
    expect(await readShard(client, 'orders', 'shardId-000000000000')).toContain('via-call');
  });

  it('pages GetRecords with Limit, resuming mid-batch, and ends a closed shard with its children', async () => {
    await client.call('CreateStream', { StreamName: 'paged', ShardCount: 1 });
    await client.putRecords(
      'paged',
      Array.from({ length: 25 }, (_, i) => ({ partitionKey: 'k', data: bytes(`r${i}`) })),
    );
    let { ShardIterator } = await client.call('GetShardIterator', {
      StreamName: 'paged',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const seen: string[] = [];
    for (let page = 0; page < 5; page++) {
      const result = await client.getRecords({ ShardIterator, Limit: 7 });
      seen.push(...result.Records.map((record) => text(record.Data)));
      ShardIterator = result.NextShardIterator!;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`));
    await client.call('SplitShard', {
      StreamName: 'paged',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: (1n << 127n).toString(),
    });
    const end = await client.getRecords({ ShardIterator });
    expect(end.NextShardIterator).toBeUndefined();
    expect((end.ChildShards as Array<{ ShardId: string }>).map((child) => child.ShardId)).toEqual([
      'shardId-000000000001',
      'shardId-000000000002',
    ]);
  });

  it('reports a throttled record alone, as Kinesis does, when a PROVISIONED stream is over its limit', async () => {
    const limited = await startTestServer({ enforceLimits: true });
    const limitedClient = await connect(limited.url);
    try {
      await limitedClient.call('CreateStream', { StreamName: 'slow', ShardCount: 1 });
      // 1,000 records/s per shard with a one-second burst: 1,500 at once cannot all fit.
      const results = [
        ...(await limitedClient.putRecords(
          'slow',
          Array.from({ length: 500 }, () => ({ partitionKey: 'k', data: bytes('x') })),
        )),
        ...(await limitedClient.putRecords(
          'slow',
          Array.from({ length: 500 }, () => ({ partitionKey: 'k', data: bytes('x') })),
        )),
        ...(await limitedClient.putRecords(
          'slow',
          Array.from({ length: 500 }, () => ({ partitionKey: 'k', data: bytes('x') })),
        )),
      ];
      const throttled = results.filter((result) => 'errorCode' in result);
      expect(throttled.length).toBeGreaterThan(0);
      expect(throttled[0]).toMatchObject({ errorCode: new ProvisionedThroughputExceededException('').code, retriable: true });
      const stored = (await readShardEngine(limited, 'slow')).length;
      expect(stored).toBe(results.length - throttled.length);
    } finally {
      limitedClient.close();
      await limited.stop();
    }
  });

  it('rejects an expired iterator with ExpiredIteratorException', async () => {
    let now = Date.now();
    const timed = await startTestServer({ clock: () => now });
    const timedClient = await connect(timed.url);
    try {
      await timedClient.call('CreateStream', { StreamName: 't', ShardCount: 1 });
      const { ShardIterator } = await timedClient.call('GetShardIterator', {
        StreamName: 't',
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'LATEST',
      });
      now += 6 * 60_000;
      await expect(timedClient.getRecords({ ShardIterator })).rejects.toBeInstanceOf(ExpiredIteratorException);
    } finally {
      timedClient.close();
      await timed.stop();
    }
  });
});

async function readShardEngine(server: TestServer, stream: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of server.engine.listShards({ StreamName: stream }).Shards) {
    let { ShardIterator } = await server.engine.getShardIterator({
      StreamName: stream,
      ShardId: shard.ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    for (let calls = 0; calls < 10_000; calls++) {
      let result;
      try {
        result = await server.engine.getRecords({ ShardIterator });
      } catch (error) {
        if (error instanceof ProvisionedThroughputExceededException) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        throw error;
      }
      out.push(...result.Records.map((record) => text(record.Data)));
      if (result.NextShardIterator === undefined || result.Records.length === 0) break;
      ShardIterator = result.NextShardIterator;
    }
  }
  return out;
}

describe('server: subscriptions', () => {
  let server: TestServer;
  let client: ShardlineClient;
  let consumerARN: string;
  beforeAll(async () => {
    server = await startTestServer();
    client = await connect(server.url);
    await client.call('CreateStream', { StreamName: 'events', ShardCount: 1 });
    consumerARN = (await client.call('RegisterStreamConsumer', { StreamARN: await streamArn(client, 'events'), ConsumerName: 'c' }))
      .Consumer.ConsumerARN;
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('pushes records as they are committed, with continuation sequence numbers, and stops on cancel', async () => {
    const subscription = await client.subscribeToShard({
      ConsumerARN: consumerARN,
      ShardId: 'shardId-000000000000',
      StartingPosition: { Type: 'LATEST' },
    });
    const received: string[] = [];
    let continuation = '';
    const reading = (async () => {
      for await (const event of subscription) {
        received.push(...event.Records.map((record) => text(record.Data)));
        continuation = event.ContinuationSequenceNumber;
        if (received.length >= 3) break;
      }
    })();
    await waitFor(() => server.server.stats().subscriptions === 1);
    const results = await client.putRecords(
      'events',
      ['a', 'b', 'c'].map((value) => ({ partitionKey: 'k', data: bytes(value) })),
    );
    await reading;
    expect(received).toEqual(['a', 'b', 'c']);
    expect(continuation).toBe((results[2] as { sequenceNumber: string }).sequenceNumber);
    expect(subscription.ended).toBe('cancelled');
    await waitFor(() => server.server.stats().subscriptions === 0);
  });

  it('leaving a stream subscription cancels every shard at once, even shards with nothing arriving', async () => {
    await client.call('CreateStream', { StreamName: 'quiet', ShardCount: 2 });
    const arn = (await client.call('RegisterStreamConsumer', { StreamARN: await streamArn(client, 'quiet'), ConsumerName: 'q' })).Consumer
      .ConsumerARN;
    await client.putRecords('quiet', [{ partitionKey: 'one', data: bytes('only') }]);
    const before = server.server.stats().subscriptions;
    for await (const record of new Consumer(client).subscribeStream({
      streamName: 'quiet',
      consumerARN: arn,
      startingPosition: { Type: 'TRIM_HORIZON' },
    })) {
      expect(text(record.Data)).toBe('only');
      break;
    }
    await waitFor(() => server.server.stats().subscriptions === before);
  });

  it('a consumer whose client is closed ends with ClientClosedError instead of reconnecting', async () => {
    const closing = await connect(server.url);
    const iteration = (async () => {
      for await (const _ of new Consumer(closing).subscribe({ consumerARN, shardId: 'shardId-000000000000' })) {
        // nothing arrives: the close ends it
      }
    })();
    await waitFor(() => server.server.stats().subscriptions >= 1);
    closing.close();
    await expect(iteration).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('a consumer follows the children of a split, in order, without losing or repeating a record', async () => {
    await client.call('CreateStream', { StreamName: 'resharded', ShardCount: 1 });
    const arn = (await client.call('RegisterStreamConsumer', { StreamARN: await streamArn(client, 'resharded'), ConsumerName: 'follower' }))
      .Consumer.ConsumerARN;
    const producer = new Producer(client, { lingerMs: 1 });
    const keys = ['a', 'b', 'c', 'd'];
    const put = (from: number, to: number): Promise<unknown> =>
      Promise.all(
        Array.from({ length: to - from }, (_, i) =>
          producer.put({
            streamName: 'resharded',
            partitionKey: keys[(from + i) % 4]!,
            data: bytes(`${keys[(from + i) % 4]}:${from + i}`),
          }),
        ),
      );
    await put(0, 40);
    const received: string[] = [];
    const reading = (async () => {
      for await (const record of new Consumer(client).subscribe({
        consumerARN: arn,
        shardId: 'shardId-000000000000',
        startingPosition: { Type: 'TRIM_HORIZON' },
      })) {
        received.push(text(record.Data));
        if (received.length === 120) break;
      }
    })();
    await put(40, 80);
    await client.call('SplitShard', {
      StreamName: 'resharded',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: (1n << 127n).toString(),
    });
    await put(80, 120);
    await reading;
    expect(new Set(received).size).toBe(120);
    for (const key of keys) {
      const numbers = received.filter((value) => value.startsWith(`${key}:`)).map((value) => Number(value.split(':')[1]));
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    }
  });

  it('resumes after the server restarts, from the last record delivered', async () => {
    const first = await startTestServer();
    const port = first.server.port;
    const dataDir = first.dataDir;
    const resilient = await connect(first.url);
    await resilient.call('CreateStream', { StreamName: 'r', ShardCount: 1 });
    const arn = (await resilient.call('RegisterStreamConsumer', { StreamARN: await streamArn(resilient, 'r'), ConsumerName: 'c' })).Consumer
      .ConsumerARN;
    await resilient.putRecords(
      'r',
      ['1', '2', '3'].map((value) => ({ partitionKey: 'k', data: bytes(value) })),
    );
    const received: string[] = [];
    let second: TestServer | null = null;
    const reading = (async () => {
      for await (const record of new Consumer(resilient).subscribe({
        consumerARN: arn,
        shardId: 'shardId-000000000000',
        startingPosition: { Type: 'TRIM_HORIZON' },
      })) {
        received.push(text(record.Data));
        if (received.length === 6) break;
      }
    })();
    try {
      await waitFor(() => received.length === 3);
      await first.server.stop();
      await first.engine.close();
      const engine = await (
        await import('../../src/engine/engine.js')
      ).Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1 });
      const restarted = await (await import('../../src/net/server.js')).ShardlineServer.start({ engine, port });
      second = {
        engine,
        server: restarted,
        url: restarted.url,
        dataDir,
        stop: async () => (await restarted.stop(), await engine.close(), fs.rmSync(dataDir, { recursive: true, force: true })),
      };
      await engine.putRecords({ StreamName: 'r', Records: ['4', '5', '6'].map((value) => ({ PartitionKey: 'k', Data: bytes(value) })) });
      await reading;
      expect(received).toEqual(['1', '2', '3', '4', '5', '6']);
    } finally {
      resilient.close();
      await second?.stop();
    }
  });

  it('a subscriber that stops reading holds back only itself: server memory stays bounded, others are served', async () => {
    await client.call('CreateStream', { StreamName: 'flood', ShardCount: 1 });
    const arn = (await client.call('RegisterStreamConsumer', { StreamARN: await streamArn(client, 'flood'), ConsumerName: 'stuck' }))
      .Consumer.ConsumerARN;
    const stuck = await rawSocket(server.url);
    stuck.ws.send(encodeSubscribe(7, { ConsumerARN: arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
    stuck.ws.pause(); // stops reading from the TCP socket: the server's sends back up
    const payload = new Uint8Array(64 * 1024).fill(7);
    for (let round = 0; round < 64; round++) {
      await client.putRecords(
        'flood',
        Array.from({ length: 16 }, (_, i) => ({ partitionKey: `k${i}`, data: payload })),
      );
    }
    // 64 MiB were put; the stuck connection may hold its high water mark plus one event
    // (GetRecords' 10 MiB at most), never the whole stream.
    await waitFor(() => server.server.stats().unsentBytesMax > 0);
    const { unsentBytesMax } = server.server.stats();
    expect(unsentBytesMax).toBeLessThan(12 * 1024 * 1024);
    // Everyone else is served meanwhile.
    const other = await connect(server.url);
    expect((await other.putRecords('events', [{ partitionKey: 'k', data: bytes('still served') }]))[0]).toHaveProperty('sequenceNumber');
    other.close();
    stuck.ws.terminate();
  });
});

describe('server: connections, protocol errors and shutdown', () => {
  it('serves 1,000 concurrent connections', async () => {
    const server = await startTestServer();
    const clients: ShardlineClient[] = [];
    try {
      const setup = await connect(server.url);
      await setup.call('CreateStream', { StreamName: 'many', ShardCount: 4 });
      setup.close();
      for (let i = 0; i < 1000; i += 100) clients.push(...(await Promise.all(Array.from({ length: 100 }, () => connect(server.url)))));
      expect(server.server.connectionCount).toBe(1000);
      const results = await Promise.all(
        clients.map((client, i) => client.putRecords('many', [{ partitionKey: `c${i}`, data: bytes(`from-${i}`) }])),
      );
      expect(results.every(([result]) => result !== undefined && 'sequenceNumber' in result)).toBe(true);
      const stored = (await readShardEngine(server, 'many')).sort();
      expect(stored).toEqual(Array.from({ length: 1000 }, (_, i) => `from-${i}`).sort());
    } finally {
      for (const client of clients) client.close();
      await server.stop();
    }
  }, 120_000);

  it('answers frames before HELLO, and a wrong version, with an error and the documented close code', async () => {
    const server = await startTestServer();
    try {
      const closeOf = async (first: Uint8Array): Promise<{ code: number; error: string }> => {
        const ws = new WebSocket(server.url);
        ws.binaryType = 'arraybuffer';
        let error = '';
        ws.on('message', (data: ArrayBuffer) => {
          const reader = new FrameReader(new Uint8Array(data));
          if (reader.opcode === Opcode.ERROR) error = decodeError(reader).code;
        });
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(first);
        const code = await new Promise<number>((resolve) => ws.once('close', resolve));
        return { code, error };
      };
      expect(await closeOf(encodeSubscribe(1, { ConsumerARN: 'x', ShardId: 'y', StartingPosition: { Type: 'LATEST' } }))).toEqual({
        code: 4001,
        error: 'HandshakeRequired',
      });
      expect(await closeOf(encodeHello(1, { version: 99, clientName: 'future' }))).toEqual({ code: 4002, error: 'UnsupportedVersion' });
    } finally {
      await server.stop();
    }
  });

  it('shutdown answers the writes in flight, and every acknowledged record is there after reopening', async () => {
    const server = await startTestServer({ fsync: 'always' });
    const client = await connect(server.url);
    await client.call('CreateStream', { StreamName: 'busy', ShardCount: 2 });
    const acknowledged: string[] = [];
    let failed = 0;
    const puts = Array.from({ length: 200 }, (_, i) =>
      client.putRecords('busy', [{ partitionKey: `k${i}`, data: bytes(`w${i}`) }]).then(
        ([result]) => {
          if (result !== undefined && 'sequenceNumber' in result) acknowledged.push(`w${i}`);
        },
        (error: unknown) => {
          expect(error instanceof ConnectionError || (error as { code?: string }).code === 'ShuttingDown').toBe(true);
          failed++;
        },
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await server.server.stop();
    await Promise.all(puts);
    expect(acknowledged.length + failed).toBe(200);
    await server.engine.close();
    const { Engine } = await import('../../src/engine/engine.js');
    const reopened = await Engine.open({ dataDir: server.dataDir, workers: 1 });
    try {
      const stored = new Set(await readShardEngine({ ...server, engine: reopened }, 'busy'));
      for (const value of acknowledged) expect(stored.has(value)).toBe(true);
    } finally {
      await reopened.close();
      client.close();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('server: backpressure from producers', () => {
  it('tells a producer faster than the disk to slow down (retriable), storing nothing of the refused puts', async () => {
    const { Engine } = await import('../../src/engine/engine.js');
    const { ShardlineServer } = await import('../../src/net/server.js');
    const { suiteTempDir } = await import('../helpers/temp_dir.js');
    const dir = suiteTempDir();
    const engine = await Engine.open({ dataDir: dir.dir, fsync: 'always', enforceLimits: false, workers: 1 });
    const server = await ShardlineServer.start({ engine, port: 0, writeBytesInFlightMax: 1024 * 1024 });
    const client = await connect(server.url);
    try {
      await client.call('CreateStream', { StreamName: 'fast', ShardCount: 1 });
      // Twenty puts of 400 KiB at once against 1 MiB in flight: each waits for an fdatasync.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          client.putRecords('fast', [{ partitionKey: `k${i}`, data: new Uint8Array(400 * 1024).fill(i) }]),
        ),
      );
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(refused.length).toBeGreaterThan(0);
      for (const outcome of refused) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'SlowDown', retriable: true });
      const stored = await readShardEngine({ engine } as TestServer, 'fast');
      expect(stored.length).toBe(20 - refused.length);
      // A producer retries SlowDown with backoff: everything gets in, each record once.
      const producer = new Producer(client, { lingerMs: 0 });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          producer.put({ streamName: 'fast', partitionKey: `p${i}`, data: new Uint8Array(400 * 1024).fill(100 + i) }),
        ),
      );
      const fills = (await readShardEngine({ engine } as TestServer, 'fast')).map((value) => value.charCodeAt(0)).sort((a, b) => a - b);
      const acceptedFirst = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
      expect(fills).toEqual([...acceptedFirst, ...Array.from({ length: 20 }, (_, i) => 100 + i)]);
    } finally {
      client.close();
      await server.stop();
      await engine.close();
      dir.remove();
    }
  });
});
