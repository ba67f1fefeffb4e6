import { afterAll, describe, expect, it } from 'vitest';
import { HashKeys } from '../../src/client/hash_keys.js';
import { Engine } from '../../src/engine/engine.js';
import { decodeJsonFrame } from '../../src/net/messages/call.js';
import { decodeError } from '../../src/net/messages/error.js';
import { PutFrameBuilder } from '../../src/net/messages/put.js';
import { encodeSubscribe } from '../../src/net/messages/records.js';
import { CloseCode, EndReason, FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { ShardlineServer } from '../../src/net/server.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: a graceful stop as docs/PROTOCOL.md describes it: the writes in flight when the server
// stops are answered, every acknowledged record is there after the engine is reopened, PUTs read
// after the stop began get ShuttingDown and store nothing, subscriptions end with END "shutdown" and the connection closes with 1001.
// Method: a raw socket keeps PUTS_IN_FLIGHT PUTs in flight on the real server (fsync "always"),
// sending one more per answer; the server is stopped in a turn where it holds writes in flight,
// with acknowledged ones behind it; then the engine is closed, reopened, and read.

const STREAM = 'stopping';
const SHARD = 'shardId-000000000000';
const PUTS_IN_FLIGHT = 16;
const ACKNOWLEDGED_BEFORE_STOP = 20;
const WAIT_MS = 20_000;
const hashKeys = new HashKeys();
const valueOf = (id: number): string => `put-${id}`;

function putFrame(id: number): Uint8Array {
  const builder = new PutFrameBuilder(STREAM);
  builder.add(`k${id}`, Buffer.from(valueOf(id)), hashKeys.of(`k${id}`));
  return builder.finish(id).slice();
}

async function storedValues(engine: Engine): Promise<Set<string>> {
  const { ShardIterator } = await engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' });
  return new Set((await engine.getRecords({ ShardIterator })).Records.map((record) => Buffer.from(record.Data).toString()));
}

describe('overload: a graceful stop', () => {
  const dir = suiteTempDir();
  afterAll(() => dir.remove());

  it('answers the writes in flight, keeps every acknowledged one, ends subscriptions and closes with 1001', async () => {
    const engine = await Engine.open({ dataDir: dir.dir, fsync: 'always', enforceLimits: false, workers: 1 });
    await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
    const { StreamARN } = engine.describeStreamSummary({ StreamName: STREAM }).StreamDescriptionSummary;
    const { ConsumerARN } = (await engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c' })).Consumer;
    const server = await ShardlineServer.start({ engine, port: 0 });
    const socket = await RawSocket.greeted(server.url);
    const subscriptionId = 2;
    await socket.exchange(encodeSubscribe(subscriptionId, { ConsumerARN, ShardId: SHARD, StartingPosition: { Type: 'LATEST' } }));

    const acknowledged: number[] = [];
    const refused: number[] = [];
    let acknowledgedAfterStop = 0;
    let inFlightAtStop = 0;
    let stopped: Promise<void> | null = null;
    let sent = 0;
    let end: Record<string, unknown> | null = null;
    const sendPut = (): void => socket.send(putFrame(subscriptionId + 1 + sent++));
    socket.onMessage = ({ bytes }) => {
      const frame = new FrameReader(bytes);
      if (frame.opcode === Opcode.END) end = decodeJsonFrame(frame);
      if (frame.requestId === subscriptionId) return;
      if (frame.opcode === Opcode.PUT_RESULT) {
        acknowledged.push(frame.requestId);
        if (stopped !== null) acknowledgedAfterStop++;
      } else if (frame.opcode === Opcode.ERROR) {
        expect(decodeError(frame)).toMatchObject({ code: ProtocolErrorCode.SHUTTING_DOWN, retriable: true });
        refused.push(frame.requestId);
      }
      // Nothing more once the stop began: uWS closing a connection with unread bytes resets it,
      // and the client then loses the close frame (1006).
      if (stopped === null) sendPut();
    };
    // Checked once a turn, after the server read what came: stop with writes behind and ahead.
    const stopWhenBusy = (): void => {
      // The server's own count: PUTs it has read and stored or is storing, not yet answered.
      const inFlight = server.stats().requestsInFlight - server.stats().subscriptions;
      if (acknowledged.length < ACKNOWLEDGED_BEFORE_STOP || inFlight === 0) {
        setImmediate(stopWhenBusy);
        return;
      }
      inFlightAtStop = inFlight;
      stopped = server.stop();
    };
    for (let i = 0; i < PUTS_IN_FLIGHT; i++) sendPut();
    stopWhenBusy();
    expect(await socket.closed(WAIT_MS)).toEqual({ code: CloseCode.GOING_AWAY, reason: 'server shutting down' });
    await stopped;
    await engine.close();

    expect(end).toEqual({ reason: EndReason.SHUTDOWN });
    expect(acknowledged.length).toBeGreaterThanOrEqual(ACKNOWLEDGED_BEFORE_STOP);
    // Every PUT was answered: with its result (those the server held when it stopped, during the
    // stop), or, read after the stop began, with ShuttingDown.
    expect(acknowledged.length + refused.length).toBe(sent);
    expect(inFlightAtStop).toBeGreaterThan(0);
    expect(acknowledgedAfterStop).toBeGreaterThanOrEqual(inFlightAtStop);
    const reopened = await Engine.open({ dataDir: dir.dir, workers: 1 });
    try {
      const stored = await storedValues(reopened);
      expect(acknowledged.filter((id) => !stored.has(valueOf(id)))).toEqual([]);
      expect(refused.filter((id) => stored.has(valueOf(id)))).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
