import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { LimitExceededException } from '../../src/errors.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the README's limits table and its promise that shard iterators survive a restart hold
// at their stated values. Method: a real engine on a real data directory, filled up to each
// limit and one past it, and closed and reopened on the same directory.

const openEngine = (dataDir: string): Promise<Engine> =>
  Engine.open({ dataDir, workers: 1, fsync: 'never', log: { segmentBytes: 64 * 1024 } });

describe('Engine: the README limits, at their values', () => {
  it('registers 20 consumers on a stream and refuses the 21st with LimitExceededException', async () => {
    const engine = await openEngine(tempDir());
    try {
      await engine.createStream({ StreamName: 'watched', ShardCount: 1 });
      const { StreamARN } = (await engine.describeStreamSummary({ StreamName: 'watched' })).StreamDescriptionSummary;
      for (let i = 0; i < 20; i++) await engine.registerStreamConsumer({ StreamARN, ConsumerName: `c${i}` });
      await expect(engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c20' })).rejects.toThrow(LimitExceededException);
    } finally {
      await engine.close();
    }
  });

  it('keeps 50 tags on a stream and refuses the 51st with LimitExceededException', async () => {
    const engine = await openEngine(tempDir());
    try {
      await engine.createStream({ StreamName: 'tagged', ShardCount: 1 });
      const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, `v${i}`]));
      await engine.addTagsToStream({ StreamName: 'tagged', Tags: tags });
      await expect(engine.addTagsToStream({ StreamName: 'tagged', Tags: { t50: 'v50' } })).rejects.toThrow(LimitExceededException);
      // Rewriting a tag that is there is no new tag: the stream still takes it at 50.
      await engine.addTagsToStream({ StreamName: 'tagged', Tags: { t0: 'changed' } });
      const listed = await engine.listTagsForStream({ StreamName: 'tagged' });
      expect(listed.Tags).toHaveLength(50);
    } finally {
      await engine.close();
    }
  });

  it('creates 1,000 streams and refuses the 1,001st with LimitExceededException', async () => {
    const engine = await openEngine(tempDir());
    try {
      for (let i = 0; i < 1000; i++) await engine.createStream({ StreamName: `s${i}`, ShardCount: 1 });
      await expect(engine.createStream({ StreamName: 's1000', ShardCount: 1 })).rejects.toThrow(LimitExceededException);
    } finally {
      await engine.close();
    }
  });
});

describe('Engine: shard iterators across a restart', () => {
  it('reads with an iterator handed out before the engine was closed and opened again on its data directory', async () => {
    const dataDir = tempDir();
    const before = await openEngine(dataDir);
    let iterator: string;
    try {
      await before.createStream({ StreamName: 'kept', ShardCount: 1 });
      await before.putRecords({
        StreamName: 'kept',
        Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(`r${i}`) })),
      });
      const { ShardIterator } = await before.getShardIterator({
        StreamName: 'kept',
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      });
      iterator = ShardIterator;
    } finally {
      await before.close();
    }
    const after = await openEngine(dataDir);
    try {
      const { Records } = await after.getRecords({ ShardIterator: iterator });
      expect(Records.map((record) => Buffer.from(record.Data).toString())).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    } finally {
      await after.close();
    }
  });
});
