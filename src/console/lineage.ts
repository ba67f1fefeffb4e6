import type { KinesisShard } from '../streams/api_types.js';
import { compareKeys, isOpen } from './hash_range.js';

/*
 * The layout of a stream's shard lineage (the graph on the stream page): one column per
 * generation, parents to the left of their children; within a column, shards in hash key order.
 * A shard's generation is one more than the latest of its parents', so a merge's child sits right
 * of both parents; a parent no longer listed (closed and past retention) counts as none.
 */

export interface LineageNode {
  readonly shard: KinesisShard;
  readonly open: boolean;
  readonly column: number;
  readonly row: number;
}

export interface LineageLayout {
  readonly nodes: readonly LineageNode[];
  readonly edges: ReadonlyArray<{ readonly from: LineageNode; readonly to: LineageNode }>;
  readonly columns: number;
  /** The most shards in one column. */
  readonly rows: number;
}

export function parentsOf(shard: KinesisShard): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
}

export function lineageLayout(shards: readonly KinesisShard[]): LineageLayout {
  // Shard ids grow with each shard a stream gets, so a parent sorts before its children.
  const byId = [...shards].sort((a, b) => (a.ShardId < b.ShardId ? -1 : a.ShardId > b.ShardId ? 1 : 0));
  const columnOf = new Map<string, number>();
  for (const shard of byId) {
    const parentColumns = parentsOf(shard).map((id) => columnOf.get(id) ?? -1);
    columnOf.set(shard.ShardId, Math.max(-1, ...parentColumns) + 1);
  }
  const columns: KinesisShard[][] = [];
  for (const shard of byId) (columns[columnOf.get(shard.ShardId)!] ??= []).push(shard);
  const nodeOf = new Map<string, LineageNode>();
  columns.forEach((column, index) => {
    column.sort((a, b) => compareKeys(a.HashKeyRange.StartingHashKey, b.HashKeyRange.StartingHashKey));
    column.forEach((shard, row) => nodeOf.set(shard.ShardId, { shard, open: isOpen(shard), column: index, row }));
  });
  const nodes = byId.map((shard) => nodeOf.get(shard.ShardId)!);
  const edges = nodes.flatMap((to) =>
    parentsOf(to.shard).flatMap((id) => {
      const from = nodeOf.get(id);
      return from === undefined ? [] : [{ from, to }];
    }),
  );
  return { nodes, edges, columns: columns.length, rows: Math.max(0, ...columns.map((column) => column.length)) };
}
