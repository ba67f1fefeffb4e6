import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { InvalidParameterValueException } from '../../src/errors.js';
import { callableFunction, type Handler } from '../../src/triggers/functions.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import { resolveMapping, type MappingRequest } from '../../src/triggers/mapping.js';
import { Trigger } from '../../src/triggers/trigger.js';
import { tempDir } from '../helpers/temp_dir.js';
import { STREAM_ARN, indexOf, newTrigger, openEngine, putAll, until } from './trigger_helpers.js';

// Goal: an event source mapping on an engine of this process hands every record to its function
// in AWS's event shape, in order per shard and within BatchSize; a failing record goes to a
// file destination as AWS's on-failure record and processing goes on; FilterCriteria drop the
// records no filter matches; a trigger started again on the same mapping resumes after the last
// finished batch (its positions are on its group's leases); a combination shardline does not run is refused.
// Method: a real engine on a temporary directory, embedded handler functions, polling at 20 ms.

let engine: Engine | undefined;
const triggers: Trigger[] = [];
afterEach(async () => {
  for (const trigger of triggers.splice(0)) await trigger.stop();
  await engine?.close();
  engine = undefined;
});

async function startTrigger(target: Engine, uuid: string, mapping: Partial<MappingRequest>, handler: Handler): Promise<Trigger> {
  const trigger = newTrigger(target, uuid, mapping, handler);
  triggers.push(trigger);
  await trigger.start();
  return trigger;
}

describe('a trigger on an embedded engine', () => {
  it('hands every record over in order per shard, in batches of at most BatchSize', async () => {
    const target = (engine = await openEngine(tempDir()));
    await target.createStream({ StreamName: 'events', ShardCount: 2 });
    await putAll(target, 300);
    const events: KinesisEvent[] = [];
    await startTrigger(target, 'order', { BatchSize: 25 }, (event) => void events.push(event));
    await until(() => events.reduce((sum, event) => sum + event.Records.length, 0) >= 300, 'every record');
    expect(events.every((event) => event.Records.length <= 25)).toBe(true);
    const all = events.flatMap((event) => event.Records);
    expect(all.map(indexOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const shard of new Set(all.map((record) => record.eventID.split(':')[0]))) {
      const sequence = all
        .filter((record) => record.eventID.startsWith(`${shard}:`))
        .map((record) => BigInt(record.kinesis.sequenceNumber));
      expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    expect(all[0]).toMatchObject({ eventSource: 'aws:kinesis', eventName: 'aws:kinesis:record', eventSourceARN: STREAM_ARN });
  });

  it('sends a record that keeps failing to the file destination, goes on, and filters', async () => {
    const dir = tempDir();
    const target = (engine = await openEngine(path.join(dir, 'data')));
    await target.createStream({ StreamName: 'events', ShardCount: 1 });
    await putAll(target, 40);
    const failures = path.join(dir, 'failures.jsonl');
    const handled: number[] = [];
    const trigger = await startTrigger(
      target,
      'failing',
      {
        BatchSize: 10,
        MaximumRetryAttempts: 1,
        BisectBatchOnFunctionError: true,
        DestinationConfig: { OnFailure: { Destination: pathToFileURL(failures).href } },
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ data: { i: [{ numeric: ['<', 30] }] } }) }] },
      },
      (event) => {
        const indexes = event.Records.map(indexOf);
        if (indexes.includes(13)) throw new Error('13 is unlucky');
        handled.push(...indexes);
      },
    );
    await until(() => handled.length >= 29, 'the records but 13');
    await until(() => fs.existsSync(failures) && fs.readFileSync(failures, 'utf8').length > 0, 'the on-failure record');
    expect([...new Set(handled)].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 13));
    const [line] = fs.readFileSync(failures, 'utf8').trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f' },
      KinesisBatchInfo: { batchSize: 1, streamArn: STREAM_ARN, shardId: 'shardId-000000000000' },
    });
    expect(trigger.status.lastProcessingResult).toMatch(/^(OK|PROBLEM: Function call failed)$/);
    expect(trigger.status.failedRecords).toBe(1);
  });

  it('resumes after the last finished batch when started again on the same mapping', async () => {
    const dataDir = tempDir();
    const target = (engine = await openEngine(dataDir));
    await target.createStream({ StreamName: 'events', ShardCount: 1 });
    await putAll(target, 50);
    const first: number[] = [];
    const before = await startTrigger(target, 'resume', { BatchSize: 10 }, (event) => void first.push(...event.Records.map(indexOf)));
    await until(() => first.length >= 50, 'the first 50');
    await before.stop();
    triggers.splice(triggers.indexOf(before), 1);
    await putAll(target, 20, 50);
    const second: number[] = [];
    await startTrigger(target, 'resume', { BatchSize: 10 }, (event) => void second.push(...event.Records.map(indexOf)));
    await until(() => second.length >= 20, 'the next 20');
    expect(second).toEqual(Array.from({ length: 20 }, (_, i) => 50 + i));
  });

  it('refuses tumbling windows with a ParallelizationFactor above 1, rather than ignoring either', async () => {
    const target = (engine = await openEngine(tempDir()));
    const settings = resolveMapping({
      EventSourceArn: STREAM_ARN,
      FunctionName: 'f',
      StartingPosition: 'LATEST',
      ParallelizationFactor: 2,
      TumblingWindowInSeconds: 60,
    });
    expect(() => new Trigger({ engine: target, uuid: 'x', settings, fn: callableFunction('f', { handler: () => undefined }) })).toThrow(
      InvalidParameterValueException,
    );
  });
});
