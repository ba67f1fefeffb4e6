import fs from 'node:fs';
import path from 'node:path';
import type { Piscina } from 'piscina';
import { parseSegmentFileName, segmentPaths } from '../log/file_names.js';
import type { StreamReference } from '../streams/kinesis_shapes.js';
import { moduleUrl, startTaskPool } from '../workers/thread_entry.js';
import type { VerifyInput, VerifyOutput } from '../workers/verify_task.js';
import type { ShardVerification, VerifyStreamOutput } from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';

/** Threads for verification: stateless jobs, never shard ownership. */
const VERIFY_THREADS_MAX = 2;
const VERIFY_TASK = moduleUrl('../workers/verify_task', import.meta.url);

/**
 * VerifyStream (beyond Kinesis): the checksum and fields of every stored batch of a stream, up
 * to each shard's committed end, on a pool of piscina threads (one stateless task per segment
 * file) beside the running shards. Recovery verifies only what follows the last recovery point;
 * this reads everything, for operators who want to know the disk still holds what it was given.
 */
export class Verifier {
  /** Started at the first verification: most engines never verify. */
  private tasks: Piscina | null = null;

  constructor(private readonly context: EngineContext) {}

  async verifyStream(request: StreamReference): Promise<VerifyStreamOutput> {
    const stream = this.context.stream(request);
    return { Shards: await Promise.all(this.context.shards.visibleShards(stream).map((shard) => this.verifyShard(stream, shard))) };
  }

  async close(): Promise<void> {
    await this.tasks?.destroy();
  }

  private async verifyShard(stream: StreamView, shard: ShardView): Promise<ShardVerification> {
    const runtime = await this.context.shards.ready(stream, shard);
    const tasks = segmentTasks(runtime.dir, runtime.reader.startOffset, runtime.committed.read().nextOffset);
    this.tasks ??= startTaskPool(VERIFY_TASK, { maxThreads: VERIFY_THREADS_MAX });
    const pool = this.tasks;
    const results = await Promise.all(tasks.map((task) => pool.run(task) as Promise<VerifyOutput>));
    const corrupt = results.flatMap((result, i) =>
      result.corruptAt === null
        ? []
        : [{ Segment: path.basename(tasks[i]!.path), PositionBytes: result.corruptAt.positionBytes, Offset: result.corruptAt.offset }],
    );
    return {
      ShardId: shard.shardId,
      Segments: tasks.length,
      Batches: results.reduce((sum, r) => sum + r.batches, 0),
      Bytes: results.reduce((sum, r) => sum + r.bytes, 0),
      Corrupt: corrupt,
    };
  }
}

/** One verification task per segment file of a shard, each bounded by the next one's base offset. */
function segmentTasks(dir: string, startOffset: number, endOffset: number): VerifyInput[] {
  const bases = fs
    .readdirSync(dir)
    .map(parseSegmentFileName)
    .filter((parsed) => parsed?.kind === 'log')
    .map((parsed) => parsed!.baseOffset)
    .sort((a, b) => a - b);
  return bases
    .map((base, i) => ({ path: segmentPaths(dir, base).log, baseOffset: base, endOffset: Math.min(bases[i + 1] ?? endOffset, endOffset) }))
    .filter((task) => task.endOffset > task.baseOffset && task.endOffset > startOffset);
}
