import type { LogOptions } from '../log/log_config.js';
import type { BatchKey } from '../log/batch_cipher.js';

/*
 * Messages between the engine's thread and its shard workers. Every message is one batch:
 * `{ messages: [...] }`, one postMessage per event-loop turn and direction, not one per request.
 * Requests carry an id; each gets exactly one reply with the same id.
 */

/** Log options that can cross threads (no functions, no buffers). */
export type PortableLogOptions = Omit<Partial<LogOptions>, 'clock' | 'committedPosition' | 'storage'>;

/**
 * How a shard worker dies, for tests of supervision: terminated from outside, an uncaught
 * exception, process.exit in the thread, or its heap past SHARD_WORKER_HEAP_MAX_MB.
 */
export type WorkerCrash = 'terminate' | 'throw' | 'exit' | 'out of memory';

/** The worker dies the way it is told (WorkerPool.crashWorkerOf). */
export interface CrashRequest {
  readonly crash: Exclude<WorkerCrash, 'terminate'>;
}

export type WorkerRequest =
  /** Opens (recovering if needed) a shard's log; replies once it is open. */
  | {
      readonly kind: 'open';
      readonly id: number;
      readonly shardKey: string;
      readonly dir: string;
      readonly options: PortableLogOptions;
      readonly committed: SharedArrayBuffer;
      readonly sealed: boolean;
    }
  /**
   * Appends a batch the engine's thread encoded (ShardAppender): bytes [0, batchBytes) of the
   * transferred buffer, header room then records. Replies { baseOffset, recordCount,
   * timestampMs } once committed; the buffer comes back in `returned` as soon as it is written.
   */
  | {
      readonly kind: 'appendBatch';
      readonly id: number;
      readonly shardKey: string;
      readonly batch: ArrayBuffer;
      readonly batchBytes: number;
      readonly recordCount: number;
      readonly arrivalMs: number;
    }
  /** Stops appends to the shard (it was split or merged) and replies { endOffset } once all before are committed. */
  | { readonly kind: 'seal'; readonly id: number; readonly shardKey: string }
  /** Replies { offset }: the first offset that arrived at or after the time. */
  | { readonly kind: 'offsetForTimestamp'; readonly id: number; readonly shardKey: string; readonly timestampMs: number }
  | { readonly kind: 'setRetention'; readonly id: number; readonly shardKey: string; readonly retentionMs: number }
  /** A retention pass now (the manual clock moved); replies { deletedSegments }. */
  | { readonly kind: 'applyRetention'; readonly id: number; readonly shardKey: string }
  /** Batches appended from now on are encrypted with this data key (null: plaintext). */
  | { readonly kind: 'setEncryption'; readonly id: number; readonly shardKey: string; readonly encryption: BatchKey | null }
  /** Closes the shard's log (its stream is being deleted). */
  | { readonly kind: 'close'; readonly id: number; readonly shardKey: string };

/** A request as its sender makes it: the pool gives it its id. */
export type PoolRequest = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

export interface Batch<T> {
  readonly messages: readonly T[];
  /** Batch buffers handed back for reuse (worker to engine only). */
  readonly returned?: readonly ArrayBuffer[];
}

/** The error code a worker answers for appends to a sealed shard: the engine routes them again. */
export const SHARD_SEALED = 'ShardSealed';

/** An append met a shard sealed by a split or merge: nothing was stored; route it again. */
export class ShardSealedError extends Error {}

/** What a shard worker starts with (its workerData). */
export interface ShardWorkerData {
  /** The shards it keeps with open files (src/workers/open_logs.ts). */
  readonly openShardsMax: number;
  /** The engine's manual clock (src/util/manual_clock.ts), which its logs then read; null: Date.now. */
  readonly clock: SharedArrayBuffer | null;
}
