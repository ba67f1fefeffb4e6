import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/node.js';
import { Engine } from '../../src/engine/engine.js';
import { CorruptLogError } from '../../src/errors.js';
import { BASE_OFFSET_POSITION } from '../../src/log/batch_format.js';
import { BATCH_HEADER_BYTES, readBatchHeader } from '../../src/log/record_batch.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { ShardlineServer } from '../../src/net/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: a sealed segment damaged on disk is reported as CorruptLog through every door (embedded,
// WebSocket, Kinesis HTTP), never served as wrong records, and the rest of the server goes on:
// other streams take puts and reads, and the damaged shard still takes puts.
// Method: a real engine writes small segments, closes; one batch header of a sealed segment is
// flipped on disk; the engine reopens behind both servers and each door reads the shard.

const SHARD = 'shardId-000000000000';
const OPTIONS = { fsync: 'never', enforceLimits: false, workers: 1, log: { segmentBytes: 4096 } } as const;

const root = suiteTempDir('shardline-corrupt-');
let engine: Engine;
let server: ShardlineServer;
let kinesis: KinesisHttpServer;

/** The first segment of the shard directory with the most segments: the damaged stream's. */
function firstSegmentOfBusiestShard(dataDir: string): string {
  let busiest = { dir: '', segments: 0 };
  const walk = (dir: string): void => {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    const segments = entries.filter((entry) => /^\d{20}\.log$/.test(entry.name)).length;
    if (segments > busiest.segments) busiest = { dir, segments };
    for (const entry of entries) if (entry.isDirectory()) walk(path.join(dir, entry.name));
  };
  walk(dataDir);
  expect(busiest.segments).toBeGreaterThanOrEqual(3);
  return path.join(busiest.dir, '00000000000000000000.log');
}

/** Flips a bit of the base offset of the last batch of a segment. */
function damageLastBatchHeader(file: string): void {
  const bytes = fs.readFileSync(file);
  let last = 0;
  for (let position = 0; position + BATCH_HEADER_BYTES <= bytes.length;) {
    const header = readBatchHeader(bytes, position);
    if (header.recordCount === 0) break;
    last = position;
    position += header.batchBytes;
  }
  bytes[last + BASE_OFFSET_POSITION]! ^= 0x01;
  fs.writeFileSync(file, bytes);
}

beforeAll(async () => {
  const writer = await Engine.open({ ...OPTIONS, dataDir: root.dir });
  for (const name of ['damaged', 'healthy']) await writer.createStream({ StreamName: name, ShardCount: 1 });
  for (let i = 0; i < 40; i++) await writer.putRecord({ StreamName: 'damaged', PartitionKey: `k${i}`, Data: Buffer.alloc(300, i) });
  await writer.close();
  damageLastBatchHeader(firstSegmentOfBusiestShard(root.dir));

  engine = await Engine.open({ ...OPTIONS, dataDir: root.dir });
  server = await ShardlineServer.start({ engine, host: '127.0.0.1', port: 0 });
  kinesis = await KinesisHttpServer.start({ engine, port: 0 });
});

afterAll(async () => {
  await kinesis?.stop();
  await server?.stop();
  await engine?.close();
  root.remove();
});

async function iterator(stream: string): Promise<string> {
  return (await engine.getShardIterator({ StreamName: stream, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
}

describe('a damaged sealed segment', () => {
  it('is CorruptLog to an embedded reader', async () => {
    const shardIterator = await iterator('damaged');
    await expect((async () => await engine.getRecords({ ShardIterator: shardIterator }))()).rejects.toThrow(CorruptLogError);
  });

  it('is an ERROR frame with code CorruptLog over the WebSocket', async () => {
    const client = await connect(server.url);
    try {
      const refused = client.getRecords({ ShardIterator: await iterator('damaged') });
      await expect(refused).rejects.toMatchObject({ code: 'CorruptLog' });
    } finally {
      client.close();
    }
  });

  it('is a 500 InternalFailure naming the damage through the Kinesis HTTP API', async () => {
    const sdk = new KinesisClient({
      endpoint: `http://127.0.0.1:${kinesis.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const { ShardIterator } = await sdk.send(
        new GetShardIteratorCommand({ StreamName: 'damaged', ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const refused = sdk.send(new GetRecordsCommand({ ShardIterator }));
      await expect(refused).rejects.toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
      await expect(refused).rejects.toThrow(/segment 0: .* the segment is damaged/);
      // The server goes on: the damaged shard takes puts, another stream reads back what it took.
      await sdk.send(new PutRecordCommand({ StreamName: 'damaged', PartitionKey: 'after', Data: Buffer.from('after') }));
      const put = await sdk.send(new PutRecordCommand({ StreamName: 'healthy', PartitionKey: 'k', Data: Buffer.from('fine') }));
      const healthy = await sdk.send(
        new GetShardIteratorCommand({ StreamName: 'healthy', ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const read = await sdk.send(new GetRecordsCommand({ ShardIterator: healthy.ShardIterator }));
      expect(read.Records?.map((record) => [record.SequenceNumber, Buffer.from(record.Data!).toString()])).toEqual([
        [put.SequenceNumber, 'fine'],
      ]);
    } finally {
      sdk.destroy();
    }
  });
});
