import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consumer, InvalidArgumentException, ResourceNotFoundException, connect, type ShardlineClient } from '../../src/client/node.js';
import { Engine } from '../../src/engine/engine.js';
import { decodeJsonFrame } from '../../src/net/messages/call.js';
import { decodeError } from '../../src/net/messages/error.js';
import { decodeSubscribed, encodeCancel, encodeSubscribe, type SubscribeRequest } from '../../src/net/messages/records.js';
import { FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { ShardlineServer } from '../../src/net/server.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: SUBSCRIBE, CANCEL and END behave as docs/PROTOCOL.md says: a SUBSCRIBE is acknowledged at
// once with where it starts (SUBSCRIBED), or refused; every CANCEL gets an END; each way a
// subscription ends has its reason; AFTER_SEQUENCE_NUMBER "0" starts at a shard's first record;
// and the client builds on the acknowledgement (subscribeToShard resolves with it, the Consumer
// resumes from it). Method: the real engine and server, raw sockets for the frames themselves,
// the real client for what it makes of them.

const SHARD = 'shardId-000000000000';
const text = (data: Uint8Array): string => Buffer.from(data).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

function describeFrame(frame: FrameReader | undefined): unknown {
  if (frame === undefined) return undefined;
  const base = { opcode: frame.opcode, requestId: frame.requestId };
  if (frame.opcode === Opcode.SUBSCRIBED) return { ...base, ...decodeSubscribed(frame) };
  if (frame.opcode === Opcode.END) return { ...base, reason: decodeJsonFrame(frame).reason };
  if (frame.opcode === Opcode.ERROR) return { ...base, code: decodeError(frame).code };
  return base;
}

async function streamWithConsumer(engine: Engine, stream: string): Promise<string> {
  await engine.createStream({ StreamName: stream, ShardCount: 1 });
  const streamARN = engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary.StreamARN as string;
  return (await engine.registerStreamConsumer({ StreamARN: streamARN, ConsumerName: 'c' })).Consumer.ConsumerARN;
}

/** Another consumer of the stream: a consumer subscribes to a shard at most once in 5 s (Kinesis' rule). */
async function anotherConsumer(engine: Engine, stream: string, name: string): Promise<string> {
  const streamARN = engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary.StreamARN;
  return (await engine.registerStreamConsumer({ StreamARN: streamARN, ConsumerName: name })).Consumer.ConsumerARN;
}

async function put(engine: Engine, stream: string, values: string[]): Promise<string[]> {
  const { Records } = await engine.putRecords({
    StreamName: stream,
    Records: values.map((value) => ({ PartitionKey: 'k', Data: bytes(value) })),
  });
  return Records.map((record) => (record as { SequenceNumber: string }).SequenceNumber);
}

describe('protocol: SUBSCRIBE, CANCEL and END', () => {
  let server: TestServer;
  let client: ShardlineClient;
  beforeAll(async () => {
    server = await startTestServer();
    client = await connect(server.url);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('acknowledges a SUBSCRIBE at once with where it starts, before any EVENT', async () => {
    const consumerARN = await streamWithConsumer(server.engine, 'acked');
    const sequenceNumbers = await put(server.engine, 'acked', ['a', 'b', 'c']);
    const socket = await RawSocket.greeted(server.url);
    const secondARN = await anotherConsumer(server.engine, 'acked', 'c2');
    const request = (id: number, ConsumerARN: string, StartingPosition: SubscribeRequest['StartingPosition']): Uint8Array =>
      encodeSubscribe(id, { ConsumerARN, ShardId: SHARD, StartingPosition });
    const latest = (await socket.exchange(request(10, consumerARN, { Type: 'LATEST' })))[0];
    const atSecond = (
      await socket.exchange(request(11, secondARN, { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: sequenceNumbers[1]! }), 2)
    ).map(describeFrame);
    const unknown = (
      await socket.exchange(
        encodeSubscribe(12, {
          ConsumerARN: consumerARN.replace('/consumer/c:', '/consumer/unknown:'),
          ShardId: SHARD,
          StartingPosition: { Type: 'LATEST' },
        }),
      )
    )[0];
    await socket.close();
    expect(describeFrame(latest)).toEqual({ opcode: Opcode.SUBSCRIBED, requestId: 10, shardSerial: 0, startOffset: 3 });
    expect(atSecond).toEqual([
      { opcode: Opcode.SUBSCRIBED, requestId: 11, shardSerial: 0, startOffset: 1 },
      { opcode: Opcode.EVENT, requestId: 11 },
    ]);
    expect(describeFrame(unknown)).toEqual({ opcode: Opcode.ERROR, requestId: 12, code: 'ResourceNotFoundException' });
  });

  it('subscribeToShard resolves once acknowledged, with its shard and position; a refusal rejects it', async () => {
    const consumerARN = await streamWithConsumer(server.engine, 'client-acked');
    const [, last] = await put(server.engine, 'client-acked', ['a', 'b']);
    const subscription = await client.subscribeToShard({ ConsumerARN: consumerARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } });
    expect({ shardId: subscription.shardId, continuation: subscription.continuationSequenceNumber }).toEqual({
      shardId: SHARD,
      continuation: last,
    });
    subscription.cancel();
    await expect(
      client.subscribeToShard({
        ConsumerARN: consumerARN.replace('/consumer/c:', '/consumer/unknown:'),
        ShardId: SHARD,
        StartingPosition: { Type: 'LATEST' },
      }),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.subscribeToShard({
        ConsumerARN: consumerARN,
        ShardId: SHARD,
        StartingPosition: { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: '1' },
      }),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('gives an empty shard the continuation "0", and AFTER_SEQUENCE_NUMBER "0" starts at its first record', async () => {
    const consumerARN = await streamWithConsumer(server.engine, 'from-zero');
    const empty = await client.subscribeToShard({ ConsumerARN: consumerARN, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    const continuation = empty.continuationSequenceNumber;
    empty.cancel();
    await put(server.engine, 'from-zero', ['first', 'second']);
    const secondARN = await anotherConsumer(server.engine, 'from-zero', 'c2');
    const resumed = await client.subscribeToShard({
      ConsumerARN: secondARN,
      ShardId: SHARD,
      StartingPosition: { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation },
    });
    const received: string[] = [];
    for await (const event of resumed) {
      received.push(...event.Records.map((record) => text(record.Data)));
      if (received.length >= 2) break;
    }
    expect({ continuation, received }).toEqual({ continuation: '0', received: ['first', 'second'] });
  });

  it('answers every CANCEL with an END: cancelled for a live subscription, not-subscribed otherwise', async () => {
    const consumerARN = await streamWithConsumer(server.engine, 'cancels');
    await put(server.engine, 'cancels', ['a']);
    const socket = await RawSocket.greeted(server.url);
    const unknown = (await socket.exchange(encodeCancel(20)))[0];
    await socket.exchange(encodeSubscribe(21, { ConsumerARN: consumerARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } }));
    const live = (await socket.exchange(encodeCancel(21)))[0];
    const again = (await socket.exchange(encodeCancel(21)))[0];
    // A subscription that ended by itself: the split ends its shard (EVENT with ChildShards, END).
    const subscribed = socket.received.length;
    const secondARN = await anotherConsumer(server.engine, 'cancels', 'c2');
    socket.send(encodeSubscribe(22, { ConsumerARN: secondARN, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } }));
    await socket.framesFrom(subscribed, 2);
    await server.engine.splitShard({ StreamName: 'cancels', ShardToSplit: SHARD, NewStartingHashKey: (1n << 127n).toString() });
    const ended = (await socket.framesFrom(subscribed, 4)).map(describeFrame).at(-1);
    const afterEnd = (await socket.exchange(encodeCancel(22)))[0];
    const withBody = (await socket.exchange(Uint8Array.from([...encodeCancel(23), 0])))[0];
    await socket.close();
    expect([unknown, live, again].map(describeFrame)).toEqual([
      { opcode: Opcode.END, requestId: 20, reason: 'not-subscribed' },
      { opcode: Opcode.END, requestId: 21, reason: 'cancelled' },
      { opcode: Opcode.END, requestId: 21, reason: 'not-subscribed' },
    ]);
    expect(ended).toEqual({ opcode: Opcode.END, requestId: 22, reason: 'shard-ended' });
    expect(describeFrame(afterEnd)).toEqual({ opcode: Opcode.END, requestId: 22, reason: 'not-subscribed' });
    expect(describeFrame(withBody)).toEqual({ opcode: Opcode.ERROR, requestId: 23, code: ProtocolErrorCode.MALFORMED_FRAME });
  });

  it('ends a subscription with stream-deleted when its stream is deleted, consumer-gone when its consumer is', async () => {
    const deletedARN = await streamWithConsumer(server.engine, 'deleted');
    const goneARN = await streamWithConsumer(server.engine, 'deregistered');
    const onDeleted = await client.subscribeToShard({ ConsumerARN: deletedARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } });
    const onGone = await client.subscribeToShard({ ConsumerARN: goneARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } });
    await server.engine.deleteStream({ StreamName: 'deleted', EnforceConsumerDeletion: true });
    await server.engine.deregisterStreamConsumer({ ConsumerARN: goneARN });
    for await (const _ of onDeleted) {
      // empty heartbeats, until the END
    }
    for await (const _ of onGone) {
      // likewise
    }
    expect([onDeleted.ended, onGone.ended]).toEqual(['stream-deleted', 'consumer-gone']);
  });

  it('a Consumer ends, without reconnecting, when its stream is deleted', async () => {
    const consumerARN = await streamWithConsumer(server.engine, 'consumer-deleted');
    const reading = (async () => {
      for await (const _ of new Consumer(client).subscribe({ consumerARN, shardId: SHARD })) {
        // nothing arrives: the deletion ends it
      }
    })();
    await waitFor(() => server.server.stats().subscriptions > 0);
    await server.engine.deleteStream({ StreamName: 'consumer-deleted', EnforceConsumerDeletion: true });
    await expect(reading).resolves.toBeUndefined();
  });
});

describe('protocol: the Consumer resumes from the acknowledgement', () => {
  it('after a restart before any event, it resumes where LATEST began, missing nothing put meanwhile', async () => {
    const dir = suiteTempDir();
    const options = { dataDir: dir.dir, fsync: 'never', enforceLimits: false, workers: 1 } as const;
    let engine = await Engine.open(options);
    let server = await ShardlineServer.start({ engine, port: 0 });
    const port = server.port;
    const client = await connect(server.url);
    try {
      const consumerARN = await streamWithConsumer(engine, 'latest');
      await put(engine, 'latest', ['before']);
      const received: string[] = [];
      const reading = (async () => {
        for await (const record of new Consumer(client).subscribe({ consumerARN, shardId: SHARD, startingPosition: { Type: 'LATEST' } })) {
          received.push(text(record.Data));
          if (received.includes('after')) break;
        }
      })();
      // SUBSCRIBED goes out in the same turn as the SUBSCRIBE is taken: it precedes the END shutdown.
      await waitFor(() => server.stats().subscriptions === 1);
      await server.stop();
      await engine.close();
      engine = await Engine.open(options);
      await put(engine, 'latest', ['while-down-1', 'while-down-2']);
      server = await ShardlineServer.start({ engine, port });
      await waitFor(() => server.stats().subscriptions === 1);
      await put(engine, 'latest', ['after']);
      await reading;
      expect(received).toEqual(['while-down-1', 'while-down-2', 'after']);
    } finally {
      client.close();
      await server.stop();
      await engine.close();
      dir.remove();
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
