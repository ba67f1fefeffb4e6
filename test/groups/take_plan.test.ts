import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/groups/lease.js';
import { planTakes, type SeenLease, type TakeInput } from '../../src/groups/take_plan.js';

// Goal: the take pass decides as the KCL 2.x LeaseTaker (kinesis-family.md §1.3): an even share
// per live worker, expiry on the taker's own clock, very old leases first, at most one steal
// from the most loaded worker, and no steal on the passes between take periods.
// Method: planTakes on hand-made tables of leases, with the clock given.

const FAILOVER = 10_000;

function table(owners: (string | undefined)[], changedAtMs = 0): SeenLease[] {
  return owners.map((owner, i) => {
    const lease: Lease = {
      leaseKey: `shardId-${String(i).padStart(12, '0')}`,
      ...(owner === undefined ? {} : { leaseOwner: owner }),
      leaseCounter: 1,
      checkpoint: 'TRIM_HORIZON',
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
    };
    return { lease, changedAtMs };
  });
}

function plan(leases: SeenLease[], overrides: Partial<TakeInput> = {}) {
  return planTakes({
    leases,
    workerId: 'me',
    held: leases.filter(({ lease }) => lease.leaseOwner === 'me').length,
    nowMs: 1_000,
    failoverMs: FAILOVER,
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: 1,
    maySteal: true,
    ...overrides,
  });
}

describe('planTakes', () => {
  it('takes unowned leases up to an even share', () => {
    const result = plan(table([undefined, undefined, undefined, undefined, 'other', 'other']));
    // 6 leases, 2 workers (me and other): a share of 3.
    expect(result.take).toHaveLength(3);
    expect(result.take.every((lease) => lease.leaseOwner === undefined)).toBe(true);
    expect(result.belowTarget).toBe(false);
  });

  it("judges expiry by when this taker saw the counter change, not by the lease's age", () => {
    const leases = table(['dead', 'dead'], 0);
    expect(plan(leases, { nowMs: FAILOVER, maySteal: false }).take).toHaveLength(0);
    expect(plan(leases, { nowMs: FAILOVER + 1 }).take).toHaveLength(2);
  });

  it('steals one lease from the most loaded worker when nothing is free, and only on a full pass', () => {
    const leases = table(['a', 'a', 'a', 'a', 'b', 'b'], 1_000);
    const full = plan(leases, { nowMs: 2_000 });
    expect(full.take.map((lease) => lease.leaseOwner)).toEqual(['a']);
    expect(full.stole).toBe(true);
    expect(plan(leases, { nowMs: 2_000, maySteal: false }).take).toEqual([]);
  });

  it('takes very old leases first, whatever the share, also between take periods', () => {
    const leases = [...table(['gone', 'gone', 'gone'], 0), ...table(['me'], 35_000).map(rename('x'))];
    const result = plan(leases, { nowMs: 35_000, maySteal: false });
    expect(result.take).toHaveLength(3);
  });

  it('leaves finished shards out of the share', () => {
    const leases = table(['other', 'other', undefined]);
    const ended = leases.map((seen, i) => (i < 2 ? { ...seen, lease: { ...seen.lease, checkpoint: 'SHARD_END' } } : seen));
    expect(plan(ended).take.map((lease) => lease.leaseKey)).toEqual(['shardId-000000000002']);
  });
});

function rename(suffix: string): (seen: SeenLease) => SeenLease {
  return (seen) => ({ ...seen, lease: { ...seen.lease, leaseKey: `${seen.lease.leaseKey}${suffix}` } });
}
