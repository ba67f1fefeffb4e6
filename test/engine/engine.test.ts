import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type GetRecordsResult, type KinesisRecord } from '../../src/engine/engine.js';
import {
  ExpiredIteratorException,
  InvalidArgumentException,
  LimitExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
} from '../../src/errors.js';
import { readBatchHeader } from '../../src/log/record_batch.js';
import { hashKeyOf } from '../../src/native/md5_keys.js';
import { decodeSequenceNumber } from '../../src/streams/sequence_number.js';
import { suiteTempDir, tempDir } from '../helpers/temp_dir.js';

// Goal: the embedded engine does what Kinesis Data Streams does to data, through real shard
// worker threads and real files. Method: one engine per group of tests, a hand-moved clock
// where time matters, every answer checked against the Kinesis semantics it stands for.

const data = (text: string): Uint8Array => Buffer.from(text);
const text = (record: KinesisRecord): string => Buffer.from(record.Data).toString();

async function readAll(engine: Engine, streamName: string, shardId: string): Promise<KinesisRecord[]> {
  let { ShardIterator } = await engine.getShardIterator({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  const records: KinesisRecord[] = [];
  for (let calls = 0; calls < 1000; calls++) {
    const result: GetRecordsResult = await engine.getRecords({ ShardIterator });
    records.push(...result.Records);
    if (result.NextShardIterator === undefined || result.Records.length === 0) break;
    ShardIterator = result.NextShardIterator;
  }
  return records;
}

function manualClock(): { clock: () => number; advance: (ms: number) => void } {
  let now = 1_700_000_000_000;
  return { clock: () => now, advance: (ms) => (now += ms) };
}

describe('Engine: streams, records and iterators', () => {
  const time = manualClock();
  const suiteDir = suiteTempDir();
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open({ dataDir: suiteDir.dir, workers: 2, clock: time.clock, enforceLimits: false, fsync: 'never' });
    await engine.createStream({ StreamName: 'orders', ShardCount: 3 });
  });
  afterAll(async () => {
    await engine.close();
    suiteDir.remove();
  });

  it('creates a stream whose shards split the hash key space as Kinesis does', () => {
    const { Shards } = engine.listShards({ StreamName: 'orders' });
    expect(Shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']);
    expect(Shards[1]!.HashKeyRange).toEqual({
      StartingHashKey: '113427455640312821154458202477256070485',
      EndingHashKey: '226854911280625642308916404954512140969',
    });
    const summary = engine.describeStreamSummary({ StreamName: 'orders' }).StreamDescriptionSummary;
    expect(summary).toMatchObject({
      StreamStatus: 'ACTIVE',
      OpenShardCount: 3,
      RetentionPeriodHours: 24,
      StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders',
    });
    expect(
      engine.describeStream({ StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders' }).StreamDescription.Shards,
    ).toHaveLength(3);
    expect(engine.listStreams().StreamNames).toEqual(['orders']);
  });

  it('rejects a taken name, a bad name and an unknown stream with the Kinesis exceptions', async () => {
    await expect(engine.createStream({ StreamName: 'orders', ShardCount: 1 })).rejects.toThrow(ResourceInUseException);
    await expect(engine.createStream({ StreamName: 'bad name!', ShardCount: 1 })).rejects.toThrow(ValidationException);
    await expect(engine.createStream({ StreamName: 'x', ShardCount: 0 })).rejects.toThrow(ValidationException);
    await expect(engine.createStream({ StreamName: 'x', ShardCount: 501 })).rejects.toThrow(LimitExceededException);
    expect(() => engine.describeStream({ StreamName: 'missing' })).toThrow(ResourceNotFoundException);
  });

  it('routes each record by the MD5 of its partition key and orders records per shard', async () => {
    const records = Array.from({ length: 60 }, (_, i) => ({ PartitionKey: `user-${i % 7}`, Data: data(`event-${i}`) }));
    const put = await engine.putRecords({ StreamName: 'orders', Records: records });
    expect(put.FailedRecordCount).toBe(0);
    const { Shards } = engine.listShards({ StreamName: 'orders' });
    put.Records.forEach((result, i) => {
      const hash = hashKeyOf(records[i]!.PartitionKey);
      const owner = Shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= hash && hash <= BigInt(s.HashKeyRange.EndingHashKey))!;
      expect('ShardId' in result && result.ShardId).toBe(owner.ShardId);
    });
    for (const shard of Shards) {
      const read = await readAll(engine, 'orders', shard.ShardId);
      const expected = records.filter(
        (_, i) => 'ShardId' in put.Records[i]! && (put.Records[i] as { ShardId: string }).ShardId === shard.ShardId,
      );
      expect(read.map(text)).toEqual(expected.map((r) => Buffer.from(r.Data).toString()));
      const sequenceNumbers = read.map((r) => r.SequenceNumber);
      expect([...sequenceNumbers].sort()).toEqual(sequenceNumbers);
      expect(new Set(sequenceNumbers).size).toBe(sequenceNumbers.length);
    }
  });

  it('puts made in one event-loop turn reach each shard as one batch, each put with its own contiguous offsets', async () => {
    await engine.createStream({ StreamName: 'turn', ShardCount: 1 });
    const puts = [0, 1, 2].map((p) =>
      engine.putRecords({ StreamName: 'turn', Records: [0, 1].map((i) => ({ PartitionKey: `k${i}`, Data: data(`${p}-${i}`) })) }),
    );
    const results = await Promise.all(puts);
    const offsets = results.map((put) =>
      put.Records.map((r) => ('SequenceNumber' in r ? decodeSequenceNumber(r.SequenceNumber).offset : -1)),
    );
    expect(offsets).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const catalog = JSON.parse(fs.readFileSync(path.join(suiteDir.dir, 'catalog.json'), 'utf8')) as {
      streams: Array<{ id: string; name: string }>;
    };
    const streamId = catalog.streams.find((stream) => stream.name === 'turn')!.id;
    const segment = fs.readFileSync(path.join(suiteDir.dir, 'streams', streamId, 'shardId-000000000000', '00000000000000000000.log'));
    expect(readBatchHeader(segment, 0)).toMatchObject({ baseOffset: 0, recordCount: 6 });
    expect((await readAll(engine, 'turn', 'shardId-000000000000')).map(text)).toEqual(['0-0', '0-1', '1-0', '1-1', '2-0', '2-1']);
    await engine.deleteStream({ StreamName: 'turn' });
  });

  it('puts of one turn beyond the 16 MiB batch limit go out as several batches, every put whole in one', async () => {
    await engine.createStream({ StreamName: 'big', ShardCount: 1 });
    const put = (p: number) =>
      engine.putRecords({
        StreamName: 'big',
        Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: 'k', Data: new Uint8Array(1024 * 1024 - 10).fill(p * 5 + i) })),
      });
    const results = await Promise.all([0, 1, 2, 3].map(put));
    const offsets = results.map((result) =>
      result.Records.map((r) => ('SequenceNumber' in r ? decodeSequenceNumber(r.SequenceNumber).offset : -1)),
    );
    expect(offsets).toEqual([0, 1, 2, 3].map((p) => [0, 1, 2, 3, 4].map((i) => p * 5 + i)));
    const read = await readAll(engine, 'big', 'shardId-000000000000');
    expect(read.map((record) => record.Data[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await engine.deleteStream({ StreamName: 'big' });
  });

  it('routes a request mixing ExplicitHashKey and partition keys, each record by its own', async () => {
    const records = [
      { PartitionKey: 'a', Data: data('1'), ExplicitHashKey: '0' },
      { PartitionKey: 'user-3', Data: data('2') },
      { PartitionKey: 'b', Data: data('3'), ExplicitHashKey: '340282366920938463463374607431768211455' },
      { PartitionKey: 'user-4', Data: data('4') },
    ];
    const put = await engine.putRecords({ StreamName: 'orders', Records: records });
    const { Shards } = engine.listShards({ StreamName: 'orders' });
    const ownerOf = (hash: bigint): string =>
      Shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= hash && hash <= BigInt(s.HashKeyRange.EndingHashKey))!.ShardId;
    const expected = [ownerOf(0n), ownerOf(hashKeyOf('user-3')), ownerOf((1n << 128n) - 1n), ownerOf(hashKeyOf('user-4'))];
    expect(put.Records.map((r) => ('ShardId' in r ? r.ShardId : r.ErrorCode))).toEqual(expected);
  });

  it('routes by ExplicitHashKey when given', async () => {
    const result = await engine.putRecord({
      StreamName: 'orders',
      PartitionKey: 'any',
      Data: data('x'),
      ExplicitHashKey: '340282366920938463463374607431768211455',
    });
    expect(result.ShardId).toBe('shardId-000000000002');
    await expect(
      engine.putRecord({
        StreamName: 'orders',
        PartitionKey: 'any',
        Data: data('x'),
        ExplicitHashKey: '340282366920938463463374607431768211456',
      }),
    ).rejects.toThrow(InvalidArgumentException);
  });

  it('enforces the record and request limits, storing nothing of a rejected request', async () => {
    const before = (await readAll(engine, 'orders', 'shardId-000000000000')).length;
    const tooMany = Array.from({ length: 501 }, () => ({ PartitionKey: 'k', Data: data('x') }));
    await expect(engine.putRecords({ StreamName: 'orders', Records: tooMany })).rejects.toThrow(ValidationException);
    await expect(engine.putRecord({ StreamName: 'orders', PartitionKey: 'k'.repeat(257), Data: data('x') })).rejects.toThrow(
      ValidationException,
    );
    await expect(engine.putRecord({ StreamName: 'orders', PartitionKey: 'k', Data: new Uint8Array(1024 * 1024) })).rejects.toThrow(
      ValidationException,
    );
    const sixMiB = Array.from({ length: 6 }, () => ({ PartitionKey: 'k', Data: new Uint8Array(1024 * 1024 - 10) }));
    await expect(engine.putRecords({ StreamName: 'orders', Records: sixMiB })).rejects.toThrow(InvalidArgumentException);
    expect((await readAll(engine, 'orders', 'shardId-000000000000')).length).toBe(before);
  });

  it('starts iterators at TRIM_HORIZON, LATEST, AT_ and AFTER_SEQUENCE_NUMBER, and AT_TIMESTAMP', async () => {
    await engine.createStream({ StreamName: 'iter', ShardCount: 1 });
    const first = await engine.putRecord({ StreamName: 'iter', PartitionKey: 'k', Data: data('a') });
    time.advance(1000);
    const secondAt = time.clock();
    const second = await engine.putRecord({ StreamName: 'iter', PartitionKey: 'k', Data: data('b') });
    const base = { StreamName: 'iter', ShardId: 'shardId-000000000000' };
    const readFrom = async (request: Record<string, unknown>): Promise<string[]> => {
      const { ShardIterator } = await engine.getShardIterator({ ...base, ...request } as never);
      return (await engine.getRecords({ ShardIterator })).Records.map(text);
    };
    expect(await readFrom({ ShardIteratorType: 'TRIM_HORIZON' })).toEqual(['a', 'b']);
    expect(await readFrom({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: second.SequenceNumber })).toEqual(['b']);
    expect(await readFrom({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: first.SequenceNumber })).toEqual(['b']);
    expect(await readFrom({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(secondAt) })).toEqual(['b']);
    const latest = await engine.getShardIterator({ ...base, ShardIteratorType: 'LATEST' });
    await engine.putRecord({ StreamName: 'iter', PartitionKey: 'k', Data: data('c') });
    expect((await engine.getRecords({ ShardIterator: latest.ShardIterator })).Records.map(text)).toEqual(['c']);
    const other = await engine.putRecord({ StreamName: 'orders', PartitionKey: 'k', Data: data('x') });
    await expect(
      engine.getShardIterator({
        ...base,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: other.SequenceNumber === first.SequenceNumber ? '1' : other.SequenceNumber.replace(/^4/, '5'),
      }),
    ).rejects.toThrow(InvalidArgumentException);
  });

  it('pages with Limit and NextShardIterator, and reports MillisBehindLatest', async () => {
    await engine.createStream({ StreamName: 'paging', ShardCount: 1 });
    await engine.putRecords({
      StreamName: 'paging',
      Records: Array.from({ length: 25 }, (_, i) => ({ PartitionKey: 'k', Data: data(String(i)) })),
    });
    let { ShardIterator } = await engine.getShardIterator({
      StreamName: 'paging',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    time.advance(3000);
    const pages: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const result = await engine.getRecords({ ShardIterator, Limit: 10 });
      pages.push(result.Records.map(text));
      if (i === 0) expect(result.MillisBehindLatest).toBeGreaterThanOrEqual(3000);
      if (i === 2) expect(result.MillisBehindLatest).toBe(0);
      ShardIterator = result.NextShardIterator!;
    }
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5, 0]);
    expect(pages.flat()).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
  });

  it('rejects a tampered iterator and an expired one', async () => {
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: 'paging',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const tampered = ShardIterator.slice(0, 10) + (ShardIterator[10] === 'A' ? 'B' : 'A') + ShardIterator.slice(11);
    await expect(engine.getRecords({ ShardIterator: tampered })).rejects.toThrow(InvalidArgumentException);
    time.advance(5 * 60 * 1000 + 1);
    await expect(engine.getRecords({ ShardIterator })).rejects.toThrow(ExpiredIteratorException);
  });

  it('manages tags within their limits', async () => {
    await engine.addTagsToStream({ StreamName: 'orders', Tags: { team: 'a', env: 'dev' } });
    await engine.removeTagsFromStream({ StreamName: 'orders', TagKeys: ['env'] });
    expect(engine.listTagsForStream({ StreamName: 'orders' })).toEqual({ Tags: [{ Key: 'team', Value: 'a' }], HasMoreTags: false });
    await expect(engine.addTagsToStream({ StreamName: 'orders', Tags: { ['k'.repeat(129)]: 'v' } })).rejects.toThrow(ValidationException);
  });

  it('changes retention only in the allowed direction and range', async () => {
    await engine.increaseStreamRetentionPeriod({ StreamName: 'orders', RetentionPeriodHours: 48 });
    await expect(engine.increaseStreamRetentionPeriod({ StreamName: 'orders', RetentionPeriodHours: 36 })).rejects.toThrow(
      InvalidArgumentException,
    );
    await expect(engine.decreaseStreamRetentionPeriod({ StreamName: 'orders', RetentionPeriodHours: 12 })).rejects.toThrow(
      new InvalidArgumentException('Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.'),
    );
    await expect(engine.increaseStreamRetentionPeriod({ StreamName: 'orders', RetentionPeriodHours: 8761 })).rejects.toThrow(
      new InvalidArgumentException('Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.'),
    );
    await engine.decreaseStreamRetentionPeriod({ StreamName: 'orders', RetentionPeriodHours: 24 });
    expect(engine.describeStreamSummary({ StreamName: 'orders' }).StreamDescriptionSummary.RetentionPeriodHours).toBe(24);
  });

  it('registers enhanced fan-out consumers and guards stream deletion with them', async () => {
    const arn = 'arn:aws:kinesis:us-east-1:000000000000:stream/paging';
    const { Consumer } = await engine.registerStreamConsumer({ StreamARN: arn, ConsumerName: 'app' });
    expect(Consumer.ConsumerARN.startsWith(`${arn}/consumer/app:`)).toBe(true);
    expect(engine.listStreamConsumers({ StreamARN: arn }).Consumers.map((c) => c.ConsumerName)).toEqual(['app']);
    await expect(engine.registerStreamConsumer({ StreamARN: arn, ConsumerName: 'app' })).rejects.toThrow(ResourceInUseException);
    await expect(engine.deleteStream({ StreamName: 'paging' })).rejects.toThrow(ResourceInUseException);
    await engine.deregisterStreamConsumer({ ConsumerARN: Consumer.ConsumerARN });
    await engine.deleteStream({ StreamName: 'paging' });
    expect(engine.listStreams().StreamNames).not.toContain('paging');
  });

  it('a stream deleted and created again never shows the old records', async () => {
    await engine.createStream({ StreamName: 'again', ShardCount: 1 });
    await engine.putRecord({ StreamName: 'again', PartitionKey: 'k', Data: data('old') });
    await engine.deleteStream({ StreamName: 'again' });
    await engine.createStream({ StreamName: 'again', ShardCount: 1 });
    expect(await readAll(engine, 'again', 'shardId-000000000000')).toEqual([]);
  });
});

describe('Engine: resharding', () => {
  const suiteDir = suiteTempDir();
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open({ dataDir: suiteDir.dir, workers: 2, enforceLimits: false, fsync: 'never' });
  });
  afterAll(async () => {
    await engine.close();
    suiteDir.remove();
  });

  it('split closes the parent, children carry the lineage, and reads continue into them', async () => {
    await engine.createStream({ StreamName: 'split', ShardCount: 1 });
    const before = await engine.putRecord({ StreamName: 'split', PartitionKey: 'k', Data: data('before') });
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: 'split',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    await engine.splitShard({ StreamName: 'split', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (1n << 127n).toString() });
    const shards = engine.listShards({ StreamName: 'split' }).Shards;
    expect(shards.map((s) => [s.ShardId, s.ParentShardId])).toEqual([
      ['shardId-000000000000', undefined],
      ['shardId-000000000001', 'shardId-000000000000'],
      ['shardId-000000000002', 'shardId-000000000000'],
    ]);
    expect(shards[0]!.SequenceNumberRange.EndingSequenceNumber).toBe(before.SequenceNumber);
    expect(shards[2]!.HashKeyRange.StartingHashKey).toBe((1n << 127n).toString());
    const after = await engine.putRecord({ StreamName: 'split', PartitionKey: 'k', Data: data('after') });
    expect(after.ShardId).not.toBe('shardId-000000000000');
    expect(after.SequenceNumber > before.SequenceNumber).toBe(true);
    // The read that reaches the end of a closed shard returns its last records, no next
    // iterator, and the children to continue with.
    const end = await engine.getRecords({ ShardIterator });
    expect(end.Records.map(text)).toEqual(['before']);
    expect(end.NextShardIterator).toBeUndefined();
    expect(end.ChildShards!.map((c) => c.ShardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(engine.listShards({ StreamName: 'split', ShardFilter: { Type: 'AT_LATEST' } }).Shards).toHaveLength(2);
  });

  it('a closed shard cannot be split or merged again; merges need adjacent ranges', async () => {
    await expect(engine.splitShard({ StreamName: 'split', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '5' })).rejects.toThrow(
      InvalidArgumentException,
    );
    await engine.createStream({ StreamName: 'merge', ShardCount: 3 });
    await expect(
      engine.mergeShards({ StreamName: 'merge', ShardToMerge: 'shardId-000000000000', AdjacentShardToMerge: 'shardId-000000000002' }),
    ).rejects.toThrow(InvalidArgumentException);
    await engine.mergeShards({ StreamName: 'merge', ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' });
    const child = engine.listShards({ StreamName: 'merge' }).Shards.at(-1)!;
    expect(child).toMatchObject({
      ShardId: 'shardId-000000000003',
      ParentShardId: 'shardId-000000000001',
      AdjacentParentShardId: 'shardId-000000000002',
    });
    expect(child.HashKeyRange.EndingHashKey).toBe('340282366920938463463374607431768211455');
    await expect(engine.splitShard({ StreamName: 'merge', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '0' })).rejects.toThrow(
      InvalidArgumentException,
    );
  });

  it('loses, duplicates and reorders nothing when shards split and merge under concurrent puts and reads', async () => {
    await engine.createStream({ StreamName: 'busy', ShardCount: 2 });
    const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
    const sent = new Map<string, number>();
    let stop = false;
    const producer = (async () => {
      for (let round = 0; round < 400 && !stop; round++) {
        const records = keys.map((key) => {
          const n = sent.get(key) ?? 0;
          sent.set(key, n + 1);
          return { PartitionKey: key, Data: data(`${key}:${n}`) };
        });
        const result = await engine.putRecords({ StreamName: 'busy', Records: records });
        expect(result.FailedRecordCount).toBe(0);
      }
    })();
    // A reader tails every shard meanwhile: per shard, what it sees only ever grows in order.
    const tailed = new Map<string, string[]>();
    const reader = (async () => {
      const iterators = new Map<string, string | undefined>();
      for (let pass = 0; pass < 2000 && !stop; pass++) {
        for (const shard of engine.listShards({ StreamName: 'busy' }).Shards) {
          if (!iterators.has(shard.ShardId)) {
            iterators.set(
              shard.ShardId,
              (await engine.getShardIterator({ StreamName: 'busy', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
                .ShardIterator,
            );
          }
          const iterator = iterators.get(shard.ShardId);
          if (iterator === undefined) continue;
          const result = await engine.getRecords({ ShardIterator: iterator });
          tailed.set(shard.ShardId, [...(tailed.get(shard.ShardId) ?? []), ...result.Records.map((r) => r.SequenceNumber)]);
          iterators.set(shard.ShardId, result.NextShardIterator);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await engine.splitShard({ StreamName: 'busy', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (1n << 126n).toString() });
    await engine.mergeShards({ StreamName: 'busy', ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000003' });
    await engine.splitShard({ StreamName: 'busy', ShardToSplit: 'shardId-000000000001', NewStartingHashKey: (3n << 126n).toString() });
    stop = true;
    await producer;
    await reader;
    for (const [shardId, sequenceNumbers] of tailed) {
      expect([...sequenceNumbers].sort(), shardId).toEqual(sequenceNumbers);
      expect(new Set(sequenceNumbers).size, shardId).toBe(sequenceNumbers.length);
    }
    expect([...tailed.values()].flat().length).toBeGreaterThan(0);
    // Parents before children, as a KCL worker reads them: per key, the order of the puts.
    const seen = new Map<string, number[]>();
    for (const shard of engine.listShards({ StreamName: 'busy' }).Shards) {
      for (const record of await readAll(engine, 'busy', shard.ShardId)) {
        const [key, n] = text(record).split(':') as [string, string];
        seen.set(key, [...(seen.get(key) ?? []), Number(n)]);
      }
    }
    for (const key of keys) expect(seen.get(key), key).toEqual(Array.from({ length: sent.get(key)! }, (_, i) => i));
  });
});

describe('Engine: durability across restarts', () => {
  it('reopening finds every stream, shard, record and setting as it was', async () => {
    const dataDir = tempDir();
    let engine = await Engine.open({ dataDir, workers: 1 });
    await engine.createStream({ StreamName: 'kept', ShardCount: 2 });
    await engine.putRecords({
      StreamName: 'kept',
      Records: [
        { PartitionKey: 'a', Data: data('1') },
        { PartitionKey: 'b', Data: data('2') },
      ],
    });
    await engine.splitShard({ StreamName: 'kept', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '12345' });
    await engine.increaseStreamRetentionPeriod({ StreamName: 'kept', RetentionPeriodHours: 72 });
    await engine.addTagsToStream({ StreamName: 'kept', Tags: { owner: 'me' } });
    const shardsBefore = engine.listShards({ StreamName: 'kept' });
    await engine.close();
    engine = await Engine.open({ dataDir, workers: 1 });
    try {
      expect(engine.listShards({ StreamName: 'kept' })).toEqual(shardsBefore);
      expect(engine.describeStreamSummary({ StreamName: 'kept' }).StreamDescriptionSummary).toMatchObject({
        RetentionPeriodHours: 72,
        StreamStatus: 'ACTIVE',
      });
      expect(engine.listTagsForStream({ StreamName: 'kept' }).Tags).toEqual([{ Key: 'owner', Value: 'me' }]);
      const all = [...(await readAll(engine, 'kept', 'shardId-000000000000')), ...(await readAll(engine, 'kept', 'shardId-000000000001'))];
      expect(all.map(text).sort()).toEqual(['1', '2']);
    } finally {
      await engine.close();
    }
  });

  it('a restart in the middle of a split completes it', async () => {
    const dataDir = tempDir();
    let engine = await Engine.open({ dataDir, workers: 1 });
    await engine.createStream({ StreamName: 'mid', ShardCount: 1 });
    const put = await engine.putRecord({ StreamName: 'mid', PartitionKey: 'k', Data: data('x') });
    await engine.close();
    // The state a crash leaves after the split's first step was persisted: stream UPDATING,
    // children recorded, parent marked closing, nothing else done.
    const file = path.join(dataDir, 'catalog.json');
    const catalog = JSON.parse(fs.readFileSync(file, 'utf8'));
    const stream = catalog.streams[0];
    stream.status = 'UPDATING';
    stream.shards[0].closing = true;
    stream.shards.push(
      { shardId: 'shardId-000000000001', serial: 1, startingHashKey: '0', endingHashKey: '99', parentShardId: 'shardId-000000000000' },
      {
        shardId: 'shardId-000000000002',
        serial: 2,
        startingHashKey: '100',
        endingHashKey: stream.shards[0].endingHashKey,
        parentShardId: 'shardId-000000000000',
      },
    );
    stream.nextShardSerial = 3;
    fs.writeFileSync(file, JSON.stringify(catalog));
    engine = await Engine.open({ dataDir, workers: 1 });
    try {
      expect(engine.describeStreamSummary({ StreamName: 'mid' }).StreamDescriptionSummary).toMatchObject({
        StreamStatus: 'ACTIVE',
        OpenShardCount: 2,
      });
      expect(engine.listShards({ StreamName: 'mid' }).Shards[0]!.SequenceNumberRange.EndingSequenceNumber).toBe(put.SequenceNumber);
      const next = await engine.putRecord({ StreamName: 'mid', PartitionKey: 'k', Data: data('y') });
      expect(next.ShardId).not.toBe('shardId-000000000000');
      expect((await readAll(engine, 'mid', 'shardId-000000000000')).map(text)).toEqual(['x']);
    } finally {
      await engine.close();
    }
  });
});
