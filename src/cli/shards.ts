import { Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/node.js';
import { ResourceNotFoundException } from '../errors.js';
import { middleHashKey } from '../streams/hash_key.js';
import type { KinesisShard } from '../streams/kinesis_shapes.js';
import { withClient } from './connection.js';
import { hashKeyRange } from './format.js';
import { parseHashKey, urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';
import { listAllShards } from './streams.js';

/* The resharding commands: split and merge. */

interface SplitOptions extends ClientOptions {
  readonly at?: string;
}

export function addShardCommands(program: Command): void {
  program
    .command('split')
    .description('split an open shard in two at a hash key (default: the middle of its range)')
    .argument('<stream>', 'stream name')
    .argument('<shardId>', 'the shard to split, e.g. shardId-000000000000')
    .addOption(new Option('--at <hashKey>', "the second child's starting hash key").argParser(parseHashKey))
    .addOption(urlOption())
    .action((stream: string, shardId: string, options: SplitOptions) =>
      withClient(options.url, (client) => split(client, stream, shardId, options)),
    );
  program
    .command('merge')
    .description('merge two open shards with adjacent hash key ranges into one')
    .argument('<stream>', 'stream name')
    .argument('<shardId>', 'the shard to merge')
    .argument('<adjacentShardId>', 'the shard whose range is next to it')
    .addOption(urlOption())
    .action((stream: string, shardId: string, adjacentShardId: string, options: ClientOptions) =>
      withClient(options.url, (client) => merge(client, stream, shardId, adjacentShardId)),
    );
}

async function split(client: ShardlineClient, stream: string, shardId: string, options: SplitOptions): Promise<void> {
  const at = options.at ?? middleOf(await findShard(client, stream, shardId));
  await client.call('SplitShard', { StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: at });
  await printChildren(client, stream, shardId, `split ${shardId} at ${at}`);
}

async function findShard(client: ShardlineClient, stream: string, shardId: string): Promise<KinesisShard> {
  const shard = (await listAllShards(client, stream)).find((candidate) => candidate.ShardId === shardId);
  if (shard === undefined) throw new ResourceNotFoundException(`Shard ${shardId} in stream ${stream} does not exist`);
  return shard;
}

/** Where a split without --at cuts: the middle of the shard's range. */
function middleOf(shard: KinesisShard): string {
  return String(
    middleHashKey({ startingHashKey: BigInt(shard.HashKeyRange.StartingHashKey), endingHashKey: BigInt(shard.HashKeyRange.EndingHashKey) }),
  );
}

async function merge(client: ShardlineClient, stream: string, shardId: string, adjacentShardId: string): Promise<void> {
  await client.call('MergeShards', { StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId });
  await printChildren(client, stream, shardId, `merged ${shardId} and ${adjacentShardId}`);
}

async function printChildren(client: ShardlineClient, stream: string, parentShardId: string, what: string): Promise<void> {
  const children = (await listAllShards(client, stream)).filter((shard) => shard.ParentShardId === parentShardId);
  await writeLine(`${what}: ${children.map((child) => `${child.ShardId} (${hashKeyRange(child)})`).join(', ')}`);
}
