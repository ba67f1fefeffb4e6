import type { EngineMetrics, StreamMetrics } from '../streams/metrics_types.js';

/*
 * What the metered traffic would cost on Kinesis Data Streams (docs/OPERATIONS.md, "What it
 * would cost on AWS"), priced both ways for every stream whatever its mode, so a run can say what
 * its workload costs as provisioned and as on-demand. Pure: the CLI, the console and embedded
 * callers price the same snapshot (Engine.metrics(), the CALL GetMetrics) with a price table
 * the user may edit (src/metrics/prices.json is the default). A month is the table's
 * hoursPerMonth; a projection scales the observed period linearly to one.
 */

export interface PriceTable {
  readonly currency: string;
  readonly region: string;
  readonly note?: string;
  readonly hoursPerMonth: number;
  readonly provisioned: {
    readonly shardHour: number;
    readonly putPayloadUnitsPerMillion: number;
    readonly extendedRetentionShardHour: number;
    readonly longTermRetentionPerGBMonth: number;
    readonly efoConsumerShardHour: number;
    readonly efoDataPerGB: number;
  };
  readonly onDemand: {
    readonly streamHour: number;
    readonly dataInPerGB: number;
    readonly dataOutPerGB: number;
    readonly extendedRetentionPerGBMonth: number;
    readonly longTermRetentionPerGBMonth: number;
    readonly efoDataPerGB: number;
  };
}

export interface CostItem {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice: number;
  readonly cost: number;
}

export interface ModeCost {
  readonly items: readonly CostItem[];
  /** Over the observed period. */
  readonly total: number;
  /** The observed period's cost scaled to a month. */
  readonly monthly: number;
}

export interface StreamCost {
  readonly streamName: string;
  /** The mode the stream is in now: the estimate that applies to it. */
  readonly mode: 'PROVISIONED' | 'ON_DEMAND';
  readonly observedHours: number;
  readonly provisioned: ModeCost;
  readonly onDemand: ModeCost;
}

export interface CostEstimate {
  readonly currency: string;
  readonly region: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly streams: readonly StreamCost[];
  /** Each stream priced in its own mode, summed. */
  readonly total: number;
  readonly monthly: number;
}

export class InvalidPriceTableError extends Error {
  override readonly name = 'InvalidPriceTableError';
}

const HOUR_MS = 3_600_000;
const GB = 1024 ** 3;
const RETENTION_INCLUDED_HOURS = 24;
const EXTENDED_RETENTION_MAX_HOURS = 168;
const PROVISIONED_PRICES = [
  'shardHour',
  'putPayloadUnitsPerMillion',
  'extendedRetentionShardHour',
  'longTermRetentionPerGBMonth',
  'efoConsumerShardHour',
  'efoDataPerGB',
] as const;
const ON_DEMAND_PRICES = [
  'streamHour',
  'dataInPerGB',
  'dataOutPerGB',
  'extendedRetentionPerGBMonth',
  'longTermRetentionPerGBMonth',
  'efoDataPerGB',
] as const;

/** A price table read from JSON, every price a finite number >= 0; InvalidPriceTableError names the first bad member. */
export function parsePriceTable(value: unknown): PriceTable {
  const table = objectAt(value, 'the price table');
  for (const key of ['currency', 'region'] as const)
    if (typeof table[key] !== 'string') throw new InvalidPriceTableError(`${key} must be a string`);
  const hours = table['hoursPerMonth'];
  if (typeof hours !== 'number' || !(hours > 0)) throw new InvalidPriceTableError('hoursPerMonth must be a number above 0');
  checkPrices(objectAt(table['provisioned'], 'provisioned'), 'provisioned', PROVISIONED_PRICES);
  checkPrices(objectAt(table['onDemand'], 'onDemand'), 'onDemand', ON_DEMAND_PRICES);
  return value as PriceTable;
}

export function estimateCost(metrics: EngineMetrics, prices: PriceTable): CostEstimate {
  const streams = metrics.streams.map((stream) => streamCost(stream, prices));
  const own = (cost: StreamCost): ModeCost => (cost.mode === 'ON_DEMAND' ? cost.onDemand : cost.provisioned);
  return {
    currency: prices.currency,
    region: prices.region,
    fromMs: metrics.sinceMs,
    toMs: metrics.atMs,
    streams,
    total: streams.reduce((sum, cost) => sum + own(cost).total, 0),
    monthly: streams.reduce((sum, cost) => sum + own(cost).monthly, 0),
  };
}

function streamCost(stream: StreamMetrics, prices: PriceTable): StreamCost {
  const observedHours = stream.observedMs / HOUR_MS;
  const monthlyFactor = observedHours > 0 ? prices.hoursPerMonth / observedHours : 0;
  const efoBytes = stream.consumers.reduce((sum, consumer) => sum + consumer.eventBytes, 0);
  const incomingGB = stream.incomingBytes / GB;
  const extendedMonths = (Math.min(stream.retentionHours, EXTENDED_RETENTION_MAX_HOURS) - RETENTION_INCLUDED_HOURS) / prices.hoursPerMonth;
  const longTermMonths = Math.max(0, stream.retentionHours - EXTENDED_RETENTION_MAX_HOURS) / prices.hoursPerMonth;
  const p = prices.provisioned;
  const provisioned = [
    item('shard-hours', stream.shardMs / HOUR_MS, 'shard-hour', p.shardHour),
    item('PUT payload units', stream.putPayloadUnits / 1e6, 'million units', p.putPayloadUnitsPerMillion),
    item('extended retention', stream.extendedRetentionShardMs / HOUR_MS, 'shard-hour', p.extendedRetentionShardHour),
    item('long-term retention', incomingGB * longTermMonths, 'GB-month', p.longTermRetentionPerGBMonth),
    item('enhanced fan-out consumer-shard-hours', stream.consumerShardMs / HOUR_MS, 'consumer-shard-hour', p.efoConsumerShardHour),
    item('enhanced fan-out data', efoBytes / GB, 'GB', p.efoDataPerGB),
  ];
  const o = prices.onDemand;
  const onDemand = [
    item('stream-hours', stream.observedMs / HOUR_MS, 'stream-hour', o.streamHour),
    item('data in (records rounded up to 1 KiB)', stream.onDemandIncomingBytes / GB, 'GB', o.dataInPerGB),
    item('data out', stream.getRecordsBytes / GB, 'GB', o.dataOutPerGB),
    item('extended retention', incomingGB * extendedMonths, 'GB-month', o.extendedRetentionPerGBMonth),
    item('long-term retention', incomingGB * longTermMonths, 'GB-month', o.longTermRetentionPerGBMonth),
    item('enhanced fan-out data', efoBytes / GB, 'GB', o.efoDataPerGB),
  ];
  return {
    streamName: stream.streamName,
    mode: stream.mode,
    observedHours,
    provisioned: modeCost(provisioned, monthlyFactor),
    onDemand: modeCost(onDemand, monthlyFactor),
  };
}

function item(name: string, quantity: number, unit: string, unitPrice: number): CostItem {
  return { item: name, quantity, unit, unitPrice, cost: quantity * unitPrice };
}

function modeCost(items: CostItem[], monthlyFactor: number): ModeCost {
  const total = items.reduce((sum, entry) => sum + entry.cost, 0);
  return { items, total, monthly: total * monthlyFactor };
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidPriceTableError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function checkPrices(prices: Record<string, unknown>, where: string, names: readonly string[]): void {
  for (const name of names) {
    const price = prices[name];
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
      throw new InvalidPriceTableError(`${where}.${name} must be a price (a number >= 0), got ${JSON.stringify(price)}`);
  }
}
