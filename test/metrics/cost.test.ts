import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { InvalidPriceTableError, estimateCost, parsePriceTable, type CostItem, type ModeCost } from '../../src/metrics/cost.js';
import { tempDir } from '../helpers/temp_dir.js';
import { ManualClock } from '../triggers/trigger_helpers.js';

// Goal: the cost estimate is the pricing model applied to the metered traffic, checked against a
// hand computation for a known workload: a provisioned stream whose retention grows halfway,
// and an on-demand stream with a registered consumer and a reader, over one hour of the engine's
// clock. Method: a real engine on a manual clock, the shipped price table, and the arithmetic
// written out below.

const PRICES = parsePriceTable(JSON.parse(fs.readFileSync(new URL('../../src/metrics/prices.json', import.meta.url), 'utf8')));
const HOUR_MS = 3_600_000;
const GB = 1024 ** 3;

let clock: ManualClock;
let engine: Engine;

beforeEach(async () => {
  clock = new ManualClock();
  engine = await Engine.open({ dataDir: tempDir(), fsync: 'never', workers: 1, clock: clock.now });
});

afterEach(() => engine.close());

const costOf = (mode: ModeCost, item: string): CostItem => mode.items.find((entry) => entry.item === item)!;

describe('the cost estimate', () => {
  it('prices a known hour of traffic in both capacity modes as computed by hand', async () => {
    await engine.createStream({ StreamName: 'p', ShardCount: 2 });
    await engine.createStream({ StreamName: 'o', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    const { StreamARN } = engine.describeStreamSummary({ StreamName: 'o' }).StreamDescriptionSummary;
    await engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c' });
    // 10 records of 30,000 bytes and a 1-character key: 30,001 bytes, 2 PUT payload units, 30 KiB on-demand each.
    await engine.putRecords({
      StreamName: 'p',
      Records: Array.from({ length: 10 }, () => ({ PartitionKey: 'k', Data: new Uint8Array(30_000) })),
    });
    // 5 records of 1,000 bytes: 1,001 bytes, 1 unit, 1 KiB on-demand each.
    const put = await engine.putRecords({
      StreamName: 'o',
      Records: Array.from({ length: 5 }, () => ({ PartitionKey: 'k', Data: new Uint8Array(1_000) })),
    });
    clock.advance(HOUR_MS / 2);
    await engine.increaseStreamRetentionPeriod({ StreamName: 'p', RetentionPeriodHours: 48 });
    clock.advance(HOUR_MS / 2);
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: 'o',
      ShardId: (put.Records[0] as { ShardId: string }).ShardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    expect((await engine.getRecords({ ShardIterator: ShardIterator! })).Records).toHaveLength(5);

    const estimate = estimateCost(engine.metrics(), PRICES);
    const p = estimate.streams.find((stream) => stream.streamName === 'p')!;
    const o = estimate.streams.find((stream) => stream.streamName === 'o')!;
    expect(p.mode).toBe('PROVISIONED');
    expect(o.mode).toBe('ON_DEMAND');
    expect(p.observedHours).toBe(1);

    // p as provisioned: 2 shard-hours, 20 PUT units, 2 shards x 0.5 h of extended retention.
    expect(costOf(p.provisioned, 'shard-hours').quantity).toBe(2);
    expect(costOf(p.provisioned, 'PUT payload units').quantity).toBeCloseTo(20 / 1e6, 12);
    expect(costOf(p.provisioned, 'extended retention').quantity).toBe(1);
    const pProvisioned = 2 * 0.015 + (20 / 1e6) * 0.014 + 1 * 0.02;
    expect(p.provisioned.total).toBeCloseTo(pProvisioned, 12);
    expect(p.provisioned.monthly).toBeCloseTo(pProvisioned * 730, 9);
    // p as on-demand: 1 stream-hour, 10 x 30 KiB in, 24 of its 48 hours as extended retention.
    const pIn = (10 * 30 * 1024) / GB;
    const pStored = (10 * 30_001) / GB;
    expect(p.onDemand.total).toBeCloseTo(1 * 0.04 + pIn * 0.08 + pStored * (24 / 730) * 0.1, 12);

    // o as on-demand: 1 stream-hour, 5 x 1 KiB in, 5,005 bytes out.
    const oOnDemand = 1 * 0.04 + ((5 * 1024) / GB) * 0.08 + (5_005 / GB) * 0.04;
    expect(o.onDemand.total).toBeCloseTo(oOnDemand, 12);
    // o as provisioned: 4 shard-hours, 5 units, 1 consumer on 4 shards for an hour.
    expect(costOf(o.provisioned, 'enhanced fan-out consumer-shard-hours').quantity).toBe(4);
    expect(o.provisioned.total).toBeCloseTo(4 * 0.015 + (5 / 1e6) * 0.014 + 4 * 0.015, 12);

    expect(estimate.total).toBeCloseTo(pProvisioned + oOnDemand, 12);
    expect(estimate.monthly).toBeCloseTo((pProvisioned + oOnDemand) * 730, 9);
  });

  it('refuses a price table with a bad member, naming it', () => {
    const broken = { ...PRICES, onDemand: { ...PRICES.onDemand, dataInPerGB: -1 } };
    expect(() => parsePriceTable(broken)).toThrow(InvalidPriceTableError);
    expect(() => parsePriceTable(broken)).toThrow('onDemand.dataInPerGB must be a price');
    expect(() => parsePriceTable({ ...PRICES, hoursPerMonth: 0 })).toThrow('hoursPerMonth');
    expect(() => parsePriceTable([])).toThrow('the price table must be an object');
  });
});
