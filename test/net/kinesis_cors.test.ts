import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.js';
import { JSON_HEADERS, rawKinesis } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: browser code using the AWS SDK reaches the Kinesis API from another origin, with the
// CORS answers kinesalite's test suite expects of Kinesis. Method: raw preflights and requests
// over HTTP/1.1 and h2c check each header; then the SDK itself, bundled for browsers by esbuild,
// runs in headless Chromium on a page served from another port (another origin), so the
// browser's own CORS checks decide: a missing header there is a failed fetch. What the page put
// is read back from the engine. Nothing is mocked and nothing is skipped: without Chromium the
// suite fails.

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORIGIN = 'http://page.example';
const EXPOSED = 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date';
/** What the SDK for JavaScript sends, and so what its browser preflight asks for. */
const SDK_HEADERS =
  'amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-target,x-amz-user-agent';
/** Chromium can take seconds to start on a loaded machine; these bound hangs, not speed. */
const SETUP_TIMEOUT_MS = 120_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer('shardline-kinesis-cors-', (running) => {
  ({ engine, server } = running);
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly bytes: Buffer;
}

function h2(headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.url);
    session.on('error', reject);
    const stream = session.request({ ':path': '/', ...headers });
    const chunks: Buffer[] = [];
    let received: http2.IncomingHttpHeaders = {};
    stream.on('response', (answer) => (received = answer));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(received[':status']), headers: received, bytes: Buffer.concat(chunks) });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const PREFLIGHT = { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': SDK_HEADERS };

describe('CORS, as Kinesis answers it', () => {
  it.each([
    ['HTTP/1.1', (): Promise<Answer> => rawKinesis(server.port, PREFLIGHT, '', 'OPTIONS')],
    ['h2c', (): Promise<Answer> => h2({ ':method': 'OPTIONS', ...PREFLIGHT }, '')],
  ])('answers a preflight over %s with what it asks for, unsigned', async (_transport, preflight) => {
    const answer = await preflight();
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': SDK_HEADERS,
      'access-control-max-age': '172800',
      'content-length': '0',
      'x-amzn-requestid': expect.stringMatching(UUID),
    });
    expect(answer.bytes.length).toBe(0);
  });

  it('allows the method a preflight names, and POST when it names none', async () => {
    expect(
      (await rawKinesis(server.port, { ...PREFLIGHT, 'access-control-request-method': 'PUT' }, '', 'OPTIONS')).headers[
        'access-control-allow-methods'
      ],
    ).toBe('PUT');
    const bare = await rawKinesis(server.port, { origin: ORIGIN }, '', 'OPTIONS');
    expect(bare.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-max-age': '172800',
    });
    expect(bare.headers['access-control-allow-headers']).toBeUndefined();
  });

  it.each([
    ['an answer', 'ListStreams', '{}', 200],
    ['an error', 'DescribeStreamSummary', '{"StreamName":"no-such-stream"}', 400],
  ])('lets a page read the headers of %s to a request with Origin', async (_case, operation, body, status) => {
    const headers = { ...JSON_HEADERS, origin: ORIGIN, 'x-amz-target': `Kinesis_20131202.${operation}` };
    for (const answer of [await rawKinesis(server.port, headers, body), await h2({ ':method': 'POST', ...headers }, body)]) {
      expect(answer.status).toBe(status);
      expect(answer.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED });
    }
  });

  it('adds nothing without Origin, and an OPTIONS without Origin is no preflight', async () => {
    const answer = await rawKinesis(server.port, { ...JSON_HEADERS, 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}');
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    const options = await rawKinesis(server.port, JSON_HEADERS, '', 'OPTIONS');
    expect({ status: options.status, type: options.body.__type }).toEqual({ status: 400, type: 'UnknownOperationException' });
  });
});

/** The AWS SDK for JavaScript as a browser gets it: esbuild's browser bundle, one ES module. */
async function bundleSdk(): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT_DIR,
    stdin: {
      contents:
        "export { KinesisClient, CreateStreamCommand, PutRecordCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';",
      resolveDir: ROOT_DIR,
      loader: 'ts',
    },
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    bundle: true,
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** Serves a page that loads the bundle, on a port (an origin) of its own. */
async function startPageServer(sdk: string): Promise<{ server: http.Server; origin: string }> {
  const page = '<!doctype html><script type="module">import * as sdk from "/sdk.js"; window.sdk = sdk;</script>';
  const pages = http.createServer((request, response) => {
    if (request.url === '/sdk.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    else response.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve, reject) => {
    pages.once('error', reject);
    pages.listen(0, '127.0.0.1', resolve);
  });
  return { server: pages, origin: `http://127.0.0.1:${(pages.address() as AddressInfo).port}` };
}

interface PageReport {
  readonly createRequestId: string | undefined;
  readonly shardId: string | undefined;
  readonly missing: { readonly name: string; readonly status: number | undefined; readonly requestId: string | undefined };
}

describe('the AWS SDK in Chromium, on a page of another origin', () => {
  let browser: Browser | undefined;
  let pages: http.Server | undefined;

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (pages === undefined ? resolve(undefined) : pages.close(resolve)));
  }, SETUP_TIMEOUT_MS);

  it(
    "creates a stream, puts a record and reads a typed error, with each answer's request id",
    async () => {
      if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium (as .ci/run does)`);
      const served = await startPageServer(await bundleSdk());
      pages = served.server;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: SETUP_TIMEOUT_MS });
      const page = await browser.newPage();
      await page.goto(`${served.origin}/`, { timeout: SETUP_TIMEOUT_MS });
      await page.waitForFunction('window.sdk !== undefined', undefined, { timeout: SETUP_TIMEOUT_MS });
      const report = await page.evaluate(async (endpoint): Promise<PageReport> => {
        // Runs in the page: `sdk` is the bundle's exports.
        const sdk = (globalThis as unknown as { sdk: typeof import('@aws-sdk/client-kinesis') }).sdk;
        const client = new sdk.KinesisClient({
          endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
          maxAttempts: 1,
        });
        const created = await client.send(new sdk.CreateStreamCommand({ StreamName: 'from-a-page', ShardCount: 1 }));
        const put = await client.send(
          new sdk.PutRecordCommand({ StreamName: 'from-a-page', PartitionKey: 'k', Data: new TextEncoder().encode('hello from a page') }),
        );
        const missing = await client.send(new sdk.DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' })).then(
          () => ({ name: 'none', status: undefined, requestId: undefined }),
          (error: { name: string; $metadata?: { httpStatusCode?: number; requestId?: string } }) => ({
            name: error.name,
            status: error.$metadata?.httpStatusCode,
            requestId: error.$metadata?.requestId,
          }),
        );
        return { createRequestId: created.$metadata.requestId, shardId: put.ShardId, missing };
      }, server.url);
      // The request ids come from x-amzn-RequestId, which a page reads only when it is exposed.
      expect(report).toEqual({
        createRequestId: expect.stringMatching(UUID),
        shardId: 'shardId-000000000000',
        missing: { name: 'ResourceNotFoundException', status: 400, requestId: expect.stringMatching(UUID) },
      });
      const { ShardIterator } = await engine.getShardIterator({
        StreamName: 'from-a-page',
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      });
      expect((await engine.getRecords({ ShardIterator })).Records.map((record) => Buffer.from(record.Data).toString())).toEqual([
        'hello from a page',
      ]);
    },
    SETUP_TIMEOUT_MS,
  );
});
