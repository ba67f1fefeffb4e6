import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeError } from '../../src/net/messages/error.js';
import { encodeCancel, encodeSubscribe } from '../../src/net/messages/records.js';
import { FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { startTestServer, streamWithConsumers, type TestServer } from '../helpers/server.js';

// Goal: a connection holds at most IN_FLIGHT_MAX (256) requests in flight, as docs/PROTOCOL.md
// says: the 256th is taken, the 257th is refused with TooManyRequests (retriable), and a slot
// freed by a settled request is taken again. Method: subscriptions stay in flight until they end,
// so SUBSCRIBE frames over one raw socket to the real server fill the connection exactly.

/**
 * The documented value, written out rather than read from src/limits.ts: a test that imported the
 * constant would move with any change of it.
 */
const IN_FLIGHT_MAX = 256;
const STREAM = 'in-flight';
/** 20 consumers (Kinesis' most) on 26 shards: a distinct consumer and shard for each of 520 subscriptions (one each in 5 s). */
const CONSUMERS = 20;
const SHARDS = 26;
const WAIT_MS = 10_000;

describe('overload: requests in flight per connection', () => {
  let server: TestServer;
  let consumerARNs: string[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    consumerARNs = await streamWithConsumers(server.engine, STREAM, SHARDS, CONSUMERS);
  });
  afterAll(() => server.stop());

  it(`takes the ${IN_FLIGHT_MAX}th request in flight and refuses the next with TooManyRequests`, async () => {
    const socket = await RawSocket.greeted(server.url);
    const subscribe = (id: number): Uint8Array =>
      encodeSubscribe(id, {
        ConsumerARN: consumerARNs[id % CONSUMERS]!,
        ShardId: `shardId-${String(Math.floor(id / CONSUMERS) % SHARDS).padStart(12, '0')}`,
        StartingPosition: { Type: 'LATEST' },
      });
    // Twice the limit, so that a doubled limit shows too; ids from 2 (HELLO took 1).
    const ids = Array.from({ length: 2 * IN_FLIGHT_MAX }, (_, i) => i + 2);
    for (const id of ids) socket.send(subscribe(id));
    const frames = (): FrameReader[] => socket.received.slice(1).map((message) => new FrameReader(message.bytes));
    expect(await socket.waitUntil(() => socket.received.length > ids.length || socket.closeEvent !== null, WAIT_MS)).toBe(true);
    const refused = frames().filter((frame) => frame.opcode === Opcode.ERROR);
    const acknowledged = frames().filter((frame) => frame.opcode === Opcode.SUBSCRIBED);
    expect(acknowledged.map((frame) => frame.requestId)).toEqual(ids.slice(0, IN_FLIGHT_MAX));
    expect(refused.map((frame) => frame.requestId)).toEqual(ids.slice(IN_FLIGHT_MAX));
    for (const frame of refused)
      expect(decodeError(frame)).toEqual({
        code: ProtocolErrorCode.TOO_MANY_REQUESTS,
        message: `at most ${IN_FLIGHT_MAX} requests in flight per connection`,
        retriable: true,
      });
    expect(server.server.stats().requestsInFlight).toBe(IN_FLIGHT_MAX);

    // One subscription cancelled (its END settles it) frees one slot, and only one.
    const before = socket.received.length;
    socket.send(encodeCancel(ids[0]!));
    await socket.waitUntil(() => socket.received.length > before, WAIT_MS);
    const retry = ids.slice(IN_FLIGHT_MAX, IN_FLIGHT_MAX + 2);
    for (const id of retry) socket.send(subscribe(id));
    const answers = await socket.framesFrom(before + 1, retry.length);
    expect(answers.map((frame) => [frame.requestId, frame.opcode])).toEqual([
      [retry[0], Opcode.SUBSCRIBED],
      [retry[1], Opcode.ERROR],
    ]);
    await socket.close();
  });
});
