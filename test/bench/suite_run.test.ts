import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardlineFactory } from '../../bench/suite/adapters/shardline.js';
import { runWorkload } from '../../bench/suite/runner.js';
import type { SystemUnderTest } from '../../bench/suite/types.js';
import { parseWorkload } from '../../bench/suite/workload.js';
import { suiteTempDir, tempDir } from '../helpers/temp_dir.js';

// Goal: the runner measures what it claims against the real server (its own process, real
// sockets, real files). Counts are exact by construction: at a target rate, record k is due at
// k / rate, so a window of d seconds holds rate * d records however slow the machine is; every
// acknowledged record must come back to the consumers. No verdict depends on speed.

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(REPO_ROOT, 'bench', 'suite', 'cli.ts');

describe('the runner against shardline', () => {
  let system: SystemUnderTest;
  let limited: SystemUnderTest;
  const root = suiteTempDir('shardline-suite-run-');

  beforeAll(async () => {
    system = await shardlineFactory.start('never', root.dir);
    limited = await shardlineFactory.start('always', root.dir, { enforceLimits: true });
  });

  afterAll(async () => {
    await Promise.all([system?.stop(), limited?.stop()]);
    root.remove();
  });

  it('at a fixed rate counts exactly the window, and every record reaches the push consumer', async () => {
    const workload = parseWorkload(
      { rate: 2000, warmupSeconds: 0.5, durationSeconds: 1, consumers: 1, shardsPerStream: 2, bounds: { endToEndP99MaxMs: 600_000 } },
      'fixed-push',
    );
    const result = await runWorkload(system, workload, { test: true });
    expect(result.summary).toMatchObject({ records: 2000, consumedRecords: 3000, throttled: 0, errors: 0, targetRecordsPerSec: 2000 });
    expect(result.summary.publish.count).toBe(2000);
    expect(result.summary.endToEnd?.count).toBe(2000);
    expect(result.timeline.reduce((sum, point) => sum + point.recordsPerSec, 0)).toBe(2000);
    expect(result.distribution.endToEnd?.at(-1)?.percentile).toBe(100);
    expect(result.bounds.every((check) => check.met)).toBe(true);
    expect(result.system.durability).toMatch(/not fsynced/);
  });

  it('spreads producers over streams and reads them back with polling consumers', async () => {
    const workload = parseWorkload(
      {
        rate: 2000,
        warmupSeconds: 0.5,
        durationSeconds: 1,
        streams: 2,
        producers: 2,
        consumers: 2,
        consumerMode: 'poll',
        recordSize: { min: 16, max: 2000 },
      },
      'fixed-poll',
    );
    const result = await runWorkload(system, workload, {});
    expect(result.summary).toMatchObject({ records: 2000, consumedRecords: 3000, errors: 0 });
    expect(result.summary.endToEnd?.count).toBe(4000);
    expect(result.bounds.find((check) => check.name.includes('not read back'))?.met).toBe(true);
  });

  it('at "max" keeps the window full and needs no consumer', async () => {
    const workload = parseWorkload({ rate: 'max', maxInFlight: 2000, warmupSeconds: 0.2, durationSeconds: 0.5 }, 'max');
    const result = await runWorkload(system, workload, {});
    expect(result.summary.records).toBeGreaterThan(0);
    expect(result.summary.endToEnd).toBeNull();
    expect(result.distribution.endToEnd).toBeNull();
    expect(result.summary.targetRecordsPerSec).toBeNull();
  });

  it('finds the highest rate that holds the bound: doubling up to maxRate', async () => {
    const workload = parseWorkload(
      {
        mode: 'find-max',
        warmupSeconds: 0.2,
        consumers: 1,
        findMax: { p99MaxMs: 600_000, startRate: 300, maxRate: 1000, trialSeconds: 0.5 },
      },
      'find',
    );
    const result = await runWorkload(system, workload, {});
    // Whether a trial sustains its rate depends on the machine; how the search moves does not.
    const trials = result.findMax!.trials;
    expect(trials[0]!.rate).toBe(300);
    let low = 0;
    let high = Infinity;
    for (let i = 1; i < trials.length; i++) {
      const previous = trials[i - 1]!;
      if (previous.sustained) low = previous.rate;
      else high = previous.rate;
      expect(trials[i]!.rate).toBe(Math.round(high === Infinity ? Math.min(previous.rate * 2, 1000) : (low + high) / 2));
    }
    const sustained = trials.filter((trial) => trial.sustained).map((trial) => trial.rate);
    expect(result.findMax!.maxSustainableRate).toBe(sustained.length === 0 ? 0 : Math.max(...sustained));
    for (const trial of trials) expect(trial.sustained).toBe(trial.recordsPerSec >= trial.rate * 0.95 && trial.p99Us <= 600_000_000);
  });

  it('on a PROVISIONED stream offered twice its limit: the rest throttled, nothing accepted lost', async () => {
    const workload = parseWorkload({ mode: 'limits', warmupSeconds: 0.5, durationSeconds: 1.5, consumers: 1 }, 'limits');
    const result = await runWorkload(limited, workload, {});
    expect(result.limits).toMatchObject({ shards: 1, offeredRecordsPerSec: 2000, binding: 'records', lost: 0 });
    expect(result.limits!.throttled).toBeGreaterThan(0);
    expect(result.summary.records).toBeLessThan(3000);
    expect(result.bounds.map((check) => check.name)).toContain('accepted records rate within 5% of the per-shard limit');
  });

  it('refuses what the system cannot do', async () => {
    const workload = parseWorkload({ mode: 'limits', consumers: 1 }, 'limits');
    const fake = { ...system, name: 'other', supportsLimits: false, consumerModes: ['push'] } as SystemUnderTest;
    await expect(runWorkload(fake, workload, {})).rejects.toThrow(/other has no per-shard limits/);
  });
});

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('bench:run', () => {
  it('writes the result and its report, exits 1 naming the bound it missed, and names the result last', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'unreachable.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ rate: 500, warmupSeconds: 0.2, durationSeconds: 0.5, consumers: 1, bounds: { minRecordsPerSec: 1e9 } }),
    );
    const { code, output } = await runCli(['run', file, '--out', path.join(dir, 'out'), '--data-dir', dir]);
    expect(output).toMatch(/MISSED: records\/s >= limit \(limit 1000000000 records\/s, actual \d+ records\/s\)/);
    expect(code).toBe(1);
    const written = fs.readdirSync(path.join(dir, 'out'));
    const json = written.find((name) => name.endsWith('-unreachable-shardline.json'))!;
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out', json), 'utf8'))).toMatchObject({
      schema: 'shardline-bench-run/1',
      summary: { records: 250 },
    });
    expect(written.some((name) => name.endsWith('-unreachable-shardline.html'))).toBe(true);
    expect(output.trim().split('\n').at(-1)).toBe(`result: ${path.join(dir, 'out', json)}`);
  });

  it('exits 2 on a bad workload and says what is wrong', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ rate: 'fast' }));
    const { code, output } = await runCli(['run', file, '--out', dir]);
    expect(code).toBe(2);
    expect(output).toMatch(/bad workload: rate must be a number/);
  });
});
