import fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/client.js';
import { estimateCost, parsePriceTable, type CostEstimate, type ModeCost, type PriceTable } from '../metrics/cost.js';
import { SHARD_LEVEL_METRICS, type EngineMetrics, type ShardLevelMetric } from '../streams/metrics_types.js';
import { withClient } from './connection.js';
import { OptionsConflictError } from './errors.js';
import { formatTable } from './format.js';
import { integerIn, urlOption, type ClientOptions } from './options.js';
import { untilSignal, writeLine } from './process_io.js';

/*
 * The observability commands (docs/OPERATIONS.md): enhanced-monitoring, cost, and top, all over
 * the CALL GetMetrics, so they read a server as the console does.
 */

/** The price table shipped with the package: src/ sits two levels above dist/cli/ and src/cli/ alike. */
export const DEFAULT_PRICES_FILE = new URL('../../src/metrics/prices.json', import.meta.url);
const TOP_INTERVAL_MIN_MS = 100;
const TOP_INTERVAL_MAX_MS = 3_600_000;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

interface CostOptions extends ClientOptions {
  readonly prices?: string;
  readonly json?: boolean;
}

interface TopOptions extends ClientOptions {
  readonly interval: number;
  readonly count?: number;
}

export function addMetricsCommands(program: Command): void {
  program
    .command('enhanced-monitoring')
    .description('turn shard-level metrics on or off for a stream (EnableEnhancedMonitoring / DisableEnhancedMonitoring)')
    .argument('<action>', 'enable or disable')
    .argument('<stream>', 'stream name')
    .option('--metrics <names>', `comma-separated: ALL or ${SHARD_LEVEL_METRICS.join(', ')}`, 'ALL')
    .addOption(urlOption())
    .action((action: string, stream: string, options: ClientOptions & { metrics: string }) =>
      withClient(options.url, (client) => enhancedMonitoring(client, action, stream, options.metrics)),
    );
  program
    .command('cost')
    .description('what the traffic the server metered would cost on Kinesis Data Streams, provisioned and on-demand')
    .option('--prices <file>', 'a price table (JSON, as src/metrics/prices.json)')
    .option('--json', 'print the estimate as JSON')
    .addOption(urlOption())
    .action((options: CostOptions) => withClient(options.url, (client) => cost(client, options)));
  program
    .command('top')
    .description("the streams' traffic, refreshed in place: records and bytes in and out per second, throttles, iterator age")
    .addOption(
      new Option('--interval <ms>', 'between refreshes').argParser(integerIn(TOP_INTERVAL_MIN_MS, TOP_INTERVAL_MAX_MS)).default(1000),
    )
    .addOption(new Option('--count <n>', 'stop after this many refreshes (default: until Ctrl-C)').argParser(integerIn(1, 1_000_000)))
    .addOption(urlOption())
    .action((options: TopOptions) => withClient(options.url, (client) => top(client, options)));
}

async function enhancedMonitoring(client: ShardlineClient, action: string, stream: string, names: string): Promise<void> {
  if (action !== 'enable' && action !== 'disable') throw new OptionsConflictError(`the action is enable or disable, not ${action}`);
  const metrics = names.split(',').map((name) => name.trim()) as Array<ShardLevelMetric | 'ALL'>;
  const request = { StreamName: stream, ShardLevelMetrics: metrics };
  const answer = await client.call(action === 'enable' ? 'EnableEnhancedMonitoring' : 'DisableEnhancedMonitoring', request);
  await writeLine(
    `${stream}: shard-level metrics ${answer.DesiredShardLevelMetrics.join(', ') || 'none'} (were ${answer.CurrentShardLevelMetrics.join(', ') || 'none'})`,
  );
}

/** The table of a file, or the package's; a bad one is refused with the member at fault. */
export function readPriceTable(file?: string): PriceTable {
  return parsePriceTable(JSON.parse(fs.readFileSync(file ?? DEFAULT_PRICES_FILE, 'utf8')));
}

async function cost(client: ShardlineClient, options: CostOptions): Promise<void> {
  const prices = readPriceTable(options.prices);
  const estimate = estimateCost(await client.call('GetMetrics', {}), prices);
  if (options.json === true) {
    await writeLine(JSON.stringify(estimate, null, 2));
    return;
  }
  for (const line of costLines(estimate)) await writeLine(line);
}

const money = (value: number): string => value.toFixed(value < 1 ? 4 : 2);

export function costLines(estimate: CostEstimate): string[] {
  const hours = (estimate.toMs - estimate.fromMs) / 3_600_000;
  const lines = [`observed ${hours.toFixed(2)} hours; prices ${estimate.region}, ${estimate.currency}`];
  const rows = [['STREAM', 'MODE', 'PROVISIONED', 'PER MONTH', 'ON-DEMAND', 'PER MONTH']];
  for (const stream of estimate.streams)
    rows.push([
      stream.streamName,
      stream.mode,
      money(stream.provisioned.total),
      money(stream.provisioned.monthly),
      money(stream.onDemand.total),
      money(stream.onDemand.monthly),
    ]);
  lines.push(...formatTable(rows), `total in each stream's own mode: ${money(estimate.total)} (${money(estimate.monthly)} a month)`);
  for (const stream of estimate.streams) {
    lines.push('', `${stream.streamName}:`);
    lines.push(...itemLines('provisioned', stream.provisioned), ...itemLines('on-demand', stream.onDemand));
  }
  return lines;
}

function itemLines(mode: string, cost: ModeCost): string[] {
  return cost.items
    .filter((item) => item.quantity > 0)
    .map(
      (item) => `  ${mode.padEnd(11)} ${item.item}: ${item.quantity.toPrecision(4)} ${item.unit} x ${item.unitPrice} = ${money(item.cost)}`,
    );
}

async function top(client: ShardlineClient, options: TopOptions): Promise<void> {
  const interactive = process.stdout.isTTY === true;
  const stop = untilSignal();
  try {
    let previous = await client.call('GetMetrics', {});
    for (let frame = 0; options.count === undefined || frame < options.count; frame++) {
      const stopped = await Promise.race([stop.signal.then(() => true), delay(options.interval).then(() => false)]);
      if (stopped) return;
      const current = await client.call('GetMetrics', {});
      const lines = topLines(previous, current);
      await writeLine((interactive ? CLEAR_SCREEN : '') + lines.join('\n') + (interactive ? '' : '\n'));
      previous = current;
    }
  } finally {
    stop.dispose();
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One refresh: rates between two snapshots, by stream. */
export function topLines(before: EngineMetrics, after: EngineMetrics): string[] {
  const seconds = Math.max(1e-3, (after.atMs - before.atMs) / 1000);
  const earlier = new Map(before.streams.map((stream) => [stream.streamName, stream]));
  const rows = [['STREAM', 'MODE', 'SHARDS', 'IN REC/S', 'IN B/S', 'OUT REC/S', 'OUT B/S', 'THROTTLED/S', 'ITERATOR AGE', 'EFO']];
  for (const stream of after.streams) {
    const was = earlier.get(stream.streamName);
    const rate = (value: (s: typeof stream) => number): string =>
      ((value(stream) - (was === undefined ? 0 : value(was))) / seconds).toFixed(1);
    rows.push([
      stream.streamName,
      stream.mode,
      String(stream.openShards),
      rate((s) => s.incomingRecords),
      rate((s) => s.incomingBytes),
      rate((s) => s.getRecordsRecords + s.consumers.reduce((sum, c) => sum + c.eventRecords, 0)),
      rate((s) => s.getRecordsBytes + s.consumers.reduce((sum, c) => sum + c.eventBytes, 0)),
      rate((s) => s.writeThrottledRecords + s.readThrottledRequests),
      `${(stream.getRecordsIteratorAgeMs / 1000).toFixed(1)} s`,
      String(stream.consumers.length),
    ]);
  }
  return [`shardline top: ${new Date(after.atMs).toISOString()}, every ${seconds.toFixed(1)} s`, ...formatTable(rows)];
}
