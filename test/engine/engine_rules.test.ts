import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import * as shardline from '../../src/index.js';
import {
  DryRunOperationException,
  InvalidArgumentException,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
} from '../../src/errors.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: the Kinesis rules the engine owns hold for an embedded caller too (every door goes
// through them): DryRun on PutRecord, PutRecords, GetShardIterator, GetRecords and
// SubscribeToShard; the 5-second SubscribeToShard rule after the consumer lookup; AT_TIMESTAMP
// in the future; PutRecord's errors naming its own members. And the public surface holds no
// wire-only or test-only method. Method: one real engine, its clock moved by hand, limits on.

const STREAM = 'embedded-rules';
const SHARD = 'shardId-000000000000';
const ARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`;
const DRY_RUN = 'The request was rejected because the DryRun parameter was specified.';

describe('Engine: the Kinesis rules of every door', () => {
  let now = 1_700_000_000_000;
  const suiteDir = suiteTempDir();
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.open({ dataDir: suiteDir.dir, workers: 1, fsync: 'never', clock: () => now });
    await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
  });
  afterAll(async () => {
    await engine.close();
    suiteDir.remove();
  });

  const consumer = async (name: string): Promise<string> =>
    (await engine.registerStreamConsumer({ StreamARN: ARN, ConsumerName: name })).Consumer.ConsumerARN;
  /** The first event of a subscription (the generator is closed after it): the stream holds a record, so it comes at once. */
  const firstEvent = async (request: Parameters<Engine['subscribeToShard']>[0]): Promise<unknown> => {
    const events = engine.subscribeToShard(request);
    try {
      return (await events.next()).value;
    } finally {
      await events.return(undefined);
    }
  };

  it('gives an empty shard the continuation "0", from which AFTER_SEQUENCE_NUMBER starts at its first record', async () => {
    const stream = 'empty-start';
    await engine.createStream({ StreamName: stream, ShardCount: 1 });
    const streamArn = `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`;
    const register = async (name: string): Promise<string> =>
      (await engine.registerStreamConsumer({ StreamARN: streamArn, ConsumerName: name })).Consumer.ConsumerARN;
    const empty = engine.subscribeToShard({
      ConsumerARN: await register('empty'),
      ShardId: SHARD,
      StartingPosition: { Type: 'TRIM_HORIZON' },
    });
    // An idle subscription's heartbeat comes 5 s (of the engine's clock) after it began.
    let heartbeat: shardline.SubscribeToShardEvent | undefined;
    const next = empty.next().then((result) => (heartbeat = result.value as shardline.SubscribeToShardEvent));
    for (let step = 0; step < 600 && heartbeat === undefined; step++) {
      now += 500;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { ContinuationSequenceNumber, Records } = await next;
    await empty.return(undefined);
    await engine.putRecord({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from('first') });
    const resumed = (await firstEvent({
      ConsumerARN: await register('resumed'),
      ShardId: SHARD,
      StartingPosition: { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: ContinuationSequenceNumber },
    })) as shardline.SubscribeToShardEvent;
    expect({ ContinuationSequenceNumber, Records, resumed: resumed.Records.map((record) => Buffer.from(record.Data).toString()) }).toEqual({
      ContinuationSequenceNumber: '0',
      Records: [],
      resumed: ['first'],
    });
  });

  it('checks dry runs of puts, stores nothing, and refuses them with DryRunOperationException', async () => {
    await expect(engine.putRecord({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from('dry'), DryRun: true })).rejects.toThrow(
      new DryRunOperationException(DRY_RUN),
    );
    await expect(
      engine.putRecords({ StreamName: STREAM, Records: [{ PartitionKey: 'k', Data: Buffer.from('dry') }], DryRun: true }),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    await expect(
      engine.putRecords({ StreamName: STREAM, Records: [{ PartitionKey: '', Data: Buffer.from('dry') }], DryRun: true }),
    ).rejects.toBeInstanceOf(ValidationException);
    await expect(
      engine.putRecord({ StreamName: 'elsewhere', PartitionKey: 'k', Data: Buffer.from('dry'), DryRun: true }),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    const { ShardIterator } = await engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'TRIM_HORIZON' });
    expect((await engine.getRecords({ ShardIterator })).Records).toEqual([]);
  });

  it("checks dry runs of reads; a dry GetRecords does not count against the shard's 5 reads a second", async () => {
    now += 10_000;
    await expect(
      engine.getShardIterator({ StreamName: STREAM, ShardId: 'shardId-000000000007', ShardIteratorType: 'LATEST', DryRun: true }),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'LATEST', DryRun: true }),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    const { ShardIterator } = await engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'LATEST' });
    for (let i = 0; i < 10; i++) await expect(engine.getRecords({ ShardIterator, DryRun: true })).rejects.toThrow(DryRunOperationException);
    for (let i = 0; i < 5; i++) expect((await engine.getRecords({ ShardIterator })).Records).toEqual([]);
  });

  it('checks a dry run of a subscription without taking the 5 seconds', async () => {
    const arn = await consumer('dry');
    await expect(
      firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'LATEST' }, DryRun: true }),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    await expect(
      firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: 'x' }, DryRun: true }),
    ).rejects.toBeInstanceOf(ValidationException);
    await engine.putRecord({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from('pushed') });
    expect(await firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } })).toMatchObject({
      Records: [{ PartitionKey: 'k' }],
    });
  });

  it("refuses a subscription within 5 seconds of the last for its consumer and shard, by the engine's clock", async () => {
    const arn = await consumer('again');
    await firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    now += 4999;
    await expect(firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } })).rejects.toBeInstanceOf(
      ResourceInUseException,
    );
    now += 1;
    await expect(firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } })).resolves.toBeDefined();
  });

  it('answers a deregistered consumer ResourceNotFoundException within the 5 seconds, and a refused start takes none of them', async () => {
    const arn = await consumer('gone');
    await expect(
      firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: now + 1 } }),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    await firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } });
    await engine.deregisterStreamConsumer({ ConsumerARN: arn });
    await expect(firstEvent({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("refuses AT_TIMESTAMP in the future, in Kinesis' words, and takes the present", async () => {
    const future = now + 1;
    const message = `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${future}, currentTimestampInMillis: ${now}`;
    await expect(
      engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(future) }),
    ).rejects.toThrow(new InvalidArgumentException(message));
    await expect(
      engine.getShardIterator({ StreamName: STREAM, ShardId: SHARD, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: now }),
    ).resolves.toHaveProperty('ShardIterator');
  });

  it("names PutRecord's members as PutRecord has them, and PutRecords' entries by number, in AWS's words", async () => {
    const tooLong = 'k'.repeat(257);
    const tooLongAt = (path: string): ValidationException =>
      new ValidationException(
        `1 validation error detected: Value '${tooLong}' at '${path}' failed to satisfy constraint: Member must have length less than or equal to 256`,
      );
    await expect(engine.putRecord({ StreamName: STREAM, PartitionKey: tooLong, Data: Buffer.from('x') })).rejects.toThrow(
      tooLongAt('partitionKey'),
    );
    await expect(
      engine.putRecords({
        StreamName: STREAM,
        Records: [
          { PartitionKey: 'k', Data: Buffer.from('x') },
          { PartitionKey: tooLong, Data: Buffer.from('x') },
        ],
      }),
    ).rejects.toThrow(tooLongAt('records.2.member.partitionKey'));
    await expect(
      engine.putRecord({ StreamName: STREAM, PartitionKey: 'k', ExplicitHashKey: '-1', Data: Buffer.from('x') }),
    ).rejects.toThrow(/at 'explicitHashKey' failed to satisfy constraint/);
    const aboveMax = (1n << 128n).toString();
    await expect(
      engine.putRecord({ StreamName: STREAM, PartitionKey: 'k', ExplicitHashKey: aboveMax, Data: Buffer.from('x') }),
    ).rejects.toThrow(/^ExplicitHashKey /);
  });

  it('keeps wire-only and test-only methods off the public surface', () => {
    for (const name of ['putEncoded', 'getRecordsRaw', 'subscribeRaw', 'simulateWorkerCrash']) expect(name in engine, name).toBe(false);
    expect(Object.keys(shardline)).not.toContain('dataPathOf');
    expect(shardline.Engine).toBe(Engine);
  });
});
