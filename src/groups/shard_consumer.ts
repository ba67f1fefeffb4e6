import { LeaseLostError } from '../errors.js';
import { fromBase64 } from '../net/messages/call.js';
import { ShardCheckpointer } from './checkpointer.js';
import type { HeldLease } from './held_lease.js';
import { isSentinel, type Lease, type LeaseStore } from './lease.js';
import type { ChildShardRef, ShardRecordProcessor } from './processor.js';
import { sleep, type ReadStart, type RecordSource, type SourceShard } from './record_source.js';
import { userRecords, type Unpacking } from './user_records.js';

export interface ShardConsumerContext {
  readonly source: RecordSource;
  readonly store: LeaseStore;
  readonly unpacking: Unpacking;
  readonly parentPollMs: number;
  /** Where a lease with no checkpoint of its own starts (AT_TIMESTAMP's time). */
  readonly initialTimestampMs: number | undefined;
  readonly skipFailedBatches: boolean;
  /** The KCL's callProcessRecordsEvenForEmptyRecordList: a processor that tracks how far behind it is sees every read. */
  readonly processEmptyBatches: boolean;
  shard(shardId: string): SourceShard | undefined;
  onError(error: unknown, shardId: string, stage: string): void;
  /** The shard ended and SHARD_END is checkpointed: its children need leases. */
  onShardEnd(held: HeldLease, children: readonly ChildShardRef[]): Promise<void>;
  onProcessed(shardId: string, records: number, millisBehindLatest: number): void;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;

/**
 * One held lease's processing, as the KCL's ShardConsumer: wait until every parent's lease is at
 * SHARD_END (a missing parent lease does not block), initialize, read and process batch after
 * batch (the next is read only when processRecords has returned), and at the shard's end call
 * shardEnded until it checkpoints SHARD_END. A processor that throws has the same batch again
 * after a backoff (or, with skipFailedBatches, the next, as the KCL does); it never stops the
 * worker. It ends when the lease is lost, the worker shuts down, or the shard is done.
 */
export class ShardConsumer {
  readonly checkpointer: ShardCheckpointer;
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    readonly held: HeldLease,
    private readonly processor: ShardRecordProcessor,
    private readonly context: ShardConsumerContext,
  ) {
    this.checkpointer = new ShardCheckpointer(held);
  }

  start(): void {
    this.running = this.run().catch((error: unknown) => {
      if (!(error instanceof LeaseLostError)) this.context.onError(error, this.held.shardId, 'processing');
    });
  }

  /** The lease is gone: stop after the batch in hand, then tell the processor (it cannot checkpoint). */
  async lose(): Promise<void> {
    await this.stop();
    await this.call('leaseLost', () => this.processor.leaseLost({}));
  }

  /** Graceful: stop after the batch in hand, let the processor checkpoint, then hand the lease back; whether it was. */
  async shutdown(): Promise<boolean> {
    await this.stop();
    if (this.held.lost) return false;
    await this.call('shutdownRequested', () => this.processor.shutdownRequested({ checkpointer: this.checkpointer }));
    try {
      await this.held.release();
      return true;
    } catch (error) {
      if (!(error instanceof LeaseLostError)) this.context.onError(error, this.held.shardId, 'release');
      return false;
    }
  }

  private async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    await this.waitForParents(signal);
    if (signal.aborted) return;
    const lease = this.held.lease;
    const initialized = await this.retrying('initialize', () =>
      this.processor.initialize({
        shardId: lease.leaseKey,
        extendedSequenceNumber: { sequenceNumber: lease.checkpoint, subSequenceNumber: lease.checkpointSubSequenceNumber },
        ...(lease.pendingCheckpoint === undefined
          ? {}
          : {
              pendingCheckpointSequenceNumber: {
                sequenceNumber: lease.pendingCheckpoint,
                subSequenceNumber: lease.pendingCheckpointSubSequenceNumber ?? 0,
              },
            }),
        ...(lease.pendingCheckpointState === undefined ? {} : { pendingCheckpointState: fromBase64(lease.pendingCheckpointState) }),
      }),
    );
    if (!initialized) return;
    const children = await this.readAll(signal);
    if (children !== null && !signal.aborted) await this.endShard(children, signal);
  }

  /** Processes batches until the shard ends (its children) or the read is stopped (null). */
  private async readAll(signal: AbortSignal): Promise<readonly ChildShardRef[] | null> {
    const { source, unpacking } = this.context;
    const shardId = this.held.shardId;
    for (let failures = 0; !signal.aborted;) {
      const after = this.resumeAfter();
      try {
        for await (const batch of source.read(shardId, this.startOf(after), signal)) {
          if (signal.aborted) return null;
          const records = await userRecords(batch.records, this.context.shard(shardId), unpacking, after, source.streamName);
          const atEnd = batch.childShards !== undefined;
          // A heartbeat with nothing in it is no call (the KCL's default): a processor that
          // checkpoints each batch would otherwise write its lease on every one.
          if (records.length === 0 && !atEnd && !this.context.processEmptyBatches) continue;
          const before = this.checkpointer.delivered;
          if (records.length > 0) this.checkpointer.delivered = records.at(-1)!;
          this.checkpointer.atShardEnd = atEnd;
          const processed = await this.retrying('processRecords', () =>
            this.processor.processRecords({
              records,
              checkpointer: this.checkpointer,
              millisBehindLatest: batch.millisBehindLatest,
              isAtShardEnd: atEnd,
              ...(atEnd ? { childShards: batch.childShards } : {}),
            }),
          );
          if (!processed) {
            // Stopped while the batch kept failing: none of it may be checkpointed.
            this.checkpointer.delivered = before;
            this.checkpointer.atShardEnd = false;
            return null;
          }
          this.context.onProcessed(shardId, records.length, batch.millisBehindLatest);
          failures = 0;
          if (atEnd) return batch.childShards!;
        }
      } catch (error) {
        if (error instanceof LeaseLostError || signal.aborted) throw error;
        this.context.onError(error, shardId, 'read');
        await sleep(backoffMs(++failures), signal);
      }
    }
    return null;
  }

  /** shardEnded until the processor has checkpointed SHARD_END; then the children get their leases. */
  private async endShard(children: readonly ChildShardRef[], signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !this.checkpointer.ended; attempt++) {
      if (signal.aborted) return;
      await this.call('shardEnded', () => this.processor.shardEnded({ checkpointer: this.checkpointer }));
      if (this.checkpointer.ended) break;
      this.context.onError(
        new Error(`the processor of ${this.held.shardId} did not checkpoint at the end of the shard`),
        this.held.shardId,
        'shardEnded',
      );
      await sleep(backoffMs(attempt), signal);
    }
    await this.context.onShardEnd(this.held, children);
  }

  /** Blocks while a parent's lease exists and has not reached SHARD_END. */
  private async waitForParents(signal: AbortSignal): Promise<void> {
    const parents = this.held.lease.parentShardId ?? [];
    while (!signal.aborted) {
      const leases = await Promise.all(parents.map((parent) => this.context.store.get(parent))).catch((error: unknown) => {
        this.context.onError(error, this.held.shardId, 'parents');
        return null;
      });
      if (leases !== null && leases.every((lease) => lease === null || lease.checkpoint === 'SHARD_END')) return;
      await sleep(this.context.parentPollMs, signal);
    }
  }

  /** What was processed: the records delivered since, else the lease's checkpoint. */
  private resumeAfter(): { sequenceNumber: string; subSequenceNumber: number } | null {
    if (this.checkpointer.delivered !== null) return this.checkpointer.delivered;
    const lease: Lease = this.held.lease;
    return isSentinel(lease.checkpoint) ? null : { sequenceNumber: lease.checkpoint, subSequenceNumber: lease.checkpointSubSequenceNumber };
  }

  private startOf(after: { sequenceNumber: string } | null): ReadStart {
    // AT, not AFTER: a checkpoint inside an aggregate resumes at the aggregate (userRecords skips what was done).
    if (after !== null) return { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: after.sequenceNumber };
    const checkpoint = this.held.lease.checkpoint;
    if (checkpoint === 'AT_TIMESTAMP')
      return { Type: 'AT_TIMESTAMP', Timestamp: this.held.lease.checkpointTimestampMillis ?? this.context.initialTimestampMs ?? 0 };
    return { Type: checkpoint === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON' };
  }

  /**
   * Calls the processor until it returns (true), backing off between failures; false if the
   * consumer was stopped first. A lost lease ends it.
   */
  private async retrying(stage: string, run: () => void | Promise<void>): Promise<boolean> {
    for (let failures = 0; ;) {
      try {
        await run();
        return true;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        this.context.onError(error, this.held.shardId, stage);
        if (this.context.skipFailedBatches && stage === 'processRecords') return true;
        if (this.abort.signal.aborted) return false;
        await sleep(backoffMs(++failures), this.abort.signal);
      }
    }
  }

  /** A call whose failure is reported and passed over (the lease is going either way). */
  private async call(stage: string, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof LeaseLostError)) this.context.onError(error, this.held.shardId, stage);
    }
  }
}

function backoffMs(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures, 16));
}
