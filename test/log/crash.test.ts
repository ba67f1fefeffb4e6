import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: under fsync "always", a kill -9 in the middle of appending loses no append that had
// resolved, and recovery leaves a log of whole, contiguous batches.
// Method: a child process appends numbered batches and reports each resolved one; the parent
// SIGKILLs it after a seeded number of reports, reopens the log and checks every reported batch.

const CHILD = fileURLToPath(new URL('./fixtures/append_child.ts', import.meta.url));

interface Acknowledged {
  readonly batch: number;
  readonly baseOffset: number;
  readonly count: number;
}

async function appendUntilKilled(dir: string, killAfter: number): Promise<Acknowledged[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: Acknowledged[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const [batch, baseOffset, count] = line.split(' ').map(Number) as [number, number, number];
      acknowledged.push({ batch, baseOffset, count });
    }
    if (acknowledged.length >= killAfter) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect(signal, `child exited by itself with code ${code}`).toBe('SIGKILL');
  return acknowledged;
}

// The seed is in the test's name so that any failure, a thrown error included, reports it.
const seed = testSeed();

describe('kill -9 while appending', () => {
  it(`loses no acknowledged append, over several seeded kill points (seed ${seed})`, async () => {
    const random = seededRandom(seed);
    for (let round = 0; round < 3; round++) {
      const dir = tempDir();
      const killAfter = 50 + Math.floor(random() * 400);
      const acknowledged = await appendUntilKilled(dir, killAfter);
      const log = await Log.open(dir);
      try {
        const label = `seed ${seed}, round ${round}, killed after ${acknowledged.length} acks`;
        expect(log.recovery.clean, label).toBe(false);
        expect(log.recovery.durableRecordsLost, label).toBe(0);
        const records = log.readRecords(0, 1_000_000, 1 << 30).records;
        expect(
          records.map((r) => r.offset),
          label,
        ).toEqual(records.map((_, i) => i));
        for (const ack of acknowledged) {
          for (let j = 0; j < ack.count; j++) {
            const record = records[ack.baseOffset + j];
            expect(record?.partitionKey, `${label}: batch ${ack.batch} record ${j}`).toBe(`b${ack.batch}-${j}`);
            expect(record!.data.length, `${label}: batch ${ack.batch} record ${j} length`).toBe(50 + ((ack.batch * 31 + j) % 900));
            expect(
              record!.data.every((byte) => byte === ack.batch % 251),
              `${label}: batch ${ack.batch} record ${j} bytes`,
            ).toBe(true);
          }
        }
      } finally {
        await log.close();
      }
    }
  });
});
