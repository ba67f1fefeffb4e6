import type { ShardlineClient, WebSocketLike } from '../client/node.js';
import { CannotConnectError } from './errors.js';

/** Runs `use` on a client connected to `url`, and closes it after. */
export async function withClient<T>(url: string, use: (client: ShardlineClient) => Promise<T>): Promise<T> {
  const client = await connectTo(url);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function connectTo(url: string): Promise<ShardlineClient> {
  // Loaded here, when a client command runs: `serve` and --help need neither the client nor ws.
  // Not the Node entry (client/node.js): that one also loads the AWS SDK, for KinesisApiSink.
  const [{ ShardlineClient }, { ConnectionError }, { WebSocket }] = await Promise.all([
    import('../client/client.js'),
    import('../client/transport.js'),
    import('ws'),
  ]);
  const last: { error?: Error } = {};
  // Our own socket, not connect()'s default, only to hear its error event: the client sees just
  // the close code (1006), the event says why (ECONNREFUSED, ENOTFOUND). Plain ws options: a
  // CLI needs none of the client's throughput settings.
  const webSocket = (target: string): WebSocketLike => {
    const socket = new WebSocket(target, { maxPayload: 0 });
    socket.on('error', (error) => (last.error = error));
    return socket as unknown as WebSocketLike;
  };
  try {
    const client = new ShardlineClient(url, { webSocket, clientName: 'shardline-cli' });
    await client.connect();
    return client;
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    throw new CannotConnectError(`cannot connect to ${url}: ${last.error?.message ?? error.message}`, { cause: error });
  }
}
