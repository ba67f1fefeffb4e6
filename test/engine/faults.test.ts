import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { ShardlineError } from '../../src/errors.js';
import type { FaultRuleInput } from '../../src/streams/fault_rules.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { failureOf } from '../helpers/failure.js';

// Goal: fault rules on the embedded engine do what their kind says, to the requests their scope
// names, as often as their share says, from their seed, and are counted; a bad rule is refused
// with its reasons and changes nothing. Method: a real engine on a temporary directory, rules put
// through its public methods, the outcomes read from its answers (errors' codes, messages and
// `injected`, PutRecords' entries), a seeded schedule run twice on two engines and compared.

const encoder = new TextEncoder();
let root: ReturnType<typeof suiteTempDir>;
let engine: Engine;

async function openEngine(): Promise<Engine> {
  return Engine.open({ dataDir: root.dir, fsync: 'never', enforceLimits: false, workers: 1 });
}

beforeEach(async () => {
  root = suiteTempDir('shardline-faults-');
  engine = await openEngine();
  await engine.createStream({ StreamName: 's', ShardCount: 2 });
  await engine.createStream({ StreamName: 'other', ShardCount: 1 });
});

afterEach(async () => {
  await engine.close();
  root.remove();
});

function entries(count: number): { Data: Uint8Array; PartitionKey: string }[] {
  return Array.from({ length: count }, (_, index) => ({ Data: encoder.encode(`r${index}`), PartitionKey: `k${index}` }));
}

/** Which entries of each of `calls` PutRecords of 20 failed, and with what. */
async function putSchedule(calls: number): Promise<string[]> {
  const seen: string[] = [];
  for (let call = 0; call < calls; call++) {
    const { Records } = await engine.putRecords({ StreamName: 's', Records: entries(20) });
    seen.push(Records.map((entry) => ('ErrorCode' in entry ? 'x' : '.')).join(''));
  }
  return seen;
}

const failure = (run: () => Promise<unknown> | unknown): Promise<ShardlineError> => failureOf<ShardlineError>(run);

describe('fault rules, embedded', () => {
  it('throttles a share of PutRecords entries, each marked, and the same seed gives the same schedule twice', async () => {
    const rule: FaultRuleInput = {
      RuleId: 'put-storm',
      StreamName: 's',
      Operations: ['PutRecords'],
      Kind: 'THROTTLE',
      Probability: 0.3,
      Seed: 7,
    };
    engine.putFaultRule(rule);
    const first = await putSchedule(5);
    const { Records, FailedRecordCount } = await engine.putRecords({ StreamName: 's', Records: entries(20) });
    const failed = Records.filter((entry) => 'ErrorCode' in entry);
    expect(FailedRecordCount).toBe(failed.length);
    expect(failed[0]).toMatchObject({
      ErrorCode: 'ProvisionedThroughputExceededException',
      ErrorMessage: expect.stringMatching(/ \(injected by fault rule put-storm\)$/),
    });
    const counted = engine.listFaultRules().Rules[0]!;
    const injected =
      first
        .join('')
        .split('')
        .filter((mark) => mark === 'x').length + failed.length;
    expect({ matched: counted.Matched, injected: counted.Injected }).toEqual({ matched: 120, injected });
    expect(injected).toBeGreaterThan(0);
    expect(injected).toBeLessThan(120);

    await engine.close();
    root.remove();
    root = suiteTempDir('shardline-faults-');
    engine = await openEngine();
    await engine.createStream({ StreamName: 's', ShardCount: 2 });
    engine.putFaultRule(rule);
    expect(await putSchedule(5)).toEqual(first);
  });

  it('stores the entries it did not throttle, in their order', async () => {
    engine.putFaultRule({ StreamName: 's', Kind: 'THROTTLE', EveryNth: 2, Seed: 1 });
    const { Records } = await engine.putRecords({ StreamName: 's', Records: entries(6) });
    expect(Records.map((entry) => 'ErrorCode' in entry)).toEqual([false, true, false, true, false, true]);
    // The rule names no operation: reading back under it would be throttled too.
    engine.clearFaultRules();
    const stored = await Promise.all(
      ['shardId-000000000000', 'shardId-000000000001'].map(async (ShardId) => {
        const { ShardIterator } = await engine.getShardIterator({ StreamName: 's', ShardId, ShardIteratorType: 'TRIM_HORIZON' });
        return (await engine.getRecords({ ShardIterator })).Records.map((record) => record.PartitionKey);
      }),
    );
    expect(stored.flat().sort()).toEqual(['k0', 'k2', 'k4']);
  });

  it('throttles only the entries routed to the shard it names', async () => {
    engine.putFaultRule({ StreamName: 's', ShardId: 'shardId-000000000001', Kind: 'THROTTLE', Probability: 1 });
    const { Records } = await engine.putRecords({ StreamName: 's', Records: entries(20) });
    const shards = new Set(Records.flatMap((entry) => ('ShardId' in entry ? [entry.ShardId] : [])));
    expect(shards).toEqual(new Set(['shardId-000000000000']));
    expect(Records.some((entry) => 'ErrorCode' in entry)).toBe(true);
  });

  it('throttles control operations with LimitExceededException and leaves other streams and operations alone', async () => {
    engine.putFaultRule({
      RuleId: 'ctl',
      StreamName: 's',
      Operations: ['UpdateStreamMode', 'PutRecord'],
      Kind: 'THROTTLE',
      Probability: 1,
    });
    const refused = await failure(() => engine.updateStreamMode({ StreamARN: arnOf('s'), StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    expect({ code: refused.code, injected: refused.injected, retriable: refused.retriable }).toEqual({
      code: 'LimitExceededException',
      injected: 'ctl',
      retriable: true,
    });
    const put = await failure(() => engine.putRecord({ StreamName: 's', PartitionKey: 'k', Data: encoder.encode('x') }));
    expect(put.code).toBe('ProvisionedThroughputExceededException');
    await engine.putRecord({ StreamName: 'other', PartitionKey: 'k', Data: encoder.encode('x') });
    await engine.putRecords({ StreamName: 's', Records: entries(3) });
    expect(engine.describeStreamSummary({ StreamName: 's' }).StreamDescriptionSummary.StreamModeDetails.StreamMode).toBe('PROVISIONED');
  });

  it('fails with InternalFailure or ServiceUnavailable, both retriable, up to MaxInjections', async () => {
    engine.putFaultRule({
      RuleId: 'down',
      Operations: ['ListStreams'],
      Kind: 'FAIL',
      Failure: 'ServiceUnavailable',
      EveryNth: 1,
      MaxInjections: 2,
    });
    engine.putFaultRule({ RuleId: 'boom', Operations: ['CreateStream'], Kind: 'FAIL', Probability: 1 });
    const errors = [await failure(() => engine.listStreams()), await failure(() => engine.listStreams())];
    expect(errors.map((error) => [error.code, error.retriable, error.fault, error.injected])).toEqual([
      ['ServiceUnavailable', true, 'server', 'down'],
      ['ServiceUnavailable', true, 'server', 'down'],
    ]);
    expect(engine.listStreams().StreamNames).toEqual(['other', 's']);
    const created = await failure(() => engine.createStream({ StreamName: 'new', ShardCount: 1 }));
    expect([created.code, created.retriable, created.injected]).toEqual(['InternalFailure', true, 'boom']);
    expect(engine.listStreams().StreamNames).toEqual(['other', 's']);
    expect(engine.listFaultRules().Rules.map((rule) => [rule.RuleId, rule.Matched, rule.Injected, rule.Status])).toEqual([
      ['down', 2, 2, 'ENDED'],
      ['boom', 1, 1, 'ACTIVE'],
    ]);
  });

  it('expires iterators early on the shard it names', async () => {
    engine.putFaultRule({ RuleId: 'exp', StreamName: 's', ShardId: 'shardId-000000000000', Kind: 'EXPIRE_ITERATOR', Probability: 1 });
    const iterator = async (ShardId: string): Promise<string> =>
      (await engine.getShardIterator({ StreamName: 's', ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
    const expired = await failure(async () => engine.getRecords({ ShardIterator: await iterator('shardId-000000000000') }));
    expect([expired.code, expired.injected, expired.message]).toEqual([
      'ExpiredIteratorException',
      'exp',
      'Iterator expired. (injected by fault rule exp)',
    ]);
    await engine.getRecords({ ShardIterator: await iterator('shardId-000000000001') });
  });

  it('delays an operation by at least the rule’s minimum', async () => {
    engine.putFaultRule({
      StreamName: 's',
      Operations: ['PutRecord'],
      Kind: 'LATENCY',
      Probability: 1,
      Latency: { Distribution: 'UNIFORM', MinMs: 120, MaxMs: 200 },
    });
    const startedAt = performance.now();
    await engine.putRecord({ StreamName: 's', PartitionKey: 'k', Data: encoder.encode('x') });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(119);
  });

  it('drops a subscription after an event it delivered, with a retriable InternalFailure', async () => {
    const { StreamARN } = engine.describeStreamSummary({ StreamName: 's' }).StreamDescriptionSummary;
    const { ConsumerARN } = (await engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c' })).Consumer;
    await engine.putRecords({ StreamName: 's', Records: entries(10) });
    engine.putFaultRule({ RuleId: 'drop', ConsumerName: 'c', Kind: 'DROP_SUBSCRIPTION', EveryNth: 1 });
    const events = engine.subscribeToShard({ ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } });
    const first = await events.next();
    expect(first.done).toBe(false);
    const dropped = await failure(() => events.next());
    expect([dropped.code, dropped.retriable, dropped.injected]).toEqual(['InternalFailure', true, 'drop']);
  });

  it('refuses a bad rule with every reason, and changes nothing', async () => {
    engine.putFaultRule({ RuleId: 'kept', Kind: 'THROTTLE', Probability: 0.5, Seed: 3 });
    const before = engine.listFaultRules();
    const bad: unknown[] = [
      { RuleId: 'kept', Kind: 'THROTTLE', Probability: 1.5 },
      { Kind: 'THROTTLE' },
      { Kind: 'THROTTLE', Probability: 0.5, EveryNth: 2 },
      { Kind: 'NAP', Probability: 1 },
      { Kind: 'LATENCY', Probability: 1 },
      { Kind: 'LATENCY', Probability: 1, Latency: { Distribution: 'UNIFORM', MinMs: 300, MaxMs: 100 } },
      { Kind: 'EXPIRE_ITERATOR', Probability: 1, Operations: ['PutRecords'] },
      { Kind: 'FAIL', Probability: 1, Operations: ['Nothing'] },
      { Kind: 'FAIL', Probability: 1, Seed: -1, Frequency: 3 },
      { Kind: 'THROTTLE', Probability: 1, ConsumerName: 'c' },
    ];
    const reasons = await Promise.all(bad.map((rule) => failure(() => engine.putFaultRule(rule as FaultRuleInput))));
    expect(reasons.map((error) => error.code)).toEqual(bad.map(() => 'InvalidArgumentException'));
    expect(reasons.map((error) => error.message)).toEqual([
      'Invalid fault rule: Probability must be a number above 0 and at most 1',
      'Invalid fault rule: give exactly one of Probability and EveryNth',
      'Invalid fault rule: give exactly one of Probability and EveryNth',
      'Invalid fault rule: Kind must be one of THROTTLE, LATENCY, FAIL, DROP_SUBSCRIPTION, EXPIRE_ITERATOR',
      'Invalid fault rule: a LATENCY rule needs Latency: { Distribution, ... }',
      'Invalid fault rule: Latency.MinMs must not exceed Latency.MaxMs',
      'Invalid fault rule: EXPIRE_ITERATOR applies to GetRecords only',
      'Invalid fault rule: Operations: Nothing is no operation of the API',
      'Invalid fault rule: unknown member Frequency; Seed must be a whole number from 0 to 4294967295',
      'Invalid fault rule: ConsumerName and ConsumerARN scope SubscribeToShard: Operations must be [SubscribeToShard]',
    ]);
    expect(engine.listFaultRules()).toEqual(before);
    expect((await failure(() => engine.deleteFaultRule({ RuleId: 'none' }))).code).toBe('ResourceNotFoundException');
    expect(engine.clearFaultRules()).toEqual({ RuleCount: 1 });
    expect(engine.listFaultRules()).toEqual({ Rules: [] });
  });
});

function arnOf(stream: string): string {
  return engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary.StreamARN;
}
