import { WebSocket } from 'ws';
import { ShardlineClient, type ClientOptions } from './client.js';
import type { WebSocketLike } from './transport.js';

export * from './exports.js';

/**
 * Connects to a shardline server from Node (the `ws` package, with bufferutil when installed):
 * `const client = await connect('ws://127.0.0.1:4567')`.
 */
export async function connect(url: string, options: Partial<ClientOptions> = {}): Promise<ShardlineClient> {
  const client = new ShardlineClient(url, { webSocket: (target) => new WebSocket(target, { maxPayload: 0 }) as unknown as WebSocketLike, ...options });
  await client.connect();
  return client;
}
