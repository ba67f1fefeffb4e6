import { ConditionalCheckFailedException, InvalidArgumentException, LeaseLostError } from '../errors.js';
import type { EnvelopeEncryption } from '../client/envelope.js';
import { HeldLease } from './held_lease.js';
import type { Lease, LeaseStore } from './lease.js';
import type { ChildShardRef, ShardRecordProcessor } from './processor.js';
import { sleep, type RecordSource, type SourceShard } from './record_source.js';
import { ShardConsumer } from './shard_consumer.js';
import { planTakes, type SeenLease } from './take_plan.js';

export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly AT_TIMESTAMP: Date | number };

export interface GroupWorkerOptions {
  /** The application's name: the lease table (DynamoDB) or group (shardline) it shares with its other workers. */
  readonly groupName: string;
  readonly source: RecordSource;
  readonly leases: LeaseStore;
  /** Makes the processor of each shard this worker takes. */
  readonly processor: () => ShardRecordProcessor;
  /** Unique among the group's workers. Default: a random id. */
  readonly workerId?: string;
  /** Where shards without a checkpoint start. Default LATEST (the KCL's). */
  readonly initialPosition?: InitialPosition;
  /** A lease not renewed for this long (on the taker's clock) may be taken. Default 10,000. */
  readonly failoverTimeMillis?: number;
  /** Default failover / 3 - 25. */
  readonly renewIntervalMillis?: number;
  /** Default 2 x (failover + 25). */
  readonly takeIntervalMillis?: number;
  readonly maxLeasesForWorker?: number;
  /** Default 1. */
  readonly maxLeasesToStealAtOneTime?: number;
  /** New shards are looked for this often. Default 60,000. */
  readonly shardSyncIntervalMillis?: number;
  /** How often a child waiting for its parents looks again. Default 10,000. */
  readonly parentShardPollIntervalMillis?: number;
  /** Unpack KPL aggregates (default true). */
  readonly deaggregate?: boolean;
  readonly encryption?: EnvelopeEncryption;
  /** The KCL's behaviour for a batch whose processRecords throws: go on to the next. Default false: retry it. */
  readonly skipFailedBatches?: boolean;
  /** The KCL's: call processRecords for a read that found nothing too (default false), so the processor sees millisBehindLatest. */
  readonly callProcessRecordsEvenForEmptyRecordList?: boolean;
  /** Errors the worker got past (a processor that threw, a read that failed and is retried). Default: console.error. */
  readonly onError?: (error: unknown, shardId: string, stage: string) => void;
  /** Every lease write this worker made (for audits and tests). */
  readonly onLeaseEvent?: (event: LeaseEvent) => void;
}

export interface LeaseEvent {
  readonly type: 'created' | 'taken' | 'renewed' | 'released' | 'lost' | 'ended';
  readonly leaseKey: string;
  readonly leaseCounter: number;
  readonly workerId: string;
  /** For a take: the owner it was taken from (null: nobody held it). */
  readonly from?: string | null;
}

export interface ShardProgress {
  readonly shardId: string;
  readonly recordsProcessed: number;
  readonly millisBehindLatest: number;
}

const EPSILON_MS = 25;
const FAILOVER_DEFAULT_MS = 10_000;

/**
 * A worker of a consumer group, as the KCL's Scheduler: it keeps a lease per shard in the store,
 * renews the ones it holds, takes expired and unowned ones and steals from the most loaded worker
 * (planTakes), processes each held shard with a ShardConsumer, creates leases for new shards
 * (children at a shard's end, others found by the periodic shard sync), and on shutdown lets
 * each processor checkpoint before handing its lease back.
 */
export class GroupWorker {
  readonly workerId: string;
  private readonly held = new Map<string, { held: HeldLease; consumer: ShardConsumer }>();
  private readonly seen = new Map<string, SeenLease>();
  private readonly progress = new Map<string, { recordsProcessed: number; millisBehindLatest: number }>();
  private shards = new Map<string, SourceShard>();
  private readonly stopping = new AbortController();
  private readonly timing: { failover: number; renew: number; take: number; shardSync: number; parentPoll: number };
  private lastShardSyncMs = -Infinity;
  private loops: Promise<void>[] = [];
  private shardSync: Promise<void> | null = null;

  constructor(private readonly options: GroupWorkerOptions) {
    const failover = options.failoverTimeMillis ?? FAILOVER_DEFAULT_MS;
    if (!(failover >= 100)) throw new InvalidArgumentException('failoverTimeMillis is at least 100');
    this.timing = {
      failover,
      renew: options.renewIntervalMillis ?? Math.max(1, failover / 3 - EPSILON_MS),
      take: options.takeIntervalMillis ?? 2 * (failover + EPSILON_MS),
      shardSync: options.shardSyncIntervalMillis ?? 60_000,
      parentPoll: options.parentShardPollIntervalMillis ?? 10_000,
    };
    if (this.timing.renew >= failover) throw new InvalidArgumentException('renewIntervalMillis must be below failoverTimeMillis');
    this.workerId = options.workerId ?? `worker-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Prepares the store and the source, then runs the lease loops until shutdown(). */
  async start(): Promise<void> {
    await this.options.leases.prepare();
    await this.options.source.prepare(this.options.groupName);
    await this.syncShards();
    await this.takePass(true);
    this.loops = [this.loop(this.timing.renew, () => this.renewAll()), this.takeLoop()];
  }

  /** The shards this worker holds now. */
  get heldShards(): string[] {
    return [...this.held.keys()].sort();
  }

  get shardProgress(): ShardProgress[] {
    return [...this.progress].map(([shardId, progress]) => ({ shardId, ...progress }));
  }

  /**
   * Graceful: stops taking, lets each processor finish its batch and checkpoint
   * (shutdownRequested), then hands each lease back so the others take them at once.
   */
  async shutdown(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    await Promise.all(this.loops);
    await this.shardSync?.catch(() => undefined);
    await Promise.all(
      [...this.held.values()].map(async ({ held, consumer }) => {
        if (await consumer.shutdown()) this.event('released', held);
      }),
    );
    this.held.clear();
    this.options.source.close?.();
  }

  private async loop(intervalMs: number, run: () => Promise<void>): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await sleep(intervalMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      await run().catch((error: unknown) => this.report(error, '', 'leases'));
    }
  }

  /**
   * Takes every take period (sooner, after a renew period, while a steal left it below its
   * share), and between take periods looks at the leases every failover time for expired ones
   * only: the KCL's taker, listing every 20 s, sees a dead worker's leases expire up to two take
   * periods (40 s) after the crash; listing every failover time bounds it by two failover times.
   */
  private async takeLoop(): Promise<void> {
    const expiryCheck = Math.min(this.timing.take, this.timing.failover + EPSILON_MS);
    let fullAt = performance.now() + this.timing.take;
    while (!this.stopping.signal.aborted) {
      const now = performance.now();
      await sleep(Math.max(0, Math.min(fullAt - now, expiryCheck)), this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      const full = performance.now() >= fullAt - 1;
      const more = await this.takePass(full).catch((error: unknown) => {
        this.report(error, '', 'take');
        return false;
      });
      if (full) fullAt = performance.now() + (more ? this.timing.renew : this.timing.take);
    }
  }

  private async renewAll(): Promise<void> {
    const now = performance.now();
    await Promise.all(
      [...this.held.values()].map(async ({ held }) => {
        try {
          this.event('renewed', await held.renew());
        } catch (error) {
          if (error instanceof LeaseLostError) return;
          this.report(error, held.shardId, 'renew');
          // Unconfirmed for a failover time: another worker may take it now, so stop first.
          if (now - held.confirmedAtMs >= this.timing.failover - this.timing.renew) held.markLost();
        }
      }),
    );
  }

  /** One pass of the KCL's LeaseTaker (without steals unless `full`); true if it stole and still holds fewer than its share. */
  private async takePass(full: boolean): Promise<boolean> {
    if (performance.now() - this.lastShardSyncMs >= this.timing.shardSync) await this.syncShards();
    const leases = await this.options.leases.list();
    const now = performance.now();
    this.observe(leases, now);
    for (const lease of leases) {
      const mine = this.held.get(lease.leaseKey);
      if (mine !== undefined && lease.leaseOwner !== this.workerId && lease.leaseCounter > mine.held.lease.leaseCounter)
        mine.held.markLost();
    }
    const plan = planTakes({
      leases: [...this.seen.values()],
      workerId: this.workerId,
      held: this.held.size,
      nowMs: now,
      failoverMs: this.timing.failover,
      maxLeasesForWorker: this.options.maxLeasesForWorker ?? Number.MAX_SAFE_INTEGER,
      maxLeasesToStealAtOneTime: this.options.maxLeasesToStealAtOneTime ?? 1,
      maySteal: full,
    });
    for (const lease of plan.take) await this.take(lease);
    return plan.stole && plan.belowTarget;
  }

  private observe(leases: readonly Lease[], now: number): void {
    const keys = new Set(leases.map((lease) => lease.leaseKey));
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
    for (const lease of leases) {
      const before = this.seen.get(lease.leaseKey);
      const changed = before === undefined || before.lease.leaseCounter !== lease.leaseCounter;
      this.seen.set(lease.leaseKey, { lease, changedAtMs: changed ? now : before.changedAtMs });
    }
  }

  private async take(lease: Lease): Promise<void> {
    const taken: Lease = {
      ...lease,
      leaseOwner: this.workerId,
      leaseCounter: lease.leaseCounter + 1,
      ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint + 1,
    };
    try {
      await this.options.leases.update(taken, { leaseCounter: lease.leaseCounter, leaseOwner: lease.leaseOwner ?? null });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return; // another worker was quicker
      throw error;
    }
    const held = new HeldLease(taken, this.options.leases, this.workerId, (lost) => void this.lose(lost));
    this.event('taken', taken, lease.leaseOwner ?? null);
    const consumer = new ShardConsumer(held, this.options.processor(), {
      source: this.options.source,
      store: this.options.leases,
      unpacking: { deaggregate: this.options.deaggregate ?? true, encryption: this.options.encryption ?? null },
      parentPollMs: this.timing.parentPoll,
      initialTimestampMs: this.initialTimestampMs(),
      skipFailedBatches: this.options.skipFailedBatches ?? false,
      processEmptyBatches: this.options.callProcessRecordsEvenForEmptyRecordList ?? false,
      shard: (shardId) => this.shards.get(shardId),
      onError: (error, shardId, stage) => this.report(error, shardId, stage),
      onShardEnd: (ended, children) => this.endShard(ended, children),
      onProcessed: (shardId, records, millisBehindLatest) => {
        const progress = this.progress.get(shardId) ?? { recordsProcessed: 0, millisBehindLatest: 0 };
        this.progress.set(shardId, { recordsProcessed: progress.recordsProcessed + records, millisBehindLatest });
      },
    });
    this.held.set(lease.leaseKey, { held, consumer });
    consumer.start();
  }

  private async lose(held: HeldLease): Promise<void> {
    const entry = this.held.get(held.shardId);
    if (entry?.held !== held) return;
    this.held.delete(held.shardId);
    this.event('lost', held);
    await entry.consumer.lose();
  }

  /** SHARD_END is checkpointed: the lease records its children and is handed back; the children get leases. */
  private async endShard(held: HeldLease, children: readonly ChildShardRef[]): Promise<void> {
    const ended = await held.update(({ leaseOwner: _owner, ...rest }) => ({
      ...rest,
      childShardIds: children.map((child) => child.ShardId),
    }));
    this.held.delete(held.shardId);
    this.event('ended', ended);
    await this.syncShards();
  }

  /** Creates the leases of shards that need one (see shardsToLease); deletes ended leases of shards gone. */
  private syncShards(): Promise<void> {
    this.shardSync ??= this.runShardSync().finally(() => (this.shardSync = null));
    return this.shardSync;
  }

  private async runShardSync(): Promise<void> {
    const shards = await this.options.source.listShards();
    this.shards = new Map(shards.map((shard) => [shard.shardId, shard]));
    this.lastShardSyncMs = performance.now();
    const leases = new Map((await this.options.leases.list()).map((lease) => [lease.leaseKey, lease]));
    for (const lease of shardsToLease(shards, leases, this.options.initialPosition ?? 'LATEST')) {
      try {
        await this.options.leases.create(lease);
        this.event('created', lease);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    for (const lease of leases.values())
      if (lease.checkpoint === 'SHARD_END' && !this.shards.has(lease.leaseKey))
        await this.options.leases
          .delete(lease.leaseKey, { leaseCounter: lease.leaseCounter, leaseOwner: lease.leaseOwner ?? null })
          .catch(() => undefined);
  }

  private initialTimestampMs(): number | undefined {
    const initial = this.options.initialPosition;
    if (typeof initial !== 'object') return undefined;
    return initial.AT_TIMESTAMP instanceof Date ? initial.AT_TIMESTAMP.getTime() : initial.AT_TIMESTAMP;
  }

  private event(type: LeaseEvent['type'], subject: Lease | HeldLease, from?: string | null): void {
    const lease = subject instanceof HeldLease ? subject.lease : subject;
    this.options.onLeaseEvent?.({
      type,
      leaseKey: lease.leaseKey,
      leaseCounter: lease.leaseCounter,
      workerId: this.workerId,
      ...(from === undefined ? {} : { from }),
    });
  }

  private report(error: unknown, shardId: string, stage: string): void {
    if (this.options.onError !== undefined) this.options.onError(error, shardId, stage);
    else console.error(`shardline group ${this.options.groupName} worker ${this.workerId}: ${stage} ${shardId}:`, error);
  }
}

/**
 * The leases a shard sync creates: a shard with a leased parent continues its lineage (from
 * TRIM_HORIZON, once the parents end); a shard with none is leased if it is open, or if the
 * group starts from the oldest records (then every listed shard is, parents before children).
 */
export function shardsToLease(shards: readonly SourceShard[], leases: ReadonlyMap<string, Lease>, initial: InitialPosition): Lease[] {
  const listed = new Set(shards.map((shard) => shard.shardId));
  const leased = new Set(leases.keys());
  const created: Lease[] = [];
  const everything = initial !== 'LATEST';
  for (const shard of shards) {
    if (leased.has(shard.shardId)) continue;
    const parents = shard.parentShardIds.filter((parent) => listed.has(parent));
    const lineage = parents.some((parent) => leased.has(parent));
    if (!lineage && !everything && !shard.open) continue;
    const checkpoint = lineage ? 'TRIM_HORIZON' : typeof initial === 'object' ? 'AT_TIMESTAMP' : initial;
    created.push({
      leaseKey: shard.shardId,
      leaseCounter: 0,
      checkpoint,
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      ...(parents.length === 0 ? {} : { parentShardId: parents }),
      startingHashKey: shard.startingHashKey,
      endingHashKey: shard.endingHashKey,
      ...(checkpoint === 'AT_TIMESTAMP' && typeof initial === 'object'
        ? { checkpointTimestampMillis: initial.AT_TIMESTAMP instanceof Date ? initial.AT_TIMESTAMP.getTime() : initial.AT_TIMESTAMP }
        : {}),
    });
    leased.add(shard.shardId);
  }
  return created;
}
