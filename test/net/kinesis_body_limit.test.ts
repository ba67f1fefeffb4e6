import { HTTP_BODY_BYTES_MAX } from '../../src/limits.js';
import http from 'node:http';
import http2 from 'node:http2';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { JSON_HEADERS, rawKinesis } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: a request body over the limit is answered, every time, with a 413 and AWS's error body,
// on HTTP/1.1 and h2c, and nothing of it is stored; the HTTP/1.1 connection then closes, and the
// HTTP/2 session goes on. Method: real clients (node:http, node:http2, the AWS SDK) send bodies
// of 9 MiB (a PutRecords) and 12 MiB (a stream name) many times in a row: cutting the
// connection at the limit lost the answer to a reset about half of the time, so a handful of
// tries in a row would show that race.

const TRIES = 20;
const STREAM = 'limits';
const TOO_LARGE_MESSAGE = `The request body is over ${HTTP_BODY_BYTES_MAX} bytes: a Kinesis request is at most a PutRecords of 5 MiB of data`;

let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer('shardline-kinesis-body-limit-', async (running) => {
  ({ engine, server } = running);
  await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
});

/** The two oversized requests of the issue, alternated: 9 MiB of records, a 12 MiB stream name. */
function oversized(try_: number): { target: string; body: Buffer } {
  if (try_ % 2 === 0) {
    const data = Buffer.alloc(9 * 1024 * 1024 * 0.75, try_).toString('base64');
    return {
      target: 'PutRecords',
      body: Buffer.from(JSON.stringify({ StreamName: STREAM, Records: [{ PartitionKey: 'k', Data: data }] })),
    };
  }
  return { target: 'DescribeStream', body: Buffer.from(JSON.stringify({ StreamName: 'n'.repeat(12 * 1024 * 1024) })) };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: unknown;
}

/** One HTTP/1.1 request on a keep-alive connection of its own. */
function h1(target: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true });
    const request = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: '/',
        agent,
        headers: { ...JSON_HEADERS, 'x-amz-target': `Kinesis_20131202.${target}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          agent.destroy();
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** One h2c request on `session`. */
function h2(session: http2.ClientHttp2Session, target: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/', ...JSON_HEADERS, 'x-amz-target': `Kinesis_20131202.${target}` });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (received) => (headers = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () =>
      resolve({ status: Number(headers[':status']), headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }),
    );
    stream.on('error', reject);
    stream.end(body);
  });
}

function expectTooLarge(answer: Answer, label: string): void {
  expect({ label, status: answer.status, type: answer.headers['x-amzn-errortype'], body: answer.body }).toEqual({
    label,
    status: 413,
    type: 'SerializationException',
    body: { __type: 'SerializationException', message: TOO_LARGE_MESSAGE },
  });
}

async function storedCount(): Promise<number> {
  const iterator = await engine.getShardIterator({
    StreamName: STREAM,
    ShardId: 'shardId-000000000000',
    ShardIteratorType: 'TRIM_HORIZON',
  });
  return (await engine.getRecords({ ShardIterator: iterator.ShardIterator })).Records.length;
}

describe('a request body over the limit', () => {
  it(`is answered 413 over HTTP/1.1 every time (${TRIES} tries), closing the connection after it`, async () => {
    for (let i = 0; i < TRIES; i++) {
      const { target, body } = oversized(i);
      const answer = await h1(target, body);
      expectTooLarge(answer, `try ${i}, ${target}`);
      expect(answer.headers.connection).toBe('close');
    }
    expect(await storedCount()).toBe(0);
  });

  it(`is answered 413 over h2c every time (${TRIES} tries), and the session serves the next request`, async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    try {
      for (let i = 0; i < TRIES; i++) {
        const { target, body } = oversized(i);
        expectTooLarge(await h2(session, target, body), `try ${i}, ${target}`);
      }
      const after = await h2(session, 'DescribeStreamSummary', Buffer.from(JSON.stringify({ StreamName: STREAM })));
      expect(after.status).toBe(200);
    } finally {
      session.close();
    }
    expect(await storedCount()).toBe(0);
  });

  it('reaches the AWS SDK as an error with status 413, not a broken connection', async () => {
    const client = new KinesisClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const records = Array.from({ length: 10 }, () => ({ PartitionKey: 'k', Data: Buffer.alloc(700 * 1024) }));
      const error = (await client
        .send(new PutRecordsCommand({ StreamName: STREAM, Records: records }))
        .catch((caught: unknown) => caught)) as { name: string; $metadata: { httpStatusCode: number } };
      expect({ name: error.name, status: error.$metadata.httpStatusCode }).toEqual({ name: 'SerializationException', status: 413 });
    } finally {
      client.destroy();
    }
    expect(await storedCount()).toBe(0);
  });

  it('reads a body of exactly the limit as usual', async () => {
    const json = JSON.stringify({ StreamName: STREAM });
    const atLimit = Buffer.from(json + ' '.repeat(HTTP_BODY_BYTES_MAX - json.length));
    const answer = await rawKinesis(server.port, { ...JSON_HEADERS, 'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary' }, atLimit);
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).not.toBe('close');
  });
});
