import { ConditionalCheckFailedException, LeaseLostError } from '../errors.js';
import type { Lease, LeaseStore } from './lease.js';

/**
 * A lease this worker holds, and the one way to write it: each write (renew, checkpoint,
 * release) is the stored lease with counter + 1, conditioned on the counter and owner last
 * written, one at a time, so a renewal and a checkpoint never race each other. A failed
 * condition means another worker has the lease: it is lost, and every later write is refused.
 */
export class HeldLease {
  /** When a write last succeeded, on this worker's monotonic clock. */
  confirmedAtMs: number;
  private current: Lease;
  private chain: Promise<unknown> = Promise.resolve();
  private lostFlag = false;

  constructor(
    lease: Lease,
    private readonly store: LeaseStore,
    readonly owner: string,
    private readonly onLost: (held: HeldLease) => void,
  ) {
    this.current = lease;
    this.confirmedAtMs = performance.now();
  }

  get lease(): Lease {
    return this.current;
  }

  get shardId(): string {
    return this.current.leaseKey;
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  /** Writes `change(lease)` with the next counter; LeaseLostError if the lease is no longer ours. */
  update(change: (lease: Lease) => Omit<Lease, 'leaseCounter'>): Promise<Lease> {
    const write = async (): Promise<Lease> => {
      if (this.lostFlag) throw new LeaseLostError(`lease ${this.shardId} is no longer held by ${this.owner}`);
      const before = this.current;
      const next: Lease = { ...change(before), leaseCounter: before.leaseCounter + 1 };
      try {
        await this.store.update(next, { leaseCounter: before.leaseCounter, leaseOwner: this.owner });
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        this.markLost();
        throw new LeaseLostError(`lease ${this.shardId} was taken from ${this.owner}: ${error.message}`, { cause: error });
      }
      this.current = next;
      this.confirmedAtMs = performance.now();
      return next;
    };
    const result = this.chain.then(write, write);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Counter + 1: the lease stays ours for another failover time. */
  renew(): Promise<Lease> {
    return this.update((lease) => lease);
  }

  /** Hands the lease back (no owner), so another worker can take it at once. */
  release(): Promise<Lease> {
    return this.update(({ leaseOwner: _owner, ...rest }) => rest);
  }

  /** Gives the lease up without a write: another has it, or it could not be renewed in time. */
  markLost(): void {
    if (this.lostFlag) return;
    this.lostFlag = true;
    this.onLost(this);
  }
}
