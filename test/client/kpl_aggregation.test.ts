import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KPL_MAGIC, aggregate, deaggregate, type UserRecord } from '../../src/client/kpl_aggregation.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: the KPL aggregate is byte-exact (magic, the protobuf with its key tables, the MD5 of the
// protobuf bytes), deaggregation follows the KCL's rules (anything that is not a whole, valid
// aggregate passes through untouched), and the AWS Labs library (aws-kinesis-agg) reads what we
// write and we read what it writes. Method: bytes written out by hand from the format, an MD5
// from node:crypto, seeded random records and byte flips, the real aws-kinesis-agg.

interface AwsAggRecord {
  readonly partitionKey: string;
  readonly explicitPartitionKey?: string;
  readonly subSequenceNumber: number;
  readonly data: string;
}
interface AwsAgg {
  aggregate(
    records: Array<{ partitionKey: string; explicitHashKey?: string; data: Buffer }>,
    onReady: (encoded: { partitionKey: string; explicitHashKey?: string; data: Buffer }, done: (error?: Error) => void) => void,
    afterPut: () => void,
    onError: (error: Error) => void,
  ): void;
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    checksums: boolean,
    done: (error: Error | null, records?: AwsAggRecord[]) => void,
  ): void;
}
const awsAgg = createRequire(import.meta.url)('aws-kinesis-agg') as AwsAgg;

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const md5 = (body: Uint8Array): Uint8Array => new Uint8Array(createHash('md5').update(body).digest());

function framed(body: Uint8Array): Uint8Array {
  return Uint8Array.from([...KPL_MAGIC, ...body, ...md5(body)]);
}

const SAMPLE: UserRecord[] = [
  { partitionKey: 'a', data: text('x') },
  { partitionKey: 'b', explicitHashKey: '1', data: text('yz') },
  { partitionKey: 'a', data: new Uint8Array(0) },
];
// partition_key_table "a", "b"; explicit_hash_key_table "1"; then the three records.
const SAMPLE_BODY = bytes(
  ...[0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62, 0x12, 0x01, 0x31],
  ...[0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, 0x78],
  ...[0x1a, 0x08, 0x08, 0x01, 0x10, 0x00, 0x1a, 0x02, 0x79, 0x7a],
  ...[0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00],
);

function randomRecords(random: () => number): UserRecord[] {
  const keys = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => `key-${i}-${'é'.repeat(Math.floor(random() * 3))}`);
  return Array.from({ length: 1 + Math.floor(random() * 40) }, () => {
    const data = Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256));
    const partitionKey = keys[Math.floor(random() * keys.length)]!;
    return random() < 0.3
      ? { partitionKey, explicitHashKey: String(BigInt(Math.floor(random() * 2 ** 52)) ** 2n), data }
      : { partitionKey, data };
  });
}

const plain = (records: readonly UserRecord[]): object[] =>
  records.map((record) => ({ ...record, data: Buffer.from(record.data).toString('hex') }));

describe('KPL aggregation', () => {
  it('writes the format byte for byte: magic, key tables in order of first use, records, MD5 of the protobuf', () => {
    expect(Buffer.from(aggregate(SAMPLE)).toString('hex')).toBe(Buffer.from(framed(SAMPLE_BODY)).toString('hex'));
    expect(deaggregate(framed(SAMPLE_BODY))!.map((record) => ({ ...record, data: Buffer.from(record.data).toString() }))).toEqual([
      { partitionKey: 'a', data: 'x', subSequenceNumber: 0 },
      { partitionKey: 'b', explicitHashKey: '1', data: 'yz', subSequenceNumber: 1 },
      { partitionKey: 'a', data: '', subSequenceNumber: 2 },
    ]);
  });

  it('passes through what is not a whole, valid aggregate, as the KCL does', () => {
    const good = aggregate(SAMPLE);
    const badMd5 = good.slice();
    badMd5[badMd5.length - 1]! ^= 1;
    const unparsable = framed(bytes(0x1a, 0x7f, 0x08)); // a record longer than the bytes
    const keyOutsideTable = framed(bytes(0x0a, 0x01, 0x61, 0x1a, 0x05, 0x08, 0x01, 0x1a, 0x01, 0x78)); // index 1 of 1 key
    const hashKeyOutsideTable = framed(bytes(0x0a, 0x01, 0x61, 0x1a, 0x07, 0x08, 0x00, 0x10, 0x00, 0x1a, 0x01, 0x78));
    const noData = framed(bytes(0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x00));
    for (const blob of [
      text('plain data'),
      new Uint8Array(0),
      KPL_MAGIC,
      framed(new Uint8Array(0)).subarray(0, 20),
      badMd5,
      unparsable,
      keyOutsideTable,
      hashKeyOutsideTable,
      noData,
    ])
      expect(deaggregate(blob)).toBeNull();
  });

  it('skips fields it does not know (tags), as proto2 readers do', () => {
    // Record with a tag (field 4: key "t"): 08 00 1a 01 78 22 03 0a 01 74
    const withTag = framed(bytes(0x0a, 0x01, 0x61, 0x1a, 0x0a, 0x08, 0x00, 0x1a, 0x01, 0x78, 0x22, 0x03, 0x0a, 0x01, 0x74));
    expect(deaggregate(withTag)).toEqual([{ partitionKey: 'a', data: text('x'), subSequenceNumber: 0 }]);
  });

  const seed = testSeed();
  it(`round-trips seeded random records, and no flipped byte makes it throw (seed ${seed})`, () => {
    const random = seededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const records = randomRecords(random);
      const blob = aggregate(records);
      const back = deaggregate(blob);
      expect(plain(back!), `seed ${seed} round ${round}`).toEqual(plain(records.map((record, i) => ({ ...record, subSequenceNumber: i }))));
      const damaged = blob.slice();
      const at = Math.floor(random() * damaged.length);
      damaged[at]! ^= 1 + Math.floor(random() * 255);
      expect(() => deaggregate(damaged), `seed ${seed} round ${round}, byte ${at}`).not.toThrow();
      if (at >= KPL_MAGIC.length) expect(deaggregate(damaged), `seed ${seed} round ${round}, byte ${at}`).toBeNull(); // the MD5 catches it
    }
  });

  it('reads what aws-kinesis-agg writes, record for record', async () => {
    const random = seededRandom(seed);
    const records = randomRecords(random).map(({ explicitHashKey, ...record }) => ({
      ...record,
      ...(explicitHashKey === undefined ? {} : { explicitHashKey }),
      data: Buffer.from(record.data),
    }));
    const encoded: Buffer[] = [];
    await new Promise<void>((resolve, reject) =>
      awsAgg.aggregate(
        records.map((record) => ({ ...record })),
        (record, done) => {
          encoded.push(record.data);
          done();
        },
        resolve,
        reject,
      ),
    );
    const ours = encoded.flatMap((blob) => deaggregate(blob) ?? []);
    expect(plain(ours.map(({ subSequenceNumber: _, ...record }) => record))).toEqual(plain(records));
  });

  it('writes what aws-kinesis-agg reads, record for record', () => {
    const random = seededRandom(seed + 1);
    const records = randomRecords(random);
    let theirs: AwsAggRecord[] = [];
    const outer = { data: Buffer.from(aggregate(records)).toString('base64'), partitionKey: 'a', sequenceNumber: '1' };
    awsAgg.deaggregateSync(outer, true, (error, out) => {
      if (error) throw error;
      theirs = out!;
    });
    // aws-kinesis-agg reads an absent explicit_hash_key_index as 0 (protobufjs' default), so it
    // names the first hash key for records that have none; only those that have one compare.
    const view = (partitionKey: string, sub: number, data: string, hashKey: string | undefined): object => ({
      partitionKey,
      sub,
      data,
      hashKey,
    });
    expect(
      theirs.map((record, i) =>
        view(
          record.partitionKey,
          record.subSequenceNumber,
          Buffer.from(record.data, 'base64').toString('hex'),
          records[i]?.explicitHashKey && record.explicitPartitionKey,
        ),
      ),
    ).toEqual(records.map((record, i) => view(record.partitionKey, i, Buffer.from(record.data).toString('hex'), record.explicitHashKey)));
  });
});
