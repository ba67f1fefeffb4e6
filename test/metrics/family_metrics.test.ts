import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryRegistry } from '../../src/delivery/registry.js';
import { Engine } from '../../src/engine/engine.js';
import { PrometheusExporter } from '../../src/metrics/prometheus.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import { TriggerRegistry } from '../../src/triggers/registry.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a scrape carries the family's metrics beside the engine's: a trigger's invocations and
// the lag of its consumer group's leases, and a delivery stream's records in and delivered.
// Method: a real engine, a mapping whose function counts what it gets, a Direct PUT delivery
// stream to the directory store, and the exporter's text read after known work.

let engine: Engine | undefined;
let exporter: PrometheusExporter | undefined;

afterEach(async () => {
  exporter?.close();
  if (engine !== undefined) {
    await TriggerRegistry.of(engine).stopAll();
    await (await DeliveryRegistry.of(engine)).stopAll();
    await engine.close();
  }
  engine = exporter = undefined;
});

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sampleOf(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the family in the exposition', () => {
  it("counts a trigger's invocations, its group's lag, and a delivery stream's records", async () => {
    const target = (engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', enforceLimits: false, workers: 1 }));
    const triggers = TriggerRegistry.of(target);
    const delivery = await DeliveryRegistry.of(target);
    exporter = PrometheusExporter.create(target, {
      groups: target,
      triggers: async () => triggers,
      delivery: async () => delivery,
    });
    await target.createStream({ StreamName: 'orders', ShardCount: 1 });
    let seen = 0;
    await triggers.registerFunction('count', { handler: (event: KinesisEvent) => void (seen += event.Records.length) });
    const mapping = await triggers.create({
      EventSourceArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders',
      FunctionName: 'count',
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10,
    });
    await target.putRecords({
      StreamName: 'orders',
      Records: Array.from({ length: 25 }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(String(i)) })),
    });
    await until(() => seen === 25, 'the function to see 25 records');
    const labels = `{uuid="${mapping.UUID}",function="count"}`;
    await until(async () => sampleOf(await exporter!.text(), `shardline_trigger_invocations_total${labels}`) === 3, 'three invocations');
    // The mapping's group has caught up once its checkpoint is at the last record.
    await until(async () => sampleOf(await exporter!.text(), 'shardline_group_lag_records{') === 0, "the group's lag to reach 0 records");
    const text = await exporter.text();
    expect(sampleOf(text, `shardline_trigger_failed_records_total${labels}`)).toBe(0);
    expect(text).toMatch(/shardline_group_members\{group="[^"]+",stream="orders"\} 1/);

    await delivery.create({
      DeliveryStreamName: 'lake',
      ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::lake' },
    });
    await delivery.putRecordBatch('lake', [{ Data: Buffer.from('a\n') }, { Data: Buffer.from('bc\n') }]);
    await until(
      async () => sampleOf(await exporter!.text(), 'shardline_delivery_records_in_total{delivery_stream="lake"}') === 2,
      'two records in',
    );
    expect(sampleOf(await exporter.text(), 'shardline_delivery_backlog_records{delivery_stream="lake"}')).toBe(2);
    await delivery.flush('lake');
    const after = await exporter.text();
    expect(sampleOf(after, 'shardline_delivery_records_delivered_total{delivery_stream="lake"}')).toBe(2);
    expect(sampleOf(after, 'shardline_delivery_bytes_delivered_total{delivery_stream="lake"}')).toBe(5);
    expect(sampleOf(after, 'shardline_delivery_backlog_records{delivery_stream="lake"}')).toBe(0);
  });
});
