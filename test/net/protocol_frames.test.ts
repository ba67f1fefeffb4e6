import { FRAME_BYTES_MAX, IN_FLIGHT_MAX } from '../../src/limits.js';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeJsonFrame, encodeCall } from '../../src/net/messages/call.js';
import { decodeError } from '../../src/net/messages/error.js';
import { decodeHello, decodeHelloOk, encodeHello } from '../../src/net/messages/hello.js';
import { PutFrameBuilder } from '../../src/net/messages/put.js';
import { encodeCancel, encodeSubscribe } from '../../src/net/messages/records.js';
import {
  CloseCode,
  FrameReader,
  FrameWriter,
  MESSAGE_BYTES_MAX,
  Opcode,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
} from '../../src/net/protocol.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the frame and request-id rules of docs/PROTOCOL.md ("Frame", "Request ids", "Handshake",
// "Limits", "Compression") hold as written, each one a small named test. Method: the real
// engine behind the real uWS server, reached through raw sockets (test/helpers/raw_socket.ts),
// since the client library never sends what most of these send; golden bytes for the frames
// added here.

const CLOSE_TIMEOUT_MS = 10_000;

function errorOf(frame: FrameReader | undefined): { opcode: number | undefined; requestId: number | undefined; code: string | undefined } {
  if (frame === undefined) return { opcode: undefined, requestId: undefined, code: undefined };
  return { opcode: frame.opcode, requestId: frame.requestId, code: frame.opcode === Opcode.ERROR ? decodeError(frame).code : undefined };
}

/** A frame with its header's flags and reserved field set as given. */
function withHeader(frame: Uint8Array, flags: number, reserved: number): Uint8Array {
  const bytes = frame.slice();
  bytes[1] = flags;
  new DataView(bytes.buffer).setUint16(2, reserved, true);
  return bytes;
}

describe('protocol: frames and request ids', () => {
  let server: TestServer;
  let consumerARN: string;
  beforeAll(async () => {
    server = await startTestServer();
    await server.engine.createStream({ StreamName: 'frames', ShardCount: 1 });
    const streamARN = server.engine.describeStreamSummary({ StreamName: 'frames' }).StreamDescriptionSummary.StreamARN as string;
    consumerARN = (await server.engine.registerStreamConsumer({ StreamARN: streamARN, ConsumerName: 'c' })).Consumer.ConsumerARN;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('HELLO_OK carries the protocol version, the limits, and the server name and version from package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const socket = await RawSocket.open(server.url);
    const [answer] = await socket.exchange(encodeHello(5, { version: PROTOCOL_VERSION, clientName: 'names' }));
    await socket.close();
    expect([answer?.opcode, answer?.requestId]).toEqual([Opcode.HELLO_OK, 5]);
    expect(decodeHelloOk(answer!)).toEqual({
      version: PROTOCOL_VERSION,
      maxFrameBytes: FRAME_BYTES_MAX,
      maxInFlight: IN_FLIGHT_MAX,
      serverName: `shardline/${version}`,
    });
  });

  it('HELLO keeps a client name of up to 256 bytes of UTF-8 and cuts a longer one at a whole character', () => {
    const named = (clientName: string): string =>
      decodeHello(new FrameReader(encodeHello(1, { version: PROTOCOL_VERSION, clientName }))).clientName;
    expect(named('a'.repeat(256))).toBe('a'.repeat(256));
    expect(named('a'.repeat(300))).toBe('a'.repeat(256));
    expect(named('é'.repeat(200))).toBe('é'.repeat(128));
    expect(named('a' + '😀'.repeat(64))).toBe('a' + '😀'.repeat(63));
  });

  it('refuses a frame with non-zero flags or reserved field under its own request id, and serves on', async () => {
    const socket = await RawSocket.greeted(server.url);
    const answers = [];
    for (const [i, [flags, reserved]] of [
      [1, 0],
      [0x80, 0],
      [0, 1],
      [0, 0x8000],
    ].entries()) {
      const [answer] = await socket.exchange(withHeader(encodeCall(10 + i, 'ListStreams', {}), flags!, reserved!));
      answers.push(errorOf(answer));
    }
    const [after] = await socket.exchange(encodeCall(20, 'ListStreams', {}));
    await socket.close();
    expect(answers).toEqual(
      [10, 11, 12, 13].map((requestId) => ({ opcode: Opcode.ERROR, requestId, code: ProtocolErrorCode.MALFORMED_FRAME })),
    );
    expect([after?.opcode, after?.requestId]).toEqual([Opcode.RESULT, 20]);
  });

  it('refuses a first frame with a non-zero reserved field under its id, then closes (4001)', async () => {
    const socket = await RawSocket.open(server.url);
    const [answer] = await socket.exchange(withHeader(encodeHello(9, { version: PROTOCOL_VERSION, clientName: 'reserved' }), 0, 1));
    const close = await socket.closed(CLOSE_TIMEOUT_MS);
    expect({ ...errorOf(answer), close: close?.code }).toEqual({
      opcode: Opcode.ERROR,
      requestId: 9,
      code: ProtocolErrorCode.MALFORMED_FRAME,
      close: CloseCode.HANDSHAKE_REQUIRED,
    });
  });

  it('takes request id 0 for HELLO only: any other request with it is refused under 0', async () => {
    const socket = await RawSocket.greeted(server.url, 'zero', 0);
    const put = new PutFrameBuilder('frames');
    put.add('k', Uint8Array.of(1), new Uint8Array(16));
    const answers = [];
    for (const frame of [
      encodeCall(0, 'ListStreams', {}),
      put.finish(0),
      encodeCancel(0),
      encodeSubscribe(0, { ConsumerARN: consumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }),
    ]) {
      answers.push(errorOf((await socket.exchange(frame))[0]));
    }
    await socket.close();
    expect(answers).toEqual(
      Array.from({ length: 4 }, () => ({ opcode: Opcode.ERROR, requestId: 0, code: ProtocolErrorCode.MALFORMED_FRAME })),
    );
    expect(server.server.stats().subscriptions).toBe(0);
  });

  it('refuses a request that reuses the id of one in flight, under that id, without carrying it out', async () => {
    const socket = await RawSocket.greeted(server.url);
    const [subscribed] = await socket.exchange(
      encodeSubscribe(30, { ConsumerARN: consumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }),
    );
    const [reused] = await socket.exchange(encodeCall(30, 'CreateStream', { StreamName: 'reused-id', ShardCount: 1 }));
    const created = server.engine.listStreams().StreamNames.includes('reused-id');
    const [cancelled] = await socket.exchange(encodeCancel(30));
    // The id is free again once its subscription ended.
    const [again] = await socket.exchange(encodeCall(30, 'CreateStream', { StreamName: 'reused-id', ShardCount: 1 }));
    await socket.close();
    expect([subscribed?.opcode, subscribed?.requestId]).toEqual([Opcode.SUBSCRIBED, 30]);
    expect(errorOf(reused)).toEqual({ opcode: Opcode.ERROR, requestId: 30, code: ProtocolErrorCode.MALFORMED_FRAME });
    expect(created).toBe(false);
    expect([cancelled?.opcode, cancelled?.requestId, decodeJsonFrame(cancelled!).reason]).toEqual([Opcode.END, 30, 'cancelled']);
    expect([again?.opcode, again?.requestId]).toEqual([Opcode.RESULT, 30]);
  });

  it('CALL takes the engine operations of the document; SubscribeToShard is SUBSCRIBE, not a CALL', async () => {
    const socket = await RawSocket.greeted(server.url);
    const [answer] = await socket.exchange(
      encodeCall(40, 'SubscribeToShard', {
        ConsumerARN: consumerARN,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'LATEST' },
      }),
    );
    await socket.close();
    expect(errorOf(answer)).toEqual({ opcode: Opcode.ERROR, requestId: 40, code: ProtocolErrorCode.MALFORMED_FRAME });
    expect(decodeError(new FrameReader(socket.received.at(-1)!.bytes)).message).toContain('SUBSCRIBE');
  });

  it('bounds whole messages, header included: 16 MiB is answered under its id and closed (1009), 16 MiB + 1 is dropped (1006)', async () => {
    const outcomes = [];
    for (const bytes of [MESSAGE_BYTES_MAX, MESSAGE_BYTES_MAX + 1]) {
      const socket = await RawSocket.greeted(server.url);
      const frame = new Uint8Array(bytes);
      frame.set(new FrameWriter(Opcode.CALL, 50).string('ListStreams', 1).finish());
      socket.send(frame);
      const close = await socket.closed(CLOSE_TIMEOUT_MS);
      const answers = socket.received.slice(1).map((message) => errorOf(new FrameReader(message.bytes)));
      outcomes.push({ bytes, answers, close: close?.code });
    }
    expect(outcomes).toEqual([
      {
        bytes: MESSAGE_BYTES_MAX,
        answers: [{ opcode: Opcode.ERROR, requestId: 50, code: ProtocolErrorCode.MALFORMED_FRAME }],
        close: CloseCode.TOO_BIG,
      },
      { bytes: MESSAGE_BYTES_MAX + 1, answers: [], close: 1006 },
    ]);
  });

  it('negotiates no permessage-deflate, whatever the client offers', async () => {
    const ws = new WebSocket(server.url, { perMessageDeflate: true });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const extensions = ws.extensions;
    ws.close();
    expect(extensions).toBe('');
  });
});
