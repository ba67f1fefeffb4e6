import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashKeys } from '../../src/client/hash_keys.js';
import { Engine } from '../../src/engine/engine.js';
import { decodeError } from '../../src/net/messages/error.js';
import { PutFrameBuilder, decodePut } from '../../src/net/messages/put.js';
import { FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { ShardlineServer } from '../../src/net/server.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: the bounds on bytes of puts stored but not yet answered, 64 MiB per connection and 512 MiB
// per server (docs/PROTOCOL.md, PUT): a PUT that would take a connection, or the server, past its
// bound gets SlowDown (retriable) and stores nothing, the PUTs below it are taken. Method: the
// bounds are options of ShardlineServer.start, tested at small values on the real engine and uWS
// server, and their defaults checked against the documented values. The PUT frames of one test
// are sent in one turn of the event loop (the server runs in this process): the server reads them
// all before any write can settle, so which are taken does not depend on the disk's speed.

/** The documented values, written out: a test that imported src/limits.ts would move with them. */
const MIB = 1024 * 1024;
const PUT_BYTES_IN_FLIGHT_MAX = 64 * MIB;
const WRITE_BYTES_IN_FLIGHT_MAX = 512 * MIB;
const STREAM = 'puts';
const RECORDS = 4;
const DATA_BYTES = 1000;
/** The bounds at small values, in PUTs of this test's size. */
const PER_CONNECTION_PUTS = 8;
const PER_SERVER_PUTS = 12;
const hashKeys = new HashKeys();

function putFrame(requestId: number): Uint8Array {
  const builder = new PutFrameBuilder(STREAM);
  for (let i = 0; i < RECORDS; i++) builder.add(`k${i}`, new Uint8Array(DATA_BYTES).fill(i), hashKeys.of(`k${i}`));
  return builder.finish(requestId).slice();
}

/** What a PUT counts towards the bounds: its records as the frame carries them. */
const PUT_BYTES = decodePut(new FrameReader(putFrame(1))).records.length;

describe('overload: bytes of puts in flight', () => {
  const dir = suiteTempDir();
  let engine: Engine;
  let server: ShardlineServer;
  beforeAll(async () => {
    engine = await Engine.open({ dataDir: dir.dir, fsync: 'never', enforceLimits: false, workers: 1 });
    await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
    server = await ShardlineServer.start({
      engine,
      port: 0,
      putBytesInFlightMax: PER_CONNECTION_PUTS * PUT_BYTES,
      writeBytesInFlightMax: PER_SERVER_PUTS * PUT_BYTES,
    });
  });
  afterAll(async () => {
    await server.stop();
    await engine.close();
    dir.remove();
  });

  const stored = async (): Promise<number> => {
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: STREAM,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    return (await engine.getRecords({ ShardIterator })).Records.length;
  };

  /** Sends `count` PUTs on each socket in one turn; the answers of each, by request id: taken or refused. */
  async function putAtOnce(sockets: RawSocket[], count: number): Promise<string[][]> {
    const ids = Array.from({ length: count }, (_, i) => i + 2);
    const before = sockets.map((socket) => socket.received.length);
    for (const socket of sockets) for (const id of ids) socket.send(putFrame(id));
    // Refusals go out at once, results when their writes settle: the answers sort by request id.
    return Promise.all(
      sockets.map(async (socket, s) =>
        (await socket.framesFrom(before[s]!, count))
          .sort((a, b) => a.requestId - b.requestId)
          .map((frame) => {
            if (frame.opcode !== Opcode.ERROR) return `${frame.requestId} taken`;
            expect(decodeError(frame)).toMatchObject({ code: ProtocolErrorCode.SLOW_DOWN, retriable: true });
            return `${frame.requestId} refused`;
          }),
      ),
    );
  }

  const expected = (taken: number, count: number): string[] =>
    Array.from({ length: count }, (_, i) => `${i + 2} ${i < taken ? 'taken' : 'refused'}`);

  it('defaults to the documented bounds: 64 MiB per connection, 512 MiB per server', async () => {
    const defaults = await ShardlineServer.start({ engine, port: 0 });
    expect(defaults.putBounds).toEqual({ perConnection: PUT_BYTES_IN_FLIGHT_MAX, perServer: WRITE_BYTES_IN_FLIGHT_MAX });
    await defaults.stop();
  });

  it('takes PUTs up to the connection bound and refuses the next with SlowDown, storing nothing of it', async () => {
    const socket = await RawSocket.greeted(server.url);
    const before = await stored();
    const [answers] = await putAtOnce([socket], 2 * PER_CONNECTION_PUTS);
    expect(answers).toEqual(expected(PER_CONNECTION_PUTS, 2 * PER_CONNECTION_PUTS));
    expect((await stored()) - before).toBe(PER_CONNECTION_PUTS * RECORDS);
    await socket.close();
  });

  it('takes PUTs of all connections up to the server bound, each connection below its own', async () => {
    const sockets = [await RawSocket.greeted(server.url), await RawSocket.greeted(server.url)];
    const before = await stored();
    const answers = await putAtOnce(sockets, PER_CONNECTION_PUTS);
    // Whichever connection the server read first took all its PUTs; the other, what was left.
    const taken = answers.map((list) => list.filter((answer) => answer.endsWith('taken')).length).sort((a, b) => b - a);
    expect(taken).toEqual([PER_CONNECTION_PUTS, PER_SERVER_PUTS - PER_CONNECTION_PUTS]);
    for (const list of answers)
      expect(list).toEqual(expected(list.filter((answer) => answer.endsWith('taken')).length, PER_CONNECTION_PUTS));
    expect((await stored()) - before).toBe(PER_SERVER_PUTS * RECORDS);
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  it('takes a PUT alone whatever its size, so that none waits forever', async () => {
    const small = await ShardlineServer.start({ engine, port: 0, putBytesInFlightMax: 1, writeBytesInFlightMax: 1 });
    const socket = await RawSocket.greeted(small.url);
    const [answers] = await putAtOnce([socket], 2);
    expect(answers).toEqual(expected(1, 2));
    await socket.close();
    await small.stop();
  });
});
