import { describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { HOUR_MS, type LogOptions } from '../../src/log/log_config.js';
import type { LogRecord } from '../../src/log/record_batch.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the log behaves like a plain array of records through any mix of operations.
// Method: seeded random operations (append, read, lookup by time, clock moves, clean reopen,
// retention) applied to the log and to an in-memory oracle, comparing every answer.

interface OracleRecord {
  readonly key: string;
  readonly data: Buffer;
  readonly hashKey: Buffer | undefined;
  readonly timestampMs: number;
}

const KEY_ALPHABET = ['a', 'z', '0', '-', 'é', '東', '😀'];

function randomRecord(random: () => number): LogRecord {
  const keyLength = 1 + Math.floor(random() * 12);
  const key = Array.from({ length: keyLength }, () => KEY_ALPHABET[Math.floor(random() * KEY_ALPHABET.length)]).join('');
  const data = Buffer.alloc(Math.floor(random() ** 3 * 3000));
  for (let i = 0; i < data.length; i += 97) data[i] = Math.floor(random() * 256);
  const hashKey = random() < 0.2 ? Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256))) : undefined;
  return { partitionKey: key, data, explicitHashKey: hashKey };
}

async function runModel(seed: number, steps: number): Promise<void> {
  const random = seededRandom(seed);
  const dir = tempDir();
  let now = 1_700_000_000_000;
  const options: Partial<LogOptions> = {
    clock: () => now,
    segmentBytes: 4096 + Math.floor(random() * 16_384),
    indexIntervalBytes: 64 + Math.floor(random() * 2048),
    segmentAgeMs: 2 * HOUR_MS,
    fsync: random() < 0.5 ? 'never' : 'always',
    retentionCheckIntervalMs: 0,
  };
  let log = await Log.open(dir, options);
  const oracle: Array<OracleRecord | undefined> = [];
  const at = (label: string): string => `seed ${seed}, ${label}`;
  try {
    for (let step = 0; step < steps; step++) {
      const choice = random();
      if (choice < 0.45) {
        const records = Array.from({ length: 1 + Math.floor(random() * 20) }, () => randomRecord(random));
        const result = await log.append(records);
        expect(result.baseOffset, at(`step ${step} append`)).toBe(oracle.length);
        for (const r of records)
          oracle.push({
            key: r.partitionKey,
            data: Buffer.from(r.data),
            hashKey: r.explicitHashKey === undefined ? undefined : Buffer.from(r.explicitHashKey),
            timestampMs: result.timestampMs,
          });
      } else if (choice < 0.75) {
        checkRead(log, oracle, random, at(`step ${step} read`));
      } else if (choice < 0.85) {
        checkTimeLookup(log, oracle, random, at(`step ${step} time lookup`));
      } else if (choice < 0.93) {
        now += Math.floor(random() * 3 * HOUR_MS);
      } else if (choice < 0.97) {
        await log.close();
        log = await Log.open(dir, options);
        expect(log.recovery.clean, at(`step ${step} reopen`)).toBe(true);
        expect(log.endOffset, at(`step ${step} reopen`)).toBe(oracle.length);
      } else {
        await log.applyRetention();
        const cutoff = now - 24 * HOUR_MS;
        const start = log.startOffset;
        for (let offset = 0; offset < start; offset++) {
          const record = oracle[offset];
          if (record !== undefined)
            expect(record.timestampMs, at(`step ${step} retention deleted a live record ${offset}`)).toBeLessThan(cutoff);
          oracle[offset] = undefined;
        }
      }
    }
    checkRead(log, oracle, () => 0, at('final full read'));
  } finally {
    await log.close();
  }
}

function checkRead(log: Log, oracle: Array<OracleRecord | undefined>, random: () => number, label: string): void {
  const start = log.startOffset;
  expect(log.endOffset, label).toBe(oracle.length);
  if (start === oracle.length) return;
  const from = start + Math.floor(random() * (oracle.length - start));
  const maxRecords = 1 + Math.floor(random() * 200);
  const { records, nextOffset } = log.readRecords(from, maxRecords, 1 + Math.floor(random() * 64 * 1024));
  expect(records.length, label).toBeGreaterThan(0);
  expect(records.length, label).toBeLessThanOrEqual(maxRecords);
  expect(nextOffset, label).toBe(records.at(-1)!.offset + 1);
  records.forEach((record, i) => {
    const expected = oracle[from + i]!;
    expect(record.offset, label).toBe(from + i);
    expect(record.partitionKey, label).toBe(expected.key);
    expect(record.timestampMs, label).toBe(expected.timestampMs);
    expect(record.data.equals(expected.data), `${label}: data of ${record.offset}`).toBe(true);
    expect(record.explicitHashKey?.toString('hex'), label).toBe(expected.hashKey?.toString('hex'));
  });
}

function checkTimeLookup(log: Log, oracle: Array<OracleRecord | undefined>, random: () => number, label: string): void {
  const live = oracle.slice(log.startOffset);
  const first = live[0]?.timestampMs ?? 1_700_000_000_000;
  const last = live.at(-1)?.timestampMs ?? first;
  const target = first - 1000 + Math.floor(random() * (last - first + 2000));
  const index = live.findIndex((record) => record!.timestampMs >= target);
  const expected = index < 0 ? oracle.length : log.startOffset + index;
  expect(log.offsetForTimestamp(target), `${label}: time ${target}`).toBe(expected);
}

describe('Log against an in-memory oracle', () => {
  it('agrees through seeded random operations', async () => {
    const seed = testSeed();
    for (let run = 0; run < 4; run++) await runModel(seed + run, 300);
  });
});
