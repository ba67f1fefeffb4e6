/*
 * A mapping's processor of one shard (the consumer group's ShardRecordProcessor): the records
 * delivered go through a ShardPipeline (lanes, batching window, checkpoints of the done prefix),
 * each batch through runBatch, and with TumblingWindowInSeconds through the shard's windows,
 * whose state rides on the lease's pending checkpoint. After a restart with a window open, the
 * records up to the window's position are passed over: they are in its state already.
 */
import { compareExtended } from '../groups/lease.js';
import type {
  Checkpointer,
  ExtendedSequenceNumber,
  InitializationInput,
  KinesisClientRecord,
  ProcessRecordsInput,
  ShardRecordProcessor,
} from '../groups/processor.js';
import type { Invoke } from './batch_runner.js';
import type { CompiledFilter } from './filter_patterns.js';
import type { MappingSettings } from './mapping.js';
import { ShardPipeline } from './shard_pipeline.js';
import { TumblingWindows, decodeWindow, encodeWindow, type OpenWindow } from './tumbling_windows.js';

export interface TriggerShardContext {
  readonly settings: MappingSettings;
  readonly streamArn: string;
  readonly filter: CompiledFilter | null;
  readonly clock: () => number;
  /** Aborted when the trigger stops. */
  readonly stopping: AbortSignal;
  readonly invoke: Invoke;
  /** One batch through runBatch: true once it is done. */
  runBatch(batch: readonly KinesisClientRecord[], shardId: string, invoke: Invoke, signal: AbortSignal): Promise<boolean>;
  /** Whether no record after `after` arrived before `endMs` (every record of a window is delivered). */
  windowComplete(shardId: string, after: KinesisClientRecord, endMs: number): Promise<boolean>;
  onError(error: unknown, shardId: string): void;
}

export class TriggerShard implements ShardRecordProcessor {
  private shardId = '';
  private pipeline: ShardPipeline | null = null;
  private windows: TumblingWindows | null = null;
  private resumeAfter: ExtendedSequenceNumber | null = null;
  private checkpointer: Checkpointer | null = null;
  private lastDelivered: KinesisClientRecord | null = null;
  private finished = false;
  private readonly lost = new AbortController();

  constructor(private readonly context: TriggerShardContext) {}

  initialize(input: InitializationInput): void {
    this.shardId = input.shardId;
    const { settings, clock } = this.context;
    const signal = AbortSignal.any([this.lost.signal, this.context.stopping]);
    const onError = (error: unknown): void => this.context.onError(error, this.shardId);
    const windowSeconds = settings.tumblingWindowInSeconds ?? 0;
    if (windowSeconds > 0) {
      const restored = restoredWindow(input);
      if (restored !== null) this.resumeAfter = input.pendingCheckpointSequenceNumber!;
      this.windows = new TumblingWindows({
        windowMs: windowSeconds * 1000,
        shardId: this.shardId,
        streamArn: this.context.streamArn,
        invoke: this.context.invoke,
        maximumRetryAttempts: settings.maximumRetryAttempts,
        signal,
        restored,
        onError,
      });
    }
    const windows = this.windows;
    this.pipeline = new ShardPipeline({
      lanes: settings.parallelizationFactor,
      batchSize: settings.batchSize,
      batchingWindowMs: settings.maximumBatchingWindowInSeconds * 1000,
      clock,
      signal,
      ...(windows === null
        ? {}
        : { batchKey: (record) => windows.windowOf(record), snapshot: () => windows.snapshot, onIdle: () => this.closeIfOver() }),
      run: (batch, runSignal) => this.run(batch, runSignal),
      checkpoint: (record, snapshot) => this.checkpoint(record, snapshot as OpenWindow | null | undefined),
      onError,
    });
  }

  async processRecords({ records, checkpointer }: ProcessRecordsInput): Promise<void> {
    this.checkpointer = checkpointer;
    if (records.length > 0) this.lastDelivered = records.at(-1)!;
    await this.pipeline!.accept(records, (record) => this.keeps(record));
  }

  async leaseLost(): Promise<void> {
    this.lost.abort();
    await this.pipeline?.close();
  }

  /** Every record is done and the open window closed before SHARD_END (a shard's end closes its window). */
  async shardEnded({ checkpointer }: { readonly checkpointer: Checkpointer }): Promise<void> {
    if (!this.finished) {
      if (!(await this.pipeline!.drain())) return;
      await this.windows?.close(false);
      await this.pipeline!.close();
      this.finished = true;
    }
    await checkpointer.checkpoint();
  }

  /** The trigger is stopping: batches in progress end unfinished (they run again on the next start). */
  async shutdownRequested(): Promise<void> {
    await this.pipeline?.close();
  }

  /** Records no filter matches are consumed unseen, as Lambda drops them; those in a restored window's state already are passed over. */
  private keeps(record: KinesisClientRecord): boolean {
    if (this.resumeAfter !== null && compareExtended(record, this.resumeAfter) <= 0) return false;
    return this.context.filter === null || this.context.filter.matches(record);
  }

  private async run(batch: readonly KinesisClientRecord[], signal: AbortSignal): Promise<boolean> {
    const windows = this.windows;
    if (windows !== null) await windows.enter(windows.windowOf(batch[0]!));
    const done = await this.context.runBatch(batch, this.shardId, windows?.invoke ?? this.context.invoke, signal);
    if (done) await windows?.afterBatch();
    return done;
  }

  /** With a window open, its state goes with the position (a pending checkpoint); never below a restored window's position. */
  private async checkpoint(record: KinesisClientRecord, window: OpenWindow | null | undefined): Promise<void> {
    if (this.resumeAfter !== null && compareExtended(record, this.resumeAfter) < 0) return;
    if (window === null || window === undefined) await this.checkpointer!.checkpoint(record);
    else await this.checkpointer!.prepareCheckpoint(record, undefined, encodeWindow(window));
  }

  /** On an idle tick: the open window ends once the clock is past it and all of its records were delivered. */
  private async closeIfOver(): Promise<void> {
    const end = this.windows!.openUntil;
    if (end === null || this.context.clock() < end || this.lastDelivered === null) return;
    if (!(await this.context.windowComplete(this.shardId, this.lastDelivered, end))) return;
    await this.windows!.close(false);
    this.pipeline!.requestCheckpoint();
  }
}

function restoredWindow(input: InitializationInput): OpenWindow | null {
  if (input.pendingCheckpointSequenceNumber === undefined) return null;
  try {
    return decodeWindow(input.pendingCheckpointState);
  } catch {
    return null; // not a window's state: this mapping's windows start afresh
  }
}
