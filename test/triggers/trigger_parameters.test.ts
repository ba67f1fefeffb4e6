import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { Handler } from '../../src/triggers/functions.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import type { MappingRequest } from '../../src/triggers/mapping.js';
import type { Trigger } from '../../src/triggers/trigger.js';
import { tempDir } from '../helpers/temp_dir.js';
import { ManualClock, STREAM_ARN, indexOf, newTrigger, openEngine, putAll, until } from './trigger_helpers.js';

// Goal: the mapping parameters that shape how a shard's records reach the function work as on
// Lambda: ParallelizationFactor runs batches of one shard at once with each partition key in
// order, and its checkpoint never passes a record still unfinished in another lane;
// MaximumBatchingWindowInSeconds gathers records until the window passes or the batch is full;
// TumblingWindowInSeconds groups records by arrival time, carries the state between the
// invocations of a window, calls once more at its end, and resumes a window after a restart
// without counting a record twice; MaximumRecordAgeInSeconds gives up on records as the clock
// moves; a consumer ARN reads by push through that consumer.
// Method: a real engine on a temporary directory whose clock the test moves (ManualClock), and
// embedded handlers; every wait is on an outcome, never on a duration.

let engine: Engine | undefined;
const triggers: Trigger[] = [];
afterEach(async () => {
  for (const trigger of triggers.splice(0)) await trigger.stop();
  await engine?.close();
  engine = undefined;
});

async function start(uuid: string, mapping: Partial<MappingRequest>, handler: Handler): Promise<Trigger> {
  const trigger = newTrigger(engine!, uuid, mapping, handler);
  triggers.push(trigger);
  await trigger.start();
  return trigger;
}

async function stop(trigger: Trigger): Promise<void> {
  triggers.splice(triggers.indexOf(trigger), 1);
  await trigger.stop();
}

async function oneShardStream(clock?: ManualClock): Promise<Engine> {
  engine = await openEngine(tempDir(), clock);
  await engine.createStream({ StreamName: 'events', ShardCount: 1 });
  return engine;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ParallelizationFactor', () => {
  it('runs batches of one shard at once and keeps each key in order', async () => {
    const target = await oneShardStream();
    await putAll(target, 400, 0, 16);
    const ledger = new Map<string, number[]>();
    let inFlight = 0;
    let most = 0;
    await start('parallel', { ParallelizationFactor: 4, BatchSize: 10 }, async (event) => {
      most = Math.max(most, ++inFlight);
      await delay(2);
      for (const record of event.Records) {
        const key = record.kinesis.partitionKey;
        ledger.set(key, [...(ledger.get(key) ?? []), indexOf(record)]);
      }
      inFlight--;
    });
    await until(() => [...ledger.values()].reduce((sum, seen) => sum + seen.length, 0) >= 400, 'every record');
    expect(most).toBeGreaterThan(1);
    for (let key = 0; key < 16; key++)
      expect(ledger.get(`k${key}`), `key k${key}`).toEqual(Array.from({ length: 25 }, (_, n) => key + 16 * n));
  });

  it('checkpoints only below the first unfinished record, so a restart skips nothing', async () => {
    const target = await oneShardStream();
    await putAll(target, 400, 0, 16);
    const first = new Set<number>();
    const before = await start('prefix', { ParallelizationFactor: 4, BatchSize: 10 }, (event) => {
      const indexes = event.Records.map(indexOf);
      if (indexes.includes(3)) throw new Error('record 3 is refused');
      for (const index of indexes) first.add(index);
    });
    // Record 3's lane holds; the others go on until the shard's backlog is full.
    await until(() => first.size >= 20, 'progress in the other lanes');
    await stop(before);
    const doneAfter3 = [...first].filter((index) => index > 3);
    const second = new Set<number>();
    await start('prefix', { ParallelizationFactor: 4, BatchSize: 10 }, (event) => {
      for (const record of event.Records) second.add(indexOf(record));
    });
    await until(() => second.size >= 397, 'the records from record 3 on');
    for (let index = 3; index < 400; index++) expect(second.has(index), `record ${index}`).toBe(true);
    expect(doneAfter3.length).toBeGreaterThan(0);
    expect(doneAfter3.every((index) => second.has(index))).toBe(true);
  });
});

describe('MaximumBatchingWindowInSeconds', () => {
  it('gathers records until the window has passed on the clock, or the batch is full', async () => {
    const clock = new ManualClock();
    const target = await oneShardStream(clock);
    const sizes: number[] = [];
    await start('window', { BatchSize: 100, MaximumBatchingWindowInSeconds: 10 }, (event) => void sizes.push(event.Records.length));
    await putAll(target, 5);
    await delay(300);
    expect(sizes).toEqual([]);
    clock.advance(10_000);
    await until(() => sizes.length === 1, 'the window to pass');
    await putAll(target, 100, 5);
    await until(() => sizes.length === 2, 'a full batch');
    expect(sizes).toEqual([5, 100]);
  });
});

interface WindowCall {
  readonly records: number[];
  readonly state: unknown;
  readonly final: boolean;
  readonly window: string;
}

function windowCounter(calls: WindowCall[]): Handler {
  return (event: KinesisEvent) => {
    calls.push({
      records: event.Records.map(indexOf),
      state: event.state,
      final: event.isFinalInvokeForWindow === true,
      window: `${event.window!.start}/${event.window!.end}`,
    });
    return { state: { count: ((event.state?.['count'] as number | undefined) ?? 0) + event.Records.length } };
  };
}

describe('TumblingWindowInSeconds', () => {
  it("carries a window's state between its invocations, ends it with a final call, and resumes it after a restart", async () => {
    const clock = new ManualClock();
    const target = await oneShardStream(clock);
    const first = new Date(clock.ms).toISOString();
    const second = new Date(clock.ms + 60_000).toISOString();
    const third = new Date(clock.ms + 120_000).toISOString();
    clock.advance(1000);
    await putAll(target, 10);
    const calls: WindowCall[] = [];
    const mapping = { BatchSize: 4, TumblingWindowInSeconds: 60 };
    const before = await start('tumbling', mapping, windowCounter(calls));
    await until(() => calls.length === 3, 'three invocations of the first window');
    expect(calls.map((call) => [call.records.length, call.state, call.final])).toEqual([
      [4, {}, false],
      [4, { count: 4 }, false],
      [2, { count: 8 }, false],
    ]);
    expect(calls[0]!.window).toBe(`${first}/${second}`);
    await stop(before);

    calls.length = 0;
    await start('tumbling', mapping, windowCounter(calls));
    clock.advance(60_000);
    await putAll(target, 3, 10);
    await until(() => calls.length === 2, 'the end of the first window and the second');
    expect(calls[0]).toEqual({ records: [], state: { count: 10 }, final: true, window: `${first}/${second}` });
    expect(calls[1]).toEqual({ records: [10, 11, 12], state: {}, final: false, window: `${second}/${third}` });
    clock.advance(60_000);
    await until(() => calls.length === 3, 'the second window to end on the clock');
    expect(calls[2]).toEqual({ records: [], state: { count: 3 }, final: true, window: `${second}/${third}` });
  });

  it('counts an answer without a state as a failed invocation', async () => {
    const target = await oneShardStream();
    const failures = path.join(tempDir(), 'failures.jsonl');
    await putAll(target, 3);
    await start(
      'stateless',
      {
        TumblingWindowInSeconds: 60,
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: pathToFileURL(failures).href } },
      },
      () => ({ batchItemFailures: [] }),
    );
    await until(() => fs.existsSync(failures) && fs.readFileSync(failures, 'utf8').includes('\n'), 'the on-failure record');
    expect(JSON.parse(fs.readFileSync(failures, 'utf8'))).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 },
      KinesisBatchInfo: { batchSize: 3 },
    });
  });
});

describe('MaximumRecordAgeInSeconds on the engine clock', () => {
  it('gives up on records once the clock has moved past their age, and goes on', async () => {
    const clock = new ManualClock();
    const target = await oneShardStream(clock);
    const failures = path.join(tempDir(), 'failures.jsonl');
    await putAll(target, 5);
    let invocations = 0;
    const handled: number[] = [];
    await start(
      'age',
      { MaximumRecordAgeInSeconds: 60, DestinationConfig: { OnFailure: { Destination: pathToFileURL(failures).href } } },
      (event) => {
        invocations++;
        const indexes = event.Records.map(indexOf);
        if (indexes.some((i) => i < 5)) throw new Error('the first five fail');
        handled.push(...indexes);
      },
    );
    await until(() => invocations >= 2, 'a retry');
    clock.advance(61_000);
    await until(() => fs.existsSync(failures) && fs.readFileSync(failures, 'utf8').includes('\n'), 'the on-failure record');
    expect(JSON.parse(fs.readFileSync(failures, 'utf8'))).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
      responseContext: null,
      KinesisBatchInfo: { batchSize: 5 },
    });
    await putAll(target, 3, 5);
    await until(() => handled.length === 3, 'the next records');
    expect(handled).toEqual([5, 6, 7]);
  });
});

describe('a consumer ARN as the event source', () => {
  it("reads by push through that consumer, and registers none of the group's own", async () => {
    const target = await oneShardStream();
    const { Consumer } = await target.registerStreamConsumer({ StreamARN: STREAM_ARN, ConsumerName: 'lambda-efo' });
    const seen: KinesisEvent['Records'] = [];
    await start('efo', { EventSourceArn: Consumer.ConsumerARN }, (event) => void seen.push(...event.Records));
    await putAll(target, 50);
    await until(() => seen.length >= 50, 'every record');
    expect(seen.map(indexOf)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(seen[0]!.eventSourceARN).toBe(STREAM_ARN);
    const consumers = target.listStreamConsumers({ StreamARN: STREAM_ARN }).Consumers;
    expect(consumers.map((consumer) => consumer.ConsumerName)).toEqual(['lambda-efo']);
  });
});
