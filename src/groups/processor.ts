/*
 * The KCL's record processor interface (../shared/reference/kinesis-family.md §1.4), with its
 * names: one processor per shard a worker holds the lease of.
 */

/** A user record: a plain Kinesis record, or one unpacked from a KPL aggregate. */
export interface KinesisClientRecord {
  readonly sequenceNumber: string;
  /** The index in its KPL aggregate; 0 for a plain record. */
  readonly subSequenceNumber: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array;
  readonly approximateArrivalTimestamp: Date;
  readonly aggregated: boolean;
  /** Unpacked from an aggregate although its hash key is outside the shard (delivered, and counted). */
  readonly outsideShard?: true;
}

export interface ExtendedSequenceNumber {
  /** A sequence number, or TRIM_HORIZON / LATEST / AT_TIMESTAMP / SHARD_END. */
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
}

export interface PreparedCheckpointer {
  readonly pendingCheckpoint: ExtendedSequenceNumber;
  /** Makes the prepared checkpoint the checkpoint. */
  checkpoint(): Promise<void>;
}

/**
 * Writes the shard's checkpoint to the lease, conditioned on this worker still holding it
 * (LeaseLostError otherwise). A checkpoint below the current one or beyond the last record
 * delivered is refused with InvalidArgumentException and changes nothing.
 */
export interface Checkpointer {
  /** Everything delivered so far is processed (at a shard's end: SHARD_END). */
  checkpoint(): Promise<void>;
  checkpoint(record: KinesisClientRecord): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  /** Records a pending checkpoint (with application state) without moving the checkpoint. */
  prepareCheckpoint(
    at?: KinesisClientRecord | string,
    subSequenceNumber?: number,
    applicationState?: Uint8Array,
  ): Promise<PreparedCheckpointer>;
}

export interface InitializationInput {
  readonly shardId: string;
  readonly extendedSequenceNumber: ExtendedSequenceNumber;
  readonly pendingCheckpointSequenceNumber?: ExtendedSequenceNumber;
  readonly pendingCheckpointState?: Uint8Array;
}

export interface ChildShardRef {
  readonly ShardId: string;
  readonly ParentShards: readonly string[];
}

export interface ProcessRecordsInput {
  readonly records: KinesisClientRecord[];
  readonly checkpointer: Checkpointer;
  readonly millisBehindLatest: number;
  readonly isAtShardEnd: boolean;
  readonly childShards?: readonly ChildShardRef[];
}

export interface ShardRecordProcessor {
  initialize(input: InitializationInput): void | Promise<void>;
  processRecords(input: ProcessRecordsInput): void | Promise<void>;
  /** Another worker has the lease now: nothing can be checkpointed. */
  leaseLost(input: Record<string, never>): void | Promise<void>;
  /** The shard has ended: checkpoint() must be called (it writes SHARD_END), else this is called again. */
  shardEnded(input: { readonly checkpointer: Checkpointer }): void | Promise<void>;
  /** The worker is shutting down gracefully: the last chance to checkpoint before the lease is handed over. */
  shutdownRequested(input: { readonly checkpointer: Checkpointer }): void | Promise<void>;
}
