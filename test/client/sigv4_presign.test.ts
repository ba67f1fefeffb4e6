import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { verifySigV4, type SignedRequest } from '../../src/auth/sigv4.js';
import { presignUrl, type SigningCredentials } from '../../src/client/sigv4_presign.js';
import { InvalidArgumentException, ShardlineError } from '../../src/errors.js';

// Goal: presignUrl (browser-safe, WebCrypto) makes the URL a WebSocket client can authenticate
// its upgrade with: one that the server's verifySigV4 accepts with the Host header a WebSocket
// client sends (URL.host), that keeps and signs the URL's own query, that fails with a wrong
// secret or once expired, and whose X-Amz-Signature is the AWS SDK's own for the same request.
// Method: presign URLs with and without a port, a default port and a query, verify them as the
// server would receive them, and compare with @smithy/signature-v4's presign() at the same time.

const CREDENTIALS: SigningCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** The upgrade request a WebSocket client sends for the URL: a GET of its path and query, Host = URL.host, no body. */
function upgradeOf(url: string): SignedRequest {
  const parsed = new URL(url);
  return { method: 'GET', path: parsed.pathname, query: parsed.search.slice(1), headers: { host: parsed.host }, body: new Uint8Array(0) };
}

function verify(request: SignedRequest, nowMs = NOW, secret = CREDENTIALS.secretAccessKey) {
  return verifySigV4(request, (id) => (id === CREDENTIALS.accessKeyId ? secret : undefined), { service: 'kinesis', nowMs });
}

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ShardlineError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the request was verified, but a refusal was expected');
}

/** What @smithy/signature-v4 presigns for the same GET: hostname, port, path, and the query decoded. */
async function smithySignature(url: string, credentials: SigningCredentials, region = 'us-east-1', service = 'kinesis', expiresIn = 300) {
  const parsed = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of parsed.searchParams) {
    const before = query[key];
    query[key] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  const signer = new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256') });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: parsed.protocol,
      hostname: parsed.hostname,
      ...(parsed.port === '' ? {} : { port: Number(parsed.port) }),
      path: parsed.pathname,
      query,
      headers: { host: parsed.host },
    },
    { signingDate: new Date(NOW), expiresIn },
  );
  return presigned.query?.['X-Amz-Signature'];
}

function signatureOf(url: string): string | null {
  return new URL(url).searchParams.get('X-Amz-Signature');
}

describe('presignUrl', () => {
  it('ws:// with an explicit port passes verifySigV4 with the Host a WebSocket client sends', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/', CREDENTIALS, { nowMs: NOW });
    expect(new URL(url).host).toBe('127.0.0.1:4567');
    const params = new URL(url).searchParams;
    expect(params.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20240501/us-east-1/kinesis/aws4_request');
    expect(params.get('X-Amz-Date')).toBe('20240501T120000Z');
    expect(params.get('X-Amz-Expires')).toBe('300');
    expect(params.get('X-Amz-SignedHeaders')).toBe('host');
    expect(signatureOf(url)).toMatch(/^[0-9a-f]{64}$/);
    expect(verify(upgradeOf(url))).toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'kinesis',
      signedAtMs: NOW,
      presigned: true,
    });
  });

  it('without a port, and with the default port written out, Host has no port', async () => {
    for (const given of ['ws://shardline.example/streams', 'ws://shardline.example:80/streams', 'wss://shardline.example:443/streams']) {
      const url = await presignUrl(given, CREDENTIALS, { nowMs: NOW });
      expect(new URL(url).host).toBe('shardline.example');
      expect(verify(upgradeOf(url)).presigned).toBe(true);
      // The port is signed: the same URL sent to another port is refused.
      expect(refusal(() => verify({ ...upgradeOf(url), headers: { host: 'shardline.example:8080' } })).message).toBe(MISMATCH);
    }
  });

  it("keeps the URL's own query, signed", async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/connect?stream=my%20stream&tag=a&tag=b&empty=&note=%C3%BC*', CREDENTIALS, {
      nowMs: NOW,
    });
    const params = new URL(url).searchParams;
    expect(params.get('stream')).toBe('my stream');
    expect(params.getAll('tag')).toEqual(['a', 'b']);
    expect(params.get('empty')).toBe('');
    expect(params.get('note')).toBe('ü*');
    expect(verify(upgradeOf(url)).presigned).toBe(true);
    const changed = url.replace('stream=my%20stream', 'stream=other');
    expect(changed).not.toBe(url);
    expect(refusal(() => verify(upgradeOf(changed))).message).toBe(MISMATCH);
    const dropped = url.replace('&tag=b', '');
    expect(refusal(() => verify(upgradeOf(dropped))).message).toBe(MISMATCH);
  });

  it('replaces signing parameters the URL already has, and drops its fragment', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/?X-Amz-Date=19990101T000000Z&X-Amz-Signature=00&keep=1#part', CREDENTIALS, {
      nowMs: NOW,
    });
    const params = new URL(url).searchParams;
    expect(params.getAll('X-Amz-Date')).toEqual(['20240501T120000Z']);
    expect(params.getAll('X-Amz-Signature')).toHaveLength(1);
    expect(params.get('keep')).toBe('1');
    expect(new URL(url).hash).toBe('');
    expect(verify(upgradeOf(url)).presigned).toBe(true);
  });

  it('a wrong secret fails', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/', { ...CREDENTIALS, secretAccessKey: 'not the secret' }, { nowMs: NOW });
    expect(refusal(() => verify(upgradeOf(url)))).toEqual({ code: 'InvalidSignatureException', message: MISMATCH });
  });

  it('the path is signed', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/streams/a%20b', CREDENTIALS, { nowMs: NOW });
    expect(verify(upgradeOf(url)).presigned).toBe(true);
    expect(refusal(() => verify({ ...upgradeOf(url), path: '/streams/a%20c' })).message).toBe(MISMATCH);
  });

  it('lasts expiresSeconds, then fails with AWS words', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/', CREDENTIALS, { nowMs: NOW, expiresSeconds: 60 });
    expect(verify(upgradeOf(url), NOW + 60_000).presigned).toBe(true);
    expect(refusal(() => verify(upgradeOf(url), NOW + 61_000))).toEqual({
      code: 'InvalidSignatureException',
      message: 'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T120101Z - 1 min.)',
    });
  });

  it('signs with the region and service given', async () => {
    const url = await presignUrl('wss://shardline.example/', CREDENTIALS, { nowMs: NOW, region: 'eu-west-1', service: 'firehose' });
    expect(new URL(url).searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20240501/eu-west-1/firehose/aws4_request');
    const verified = verifySigV4(upgradeOf(url), () => CREDENTIALS.secretAccessKey, { service: 'firehose', nowMs: NOW });
    expect(verified.region).toBe('eu-west-1');
    expect(refusal(() => verify(upgradeOf(url))).message).toBe("Credential should be scoped to correct service: 'kinesis'.");
  });

  it('a session token is sent and signed (and refused by this server, which issues none)', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/', { ...CREDENTIALS, sessionToken: 'FwoG/ZXIv+YXdz==' }, { nowMs: NOW });
    expect(new URL(url).searchParams.get('X-Amz-Security-Token')).toBe('FwoG/ZXIv+YXdz==');
    expect(refusal(() => verify(upgradeOf(url)))).toEqual({
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it.each([0, -1, 1.5, 604_801, Number.NaN])('refuses expiresSeconds %s', async (expiresSeconds) => {
    await expect(presignUrl('ws://127.0.0.1:4567/', CREDENTIALS, { nowMs: NOW, expiresSeconds })).rejects.toBeInstanceOf(
      InvalidArgumentException,
    );
  });

  it('refuses a scheme other than ws, wss, http, https', async () => {
    await expect(presignUrl('ftp://127.0.0.1/', CREDENTIALS, { nowMs: NOW })).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('a week is the longest it may last', async () => {
    const url = await presignUrl('ws://127.0.0.1:4567/', CREDENTIALS, { nowMs: NOW, expiresSeconds: 604_800 });
    expect(verify(upgradeOf(url), NOW + 604_800_000).presigned).toBe(true);
  });
});

describe('presignUrl agrees with @smithy/signature-v4 presign()', () => {
  it.each([
    'ws://127.0.0.1:4567/',
    'ws://shardline.example/streams',
    'wss://shardline.example/',
    'http://localhost:8080/a%20b/c',
    'https://shardline.example/x/./y//z/../w',
    "ws://127.0.0.1:4567/connect?stream=my%20stream&tag=b&tag=a&a-b=1&a=2&u=%C3%BC%2F%2A!'()~",
    'ws://127.0.0.1:4567/?flag',
  ])('%s', async (url) => {
    const ours = await presignUrl(url, CREDENTIALS, { nowMs: NOW });
    expect(signatureOf(ours)).toBe(await smithySignature(url, CREDENTIALS));
  });

  it('with a region, a service, an expiry and a session token', async () => {
    const credentials = { ...CREDENTIALS, sessionToken: 'FwoG/ZXIv+YXdz==' };
    const url = 'wss://shardline.example:9443/connect?stream=orders';
    const ours = await presignUrl(url, credentials, { nowMs: NOW, region: 'ap-southeast-2', service: 'firehose', expiresSeconds: 3600 });
    expect(signatureOf(ours)).toBe(await smithySignature(url, credentials, 'ap-southeast-2', 'firehose', 3600));
  });
});
