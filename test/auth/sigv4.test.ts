import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { KinesisClient, ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { Hash } from '@smithy/hash-node';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeysCached, verifySigV4, type SignedRequest, type VerifyOptions } from '../../src/auth/sigv4.js';
import { ShardlineError } from '../../src/errors.js';

// Goal: verifySigV4 accepts exactly what the AWS SDK's own signer produces (header and presigned
// query, a Kinesis POST and a GET with an awkward path and query, over HTTP/1.1 and HTTP/2) and
// refuses everything else in Kinesis's order with AWS's codes and messages (kinesis-family.md
// §7.2): no or both kinds of signature, each missing part, a bad date, skew both ways, an expired
// presigned URL, a wrong scope, an unknown key, a session token, and any change after signing.
// Method: requests signed by @smithy/signature-v4 (and by the unmodified KinesisClient) are sent
// over real sockets by the SDK's own HTTP handlers to a capturing server, so the verifier sees the
// bytes a Kinesis endpoint would; the refusals are those requests with one thing changed.

const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SIGNED_AT = Date.UTC(2024, 4, 1, 12, 0, 0);
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const TOKEN_INVALID = 'The security token included in the request is invalid.';
const PUT_BODY = JSON.stringify({ StreamName: 'orders', PartitionKey: 'k', Data: 'aGVsbG8=' });

function signer(options: { service?: string; sessionToken?: string; applyChecksum?: boolean; secret?: string } = {}): SignatureV4 {
  return new SignatureV4({
    credentials: {
      accessKeyId: AKID,
      secretAccessKey: options.secret ?? SECRET,
      ...(options.sessionToken === undefined ? {} : { sessionToken: options.sessionToken }),
    },
    region: 'us-east-1',
    service: options.service ?? 'kinesis',
    sha256: Hash.bind(null, 'sha256'),
    ...(options.applyChecksum === undefined ? {} : { applyChecksum: options.applyChecksum }),
  });
}

function verify(
  request: SignedRequest,
  options: Partial<VerifyOptions> = {},
  secretOf: (id: string) => string | undefined = (id) => (id === AKID ? SECRET : undefined),
) {
  return verifySigV4(request, secretOf, { service: 'kinesis', nowMs: SIGNED_AT, ...options });
}

/** The code and message of the ShardlineError that `run` throws. */
function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof ShardlineError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the request was verified, but a refusal was expected');
}

// A server that keeps each request as a Kinesis endpoint would receive it, over HTTP/1.1 and HTTP/2.
const captured: SignedRequest[] = [];
function keep(method: string, url: string, headers: SignedRequest['headers'], body: Buffer): void {
  const question = url.indexOf('?');
  captured.push({
    method,
    path: question < 0 ? url : url.slice(0, question),
    query: question < 0 ? '' : url.slice(question + 1),
    headers,
    body: new Uint8Array(body),
  });
}
const h1 = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    keep(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks));
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    res.end('{}');
  });
});
const h2 = http2.createServer();
h2.on('stream', (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    const plain: Record<string, string | string[] | undefined> = { ...headers };
    keep(String(headers[':method']), String(headers[':path']), plain, Buffer.concat(chunks));
    stream.respond({ ':status': 200, 'content-type': 'application/x-amz-json-1.1' });
    stream.end('{}');
  });
});
let h1Port = 0;
let h2Port = 0;
const handler = new NodeHttpHandler();

/** The request as the server received it after the SDK's HTTP handler sent it. */
async function send(request: HttpRequest): Promise<SignedRequest> {
  captured.length = 0;
  // The SDK's handler takes its own HttpRequest class; it reads only the fields the interface has.
  const { response } = await handler.handle(request as Parameters<NodeHttpHandler['handle']>[0]);
  (response.body as NodeJS.ReadableStream).resume();
  await new Promise<void>((resolve) => (response.body as NodeJS.ReadableStream).on('end', resolve));
  const received = captured.pop();
  if (received === undefined) throw new Error('the server received nothing');
  return received;
}

function postRequest(extraHeaders: Record<string, string> = {}): HttpRequest {
  return {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: h1Port,
    path: '/',
    query: {},
    headers: {
      host: `127.0.0.1:${h1Port}`,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'Kinesis_20131202.PutRecord',
      ...extraHeaders,
    },
    body: PUT_BODY,
  };
}

/** A path with an encoded space and star, '.', '..' and an empty segment; a query needing every rule. */
function getRequest(): HttpRequest {
  return {
    method: 'GET',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: h1Port,
    path: '/streams/my%20stream/./x//y/../shards%2A',
    query: { StreamName: 'my stream', b: ['2', '1'], 'a-b': 'x', a: 'z', u: "ünï/cødé*!'()~+" },
    headers: { host: `127.0.0.1:${h1Port}` },
  };
}

const signingDate = new Date(SIGNED_AT);
let post: SignedRequest;
let get: SignedRequest;
let presignedPost: SignedRequest;
let presignedGet: SignedRequest;

beforeAll(async () => {
  await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  h1Port = (h1.address() as AddressInfo).port;
  h2Port = (h2.address() as AddressInfo).port;
  post = await send(await signer().sign(postRequest(), { signingDate }));
  get = await send(await signer().sign(getRequest(), { signingDate }));
  presignedPost = await send(await signer().presign(postRequest(), { signingDate, expiresIn: 900 }));
  presignedGet = await send(await signer().presign(getRequest(), { signingDate, expiresIn: 900 }));
});

afterAll(async () => {
  handler.destroy();
  await new Promise((resolve) => h1.close(resolve));
  await new Promise((resolve) => h2.close(resolve));
});

function withHeaders(request: SignedRequest, changes: Record<string, string | undefined>): SignedRequest {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return { ...request, headers };
}

/** The query with its raw `key=value` pieces edited. */
function withQuery(request: SignedRequest, edit: (pieces: string[]) => string[]): SignedRequest {
  return { ...request, query: edit(request.query.split('&')).join('&') };
}

function withoutParam(request: SignedRequest, name: string): SignedRequest {
  return withQuery(request, (pieces) => pieces.filter((piece) => !piece.startsWith(`${name}=`)));
}

function withParam(request: SignedRequest, name: string, value: string): SignedRequest {
  return withQuery(withoutParam(request, name), (pieces) => [...pieces, `${name}=${encodeURIComponent(value)}`]);
}

function authorizationOf(request: SignedRequest): string {
  return String(request.headers.authorization);
}

describe('what the SDK signs verifies', () => {
  it('a Kinesis POST signed in the Authorization header', () => {
    expect(post.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20240501\/us-east-1\/kinesis\/aws4_request, /);
    expect(post.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(verify(post)).toEqual({ accessKeyId: AKID, region: 'us-east-1', service: 'kinesis', signedAtMs: SIGNED_AT, presigned: false });
  });

  it('a GET whose path needs normalizing and double encoding and whose query needs sorting and encoding', () => {
    expect(get.path).toBe('/streams/my%20stream/./x//y/../shards%2A');
    expect(get.query).toContain('b=2&b=1');
    expect(verify(get).presigned).toBe(false);
  });

  it('a presigned POST with a body and a presigned GET with a query', () => {
    expect(presignedPost.headers.authorization).toBeUndefined();
    expect(verify(presignedPost)).toEqual({
      accessKeyId: AKID,
      region: 'us-east-1',
      service: 'kinesis',
      signedAtMs: SIGNED_AT,
      presigned: true,
    });
    expect(verify(presignedGet).presigned).toBe(true);
  });

  it('without the x-amz-content-sha256 header (applyChecksum off), the body is hashed', async () => {
    const request = await send(await signer({ applyChecksum: false }).sign(postRequest(), { signingDate }));
    expect(request.headers['x-amz-content-sha256']).toBeUndefined();
    expect(verify(request).accessKeyId).toBe(AKID);
    expect(refusal(() => verify({ ...request, body: new TextEncoder().encode('{}') }))).toEqual({
      code: 'InvalidSignatureException',
      message: MISMATCH,
    });
  });

  it("another service's signature verifies for that service", async () => {
    const request = await send(await signer({ service: 'firehose' }).sign(postRequest(), { signingDate }));
    expect(verify(request, { service: 'firehose' }).service).toBe('firehose');
  });

  it('parameters in another order, and header values with other runs of blanks, are the same request', async () => {
    const request = await send(await signer().sign(postRequest({ 'x-note': '  a   b \t c ' }), { signingDate }));
    expect(request.headers['x-note']).toBe('a   b \t c');
    expect(verify(request).accessKeyId).toBe(AKID);
    expect(verify(withHeaders(request, { 'x-note': 'a b c' })).accessKeyId).toBe(AKID);
    expect(refusal(() => verify(withHeaders(request, { 'x-note': 'a bc' }))).message).toBe(MISMATCH);
    expect(verify(withQuery(presignedGet, (pieces) => [...pieces].reverse())).presigned).toBe(true);
    expect(verify(withQuery(get, (pieces) => [...pieces].reverse())).presigned).toBe(false);
  });

  it('a credential with trailing slashes is the same credential', () => {
    const authorization = authorizationOf(post).replace('aws4_request,', 'aws4_request//,');
    expect(verify(withHeaders(post, { authorization })).accessKeyId).toBe(AKID);
  });

  it('the unmodified KinesisClient over HTTP/1.1, at the real clock', async () => {
    const client = new KinesisClient({
      endpoint: `http://127.0.0.1:${h1Port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    captured.length = 0;
    await client.send(new PutRecordCommand({ StreamName: 'orders', PartitionKey: 'k', Data: new TextEncoder().encode('hello') }));
    client.destroy();
    const request = captured.pop();
    if (request === undefined) throw new Error('the server received nothing');
    expect(verifySigV4(request, (id) => (id === AKID ? SECRET : undefined), { service: 'kinesis' }).accessKeyId).toBe(AKID);
    expect(refusal(() => verifySigV4({ ...request, body: new Uint8Array(0) }, () => SECRET, { service: 'kinesis' })).message).toBe(
      MISMATCH,
    );
  });

  it('the default KinesisClient (HTTP/2 for http://): it signs :authority and Node gives no host', async () => {
    const client = new KinesisClient({
      endpoint: `http://127.0.0.1:${h2Port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    captured.length = 0;
    await client.send(new ListStreamsCommand({}));
    client.destroy();
    const request = captured.pop();
    if (request === undefined) throw new Error('the server received nothing');
    expect(request.headers.host).toBeUndefined();
    expect(request.headers[':authority']).toBe(`127.0.0.1:${h2Port}`);
    expect(verifySigV4(request, () => SECRET, { service: 'kinesis' }).accessKeyId).toBe(AKID);
    const elsewhere = withHeaders(request, { ':authority': 'example.com' });
    expect(refusal(() => verifySigV4(elsewhere, () => SECRET, { service: 'kinesis' })).message).toBe(MISMATCH);
  });

  it('a request that signs host but arrives over HTTP/2 with :authority alone', () => {
    const overH2 = withHeaders(post, { host: undefined, ':authority': String(post.headers.host) });
    expect(verify(overH2).accessKeyId).toBe(AKID);
    expect(refusal(() => verify(withHeaders(overH2, { ':authority': 'example.com' }))).message).toBe(MISMATCH);
  });
});

describe('which kind of signature', () => {
  it('neither an Authorization header nor X-Amz-Algorithm: MissingAuthenticationTokenException', () => {
    const expected = { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    expect(refusal(() => verify(withHeaders(post, { authorization: undefined })))).toEqual(expected);
    expect(refusal(() => verify(withHeaders(post, { authorization: '' })))).toEqual(expected);
    expect(refusal(() => verify(withHeaders(post, { authorization: 'Basic dXNlcjpwYXNz' })))).toEqual(expected);
    expect(refusal(() => verify(withoutParam(presignedGet, 'X-Amz-Algorithm')))).toEqual(expected);
  });

  it('both: InvalidSignatureException', () => {
    const both = { ...presignedGet, headers: { ...presignedGet.headers, authorization: authorizationOf(get) } };
    expect(refusal(() => verify(both))).toEqual({
      code: 'InvalidSignatureException',
      message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    });
  });
});

describe('a signature with parts missing: IncompleteSignatureException', () => {
  const header = (parts: string) => `AWS4-HMAC-SHA256 ${parts}`;

  it.each([
    ['Credential', 'SignedHeaders=host;x-amz-date, Signature=abc'],
    ['Signature', 'Credential=AKIDEXAMPLE/20240501/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date'],
    ['SignedHeaders', 'Credential=AKIDEXAMPLE/20240501/us-east-1/kinesis/aws4_request, Signature=abc'],
    ['SignedHeaders', 'Credential=AKIDEXAMPLE/20240501/us-east-1/kinesis/aws4_request, SignedHeaders=, Signature=abc'],
  ])('without %s (%s)', (part, parts) => {
    expect(refusal(() => verify(withHeaders(post, { authorization: header(parts) })))).toEqual({
      code: 'IncompleteSignatureException',
      message: `Authorization header requires '${part}' parameter. Authorization=${header(parts)}`,
    });
  });

  it('without every part and without a date, all named at once', () => {
    const request = withHeaders(post, { authorization: 'AWS4-HMAC-SHA256', 'x-amz-date': undefined });
    expect(refusal(() => verify(request))).toEqual({
      code: 'IncompleteSignatureException',
      message:
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
        "Authorization header requires 'SignedHeaders' parameter. " +
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256",
    });
  });

  it('without a date', () => {
    expect(refusal(() => verify(withHeaders(post, { 'x-amz-date': undefined })))).toEqual({
      code: 'IncompleteSignatureException',
      message: `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorizationOf(post)}`,
    });
  });

  it.each(['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'])('a presigned URL without %s', (name) => {
    expect(refusal(() => verify(withoutParam(presignedGet, name)))).toEqual({
      code: 'IncompleteSignatureException',
      message: `AWS query-string parameters must include '${name}'. Re-examine the query-string parameters.`,
    });
  });

  it('a presigned URL with an empty X-Amz-Algorithm and no X-Amz-Signature', () => {
    const request = withoutParam(withParam(presignedGet, 'X-Amz-Algorithm', ''), 'X-Amz-Signature');
    expect(refusal(() => verify(request))).toEqual({
      code: 'IncompleteSignatureException',
      message:
        "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Signature'. " +
        'Re-examine the query-string parameters.',
    });
  });
});

describe('the date', () => {
  it.each(['2024-05-01T12:00:00Z', '20240501T120000', '20240230T120000Z', '20240501T246000Z'])(
    '%s is not ISO-8601 basic format',
    (date) => {
      expect(refusal(() => verify(withHeaders(post, { 'x-amz-date': date })))).toEqual({
        code: 'IncompleteSignatureException',
        message: `Date must be in ISO-8601 'basic format'. Got '${date}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      });
      expect(refusal(() => verify(withParam(presignedGet, 'X-Amz-Date', date))).code).toBe('IncompleteSignatureException');
    },
  );

  it('more than 5 minutes old: Signature expired, in AWS words', () => {
    expect(verify(post, { nowMs: SIGNED_AT + 300_000 }).accessKeyId).toBe(AKID);
    expect(refusal(() => verify(post, { nowMs: SIGNED_AT + 301_000 }))).toEqual({
      code: 'InvalidSignatureException',
      message: 'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T120501Z - 5 min.)',
    });
  });

  it('more than 5 minutes ahead: Signature not yet current, in AWS words', () => {
    expect(verify(post, { nowMs: SIGNED_AT - 300_000 }).accessKeyId).toBe(AKID);
    expect(refusal(() => verify(post, { nowMs: SIGNED_AT - 301_000 }))).toEqual({
      code: 'InvalidSignatureException',
      message: 'Signature not yet current: 20240501T120000Z is still later than 20240501T115959Z (20240501T115459Z + 5 min.)',
    });
    expect(refusal(() => verify(presignedGet, { nowMs: SIGNED_AT - 301_000 })).message).toMatch(/^Signature not yet current: /);
  });

  it('another window (maxSkewMs) is named in the message', () => {
    expect(refusal(() => verify(post, { nowMs: SIGNED_AT + 91_000, maxSkewMs: 90_000 })).message).toBe(
      'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T120131Z - 90 sec.)',
    );
  });

  it('a Date header stands in for X-Amz-Date, in ISO-8601 basic format in the messages', () => {
    const request = withHeaders(post, { 'x-amz-date': undefined, date: 'Tue, 30 Apr 2024 12:00:00 GMT' });
    expect(refusal(() => verify(request))).toEqual({
      code: 'InvalidSignatureException',
      message: 'Signature expired: 20240430T120000Z is now earlier than 20240501T115500Z (20240501T120000Z - 5 min.)',
    });
    expect(refusal(() => verify(withHeaders(request, { date: 'yesterday' }))).message).toBe(
      "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
  });

  it('a presigned URL lasts its X-Amz-Expires, past the 5-minute window, and not a second more', () => {
    expect(verify(presignedGet, { nowMs: SIGNED_AT + 600_000 }).presigned).toBe(true);
    expect(verify(presignedGet, { nowMs: SIGNED_AT + 900_000 }).presigned).toBe(true);
    expect(refusal(() => verify(presignedGet, { nowMs: SIGNED_AT + 901_000 }))).toEqual({
      code: 'InvalidSignatureException',
      message: 'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T121501Z - 15 min.)',
    });
  });

  it('a presigned URL that expires sooner than the window expires then', async () => {
    const request = await send(await signer().presign(getRequest(), { signingDate, expiresIn: 30 }));
    expect(verify(request, { nowMs: SIGNED_AT + 30_000 }).presigned).toBe(true);
    expect(refusal(() => verify(request, { nowMs: SIGNED_AT + 31_000 })).message).toBe(
      'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T120031Z - 30 sec.)',
    );
  });

  it('a week is the longest a presigned URL lasts', async () => {
    const request = await send(await signer().presign(getRequest(), { signingDate, expiresIn: 604_800 }));
    expect(verify(request, { nowMs: SIGNED_AT + 604_800_000 }).presigned).toBe(true);
    expect(refusal(() => verify(request, { nowMs: SIGNED_AT + 604_801_000 })).message).toMatch(/^Signature expired: /);
  });

  it.each([
    ['abc', 'X-Amz-Expires should be a number'],
    ['-1', 'X-Amz-Expires must be non-negative'],
    ['0', 'X-Amz-Expires must be at least 1 second'],
    ['604801', 'X-Amz-Expires must be less than a week (in seconds) that is 604800'],
  ])('X-Amz-Expires=%s is refused', (value, message) => {
    expect(refusal(() => verify(withParam(presignedGet, 'X-Amz-Expires', value)))).toEqual({
      code: 'IncompleteSignatureException',
      message,
    });
  });

  it('a presigned URL without X-Amz-Expires lasts the 5-minute window', () => {
    const request = withoutParam(presignedGet, 'X-Amz-Expires');
    expect(refusal(() => verify(request, { nowMs: SIGNED_AT + 301_000 })).message).toBe(
      'Signature expired: 20240501T120000Z is now earlier than 20240501T120001Z (20240501T120501Z - 5 min.)',
    );
    // Within the window it gets as far as the signature, which covered X-Amz-Expires.
    expect(refusal(() => verify(request)).message).toBe(MISMATCH);
  });
});

describe('host, algorithm and credential scope', () => {
  it('host unsigned', async () => {
    const request = await send(await signer().sign(postRequest(), { signingDate, unsignableHeaders: new Set(['host']) }));
    expect(authorizationOf(request)).not.toMatch(/SignedHeaders=[^,]*host/);
    expect(refusal(() => verify(request))).toEqual({
      code: 'InvalidSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    });
  });

  it('an algorithm other than AWS4-HMAC-SHA256', () => {
    const authorization = authorizationOf(post).replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512');
    expect(refusal(() => verify(withHeaders(post, { authorization })))).toEqual({
      code: 'IncompleteSignatureException',
      message: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
    });
    expect(refusal(() => verify(withParam(presignedGet, 'X-Amz-Algorithm', 'AWS4-ECDSA-P256-SHA256'))).message).toBe(
      "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
    );
  });

  it('a credential that is not five parts', () => {
    const authorization = authorizationOf(post).replace('/us-east-1/kinesis/', '/us-east-1/');
    expect(refusal(() => verify(withHeaders(post, { authorization })))).toEqual({
      code: 'IncompleteSignatureException',
      message:
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20240501/us-east-1/aws4_request'",
    });
  });

  it('a scope of another day than X-Amz-Date', () => {
    const request = withHeaders(post, { 'x-amz-date': '20240502T000100Z' });
    expect(refusal(() => verify(request, { nowMs: Date.UTC(2024, 4, 2, 0, 1, 0) }))).toEqual({
      code: 'InvalidSignatureException',
      message:
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240501' != '20240502', from '20240502T000100Z'.",
    });
    const presigned = withParam(presignedGet, 'X-Amz-Date', '20240502T000100Z');
    expect(refusal(() => verify(presigned, { nowMs: Date.UTC(2024, 4, 2, 0, 1, 0) })).message).toMatch(/^Date in Credential scope/);
  });

  it('a scope of another service', async () => {
    const request = await send(await signer({ service: 'firehose' }).sign(postRequest(), { signingDate }));
    expect(refusal(() => verify(request))).toEqual({
      code: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'kinesis'.",
    });
  });

  it('every fault of a scope at once, in AWS order', () => {
    const authorization = authorizationOf(post).replace('/20240501/us-east-1/kinesis/aws4_request', '/20240502//firehose/aws5_request');
    expect(refusal(() => verify(withHeaders(post, { authorization })))).toEqual({
      code: 'InvalidSignatureException',
      message:
        "Credential should be scoped to a valid region, not ''. Credential should be scoped to correct service: 'kinesis'. " +
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240502' != '20240501', from '20240501T120000Z'.",
    });
  });
});

describe('the key and the signature', () => {
  it('an unknown access key id: UnrecognizedClientException', () => {
    expect(refusal(() => verify(post, {}, () => undefined))).toEqual({ code: 'UnrecognizedClientException', message: TOKEN_INVALID });
    expect(refusal(() => verify(presignedGet, {}, () => undefined))).toEqual({
      code: 'UnrecognizedClientException',
      message: TOKEN_INVALID,
    });
  });

  it('a wrong secret: InvalidSignatureException', () => {
    const expected = { code: 'InvalidSignatureException', message: MISMATCH };
    expect(refusal(() => verify(post, {}, () => 'not the secret'))).toEqual(expected);
    expect(refusal(() => verify(presignedGet, {}, () => 'not the secret'))).toEqual(expected);
  });

  it('the cache of signing keys never lets a changed secret through, and stays bounded', () => {
    expect(verify(post).accessKeyId).toBe(AKID);
    expect(refusal(() => verify(post, {}, () => `${SECRET}x`)).message).toBe(MISMATCH);
    expect(refusal(() => verify(post, {}, () => SECRET.slice(1))).message).toBe(MISMATCH);
    expect(verify(post).accessKeyId).toBe(AKID);
    for (let i = 0; i < 1_100; i += 1) expect(() => verify(post, {}, () => `secret-${i}`)).toThrow(MISMATCH);
    expect(signingKeysCached()).toBeLessThanOrEqual(1_000);
    expect(verify(post).accessKeyId).toBe(AKID);
  });

  it('a signature changed or cut short: a mismatch, not a crash', () => {
    const signature = /Signature=([0-9a-f]{64})/.exec(authorizationOf(post))?.[1] ?? '';
    const flipped = `${signature.slice(0, 63)}${signature.endsWith('0') ? '1' : '0'}`;
    for (const other of [flipped, signature.slice(0, 63), `${signature}0`, signature.toUpperCase(), `${signature.slice(0, 62)}é`]) {
      const authorization = authorizationOf(post).replace(signature, other);
      expect(refusal(() => verify(withHeaders(post, { authorization })))).toEqual({ code: 'InvalidSignatureException', message: MISMATCH });
    }
  });

  it('a body changed after signing, though the x-amz-content-sha256 header still claims the old one', () => {
    const changed = new TextEncoder().encode(PUT_BODY.replace('orders', 'others'));
    expect(refusal(() => verify({ ...post, body: changed }))).toEqual({ code: 'InvalidSignatureException', message: MISMATCH });
    expect(refusal(() => verify({ ...presignedPost, body: changed }))).toEqual({ code: 'InvalidSignatureException', message: MISMATCH });
    expect(refusal(() => verify({ ...post, body: new Uint8Array(0) })).message).toBe(MISMATCH);
  });

  it('a header claiming an unsigned payload is refused', () => {
    expect(refusal(() => verify(withHeaders(post, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }))).message).toBe(MISMATCH);
  });

  it('a signed header changed after signing', () => {
    expect(refusal(() => verify(withHeaders(post, { 'x-amz-target': 'Kinesis_20131202.DeleteStream' }))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withHeaders(post, { 'content-type': 'application/json' }))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withHeaders(post, { host: 'example.com' }))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withHeaders(presignedGet, { host: 'example.com' }))).message).toBe(MISMATCH);
  });

  it('an unsigned header changed or added is no change', () => {
    expect(verify(withHeaders(post, { 'user-agent': 'other', 'x-forwarded-for': '10.0.0.1' })).accessKeyId).toBe(AKID);
  });

  it('the method, path or query changed after signing', () => {
    expect(refusal(() => verify({ ...post, method: 'PUT' })).message).toBe(MISMATCH);
    expect(refusal(() => verify({ ...get, path: '/streams/my%20stream/x/y/shards%2A' })).message).toBe(MISMATCH);
    expect(refusal(() => verify({ ...get, path: '/streams/my%2520stream/x/shards%2A' })).message).toBe(MISMATCH);
    expect(refusal(() => verify({ ...get, path: '/streams/my stream/x/shards*' })).message).toBe(MISMATCH);
    expect(refusal(() => verify(withParam(get, 'StreamName', 'other'))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withParam(presignedGet, 'StreamName', 'other'))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withQuery(get, (pieces) => [...pieces, 'extra=1']))).message).toBe(MISMATCH);
    expect(refusal(() => verify(withQuery(get, (pieces) => pieces.filter((piece) => piece !== 'b=1')))).message).toBe(MISMATCH);
  });

  it('an equivalent path (the same after normalizing) is the same request', () => {
    expect(verify({ ...get, path: '/streams/my%20stream/x/y/../shards%2A' }).accessKeyId).toBe(AKID);
    expect(verify({ ...get, path: '/streams//my%20stream/./x/shards%2A' }).accessKeyId).toBe(AKID);
  });

  it('a session token, which this server never issues: UnrecognizedClientException after the signature', async () => {
    const expected = { code: 'UnrecognizedClientException', message: TOKEN_INVALID };
    const header = await send(await signer({ sessionToken: 'FwoGZXIvYXdzEXAMPLE' }).sign(postRequest(), { signingDate }));
    expect(header.headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE');
    expect(refusal(() => verify(header))).toEqual(expected);
    const query = await send(await signer({ sessionToken: 'FwoGZXIvYXdzEXAMPLE' }).presign(getRequest(), { signingDate }));
    expect(query.query).toContain('X-Amz-Security-Token=');
    expect(refusal(() => verify(query))).toEqual(expected);
    expect(refusal(() => verify(header, {}, () => 'not the secret'))).toEqual({ code: 'InvalidSignatureException', message: MISMATCH });
  });
});
