import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { ResourceNotFoundException, ValidationException } from '../../src/errors.js';
import { hashKeyOf } from '../../src/native/md5_keys.js';
import { PrometheusExporter } from '../../src/metrics/prometheus.js';
import type { StreamMetrics } from '../../src/streams/metrics_types.js';
import { tempDir } from '../helpers/temp_dir.js';
import { ManualClock } from '../triggers/trigger_helpers.js';

// Goal: the engine's metrics are CloudWatch's, exact after a known workload: records and bytes
// in, throttles on a provisioned stream, the iterator age of a lagging reader, shard-level
// metrics only for the ones EnableEnhancedMonitoring named; the Prometheus text carries the same
// values under its names. Method: a real engine whose clock the test moves, a workload whose
// sizes are known, and the exporter's text parsed line by line.

let clock: ManualClock;
let engine: Engine;
let exporter: PrometheusExporter;

beforeEach(async () => {
  clock = new ManualClock();
  engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', workers: 1, clock: clock.now });
  exporter = PrometheusExporter.create(engine);
  await engine.createStream({ StreamName: 'm', ShardCount: 2 });
});

afterEach(async () => {
  exporter.close();
  await engine.close();
});

function streamOf(name: string): StreamMetrics {
  const found = engine.metrics().streams.find((stream) => stream.streamName === name);
  if (found === undefined) throw new Error(`no metrics for ${name}`);
  return found;
}

/** The value of one sample of the exposition, by its name and labels as written. */
async function sample(name: string, labels: string): Promise<number | undefined> {
  const text = await exporter.text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const record = (key: string, bytes: number) => ({ PartitionKey: key, Data: new Uint8Array(bytes) });

describe('stream-level metrics', () => {
  it('counts records and bytes in, as data plus partition key', async () => {
    await engine.putRecords({ StreamName: 'm', Records: [record('a', 100), record('bb', 200), record('ccc', 300)] });
    await engine.putRecord({ StreamName: 'm', ...record('dddd', 50) });
    const metrics = streamOf('m');
    expect(metrics.incomingRecords).toBe(4);
    expect(metrics.incomingBytes).toBe(101 + 202 + 303 + 54);
    expect(metrics.putRecordsRequests).toBe(1);
    expect(metrics.putRecordsTotalRecords).toBe(3);
    expect(metrics.putRecordSuccess).toBe(1);
    expect(await sample('shardline_incoming_bytes_total', 'stream="m"')).toBe(660);
    expect(await sample('shardline_incoming_records_total', 'stream="m"')).toBe(4);
    expect(await sample('shardline_put_records_records_total', 'stream="m",outcome="successful"')).toBe(3);
  });

  it('counts the records a provisioned shard refuses as throttled, apart from other failures', async () => {
    // One key, one shard: its 1,000 records a second, in two requests within the same second.
    const batch = Array.from({ length: 500 }, () => record('same', 10));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await engine.putRecords({ StreamName: 'm', Records: batch }));
    const refused = answers.reduce((sum, answer) => sum + answer.FailedRecordCount, 0);
    expect(refused).toBe(500);
    const metrics = streamOf('m');
    expect(metrics.writeThrottledRecords).toBe(500);
    expect(metrics.putRecordsThrottledRecords).toBe(500);
    expect(metrics.putRecordsFailedRecords).toBe(0);
    expect(metrics.incomingRecords).toBe(1000);
    expect(await sample('shardline_write_throttled_records_total', 'stream="m"')).toBe(500);
    expect(await sample('shardline_put_records_records_total', 'stream="m",outcome="throttled"')).toBe(500);
  });

  it('gives a lagging reader its iterator age: now minus the arrival of the last record it read', async () => {
    await engine.putRecords({ StreamName: 'm', Records: [record('k', 10), record('k', 10)] });
    clock.advance(7_000);
    const holding = shardHolding('k');
    const { ShardIterator } = await engine.getShardIterator({ StreamName: 'm', ShardId: holding, ShardIteratorType: 'TRIM_HORIZON' });
    const read = await engine.getRecords({ ShardIterator: ShardIterator!, Limit: 1 });
    expect(read.Records).toHaveLength(1);
    const metrics = streamOf('m');
    expect(metrics.getRecordsIteratorAgeMs).toBe(7_000);
    expect(metrics.getRecordsRecords).toBe(1);
    expect(metrics.getRecordsBytes).toBe(11);
    expect(await sample('shardline_get_records_iterator_age_seconds', 'stream="m"')).toBe(7);
  });

  it('counts a read refused by the shard read limit', async () => {
    const holding = shardHolding('k');
    const { ShardIterator } = await engine.getShardIterator({ StreamName: 'm', ShardId: holding, ShardIteratorType: 'LATEST' });
    let refusals = 0;
    let iterator = ShardIterator!;
    // Five reads a second per shard: the sixth within the same second is refused.
    for (let i = 0; i < 6; i++) {
      try {
        iterator = (await engine.getRecords({ ShardIterator: iterator })).NextShardIterator!;
      } catch {
        refusals++;
      }
    }
    expect(refusals).toBe(1);
    expect(streamOf('m').readThrottledRequests).toBe(1);
    expect(await sample('shardline_read_throttled_requests_total', 'stream="m"')).toBe(1);
  });
});

describe('enhanced monitoring', () => {
  it('answers Current and Desired, shows in DescribeStream, and exports only the named shard-level metrics', async () => {
    const enabled = await engine.enableEnhancedMonitoring({ StreamName: 'm', ShardLevelMetrics: ['IncomingBytes'] });
    expect(enabled).toMatchObject({ StreamName: 'm', CurrentShardLevelMetrics: [], DesiredShardLevelMetrics: ['IncomingBytes'] });
    expect(engine.describeStream({ StreamName: 'm' }).StreamDescription.EnhancedMonitoring).toEqual([
      { ShardLevelMetrics: ['IncomingBytes'] },
    ]);
    const holding = shardHolding('k');
    await engine.putRecords({ StreamName: 'm', Records: [record('k', 40), record('k', 40)] });
    expect(await sample('shardline_shard_incoming_bytes_total', `stream="m",shard="${holding}"`)).toBe(82);
    expect(await sample('shardline_shard_incoming_records_total', `stream="m",shard="${holding}"`)).toBeUndefined();

    const all = await engine.enableEnhancedMonitoring({ StreamName: 'm', ShardLevelMetrics: ['ALL'] });
    expect(all.CurrentShardLevelMetrics).toEqual(['IncomingBytes']);
    expect(all.DesiredShardLevelMetrics).toHaveLength(7);
    const disabled = await engine.disableEnhancedMonitoring({ StreamName: 'm', ShardLevelMetrics: ['ALL'] });
    expect(disabled.DesiredShardLevelMetrics).toEqual([]);
    expect(engine.describeStream({ StreamName: 'm' }).StreamDescription.EnhancedMonitoring).toEqual([{ ShardLevelMetrics: [] }]);
    expect(await sample('shardline_shard_incoming_bytes_total', `stream="m",shard="${holding}"`)).toBeUndefined();
  });

  it('survives a restart, and refuses an unknown metric name and a missing stream', async () => {
    await engine.enableEnhancedMonitoring({ StreamName: 'm', ShardLevelMetrics: ['IteratorAgeMilliseconds'] });
    await expect(engine.enableEnhancedMonitoring({ StreamName: 'm', ShardLevelMetrics: ['Bogus' as 'ALL'] })).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(engine.enableEnhancedMonitoring({ StreamName: 'gone', ShardLevelMetrics: ['ALL'] })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const dataDir = engine.dataDir;
    exporter.close();
    await engine.close();
    engine = await Engine.open({ dataDir, fsync: 'never', workers: 1, clock: clock.now });
    exporter = PrometheusExporter.create(engine);
    expect(engine.describeStream({ StreamName: 'm' }).StreamDescription.EnhancedMonitoring).toEqual([
      { ShardLevelMetrics: ['IteratorAgeMilliseconds'] },
    ]);
  });
});

describe('API metrics', () => {
  it('counts calls per operation and outcome, with a duration histogram', async () => {
    await engine.putRecords({ StreamName: 'm', Records: [record('a', 1)] });
    expect(() => engine.describeStream({ StreamName: 'missing' })).toThrow(ResourceNotFoundException);
    expect(await sample('shardline_api_requests_total', 'operation="PutRecords",outcome="success"')).toBe(1);
    expect(await sample('shardline_api_requests_total', 'operation="DescribeStream",outcome="client_error"')).toBe(1);
    expect(await sample('shardline_api_request_duration_seconds_count', 'operation="PutRecords"')).toBe(1);
    const text = await exporter.text();
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('counts nothing with metrics off', async () => {
    const dataDir = tempDir();
    const off = await Engine.open({ dataDir, fsync: 'never', workers: 1, metrics: false });
    try {
      await off.createStream({ StreamName: 'x', ShardCount: 1 });
      await off.putRecords({ StreamName: 'x', Records: [record('a', 10)] });
      const metrics = off.metrics();
      expect(metrics.enabled).toBe(false);
      expect(metrics.streams[0]!.incomingRecords).toBe(0);
    } finally {
      await off.close();
    }
  });
});

/** The shard of stream m whose hash key range holds the key's MD5. */
function shardHolding(key: string): string {
  const hashKey = hashKeyOf(key);
  const shards = engine.describeStream({ StreamName: 'm' }).StreamDescription.Shards;
  const shard = shards.find(
    (candidate) => BigInt(candidate.HashKeyRange.StartingHashKey) <= hashKey && hashKey <= BigInt(candidate.HashKeyRange.EndingHashKey),
  );
  return shard!.ShardId;
}
