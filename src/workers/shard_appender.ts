import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX } from '../limits.js';
import { BATCH_HEADER_BYTES } from '../log/record_batch.js';
import type { AppenderPort } from './appender_port.js';

/** A batch starts this big and doubles as records arrive. */
const BATCH_BYTES_INITIAL = 64 * 1024;
/**
 * Puts join a batch while it stays within this size; a put bigger than it gets a batch of its
 * own. Readers get whole batches, so smaller batches keep a GetRecords with a small Limit, or a
 * push event, from carrying megabytes of records it does not return.
 */
const BATCH_BYTES_TARGET = 1024 * 1024;

/**
 * Records already in their on-disk form, back to back: record i is bytes
 * [recordStarts[i], recordStarts[i + 1]) of `bytes` (the engine's PutStaging).
 */
export interface StagedRecords {
  readonly bytes: Buffer;
  readonly recordStarts: Uint32Array;
}

interface Waiter {
  /** Index in the batch of the waiter's first record. */
  readonly first: number;
  readonly resolve: (offset: number) => void;
  readonly reject: (error: Error) => void;
}

/**
 * One shard's batch under construction on the engine's thread: every put that reaches the
 * shard during one event-loop turn copies its staged records in (already in their on-disk
 * form), and the batch goes to the shard's worker as one transferred buffer, just before the
 * pool's message of that turn. The worker only checks, stamps and writes it: one batch, one
 * write and one checksum per shard per turn, however many requests it carries.
 *
 * A put's records stay contiguous and in order within one batch, so each put learns its
 * offsets from the batch's base offset. A batch holds at most BATCH_RECORDS_MAX records, and
 * more than BATCH_BYTES_TARGET only when one put alone is bigger (a put is at most 5 MiB); a
 * put that does not fit closes the batch and starts the next one.
 */
export class ShardAppender {
  private batch: Buffer | null = null;
  private position = BATCH_HEADER_BYTES;
  private count = 0;
  private arrivalMs = 0;
  private waiters: Waiter[] = [];
  /** Where the last batch ended: steady traffic starts the next one that big, never copying one to grow it. */
  private lastBatchBytes = BATCH_BYTES_INITIAL;

  constructor(
    private readonly pool: AppenderPort,
    readonly shardKey: string,
    private readonly clock: () => number,
  ) {}

  /**
   * Adds staged records `indices` (in that order) to this turn's batch. Resolves with the
   * offset of the first of them once the batch is committed; rejects with the batch's error
   * (ShardSealedError when the shard was sealed: nothing of it was stored).
   */
  append(staging: StagedRecords, indices: readonly number[]): Promise<number> {
    const bytes = indices.reduce((sum, i) => sum + staging.recordStarts[i + 1]! - staging.recordStarts[i]!, 0);
    this.makeRoom(bytes, indices.length);
    const batch = this.batch!;
    const source = staging.bytes;
    for (let run = 0; run < indices.length;) {
      // Consecutive staged records are copied in one go: all of them, when a put goes to one shard.
      let end = run + 1;
      while (end < indices.length && indices[end] === indices[end - 1]! + 1) end++;
      const from = staging.recordStarts[indices[run]!]!;
      const to = staging.recordStarts[indices[end - 1]! + 1]!;
      source.copy(batch, this.position, from, to);
      this.position += to - from;
      run = end;
    }
    const first = this.count;
    this.count += indices.length;
    return new Promise((resolve, reject) => this.waiters.push({ first, resolve, reject }));
  }

  private makeRoom(bytes: number, count: number): void {
    if (this.batch !== null && (this.position + bytes > BATCH_BYTES_TARGET || this.count + count > BATCH_RECORDS_MAX)) this.flush();
    if (this.batch === null) {
      this.batch = this.pool.buffers.take(Math.max(this.lastBatchBytes, BATCH_HEADER_BYTES + bytes));
      this.position = BATCH_HEADER_BYTES;
      this.count = 0;
      this.arrivalMs = this.clock();
      this.pool.beforeFlush(this.shardKey, () => this.flush());
      return;
    }
    if (this.position + bytes <= this.batch.length) return;
    const grown = this.pool.buffers.take(Math.min(BATCH_BYTES_MAX, Math.max(this.position + bytes, this.batch.length * 2)));
    this.batch.copy(grown, 0, 0, this.position);
    this.pool.buffers.release(this.batch.buffer);
    this.batch = grown;
  }

  /**
   * Hands the batch to the worker now (its buffer is transferred, and comes back once
   * written): before a request that must follow it, such as sealing the shard.
   */
  flush(): void {
    const batch = this.batch;
    if (batch === null) return;
    const waiters = this.waiters;
    this.lastBatchBytes = Math.max(BATCH_BYTES_INITIAL, this.position);
    this.batch = null;
    this.waiters = [];
    this.pool
      .request<{ baseOffset: number }>(
        {
          kind: 'appendBatch',
          shardKey: this.shardKey,
          batch: batch.buffer as ArrayBuffer,
          batchBytes: this.position,
          recordCount: this.count,
          arrivalMs: this.arrivalMs,
        },
        [batch.buffer as ArrayBuffer],
      )
      .then(
        ({ baseOffset }) => {
          for (const waiter of waiters) waiter.resolve(baseOffset + waiter.first);
        },
        (error: Error) => {
          for (const waiter of waiters) waiter.reject(error);
        },
      );
  }
}
