/**
 * The server side of bench:net, run as a child process so that client and server do not share
 * an event loop (the suite's shardline adapter runs it too). MODE=shardline runs the real engine
 * and server (FSYNC, DATA_DIR, LIMITS=on to enforce PROVISIONED limits); MODE=echo
 * runs a bare uWS server on the same settings that answers HELLO and every PUT with a
 * PUT_RESULT without storing anything: the transport's ceiling, measured with the same client;
 * MODE=tcp is a plain TCP echo server, the floor under any latency measured over loopback here;
 * MODE=kinesis is the engine behind the Kinesis HTTP API (bench:http).
 * Prints "READY <port>" once listening; SIGTERM stops it.
 */
import { FRAME_BYTES_MAX, IN_FLIGHT_MAX } from '../src/limits.js';
import net from 'node:net';
import uWS from 'uWebSockets.js';
import { Engine, type FsyncPolicy } from '../src/index.js';
import { encodeHelloOk } from '../src/net/messages/hello.js';
import { decodeCall, encodeJsonFrame } from '../src/net/messages/call.js';
import { decodePut, encodePutResult } from '../src/net/messages/put.js';
import { FrameReader, Opcode, PROTOCOL_VERSION } from '../src/net/protocol.js';
import { KinesisHttpServer } from '../src/net/kinesis/server.js';
import { ShardlineServer } from '../src/net/server.js';

const mode = process.env.MODE ?? 'shardline';

function fsyncOf(text: string | undefined): FsyncPolicy {
  if (text === undefined || text === 'always' || text === 'never') return text ?? 'always';
  return { intervalMs: Number(text) };
}

async function runShardline(): Promise<() => Promise<void>> {
  const engine = await Engine.open({
    dataDir: process.env.DATA_DIR!,
    fsync: fsyncOf(process.env.FSYNC),
    enforceLimits: process.env.LIMITS === 'on',
  });
  const server = await ShardlineServer.start({ engine, port: 0 });
  console.log(`READY ${server.port}`);
  return async () => {
    await server.stop();
    await engine.close();
  };
}

function runEcho(): Promise<() => Promise<void>> {
  const app = uWS.App();
  let offset = 0;
  app.ws('/*', {
    maxPayloadLength: FRAME_BYTES_MAX,
    maxBackpressure: 64 * 1024 * 1024,
    message: (ws, message) => {
      const reader = new FrameReader(new Uint8Array(message));
      if (reader.opcode === Opcode.HELLO) {
        ws.send(
          encodeHelloOk(reader.requestId, {
            version: PROTOCOL_VERSION,
            maxFrameBytes: FRAME_BYTES_MAX,
            maxInFlight: IN_FLIGHT_MAX,
            serverName: 'echo',
          }),
          true,
        );
        return;
      }
      if (reader.opcode === Opcode.CALL) {
        ws.send(encodeJsonFrame(Opcode.RESULT, reader.requestId, echoCall(decodeCall(reader).operation)), true);
        return;
      }
      const put = decodePut(reader);
      const result = { shards: [{ serial: 0, firstOffset: offset }], slots: new Uint16Array(put.recordCount), failures: [] };
      offset += put.recordCount;
      ws.send(encodePutResult(reader.requestId, result), true);
    },
  });
  return new Promise((resolve) => {
    app.listen('127.0.0.1', 0, (socket) => {
      if (socket === false) throw new Error('echo server cannot listen');
      console.log(`READY ${uWS.us_socket_local_port(socket)}`);
      resolve(async () => {
        uWS.us_listen_socket_close(socket);
        app.close();
      });
    });
  });
}

/** The Producer's shard map (one shard over every hash key) and capacity mode: the only CALLs it makes. */
function echoCall(operation: string): unknown {
  if (operation === 'DescribeStreamSummary') return { StreamDescriptionSummary: { StreamModeDetails: { StreamMode: 'PROVISIONED' } } };
  if (operation !== 'ListShards') throw new Error(`the echo server answers no ${operation}`);
  const shard = {
    ShardId: 'shardId-000000000000',
    HashKeyRange: { StartingHashKey: '0', EndingHashKey: (2n ** 128n - 1n).toString() },
    SequenceNumberRange: { StartingSequenceNumber: '0' },
  };
  return { Shards: [shard] };
}

function runTcp(): Promise<() => Promise<void>> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (data) => socket.write(data));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      console.log(`READY ${(server.address() as net.AddressInfo).port}`);
      resolve(() => new Promise((closed) => server.close(() => closed())));
    });
  });
}

/** MODE=kinesis: the engine behind the Kinesis HTTP API only (bench:http). */
async function runKinesis(): Promise<() => Promise<void>> {
  const engine = await Engine.open({ dataDir: process.env.DATA_DIR!, fsync: fsyncOf(process.env.FSYNC), enforceLimits: false });
  const server = await KinesisHttpServer.start({ engine, port: 0 });
  console.log(`READY ${server.port}`);
  return async () => {
    await server.stop();
    await engine.close();
  };
}

const modes: Record<string, () => Promise<() => Promise<void>>> = {
  echo: runEcho,
  tcp: runTcp,
  kinesis: runKinesis,
  shardline: runShardline,
};
const start = modes[mode];
if (start === undefined) throw new Error(`MODE must be one of ${Object.keys(modes).join(', ')}, got ${mode}`);
const stop = await start();
process.once('SIGTERM', () => {
  void stop().then(() => process.exit(0));
});
