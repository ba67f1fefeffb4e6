import type { TransferListItem } from 'node:worker_threads';
import type { BatchBuffers } from './batch_buffers.js';
import type { PoolRequest } from './channel.js';

/**
 * What a ShardAppender needs of the pool that carries its batches to the shard's worker (the
 * WorkerPool implements it): buffers to fill, a hook run just before the turn's message to the
 * worker goes out, and the request that carries a batch. Declared apart from both, so neither
 * imports the other.
 */
export interface AppenderPort {
  readonly buffers: BatchBuffers;
  /** Runs `hook` just before this turn's message to the shard's worker goes out. */
  beforeFlush(shardKey: string, hook: () => void): void;
  request<T>(request: PoolRequest, transfer?: readonly TransferListItem[]): Promise<T>;
}
