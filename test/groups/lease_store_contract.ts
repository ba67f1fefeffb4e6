import { expect, it } from 'vitest';
import { ConditionalCheckFailedException, CorruptLeaseError } from '../../src/errors.js';
import type { Lease, LeaseStore } from '../../src/groups/lease.js';

/*
 * What every LeaseStore promises the worker (src/groups/lease.ts): a lease reads back as it was
 * written, every attribute; a write whose condition (counter and owner) fails rejects with
 * ConditionalCheckFailedException and changes nothing; of racing writes from one expectation
 * exactly one wins; a stored lease that does not parse is CorruptLease on every read.
 */

export interface LeaseStoreUnderTest {
  /** A prepared store of a group (or table) of its own, empty. */
  fresh(name: string): Promise<LeaseStore>;
  /** A store of a group of its own that holds lease `leaseKey` with a leaseCounter that is no number. */
  corrupted(name: string, leaseKey: string): Promise<LeaseStore>;
}

const FULL: Lease = {
  leaseKey: 'shardId-000000000002',
  leaseOwner: 'worker-a',
  leaseCounter: 7,
  checkpoint: '49590338271490256608559692538361571095921575989136588898',
  checkpointSubSequenceNumber: 3,
  ownerSwitchesSinceCheckpoint: 2,
  parentShardId: ['shardId-000000000000', 'shardId-000000000001'],
  childShardIds: ['shardId-000000000003'],
  pendingCheckpoint: '49590338271490256608559692538361571095921575989136588899',
  pendingCheckpointSubSequenceNumber: 1,
  pendingCheckpointState: Buffer.from([0, 1, 2, 250, 255]).toString('base64'),
  startingHashKey: '0',
  endingHashKey: '340282366920938463463374607431768211455',
};

const BARE: Lease = {
  leaseKey: 'shardId-000000000000',
  leaseCounter: 0,
  checkpoint: 'TRIM_HORIZON',
  checkpointSubSequenceNumber: 0,
  ownerSwitchesSinceCheckpoint: 0,
};

/** The lease as a store gives it back: key order and absent fields do not matter. */
function normalized(lease: Lease | null | undefined): Record<string, unknown> | null {
  if (lease === null || lease === undefined) return null;
  return Object.fromEntries(
    Object.entries(lease)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** `prefix` names the groups (tables) the contract makes, apart from other runs' on the same server. */
export function leaseStoreContract(prefix: string, subject: () => LeaseStoreUnderTest): void {
  let groups = 0;
  const fresh = (): Promise<LeaseStore> => subject().fresh(`${prefix}-${++groups}`);

  it('reads a lease back with every attribute, by list and by get', async () => {
    const store = await fresh();
    await store.prepare();
    expect(await store.list()).toEqual([]);
    await store.create(FULL);
    await store.create(BARE);
    expect(normalized(await store.get(FULL.leaseKey))).toEqual(normalized(FULL));
    expect(normalized(await store.get(BARE.leaseKey))).toEqual(normalized(BARE));
    expect(await store.get('shardId-000000000009')).toBeNull();
    const listed = (await store.list()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    expect(listed.map(normalized)).toEqual([normalized(BARE), normalized(FULL)]);
  });

  it('refuses to create a lease that exists, and keeps the stored one', async () => {
    const store = await fresh();
    await store.create(FULL);
    await expect(store.create({ ...BARE, leaseKey: FULL.leaseKey })).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(normalized(await store.get(FULL.leaseKey))).toEqual(normalized(FULL));
  });

  it('updates on the expected counter and owner, and drops the attributes the new lease leaves out', async () => {
    const store = await fresh();
    await store.create(FULL);
    const next: Lease = { ...BARE, leaseKey: FULL.leaseKey, leaseOwner: 'worker-b', leaseCounter: 8, checkpoint: 'SHARD_END' };
    await store.update(next, { leaseCounter: 7, leaseOwner: 'worker-a' });
    expect(normalized(await store.get(FULL.leaseKey))).toEqual(normalized(next));
    const released: Lease = { ...BARE, leaseKey: FULL.leaseKey, leaseCounter: 9 };
    await store.update(released, { leaseCounter: 8, leaseOwner: 'worker-b' });
    const taken: Lease = { ...released, leaseOwner: 'worker-c', leaseCounter: 10, ownerSwitchesSinceCheckpoint: 1 };
    await store.update(taken, { leaseCounter: 9, leaseOwner: null });
    expect(normalized(await store.get(FULL.leaseKey))).toEqual(normalized(taken));
  });

  it('refuses an update or delete on a wrong counter, a wrong owner or a missing lease, changing nothing', async () => {
    const store = await fresh();
    await store.create(FULL);
    const next: Lease = { ...FULL, leaseCounter: 8 };
    for (const expected of [
      { leaseCounter: 6, leaseOwner: 'worker-a' },
      { leaseCounter: 7, leaseOwner: 'worker-b' },
      { leaseCounter: 7, leaseOwner: null },
    ]) {
      await expect(store.update(next, expected), JSON.stringify(expected)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
      await expect(store.delete(FULL.leaseKey, expected), JSON.stringify(expected)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    }
    await store.create(BARE);
    await expect(store.update({ ...BARE, leaseCounter: 1 }, { leaseCounter: 0, leaseOwner: 'worker-a' })).rejects.toBeInstanceOf(
      ConditionalCheckFailedException,
    );
    const missing = { ...BARE, leaseKey: 'shardId-000000000005', leaseCounter: 1 };
    await expect(store.update(missing, { leaseCounter: 0, leaseOwner: null })).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(store.delete(missing.leaseKey, { leaseCounter: 0, leaseOwner: null })).rejects.toBeInstanceOf(
      ConditionalCheckFailedException,
    );
    expect(await store.get(missing.leaseKey)).toBeNull();
    expect(normalized(await store.get(FULL.leaseKey))).toEqual(normalized(FULL));
    expect(normalized(await store.get(BARE.leaseKey))).toEqual(normalized(BARE));
  });

  it('deletes on the expected counter and owner', async () => {
    const store = await fresh();
    await store.create(FULL);
    await store.delete(FULL.leaseKey, { leaseCounter: 7, leaseOwner: 'worker-a' });
    expect(await store.get(FULL.leaseKey)).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it('lets exactly one of racing takes from one expectation win', async () => {
    const store = await fresh();
    await store.create(BARE);
    const takers = Array.from({ length: 8 }, (_, i) => `worker-${i}`);
    const outcomes = await Promise.allSettled(
      takers.map((owner) => store.update({ ...BARE, leaseOwner: owner, leaseCounter: 1 }, { leaseCounter: 0, leaseOwner: null })),
    );
    const won = takers.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const outcome of outcomes)
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConditionalCheckFailedException);
    expect((await store.get(BARE.leaseKey))?.leaseOwner).toBe(won[0]);
  });

  it('reads a stored lease that does not parse as CorruptLease, never as a fresh lease', async () => {
    const store = await subject().corrupted(`${prefix}-${++groups}`, 'shardId-000000000000');
    await expect(store.list()).rejects.toBeInstanceOf(CorruptLeaseError);
    await expect(store.get('shardId-000000000000')).rejects.toBeInstanceOf(CorruptLeaseError);
    await expect(store.list()).rejects.toThrow(/leaseCounter/);
  });
}
