import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliverToHttpEndpoint,
  resolveHttpEndpointConfiguration,
  retryDurationSecondsOf,
  splitIntoRequests,
  type HttpDeliveryOptions,
  type HttpEndpointSettings,
} from '../../src/delivery/http_endpoint.js';
import { InvalidArgumentException } from '../../src/errors.js';

// Goal: records reach an HTTP endpoint by Firehose's protocol (kinesis-family.md §5.5): the headers
// and body exactly, gzip, one request id across the retries of a request, only a conforming 200 as
// a delivery, a conforming 413 as final, everything else retried with Firehose's backoff while the
// waits stay within RetryOptions, Firehose's error codes for each way an attempt fails, buffers cut
// into requests of at most 10,000 records and 64 MiB, prompt abort; and the destination
// configuration checked as Firehose would. Method: a real node:http server on 127.0.0.1 scripted
// per request; an injected clock, sleep (recording the waits, never waiting) and jitter source.

const NOW = Date.UTC(2026, 6, 13, 14, 0, 0);
const SOURCE_ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/orders';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Header names as they were sent. */
  readonly headerNames: readonly string[];
  readonly body: Buffer;
  /** The body as JSON text, gunzipped when it came gzipped. */
  readonly text: string;
  readonly requestId: string;
}

/** What the scripted endpoint does with a request: answer, never answer, or drop the connection. */
type Answer = { readonly status: number; readonly body: string; readonly type?: string } | 'hang' | 'reset';

interface Endpoint {
  readonly url: string;
  readonly received: Received[];
}

let server: http.Server | undefined;

afterEach(async () => {
  const open = server;
  server = undefined;
  if (open === undefined) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
});

async function endpoint(script: (request: Received, index: number) => Answer, path = '/'): Promise<Endpoint> {
  const received: Received[] = [];
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: Received = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        headerNames: request.rawHeaders.filter((_, i) => i % 2 === 0),
        body,
        text: (request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
        requestId: String(request.headers['x-amz-firehose-request-id']),
      };
      received.push(entry);
      answer(response, script(entry, received.length - 1));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, received };
}

function answer(response: http.ServerResponse, what: Answer): void {
  if (what === 'hang') return;
  if (what === 'reset') return void response.socket?.destroy();
  response.writeHead(what.status, { 'Content-Type': what.type ?? 'application/json' }).end(what.body);
}

/** Firehose's success response for the request. */
function accepted(request: Received): Answer {
  return { status: 200, body: JSON.stringify({ requestId: request.requestId, timestamp: NOW }) };
}

function refused(request: Received, status: number, errorMessage = 'no'): Answer {
  return { status, body: JSON.stringify({ requestId: request.requestId, timestamp: NOW, errorMessage }) };
}

function settings(url: string, overrides: Partial<HttpEndpointSettings> = {}): HttpEndpointSettings {
  return { url, contentEncoding: 'NONE', retryDurationSeconds: 300, sourceArn: SOURCE_ARN, ...overrides };
}

interface Harness {
  readonly options: HttpDeliveryOptions;
  readonly waits: number[];
  readonly controller: AbortController;
}

function harness(overrides: Partial<HttpDeliveryOptions> = {}): Harness {
  const waits: number[] = [];
  const controller = new AbortController();
  const options: HttpDeliveryOptions = {
    signal: controller.signal,
    now: () => NOW,
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    ...overrides,
  };
  return { options, waits, controller };
}

function records(...texts: string[]): Uint8Array[] {
  return texts.map((text) => new TextEncoder().encode(text));
}

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the request', () => {
  it('is a POST with Firehose headers, its path and query verbatim, and a body of base64 records', async () => {
    const site = await endpoint(accepted, '/ingest/v1?token=abc&x=1');
    const data = [new TextEncoder().encode('hello'), new Uint8Array([0, 255, 128, 10]), new Uint8Array(0)];
    const { options } = harness();
    const delivery = await deliverToHttpEndpoint(
      data,
      settings(site.url, { accessKey: 'k3y:with/any=chars', commonAttributes: { env: 'pre-prod', 'device-types': '', région: 'é' } }),
      options,
    );

    expect(delivery).toEqual({ delivered: true, attempts: 1 });
    const [request] = site.received;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/ingest/v1?token=abc&x=1');
    expect(request!.requestId).toMatch(UUID);
    expect(request!.headers).toMatchObject({
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-source-arn': SOURCE_ARN,
      'x-amz-firehose-access-key': 'k3y:with/any=chars',
      'content-type': 'application/json',
      'content-length': String(request!.body.length),
    });
    expect(request!.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(String(request!.headers['x-amz-firehose-common-attributes']))).toEqual({
      commonAttributes: { env: 'pre-prod', 'device-types': '', région: 'é' },
    });
    expect(request!.headerNames).toEqual(
      expect.arrayContaining([
        'X-Amz-Firehose-Protocol-Version',
        'X-Amz-Firehose-Request-Id',
        'X-Amz-Firehose-Source-Arn',
        'X-Amz-Firehose-Access-Key',
        'X-Amz-Firehose-Common-Attributes',
        'Content-Type',
      ]),
    );
    expect(request!.text).toBe(
      `{"requestId":"${request!.requestId}","timestamp":${NOW},"records":[{"data":"aGVsbG8="},{"data":"AP+ACg=="},{"data":""}]}`,
    );
  });

  it('carries no access key or common attributes header when none is set', async () => {
    const site = await endpoint(accepted);
    await deliverToHttpEndpoint(records('a'), settings(site.url), harness().options);
    expect(site.received[0]!.headers['x-amz-firehose-access-key']).toBeUndefined();
    expect(site.received[0]!.headers['x-amz-firehose-common-attributes']).toBeUndefined();
  });

  it('is gzipped with Content-Encoding: gzip and the compressed length when the stream compresses', async () => {
    const site = await endpoint(accepted);
    const data = records(...Array.from({ length: 200 }, (_, i) => `{"order":${i},"status":"shipped"}`));
    const delivery = await deliverToHttpEndpoint(data, settings(site.url, { contentEncoding: 'GZIP' }), harness().options);

    expect(delivery).toEqual({ delivered: true, attempts: 1 });
    const [request] = site.received;
    expect(request!.headers['content-encoding']).toBe('gzip');
    expect(request!.headers['content-length']).toBe(String(request!.body.length));
    expect(request!.body.length).toBeLessThan(request!.text.length);
    const body = JSON.parse(request!.text) as { requestId: string; records: { data: string }[] };
    expect(body.requestId).toBe(request!.requestId);
    expect(body.records.map((record) => Buffer.from(record.data, 'base64').toString())).toEqual(data.map((d) => Buffer.from(d).toString()));
  });

  it('sends nothing for no records', async () => {
    const site = await endpoint(accepted);
    expect(await deliverToHttpEndpoint([], settings(site.url), harness().options)).toEqual({ delivered: true, attempts: 0 });
    expect(site.received).toHaveLength(0);
  });
});

describe('the response', () => {
  it('500 then 200: retried after 1 s under the same request id and body, then delivered', async () => {
    const site = await endpoint((request, i) => (i === 0 ? refused(request, 500) : accepted(request)));
    const { options, waits } = harness();
    const delivery = await deliverToHttpEndpoint(records('a', 'b'), settings(site.url), options);

    expect(delivery).toEqual({ delivered: true, attempts: 2 });
    expect(waits).toEqual([1000]);
    expect(site.received[1]!.requestId).toBe(site.received[0]!.requestId);
    expect(site.received[1]!.text).toBe(site.received[0]!.text);
  });

  it('a conforming 413 is final: one attempt, permanent, the endpoint’s response quoted', async () => {
    const site = await endpoint((request) => refused(request, 413, 'Payload too large'));
    const { options, waits } = harness();
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url), options);

    expect(delivery).toMatchObject({ delivered: false, permanent: true, attempts: 1, errorCode: 'HttpEndpoint.DestinationException' });
    expect(delivery.delivered === false && delivery.errorMessage).toMatch(
      /^The following response was received from the endpoint destination\. 413: .*Payload too large/,
    );
    expect(site.received).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('a 413 that breaks the format (a proxy’s HTML page) counts as a 500: retried', async () => {
    const site = await endpoint((request, i) =>
      i === 0 ? { status: 413, body: '<html>Request Entity Too Large</html>', type: 'text/html' } : accepted(request),
    );
    expect(await deliverToHttpEndpoint(records('a'), settings(site.url), harness().options)).toEqual({ delivered: true, attempts: 2 });
  });

  it.each([
    [201, 'a 2xx other than 200'],
    [302, 'a redirect, never followed'],
    [429, 'throttling'],
    [503, 'a server error'],
  ])('%i (%s) is retried as HttpEndpoint.DestinationException', async (status) => {
    const site = await endpoint((request) => refused(request, status));
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 0 }), harness().options);
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1, errorCode: 'HttpEndpoint.DestinationException' });
    expect(delivery.delivered === false && delivery.errorMessage).toContain(`destination. ${status}: `);
  });

  it('a 200 naming another request id is not a delivery: retried until it names this one', async () => {
    const site = await endpoint((request, i) =>
      i < 2
        ? { status: 200, body: JSON.stringify({ requestId: 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f', timestamp: NOW }) }
        : accepted(request),
    );
    const { options, waits } = harness();
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url), options);

    expect(delivery).toEqual({ delivered: true, attempts: 3 });
    expect(waits).toEqual([1000, 2000]);
    expect(new Set(site.received.map((request) => request.requestId)).size).toBe(1);
  });

  it.each<[string, (request: Received) => Answer, RegExp]>([
    ['a body that is not JSON', () => ({ status: 200, body: 'OK' }), /is not a JSON object/],
    ['an empty body', () => ({ status: 200, body: '' }), /is not a JSON object/],
    ['a JSON array', () => ({ status: 200, body: '[]' }), /is not a JSON object/],
    ['no requestId', () => ({ status: 200, body: JSON.stringify({ timestamp: NOW }) }), /has requestId \(none\)/],
    [
      'a mismatched requestId',
      () => ({ status: 200, body: JSON.stringify({ requestId: 'other', timestamp: NOW }) }),
      /has requestId "other"/,
    ],
    [
      'a string timestamp',
      (r) => ({ status: 200, body: JSON.stringify({ requestId: r.requestId, timestamp: String(NOW) }) }),
      /no numeric timestamp/,
    ],
    ['no timestamp', (r) => ({ status: 200, body: JSON.stringify({ requestId: r.requestId }) }), /no numeric timestamp/],
    [
      'Content-Type text/plain',
      (r) => ({ ...(accepted(r) as { status: number; body: string }), type: 'text/plain' }),
      /Content-Type text\/plain/,
    ],
  ])('a 200 with %s is HttpEndpoint.InvalidResponseFromDestination, not permanent', async (_, script, reason) => {
    const site = await endpoint(script);
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 0 }), harness().options);
    expect(delivery).toMatchObject({
      delivered: false,
      permanent: false,
      attempts: 1,
      errorCode: 'HttpEndpoint.InvalidResponseFromDestination',
    });
    expect(delivery.delivered === false && delivery.errorMessage).toMatch(reason);
    expect(delivery.delivered === false && delivery.errorMessage).toContain(site.received[0]!.requestId);
  });

  it('takes application/json with parameters', async () => {
    const site = await endpoint((r) => ({ ...(accepted(r) as { status: number; body: string }), type: 'Application/JSON; charset=utf-8' }));
    expect(await deliverToHttpEndpoint(records('a'), settings(site.url), harness().options)).toEqual({ delivered: true, attempts: 1 });
  });

  it('a body over 1 MiB is HttpEndpoint.ResponseTooLarge', async () => {
    const site = await endpoint((r) => ({
      status: 200,
      body: JSON.stringify({ requestId: r.requestId, timestamp: NOW, pad: 'x'.repeat(1024 * 1024) }),
    }));
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 0 }), harness().options);
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1, errorCode: 'HttpEndpoint.ResponseTooLarge' });
  });
});

describe('an attempt that gets no response', () => {
  it('an endpoint that never answers is HttpEndpoint.RequestTimeout after timeoutMs', async () => {
    const site = await endpoint(() => 'hang');
    const delivery = await deliverToHttpEndpoint(
      records('a'),
      settings(site.url, { retryDurationSeconds: 0 }),
      harness({ timeoutMs: 200 }).options,
    );
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1, errorCode: 'HttpEndpoint.RequestTimeout' });
    expect(site.received).toHaveLength(1);
  });

  it('a timeout is retried like any failure', async () => {
    const site = await endpoint((request, i) => (i === 0 ? 'hang' : accepted(request)));
    expect(await deliverToHttpEndpoint(records('a'), settings(site.url), harness({ timeoutMs: 200 }).options)).toEqual({
      delivered: true,
      attempts: 2,
    });
    expect(site.received[1]!.requestId).toBe(site.received[0]!.requestId);
  });

  it('nothing listening is HttpEndpoint.ConnectionFailed', async () => {
    const port = await closedPort();
    const delivery = await deliverToHttpEndpoint(
      records('a'),
      settings(`http://127.0.0.1:${port}/`, { retryDurationSeconds: 0 }),
      harness().options,
    );
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1, errorCode: 'HttpEndpoint.ConnectionFailed' });
  });

  it('a connection dropped by the endpoint is HttpEndpoint.ConnectionReset, and retried', async () => {
    const site = await endpoint((request, i) => (i === 0 ? 'reset' : accepted(request)));
    const { options } = harness();
    expect(await deliverToHttpEndpoint(records('a'), settings(site.url), options)).toEqual({ delivered: true, attempts: 2 });
    const dropped = await endpoint(() => 'reset');
    const delivery = await deliverToHttpEndpoint(records('a'), settings(dropped.url, { retryDurationSeconds: 0 }), options);
    expect(delivery).toMatchObject({ delivered: false, permanent: false, errorCode: 'HttpEndpoint.ConnectionReset' });
  });

  it('https to a server that does not speak TLS is HttpEndpoint.SSLHandshakeFailure', async () => {
    const site = await endpoint(accepted);
    const delivery = await deliverToHttpEndpoint(
      records('a'),
      settings(site.url.replace('http:', 'https:'), { retryDurationSeconds: 0 }),
      harness().options,
    );
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1, errorCode: 'HttpEndpoint.SSLHandshakeFailure' });
  });
});

describe('the retries', () => {
  it('wait 1 s × 2^n, capped at 120 s, until the next wait would take them past RetryOptions (300 s)', async () => {
    const site = await endpoint((request) => refused(request, 500, 'down'));
    const { options, waits } = harness();
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url), options);

    // 1+2+4+…+64 = 127 s, then 120 s (247 s); another 120 s would make 367 s.
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000]);
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 9, errorCode: 'HttpEndpoint.DestinationException' });
    expect(delivery.delivered === false && delivery.errorMessage).toContain('down');
    expect(site.received).toHaveLength(9);
    expect(new Set(site.received.map((request) => request.requestId)).size).toBe(1);
  });

  it('jitter moves each wait within ±15 %, and so how many fit in the duration', async () => {
    const site = await endpoint((request) => refused(request, 500));
    const low = harness({ random: () => 0 });
    const lowDelivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 3 }), low.options);
    expect(low.waits).toEqual([850, 1700]); // 2,550 ms; 3,400 more would pass 3 s
    expect(lowDelivery).toMatchObject({ delivered: false, attempts: 3 });

    const high = harness({ random: () => 0.9999 });
    const highDelivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 3 }), high.options);
    expect(high.waits).toEqual([1150]); // 2,300 more would make 3,450 ms
    expect(highDelivery).toMatchObject({ delivered: false, attempts: 2 });
  });

  it('RetryOptions 0 is one attempt and no wait', async () => {
    const site = await endpoint((request) => refused(request, 500));
    const { options, waits } = harness();
    const delivery = await deliverToHttpEndpoint(records('a'), settings(site.url, { retryDurationSeconds: 0 }), options);
    expect(delivery).toMatchObject({ delivered: false, permanent: false, attempts: 1 });
    expect(waits).toEqual([]);
  });
});

describe('a buffer over one request’s limits', () => {
  it('10,001 records go as 10,000 then 1, each under its own request id, in order', async () => {
    const site = await endpoint(accepted);
    const data = Array.from({ length: 10_001 }, (_, i) => new TextEncoder().encode(String(i)));
    const delivery = await deliverToHttpEndpoint(data, settings(site.url), harness().options);

    expect(delivery).toEqual({ delivered: true, attempts: 2 });
    const bodies = site.received.map((request) => JSON.parse(request.text) as { requestId: string; records: { data: string }[] });
    expect(bodies.map((body) => body.records.length)).toEqual([10_000, 1]);
    expect(Buffer.from(bodies[0]!.records[9_999]!.data, 'base64').toString()).toBe('9999');
    expect(Buffer.from(bodies[1]!.records[0]!.data, 'base64').toString()).toBe('10000');
    expect(bodies.map((body) => body.requestId)).toEqual(site.received.map((request) => request.requestId));
    expect(site.received[0]!.requestId).not.toBe(site.received[1]!.requestId);
  });

  it('a later part is sent only once the one before it was taken', async () => {
    const site = await endpoint((request) => refused(request, 413));
    const data = Array.from({ length: 10_001 }, () => new Uint8Array([1]));
    const delivery = await deliverToHttpEndpoint(data, settings(site.url), harness().options);
    expect(delivery).toMatchObject({ delivered: false, permanent: true, attempts: 1 });
    expect(site.received).toHaveLength(1);
  });

  it('attempts add up over the parts', async () => {
    const site = await endpoint((request, i) => (i === 1 ? refused(request, 500) : accepted(request)));
    const data = Array.from({ length: 10_001 }, () => new Uint8Array([1]));
    expect(await deliverToHttpEndpoint(data, settings(site.url), harness().options)).toEqual({ delivered: true, attempts: 3 });
  });

  it('is cut at 64 MiB of body before compression, and at 10,000 records', () => {
    const big = new Uint8Array(1_024_000); // Firehose's largest record: 1,365,336 base64 characters
    const parts = splitIntoRequests(Array.from({ length: 70 }, () => big));
    expect(parts.map((part) => part.length)).toEqual([49, 21]);
    const bodyBytes = (count: number): number => 100 + count * (1_365_336 + 12);
    expect(bodyBytes(49)).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(bodyBytes(50)).toBeGreaterThan(64 * 1024 * 1024);
    expect(splitIntoRequests(Array.from({ length: 20_000 }, () => new Uint8Array(1))).map((part) => part.length)).toEqual([10_000, 10_000]);
    expect(splitIntoRequests([])).toEqual([]);
  });
});

describe('abort', () => {
  it('before the start: rejects, nothing sent', async () => {
    const site = await endpoint(accepted);
    const { options, controller } = harness();
    controller.abort();
    await expect(deliverToHttpEndpoint(records('a'), settings(site.url), options)).rejects.toMatchObject({ name: 'AbortError' });
    expect(site.received).toHaveLength(0);
  });

  it('while a request waits for its response: rejects at once', async () => {
    const { options, controller } = harness();
    const site = await endpoint(() => {
      controller.abort();
      return 'hang';
    });
    await expect(deliverToHttpEndpoint(records('a'), settings(site.url), options)).rejects.toMatchObject({ name: 'AbortError' });
    expect(site.received).toHaveLength(1);
  });

  it('during a backoff: rejects, no further attempt', async () => {
    const site = await endpoint((request) => refused(request, 500));
    const controller = new AbortController();
    const { options } = harness({ signal: controller.signal, sleep: async () => controller.abort() });
    await expect(deliverToHttpEndpoint(records('a'), settings(site.url), options)).rejects.toMatchObject({ name: 'AbortError' });
    expect(site.received).toHaveLength(1);
  });
});

describe('resolveHttpEndpointConfiguration', () => {
  const S3 = { RoleARN: 'arn:aws:iam::123456789012:role/firehose', BucketARN: 'arn:aws:s3:::backup' };

  function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { EndpointConfiguration: { Url: 'https://example.com/ingest' }, S3Configuration: S3, ...overrides };
  }

  it('fills Firehose’s defaults', () => {
    expect(resolveHttpEndpointConfiguration(config())).toEqual({
      url: 'https://example.com/ingest',
      contentEncoding: 'NONE',
      retryDurationSeconds: 300,
      bufferingHints: { sizeInMBs: 5, intervalInSeconds: 300 },
      s3BackupMode: 'FailedDataOnly',
      s3Configuration: S3,
    });
  });

  it('takes every member', () => {
    const resolved = resolveHttpEndpointConfiguration(
      config({
        EndpointConfiguration: { Url: 'http://localhost:8080/x', Name: 'local', AccessKey: 'secret' },
        RequestConfiguration: {
          ContentEncoding: 'GZIP',
          CommonAttributes: [
            { AttributeName: 'env', AttributeValue: 'dev' },
            { AttributeName: 'empty', AttributeValue: '' },
          ],
        },
        RetryOptions: { DurationInSeconds: 0 },
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 0 },
        S3BackupMode: 'AllData',
      }),
    );
    expect(resolved).toEqual({
      url: 'http://localhost:8080/x',
      name: 'local',
      accessKey: 'secret',
      commonAttributes: { env: 'dev', empty: '' },
      contentEncoding: 'GZIP',
      retryDurationSeconds: 0,
      bufferingHints: { sizeInMBs: 64, intervalInSeconds: 0 },
      s3BackupMode: 'AllData',
      s3Configuration: S3,
    });
  });

  it('resolves RetryOptions alone, 300 s by default', () => {
    expect(retryDurationSecondsOf(undefined)).toBe(300);
    expect(retryDurationSecondsOf({})).toBe(300);
    expect(retryDurationSecondsOf({ DurationInSeconds: 7200 })).toBe(7200);
    expect(() => retryDurationSecondsOf({ DurationInSeconds: -1 })).toThrow(InvalidArgumentException);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'no EndpointConfiguration',
      { EndpointConfiguration: undefined },
      /'httpEndpointDestinationConfiguration\.endpointConfiguration'.*must not be null/,
    ],
    ['no Url', { EndpointConfiguration: {} }, /endpointConfiguration\.url'.*must not be null/],
    ['an ftp Url', { EndpointConfiguration: { Url: 'ftp://example.com/' } }, /is not an http:\/\/ or https:\/\/ URL/],
    ['a Url that is no URL', { EndpointConfiguration: { Url: 'example.com' } }, /is not an http:\/\/ or https:\/\/ URL/],
    [
      'a Url over 1,000 characters',
      { EndpointConfiguration: { Url: `https://e.com/${'a'.repeat(1000)}` } },
      /length less than or equal to 1000/,
    ],
    ['a blank Name', { EndpointConfiguration: { Url: 'https://e.com', Name: '  ' } }, /endpointConfiguration\.name'.*regular expression/],
    ['an AccessKey over 4,096 bytes', { EndpointConfiguration: { Url: 'https://e.com', AccessKey: 'é'.repeat(2049) } }, /4096 bytes/],
    ['an AccessKey with a newline', { EndpointConfiguration: { Url: 'https://e.com', AccessKey: 'a\nb' } }, /cannot carry/],
    ['ContentEncoding ZIP', { RequestConfiguration: { ContentEncoding: 'ZIP' } }, /Value 'ZIP' at '.*contentEncoding'.*\[NONE, GZIP\]/],
    [
      '51 CommonAttributes',
      {
        RequestConfiguration: { CommonAttributes: Array.from({ length: 51 }, (_, i) => ({ AttributeName: `a${i}`, AttributeValue: '' })) },
      },
      /less than or equal to 50/,
    ],
    [
      'an attribute named twice',
      {
        RequestConfiguration: {
          CommonAttributes: [
            { AttributeName: 'a', AttributeValue: '1' },
            { AttributeName: 'a', AttributeValue: '2' },
          ],
        },
      },
      /twice/,
    ],
    [
      'an attribute value over 1,024 characters',
      { RequestConfiguration: { CommonAttributes: [{ AttributeName: 'a', AttributeValue: 'v'.repeat(1025) }] } },
      /attributeValue'.*1024/,
    ],
    [
      'an attribute without a name',
      { RequestConfiguration: { CommonAttributes: [{ AttributeValue: 'v' }] } },
      /attributeName'.*must not be null/,
    ],
    [
      'RetryOptions over 7,200 s',
      { RetryOptions: { DurationInSeconds: 7201 } },
      /Value '7201' at '.*retryOptions\.durationInSeconds'.*less than or equal to 7200/,
    ],
    ['a fractional retry duration', { RetryOptions: { DurationInSeconds: 1.5 } }, /must be an integer/],
    ['SizeInMBs 65', { BufferingHints: { SizeInMBs: 65, IntervalInSeconds: 60 } }, /bufferingHints\.sizeInMBs'.*less than or equal to 64/],
    ['SizeInMBs 0', { BufferingHints: { SizeInMBs: 0, IntervalInSeconds: 60 } }, /greater than or equal to 1/],
    [
      'IntervalInSeconds 901',
      { BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 901 } },
      /intervalInSeconds'.*less than or equal to 900/,
    ],
    ['SizeInMBs without IntervalInSeconds', { BufferingHints: { SizeInMBs: 5 } }, /together, or neither/],
    ['S3BackupMode Failed', { S3BackupMode: 'Failed' }, /\[FailedDataOnly, AllData\]/],
    ['no S3Configuration', { S3Configuration: undefined }, /s3Configuration'.*must not be null/],
    ['an S3Configuration without BucketARN', { S3Configuration: { RoleARN: S3.RoleARN } }, /s3Configuration\.bucketARN'.*must not be null/],
  ])('refuses %s with InvalidArgumentException', (_, overrides, message) => {
    expect(() => resolveHttpEndpointConfiguration(config(overrides))).toThrow(InvalidArgumentException);
    expect(() => resolveHttpEndpointConfiguration(config(overrides))).toThrow(message);
  });

  it('never quotes the access key or attributes back', () => {
    const key = 'sk-live-'.padEnd(4097, 'x');
    expect(() => resolveHttpEndpointConfiguration(config({ EndpointConfiguration: { Url: 'https://e.com', AccessKey: key } }))).toThrow(
      /Value \*\*\* at/,
    );
    expect(() =>
      resolveHttpEndpointConfiguration(
        config({ RequestConfiguration: { CommonAttributes: [{ AttributeName: 'a', AttributeValue: 'secret'.repeat(200) }] } }),
      ),
    ).toThrow(/Value \*\*\* at/);
  });

  it('refuses what is not a configuration object', () => {
    expect(() => resolveHttpEndpointConfiguration(null)).toThrow(/httpEndpointDestinationConfiguration'.*must not be null/);
    expect(() => resolveHttpEndpointConfiguration('x')).toThrow(/must be an object/);
  });
});
