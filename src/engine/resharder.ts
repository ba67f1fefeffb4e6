import { SCALING_FACTOR_MAX, SHARDS_PER_STREAM_MAX } from '../limits.js';
import { InvalidArgumentException, LimitExceededException } from '../errors.js';
import { initialHashKeyRanges, middleHashKey, parseHashKey, type HashKeyRange } from '../streams/hash_key.js';
import { streamArn } from '../streams/kinesis_shapes.js';
import { isOpen } from '../streams/stream_records.js';
import type { MergeShardsInput, SplitShardInput, UpdateShardCountInput, UpdateShardCountOutput } from '../streams/api_types.js';
import type { ChildShardPlan, ShardView, StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';
import { withinShardLimit } from './stream_admin.js';
import type { StreamStates } from './stream_states.js';

/*
 * Resharding: SplitShard, MergeShards, UpdateShardCount, and ON_DEMAND's own splits. A split or
 * merge runs these steps, each persisted before the next, so that a crash anywhere leaves a
 * catalog that reopening completes (Engine.open seals what is closing, then ends the reshard):
 *   1. the stream goes UPDATING, the children are recorded and the parents marked closing
 *      (Catalog.beginReshard), and the catalog is saved;
 *   2. the children are opened on their workers, and the stream is routed to them: puts from
 *      here on go to the children;
 *   3. each parent is sealed (ShardRegistry.seal): its worker stores what was routed to it
 *      before, then refuses appends, so the parent's records keep lower sequence numbers than
 *      any child's; the catalog records where it ends;
 *   4. the stream is ACTIVE again (Catalog.endReshard), and the catalog is saved.
 * Puts and reads go on throughout; a put that meets a parent sealed under it is routed again.
 * Under an update duration (stream_states.ts) a SplitShard or MergeShards saves after step 3
 * and leaves step 4 to the duration's end; an UpdateShardCount runs its reshards to their end,
 * then holds the stream UPDATING once (Catalog.beginUpdate). A crash meanwhile leaves an
 * UPDATING stream with nothing closing, which reopening ends. ON_DEMAND's own splits never wait.
 */

/** ON_DEMAND splits a shard whose recent writes use this much of its capacity. */
const ON_DEMAND_SPLIT_UTILIZATION = 0.8;

export class Resharder {
  constructor(
    private readonly context: EngineContext,
    private readonly states: StreamStates,
  ) {}

  /** Splits an open shard at NewStartingHashKey: the parent closes, two children take its range. */
  async splitShard(request: SplitShardInput): Promise<void> {
    await this.split(request, true);
  }

  /** Merges two open shards with adjacent hash key ranges into one child. */
  async mergeShards(request: MergeShardsInput): Promise<void> {
    await this.merge(request, true);
  }

  /** `hold`: the stream stays UPDATING for the update duration after the steps (UpdateShardCount's and ON_DEMAND's do not). */
  private async split(request: SplitShardInput, hold: boolean): Promise<void> {
    await this.context.shards.streamReady(this.context.activeStream(request)); // after a start, its shards open first
    const stream = this.context.activeStream(request);
    const parent = this.openShardOf(stream, request.ShardToSplit);
    const split = parseHashKey(request.NewStartingHashKey, 'NewStartingHashKey');
    if (split <= BigInt(parent.startingHashKey) || split > BigInt(parent.endingHashKey)) {
      throw new InvalidArgumentException(
        `NewStartingHashKey ${request.NewStartingHashKey} must be above the shard's StartingHashKey and at most its EndingHashKey`,
      );
    }
    await this.reshard(
      stream,
      [parent],
      [
        { startingHashKey: BigInt(parent.startingHashKey), endingHashKey: split - 1n, parentShardId: parent.shardId },
        { startingHashKey: split, endingHashKey: BigInt(parent.endingHashKey), parentShardId: parent.shardId },
      ],
      hold,
    );
  }

  private async merge(request: MergeShardsInput, hold: boolean): Promise<void> {
    await this.context.shards.streamReady(this.context.activeStream(request));
    const stream = this.context.activeStream(request);
    const first = this.openShardOf(stream, request.ShardToMerge);
    const second = this.openShardOf(stream, request.AdjacentShardToMerge);
    const [low, high] = BigInt(first.startingHashKey) < BigInt(second.startingHashKey) ? [first, second] : [second, first];
    if (BigInt(low.endingHashKey) + 1n !== BigInt(high.startingHashKey)) {
      throw new InvalidArgumentException(`Shards ${first.shardId} and ${second.shardId} do not have adjacent hash key ranges`);
    }
    await this.reshard(
      stream,
      [first, second],
      [
        {
          startingHashKey: BigInt(low.startingHashKey),
          endingHashKey: BigInt(high.endingHashKey),
          parentShardId: first.shardId,
          adjacentParentShardId: second.shardId,
        },
      ],
      hold,
    );
  }

  /**
   * UNIFORM_SCALING to TargetShardCount open shards of equal ranges (within half and double the
   * current count, as Kinesis allows), done as Kinesis does it: real splits at every new
   * boundary, then merges of the pieces inside each new range, so every child keeps at most
   * two parents and the usual lineage.
   */
  async updateShardCount(request: UpdateShardCountInput): Promise<UpdateShardCountOutput> {
    const stream = this.context.activeStream(request);
    const current = stream.shards.filter(isOpen).length;
    const target = withinShardLimit(request.TargetShardCount);
    if (target > SCALING_FACTOR_MAX * current || target < Math.ceil(current / SCALING_FACTOR_MAX)) {
      throw new LimitExceededException(
        `TargetShardCount ${target} must be from half (${Math.ceil(current / SCALING_FACTOR_MAX)}) to double (${SCALING_FACTOR_MAX * current}) the current ${current} open shards`,
      );
    }
    const ranges = initialHashKeyRanges(target);
    for (const boundary of ranges.slice(1).map((range) => range.startingHashKey)) {
      const shard = stream.shards.find(
        (candidate) => isOpen(candidate) && BigInt(candidate.startingHashKey) < boundary && boundary <= BigInt(candidate.endingHashKey),
      );
      if (shard !== undefined)
        await this.split({ StreamName: stream.name, ShardToSplit: shard.shardId, NewStartingHashKey: boundary.toString() }, false);
    }
    for (const range of ranges) {
      for (let pieces = openShardsWithin(stream, range); pieces.length > 1; pieces = openShardsWithin(stream, range)) {
        await this.merge({ StreamName: stream.name, ShardToMerge: pieces[0]!.shardId, AdjacentShardToMerge: pieces[1]!.shardId }, false);
      }
    }
    await this.states.holdUpdating(stream);
    return { StreamName: stream.name, StreamARN: streamArn(stream.name), CurrentShardCount: current, TargetShardCount: target };
  }

  /**
   * ON_DEMAND: a shard whose admitted writes stay near its capacity (the throughput's decaying
   * average, ~5 s) is split at the middle of its range, one split at a time per stream.
   */
  scaleOnDemand(stream: StreamView, shard: ShardView): void {
    const { options, shards } = this.context;
    if (stream.mode !== 'ON_DEMAND' || !options.enforceLimits || stream.status !== 'ACTIVE' || !isOpen(shard)) return;
    if (shards.runtime(stream, shard).throughput.utilization(options.clock()) < ON_DEMAND_SPLIT_UTILIZATION) return;
    if (stream.shards.filter(isOpen).length >= SHARDS_PER_STREAM_MAX) return;
    const range = { startingHashKey: BigInt(shard.startingHashKey), endingHashKey: BigInt(shard.endingHashKey) };
    if (range.endingHashKey === range.startingHashKey) return;
    void this.split(
      { StreamName: stream.name, ShardToSplit: shard.shardId, NewStartingHashKey: middleHashKey(range).toString() },
      false,
    ).catch(() => undefined);
  }

  /** The steps in this file's header; with `hold`, step 4 at the update duration's end when the steps before succeeded. */
  private async reshard(stream: StreamView, parents: ShardView[], children: ChildShardPlan[], hold: boolean): Promise<void> {
    const { catalog, shards } = this.context;
    if (stream.shards.filter(isOpen).length - parents.length + children.length > SHARDS_PER_STREAM_MAX)
      throw new LimitExceededException(`a stream has at most ${SHARDS_PER_STREAM_MAX} open shards`);
    const opened = catalog.beginReshard(stream, parents, children);
    await catalog.save();
    let sealed = false;
    try {
      await Promise.all(opened.map((child) => shards.open(stream, child)));
      shards.route(stream);
      for (const parent of parents) await shards.seal(stream, parent);
      sealed = true;
    } finally {
      // A DeleteStream may have overtaken the reshard: the stream is then no longer ours to end.
      if (catalog.get(stream.name) === stream && stream.status === 'UPDATING') {
        if (sealed && hold && this.states.durations.updateStreamMs > 0) this.states.endUpdateLater(stream);
        else catalog.endReshard(stream);
        await catalog.save();
      }
    }
  }

  private openShardOf(stream: StreamView, shardId: string): ShardView {
    const shard = this.context.catalog.shard(stream, shardId);
    if (!isOpen(shard))
      throw new InvalidArgumentException(`Shard ${shardId} in stream ${stream.name} is closed: a closed shard cannot be split or merged`);
    return shard;
  }
}

function openShardsWithin(stream: StreamView, range: HashKeyRange): ShardView[] {
  return stream.shards
    .filter(
      (shard) =>
        isOpen(shard) && BigInt(shard.startingHashKey) >= range.startingHashKey && BigInt(shard.endingHashKey) <= range.endingHashKey,
    )
    .sort((a, b) => (BigInt(a.startingHashKey) < BigInt(b.startingHashKey) ? -1 : 1));
}
