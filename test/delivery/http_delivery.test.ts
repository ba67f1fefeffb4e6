import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { afterEach, describe, expect, it } from 'vitest';
import { firehoseClient } from './firehose_client.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import type { Engine } from '../../src/engine/engine.js';
import { DeliveryRegistry } from '../../src/delivery/registry.js';
import { tempDir } from '../helpers/temp_dir.js';
import { openEngine, until } from '../triggers/trigger_helpers.js';

// Goal: a delivery stream with an HTTP endpoint destination delivers its buffer by Firehose's
// protocol (headers, the access key, base64 records, the requestId echoed), and what the
// endpoint does not take goes to the backup bucket under http-endpoint-failed/ with Firehose's
// error record; a buffer is delivered once. Method: a real engine, its HTTP port with
// @aws-sdk/client-firehose, and a real node:http endpoint on a free port; the backup bucket in
// the directory store.

let engine: Engine | undefined;
let endpoint: http.Server | undefined;
let server: KinesisHttpServer | undefined;
let firehose: FirehoseClient | undefined;
afterEach(async () => {
  firehose?.destroy();
  await server?.stop();
  server = firehose = undefined;
  if (engine !== undefined) await (await DeliveryRegistry.of(engine)).stopAll();
  await engine?.close();
  await new Promise((resolve) => (endpoint === undefined ? resolve(undefined) : endpoint.close(resolve)));
  engine = endpoint = undefined;
});

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: { requestId: string; timestamp: number; records: { data: string }[] };
}

async function startEndpoint(status: number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  endpoint = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Received['body'];
      received.push({ headers: request.headers, body });
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ requestId: body.requestId, timestamp: Date.now() }));
    });
  });
  await new Promise<void>((resolve) => endpoint!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/ingest`, received };
}

function httpStream(url: string, retrySeconds: number): Record<string, unknown> {
  return {
    DeliveryStreamName: 'hooks',
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: url, Name: 'hooks', AccessKey: 'secret-key' },
      RequestConfiguration: { ContentEncoding: 'NONE', CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'test' }] },
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 },
      RetryOptions: { DurationInSeconds: retrySeconds },
      S3Configuration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::backup' },
    },
  };
}

const put = (registry: DeliveryRegistry, count: number): Promise<unknown> =>
  registry.putRecordBatch(
    'hooks',
    Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`event-${i}`) })),
  );

describe('an HTTP endpoint destination', () => {
  it("delivers the buffer by Firehose's protocol", async () => {
    const { url, received } = await startEndpoint(200);
    engine = await openEngine(tempDir());
    server = await KinesisHttpServer.start({ engine, port: 0 });
    firehose = firehoseClient(server.url);
    await firehose.send(new CreateDeliveryStreamCommand(httpStream(url, 0) as unknown as CreateDeliveryStreamCommandInput));
    const Records = Array.from({ length: 6 }, (_, i) => ({ Data: Buffer.from(`event-${i}`) }));
    await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'hooks', Records }));
    const registry = await DeliveryRegistry.of(engine);
    await registry.flush('hooks');
    await until(() => received.length >= 1, 'the delivery');
    expect(received).toHaveLength(1);
    const [{ headers, body }] = received as [Received];
    expect(headers).toMatchObject({
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-access-key': 'secret-key',
      'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:000000000000:deliverystream/hooks',
      'content-type': 'application/json',
    });
    expect(JSON.parse(headers['x-amz-firehose-common-attributes'] as string)).toEqual({ commonAttributes: { env: 'test' } });
    expect(headers['x-amz-firehose-request-id']).toBe(body.requestId);
    expect(body.records.map((record) => Buffer.from(record.data, 'base64').toString()).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `event-${i}`).sort(),
    );
    expect(registry.status('hooks')).toMatchObject({ recordsDelivered: 6, recordsFailed: 0 });
  });

  it('backs up what the endpoint refuses under http-endpoint-failed/, with the error record', async () => {
    const { url, received } = await startEndpoint(500);
    engine = await openEngine(tempDir());
    const registry = await DeliveryRegistry.of(engine);
    await registry.create(httpStream(url, 0));
    await put(registry, 3);
    await registry.flush('hooks');
    expect(received.length).toBeGreaterThanOrEqual(1);
    const root = path.join(engine.dataDir, 's3', 'backup');
    const files = fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((file) => file.isFile());
    expect(files).toHaveLength(1);
    const relative = path.relative(root, path.join(files[0]!.parentPath, files[0]!.name)).split(path.sep).join('/');
    expect(relative).toMatch(/^http-endpoint-failed\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/hooks-1-/);
    const lines = fs
      .readFileSync(path.join(root, relative), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ errorCode: 'HttpEndpoint.DestinationException', attemptsMade: 1 });
    expect(lines.map((line) => Buffer.from(line['rawData'] as string, 'base64').toString()).sort()).toEqual([
      'event-0',
      'event-1',
      'event-2',
    ]);
    expect(registry.status('hooks')).toMatchObject({ recordsDelivered: 0, recordsFailed: 3 });
  });
});
