import { md5 } from 'js-md5';
import { ProtoReader, ProtoWriter } from './protobuf_wire.js';

/*
 * The KPL's aggregated record (amazon-kinesis-producer, aggregation-format.md): many user records
 * in one Kinesis record, as the KPL writes and the KCL, Firehose and aws-kinesis-agg read it:
 *
 *   magic F3 89 9A C2 | protobuf AggregatedRecord (proto2) | MD5 of the protobuf bytes (16 B)
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 *
 * The wire format is protobuf_wire.ts's, five fields by hand: protobufjs (even its minimal build)
 * doubled the browser bundle (19 to 39 KB gzipped) for them. docs/FORMAT.md specifies the
 * bytes; test/client/kpl_aggregation.test.ts writes them out and checks both directions
 * against aws-kinesis-agg. Browser-safe: no Node module.
 */

export const KPL_MAGIC: Uint8Array = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const MD5_BYTES = 16;

const VARINT = 0;
const LENGTH_DELIMITED = 2;
/** A field's key on the wire: field number << 3 | wire type. */
const tag = (field: number, wireType: number): number => (field << 3) | wireType;

export interface UserRecord {
  readonly partitionKey: string;
  /** A decimal 128-bit hash key; otherwise the MD5 of the partition key routes the record. */
  readonly explicitHashKey?: string | undefined;
  readonly data: Uint8Array;
}

/** A user record unpacked from an aggregate, with its place in it. */
export interface DeaggregatedRecord extends UserRecord {
  /** Its 0-based index in the aggregate: with the outer record's sequence number, its identity. */
  readonly subSequenceNumber: number;
}

/**
 * The aggregated record's bytes. Partition keys and explicit hash keys are stored once each, in
 * tables, in order of first use. The caller decides what goes together (the KPL: records bound
 * for one shard, one record being sent raw rather than aggregated).
 */
export function aggregate(records: readonly UserRecord[]): Uint8Array {
  const keys = new Table();
  const hashKeys = new Table();
  const indexed = records.map((record) => {
    const key = keys.indexOf(record.partitionKey);
    const hashKey = record.explicitHashKey === undefined ? undefined : hashKeys.indexOf(record.explicitHashKey);
    const innerBytes =
      ProtoWriter.uintBytes(1, key) +
      (hashKey === undefined ? 0 : ProtoWriter.uintBytes(2, hashKey)) +
      ProtoWriter.fieldBytes(3, record.data.length);
    return { key, hashKey, data: record.data, innerBytes };
  });
  const bodyBytes =
    keys.bytes.reduce((sum, key) => sum + ProtoWriter.fieldBytes(1, key.length), 0) +
    hashKeys.bytes.reduce((sum, hashKey) => sum + ProtoWriter.fieldBytes(2, hashKey.length), 0) +
    indexed.reduce((sum, record) => sum + ProtoWriter.fieldBytes(3, record.innerBytes), 0);
  const out = new Uint8Array(KPL_MAGIC.length + bodyBytes + MD5_BYTES);
  out.set(KPL_MAGIC, 0);
  const writer = new ProtoWriter(out.subarray(KPL_MAGIC.length, KPL_MAGIC.length + bodyBytes));
  for (const key of keys.bytes) writer.bytes(1, key);
  for (const hashKey of hashKeys.bytes) writer.bytes(2, hashKey);
  for (const record of indexed) {
    writer.header(3, record.innerBytes);
    writer.uint(1, record.key);
    if (record.hashKey !== undefined) writer.uint(2, record.hashKey);
    writer.bytes(3, record.data);
  }
  if (writer.written !== bodyBytes) throw new Error('the aggregate was sized wrong'); // a bug here, not bad input
  const body = out.subarray(KPL_MAGIC.length, KPL_MAGIC.length + bodyBytes);
  out.set(md5.array(body), KPL_MAGIC.length + bodyBytes);
  return out;
}

/**
 * The user records of an aggregated record, or null when `data` is not one: as the KCL decides,
 * an aggregate has the magic, more than 16 bytes after it, an MD5 that matches and a protobuf
 * that parses (here also: every index inside its table). Anything else is a plain record, to be
 * passed on untouched.
 */
export function deaggregate(data: Uint8Array): DeaggregatedRecord[] | null {
  if (!hasMagic(data) || data.length - KPL_MAGIC.length <= MD5_BYTES) return null;
  const body = data.subarray(KPL_MAGIC.length, data.length - MD5_BYTES);
  if (!sameBytes(md5.array(body), data.subarray(data.length - MD5_BYTES))) return null;
  try {
    return parseAggregate(body);
  } catch {
    return null; // a protobuf that does not parse: not an aggregate after all
  }
}

/** Whether the bytes start with the KPL magic (a cheap first look before deaggregate). */
export function hasMagic(data: Uint8Array): boolean {
  return data.length >= KPL_MAGIC.length && KPL_MAGIC.every((byte, i) => data[i] === byte);
}

interface RawRecord {
  key: number;
  hashKey: number | undefined;
  data: Uint8Array | undefined;
}

function parseAggregate(body: Uint8Array): DeaggregatedRecord[] {
  const reader = new ProtoReader(body);
  const keys: string[] = [];
  const hashKeys: string[] = [];
  const raw: RawRecord[] = [];
  while (!reader.done) {
    const field = reader.tag();
    if (field === tag(1, LENGTH_DELIMITED)) keys.push(reader.string());
    else if (field === tag(2, LENGTH_DELIMITED)) hashKeys.push(reader.string());
    else if (field === tag(3, LENGTH_DELIMITED)) raw.push(parseRecord(reader.bytes()));
    else reader.skip(field & 7);
  }
  return raw.map((record, subSequenceNumber) => {
    const partitionKey = keys[record.key];
    const explicitHashKey = record.hashKey === undefined ? undefined : hashKeys[record.hashKey];
    if (partitionKey === undefined || record.data === undefined || (record.hashKey !== undefined && explicitHashKey === undefined))
      throw new Error(`record ${subSequenceNumber} names a key outside the tables, or has no data`);
    return { partitionKey, ...(explicitHashKey === undefined ? {} : { explicitHashKey }), data: record.data, subSequenceNumber };
  });
}

function parseRecord(bytes: Uint8Array): RawRecord {
  const reader = new ProtoReader(bytes);
  const record: RawRecord = { key: -1, hashKey: undefined, data: undefined };
  while (!reader.done) {
    const field = reader.tag();
    if (field === tag(1, VARINT)) record.key = reader.index();
    else if (field === tag(2, VARINT)) record.hashKey = reader.index();
    else if (field === tag(3, LENGTH_DELIMITED)) record.data = reader.bytes();
    else reader.skip(field & 7); // tags (field 4): unused by the KPL and the KCL
  }
  return record;
}

function sameBytes(a: readonly number[], b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const encoder = new TextEncoder();

/** Strings in order of first use, as UTF-8, each with its index. */
class Table {
  readonly bytes: Uint8Array[] = [];
  private readonly index = new Map<string, number>();

  indexOf(value: string): number {
    let found = this.index.get(value);
    if (found === undefined) {
      found = this.bytes.length;
      this.bytes.push(encoder.encode(value));
      this.index.set(value, found);
    }
    return found;
  }
}
