import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/node.js';
import type { ShardlineClient } from '../../src/client/client.js';
import { ShardlineError } from '../../src/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { failureOf } from '../helpers/failure.js';

// Goal: fault rules put over the WebSocket CALL (`Faults.<Op>`) reach the Node client on every
// path of the protocol: a CALL's ERROR is the typed error with `injected` read back from its
// marker, a delayed or partly throttled CALL's RESULT names the rule (ShardlineInjected), a
// throttled binary PUT fails its records with the marker, GET_RECORDS refuses an expired
// iterator, a SUBSCRIBE ends with an injected ERROR after an event. Method: a real server on a
// free port and the real client; rules with EveryNth so that every outcome is exact.

const encoder = new TextEncoder();
let server: TestServer;
let client: ShardlineClient;

beforeAll(async () => {
  server = await startTestServer();
  client = await connect(server.url);
  await client.call('CreateStream', { StreamName: 's', ShardCount: 1 });
});

afterAll(async () => {
  client.close();
  await server.stop();
});

afterEach(async () => {
  await client.callNamed('Faults.ClearFaultRules', {});
});

const failure = (run: () => Promise<unknown> | unknown): Promise<ShardlineError> => failureOf<ShardlineError>(run);

describe('fault rules over the WebSocket', () => {
  it('puts, lists and deletes rules over CALL, and refuses a bad one with its reasons', async () => {
    expect(await client.callNamed('Faults.PutFaultRule', { RuleId: 'a', Kind: 'THROTTLE', EveryNth: 3, Seed: 9 })).toEqual({ RuleId: 'a' });
    const bad = await failure(() => client.callNamed('Faults.PutFaultRule', { Kind: 'LATENCY', EveryNth: 0 }));
    expect([bad.code, bad.message]).toEqual([
      'InvalidArgumentException',
      'Invalid fault rule: EveryNth must be a whole number of at least 1; a LATENCY rule needs Latency: { Distribution, ... }',
    ]);
    expect(await client.callNamed('Faults.ListFaultRules', {})).toMatchObject({
      Rules: [{ RuleId: 'a', Seed: 9, Matched: 0, Status: 'ACTIVE' }],
    });
    await client.callNamed('Faults.DeleteFaultRule', { RuleId: 'a' });
    expect(await client.callNamed('Faults.ListFaultRules', {})).toEqual({ Rules: [] });
  });

  it('answers a CALL with the injected error, typed and marked', async () => {
    await client.callNamed('Faults.PutFaultRule', { RuleId: 'lim', Operations: ['ListShards'], Kind: 'THROTTLE', EveryNth: 1 });
    const error = await failure(() => client.call('ListShards', { StreamName: 's' }));
    expect([error instanceof ShardlineError, error.code, error.retriable, error.injected]).toEqual([
      true,
      'LimitExceededException',
      true,
      'lim',
    ]);
  });

  it('names the rule in a delayed RESULT, delayed by at least its delay', async () => {
    await client.callNamed('Faults.PutFaultRule', {
      RuleId: 'slow',
      Operations: ['DescribeStreamSummary'],
      Kind: 'LATENCY',
      EveryNth: 1,
      Latency: { Distribution: 'FIXED', DelayMs: 100 },
    });
    const startedAt = performance.now();
    const result = await client.callNamed('DescribeStreamSummary', { StreamName: 's' });
    // A timer may fire up to a millisecond early.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(99);
    expect(result['ShardlineInjected']).toEqual(['slow']);
  });

  it('fails a throttled PUT frame’s records, each marked, and refuses GET_RECORDS with an expired iterator', async () => {
    await client.callNamed('Faults.PutFaultRule', {
      RuleId: 'put',
      StreamName: 's',
      Operations: ['PutRecords'],
      Kind: 'THROTTLE',
      EveryNth: 2,
    });
    const records = [1, 2].map((index) => ({ partitionKey: `k${index}`, data: encoder.encode(`r${index}`) }));
    const first = await client.putRecords('s', records);
    const second = await client.putRecords('s', records);
    expect(first.every((result) => 'sequenceNumber' in result)).toBe(true);
    expect(second).toEqual(
      records.map(() => ({
        errorCode: 'ProvisionedThroughputExceededException',
        errorMessage: 'Rate exceeded in stream s under account 000000000000. (injected by fault rule put)',
        retriable: true,
      })),
    );
    await client.callNamed('Faults.PutFaultRule', { RuleId: 'exp', StreamName: 's', Kind: 'EXPIRE_ITERATOR', EveryNth: 1 });
    const { ShardIterator } = await client.call('GetShardIterator', {
      StreamName: 's',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const expired = await failure(() => client.getRecords({ ShardIterator }));
    expect([expired.code, expired.injected]).toEqual(['ExpiredIteratorException', 'exp']);
  });

  it('ends a SUBSCRIBE with an injected ERROR after an event it delivered', async () => {
    const { StreamARN } = (await client.call('DescribeStreamSummary', { StreamName: 's' })).StreamDescriptionSummary;
    const { Consumer } = await client.call('RegisterStreamConsumer', { StreamARN, ConsumerName: 'ws-drop' });
    await client.putRecords('s', [{ partitionKey: 'k', data: encoder.encode('x') }]);
    await client.callNamed('Faults.PutFaultRule', {
      RuleId: 'drop',
      ConsumerARN: Consumer.ConsumerARN,
      Kind: 'DROP_SUBSCRIPTION',
      EveryNth: 1,
    });
    const subscription = await client.subscribeToShard({
      ConsumerARN: Consumer.ConsumerARN,
      ShardId: 'shardId-000000000000',
      StartingPosition: { Type: 'TRIM_HORIZON' },
    });
    let events = 0;
    const error = await failure(async () => {
      for await (const _event of subscription) events++;
    });
    expect(events).toBe(1);
    expect([error.code, error.retriable, error.injected]).toEqual(['InternalFailure', true, 'drop']);
  });
});
