import { describe, expect, it } from 'vitest';
import { comparisonOf, comparisonTable } from '../../bench/suite/compare.js';
import { renderComparisonReport } from '../../bench/suite/report.js';
import type { RunResult } from '../../bench/suite/types.js';
import { comparisonFixture, runResultFixture } from '../helpers/bench_results.js';

// Goal: the comparison checks the targets from the runs it has, and says by how much a
// missed one is off: throughput multiples on workloads at "max", end-to-end p99 against Redis
// and NATS on workloads at a fixed rate.

/** The conditions: 100 B records, at "max" for throughput, at 10,000/s for latency. */
function atMax(run: RunResult): RunResult {
  return { ...run, workload: { ...run.workload, name: 'throughput', rate: 'max', recordSize: { bytes: 100 } } };
}

function at10k(run: RunResult): RunResult {
  return { ...run, workload: { ...run.workload, rate: 10_000, recordSize: { bytes: 100 } } };
}

function withoutBounds(run: RunResult): RunResult {
  return { ...run, bounds: [] };
}

describe('comparison targets', () => {
  it('checks throughput multiples against each peer that ran, with the shortfall', () => {
    const runs = [
      atMax(runResultFixture({ systemName: 'shardline', recordsPerSec: 500_000, endToEnd: false })),
      atMax(runResultFixture({ systemName: 'redis', recordsPerSec: 100_000, endToEnd: false })),
      atMax(runResultFixture({ systemName: 'nats', recordsPerSec: 110_000, endToEnd: false })),
    ];
    const { targets } = comparisonOf(runs, {}, 'now');
    expect(targets.map((target) => [target.name, target.met])).toEqual([
      ['throughput: shardline records/s >= 2x redis', true],
      ['throughput: shardline records/s >= 5x nats', false],
    ]);
    expect(targets[1]!.detail).toBe('4.55x (500000 vs 110000 records/s; target 5x): short by 50000 records/s');
  });

  it("checks shardline against Redis's own ceiling at equal durability: 1x, and 2x under fsync always", () => {
    const ceiling = { tool: 'redis-benchmark -c 1 -P 64 XADD (100 B)', records: 1_200_000, seconds: 3, recordsPerSec: 400_000 };
    const runsAt = (fsync: 'never' | 'always'): RunResult[] =>
      [
        atMax(runResultFixture({ systemName: 'shardline', recordsPerSec: 500_000, endToEnd: false })),
        { ...atMax(runResultFixture({ systemName: 'redis', recordsPerSec: 70_000, endToEnd: false })), ceiling },
      ].map((run) => withoutBounds({ ...run, workload: { ...run.workload, fsync } }));
    const named = (fsync: 'never' | 'always'): [string, boolean][] =>
      comparisonOf(runsAt(fsync), {}, 'now')
        .targets.filter((target) => target.name.includes('ceiling'))
        .map((target) => [target.name, target.met]);
    expect(named('never')).toEqual([["throughput: shardline records/s >= 1x redis's own ceiling", true]]);
    expect(named('always')).toEqual([["throughput: shardline records/s >= 2x redis's own ceiling", false]]);
    const table = comparisonTable(comparisonOf(runsAt('never'), {}, 'now'));
    expect(table).toContain(
      'throughput: shardline / redis: 1.25x its ceiling (redis-benchmark -c 1 -P 64 XADD (100 B)), 7.14x its Node client',
    );
  });

  it('checks end-to-end p99 at a fixed rate against Redis and NATS only', () => {
    const runs = [
      runResultFixture({ systemName: 'shardline', workloadName: 'latency', latencyScale: 1 }),
      runResultFixture({ systemName: 'redis', workloadName: 'latency', latencyScale: 0.5 }),
      runResultFixture({ systemName: 'nats', workloadName: 'latency', latencyScale: 2 }),
      runResultFixture({ systemName: 'kinesalite', workloadName: 'latency', latencyScale: 100 }),
    ]
      .map(at10k)
      .map(withoutBounds);
    const { targets } = comparisonOf(runs, {}, 'now');
    const ours = runs[0]!.summary.endToEnd!.p99Us;
    expect(targets.map((target) => [target.name, target.met])).toEqual([
      ["latency: shardline end-to-end p99 < redis's", false],
      ["latency: shardline end-to-end p99 < nats's", true],
    ]);
    expect(targets[0]!.detail).toContain(`${((ours - runs[1]!.summary.endToEnd!.p99Us) / 1000).toFixed(2)} ms over`);
  });

  it('voids a target whose runs missed a bound of their own, and sets none outside the conditions', () => {
    const failed = {
      ...atMax(runResultFixture({ systemName: 'redis', recordsPerSec: 10_000, endToEnd: false })),
      bounds: [{ name: 'put errors', limit: 0, actual: 3, unit: 'errors', met: false }],
    };
    const ours = atMax(runResultFixture({ systemName: 'shardline', recordsPerSec: 500_000, endToEnd: false }));
    expect(comparisonOf([ours, failed], {}, 'now').targets).toEqual([
      {
        name: 'throughput: shardline records/s >= 2x redis',
        workload: 'throughput',
        met: false,
        detail: 'void: redis: put errors (3 errors)',
      },
    ]);
    const bigRecords = { ...ours, workload: { ...ours.workload, recordSize: { bytes: 4096 } } };
    expect(comparisonOf([bigRecords, { ...failed, workload: bigRecords.workload }], {}, 'now').targets).toEqual([]);
    const pollingPeer = at10k(runResultFixture({ systemName: 'redis', workloadName: 'latency' }));
    const pushing = at10k(runResultFixture({ systemName: 'shardline', workloadName: 'latency' }));
    expect(
      comparisonOf([pushing, { ...pollingPeer, workload: { ...pollingPeer.workload, consumerMode: 'poll' } }], {}, 'now').targets,
    ).toEqual([]);
  });

  it('has no targets without a shardline run, and prints every run with its durability', () => {
    const runs = [runResultFixture({ systemName: 'redis' }), runResultFixture({ systemName: 'nats', endToEnd: false })];
    const comparison = comparisonOf(runs, {}, 'now');
    expect(comparison.targets).toEqual([]);
    const lines = comparisonTable(comparison).split('\n');
    expect(lines[0]).toMatch(/^workload\s+system\s+records\/s/);
    expect(lines[1]).toContain('redis: acknowledged once written to the page cache');
    expect(lines[2]).toMatch(/nats .* - +- +- +nats:/);
  });

  it("puts the profile of a missed target's repeat run in the report, escaped", () => {
    const profiles = [
      {
        workload: 'latency',
        system: 'shardline',
        reason: 'p99 <b>over</b>',
        dir: '/tmp/p',
        threads: [
          {
            thread: 'main thread',
            busyMs: 9000,
            totalMs: 18_000,
            top: [
              { name: 'postMessage', ms: 1800 },
              { name: '<anonymous> x.ts', ms: 900 },
            ],
          },
        ],
      },
    ];
    const html = renderComparisonReport({ ...comparisonFixture(), profiles });
    expect(html).toContain('<h2>Where the time goes</h2>');
    expect(html).toContain('main thread: busy 9.0 s of 18.0 s');
    expect(html).toContain('<td>postMessage</td>');
    expect(html).toContain('20.0%');
    expect(html).toContain('&#60;anonymous&#62; x.ts');
    expect(html).not.toContain('<b>over</b>');
    expect(renderComparisonReport(comparisonFixture())).not.toContain('Where the time goes');
  });
});
