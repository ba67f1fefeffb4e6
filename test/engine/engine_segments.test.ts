import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, type KinesisRecord } from '../../src/engine/engine.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: GetRecords reads every record of a shard whose log has many small segments, and the
// engine's log option openSegmentsMax bounds the engine's reader as it bounds the log.
// Method: a real engine with 4 KiB segments, records put one PutRecords call at a time (one
// batch each), read back through GetRecords from TRIM_HORIZON page by page.

const RECORDS_PER_PUT = 5;
const PUTS = 150;

const engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
});

async function engineWithSmallSegments(openSegmentsMax?: number): Promise<{ engine: Engine; segmentFiles: () => number }> {
  const dataDir = tempDir();
  const log = openSegmentsMax === undefined ? { segmentBytes: 4096 } : { segmentBytes: 4096, openSegmentsMax };
  const engine = await Engine.open({ dataDir, workers: 1, fsync: 'never', enforceLimits: false, log });
  engines.push(engine);
  await engine.createStream({ StreamName: 'small', ShardCount: 1 });
  for (let put = 0; put < PUTS; put++) {
    const Records = Array.from({ length: RECORDS_PER_PUT }, (_, i) => ({ PartitionKey: `p${put}-${i}`, Data: Buffer.alloc(100, put) }));
    await engine.putRecords({ StreamName: 'small', Records });
  }
  const segmentFiles = (): number => fs.readdirSync(dataDir, { recursive: true }).filter((name) => String(name).endsWith('.log')).length;
  return { engine, segmentFiles };
}

async function pages(engine: Engine): Promise<KinesisRecord[][]> {
  let { ShardIterator } = await engine.getShardIterator({
    StreamName: 'small',
    ShardId: 'shardId-000000000000',
    ShardIteratorType: 'TRIM_HORIZON',
  });
  const read: KinesisRecord[][] = [];
  for (let calls = 0; calls < 1000; calls++) {
    const { Records, NextShardIterator } = await engine.getRecords({ ShardIterator, Limit: 10_000 });
    if (Records.length === 0 || NextShardIterator === undefined) break;
    read.push(Records);
    ShardIterator = NextShardIterator;
  }
  return read;
}

const expectedKeys = Array.from({ length: PUTS * RECORDS_PER_PUT }, (_, i) => `p${Math.floor(i / RECORDS_PER_PUT)}-${i % RECORDS_PER_PUT}`);

describe('Engine reads across many small segments', () => {
  it('returns every record in order when one GetRecords spans more segments than the reader keeps mapped', async () => {
    const { engine, segmentFiles } = await engineWithSmallSegments();
    expect(segmentFiles()).toBeGreaterThan(16);
    const read = (await pages(engine)).flat();
    expect(read.map((record) => record.PartitionKey)).toEqual(expectedKeys);
    for (const record of read)
      expect(Buffer.from(record.Data).equals(Buffer.alloc(100, Number(record.PartitionKey.slice(1).split('-')[0])))).toBe(true);
  });

  it('bounds one GetRecords by the engine log option openSegmentsMax', async () => {
    const { engine, segmentFiles } = await engineWithSmallSegments(2);
    const read = await pages(engine);
    expect(read.length).toBeGreaterThanOrEqual(Math.floor(segmentFiles() / 2));
    expect(read.flat().map((record) => record.PartitionKey)).toEqual(expectedKeys);
  });
});
