import { WebSocket } from 'ws';
import { ShardlineClient, type ClientOptions } from './client.js';
import type { WebSocketLike } from './transport.js';

export * from './exports.js';
export { KinesisApiSink, type KinesisApiSinkOptions } from './kinesis_sink.js';

const WEBSOCKET_OPTIONS = {
  // The server's frames are bounded by its own limits (docs/PROTOCOL.md).
  maxPayload: 0,
  // The server negotiates no permessage-deflate (docs/PROTOCOL.md): offering it is a wasted header.
  perMessageDeflate: false,
  // A zero masking key makes masking the identity, so ws sends the caller's bytes instead of a
  // masked copy of each frame. Masking defends browsers' intermediaries against forged
  // requests; it protects nothing between a Node process and a shardline server. Buffers given
  // to send() must then stay untouched until written: the producer reuses a frame's buffer only
  // once the frame was answered.
  generateMask: (mask: Buffer) => {
    mask.fill(0);
  },
};

/**
 * Connects to a shardline server from Node (the `ws` package, with bufferutil when installed):
 * `const client = await connect('ws://127.0.0.1:4567')`.
 */
export async function connect(url: string, options: Partial<ClientOptions> = {}): Promise<ShardlineClient> {
  const client = new ShardlineClient(url, {
    webSocket: (target) => new WebSocket(target, WEBSOCKET_OPTIONS) as unknown as WebSocketLike,
    ...options,
  });
  await client.connect();
  return client;
}
