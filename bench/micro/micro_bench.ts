/**
 * Micro benchmarks of the hot paths (tinybench), each on a realistic input built once:
 *   - record batch codec (src/log/record_batch.ts, src/engine/put_staging.ts): 500 x 100 B, and
 *     the MD5 check of a binary PUT's hash keys (src/engine/hash_key_check.ts) on its own;
 *   - wire codec (src/net/protocol.ts, src/net/messages/put.ts): a PUT of 500 x 100 B built as
 *     the producer builds it, and decoded as the server does;
 *   - xxh64 checksum (src/log/checksum.ts) over 100 B, 4 KiB and 1 MiB;
 *   - sparse offset index lookup (src/index/offset_index.ts), near the tail and at random;
 *   - hash routing: MD5 of partition keys (native md5Many, node:crypto, js-md5) and routeWords;
 *   - sequence numbers (src/streams/sequence_number.ts);
 *   - the Kinesis HTTP API's request path (src/net/kinesis): a PutRecords of 500 x 100 B in
 *     JSON, parsed, and parsed then read against its input shape (validation, base64 decoding).
 *
 * Usage: npm run bench:micro [-- --json <file>]
 * Environment: MICRO_TIME_MS (400): time per benchmark; warm-up takes a quarter of it more.
 *
 * Prints the configuration and environment, one table row per benchmark, and one JSON object
 * with every figure as the last line of stdout. MB = 10^6 bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { md5 } from 'js-md5';
import { Bench, type FnReturnedObject, type Task } from 'tinybench';
import { HashKeys } from '../../src/client/hash_keys.js';
import { OffsetIndex } from '../../src/index/offset_index.js';
import { checksum } from '../../src/log/checksum.js';
import { BatchBuilder, forEachRecord, verifyBatch, type LogRecord } from '../../src/log/record_batch.js';
import { decodePut, PutFrameBuilder } from '../../src/net/messages/put.js';
import { INPUT_SHAPES } from '../../src/streams/input_shapes.js';
import { readInput } from '../../src/streams/input_validation.js';
import { JSON_FORMAT } from '../../src/net/kinesis/wire.js';
import { FrameReader } from '../../src/net/protocol.js';
import { HASH_KEY_WORDS, HashKeyRouter, initialHashKeyRanges, type HashKeyRange } from '../../src/streams/hash_key.js';
import { hashKeyOf, hashKeysOf } from '../../src/native/md5_keys.js';
import { PutStaging, type PutRecordsRequestEntry } from '../../src/engine/put_staging.js';
import { checkHashKeys } from '../../src/engine/hash_key_check.js';
import { SequenceNumberRun, decodeSequenceNumber, encodeSequenceNumber } from '../../src/streams/sequence_number.js';
import { seededRandom } from '../../test/helpers/random.js';
import { KIB, MB, MIB, echoEnvironment, environment, envNumber, finish, jsonPathArg, patternBytes } from '../bench_common.js';

const RECORDS_PER_PUT = 500;
const RECORD_DATA_BYTES = 100;
/** Producers reuse keys: 500 keys a PUT drawn from this many. */
const PARTITION_KEY_COUNT = 10_000;
const STREAM_NAME = 'orders';
const SHARD_COUNT = 16;
/** A 128 MiB segment (the default) with an index entry every 4 KiB: the densest index. */
const INDEX_ENTRY_COUNT = (128 * MIB) / (4 * KIB);
/** 4 KiB of 100-byte records (118 bytes each on disk) between entries. */
const INDEX_OFFSET_STEP = 35;
/** Tail lookups stay in the index's warm 8 KiB (1,024 entries of 8 bytes): see sparse_index.ts. */
const INDEX_TAIL_ENTRIES = 1024;
/** Targets cycled through by lookups: a power of two, so the cycle is a mask. */
const LOOKUP_TARGET_COUNT = 4096;
const SEED = 20_240_601;
/** Calls under ~1 us are timed this many at a time: one timer read costs ~30-50 ns here. */
const GROUP_CALLS = 100;

interface MicroCase {
  readonly name: string;
  /** What one call handles, for the derived rate: `items` of `unit` and `bytes` bytes. */
  readonly items: number;
  readonly unit: string;
  readonly bytes: number;
  /** Calls per sample (see GROUP_CALLS); 1 times each call on its own. */
  readonly group: number;
  readonly note?: string;
  readonly run: () => void;
}

interface MicroResult {
  readonly name: string;
  readonly opsPerSec: number;
  readonly meanNs: number;
  readonly p99Ns: number;
  readonly samples: number;
  readonly callsPerSample: number;
  readonly itemsPerSec: number;
  readonly unit: string;
  readonly mbPerSec: number | null;
  readonly note?: string;
}

/** Results go here so that the JIT cannot drop a call whose value is unused. */
let sink = 0;

interface Inputs {
  readonly keys: readonly string[];
  readonly records: readonly LogRecord[];
  readonly entries: readonly PutRecordsRequestEntry[];
  /** The records as a sealed batch, and as a PUT frame (a copy: the builder reuses its buffer). */
  readonly batch: Buffer;
  readonly putFrame: Uint8Array;
}

function buildInputs(): Inputs {
  const random = seededRandom(SEED);
  const data = patternBytes(RECORD_DATA_BYTES * RECORDS_PER_PUT);
  const keys = Array.from({ length: RECORDS_PER_PUT }, () => `user-${Math.floor(random() * PARTITION_KEY_COUNT)}`);
  const records = keys.map((partitionKey, i) => ({
    partitionKey,
    data: data.subarray(i * RECORD_DATA_BYTES, (i + 1) * RECORD_DATA_BYTES),
  }));
  const builder = new BatchBuilder();
  builder.encode(records);
  const batch = Buffer.from(builder.seal(0, Date.now()));
  const hashKeys = new HashKeys();
  const put = new PutFrameBuilder(STREAM_NAME);
  for (const record of records) put.add(record.partitionKey, record.data, hashKeys.of(record.partitionKey));
  return {
    keys,
    records,
    entries: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
    batch,
    putFrame: put.finish(1).slice(),
  };
}

function batchCases(inputs: Inputs): MicroCase[] {
  const { records, entries, batch, putFrame } = inputs;
  const per = { items: RECORDS_PER_PUT, unit: 'records', bytes: batch.length, group: 1 };
  const builder = new BatchBuilder();
  const staging = new PutStaging();
  const put = decodePut(new FrameReader(putFrame));
  assert.notEqual(verifyBatch(batch, 0, batch.length), null);
  staging.stageEncoded(put.records, put.recordCount, put.hashKeys);
  assert.equal(staging.count, RECORDS_PER_PUT);
  const encode = (): void => {
    builder.encode(records);
    sink += builder.seal(7, 1).length;
  };
  const stage = (): void => {
    staging.stage(entries);
    sink += staging.count;
  };
  const stageEncoded = (): void => {
    staging.stageEncoded(put.records, put.recordCount, put.hashKeys);
    sink += staging.count;
  };
  // A staging of its own: the other cases restage `staging` between samples.
  const checked = new PutStaging();
  checked.stageEncoded(put.records, put.recordCount, put.hashKeys);
  const checkKeys = (): void => {
    checkHashKeys(checked.bytes, checked.recordStarts, checked.count, checked.hashKeyWords);
    sink += checked.count;
  };
  return [
    { ...per, name: 'batch encode+seal', note: 'BatchBuilder.encode + seal (xxh64), as Log.append', run: encode },
    {
      ...per,
      name: 'batch verify',
      note: 'verifyBatch: header, xxh64, records fill it (recovery, verify task)',
      run: () => void (sink += verifyBatch(batch, 0, batch.length)!.recordCount),
    },
    {
      ...per,
      name: 'batch forEachRecord',
      note: 'decode every record: key string, data view',
      run: () => forEachRecord(batch, 0, 0, (record) => void (sink += record.data.length)),
    },
    { ...per, name: 'put_staging stage', note: 'PutStaging.stage: HTTP API path, encode + native MD5', run: stage },
    {
      ...per,
      name: 'put_staging stageEncoded',
      note: 'PutStaging.stageEncoded: binary PUT path, validate in place, MD5 check of the hash keys included',
      run: stageEncoded,
    },
    {
      ...per,
      name: 'put_staging checkHashKeys',
      note: 'the MD5 check alone (native md5Many + compare): stageEncoded without it costs the difference',
      run: checkKeys,
    },
  ];
}

function wireCases(inputs: Inputs): MicroCase[] {
  const { records, putFrame } = inputs;
  const hashKeys = new HashKeys();
  const builder = new PutFrameBuilder(STREAM_NAME);
  const build = (): void => {
    builder.reset(STREAM_NAME);
    for (const record of records) builder.add(record.partitionKey, record.data, hashKeys.of(record.partitionKey));
    sink += builder.finish(2).length;
  };
  const decode = (): void => void (sink += decodePut(new FrameReader(putFrame)).recordCount);
  return [
    {
      name: 'wire PUT build (client)',
      items: RECORDS_PER_PUT,
      unit: 'records',
      bytes: putFrame.length,
      group: 1,
      note: 'HashKeys.of (cache warm) + PutFrameBuilder.add/finish: the body of ShardlineClient.addRecord, which needs a connection',
      run: build,
    },
    // No MB/s: decoding hands out views of the frame, so bytes per second would mean nothing.
    {
      name: 'wire PUT decode (server)',
      items: RECORDS_PER_PUT,
      unit: 'records',
      bytes: 0,
      group: GROUP_CALLS,
      note: 'FrameReader + decodePut (views, no copy); the session handler is private',
      run: decode,
    },
  ];
}

function checksumCases(): MicroCase[] {
  const sizes = [
    { label: '100 B', bytes: 100, group: GROUP_CALLS },
    { label: '4 KiB', bytes: 4 * KIB, group: 10 },
    { label: '1 MiB', bytes: MIB, group: 1 },
  ];
  return sizes.map(({ label, bytes, group }) => {
    const input = patternBytes(bytes);
    return {
      name: `checksum xxh64 ${label}`,
      items: 1,
      unit: 'hashes',
      bytes,
      group,
      run: () => void (sink += Number(checksum(input) & 0xffn)),
    };
  });
}

function indexCases(dir: string): { cases: MicroCase[]; index: OffsetIndex } {
  const index = OffsetIndex.open(path.join(dir, '00000000000000000000.index'), INDEX_ENTRY_COUNT, false, true)!;
  for (let slot = 0; slot < INDEX_ENTRY_COUNT; slot++) index.append(slot * INDEX_OFFSET_STEP, slot * 4 * KIB);
  const random = seededRandom(SEED + 1);
  const span = INDEX_ENTRY_COUNT * INDEX_OFFSET_STEP;
  const targetsIn = (low: number): Uint32Array =>
    Uint32Array.from({ length: LOOKUP_TARGET_COUNT }, () => low + Math.floor(random() * (span - low)));
  const lookups = (targets: Uint32Array): (() => void) => {
    let i = 0;
    return () => void (sink += index.lookup(targets[i++ & (LOOKUP_TARGET_COUNT - 1)]!).position);
  };
  const tail = targetsIn(span - INDEX_TAIL_ENTRIES * INDEX_OFFSET_STEP);
  const anywhere = targetsIn(0);
  assert.equal(index.lookup(anywhere[0]!).relativeOffset, Math.floor(anywhere[0]! / INDEX_OFFSET_STEP) * INDEX_OFFSET_STEP);
  const per = { items: 1, unit: 'lookups', bytes: 0, group: GROUP_CALLS };
  const note = `OffsetIndex.lookup over ${INDEX_ENTRY_COUNT} entries (128 MiB segment, 4 KiB interval)`;
  return {
    index,
    cases: [
      { ...per, name: 'index lookup tail', note: `${note}, last ${INDEX_TAIL_ENTRIES} entries`, run: lookups(tail) },
      { ...per, name: 'index lookup random', note, run: lookups(anywhere) },
    ],
  };
}

function hashCases(inputs: Inputs): MicroCase[] {
  const { keys } = inputs;
  const encoded = Buffer.from(keys.join(''), 'latin1');
  const starts = new Uint32Array(keys.length);
  const ends = new Uint32Array(keys.length);
  for (let i = 0, end = 0; i < keys.length; i++) {
    starts[i] = end;
    end = ends[i] = end + keys[i]!.length;
  }
  const words = new Uint32Array(keys.length * HASH_KEY_WORDS);
  hashKeysOf(encoded, starts, ends, words);
  const per = { items: keys.length, unit: 'keys', bytes: 0, group: 1 };
  const native = (): void => {
    hashKeysOf(encoded, starts, ends, words);
    sink += words[0]!;
  };
  return [
    { ...per, name: 'md5 native md5Many x500', note: 'one call for all keys (hashKeysOf)', run: native },
    {
      ...per,
      name: 'md5 node:crypto x500',
      note: 'createHash per key',
      run: () => keys.forEach((key) => void (sink += createHash('md5').update(key, 'utf8').digest()[0]!)),
    },
    {
      ...per,
      name: 'md5 js-md5 x500',
      note: 'md5.array per key: HashKeys.of on a cache miss',
      run: () => keys.forEach((key) => void (sink += md5.array(key)[0]!)),
    },
    routeCase(keys, words),
  ];
}

function routeCase(keys: readonly string[], words: Uint32Array): MicroCase {
  const shards = initialHashKeyRanges(SHARD_COUNT).map((range, serial): HashKeyRange & { serial: number } => ({ ...range, serial }));
  const router = new HashKeyRouter(shards);
  keys.forEach((key, i) => assert.equal(router.routeWords(words, i * HASH_KEY_WORDS), router.route(hashKeyOf(key))));
  const route = (): void => {
    for (let i = 0; i < keys.length; i++) sink += router.routeWords(words, i * HASH_KEY_WORDS).serial;
  };
  return {
    name: `route routeWords x500, ${SHARD_COUNT} shards`,
    items: keys.length,
    unit: 'keys',
    bytes: 0,
    group: 1,
    note: 'HashKeyRouter.routeWords, as Engine.putStaged',
    run: route,
  };
}

function sequenceCases(): MicroCase[] {
  const serial = 3;
  const baseOffset = 123_456_789;
  const number = encodeSequenceNumber(serial, baseOffset);
  const per = { items: RECORDS_PER_PUT, unit: 'numbers', bytes: 0, group: 1 };
  const run = (): void => {
    const numbers = new SequenceNumberRun(serial, baseOffset);
    for (let i = 0; i < RECORDS_PER_PUT; i++) sink += numbers.at(baseOffset + i).length;
  };
  const bigints = (): void => {
    for (let i = 0; i < RECORDS_PER_PUT; i++) sink += encodeSequenceNumber(serial, baseOffset + i).length;
  };
  assert.equal(new SequenceNumberRun(serial, baseOffset).at(baseOffset + 499), encodeSequenceNumber(serial, baseOffset + 499));
  return [
    { ...per, name: 'seq SequenceNumberRun x500', note: "one PUT's results in one shard, as putResults", run },
    { ...per, name: 'seq encodeSequenceNumber x500', note: 'BigInt per record, for comparison', run: bigints },
    {
      name: 'seq decodeSequenceNumber',
      items: 1,
      unit: 'numbers',
      bytes: 0,
      group: GROUP_CALLS,
      note: 'AT_SEQUENCE_NUMBER iterators',
      run: () => void (sink += decodeSequenceNumber(number).offset),
    },
  ];
}

function kinesisCases(inputs: Inputs): MicroCase[] {
  const request = {
    StreamName: STREAM_NAME,
    Records: inputs.records.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(r.data).toString('base64') })),
  };
  const body = Buffer.from(JSON.stringify(request));
  const shape = INPUT_SHAPES.PutRecords!;
  // readInput converts the parsed body in place, so each call parses its own.
  const read = (): number => (readInput(JSON_FORMAT, shape, JSON_FORMAT.parse(body)).Records as unknown[]).length;
  assert.equal(read(), RECORDS_PER_PUT);
  const per = { items: RECORDS_PER_PUT, unit: 'records', bytes: body.length, group: 1 };
  return [
    {
      ...per,
      name: 'kinesis PutRecords JSON parse',
      note: 'JSON_FORMAT.parse of the body',
      run: () => void (sink += Object.keys(JSON_FORMAT.parse(body)).length),
    },
    {
      ...per,
      name: 'kinesis PutRecords parse+readInput',
      note: 'then every constraint checked, every base64 blob decoded',
      run: () => void (sink += read()),
    },
  ];
}

/** A tinybench function: `group` calls per sample, recorded as the mean of one call. */
function taskOf(micro: MicroCase): () => FnReturnedObject | undefined {
  if (micro.group === 1) return () => void micro.run();
  return () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < micro.group; i++) micro.run();
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    return { overriddenDuration: elapsedMs / micro.group, overriddenIterationCost: elapsedMs };
  };
}

function resultOf(micro: MicroCase, task: Task): MicroResult {
  const result = task.result;
  if (result.state !== 'completed') throw new Error(`${micro.name}: ${result.state === 'errored' ? result.error.message : result.state}`);
  const opsPerSec = 1000 / result.latency.mean;
  return {
    name: micro.name,
    opsPerSec: Math.round(opsPerSec),
    meanNs: Math.round(result.latency.mean * 1e6),
    p99Ns: Math.round(result.latency.p99 * 1e6),
    samples: result.latency.samplesCount,
    callsPerSample: micro.group,
    itemsPerSec: Math.round(opsPerSec * micro.items),
    unit: micro.unit,
    mbPerSec: micro.bytes === 0 ? null : Math.round((opsPerSec * micro.bytes) / MB),
    ...(micro.note === undefined ? {} : { note: micro.note }),
  };
}

function formatRow(result: MicroResult): string {
  const rate = result.unit === 'hashes' ? '' : `${(result.itemsPerSec / 1e6).toFixed(2)} M ${result.unit}/s`;
  const mb = result.mbPerSec === null ? '' : `${result.mbPerSec} MB/s`;
  const derived = [rate, mb].filter((part) => part !== '').join(', ');
  const cells = [result.opsPerSec, result.meanNs, result.p99Ns, result.callsPerSample].map((value) => String(value).padStart(11));
  return `  ${result.name.padEnd(34)} ${cells.join(' ')}  ${derived}`;
}

async function measure(cases: readonly MicroCase[], timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ name: 'micro', time: timeMs, warmupTime: timeMs / 4, throws: true });
  for (const micro of cases) bench.add(micro.name, taskOf(micro), { async: false });
  const headings = ['ops/s', 'mean ns', 'p99 ns', 'calls/sample'].map((heading) => heading.padStart(11));
  console.log(`  ${'name'.padEnd(34)} ${headings.join(' ')}  derived`);
  const results: MicroResult[] = [];
  bench.addEventListener('cycle', (event) => {
    const micro = cases.find((c) => c.name === event.task?.name);
    if (micro === undefined || event.task === undefined) return;
    const result = resultOf(micro, event.task);
    results.push(result);
    console.log(formatRow(result));
  });
  await bench.run();
  return results;
}

async function main(): Promise<void> {
  const timeMs = envNumber('MICRO_TIME_MS', 400, 1, 60_000);
  const jsonPath = jsonPathArg(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-micro-'));
  const env = environment(dir);
  console.log(
    `shardline micro benchmarks: ${timeMs} ms a benchmark (+${timeMs / 4} ms warm-up), ${RECORDS_PER_PUT} x ${RECORD_DATA_BYTES} B records, ${PARTITION_KEY_COUNT} partition keys`,
  );
  echoEnvironment('environment', env);
  console.log('a sample of several calls records their mean: p99 is then the p99 of those means');
  const inputs = buildInputs();
  const { cases: lookups, index } = indexCases(dir);
  try {
    const cases = [
      ...batchCases(inputs),
      ...wireCases(inputs),
      ...checksumCases(),
      ...lookups,
      ...hashCases(inputs),
      ...sequenceCases(),
      ...kinesisCases(inputs),
    ];
    const results = await measure(cases, timeMs);
    finish(
      {
        bench: 'micro',
        mbBytes: MB,
        config: { timeMs, warmupMs: timeMs / 4, recordsPerPut: RECORDS_PER_PUT, recordDataBytes: RECORD_DATA_BYTES },
        environment: env,
        results,
      },
      jsonPath,
    );
  } finally {
    index.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
