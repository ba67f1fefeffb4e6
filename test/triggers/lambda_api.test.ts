import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  InvokeCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import { TriggerRegistry } from '../../src/triggers/registry.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the unmodified AWS SDK's Lambda client manages triggers on shardline's HTTP port
// (Lambda's event-source-mapping REST API): create (202, and the function then gets the
// stream's records), get, list with filters, update, delete; Lambda's errors for an unknown
// function, a bad parameter, a duplicate mapping and an unknown UUID; and a mapping comes back
// after the engine restarts, resuming after what it had processed; Invoke of a registered
// function, with Lambda's answer for a function error. Method: a real engine and HTTP
// server on a free port, embedded functions registered by name, @aws-sdk/client-lambda.

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/orders';
let engine: Engine | undefined;
let server: KinesisHttpServer | undefined;
let lambda: LambdaClient | undefined;
afterEach(async () => {
  lambda?.destroy();
  await server?.stop();
  if (engine !== undefined) await TriggerRegistry.of(engine).stopAll();
  await engine?.close();
  engine = server = lambda = undefined;
});

async function start(dataDir: string, seen: number[]): Promise<{ engine: Engine; lambda: LambdaClient }> {
  engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1 });
  const registry = TriggerRegistry.of(engine);
  await registry.registerFunction('collector', {
    handler: (event: KinesisEvent) =>
      void seen.push(...event.Records.map((record) => Number(Buffer.from(record.kinesis.data, 'base64').toString()))),
  });
  await registry.registerFunction('echo', {
    // Invoked by hand with any payload, not a Kinesis event.
    handler: (event: KinesisEvent) => {
      const payload = event as unknown as { fail?: string };
      if (payload.fail !== undefined) throw new TypeError(payload.fail);
      return { got: payload };
    },
  });
  server = await KinesisHttpServer.start({ engine, port: 0 });
  lambda = new LambdaClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
  return { engine, lambda };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function put(target: Engine, from: number, count: number): Promise<void> {
  const Records = Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${from + i}`, Data: Buffer.from(String(from + i)) }));
  await target.putRecords({ StreamName: 'orders', Records });
}

describe("Lambda's event-source-mapping API through @aws-sdk/client-lambda", () => {
  it('creates, gets, lists, updates and deletes a mapping, and the function gets the records', async () => {
    const seen: number[] = [];
    const { engine: target, lambda: client } = await start(tempDir(), seen);
    await target.createStream({ StreamName: 'orders', ShardCount: 1 });
    await put(target, 0, 30);
    const created = await client.send(
      new CreateEventSourceMappingCommand({
        EventSourceArn: STREAM_ARN,
        FunctionName: 'collector',
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 10,
      }),
    );
    expect(created).toMatchObject({
      EventSourceArn: STREAM_ARN,
      FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:collector',
      BatchSize: 10,
      StartingPosition: 'TRIM_HORIZON',
      State: 'Enabled',
    });
    expect(created.LastModified).toBeInstanceOf(Date);
    await until(() => seen.length >= 30, 'the records');
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const got = await client.send(new GetEventSourceMappingCommand({ UUID: created.UUID! }));
    expect(got).toMatchObject({ UUID: created.UUID, LastProcessingResult: 'OK' });
    const listed = await client.send(new ListEventSourceMappingsCommand({ FunctionName: 'collector' }));
    expect(listed.EventSourceMappings?.map((mapping) => mapping.UUID)).toEqual([created.UUID]);
    expect((await client.send(new ListEventSourceMappingsCommand({ FunctionName: 'other' }))).EventSourceMappings).toEqual([]);
    const updated = await client.send(new UpdateEventSourceMappingCommand({ UUID: created.UUID!, BatchSize: 50, Enabled: false }));
    expect(updated).toMatchObject({ BatchSize: 50, State: 'Disabled' });
    await client.send(new DeleteEventSourceMappingCommand({ UUID: created.UUID! }));
    expect((await client.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings).toEqual([]);
  });

  it("answers Lambda's errors, and creates nothing", async () => {
    const { engine: target, lambda: client } = await start(tempDir(), []);
    await target.createStream({ StreamName: 'orders', ShardCount: 1 });
    const create = (change: Record<string, unknown>) =>
      client.send(
        new CreateEventSourceMappingCommand({
          EventSourceArn: STREAM_ARN,
          FunctionName: 'collector',
          StartingPosition: 'LATEST',
          ...change,
        }),
      );
    await expect(create({ FunctionName: 'missing' })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(create({ BatchSize: 20_000 })).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining("at 'batchSize' failed to satisfy constraint") as unknown,
    });
    await expect(create({ MaximumRecordAgeInSeconds: 10 })).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    expect((await client.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings).toEqual([]);
    const first = await create({});
    await expect(create({})).rejects.toMatchObject({ name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(client.send(new GetEventSourceMappingCommand({ UUID: '00000000-0000-0000-0000-000000000000' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect((await client.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings?.map((mapping) => mapping.UUID)).toEqual([
      first.UUID,
    ]);
  });

  it('invokes a registered function: its answer, its failure as X-Amz-Function-Error, an unknown one a 404', async () => {
    const { lambda: client } = await start(tempDir(), []);
    const payloadOf = (answer: { Payload?: Uint8Array }): unknown => JSON.parse(Buffer.from(answer.Payload!).toString());
    const ok = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"a":1}') }));
    expect([ok.StatusCode, ok.FunctionError, payloadOf(ok)]).toEqual([200, undefined, { got: { a: 1 } }]);
    const failed = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"fail":"no"}') }));
    expect([failed.StatusCode, failed.FunctionError, payloadOf(failed)]).toEqual([
      200,
      'Unhandled',
      { errorMessage: 'no', errorType: 'TypeError' },
    ]);
    await expect(client.send(new InvokeCommand({ FunctionName: 'missing', Payload: Buffer.from('{}') }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{not json') }))).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
    });
  });

  it('keeps a mapping across a restart and resumes after the records it processed', async () => {
    const dataDir = tempDir();
    const before: number[] = [];
    const first = await start(dataDir, before);
    await first.engine.createStream({ StreamName: 'orders', ShardCount: 1 });
    await put(first.engine, 0, 20);
    await first.lambda.send(
      new CreateEventSourceMappingCommand({ EventSourceArn: STREAM_ARN, FunctionName: 'collector', StartingPosition: 'TRIM_HORIZON' }),
    );
    await until(() => before.length >= 20, 'the first records');
    lambda?.destroy();
    await server?.stop();
    await TriggerRegistry.of(first.engine).stopAll();
    await first.engine.close();
    engine = server = lambda = undefined;
    const after: number[] = [];
    const second = await start(dataDir, after);
    await put(second.engine, 20, 10);
    await until(() => after.length >= 10, 'the new records');
    expect(after).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect((await second.lambda.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings).toHaveLength(1);
  });
});
