import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { InvalidArgumentException, ResourceInUseException, ResourceNotFoundException } from '../../src/errors.js';
import type { EngineOptions } from '../../src/config.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: with createStreamMs, updateStreamMs and deleteStreamMs a stream passes through
// CREATING, UPDATING and DELETING as on Kinesis: while CREATING it is described but puts and
// reads are not found and reshards and deletes are in use; a reshard (and UpdateShardCount, a
// mode change) leaves it UPDATING, a second reshard refused meanwhile while puts go on; a
// deleted stream is DELETING, then gone. The durations go by the engine's clock (the manual
// clock ends them at once), and a close mid-state leaves what reopening completes. Method: real
// engines with real worker threads on temporary directories; durations of an hour ended by
// advancing the manual clock, and short ones of real time waited out by polling.

const SHARD = 'shardId-000000000000';
const HOUR_MS = 3_600_000;
const opened: Engine[] = [];

afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
});

async function open(dataDir: string, options: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = await Engine.open({ dataDir, workers: 2, fsync: 'never', clock: 'manual', ...options });
  opened.push(engine);
  return engine;
}

function status(engine: Engine, stream: string): string {
  return engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary.StreamStatus;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let tries = 0; !check(); tries++) {
    if (tries > 2000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const put = (engine: Engine, stream: string): Promise<unknown> =>
  engine.putRecord({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from('x') });

describe('realistic state durations', () => {
  it('keeps a new stream CREATING, refusing puts and reads as Kinesis does, until its duration passes by the engine clock', async () => {
    const engine = await open(tempDir(), { createStreamMs: HOUR_MS });
    await engine.createStream({ StreamName: 'new', ShardCount: 2 });
    expect(status(engine, 'new')).toBe('CREATING');
    expect(engine.listStreams().StreamSummaries?.map((summary) => summary.StreamStatus)).toEqual(['CREATING']);
    await expect(put(engine, 'new')).rejects.toThrow(new ResourceNotFoundException('Stream new under account 000000000000 not found.'));
    await expect(engine.putRecords({ StreamName: 'new', Records: [{ PartitionKey: 'k', Data: Buffer.from('x') }] })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(engine.getShardIterator({ StreamName: 'new', ShardId: SHARD, ShardIteratorType: 'LATEST' })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(engine.splitShard({ StreamName: 'new', ShardToSplit: SHARD, NewStartingHashKey: '1' })).rejects.toBeInstanceOf(
      ResourceInUseException,
    );
    await expect(engine.deleteStream({ StreamName: 'new' })).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(engine.createStream({ StreamName: 'new', ShardCount: 1 })).rejects.toBeInstanceOf(ResourceInUseException);

    await engine.advanceClock({ ByMillis: HOUR_MS - 1000 });
    expect(status(engine, 'new')).toBe('CREATING');
    await engine.advanceClock({ ByMillis: 1000 });
    expect(status(engine, 'new')).toBe('ACTIVE');
    await put(engine, 'new');
  });

  it('ends a short state by real time as well', async () => {
    const engine = await open(tempDir(), { clock: Date.now, createStreamMs: 200, deleteStreamMs: 200 });
    await engine.createStream({ StreamName: 'quick', ShardCount: 1 });
    expect(status(engine, 'quick')).toBe('CREATING');
    await until(() => status(engine, 'quick') === 'ACTIVE', 'ACTIVE');
    await put(engine, 'quick');
    await engine.deleteStream({ StreamName: 'quick' });
    expect(status(engine, 'quick')).toBe('DELETING');
    await until(() => engine.listStreams().StreamNames.length === 0, 'gone');
  });

  it('leaves a split stream UPDATING, refusing a second reshard while puts go on, then ACTIVE', async () => {
    const engine = await open(tempDir(), { updateStreamMs: HOUR_MS });
    await engine.createStream({ StreamName: 'resharded', ShardCount: 2 });
    const [first, second] = engine.listShards({ StreamName: 'resharded' }).Shards!;
    await engine.splitShard({ StreamName: 'resharded', ShardToSplit: first!.ShardId!, NewStartingHashKey: '1000' });
    expect(status(engine, 'resharded')).toBe('UPDATING');
    const openShards = engine
      .listShards({ StreamName: 'resharded', ShardFilter: { Type: 'AT_LATEST' } })
      .Shards!.map((shard) => shard.ShardId);
    expect(openShards).toEqual(['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);
    await expect(
      engine.splitShard({
        StreamName: 'resharded',
        ShardToSplit: second!.ShardId!,
        NewStartingHashKey: second!.HashKeyRange!.EndingHashKey!,
      }),
    ).rejects.toThrow(ResourceInUseException);
    await expect(engine.updateShardCount({ StreamName: 'resharded', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' })).rejects.toThrow(
      /is not ACTIVE \(UPDATING\)/,
    );
    await put(engine, 'resharded');
    await engine.advanceClock({ ByMillis: HOUR_MS });
    expect(status(engine, 'resharded')).toBe('ACTIVE');
  });

  it('holds UPDATING once for an UpdateShardCount and for a mode change', async () => {
    const engine = await open(tempDir(), { updateStreamMs: HOUR_MS });
    await engine.createStream({ StreamName: 'scaled', ShardCount: 2 });
    await engine.updateShardCount({ StreamName: 'scaled', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' });
    expect(status(engine, 'scaled')).toBe('UPDATING');
    expect(engine.describeStreamSummary({ StreamName: 'scaled' }).StreamDescriptionSummary.OpenShardCount).toBe(4);
    await engine.advanceClock({ ByMillis: HOUR_MS });
    expect(status(engine, 'scaled')).toBe('ACTIVE');
    const arn = engine.describeStreamSummary({ StreamName: 'scaled' }).StreamDescriptionSummary.StreamARN;
    await engine.updateStreamMode({ StreamARN: arn, StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expect(status(engine, 'scaled')).toBe('UPDATING');
    await engine.advanceClock({ ByMillis: HOUR_MS });
    expect(status(engine, 'scaled')).toBe('ACTIVE');
  });

  it('shows a deleted stream DELETING, refusing puts and its name, then removes it', async () => {
    const engine = await open(tempDir(), { deleteStreamMs: HOUR_MS });
    await engine.createStream({ StreamName: 'doomed', ShardCount: 1 });
    await put(engine, 'doomed');
    await engine.deleteStream({ StreamName: 'doomed' });
    expect(status(engine, 'doomed')).toBe('DELETING');
    await expect(put(engine, 'doomed')).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(engine.createStream({ StreamName: 'doomed', ShardCount: 1 })).rejects.toBeInstanceOf(ResourceInUseException);
    await engine.advanceClock({ ByMillis: HOUR_MS });
    expect(() => status(engine, 'doomed')).toThrow(ResourceNotFoundException);
    await engine.createStream({ StreamName: 'doomed', ShardCount: 1 });
    expect(status(engine, 'doomed')).toBe('ACTIVE');
  });

  it('completes each state a close interrupted when it reopens: CREATING and UPDATING become ACTIVE, DELETING is finished', async () => {
    const dataDir = tempDir();
    const durations = { createStreamMs: HOUR_MS, updateStreamMs: HOUR_MS, deleteStreamMs: HOUR_MS };
    const engine = await open(dataDir, durations);
    await engine.createStream({ StreamName: 'creating', ShardCount: 1 });
    await engine.createStream({ StreamName: 'updating', ShardCount: 1 });
    await engine.createStream({ StreamName: 'deleting', ShardCount: 1 });
    await engine.advanceClock({ ByMillis: HOUR_MS });
    await engine.splitShard({ StreamName: 'updating', ShardToSplit: SHARD, NewStartingHashKey: '1000' });
    await engine.deleteStream({ StreamName: 'deleting' });
    await engine.createStream({ StreamName: 'late', ShardCount: 1 });
    expect(engine.listStreams().StreamSummaries?.map((summary) => [summary.StreamName, summary.StreamStatus])).toEqual([
      ['creating', 'ACTIVE'],
      ['deleting', 'DELETING'],
      ['late', 'CREATING'],
      ['updating', 'UPDATING'],
    ]);
    await engine.close();

    const reopened = await open(dataDir, durations);
    expect(reopened.listStreams().StreamSummaries?.map((summary) => [summary.StreamName, summary.StreamStatus])).toEqual([
      ['creating', 'ACTIVE'],
      ['late', 'ACTIVE'],
      ['updating', 'ACTIVE'],
    ]);
    await put(reopened, 'late');
    expect(reopened.listShards({ StreamName: 'updating', ShardFilter: { Type: 'AT_LATEST' } }).Shards).toHaveLength(2);
  });

  it('refuses a duration that is not a whole number of milliseconds up to a day', async () => {
    for (const createStreamMs of [-1, 1.5, 86_400_001])
      await expect(Engine.open({ dataDir: tempDir(), createStreamMs })).rejects.toBeInstanceOf(InvalidArgumentException);
  });
});
