import { ShardlineClient, type ClientOptions } from '../client/client.js';
import type { WebSocketLike } from '../client/transport.js';
import type { SigningCredentials } from '../client/sigv4_presign.js';

/*
 * The console's connection: the browser client on the port that served the page. It builds the
 * client as src/client/browser.ts's connect() does, from client.ts: browser.ts also exports the
 * WebCrypto envelope (envelope_web.ts), which the page does not use and which does not
 * type-check against TypeScript's DOM library (its Uint8Array arguments are no BufferSource there).
 */

/** ws:// (or wss:// under https) to the host and port the page came from. */
function serverUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
}

/** Connects (with the upgrade presigned, when credentials are given); rejects with the server's typed error. */
export async function connectConsole(credentials: SigningCredentials | null): Promise<ShardlineClient> {
  const options: ClientOptions = {
    webSocket: (target) => new WebSocket(target) as unknown as WebSocketLike,
    clientName: 'shardline-console',
    ...(credentials === null ? {} : { credentials }),
  };
  const client = new ShardlineClient(serverUrl(), options);
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}
