import { describe, expect, it } from 'vitest';
import { INPUT_SHAPES } from '../../src/streams/input_shapes.js';
import { readInput } from '../../src/streams/input_validation.js';
import { NATIVE_INPUT, checkRequest } from '../../src/streams/request_check.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: the engine boundary's check of PutRecords, which reads plain entries fast, answers
// exactly what the full read against the Kinesis shape answers: the same request back, or the
// same error with the same words. Method: seeded random requests mixing good entries with every
// way an entry can break its shape (types, lengths, patterns, nulls, class instances), each
// checked both ways.

const seed = testSeed();

type Entry = Record<string, unknown>;

function randomEntry(random: () => number): unknown {
  const good: Entry = { PartitionKey: 'k'.repeat(1 + Math.floor(random() * 256)), Data: new Uint8Array(Math.floor(random() * 64)) };
  const faults: Array<() => unknown> = [
    () => ({ ...good, PartitionKey: '' }),
    () => ({ ...good, PartitionKey: 'k'.repeat(257) }),
    () => ({ ...good, PartitionKey: 42 }),
    () => ({ ...good, Data: 'not bytes' }),
    () => ({ ...good, Data: new Uint8Array(1024 * 1024 + 1) }),
    () => ({ ...good, ExplicitHashKey: '12' }),
    () => ({ ...good, ExplicitHashKey: '012' }),
    () => ({ ...good, ExplicitHashKey: null }),
    () => ({ ...good, ExplicitHashKey: 7 }),
    () => Object.assign(Object.create({ inherited: true }), good),
    () => null,
    () => ['a list'],
  ];
  return random() < 0.8 ? good : faults[Math.floor(random() * faults.length)]!();
}

function outcome(check: () => unknown): unknown {
  try {
    return { ok: check() };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe(`checkRequest: PutRecords (seed ${seed})`, () => {
  it('answers as the full read of the shape, for good and broken entries', () => {
    const random = seededRandom(seed);
    for (let round = 0; round < 400; round++) {
      const count = random() < 0.05 ? (random() < 0.5 ? 0 : 501) : 1 + Math.floor(random() * 20);
      const records = Array.from({ length: count }, () => randomEntry(random));
      const streamName = random() < 0.9 ? 'stream' : 'bad name';
      // Each check gets its own copy: the full read may write into the request (nulls removed).
      const request = () => ({
        StreamName: streamName,
        Records: records.map((entry) =>
          entry !== null && typeof entry === 'object' && !Array.isArray(entry) && Object.getPrototypeOf(entry) === Object.prototype
            ? { ...(entry as Entry) }
            : entry,
        ),
      });
      const fast = outcome(() => checkRequest('PutRecords', request()));
      const full = outcome(() => readInput(NATIVE_INPUT, INPUT_SHAPES.PutRecords!, request()));
      expect(fast, `seed ${seed} round ${round}`).toEqual(full);
    }
  });
});
