import { afterEach, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { ResourceNotFoundException } from '../../src/errors.js';
import { LeaseTables } from '../../src/groups/lease_tables.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a group deleted while its worker still writes stays deleted: a renewal in flight or one
// arriving during the delete writes no document back (the race a forced `group delete` met).
// Method: a real engine; lease writes started without waiting, the delete at once, then the
// engine's documents and the tables listed.

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

it('writes nothing back for a group deleted while lease writes are in flight', async () => {
  engine = await Engine.open({ dataDir: tempDir(), fsync: 'always', enforceLimits: false, workers: 1 });
  await engine.createStream({ StreamName: 's', ShardCount: 1 });
  const tables = LeaseTables.of(engine);
  await tables.prepare('doomed', 's');
  const lease = {
    leaseKey: 'shardId-000000000000',
    leaseCounter: 0,
    checkpoint: 'TRIM_HORIZON',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
  };
  await tables.createLease('doomed', lease);
  const renewals = Promise.allSettled(
    Array.from({ length: 5 }, (_, i) =>
      tables.updateLease(
        'doomed',
        { ...lease, leaseOwner: 'w', leaseCounter: i + 1 },
        { leaseCounter: i, leaseOwner: i === 0 ? null : 'w' },
      ),
    ),
  );
  const deleted = tables.deleteGroup('doomed', true);
  const late = tables.updateLease('doomed', { ...lease, leaseCounter: 99 }, { leaseCounter: 5, leaseOwner: 'w' }).then(
    () => null,
    (error: unknown) => error,
  );
  await deleted;
  await renewals;
  expect(await late).toBeInstanceOf(ResourceNotFoundException);
  expect(engine.listDocuments('group.')).toEqual([]);
  expect(tables.listGroups()).toEqual([]);
});
