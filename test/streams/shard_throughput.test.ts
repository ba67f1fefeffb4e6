/*
 * Goal: a shard admits what Kinesis would: per-shard write rates within 5% of 1 MiB/s and 1,000
 * records/s (4 MiB/s and 4,000 records/s ON_DEMAND), GetRecords at 5 calls/s and 2 MiB/s with the
 * bytes of a large read blocking the reads after it, 2 MiB/s per enhanced fan-out consumer, and
 * one second's burst after idling.
 * Method: everything runs on a simulated clock. Sustained load is offered in 10 ms steps for
 * 20 s and the admitted rate is measured over the last 10 s, after the initial burst has been
 * spent; edge cases (per-entry decisions, bursts, a clock stepping backwards) are checked at
 * exact instants against balances worked out by hand.
 */
import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import {
  CONSUMERS_PER_STREAM_MAX,
  ON_DEMAND_WRITE_BYTES_PER_SEC,
  ON_DEMAND_WRITE_RECORDS_PER_SEC,
  PROVISIONED_WRITE_BYTES_PER_SEC,
  PROVISIONED_WRITE_RECORDS_PER_SEC,
  READ_BYTES_PER_SEC,
  READ_CALLS_PER_SEC,
  SUBSCRIPTION_BYTES_PER_SEC,
} from '../../src/limits.js';
import { ShardThroughput, type ShardCapacityMode } from '../../src/streams/shard_throughput.js';

const KIB_BYTES = 1024;
const MIB_BYTES = 1024 * 1024;
const STEP_MS = 10;
const LOAD_DURATION_MS = 20_000;
const MEASURE_FROM_MS = 10_000;

interface Load {
  readonly recordBytes: number;
  readonly offeredRecordsPerSec: number;
}

interface Admitted {
  readonly offeredRecords: number;
  readonly admittedRecords: number;
  readonly bytesPerSec: number;
  readonly recordsPerSec: number;
}

/**
 * Offers `load` in one PutRecords batch per 10 ms step for 20 s (fractional records carried to
 * the next step) and returns the admitted rates over the last 10 s.
 */
function offer(shard: ShardThroughput, load: Load, startMs = 0): Admitted {
  let owed = 0;
  let offeredRecords = 0;
  let admittedRecords = 0;
  let measuredBytes = 0;
  let measuredRecords = 0;
  for (let t = 0; t < LOAD_DURATION_MS; t += STEP_MS) {
    owed += (load.offeredRecordsPerSec * STEP_MS) / 1000;
    const count = Math.floor(owed);
    owed -= count;
    const decisions = shard.admitRecords(new Array<number>(count).fill(load.recordBytes), startMs + t);
    const admitted = decisions.filter((d) => d).length;
    offeredRecords += count;
    admittedRecords += admitted;
    if (t >= MEASURE_FROM_MS) {
      measuredBytes += admitted * load.recordBytes;
      measuredRecords += admitted;
    }
  }
  const seconds = (LOAD_DURATION_MS - MEASURE_FROM_MS) / 1000;
  return { offeredRecords, admittedRecords, bytesPerSec: measuredBytes / seconds, recordsPerSec: measuredRecords / seconds };
}

function expectWithin5Percent(actual: number, limit: number): void {
  expect(Math.abs(actual / limit - 1)).toBeLessThan(0.05);
}

describe('shard write limits', () => {
  const overload: Array<[string, ShardCapacityMode, number, number, number]> = [
    // [name, mode, record bytes, bytes/s limit, records/s limit]
    [
      'PROVISIONED, 4 KiB records (bytes-bound)',
      'PROVISIONED',
      4 * KIB_BYTES,
      PROVISIONED_WRITE_BYTES_PER_SEC,
      PROVISIONED_WRITE_RECORDS_PER_SEC,
    ],
    ['PROVISIONED, 10-byte records (count-bound)', 'PROVISIONED', 10, PROVISIONED_WRITE_BYTES_PER_SEC, PROVISIONED_WRITE_RECORDS_PER_SEC],
    ['ON_DEMAND, 4 KiB records (bytes-bound)', 'ON_DEMAND', 4 * KIB_BYTES, ON_DEMAND_WRITE_BYTES_PER_SEC, ON_DEMAND_WRITE_RECORDS_PER_SEC],
    ['ON_DEMAND, 10-byte records (count-bound)', 'ON_DEMAND', 10, ON_DEMAND_WRITE_BYTES_PER_SEC, ON_DEMAND_WRITE_RECORDS_PER_SEC],
  ];

  it.each(overload)(
    'admits within 5%% of the binding limit under twice the load: %s',
    (_name, mode, recordBytes, bytesPerSec, recordsPerSec) => {
      const bytesBound = recordBytes * recordsPerSec > bytesPerSec;
      const limitRecordsPerSec = bytesBound ? bytesPerSec / recordBytes : recordsPerSec;
      const shard = new ShardThroughput(mode, 0);
      const admitted = offer(shard, { recordBytes, offeredRecordsPerSec: 2 * limitRecordsPerSec });
      if (bytesBound) expectWithin5Percent(admitted.bytesPerSec, bytesPerSec);
      else expectWithin5Percent(admitted.recordsPerSec, recordsPerSec);
      // Neither limit is ever exceeded over the window (the burst was spent long before it).
      expect(admitted.bytesPerSec).toBeLessThanOrEqual(bytesPerSec);
      expect(admitted.recordsPerSec).toBeLessThanOrEqual(recordsPerSec);
    },
  );

  it('binds on records, by a hair, for 1 KiB records: 1,000 records/s is 1,024,000 bytes/s, under 1 MiB/s', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    const admitted = offer(shard, { recordBytes: KIB_BYTES, offeredRecordsPerSec: 2 * PROVISIONED_WRITE_RECORDS_PER_SEC });
    expectWithin5Percent(admitted.recordsPerSec, PROVISIONED_WRITE_RECORDS_PER_SEC);
    expectWithin5Percent(admitted.bytesPerSec, PROVISIONED_WRITE_BYTES_PER_SEC);
    expect(admitted.bytesPerSec).toBeLessThanOrEqual(PROVISIONED_WRITE_BYTES_PER_SEC);
  });

  it.each<[ShardCapacityMode, number, number]>([
    ['PROVISIONED', 2 * KIB_BYTES, 250],
    ['PROVISIONED', 10, 900],
    ['ON_DEMAND', 4 * KIB_BYTES, 900],
    ['ON_DEMAND', 10, 3900],
  ])('admits every entry of a load below the limit (%s, %i-byte records at %i records/s)', (mode, recordBytes, offeredRecordsPerSec) => {
    const shard = new ShardThroughput(mode, 0);
    const admitted = offer(shard, { recordBytes, offeredRecordsPerSec });
    expect(admitted.offeredRecords).toBeGreaterThan(0);
    expect(admitted.admittedRecords).toBe(admitted.offeredRecords);
  });

  it('decides each entry on its own: a big entry is rejected without paying, a later small one fits', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    // 1 MiB available: 600 KiB fits (424 KiB left), 600 KiB does not, 300 KiB fits (124 KiB left),
    // 200 KiB does not, 100 KiB fits (24 KiB left).
    expect(
      shard.admitRecords(
        [600, 600, 300, 200, 100].map((k) => k * KIB_BYTES),
        0,
      ),
    ).toEqual([true, false, true, false, true]);
    // The rejected entries paid nothing: exactly 24 KiB remain.
    expect(shard.admitRecords([25 * KIB_BYTES, 24 * KIB_BYTES, 1], 0)).toEqual([false, true, false]);
  });

  it('rejects entries once the records balance is spent, whatever their size', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    expect(shard.admitRecords(new Array<number>(500).fill(1), 0).every((d) => d)).toBe(true);
    expect(shard.admitRecords(new Array<number>(500).fill(1), 0).every((d) => d)).toBe(true);
    expect(shard.admitRecords([0, 1], 0)).toEqual([false, false]);
    // One millisecond earns one record at 1,000 records/s.
    expect(shard.admitRecords([1, 1], 1)).toEqual([true, false]);
  });

  it('admits one second of allowance at once after idling, and not more', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    offer(shard, { recordBytes: 4 * KIB_BYTES, offeredRecordsPerSec: 1000 });
    const afterIdleMs = LOAD_DURATION_MS + 60_000;
    const bytes = shard.admitRecords(new Array<number>(300).fill(4 * KIB_BYTES), afterIdleMs);
    expect(bytes.filter((d) => d).length).toBe(MIB_BYTES / (4 * KIB_BYTES));
    expect(bytes.slice(0, 256).every((d) => d)).toBe(true);

    const counted = new ShardThroughput('ON_DEMAND', 0);
    counted.admitRecords(new Array<number>(500).fill(1), 0);
    const admitted = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap(() => counted.admitRecords(new Array<number>(500).fill(1), 60_000));
    expect(admitted.filter((d) => d).length).toBe(ON_DEMAND_WRITE_RECORDS_PER_SEC);
  });

  it('does not mint tokens when the clock steps backwards', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    expect(shard.admitRecords(new Array<number>(256).fill(4 * KIB_BYTES), 10_000).every((d) => d)).toBe(true);
    expect(shard.admitRecords([1], 5_000)).toEqual([false]);
    expect(shard.admitRecords([1], 0)).toEqual([false]);
    // Coming back to the latest time seen earns nothing for the detour either.
    expect(shard.admitRecords([1], 10_000)).toEqual([false]);
    // One millisecond past it earns 1,048.576 bytes.
    expect(shard.admitRecords([1000, 100, 48], 10_001)).toEqual([true, false, true]);

    expect(shard.admitRead(10_001)).toBe(true);
    shard.chargeRead(10 * MIB_BYTES, 10_001);
    expect(shard.admitRead(0)).toBe(false);
    expect(shard.admitRead(13_990)).toBe(false);
    expect(shard.admitRead(14_010)).toBe(true);
  });
});

describe('shard read limits', () => {
  it('admits 5 GetRecords calls per second, shared by every poller of the shard', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    const burst = Array.from({ length: 6 }, () => shard.admitRead(0));
    expect(burst).toEqual([true, true, true, true, true, false]);
    expect(shard.admitRead(199)).toBe(false);
    expect(shard.admitRead(200)).toBe(true);

    // Three pollers, each polling every 10 ms for 10 s: together they get 5 calls per second.
    let admitted = 0;
    for (let t = 1000; t < 11_000; t += STEP_MS) {
      for (let poller = 0; poller < 3; poller++) {
        if (shard.admitRead(t)) {
          admitted++;
          shard.chargeRead(1000, t);
        }
      }
    }
    expect(Math.abs(admitted - 10 * READ_CALLS_PER_SEC)).toBeLessThanOrEqual(READ_CALLS_PER_SEC);
  });

  it('blocks reads for 5 s after a 10 MiB read at the read limit, then reads resume', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    // Spend the 2 MiB burst so the balance is zero, as in a shard read at its limit.
    expect(shard.admitRead(0)).toBe(true);
    shard.chargeRead(READ_BYTES_PER_SEC, 0);
    expect(shard.admitRead(0)).toBe(true);
    shard.chargeRead(10 * MIB_BYTES, 0);
    let firstAdmittedMs = -1;
    for (let t = STEP_MS; t <= 10_000 && firstAdmittedMs < 0; t += STEP_MS) {
      if (shard.admitRead(t)) firstAdmittedMs = t;
    }
    // 10 MiB at 2 MiB/s, and refilling in 10 ms steps loses nothing to rounding.
    expect(firstAdmittedMs).toBe(5000);
    // Reads then go on at 5 calls/s while they return little (the call bucket refilled to its
    // 5-call burst while the reads were blocked, and 4 of them remain).
    const resumed = Array.from({ length: 1000 }, (_, i) => shard.admitRead(firstAdmittedMs + 10 + i * 10)).filter((d) => d).length;
    expect(resumed).toBeGreaterThanOrEqual(10 * READ_CALLS_PER_SEC);
    expect(resumed).toBeLessThanOrEqual(10 * READ_CALLS_PER_SEC + 4);
  });

  it('blocks reads for 4 s after a 10 MiB read from an idle shard, whose 2 MiB burst pays the first second', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    expect(shard.admitRead(0)).toBe(true);
    shard.chargeRead(10 * MIB_BYTES, 0);
    expect(shard.admitRead(3990)).toBe(false);
    expect(shard.admitRead(4000)).toBe(true);
  });

  it('does not depend on the capacity mode', () => {
    const shard = new ShardThroughput('ON_DEMAND', 0);
    expect(Array.from({ length: 6 }, () => shard.admitRead(0))).toEqual([true, true, true, true, true, false]);
    shard.chargeRead(10 * MIB_BYTES, 0);
    expect(shard.admitRead(3990)).toBe(false);
    expect(shard.admitRead(4000)).toBe(true);
  });
});

describe('enhanced fan-out consumers', () => {
  it('gives each consumer its own 2 MiB/s, charging whole events', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    shard.registerConsumer('a', 0);
    shard.registerConsumer('b', 0);
    expect(shard.admitSubscriptionBytes('a', 10 * MIB_BYTES, 0)).toBe(true);
    expect(shard.admitSubscriptionBytes('a', 1, 1)).toBe(false);
    // b and the shard's own GetRecords limit are untouched by a's debt.
    expect(shard.admitSubscriptionBytes('b', MIB_BYTES, 1)).toBe(true);
    expect(shard.admitRead(1)).toBe(true);
    // a owes 8 MiB after its 2 MiB burst: 4 s at 2 MiB/s.
    expect(shard.admitSubscriptionBytes('a', 1, 3990)).toBe(false);
    expect(shard.admitSubscriptionBytes('a', 1, 4000)).toBe(true);
  });

  it('pushes 2 MiB/s to a consumer under sustained load', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    shard.registerConsumer('a', 0);
    let sentBytes = 0;
    for (let t = 0; t < LOAD_DURATION_MS; t += STEP_MS) {
      if (shard.admitSubscriptionBytes('a', 64 * KIB_BYTES, t) && t >= MEASURE_FROM_MS) sentBytes += 64 * KIB_BYTES;
    }
    expectWithin5Percent(sentBytes / ((LOAD_DURATION_MS - MEASURE_FROM_MS) / 1000), SUBSCRIPTION_BYTES_PER_SEC);
  });

  it('keeps a consumer balance across re-registration, so resubscribing earns no new burst', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    shard.registerConsumer('a', 0);
    expect(shard.admitSubscriptionBytes('a', 10 * MIB_BYTES, 0)).toBe(true);
    shard.registerConsumer('a', 10);
    expect(shard.admitSubscriptionBytes('a', 1, 20)).toBe(false);
    expect(shard.consumerCount).toBe(1);
  });

  it(`holds at most ${CONSUMERS_PER_STREAM_MAX} consumers, and refuses unknown ones`, () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    for (let i = 0; i < CONSUMERS_PER_STREAM_MAX; i++) shard.registerConsumer(`c${i}`, 0);
    expect(() => shard.registerConsumer('one-too-many', 0)).toThrow(AssertionError);
    shard.deregisterConsumer('c0');
    shard.registerConsumer('one-too-many', 0);
    expect(shard.consumerCount).toBe(CONSUMERS_PER_STREAM_MAX);
    expect(() => shard.admitSubscriptionBytes('c0', 1, 0)).toThrow(AssertionError);
  });
});

describe('capacity mode switches', () => {
  it('switching to ON_DEMAND mints no burst, then earns at 4 MiB/s', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    expect(shard.admitRecords(new Array<number>(256).fill(4 * KIB_BYTES), 0).every((d) => d)).toBe(true);
    shard.setMode('ON_DEMAND', 0);
    expect(shard.mode).toBe('ON_DEMAND');
    expect(shard.admitRecords([1], 0)).toEqual([false]);
    const admitted = shard.admitRecords(new Array<number>(500).fill(16 * KIB_BYTES), 1000);
    expect(admitted.filter((d) => d).length).toBe(ON_DEMAND_WRITE_BYTES_PER_SEC / (16 * KIB_BYTES));
  });

  it('switching to PROVISIONED clamps the balance to one second of the lower rate', () => {
    const shard = new ShardThroughput('ON_DEMAND', 0);
    shard.setMode('PROVISIONED', 0);
    const admitted = shard.admitRecords(new Array<number>(300).fill(4 * KIB_BYTES), 0);
    expect(admitted.filter((d) => d).length).toBe(PROVISIONED_WRITE_BYTES_PER_SEC / (4 * KIB_BYTES));
  });
});

describe('write utilization', () => {
  it('reads about 1 for a throttled shard and about 0.5 at half the limit, and decays when idle', () => {
    const busy = new ShardThroughput('PROVISIONED', 0);
    offer(busy, { recordBytes: 4 * KIB_BYTES, offeredRecordsPerSec: 2 * 256 });
    expect(busy.utilization(LOAD_DURATION_MS)).toBeGreaterThan(0.95);
    expect(busy.utilization(LOAD_DURATION_MS)).toBeLessThan(1.05);
    expect(busy.utilization(LOAD_DURATION_MS + 60_000)).toBeLessThan(0.01);

    const half = new ShardThroughput('PROVISIONED', 0);
    offer(half, { recordBytes: 10, offeredRecordsPerSec: 500 });
    expect(Math.abs(half.utilization(LOAD_DURATION_MS) - 0.5)).toBeLessThan(0.025);
  });

  it('is measured against the current mode, so switching to ON_DEMAND divides it by four', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    offer(shard, { recordBytes: 10, offeredRecordsPerSec: 2 * PROVISIONED_WRITE_RECORDS_PER_SEC });
    const before = shard.utilization(LOAD_DURATION_MS);
    shard.setMode('ON_DEMAND', LOAD_DURATION_MS);
    expect(shard.utilization(LOAD_DURATION_MS)).toBeCloseTo(before / 4, 10);
  });

  it('is not inflated by a clock that steps backwards', () => {
    const shard = new ShardThroughput('PROVISIONED', 0);
    offer(shard, { recordBytes: 10, offeredRecordsPerSec: 500 });
    const now = shard.utilization(LOAD_DURATION_MS);
    expect(shard.utilization(0)).toBe(now);
  });
});
