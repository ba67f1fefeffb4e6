import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../bench/suite/ledger.js';
import { Recorder } from '../../bench/suite/recorder.js';
import { RecordSource, stampOf } from '../../bench/suite/records.js';
import { STAMP_BYTES } from '../../bench/suite/types.js';
import { WorkloadError, loadWorkload, parseWorkload, withOverrides } from '../../bench/suite/workload.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the suite's pure parts do what the runner relies on. Workload files are defaulted and
// every bad field is refused by name; records are deterministic, sized and stamped as asked;
// the recorder counts only the measured window, however late a record is acknowledged.

const WORKLOADS_DIR = path.join(import.meta.dirname, '..', '..', 'bench', 'workloads');

describe('workload files', () => {
  it('every shipped workload parses', () => {
    const files = fs.readdirSync(WORKLOADS_DIR);
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) expect(loadWorkload(path.join(WORKLOADS_DIR, file)).name).toBe(file.replace(/\.(json|ya?ml)$/, ''));
  });

  it('fills defaults and reads YAML like JSON', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'w.yaml'), 'rate: 500\nconsumers: 1\nrecordSize: { min: 20, max: 40 }\n');
    const workload = loadWorkload(path.join(dir, 'w.yaml'));
    expect(workload).toMatchObject({
      name: 'w',
      mode: 'fixed',
      rate: 500,
      streams: 1,
      shardsPerStream: 1,
      producers: 1,
      consumers: 1,
      consumerMode: 'push',
      fsync: 'never',
      capacityMode: 'ON_DEMAND',
      recordSize: { min: 20, max: 40 },
      partitionKeys: { count: 1000, distribution: 'uniform' },
    });
    expect(parseWorkload({}, 'x').rate).toBe('max');
    expect(parseWorkload({ fsync: { intervalMs: 5 } }, 'x').fsync).toEqual({ intervalMs: 5 });
  });

  it.each([
    [{ rate: -1 }, /rate must be a number/],
    [{ rate: 'fast' }, /rate must be a number/],
    [{ shardz: 2 }, /unknown workload field "shardz"/],
    [{ recordSize: { bytes: 8 } }, /recordSize.bytes must be a number from 16/],
    [{ recordSize: { min: 100, max: 50 } }, /recordSize.max must be a number from 100/],
    [{ recordSize: { bytes: 2 * 1024 * 1024 } }, /recordSize.bytes must be a number from 16 to 1048576/],
    [{ producers: 1.5 }, /producers must be a whole number/],
    [{ consumerMode: 'pull' }, /consumerMode must be one of "push", "poll"/],
    [{ fsync: 'sometimes' }, /fsync must be "always", "never"/],
    [{ mode: 'find-max' }, /needs a findMax section/],
    [{ mode: 'limits', consumers: 1, capacityMode: 'ON_DEMAND' }, /capacityMode must be PROVISIONED/],
    [{ mode: 'limits' }, /needs consumers >= 1/],
    [{ mode: 'limits', consumers: 1, rate: 100 }, /sets its own offered rate/],
    [{ bounds: { p99: 3 } }, /unknown bound "p99"/],
    [{ findMax: { startRate: 10 } }, /findMax.p99MaxMs must be a number/],
    [[], /workload must be an object/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseWorkload(raw, 'bad')).toThrow(WorkloadError);
    expect(() => parseWorkload(raw, 'bad')).toThrow(message);
  });

  it('says which file is broken and why', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'broken.json'), '{ "rate": ');
    expect(() => loadWorkload(path.join(dir, 'broken.json'))).toThrow(/broken.json is not valid JSON/);
    expect(() => loadWorkload(path.join(dir, 'missing.json'))).toThrow(/cannot read workload/);
  });

  it('checks command-line overrides like file fields', () => {
    const workload = parseWorkload({ rate: 100 }, 'x');
    expect(withOverrides(workload, { rate: 'max', durationSeconds: 3, fsync: undefined })).toMatchObject({
      rate: 'max',
      durationSeconds: 3,
      fsync: 'never',
    });
    expect(withOverrides(workload, { rate: undefined, durationSeconds: undefined })).toEqual(workload);
    expect(() => withOverrides(workload, { durationSeconds: 0 })).toThrow(/durationSeconds must be a number from 0.5/);
  });
});

describe('records', () => {
  const workload = parseWorkload(
    { recordSize: { min: 16, max: 300 }, partitionKeys: { count: 50, distribution: 'zipf', zipfExponent: 1.2 } },
    'r',
  );

  it('are the same for the same producer, sized within bounds, and carry their stamp', () => {
    const a = new RecordSource(workload, 3);
    const b = new RecordSource(workload, 3);
    for (let i = 0; i < 2000; i++) {
      const x = a.next(1000 + i);
      const y = b.next(1000 + i);
      expect(x.partitionKey).toBe(y.partitionKey);
      expect(Buffer.from(x.data).equals(Buffer.from(y.data))).toBe(true);
      expect(x.data.byteLength).toBeGreaterThanOrEqual(16);
      expect(x.data.byteLength).toBeLessThanOrEqual(300);
      expect(stampOf(x.data)).toEqual({ intendedMs: 1000 + i, producer: 3, index: i });
    }
  });

  it('draw zipf keys with the first key the hottest', () => {
    const source = new RecordSource(workload, 0);
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = source.next(0).partitionKey;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const hottest = [...counts.entries()].sort((x, y) => y[1] - x[1])[0]!;
    expect(hottest[0]).toBe('pk-0');
    expect(counts.size).toBeLessThanOrEqual(50);
    expect(counts.get('pk-0')! / 20_000).toBeGreaterThan(0.15);
  });

  it('do not share bytes between records', () => {
    const source = new RecordSource(parseWorkload({ recordSize: { bytes: 1024 * 1024 } }, 'big'), 0);
    const first = source.next(1);
    const second = source.next(2);
    expect(stampOf(first.data).intendedMs).toBe(1);
    expect(stampOf(second.data).intendedMs).toBe(2);
    expect(() => stampOf(new Uint8Array(STAMP_BYTES - 1))).toThrow(/every record sent has at least 16/);
  });
});

describe('recorder', () => {
  const batch = (firstIntendedMs: number, stepMs: number, count: number, bytes: number) => ({ firstIntendedMs, stepMs, count, bytes });

  it('at a rate counts only records intended inside the window, whenever they are acknowledged', () => {
    const recorder = new Recorder(1000, 3000, false);
    recorder.acknowledge(1500, batch(900, 50, 4, 400), []); // 900, 950 warm-up; 1000, 1050 measured
    recorder.acknowledge(9000, batch(2990, 20, 2, 200), []); // 2990 measured (6 s late), 3010 after the end
    expect(recorder.acknowledged).toBe(3);
    expect(recorder.acknowledgedAll).toBe(6);
    expect(recorder.publish.totalCount).toBe(3);
    expect(recorder.publish.maxValue).toBeGreaterThanOrEqual(6_000_000);
    const timeline = recorder.timeline();
    expect(timeline).toHaveLength(9);
    expect(timeline[0]).toMatchObject({ t: 1, recordsPerSec: 2 });
    expect(timeline[8]).toMatchObject({ t: 9, recordsPerSec: 1 });
    expect(timeline[4]).toMatchObject({ recordsPerSec: 0, endToEndP99Us: null });
    // The last measured record came back 6 s after the window's end: rates divide by 8 s.
    expect(recorder.measuredSeconds()).toBe(8);
  });

  it('at "max" counts what was acknowledged during the window, and divides by the window', () => {
    const recorder = new Recorder(1000, 3000, true);
    recorder.acknowledge(1200, batch(500, 0, 10, 1000), []); // warm-up records, acknowledged in the window
    recorder.acknowledge(2500, batch(2000, 0, 10, 1000), [1, 2]);
    recorder.acknowledge(3500, batch(2900, 0, 10, 1000), []); // sent in the window, acknowledged after it
    expect(recorder.acknowledged).toBe(18);
    expect(recorder.acknowledgedBytes).toBe(1800);
    expect(recorder.publish.totalCount).toBe(20);
    expect(recorder.measuredSeconds()).toBe(2);
  });

  it('leaves throttled records out of throughput by position, and counts errors by interval', () => {
    const recorder = new Recorder(0, 10_000, false);
    recorder.acknowledge(500, batch(100, 1, 10, 1000), [0, 3, 5, 9]);
    recorder.fail(1500, new RangeError('boom'));
    recorder.receive(600, 100);
    expect(recorder.acknowledged).toBe(6);
    expect(recorder.acknowledgedBytes).toBe(600);
    expect(recorder.throttled).toBe(4);
    expect(recorder.firstError).toBe('RangeError: boom');
    expect(recorder.recentP99Us(1500, 'endToEnd')).not.toBeNull();
    expect(recorder.recentP99Us(2500, 'endToEnd')).toBeNull();
    const [first, second] = recorder.timeline();
    expect(first).toMatchObject({ errors: 0, endToEndP50Us: expect.any(Number) });
    expect(second).toMatchObject({ errors: 1 });
  });

  it("records a latency beyond the histograms' 100 s at 100 s instead of throwing", () => {
    const recorder = new Recorder(0, 1000, false);
    recorder.acknowledge(500_000, batch(0, 1, 1, 100), []);
    expect(recorder.publish.maxValue).toBeGreaterThanOrEqual(99_000_000);
  });
});

describe('ledger', () => {
  it('tells lost, duplicated and never-acknowledged records apart, per consumer', () => {
    const ledger = new Ledger(2, 2);
    ledger.acknowledge(0, 0, 100, [7]);
    ledger.acknowledge(1, 0, 50, []);
    for (let i = 0; i < 100; i++) if (i !== 42) ledger.receive(0, 0, i); // 7 was throttled yet came back; 42 lost
    for (let i = 0; i < 50; i++) ledger.receive(0, 1, i);
    for (let i = 0; i < 100; i++) if (i !== 7) ledger.receive(1, 0, i);
    for (let i = 0; i < 50; i++) ledger.receive(1, 1, i);
    ledger.receive(1, 1, 3);
    expect(ledger.counts()).toEqual({ lost: 1, duplicates: 1, unacknowledged: 1 });
    expect(() => ledger.receive(0, 5, 0)).toThrow(/producer 5, which does not exist/);
  });

  it('grows past its first block of record numbers', () => {
    const ledger = new Ledger(1, 1);
    ledger.acknowledge(0, 0, 100_000, []);
    for (let i = 0; i < 100_000; i += 2) ledger.receive(0, 0, i);
    expect(ledger.counts().lost).toBe(50_000);
  });
});
