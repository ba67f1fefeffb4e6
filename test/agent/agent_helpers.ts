/*
 * What the agent tests share: an agent.json for flows into a shardline server's WebSocket, every
 * record of a stream read back (all shards, from the oldest), and a wait on a condition.
 */
import path from 'node:path';
import type { Engine } from '../../src/engine/engine.js';

export function agentConfig(dir: string, url: string, flows: readonly Record<string, unknown>[]): string {
  return JSON.stringify({ 'kinesis.endpoint': url, checkpointFile: path.join(dir, 'checkpoints.json'), flows });
}

/** Every record's data in the stream, shard after shard, each shard in order. */
export async function streamLines(engine: Engine, stream: string): Promise<string[]> {
  const lines: string[] = [];
  for (const shard of engine.listShards({ StreamName: stream }).Shards) {
    let iterator = (await engine.getShardIterator({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
      .ShardIterator;
    for (;;) {
      const page = await engine.getRecords({ ShardIterator: iterator!, Limit: 10_000 });
      lines.push(...page.Records.map((record) => Buffer.from(record.Data).toString()));
      if (page.Records.length === 0 || page.NextShardIterator === undefined) break;
      iterator = page.NextShardIterator;
    }
  }
  return lines;
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
