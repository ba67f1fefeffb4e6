import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeError } from '../../src/net/messages/error.js';
import { encodeGetRecords, encodeSubscribe } from '../../src/net/messages/records.js';
import { FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { settledUnsentBytes, startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the two limits on what a connection that does not read can make the server hold, each at
// the value docs/PROTOCOL.md documents: a subscription's events pause once 1 MiB is unsent
// (SUBSCRIPTION_HIGH_WATER_BYTES), and GetRecords is refused with SlowDown once 8 MiB is unsent
// (READ_BACKPRESSURE_BYTES). Method: a raw socket that stops reading from its TCP socket, the real
// uWS server, and the server's own count of the bytes it holds unsent (stats()).

/** The documented values, written out: a test that imported src/limits.ts would move with it. */
const MIB = 1024 * 1024;
const SUBSCRIPTION_HIGH_WATER_BYTES = MIB;
const READ_BACKPRESSURE_BYTES = 8 * MIB;
const SHARD = 'shardId-000000000000';
const WAIT_MS = 10_000;

/** A shard's records are all returned by one GetRecords: one RECORDS answer of about RECORDS_BYTES. */
const RECORDS_BYTES = MIB;
const GETS = 48;

/** Small batches, so that an event (one batch or a few) moves the unsent count by little. */
const BATCH_BYTES = 32 * 1024;
const BATCHES = 640;

describe('overload: a connection that does not read', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('refuses GetRecords with SlowDown at the first request past 8 MiB unsent, not before', async () => {
    const stream = 'slow-down';
    await server.engine.createStream({ StreamName: stream, ShardCount: 1 });
    const quarter = new Uint8Array(RECORDS_BYTES / 4).fill(7);
    await server.engine.putRecords({ StreamName: stream, Records: [0, 1, 2, 3].map(() => ({ PartitionKey: 'k', Data: quarter })) });
    const { ShardIterator } = await server.engine.getShardIterator({
      StreamName: stream,
      ShardId: SHARD,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const socket = await RawSocket.greeted(server.url);
    socket.pause();
    for (let id = 2; id < 2 + GETS; id++) socket.send(encodeGetRecords(id, ShardIterator!, 10_000));
    await settledUnsentBytes(server.server);
    socket.resume();
    const answers = await socket.framesFrom(1, GETS);
    expect(answers).toHaveLength(GETS);
    const first = answers.findIndex((frame) => frame.opcode === Opcode.ERROR);
    expect(first).toBeGreaterThan(0);
    const records = answers.slice(0, first);
    const recordsBytes = Math.max(...socket.received.slice(1, 1 + first).map((message) => message.bytes.length));
    expect(records.every((frame) => frame.opcode === Opcode.RECORDS)).toBe(true);
    expect(answers.slice(first).every((frame) => frame.opcode === Opcode.ERROR)).toBe(true);
    const refusal = decodeError(answers[first]!);
    expect(refusal).toMatchObject({ code: ProtocolErrorCode.SLOW_DOWN, retriable: true });
    // The refusal names what the connection held: past the limit by less than the one answer
    // that took it over (a smaller limit would refuse lower, a larger one higher).
    const unsent = Number(/has (\d+) bytes unsent/.exec(refusal.message)![1]);
    expect(unsent).toBeGreaterThan(READ_BACKPRESSURE_BYTES);
    expect(unsent).toBeLessThanOrEqual(READ_BACKPRESSURE_BYTES + recordsBytes);
    await socket.close();
  });

  it("pauses a subscription's events once 1 MiB is unsent, one event past it at most", async () => {
    const stream = 'paused';
    await server.engine.createStream({ StreamName: stream, ShardCount: 1 });
    const { StreamARN } = server.engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary;
    const { ConsumerARN } = (await server.engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c' })).Consumer;
    const socket = await RawSocket.greeted(server.url);
    socket.pause();
    socket.send(encodeSubscribe(2, { ConsumerARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } }));
    await settledUnsentBytes(server.server);
    const data = new Uint8Array(BATCH_BYTES).fill(3);
    // One batch at a time, each committed before the next: the subscription sends them as they come.
    for (let i = 0; i < BATCHES; i++) await server.engine.putRecord({ StreamName: stream, PartitionKey: 'k', Data: data });
    const unsent = await settledUnsentBytes(server.server);
    expect(unsent).toBeGreaterThan(SUBSCRIPTION_HIGH_WATER_BYTES);
    // An event holds the batches committed since the last one: a few at most, far below 1 MiB.
    expect(unsent).toBeLessThanOrEqual(SUBSCRIPTION_HIGH_WATER_BYTES + 16 * BATCH_BYTES);
    socket.resume();
    // Reading again, the subscription resumes and delivers everything.
    const delivered = (): number =>
      socket.received
        .map((message) => new FrameReader(message.bytes))
        .filter((frame) => frame.opcode === Opcode.EVENT)
        .reduce((sum, frame) => sum + frame.remaining, 0);
    expect(await socket.waitUntil(() => delivered() >= BATCHES * BATCH_BYTES, WAIT_MS)).toBe(true);
    await socket.close();
  });
});
