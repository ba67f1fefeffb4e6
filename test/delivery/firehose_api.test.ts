import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand,
  DeleteDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  ListTagsForDeliveryStreamCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  UpdateDestinationCommand,
  type CreateDeliveryStreamCommandInput,
} from '@aws-sdk/client-firehose';
import { afterEach, describe, expect, it } from 'vitest';
import { firehoseClient } from './firehose_client.js';
import type { Engine } from '../../src/engine/engine.js';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import { DeliveryRegistry } from '../../src/delivery/registry.js';
import { S3Store } from '../../src/delivery/s3_store.js';
import { configureDeliveryStore, configureGlueTables } from '../../src/delivery/store_config.js';
import { parquetReadObjects } from 'hyparquet';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { TriggerRegistry } from '../../src/triggers/registry.js';
import { S3_SERVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3_server.js';
import { tempDir } from '../helpers/temp_dir.js';
import { ManualClock, openEngine, until } from '../triggers/trigger_helpers.js';

// Goal: the unmodified AWS SDK's Firehose client runs delivery streams on shardline's HTTP port:
// create, describe, list, tags, delete; PutRecord and PutRecordBatch acknowledged once in the
// buffer log; objects under the exact S3 keys Firehose writes (prefix, its concatenation quirk,
// object names) when the buffer's interval passes on the engine's clock, when it is full, or on
// a flush; GZIP; a Kinesis stream as the source (which refuses puts); a transformation function
// (Ok, Dropped, ProcessingFailed to the error output); dynamic partitioning by a query; an
// S3-compatible server as the destination, holding the data while its bucket is missing.
// Method: a real engine (a ManualClock) and HTTP server on free ports, @aws-sdk/client-firehose,
// the default directory destination read from disk, and s3rver for S3.

let engine: Engine | undefined;
let server: KinesisHttpServer | undefined;
let firehose: FirehoseClient | undefined;
let s3: S3Server | undefined;
afterEach(async () => {
  firehose?.destroy();
  await server?.stop();
  if (engine !== undefined) await (await DeliveryRegistry.of(engine)).stopAll();
  if (engine !== undefined) await TriggerRegistry.of(engine).stopAll();
  await engine?.close();
  await s3?.stop();
  engine = server = firehose = s3 = undefined;
});

const BUCKET_ARN = 'arn:aws:s3:::lake';

async function start(clock = new ManualClock()): Promise<{ target: Engine; client: FirehoseClient; clock: ManualClock }> {
  engine = await openEngine(tempDir(), clock);
  server = await KinesisHttpServer.start({ engine, port: 0 });
  firehose = firehoseClient(server.url);
  return { target: engine, client: firehose, clock };
}

function directS3(name: string, s3Config: Record<string, unknown>): CreateDeliveryStreamCommandInput {
  return {
    DeliveryStreamName: name,
    DeliveryStreamType: 'DirectPut',
    ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/firehose', BucketARN: BUCKET_ARN, ...s3Config },
  };
}

/** Every object of the bucket in the default directory destination, by key. */
function objects(target: Engine, bucket = 'lake'): Map<string, Buffer> {
  const root = path.join(target.dataDir, 's3', bucket);
  const found = new Map<string, Buffer>();
  if (!fs.existsSync(root)) return found;
  for (const file of fs.readdirSync(root, { recursive: true, withFileTypes: true }))
    // The directory store writes a `.shardline-*.tmp` file, then renames it into place.
    if (file.isFile() && !file.name.startsWith('.shardline-')) {
      const full = path.join(file.parentPath, file.name);
      found.set(path.relative(root, full).split(path.sep).join('/'), fs.readFileSync(full));
    }
  return found;
}

const records = (from: number, count: number): { Data: Uint8Array }[] =>
  Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`${JSON.stringify({ i: from + i, customer: `c${(from + i) % 2}` })}\n`) }));

const NAME_PATTERN = (stream: string): string => `${stream}-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}`;

describe("Firehose's API through @aws-sdk/client-firehose", () => {
  it('creates, describes, lists, tags and deletes delivery streams, with Firehose errors', async () => {
    const { client } = await start();
    const created = await client.send(new CreateDeliveryStreamCommand({ ...directS3('logs', {}), Tags: [{ Key: 'team', Value: 'a' }] }));
    expect(created.DeliveryStreamARN).toBe('arn:aws:firehose:us-east-1:000000000000:deliverystream/logs');
    const { DeliveryStreamDescription: described } = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'logs' }));
    expect(described).toMatchObject({ DeliveryStreamStatus: 'ACTIVE', DeliveryStreamType: 'DirectPut', VersionId: '1' });
    expect(described!.Destinations![0]).toMatchObject({ DestinationId: 'destinationId-000000000001' });
    expect((await client.send(new ListDeliveryStreamsCommand({}))).DeliveryStreamNames).toEqual(['logs']);
    expect((await client.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: 'logs' }))).Tags).toEqual([
      { Key: 'team', Value: 'a' },
    ]);
    await expect(client.send(new CreateDeliveryStreamCommand(directS3('logs', {})))).rejects.toMatchObject({
      name: 'ResourceInUseException',
    });
    await expect(
      client.send(new CreateDeliveryStreamCommand(directS3('hints', { BufferingHints: { SizeInMBs: 1 } }))),
    ).rejects.toMatchObject({
      name: 'InvalidArgumentException',
      message: expect.stringContaining('both SizeInMBs and IntervalInSeconds') as unknown,
    });
    await expect(
      client.send(new CreateDeliveryStreamCommand(directS3('prefix', { Prefix: 'a/!{timestamp:yyyy}/' }))),
    ).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    expect((await client.send(new ListDeliveryStreamsCommand({}))).DeliveryStreamNames).toEqual(['logs']);
    await client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: 'logs' }));
    await expect(client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'logs' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('writes an object under the default key layout once the interval passes on the clock', async () => {
    const { target, client, clock } = await start();
    await client.send(
      new CreateDeliveryStreamCommand(directS3('clicks', { Prefix: 'raw', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 } })),
    );
    const put = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'clicks', Records: records(0, 10) }));
    expect(put.FailedPutCount).toBe(0);
    expect(put.RequestResponses).toHaveLength(10);
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'clicks', Record: records(10, 1)[0]! }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(objects(target).size).toBe(0);
    clock.advance(60_000);
    await until(() => objects(target).size === 1, 'the object after the interval');
    const [key, body] = [...objects(target)][0]!;
    // A prefix without expressions gets yyyy/MM/dd/HH/ by plain concatenation, as on AWS.
    expect(key).toMatch(new RegExp(`^raw2027/01/15/08/${NAME_PATTERN('clicks')}$`));
    expect(
      body!
        .toString()
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { i: number }).i)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });

  it('flushes a full buffer at once (cut at the size), compresses with GZIP, and reads a Kinesis stream as its source', async () => {
    const { target, client } = await start();
    await client.send(
      new CreateDeliveryStreamCommand(
        directS3('big', {
          Prefix: 'big/!{timestamp:yyyy-MM-dd}/',
          ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
          CompressionFormat: 'GZIP',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 },
        }),
      ),
    );
    const large = Array.from({ length: 5 }, (_, i) => ({ Data: Buffer.alloc(250_000, 97 + i) }));
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'big', Records: large }));
    await until(() => objects(target).size === 1, 'the full buffer written');
    const [key, body] = [...objects(target)][0]!;
    expect(key).toMatch(new RegExp(`^big/2027-01-15/${NAME_PATTERN('big')}\\.gz$`));
    // Cut at SizeInMBs (1 MiB): four records of 250,000 bytes; the fifth waits for the next object.
    expect(gunzipSync(body!).length).toBe(1_000_000);
    await (await DeliveryRegistry.of(target)).flush('big');
    expect([...objects(target).values()].map((bytes) => gunzipSync(bytes).length).sort()).toEqual([1_000_000, 250_000].sort());

    await target.createStream({ StreamName: 'orders', ShardCount: 2 });
    const source = {
      DeliveryStreamName: 'from-orders',
      DeliveryStreamType: 'KinesisStreamAsSource' as const,
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders',
        RoleARN: 'arn:aws:iam::000000000000:role/f',
      },
      ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::orders-lake' },
    };
    await client.send(new CreateDeliveryStreamCommand(source));
    await expect(
      client.send(new PutRecordCommand({ DeliveryStreamName: 'from-orders', Record: { Data: Buffer.from('x') } })),
    ).rejects.toMatchObject({
      name: 'InvalidArgumentException',
      message: 'This operation is not permitted on KinesisStreamAsSource DeliveryStream type.',
    });
    await target.putRecords({
      StreamName: 'orders',
      Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`o${i};`) })),
    });
    // A KPL aggregate is unpacked into its user records, as Firehose does.
    const packed = aggregate([
      { partitionKey: 'k0', data: Buffer.from('o20;') },
      { partitionKey: 'k0', data: Buffer.from('o21;') },
    ]);
    await target.putRecord({ StreamName: 'orders', PartitionKey: 'k0', Data: packed });
    await (await DeliveryRegistry.of(target)).flush('from-orders');
    const delivered = [...objects(target, 'orders-lake').values()].map((bytes) => bytes.toString()).join('');
    expect(
      delivered
        .split(';')
        .filter((part) => part !== '')
        .sort(),
    ).toEqual(Array.from({ length: 22 }, (_, i) => `o${i}`).sort());
  });

  it('transforms by a function (Ok, Dropped, ProcessingFailed to the error output) and partitions by a query', async () => {
    const { target, client } = await start();
    await TriggerRegistry.of(target).registerFunction('shape', {
      handler: (event) => ({
        records: (event as unknown as { records: { recordId: string; data: string }[] }).records.map((record) => {
          const value = JSON.parse(Buffer.from(record.data, 'base64').toString()) as { i: number };
          const result = value.i === 3 ? 'Dropped' : value.i === 4 ? 'ProcessingFailed' : 'Ok';
          return {
            recordId: record.recordId,
            result,
            data: Buffer.from(`${JSON.stringify({ ...value, shaped: true })}\n`).toString('base64'),
          };
        }),
      }),
    });
    await client.send(
      new CreateDeliveryStreamCommand(
        directS3('parts', {
          Prefix: 'by/!{partitionKeyFromQuery:customer}/',
          ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
          DynamicPartitioningConfiguration: { Enabled: true },
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'Lambda',
                Parameters: [{ ParameterName: 'LambdaArn', ParameterValue: 'arn:aws:lambda:us-east-1:000000000000:function:shape' }],
              },
              {
                Type: 'MetadataExtraction',
                Parameters: [
                  { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{customer: .customer}' },
                  { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
        }),
      ),
    );
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'parts', Records: records(0, 8) }));
    await (await DeliveryRegistry.of(target)).flush('parts');
    const written = objects(target);
    const byCustomer = (customer: string): number[] =>
      [...written]
        .filter(([key]) => key.startsWith(`by/${customer}/`))
        .flatMap(([, body]) => body.toString().trim().split('\n'))
        .map((line) => JSON.parse(line) as { i: number; shaped: boolean })
        .map((value) => (value.shaped ? value.i : -1))
        .sort((a, b) => a - b);
    expect(byCustomer('c0')).toEqual([0, 2, 6]);
    expect(byCustomer('c1')).toEqual([1, 5, 7]);
    const failed = [...written].filter(([key]) => key.startsWith('errors/processing-failed/'));
    expect(failed).toHaveLength(1);
    const errorRecord = JSON.parse(failed[0]![1].toString()) as Record<string, unknown>;
    expect(errorRecord).toMatchObject({
      errorCode: 'Lambda.ProcessingFailed',
      lambdaArn: 'arn:aws:lambda:us-east-1:000000000000:function:shape',
    });
    expect(JSON.parse(Buffer.from(errorRecord['rawData'] as string, 'base64').toString())).toEqual({ i: 4, customer: 'c0' });
  });

  it('refuses a record over 1,000 KiB alone, and UpdateDestination moves the prefix and the version', async () => {
    const { target, client } = await start();
    await client.send(
      new CreateDeliveryStreamCommand(directS3('v', { Prefix: 'one/', BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 900 } })),
    );
    const batch = await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'v',
        Records: [{ Data: Buffer.from('a\n') }, { Data: Buffer.alloc(1_024_001) }, { Data: Buffer.from('b\n') }],
      }),
    );
    expect(batch.FailedPutCount).toBe(1);
    expect(batch.RequestResponses![1]).toMatchObject({ ErrorCode: 'InvalidArgumentException' });
    expect(batch.RequestResponses![0]!.RecordId).toBeDefined();
    await (await DeliveryRegistry.of(target)).flush('v');
    await expect(
      client.send(
        new UpdateDestinationCommand({
          DeliveryStreamName: 'v',
          CurrentDeliveryStreamVersionId: '7',
          DestinationId: 'destinationId-000000000001',
          ExtendedS3DestinationUpdate: { Prefix: 'two/' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConcurrentModificationException' });
    await client.send(
      new UpdateDestinationCommand({
        DeliveryStreamName: 'v',
        CurrentDeliveryStreamVersionId: '1',
        DestinationId: 'destinationId-000000000001',
        ExtendedS3DestinationUpdate: { Prefix: 'two/' },
      }),
    );
    expect((await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'v' }))).DeliveryStreamDescription!.VersionId).toBe(
      '2',
    );
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'v', Record: { Data: Buffer.from('c\n') } }));
    await (await DeliveryRegistry.of(target)).flush('v');
    const keys = [...objects(target).keys()].sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^one\/2027\/01\/15\/08\/v-1-/);
    expect(keys[1]).toMatch(/^two\/2027\/01\/15\/08\/v-2-/);
    // Direct PUT spreads records over the buffer log's shards: an object's order is not the puts'.
    const contents = [...objects(target).values()].map((body) => body.toString().split('\n').filter(Boolean).sort().join(','));
    expect(contents.sort()).toEqual(['a,b', 'c']);
  });

  it('converts JSON to Parquet by a Glue table, read back by an independent reader; a bad record to format-conversion-failed', async () => {
    const { target, client } = await start();
    configureGlueTables(target, {
      'shop.events': [
        { Name: 'i', Type: 'int' },
        { Name: 'customer', Type: 'string' },
      ],
    });
    await client.send(
      new CreateDeliveryStreamCommand(
        directS3('pq', {
          Prefix: 'pq/',
          DataFormatConversionConfiguration: {
            Enabled: true,
            SchemaConfiguration: { DatabaseName: 'shop', TableName: 'events', RoleARN: 'arn:aws:iam::000000000000:role/f' },
            InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
            OutputFormatConfiguration: { Serializer: { ParquetSerDe: {} } },
          },
        }),
      ),
    );
    await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'pq', Records: [...records(0, 4), { Data: Buffer.from('not json') }] }),
    );
    await (await DeliveryRegistry.of(target)).flush('pq');
    const written = [...objects(target)];
    const parquet = written.filter(([key]) => key.endsWith('.parquet'));
    expect(parquet).toHaveLength(1);
    expect(parquet[0]![0]).toMatch(new RegExp(`^pq/2027/01/15/08/${NAME_PATTERN('pq')}\\.parquet$`));
    const bytes = parquet[0]![1];
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    });
    expect(rows.map((row) => [row['i'], row['customer']]).sort()).toEqual([
      [0, 'c0'],
      [1, 'c1'],
      [2, 'c0'],
      [3, 'c1'],
    ]);
    const failed = written.filter(([key]) => key.startsWith('pq/format-conversion-failed/'));
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]![1].toString())).toMatchObject({
      errorCode: 'DataFormatConversion.ParseError',
      rawData: Buffer.from('not json').toString('base64'),
    });
  });

  it('writes to an S3-compatible server, holding the data while its bucket is missing', async () => {
    s3 = await startS3Server({ buckets: [] });
    const endpoint = s3.endpoint;
    engine = await openEngine(tempDir(), new ManualClock());
    configureDeliveryStore(engine, () => new S3Store({ endpoint, credentials: S3_SERVER_CREDENTIALS }));
    server = await KinesisHttpServer.start({ engine, port: 0 });
    const client = (firehose = firehoseClient(server.url));
    await client.send(
      new CreateDeliveryStreamCommand(directS3('to-s3', { Prefix: 'in/', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } })),
    );
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'to-s3', Records: records(0, 5) }));
    const registry = await DeliveryRegistry.of(engine);
    await until(() => (registry.status('to-s3')?.retries ?? 0) > 0, 'a failed put (no bucket yet)');
    expect(registry.status('to-s3')!.lastError).toMatch(/bucket/i);
    await s3.createBucket('lake');
    await until(() => (registry.status('to-s3')?.recordsDelivered ?? 0) === 5, 'the records once the bucket exists');
    const keys = await s3.listKeys('lake');
    for (const key of keys) expect(key).toMatch(new RegExp(`^in/2027/01/15/08/${NAME_PATTERN('to-s3')}$`));
    const lines = (await Promise.all(keys.map((key) => s3!.getObject('lake', key)))).flatMap((body) => body!.toString().trim().split('\n'));
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
