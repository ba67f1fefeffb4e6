import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FunctionError, FunctionTimeoutError, callableFunction, type CallableFunction } from '../../src/triggers/functions.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';

// Goal: the three kinds of function a trigger calls: a module's export on a piscina thread
// (async and callback style, as Lambda handlers are written), an HTTP URL, and an embedded
// JavaScript function; a handler that throws, hangs past its timeout or runs out of memory fails
// its invocation only, and the next invocation works. Method: handler modules in fixtures/, a
// real HTTP server on 127.0.0.1, real threads.

const HANDLERS = fileURLToPath(new URL('./fixtures/handlers.mjs', import.meta.url));
const EVENT: KinesisEvent = {
  Records: [
    {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'k',
        sequenceNumber: '1',
        data: Buffer.from('hello').toString('base64'),
        approximateArrivalTimestamp: 1,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: 'shardId-000000000000:1',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
    },
  ],
};

const made: CallableFunction[] = [];
afterEach(async () => {
  for (const fn of made.splice(0)) await fn.close();
});
const fn = (...args: Parameters<typeof callableFunction>): CallableFunction => {
  const callable = callableFunction(...args);
  made.push(callable);
  return callable;
};

describe('module handlers on threads', () => {
  it('runs async and callback handlers with a Lambda-like context', async () => {
    expect(await fn('count', { handler: `${HANDLERS}#count` }).invoke(EVENT)).toEqual({
      records: 1,
      functionName: 'count',
      remaining: true,
    });
    expect(await fn('cb', { handler: `${HANDLERS}#withCallback` }).invoke(EVENT)).toEqual({ first: 'hello' });
  });

  it('fails the invocation of a handler that throws, hangs or runs out of memory, and goes on', async () => {
    await expect(fn('throws', { handler: `${HANDLERS}#throws` }).invoke(EVENT)).rejects.toThrow(/the handler failed/);
    const hanging = fn('hangs', { handler: `${HANDLERS}#hangs`, timeoutSeconds: 1 });
    await expect(hanging.invoke(EVENT)).rejects.toBeInstanceOf(FunctionTimeoutError);
    const hog = fn('hogs', { handler: `${HANDLERS}#hogs`, memorySizeMb: 64, timeoutSeconds: 60 });
    await expect(hog.invoke(EVENT)).rejects.toBeInstanceOf(FunctionError);
    expect(await fn('count', { handler: `${HANDLERS}#count` }).invoke(EVENT)).toMatchObject({ records: 1 });
  });
});

describe('HTTP and embedded functions', () => {
  let server: http.Server;
  let url = '';
  const bodies: unknown[] = [];
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        bodies.push(JSON.parse(text));
        if (request.url === '/fail') response.writeHead(500).end('broken');
        else if (request.url === '/slow') setTimeout(() => response.writeHead(200).end('{}'), 3000);
        else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ batchItemFailures: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('POSTs the event as JSON and takes the JSON answer; a 5xx or a timeout fails the invocation', async () => {
    expect(await fn('http', { handler: `${url}/ok` }).invoke(EVENT)).toEqual({ batchItemFailures: [] });
    expect(bodies[0]).toEqual(EVENT);
    await expect(fn('http-fail', { handler: `${url}/fail` }).invoke(EVENT)).rejects.toThrow(/answered HTTP 500/);
    await expect(fn('http-slow', { handler: `${url}/slow`, timeoutSeconds: 1 }).invoke(EVENT)).rejects.toBeInstanceOf(FunctionTimeoutError);
  });

  it('calls an embedded function, with its timeout', async () => {
    expect(await fn('inline', { handler: (event) => event.Records.length }).invoke(EVENT)).toBe(1);
    await expect(
      fn('inline-hang', { handler: () => new Promise(() => undefined), timeoutSeconds: 1 }).invoke(EVENT),
    ).rejects.toBeInstanceOf(FunctionTimeoutError);
  });
});
