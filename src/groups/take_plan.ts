import type { Lease } from './lease.js';

/** A lease as a worker last listed it, and when it saw its counter change (its own monotonic clock). */
export interface SeenLease {
  readonly lease: Lease;
  readonly changedAtMs: number;
}

export interface TakeInput {
  readonly leases: readonly SeenLease[];
  readonly workerId: string;
  /** Leases the worker holds now. */
  readonly held: number;
  readonly nowMs: number;
  readonly failoverMs: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  /** False on the passes between take periods, which only pick up expired leases. */
  readonly maySteal: boolean;
}

export interface TakePlan {
  readonly take: Lease[];
  /** The plan steals from a live worker. */
  readonly stole: boolean;
  /** After the plan the worker would still hold fewer than its share. */
  readonly belowTarget: boolean;
}

/** Leases idle this many failover times are taken first, whatever the target (the KCL's "very old"). */
const VERY_OLD_FAILOVERS = 3;

/**
 * The KCL 2.x LeaseTaker's choice (DynamoDBLeaseTaker.computeLeasesToTake): the target is each
 * live worker's even share of the leases still to process (SHARD_END ones are done); expiry is
 * judged by the taker's own clock, from when it saw a lease's counter last change, never by a
 * stored time. Very old leases first, then expired or unowned ones up to the target (in random
 * order, so that workers starting together spread), else a steal from the most loaded worker.
 */
export function planTakes(input: TakeInput): TakePlan {
  const active = input.leases.filter(({ lease }) => lease.checkpoint !== 'SHARD_END');
  const expired = (seen: SeenLease): boolean => seen.lease.leaseOwner === undefined || input.nowMs - seen.changedAtMs > input.failoverMs;
  const live = active.filter((seen) => !expired(seen));
  const owners = new Map<string, Lease[]>();
  for (const { lease } of live) owners.set(lease.leaseOwner!, [...(owners.get(lease.leaseOwner!) ?? []), lease]);
  const workers = new Set([...owners.keys(), input.workerId]).size;
  const target = Math.min(input.maxLeasesForWorker, workers >= active.length ? 1 : Math.ceil(active.length / workers));
  const others = active.filter(({ lease }) => lease.leaseOwner !== input.workerId);
  const veryOld = others.filter(
    (seen) => seen.lease.leaseOwner !== undefined && input.nowMs - seen.changedAtMs > VERY_OLD_FAILOVERS * input.failoverMs,
  );
  const needed = target - input.held;
  if (veryOld.length > 0)
    return { take: veryOld.map(({ lease }) => lease), stole: false, belowTarget: input.held + veryOld.length < target };
  if (needed <= 0) return { take: [], stole: false, belowTarget: false };
  const available = shuffle(others.filter(expired)).slice(0, needed);
  if (available.length > 0)
    return { take: available.map(({ lease }) => lease), stole: false, belowTarget: input.held + available.length < target };
  if (!input.maySteal) return { take: [], stole: false, belowTarget: true };
  return steal(owners, input, target, needed);
}

function steal(owners: ReadonlyMap<string, Lease[]>, input: TakeInput, target: number, needed: number): TakePlan {
  let richest: Lease[] = [];
  for (const [owner, leases] of owners) if (owner !== input.workerId && leases.length > richest.length) richest = leases;
  let count = 0;
  if (richest.length > target) count = Math.min(needed, input.maxLeasesToStealAtOneTime);
  else if (richest.length === target && needed > 1) count = 1;
  const take = shuffle(richest.map((lease) => ({ lease, changedAtMs: 0 })))
    .slice(0, count)
    .map(({ lease }) => lease);
  return { take, stole: take.length > 0, belowTarget: input.held + take.length < target };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
