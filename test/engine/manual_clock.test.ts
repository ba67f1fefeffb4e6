import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOCK_ADVANCE_MS_MAX, CLOCK_FILE } from '../../src/engine/clock_control.js';
import { Engine } from '../../src/engine/engine.js';
import { ExpiredIteratorException, InvalidArgumentException } from '../../src/errors.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: an engine opened with clock: 'manual' moves forward on advanceClock for its own thread
// and its shard workers alike, so that what real time would do happens at once: records past
// the 24-hour retention are deleted by the workers' logs, iterators older than 5 minutes expire,
// records put after the move carry the moved time; every bad move is refused and changes
// nothing; the offset survives a restart. Method: real engines with 2 shard worker threads on
// temporary directories, records put and read through the public API, the data directory's
// clock file read back.

const HOUR_MS = 3_600_000;
const SHARD = 'shardId-000000000000';
const opened: Engine[] = [];

afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
});

async function open(dataDir: string, options: Partial<Parameters<typeof Engine.open>[0]> = {}): Promise<Engine> {
  const engine = await Engine.open({ dataDir, workers: 2, fsync: 'never', clock: 'manual', ...options });
  opened.push(engine);
  return engine;
}

async function putRecords(engine: Engine, stream: string, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`record ${i}`) }));
  const { FailedRecordCount } = await engine.putRecords({ StreamName: stream, Records: records });
  expect(FailedRecordCount).toBe(0);
}

/** Every shard's retained records, as the workers' logs publish where each starts and ends. */
async function retained(engine: Engine, stream: string): Promise<number> {
  const { Shards } = await engine.describeShardPositions({ StreamName: stream });
  return Shards.reduce((sum, shard) => sum + shard.RecordCount, 0);
}

async function readAll(engine: Engine, stream: string, shardId = SHARD): Promise<string[]> {
  const { ShardIterator } = await engine.getShardIterator({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  const { Records } = await engine.getRecords({ ShardIterator: ShardIterator! });
  return Records.map((record) => Buffer.from(record.Data).toString());
}

describe('the manual clock', () => {
  it('deletes records past retention on every shard worker after an advance of 25 hours', async () => {
    const engine = await open(tempDir());
    await engine.createStream({ StreamName: 'orders', ShardCount: 4 });
    await putRecords(engine, 'orders', 200);
    expect(await retained(engine, 'orders')).toBe(200);

    const before = engine.describeClock();
    const after = await engine.advanceClock({ ByMillis: 23 * HOUR_MS });
    expect(after.OffsetMillis).toBe(23 * HOUR_MS);
    expect(after.NowMillis - before.NowMillis).toBeGreaterThanOrEqual(23 * HOUR_MS);
    expect(await retained(engine, 'orders')).toBe(200); // 23 hours is within the 24-hour retention

    await engine.advanceClock({ ByMillis: 2 * HOUR_MS });
    expect(await retained(engine, 'orders')).toBe(0);
    await putRecords(engine, 'orders', 10);
    const { ShardIterator } = await engine.getShardIterator({ StreamName: 'orders', ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' });
    const { Records } = await engine.getRecords({ ShardIterator: ShardIterator! });
    for (const record of Records)
      expect(record.ApproximateArrivalTimestamp.getTime()).toBeGreaterThanOrEqual(after.NowMillis + 2 * HOUR_MS);
    expect(await retained(engine, 'orders')).toBe(10);
  });

  it('expires an iterator once it is more than 5 minutes old by the moved clock', async () => {
    const engine = await open(tempDir());
    await engine.createStream({ StreamName: 'slow', ShardCount: 1 });
    await putRecords(engine, 'slow', 3);
    const iterator = async (): Promise<string> =>
      (await engine.getShardIterator({ StreamName: 'slow', ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator!;
    const young = await iterator();
    const old = await iterator();
    await engine.advanceClock({ ByMillis: 4 * 60_000 });
    expect((await engine.getRecords({ ShardIterator: young })).Records).toHaveLength(3);
    await engine.advanceClock({ ByMillis: 2 * 60_000 });
    await expect(engine.getRecords({ ShardIterator: old })).rejects.toBeInstanceOf(ExpiredIteratorException);
    expect((await engine.getRecords({ ShardIterator: await iterator() })).Records).toHaveLength(3);
  });

  it('refuses a move back, a zero or a malformed move, changing neither the clock nor its file', async () => {
    const dataDir = tempDir();
    const engine = await open(dataDir);
    await engine.advanceClock({ ByMillis: 90_000 });
    const file = fs.readFileSync(path.join(dataDir, CLOCK_FILE), 'utf8');
    const bad: unknown[] = [-60_000, 0, 1.5, '25h', Number.NaN, null, undefined, CLOCK_ADVANCE_MS_MAX + 1, Number.MAX_SAFE_INTEGER + 2];
    for (const ByMillis of bad) {
      const refusal = engine.advanceClock({ ByMillis } as never);
      await expect(refusal, String(ByMillis)).rejects.toBeInstanceOf(InvalidArgumentException);
      await expect(refusal).rejects.toThrow(/ByMillis must be a whole number of milliseconds from 1 to/);
    }
    await expect(engine.advanceClock(undefined as never)).rejects.toBeInstanceOf(InvalidArgumentException);
    expect(engine.describeClock().OffsetMillis).toBe(90_000);
    expect(fs.readFileSync(path.join(dataDir, CLOCK_FILE), 'utf8')).toBe(file);
  });

  it('refuses to advance an engine whose clock is not manual', async () => {
    const system = await open(tempDir(), { clock: Date.now });
    expect(system.describeClock()).toMatchObject({ Mode: 'SYSTEM', OffsetMillis: 0 });
    await expect(system.advanceClock({ ByMillis: 1000 })).rejects.toThrow(/The clock is not manual/);
    const custom = await open(tempDir(), { clock: () => 1_700_000_000_000 });
    expect(custom.describeClock()).toEqual({ Mode: 'CUSTOM', NowMillis: 1_700_000_000_000, OffsetMillis: 0 });
    await expect(custom.advanceClock({ ByMillis: 1000 })).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(Engine.open({ dataDir: tempDir(), clock: 'later' as never })).rejects.toBeInstanceOf(InvalidArgumentException);
  });

  it('keeps its offset through a restart, so that the iterators it issued stay valid', async () => {
    const dataDir = tempDir();
    const engine = await open(dataDir);
    await engine.createStream({ StreamName: 'kept', ShardCount: 1 });
    await putRecords(engine, 'kept', 2);
    await engine.advanceClock({ ByMillis: 30 * HOUR_MS });
    await putRecords(engine, 'kept', 1);
    const { ShardIterator } = await engine.getShardIterator({ StreamName: 'kept', ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' });
    await engine.close();

    const reopened = await open(dataDir);
    expect(reopened.describeClock()).toMatchObject({ Mode: 'MANUAL', OffsetMillis: 30 * HOUR_MS });
    expect(
      (await reopened.getRecords({ ShardIterator: ShardIterator! })).Records.map((record) => Buffer.from(record.Data).toString()),
    ).toEqual(['record 0']);
    expect(await readAll(reopened, 'kept')).toEqual(['record 0']);
  });
});
