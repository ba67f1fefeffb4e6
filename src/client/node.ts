import { WebSocket } from 'ws';
import { ShardlineClient, type ClientOptions } from './client.js';
import { EnvelopeEncryption as PortableEnvelopeEncryption, type EnvelopeEncryptionOptions, type KeyProvider } from './envelope.js';
import { nodeCipherBackend } from './envelope_node.js';
import type { WebSocketLike } from './transport.js';

export * from './exports.js';
export { KinesisApiSink, type KinesisApiSinkOptions } from './kinesis_sink.js';
export { KinesisApiSource, type KinesisApiSourceOptions } from '../groups/kinesis_source.js';
export { DynamoDBLeaseStore, type DynamoDBLeaseStoreOptions } from '../groups/dynamodb_lease_store.js';
export { createKeyFile, localKeyProvider } from './envelope_keys.js';
export { nodeCipherBackend } from './envelope_node.js';

/** Envelope encryption with node:crypto's AES-GCM (synchronous, several times WebCrypto's speed on small records) unless told otherwise. */
export class EnvelopeEncryption extends PortableEnvelopeEncryption {
  constructor(provider: KeyProvider, options: EnvelopeEncryptionOptions = {}) {
    super(provider, { backend: nodeCipherBackend, ...options });
  }
}

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

export interface NodeConnectOptions extends Partial<ClientOptions> {
  /** For wss://: the certificates to trust beyond the system's (a self-signed server's, in PEM). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

/**
 * Connects to a shardline server from Node (the `ws` package, with bufferutil when installed):
 * `const client = await connect('ws://127.0.0.1:4567')`; with auth on, `{ credentials }`.
 */
export async function connect(url: string, options: NodeConnectOptions = {}): Promise<ShardlineClient> {
  const { ca, ...rest } = options;
  const socketOptions = ca === undefined ? WEBSOCKET_OPTIONS : { ...WEBSOCKET_OPTIONS, ca: ca as string | Buffer | (string | Buffer)[] };
  const client = new ShardlineClient(url, {
    webSocket: (target) => new WebSocket(target, socketOptions) as unknown as WebSocketLike,
    ...rest,
  });
  await client.connect();
  return client;
}
