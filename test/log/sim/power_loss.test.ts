import { describe, expect, it } from 'vitest';
import type { FsyncPolicy } from '../../../src/log/log_config.js';
import { seededRandom, testSeed } from '../../helpers/random.js';
import { runCampaign } from './campaign.js';

// Goal: the durability each fsync mode documents holds at every point a machine could lose
// power or the process be killed: under "always" no resolved append is lost by either; under
// { intervalMs } and "never" a kill -9 loses nothing resolved and a power loss nothing a
// flush() covered; recovery never claims a record the disk lost, and no offset ever holds bytes
// that were not appended there.
// Method: a seeded workload (bursts of appends, rolls, retention, flushes, clean reopens) on a
// log over SimulatedStorage; before every sync the storage hands over what would survive; each
// such cut is written out (exactly the durable image, or with a torn share of unsynced
// sectors, or the whole page cache for a kill -9), reopened and checked.

const seed = testSeed();

const RUNS: ReadonlyArray<{ fsync: FsyncPolicy; runs: number; steps: number }> = [
  { fsync: 'always', runs: 3, steps: 150 },
  { fsync: { intervalMs: 60 * 60 * 1000 }, runs: 1, steps: 150 },
  { fsync: 'never', runs: 1, steps: 150 },
];

describe('power loss and kill -9 at every sync (simulated storage)', () => {
  for (const { fsync, runs, steps } of RUNS) {
    const mode = JSON.stringify(fsync);
    it(`keeps what fsync ${mode} promises at every cut point (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      let cuts = 0;
      for (let run = 0; run < runs; run++) {
        const result = await runCampaign(fsync, steps, random);
        cuts += result.cuts;
        const first = result.failures[0] ?? null;
        expect(first, `seed ${seed}, fsync ${mode}, run ${run}: ${result.failures.length} cuts failed; the first`).toBeNull();
      }
      expect(cuts).toBeGreaterThan(runs * steps);
    });
  }
});
