import { InvalidArgumentException } from '../errors.js';
import { toBase64 } from '../net/messages/call.js';
import type { HeldLease } from './held_lease.js';
import { compareExtended, isCheckpoint, isSentinel, type Lease } from './lease.js';
import type { Checkpointer, ExtendedSequenceNumber, KinesisClientRecord, PreparedCheckpointer } from './processor.js';

type Target = KinesisClientRecord | string | undefined;

/**
 * A shard's checkpointer: what it may write is bounded by the records delivered to the
 * processor (never beyond the last) and by the checkpoint already written (never back).
 */
export class ShardCheckpointer implements Checkpointer {
  /** The last user record handed to processRecords. */
  delivered: ExtendedSequenceNumber | null = null;
  /** Set once the shard's last batch has been delivered: checkpoint() then writes SHARD_END. */
  atShardEnd = false;

  constructor(private readonly held: HeldLease) {}

  /** Whether the lease's checkpoint is SHARD_END (what shardEnded must leave behind). */
  get ended(): boolean {
    return this.held.lease.checkpoint === 'SHARD_END';
  }

  async checkpoint(at?: Target, subSequenceNumber?: number): Promise<void> {
    const target = this.target(at, subSequenceNumber);
    if (target === null) return;
    await this.held.update((lease) => ({
      ...withoutPending(lease),
      checkpoint: target.sequenceNumber,
      checkpointSubSequenceNumber: target.subSequenceNumber,
      ownerSwitchesSinceCheckpoint: 0,
    }));
  }

  async prepareCheckpoint(at?: Target, subSequenceNumber?: number, applicationState?: Uint8Array): Promise<PreparedCheckpointer> {
    const target = this.target(at, subSequenceNumber) ?? this.current();
    await this.held.update((lease) => ({
      ...withoutPending(lease),
      pendingCheckpoint: target.sequenceNumber,
      pendingCheckpointSubSequenceNumber: target.subSequenceNumber,
      ...(applicationState === undefined ? {} : { pendingCheckpointState: toBase64(applicationState) }),
    }));
    return {
      pendingCheckpoint: target,
      checkpoint: () => this.checkpoint(target.sequenceNumber, target.subSequenceNumber),
    };
  }

  /** The checkpoint asked for, checked against the current one and the records delivered; null: nothing to write. */
  private target(at: Target, subSequenceNumber: number | undefined): ExtendedSequenceNumber | null {
    if (at === undefined) {
      if (this.atShardEnd) return { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 };
      return this.delivered;
    }
    const target =
      typeof at === 'string'
        ? { sequenceNumber: at, subSequenceNumber: subSequenceNumber ?? 0 }
        : { sequenceNumber: at.sequenceNumber, subSequenceNumber: at.subSequenceNumber };
    if (
      !isCheckpoint(target.sequenceNumber) ||
      isSentinel(target.sequenceNumber) ||
      !Number.isSafeInteger(target.subSequenceNumber) ||
      target.subSequenceNumber < 0
    )
      throw new InvalidArgumentException(`checkpoint ${JSON.stringify(target)}: a sequence number and a sub-sequence number >= 0`);
    if (this.delivered === null || compareExtended(target, this.delivered) > 0)
      throw new InvalidArgumentException(
        `checkpoint ${target.sequenceNumber}/${target.subSequenceNumber} of ${this.held.shardId} is beyond the last record delivered (${this.delivered === null ? 'none' : `${this.delivered.sequenceNumber}/${this.delivered.subSequenceNumber}`})`,
      );
    const current = this.current();
    if (!isSentinel(current.sequenceNumber) && compareExtended(target, current) < 0)
      throw new InvalidArgumentException(
        `checkpoint ${target.sequenceNumber}/${target.subSequenceNumber} of ${this.held.shardId} is below its checkpoint ${current.sequenceNumber}/${current.subSequenceNumber}`,
      );
    return target;
  }

  private current(): ExtendedSequenceNumber {
    const { checkpoint, checkpointSubSequenceNumber } = this.held.lease;
    return { sequenceNumber: checkpoint, subSequenceNumber: checkpointSubSequenceNumber };
  }
}

function withoutPending(lease: Lease): Omit<Lease, 'leaseCounter'> {
  const { pendingCheckpoint: _at, pendingCheckpointSubSequenceNumber: _sub, pendingCheckpointState: _state, ...rest } = lease;
  return rest;
}
