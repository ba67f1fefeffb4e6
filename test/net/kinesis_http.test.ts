import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AddTagsToStreamCommand,
  CreateStreamCommand,
  DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  IncreaseStreamRetentionPeriodCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamConsumersCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  MergeShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  RemoveTagsFromStreamCommand,
  type SubscribeToShardEvent,
  SplitShardCommand,
  SubscribeToShardCommand,
  UpdateShardCountCommand,
  UpdateStreamModeCommand,
} from '@aws-sdk/client-kinesis';
import { parseCborBody } from '@smithy/core/cbor';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { callKinesis, javaCbor, JSON_HEADERS, type RawAnswer, SIGNED, rawKinesis } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: the unmodified AWS SDK for JavaScript v3 works against shardline's Kinesis HTTP API,
// over HTTP/2 with prior knowledge (its default for http://) and over HTTP/1.1 on the same
// port: every operation the engine has, its errors as the SDK's typed exceptions, pagination,
// split and merge. Raw requests check what the SDK never sends: missing or malformed auth,
// unknown targets, bad bodies, each answered with AWS's error body (__type, message) and status.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer('shardline-kinesis-http-', (running) => {
  ({ engine, server } = running);
});

function sdk(transport: 'h2' | 'h1'): KinesisClient {
  const endpoint = `http://127.0.0.1:${server.port}`;
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    ...(transport === 'h1' ? { requestHandler: new NodeHttpHandler() } : {}),
  });
}

describe.each(['h2', 'h1'] as const)('the AWS SDK over %s', (transport) => {
  let client: KinesisClient;
  const stream = `sdk-${transport}`;

  beforeAll(() => {
    client = sdk(transport);
  });

  afterAll(() => client?.destroy());

  it('creates, describes and lists streams, with pagination', async () => {
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
    for (const extra of ['a', 'b', 'c']) await client.send(new CreateStreamCommand({ StreamName: `${stream}-${extra}`, ShardCount: 1 }));
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    expect(summary.StreamDescriptionSummary).toMatchObject({ StreamName: stream, StreamStatus: 'ACTIVE', OpenShardCount: 2 });
    expect(summary.StreamDescriptionSummary?.StreamCreationTimestamp).toBeInstanceOf(Date);
    expect(Math.abs(summary.StreamDescriptionSummary!.StreamCreationTimestamp!.getTime() - Date.now())).toBeLessThan(600_000);
    const names: string[] = [];
    let page = await client.send(new ListStreamsCommand({ Limit: 2 }));
    names.push(...page.StreamNames!);
    while (page.HasMoreStreams === true) {
      page = await client.send(new ListStreamsCommand({ Limit: 2, ExclusiveStartStreamName: names.at(-1) }));
      names.push(...page.StreamNames!);
    }
    expect(names.filter((name) => name.startsWith(stream))).toEqual([stream, `${stream}-a`, `${stream}-b`, `${stream}-c`]);
    const arn = summary.StreamDescriptionSummary!.StreamARN!;
    const byArn = await client.send(new DescribeStreamCommand({ StreamARN: arn }));
    expect(byArn.StreamDescription?.Shards).toHaveLength(2);
  });

  it('puts records and reads them back through iterators, blobs byte for byte', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const one = await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'key-1', Data: bytes }));
    const many = await client.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `key-${i}`, Data: encoder.encode(`record ${i}`) })),
      }),
    );
    expect(many.FailedRecordCount).toBe(0);
    expect(many.Records).toHaveLength(20);
    const read: string[] = [];
    let blob: Uint8Array | undefined;
    for (const shard of (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards!) {
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const { Records, NextShardIterator, MillisBehindLatest } = await client.send(new GetRecordsCommand({ ShardIterator }));
      expect(NextShardIterator).toBeTypeOf('string');
      expect(MillisBehindLatest).toBeTypeOf('number');
      for (const record of Records!) {
        expect(record.ApproximateArrivalTimestamp).toBeInstanceOf(Date);
        if (record.SequenceNumber === one.SequenceNumber) blob = record.Data;
        else read.push(decoder.decode(record.Data));
      }
    }
    expect(blob, 'the 256-byte record is read back').toBeDefined();
    expect(blob).toEqual(bytes);
    expect(read.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `record ${i}`).sort());
    const atTime = await client.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: one.ShardId,
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: new Date(Date.now() - 60_000),
      }),
    );
    expect((await client.send(new GetRecordsCommand({ ShardIterator: atTime.ShardIterator }))).Records!.length).toBeGreaterThan(0);
  });

  it('splits and merges shards, and pages through ListShards', async () => {
    const name = `${stream}-reshard`;
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    const [first, second] = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards!;
    await client.send(new MergeShardsCommand({ StreamName: name, ShardToMerge: first!.ShardId, AdjacentShardToMerge: second!.ShardId }));
    const open = (await client.send(new ListShardsCommand({ StreamName: name, ShardFilter: { Type: 'AT_LATEST' } }))).Shards!;
    expect(open).toHaveLength(1);
    const middle = ((BigInt(open[0]!.HashKeyRange!.StartingHashKey!) + BigInt(open[0]!.HashKeyRange!.EndingHashKey!)) / 2n).toString();
    await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: open[0]!.ShardId, NewStartingHashKey: middle }));
    const ids: string[] = [];
    let page = await client.send(new ListShardsCommand({ StreamName: name, MaxResults: 2 }));
    ids.push(...page.Shards!.map((shard) => shard.ShardId!));
    while (page.NextToken !== undefined) {
      page = await client.send(new ListShardsCommand({ NextToken: page.NextToken, MaxResults: 2 }));
      ids.push(...page.Shards!.map((shard) => shard.ShardId!));
    }
    expect(ids).toHaveLength(5);
    await client.send(new UpdateShardCountCommand({ StreamName: name, TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
    expect((await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.OpenShardCount).toBe(4);
  });

  it('manages retention, tags and consumers', async () => {
    await client.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: stream, RetentionPeriodHours: 48 }));
    await client.send(new DecreaseStreamRetentionPeriodCommand({ StreamName: stream, RetentionPeriodHours: 24 }));
    await client.send(new AddTagsToStreamCommand({ StreamName: stream, Tags: { team: 'data', tier: 'gold' } }));
    await client.send(new RemoveTagsFromStreamCommand({ StreamName: stream, TagKeys: ['tier'] }));
    expect((await client.send(new ListTagsForStreamCommand({ StreamName: stream }))).Tags).toEqual([{ Key: 'team', Value: 'data' }]);
    const arn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary!.StreamARN!;
    const { Consumer } = await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'app' }));
    expect(Consumer?.ConsumerCreationTimestamp).toBeInstanceOf(Date);
    expect(
      (await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }))).ConsumerDescription?.ConsumerName,
    ).toBe('app');
    expect((await client.send(new ListStreamConsumersCommand({ StreamARN: arn }))).Consumers?.map((c) => c.ConsumerName)).toEqual(['app']);
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: Consumer!.ConsumerARN }));
  });

  it('switches the capacity mode, and verifies a stream through the same API', async () => {
    const arn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary!.StreamARN!;
    await client.send(new UpdateStreamModeCommand({ StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    expect(
      (await client.send(new DescribeStreamSummaryCommand({ StreamARN: arn }))).StreamDescriptionSummary?.StreamModeDetails?.StreamMode,
    ).toBe('ON_DEMAND');
    await client.send(new UpdateStreamModeCommand({ StreamARN: arn, StreamModeDetails: { StreamMode: 'PROVISIONED' } }));
    // VerifyStream is shardline's own: no SDK command, the same awsJson1_1 call.
    const verified = await callKinesis(server.port, 'VerifyStream', { StreamName: stream });
    expect(verified.status).toBe(200);
    const shards = verified.body.Shards as Array<{ ShardId: string; Batches: number; Corrupt: unknown[] }>;
    expect(shards.length).toBeGreaterThan(0);
    expect(shards.every((shard) => shard.Corrupt.length === 0)).toBe(true);
    expect(shards.reduce((sum, shard) => sum + shard.Batches, 0)).toBeGreaterThan(0);
  });

  it("throws the SDK's typed exceptions with status 400", async () => {
    const missing = client.send(new DescribeStreamCommand({ StreamName: `${stream}-missing` }));
    await expect(missing).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    await expect(client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }))).rejects.toMatchObject({
      name: 'ResourceInUseException',
    });
    await expect(client.send(new GetRecordsCommand({ ShardIterator: 'not-an-iterator' }))).rejects.toMatchObject({
      name: 'InvalidArgumentException',
    });
    await expect(
      client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: '', Data: new Uint8Array(1) })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });

  it('deletes a stream', async () => {
    await client.send(new DeleteStreamCommand({ StreamName: `${stream}-c` }));
    await expect(client.send(new DescribeStreamSummaryCommand({ StreamName: `${stream}-c` }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

function raw(headers: Record<string, string>, body: string, method = 'POST'): Promise<RawAnswer> {
  return rawKinesis(server.port, headers, body, method);
}

describe('raw requests', () => {
  it.each([
    [{ ...JSON_HEADERS, authorization: '' }, 'MissingAuthenticationTokenException', /^Missing Authentication Token$/],
    [{ ...JSON_HEADERS, authorization: 'Basic abc' }, 'IncompleteSignatureException', /requires 'AWS4-HMAC-SHA256'/],
    [
      { ...JSON_HEADERS, authorization: 'AWS4-HMAC-SHA256 Credential=a/b' },
      'IncompleteSignatureException',
      /requires 'Signature' parameter\. Authorization header requires 'SignedHeaders' parameter\./,
    ],
    [
      { 'content-type': 'application/x-amz-json-1.1', authorization: SIGNED },
      'IncompleteSignatureException',
      /either a 'X-Amz-Date' or a 'Date' header/,
    ],
  ])('refuses bad authorization: %#', async (headers, type, message) => {
    const answer = await raw({ ...headers, 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}');
    expect(answer.status).toBe(400);
    expect(answer.body.__type).toBe(type);
    expect(answer.body.message).toMatch(message);
    expect(answer.headers['x-amzn-errortype']).toBe(type);
  });

  it.each([
    [{ 'x-amz-target': 'Kinesis_20131202.DropEverything' }, '{}', 'UnknownOperationException'],
    [{ 'x-amz-target': 'Kinesis_20131202.constructor' }, '{}', 'UnknownOperationException'],
    [{}, '{}', 'UnknownOperationException'],
    [{ 'x-amz-target': 'Kinesis_20131202.ListStreams', 'content-type': 'text/plain' }, '{}', 'UnknownOperationException'],
    [{ 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{"Limit":', 'SerializationException'],
    [{ 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '[1,2]', 'SerializationException'],
    [
      { 'x-amz-target': 'Kinesis_20131202.PutRecord' },
      '{"StreamName":"sdk-h1","PartitionKey":"k","Data":"not base64!"}',
      'SerializationException',
    ],
    [
      { 'x-amz-target': 'Kinesis_20131202.PutRecord' },
      '{"StreamName":"sdk-h1","PartitionKey":"k","Data":"ab!d"}',
      'SerializationException',
    ],
    [
      { 'x-amz-target': 'Kinesis_20131202.PutRecords' },
      '{"StreamName":"sdk-h1","Records":[{"PartitionKey":"k","Data":"aGk="},{"PartitionKey":"k","Data":7}]}',
      'SerializationException',
    ],
  ])('answers a bad request with a typed 400: %#', async (headers, body, type) => {
    const answer = await raw({ ...JSON_HEADERS, ...headers }, body);
    expect(answer.status).toBe(400);
    expect(answer.body.__type).toBe(type);
    expect(answer.body.message).toBeTypeOf('string');
  });

  it('answers with an empty body as an empty request, and says it is JSON', async () => {
    const answer = await raw({ ...JSON_HEADERS, 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(answer.body).toMatchObject({ StreamNames: expect.any(Array), HasMoreStreams: false });
  });

  it('answers the operations without output with an empty body, as the API Reference has them', async () => {
    const name = 'no-output';
    const arn = `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`;
    const calls: Array<[string, Record<string, unknown>]> = [
      ['CreateStream', { StreamName: name, ShardCount: 1 }],
      ['AddTagsToStream', { StreamName: name, Tags: { team: 'data' } }],
      ['RemoveTagsFromStream', { StreamName: name, TagKeys: ['team'] }],
      ['IncreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 48 }],
      ['DecreaseStreamRetentionPeriod', { StreamName: name, RetentionPeriodHours: 24 }],
      ['SplitShard', { StreamName: name, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }],
      ['MergeShards', { StreamName: name, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }],
      ['UpdateStreamMode', { StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }],
    ];
    for (const [operation, request] of calls) {
      const answer = await callKinesis(server.port, operation, request);
      expect({ operation, status: answer.status, length: answer.headers['content-length'], bytes: answer.bytes.length }).toEqual({
        operation,
        status: 200,
        length: '0',
        bytes: 0,
      });
      expect(answer.headers['content-type']).toBe('application/x-amz-json-1.1');
    }
    const registered = await callKinesis(server.port, 'RegisterStreamConsumer', { StreamARN: arn, ConsumerName: 'c' });
    expect(registered.body).toMatchObject({ Consumer: { ConsumerName: 'c' } });
    for (const [operation, request] of [
      ['DeregisterStreamConsumer', { StreamARN: arn, ConsumerName: 'c' }],
      ['DeleteStream', { StreamName: name }],
    ] as const) {
      const answer = await callKinesis(server.port, operation, request);
      expect({ operation, status: answer.status, bytes: answer.bytes.length }).toEqual({ operation, status: 200, bytes: 0 });
    }
  });

  it('serves HTTP/2 with prior knowledge and HTTP/1.1 on the same port', async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/',
          ...JSON_HEADERS,
          'x-amz-target': 'Kinesis_20131202.ListStreams',
        });
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        stream.end('{}');
      });
      expect(JSON.parse(body)).toMatchObject({ StreamNames: expect.any(Array) });
    } finally {
      session.close();
    }
    expect((await raw({ ...JSON_HEADERS, 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}')).status).toBe(200);
  });
});

const CBOR_HEADERS = { 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-date': '20261201T000000Z', authorization: SIGNED };

interface CborAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly bytes: Buffer;
  readonly body: Record<string, unknown>;
}

function cborRequest(operation: string, request: unknown, body?: Buffer): Promise<CborAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/', ...CBOR_HEADERS, 'x-amz-target': `Kinesis_20131202.${operation}` });
    const chunks: Buffer[] = [];
    let status = 0;
    let contentType: string | undefined;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      contentType = headers['content-type'] as string | undefined;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      session.close();
      const bytes = Buffer.concat(chunks);
      // An empty body (an operation without output) has no members, as the SDKs read it.
      resolve({ status, contentType, bytes, body: bytes.length === 0 ? {} : (javaCbor.decode(bytes) as Record<string, unknown>) });
    });
    stream.on('error', reject);
    stream.end(body ?? javaCbor.encode(request));
  });
}

describe('CBOR (application/x-amz-cbor-1.1)', () => {
  const stream = 'cbor';

  it('takes and answers CBOR: byte strings for blobs, tag 1 over epoch milliseconds for timestamps', async () => {
    const created = await cborRequest('CreateStream', { StreamName: stream, ShardCount: 1 });
    expect(created).toMatchObject({ status: 200, contentType: 'application/x-amz-cbor-1.1', bytes: Buffer.alloc(0) });
    // An operation without output answers an empty body, which Smithy's CBOR reader (the AWS
    // SDKs' for JavaScript) takes as no members.
    expect(await parseCborBody(new Uint8Array(created.bytes), {} as never)).toEqual({});
    const before = Date.now();
    const put = await cborRequest('PutRecord', { StreamName: stream, PartitionKey: 'k', Data: Buffer.from('hello') });
    expect(put).toMatchObject({
      status: 200,
      contentType: 'application/x-amz-cbor-1.1',
      body: { ShardId: 'shardId-000000000000', SequenceNumber: expect.any(String) },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const puts = await cborRequest('PutRecords', { StreamName: stream, Records: [{ PartitionKey: 'a', Data: Buffer.from([0, 255]) }] });
    expect(puts.body.FailedRecordCount).toBe(0);
    const from = async (Timestamp: Date): Promise<CborAnswer> => {
      const iterator = await cborRequest('GetShardIterator', {
        StreamName: stream,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp,
      });
      return cborRequest('GetRecords', { ShardIterator: iterator.body.ShardIterator });
    };
    const read = await from(new Date(before - 60_000));
    const records = read.body.Records as Array<{ Data: Uint8Array; ApproximateArrivalTimestamp: Date }>;
    expect(records.map((record) => Buffer.from(record.Data).toString('hex'))).toEqual([Buffer.from('hello').toString('hex'), '00ff']);
    // Read back as milliseconds, the arrival times are now; read as seconds they would be 1970.
    expect(records[0]!.ApproximateArrivalTimestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(records[0]!.ApproximateArrivalTimestamp.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    // Sent as milliseconds, AT_TIMESTAMP starts between the two puts.
    expect(((await from(between)).body.Records as unknown[]).length).toBe(1);
    // On the wire: major type 2 (0x45 = a byte string of 5) and tag 1 over a 64-bit integer
    // (0xc1 0x1b), not a typed-array tag 64 or a float of seconds.
    expect(read.bytes.includes(Buffer.concat([Buffer.from([0x45]), Buffer.from('hello')]))).toBe(true);
    expect(read.bytes.includes(Buffer.from([0xd8, 0x40]))).toBe(false);
    expect(read.bytes.includes(Buffer.from([0xc1, 0x1b]))).toBe(true);
  });

  it("takes and answers CBOR bodies of megabytes, past the cbor package's 16 KiB stream mark", async () => {
    const big = 'cbor-big';
    expect((await cborRequest('CreateStream', { StreamName: big, ShardCount: 1 })).status).toBe(200);
    const records = Array.from({ length: 200 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.alloc(10_000, i) }));
    const puts = await cborRequest('PutRecords', { StreamName: big, Records: records });
    expect(puts.body.FailedRecordCount).toBe(0);
    const iterator = await cborRequest('GetShardIterator', {
      StreamName: big,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const read = await cborRequest('GetRecords', { ShardIterator: iterator.body.ShardIterator });
    expect(read.bytes.length).toBeGreaterThan(2_000_000);
    const got = read.body.Records as Array<{ Data: Uint8Array }>;
    expect(got.map((record) => Buffer.from(record.Data).equals(Buffer.alloc(10_000, got.indexOf(record))))).toEqual(
      records.map(() => true),
    );
  });

  it("answers errors in CBOR with AWS's body", async () => {
    const missing = await cborRequest('DescribeStreamSummary', { StreamName: 'cbor-missing' });
    expect(missing).toMatchObject({
      status: 400,
      contentType: 'application/x-amz-cbor-1.1',
      body: { __type: 'ResourceNotFoundException', message: expect.stringContaining('cbor-missing') },
    });
    const textBlob = await cborRequest('PutRecord', { StreamName: stream, PartitionKey: 'k', Data: 'aGVsbG8=' });
    expect(textBlob.body).toMatchObject({ __type: 'SerializationException', message: "the value at 'data' must be a CBOR byte string" });
    const garbage = await cborRequest('ListStreams', null, Buffer.from([0xff, 0xff, 0x00]));
    expect(garbage).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
  });
});

describe("SubscribeToShard over HTTP/2, read by the SDK's own event-stream parser", () => {
  let client: KinesisClient;
  const stream = 'subscribed';

  beforeAll(() => {
    client = sdk('h2');
  });

  afterAll(() => client?.destroy());

  async function consumerArn(name: string): Promise<string> {
    const arn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary!.StreamARN!;
    return (await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: name }))).Consumer!.ConsumerARN!;
  }

  it('pushes records put before and after it started, with continuation sequence numbers, and ends at ChildShards', async () => {
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    const arn = await consumerArn('pushed');
    await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: encoder.encode('before') }));
    const { EventStream } = await client.send(
      new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }),
    );
    const seen: string[] = [];
    const events: SubscribeToShardEvent[] = [];
    let putAfter = false;
    for await (const event of EventStream!) {
      const payload = event.SubscribeToShardEvent;
      if (payload === undefined) continue;
      events.push(payload);
      seen.push(...payload.Records!.map((record) => decoder.decode(record.Data)));
      if (!putAfter && seen.includes('before')) {
        putAfter = true;
        await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: encoder.encode('after') }));
      }
      if (seen.includes('after') && payload.ChildShards === undefined) {
        const shard = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards![0]!;
        await client.send(
          new SplitShardCommand({
            StreamName: stream,
            ShardToSplit: shard.ShardId,
            NewStartingHashKey: '170141183460469231731687303715884105728',
          }),
        );
      }
    }
    expect(seen).toEqual(['before', 'after']);
    expect(
      events.every((event) => typeof event.ContinuationSequenceNumber === 'string' && typeof event.MillisBehindLatest === 'number'),
    ).toBe(true);
    expect(events.at(-1)!.ChildShards?.map((child) => child.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
  });

  it('starts AT_TIMESTAMP from the epoch seconds the SDK sends', async () => {
    const timed = 'subscribed-at';
    await client.send(new CreateStreamCommand({ StreamName: timed, ShardCount: 1 }));
    const streamArn = (await client.send(new DescribeStreamSummaryCommand({ StreamName: timed }))).StreamDescriptionSummary!.StreamARN!;
    const arn = (await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'timed' }))).Consumer!
      .ConsumerARN!;
    await client.send(new PutRecordCommand({ StreamName: timed, PartitionKey: 'k', Data: encoder.encode('early') }));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const from = new Date();
    await client.send(new PutRecordCommand({ StreamName: timed, PartitionKey: 'k', Data: encoder.encode('late') }));
    const { EventStream } = await client.send(
      new SubscribeToShardCommand({
        ConsumerARN: arn,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: from },
      }),
    );
    let first: string[] = [];
    for await (const event of EventStream!) {
      first = (event.SubscribeToShardEvent?.Records ?? []).map((record) => decoder.decode(record.Data));
      if (first.length > 0) break;
    }
    expect(first).toEqual(['late']);
  });

  it('refuses a second subscription of the same consumer and shard within 5 seconds, as AWS does', async () => {
    const arn = await consumerArn('twice');
    const abort = new AbortController();
    const first = await client.send(
      new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: 'shardId-000000000001', StartingPosition: { Type: 'LATEST' } }),
      { abortSignal: abort.signal },
    );
    try {
      const again = client.send(
        new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: 'shardId-000000000001', StartingPosition: { Type: 'LATEST' } }),
      );
      await expect(again).rejects.toMatchObject({ name: 'ResourceInUseException', $metadata: { httpStatusCode: 400 } });
      // Another shard of the same consumer is its own subscription.
      const other = await client.send(
        new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: 'shardId-000000000002', StartingPosition: { Type: 'LATEST' } }),
        { abortSignal: abort.signal },
      );
      expect(other.EventStream).toBeDefined();
    } finally {
      abort.abort();
    }
    expect(first.EventStream).toBeDefined();
  });

  it('answers an unknown consumer with a plain 400 before any event', async () => {
    const arn = await consumerArn('real');
    const subscribing = client.send(
      new SubscribeToShardCommand({
        ConsumerARN: arn.replace('/consumer/real:', '/consumer/ghost:'),
        ShardId: 'shardId-000000000001',
        StartingPosition: { Type: 'LATEST' },
      }),
    );
    await expect(subscribing).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
  });
});

describe('TLS: https:// with ALPN', () => {
  const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tls');
  const ca = fs.readFileSync(path.join(fixtures, 'cert.pem'));
  let secure: KinesisHttpServer;

  beforeAll(async () => {
    secure = await KinesisHttpServer.start({ engine, port: 0, tls: { key: fs.readFileSync(path.join(fixtures, 'key.pem')), cert: ca } });
  });

  afterAll(() => secure?.stop());

  it('serves the SDK over HTTPS/1.1 and negotiates h2 for HTTP/2 clients', async () => {
    expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new KinesisClient({
      endpoint: secure.url,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }),
    });
    try {
      await client.send(new CreateStreamCommand({ StreamName: 'tls', ShardCount: 1 }));
      expect((await client.send(new ListStreamsCommand({}))).StreamNames).toContain('tls');
    } finally {
      client.destroy();
    }
    const session = http2.connect(secure.url, { ca });
    try {
      const alpn = await new Promise<string | false>((resolve, reject) =>
        session.once('connect', () => resolve(session.alpnProtocol ?? false)).once('error', reject),
      );
      expect(alpn).toBe('h2');
      const answer = await new Promise<string>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/',
          ...JSON_HEADERS,
          'x-amz-target': 'Kinesis_20131202.DescribeStreamSummary',
        });
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        stream.end(JSON.stringify({ StreamName: 'tls' }));
      });
      expect(JSON.parse(answer)).toMatchObject({ StreamDescriptionSummary: { StreamName: 'tls', StreamStatus: 'ACTIVE' } });
    } finally {
      session.close();
    }
  });
});
