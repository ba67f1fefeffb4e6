import fs from 'node:fs';
import https from 'node:https';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl } from '../../src/auth/access_control.js';
import { connect } from '../../src/client/node.js';
import { Engine } from '../../src/engine/engine.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { ShardlineServer } from '../../src/net/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { keyOf, streamArnOf, writeCredentials } from './fixtures.js';

// Goal: TLS on both ports: wss:// (uWS's SSLApp) and https://, with the real clients (`ws`
// through the Node client, the AWS SDK), auth on; a policy that demands aws:SecureTransport lets
// them in over TLS, and a client that does not trust the certificate cannot connect. Method: the
// test certificate (test/fixtures/tls, for 127.0.0.1), a real engine, both servers on free ports.

const CERT = new URL('../fixtures/tls/cert.pem', import.meta.url).pathname;
const KEY = new URL('../fixtures/tls/key.pem', import.meta.url).pathname;
const ca = fs.readFileSync(CERT);

const root = suiteTempDir('shardline-auth-tls-');
let engine: Engine;
let ws: ShardlineServer;
let http: KinesisHttpServer;
beforeAll(async () => {
  const file = writeCredentials(root.dir, {
    tlsonly: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
  });
  engine = await Engine.open({ dataDir: `${root.dir}/data`, fsync: 'never', enforceLimits: false, workers: 1 });
  const access = AccessControl.fromFile(engine, file);
  ws = await ShardlineServer.start({ engine, host: '127.0.0.1', port: 0, access, tls: { certFile: CERT, keyFile: KEY } });
  http = await KinesisHttpServer.start({ engine, host: '127.0.0.1', port: 0, access, tls: { cert: ca, key: fs.readFileSync(KEY) } });
  await engine.createStream({ StreamName: 'secure', ShardCount: 1 });
});
afterAll(async () => {
  await http.stop();
  await ws.stop();
  await engine.close();
  root.remove();
});

describe('TLS on both ports', () => {
  it('serves wss:// to the Node client that trusts the certificate, and refuses one that does not', async () => {
    expect(ws.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const client = await connect(ws.url, { ca, credentials: keyOf('tlsonly') });
    try {
      expect((await client.call('DescribeStreamSummary', { StreamName: 'secure' })).StreamDescriptionSummary.StreamARN).toBe(
        streamArnOf('secure'),
      );
    } finally {
      client.close();
    }
    await expect(connect(ws.url, { credentials: keyOf('tlsonly'), connectTimeoutMs: 5000 })).rejects.toMatchObject({
      code: 'ConnectionError',
    });
  });

  it('serves https:// to the AWS SDK, where aws:SecureTransport holds', async () => {
    const sdk = new KinesisClient({
      endpoint: http.url,
      region: 'us-east-1',
      credentials: keyOf('tlsonly'),
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }),
    });
    try {
      const answer = await sdk.send(new DescribeStreamSummaryCommand({ StreamName: 'secure' }));
      expect(answer.StreamDescriptionSummary?.StreamARN).toBe(streamArnOf('secure'));
    } finally {
      sdk.destroy();
    }
  });
});
