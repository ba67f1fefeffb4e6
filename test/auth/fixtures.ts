import fs from 'node:fs';
import path from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { AccessControl } from '../../src/auth/access_control.js';
import { Engine } from '../../src/engine/engine.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { ShardlineServer } from '../../src/net/server.js';

/*
 * A server with auth on for the security tests: a real engine on a temporary directory, the
 * WebSocket server and the Kinesis HTTP API on free ports, both with the AccessControl of a
 * credentials file written here, and a raw SigV4 signer (the SDK's own) for requests the SDK's
 * clients would not make.
 */

export const ACCOUNT = '000000000000';
export const streamArnOf = (name: string): string => `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${name}`;

export interface Key {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** One key per identity, named after it (padded to an access key id's 16 characters). */
export function keyOf(identity: string): Key {
  return {
    accessKeyId: `AKIA${identity
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .padEnd(16, 'X')}`,
    secretAccessKey: `secret-of-${identity}-0123456789`,
  };
}

export type Statement = Record<string, unknown>;

/** A credentials file of identities, each with its key and one policy of the statements given. */
export function writeCredentials(dir: string, identities: Readonly<Record<string, readonly Statement[]>>): string {
  const file = path.join(dir, 'credentials.json');
  const document = {
    version: 1,
    identities: Object.entries(identities).map(([name, statements]) => ({
      name,
      accessKeys: [keyOf(name)],
      policies: [{ name: `${name}-policy`, document: { Version: '2012-10-17', Statement: statements } }],
    })),
  };
  fs.writeFileSync(file, JSON.stringify(document, null, 2), { mode: 0o600 });
  return file;
}

export interface SecureServers {
  readonly engine: Engine;
  readonly access: AccessControl;
  readonly ws: ShardlineServer;
  readonly http: KinesisHttpServer;
  stop(): Promise<void>;
}

export async function startSecureServers(dataDir: string, credentialsFile: string): Promise<SecureServers> {
  const engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1 });
  const access = AccessControl.fromFile(engine, credentialsFile);
  const ws = await ShardlineServer.start({ engine, host: '127.0.0.1', port: 0, access });
  const http = await KinesisHttpServer.start({ engine, host: '127.0.0.1', port: 0, access });
  return {
    engine,
    access,
    ws,
    http,
    async stop() {
      await http.stop();
      await ws.stop();
      await engine.close();
    },
  };
}

/** An awsJson1_1 API of the HTTP port: its X-Amz-Target prefix and the service it is signed for. */
export interface JsonApiName {
  readonly targetPrefix: string;
  readonly service: string;
}

const KINESIS_API: JsonApiName = { targetPrefix: 'Kinesis_20131202.', service: 'kinesis' };

/** A Kinesis API call signed as the SDK signs it (header), with `key`, or unsigned: its status and JSON body. */
export async function rawCall(
  endpoint: string,
  operation: string,
  request: unknown,
  key: Key | null,
  nowMs = Date.now(),
  api: JsonApiName = KINESIS_API,
): Promise<{ status: number; type: string; message: string; body: Record<string, unknown> }> {
  const url = new URL(endpoint);
  const body = JSON.stringify(request);
  let headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `${api.targetPrefix}${operation}`,
  };
  if (key !== null) {
    const signer = new SignatureV4({ credentials: key, region: 'us-east-1', service: api.service, sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign(
      { method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', headers, body },
      { signingDate: new Date(nowMs) },
    );
    headers = signed.headers;
  }
  const { host: _host, ...sent } = headers;
  const response = await fetch(`${endpoint}/`, { method: 'POST', headers: sent, body });
  const text = await response.text();
  const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  const type =
    String(parsed['__type'] ?? '')
      .split('#')
      .at(-1) ?? '';
  return { status: response.status, type, message: String(parsed['message'] ?? ''), body: parsed };
}
