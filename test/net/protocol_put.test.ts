import { PROTOCOL_ERRORS_MAX } from '../../src/limits.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashKeys, explicitHashKey } from '../../src/client/hash_keys.js';
import { decodeError } from '../../src/net/messages/error.js';
import { PutFrameBuilder, decodePutResult } from '../../src/net/messages/put.js';
import { CloseCode, FAILED_SLOT, FrameReader, Opcode, ProtocolErrorCode } from '../../src/net/protocol.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: a PUT is refused as docs/PROTOCOL.md (PUT, ERROR) files it: a frame whose records do not
// parse is a MalformedFrame (counted towards the connection's protocol errors), a record that
// parses but breaks a Kinesis rule is the engine's ValidationException or
// InvalidArgumentException (not counted), and a hash key that is not the MD5 of its partition key
// is refused; each stores nothing. Method: PUT frames made by the real PutFrameBuilder and then
// broken byte by byte, sent over raw sockets to the real server; what was stored is read back
// from the engine.

const STREAM = 'puts';
const SHARDS = 4;
const CLOSE_TIMEOUT_MS = 10_000;
const hashKeys = new HashKeys();
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

interface Layout {
  readonly frame: Uint8Array;
  readonly view: DataView;
  /** Where the record count and each record start, in the frame. */
  readonly countAt: number;
  readonly recordAt: readonly number[];
}

/** A PUT of records routed by their MD5, as the real client builds it, and where its fields are. */
function putOf(requestId: number, records: ReadonlyArray<{ key: string; data: Uint8Array }>): Layout {
  const builder = new PutFrameBuilder(STREAM);
  const recordAt: number[] = [];
  const countAt = 8 + 2 + STREAM.length;
  let at = countAt + 4;
  for (const { key, data } of records) {
    recordAt.push(at);
    at += 8 + builder.add(key, data, hashKeys.of(key)) + data.length;
  }
  const frame = builder.finish(requestId).slice();
  return { frame, view: new DataView(frame.buffer), countAt, recordAt };
}

function answerOf(frame: FrameReader | undefined): { requestId?: number; code?: string; stored?: number } {
  if (frame === undefined) return {};
  if (frame.opcode === Opcode.ERROR) return { requestId: frame.requestId, code: decodeError(frame).code };
  return { requestId: frame.requestId, stored: decodePutResult(frame).slots.filter((slot) => slot !== FAILED_SLOT).length };
}

describe('protocol: PUT refusals', () => {
  let server: TestServer;
  let socket: RawSocket;
  let nextId = 1;
  const storedCount = async (): Promise<number> => {
    let count = 0;
    for (const { ShardId } of server.engine.listShards({ StreamName: STREAM }).Shards) {
      const { ShardIterator } = await server.engine.getShardIterator({ StreamName: STREAM, ShardId, ShardIteratorType: 'TRIM_HORIZON' });
      count += (await server.engine.getRecords({ ShardIterator })).Records.length;
    }
    return count;
  };
  const send = async (frame: Uint8Array): Promise<ReturnType<typeof answerOf>> => answerOf((await socket.exchange(frame))[0]);

  beforeAll(async () => {
    server = await startTestServer();
    await server.engine.createStream({ StreamName: STREAM, ShardCount: SHARDS });
    socket = await RawSocket.greeted(server.url, 'puts', nextId++);
  });
  afterAll(async () => {
    await socket.close();
    await server.stop();
  });

  it('refuses a PUT whose hash key is not the MD5 of its partition key, whole, with ValidationException', async () => {
    const before = await storedCount();
    const builder = new PutFrameBuilder(STREAM);
    builder.add('right', bytes('a'), hashKeys.of('right'));
    // 'wrong' with the hash key of another key: routed by it, it would land in another key's shard.
    builder.add('wrong', bytes('b'), hashKeys.of('another-key'));
    const id = nextId++;
    const [answer] = await socket.exchange(builder.finish(id).slice());
    expect(answerOf(answer)).toEqual({ requestId: id, code: 'ValidationException' });
    expect(decodeError(new FrameReader(socket.received.at(-1)!.bytes)).message).toContain('Records.2');
    expect(await storedCount()).toBe(before);
  });

  it('routes a record with an explicit hash key by it, whatever the hash key array holds', async () => {
    const top = '340282366920938463463374607431768211455';
    const builder = new PutFrameBuilder(STREAM);
    builder.add('any-key', bytes('explicit'), new Uint8Array(16), explicitHashKey(top).stored);
    const id = nextId++;
    const [answer] = await socket.exchange(builder.finish(id).slice());
    const result = decodePutResult(answer!);
    expect(result.shards.map((shard) => shard.serial)).toEqual([SHARDS - 1]);
  });

  it('answers framing faults inside a PUT with MalformedFrame, storing nothing', async () => {
    const before = await storedCount();
    const records = [
      { key: 'k1', data: bytes('one') },
      { key: 'k2', data: bytes('two') },
    ];
    const faults: Record<string, (put: Layout) => Uint8Array> = {
      'data length past the end': (put) => (put.view.setUint32(put.recordAt[1]!, 1000, true), put.frame),
      'key length past the end': (put) => (put.view.setUint16(put.recordAt[1]! + 4, 1000, true), put.frame),
      'a count below the records': (put) => (put.view.setUint32(put.countAt, 1, true), put.frame),
      'a count above the records': (put) => (put.view.setUint32(put.countAt, 3, true), put.frame),
      'short hash keys': (put) => put.frame.slice(0, put.frame.length - 8),
      'unknown record flags': (put) => ((put.frame[put.recordAt[0]! + 6] = 0x02), put.frame),
      'a non-zero reserved byte': (put) => ((put.frame[put.recordAt[0]! + 7] = 0x01), put.frame),
    };
    const answers: Record<string, ReturnType<typeof answerOf>> = {};
    const expected: Record<string, ReturnType<typeof answerOf>> = {};
    for (const [fault, breakIt] of Object.entries(faults)) {
      const id = nextId++;
      answers[fault] = await send(breakIt(putOf(id, records)));
      expected[fault] = { requestId: id, code: ProtocolErrorCode.MALFORMED_FRAME };
    }
    expect(answers).toEqual(expected);
    expect(await storedCount()).toBe(before);
  });

  it("answers a PUT that breaks a Kinesis rule with the engine's error, storing nothing", async () => {
    const before = await storedCount();
    const cases: Record<string, [ReadonlyArray<{ key: string; data: Uint8Array }>, string]> = {
      '501 records': [Array.from({ length: 501 }, (_, i) => ({ key: `k${i}`, data: bytes('x') })), 'ValidationException'],
      'a key of 257 characters': [[{ key: 'k'.repeat(257), data: bytes('x') }], 'ValidationException'],
      'a key and data over 1 MiB': [[{ key: 'k', data: new Uint8Array(1024 * 1024) }], 'ValidationException'],
      'more than 5 MiB': [
        Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, data: new Uint8Array(900 * 1024) })),
        'InvalidArgumentException',
      ],
    };
    const answers: Record<string, ReturnType<typeof answerOf>> = {};
    const expected: Record<string, ReturnType<typeof answerOf>> = {};
    for (const [rule, [records, code]] of Object.entries(cases)) {
      const id = nextId++;
      answers[rule] = await send(putOf(id, records).frame);
      expected[rule] = { requestId: id, code };
    }
    const emptyKey = putOf(nextId++, [{ key: 'k', data: bytes('x') }]);
    emptyKey.view.setUint16(emptyKey.recordAt[0]! + 4, 0, true);
    // The key's byte now counts as data: the frame still parses.
    emptyKey.view.setUint32(emptyKey.recordAt[0]!, 2, true);
    answers['an empty key'] = await send(emptyKey.frame);
    expected['an empty key'] = { requestId: nextId - 1, code: 'ValidationException' };
    expect(answers).toEqual(expected);
    expect(await storedCount()).toBe(before);
  });

  it('words a partition key outside 1..256 characters as PutRecords does, at every door', async () => {
    const key = 'k'.repeat(257);
    const id = nextId++;
    const [answer] = await socket.exchange(
      putOf(id, [
        { key: 'fine', data: bytes('x') },
        { key, data: bytes('x') },
      ]).frame,
    );
    const embedded = await server.engine
      .putRecords({
        StreamName: STREAM,
        Records: [
          { PartitionKey: 'fine', Data: bytes('x') },
          { PartitionKey: key, Data: bytes('x') },
        ],
      })
      .catch((error: Error) => error.message);
    expect(decodeError(answer!).message).toBe(embedded);
    expect(embedded).toBe(
      `1 validation error detected: Value '${key}' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
  });

  it('counts framing faults towards the protocol errors that close a connection, and Kinesis refusals not', async () => {
    const counted = await RawSocket.greeted(server.url, 'counted');
    for (let i = 0; i < 2 * PROTOCOL_ERRORS_MAX; i++)
      await counted.exchange(putOf(1000 + i, [{ key: 'k'.repeat(257), data: bytes('x') }]).frame);
    const openAfterRefusals = counted.isOpen;
    // A count below the records: until the framing was checked in the frame, this was a ValidationException.
    const faulty = (id: number): Uint8Array => {
      const put = putOf(id, [
        { key: 'k', data: bytes('x') },
        { key: 'l', data: bytes('y') },
      ]);
      put.view.setUint32(put.countAt, 1, true);
      return put.frame;
    };
    for (let i = 0; i < PROTOCOL_ERRORS_MAX; i++) await counted.exchange(faulty(2000 + i));
    const openAfterFaults = counted.isOpen;
    const [last] = await counted.exchange(faulty(3000));
    const close = await counted.closed(CLOSE_TIMEOUT_MS);
    expect({ openAfterRefusals, openAfterFaults, last: answerOf(last), close: close?.code }).toEqual({
      openAfterRefusals: true,
      openAfterFaults: true,
      last: { requestId: 3000, code: ProtocolErrorCode.MALFORMED_FRAME },
      close: CloseCode.TOO_MANY_ERRORS,
    });
  });
});
