import { SHARDS_PER_STREAM_MAX } from '../limits.js';
import { Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/node.js';
import { type KinesisShard } from '../streams/kinesis_shapes.js';
import { withClient } from './connection.js';
import { shardTable, summaryLines } from './format.js';
import { integerIn, urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/* The stream commands: create-stream, list-streams, describe. */

/** Pages of ListStreams / ListShards followed: far above 1,000 streams or any shard history. */
const LIST_PAGES_MAX = 10_000;

interface CreateStreamOptions extends ClientOptions {
  readonly shards: number;
  readonly onDemand?: boolean;
}

interface DescribeOptions extends ClientOptions {
  readonly json?: boolean;
}

export function addStreamCommands(program: Command): void {
  program
    .command('create-stream')
    .description('create a stream (PROVISIONED with --shards, or ON_DEMAND)')
    .argument('<name>', 'stream name, [a-zA-Z0-9_.-]{1,128}')
    .addOption(new Option('--shards <count>', 'shards of a PROVISIONED stream').argParser(integerIn(1, SHARDS_PER_STREAM_MAX)).default(1))
    .addOption(new Option('--on-demand', 'an ON_DEMAND stream: starts with 4 shards, splits those that stay busy').conflicts('shards'))
    .addOption(urlOption())
    .action((name: string, options: CreateStreamOptions) => withClient(options.url, (client) => createStream(client, name, options)));
  program
    .command('list-streams')
    .description('list the streams, one name a line')
    .addOption(urlOption())
    .action((options: ClientOptions) => withClient(options.url, listStreams));
  program
    .command('describe')
    .description("show a stream's summary and its shards")
    .argument('<name>', 'stream name or ARN')
    .option('--json', 'print JSON: { StreamDescriptionSummary, Shards }')
    .addOption(urlOption())
    .action((name: string, options: DescribeOptions) => withClient(options.url, (client) => describe(client, name, options)));
}

async function createStream(client: ShardlineClient, name: string, options: CreateStreamOptions): Promise<void> {
  const request =
    options.onDemand === true
      ? { StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' as const } }
      : { StreamName: name, ShardCount: options.shards };
  await client.call('CreateStream', request);
  const { StreamDescriptionSummary: summary } = await client.call('DescribeStreamSummary', { StreamName: name });
  const mode = summary.StreamModeDetails.StreamMode;
  const shards = Number(summary.OpenShardCount);
  await writeLine(`created stream ${name} (${String(mode)}, ${shards} ${shards === 1 ? 'shard' : 'shards'})`);
}

async function listStreams(client: ShardlineClient): Promise<void> {
  let nextToken: string | undefined;
  for (let page = 0; page < LIST_PAGES_MAX; page++) {
    const result = await client.call('ListStreams', nextToken === undefined ? {} : { NextToken: nextToken });
    for (const name of result.StreamNames) await writeLine(name);
    nextToken = result.NextToken;
    if (!result.HasMoreStreams || nextToken === undefined) return;
  }
}

/** Every shard of the stream, open and closed, following ListShards' pages. */
export async function listAllShards(client: ShardlineClient, streamName: string): Promise<KinesisShard[]> {
  const shards: KinesisShard[] = [];
  let result = await client.call('ListShards', { StreamName: streamName });
  shards.push(...result.Shards);
  for (let page = 1; page < LIST_PAGES_MAX && result.NextToken !== undefined; page++) {
    result = await client.call('ListShards', { NextToken: result.NextToken });
    shards.push(...result.Shards);
  }
  return shards;
}

async function describe(client: ShardlineClient, name: string, options: DescribeOptions): Promise<void> {
  const [{ StreamDescriptionSummary }, Shards] = await Promise.all([
    client.call('DescribeStreamSummary', streamReference(name)),
    listAllShards(client, streamNameOf(name)),
  ]);
  if (options.json === true) {
    await writeLine(JSON.stringify({ StreamDescriptionSummary, Shards }, null, 2));
    return;
  }
  for (const line of summaryLines(StreamDescriptionSummary)) await writeLine(line);
  await writeLine('');
  for (const line of shardTable(Shards)) await writeLine(line);
}

/** Kinesis takes either; the CLI takes a name or an ARN in the same argument. */
function streamReference(nameOrArn: string): { StreamName: string } | { StreamARN: string } {
  return nameOrArn.startsWith('arn:') ? { StreamARN: nameOrArn } : { StreamName: nameOrArn };
}

function streamNameOf(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
}
