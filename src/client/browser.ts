import { ShardlineClient, type ClientOptions } from './client.js';
import type { WebSocketLike } from './transport.js';

export * from './exports.js';
/** With WebCrypto (a secure context: https or localhost). */
export { EnvelopeEncryption } from './envelope.js';

/** Connects to a shardline server from a web page, with the browser's WebSocket. */
export async function connect(url: string, options: Partial<ClientOptions> = {}): Promise<ShardlineClient> {
  const client = new ShardlineClient(url, { webSocket: (target) => new WebSocket(target) as unknown as WebSocketLike, ...options });
  await client.connect();
  return client;
}
