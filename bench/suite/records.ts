/**
 * The records a producer sends: sizes and partition keys drawn as the workload says, from a
 * seeded generator (the same run puts the same records), each stamped with its intended send
 * time so that a consumer in this process can measure end-to-end latency from it.
 */
import { seededRandom } from '../../test/helpers/random.js';
import { patternBytes } from '../bench_common.js';
import { STAMP_BYTES, type BenchRecord, type PartitionKeys, type RecordSize, type Workload } from './types.js';

/** Records are cut from slabs: one allocation per record costs more than the rest at 100 B. */
const SLAB_BYTES = 4 * 1024 * 1024;
/** Keys above this are formatted when drawn instead of kept in a table. */
const KEY_TABLE_MAX = 1_000_000;

/**
 * Writes the stamp at `offset` of the view: intended send time (ms, performance.now()),
 * producer, record number. The first STAMP_BYTES of a record's data.
 */
export function stamp(view: DataView, offset: number, intendedMs: number, producer: number, index: number): void {
  view.setFloat64(offset, intendedMs, true);
  view.setUint32(offset + 8, producer, true);
  view.setUint32(offset + 12, index >>> 0, true);
}

export interface Stamp {
  readonly intendedMs: number;
  readonly producer: number;
  readonly index: number;
}

export function stampOf(data: Uint8Array): Stamp {
  if (data.byteLength < STAMP_BYTES)
    throw new Error(`a record of ${data.byteLength} bytes came back: every record sent has at least ${STAMP_BYTES}`);
  const view = new DataView(data.buffer, data.byteOffset, STAMP_BYTES);
  return { intendedMs: view.getFloat64(0, true), producer: view.getUint32(8, true), index: view.getUint32(12, true) };
}

export function intendedTimeOf(data: Uint8Array): number {
  return stampOf(data).intendedMs;
}

export function meanRecordBytes(size: RecordSize): number {
  return 'bytes' in size ? size.bytes : (size.min + size.max) / 2;
}

class KeyChooser {
  private readonly table: string[] | null;
  /** Cumulative weights for zipf, searched by bisection. */
  private readonly cumulative: Float64Array | null;

  constructor(
    private readonly keys: PartitionKeys,
    private readonly random: () => number,
  ) {
    this.table = keys.count <= KEY_TABLE_MAX ? Array.from({ length: keys.count }, (_, i) => `pk-${i}`) : null;
    this.cumulative = keys.distribution === 'zipf' ? zipfCumulative(Math.min(keys.count, KEY_TABLE_MAX), keys.zipfExponent) : null;
  }

  next(): string {
    const index =
      this.cumulative === null
        ? Math.floor(this.random() * this.keys.count)
        : bisect(this.cumulative, this.random() * this.cumulative[this.cumulative.length - 1]!);
    return this.table?.[index] ?? `pk-${index}`;
  }
}

function zipfCumulative(count: number, exponent: number): Float64Array {
  const cumulative = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) cumulative[i] = sum += 1 / Math.pow(i + 1, exponent);
  return cumulative;
}

function bisect(cumulative: Float64Array, target: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class RecordSource {
  private readonly random: () => number;
  private readonly keys: KeyChooser;
  private slab: Uint8Array = new Uint8Array(0);
  private slabView = new DataView(this.slab.buffer);
  private slabUsed = 0;
  private count = 0;

  constructor(
    private readonly workload: Workload,
    private readonly producer: number,
  ) {
    this.random = seededRandom(0x5eed + producer * 7919);
    this.keys = new KeyChooser(workload.partitionKeys, this.random);
  }

  next(intendedMs: number): BenchRecord {
    const data = this.take(this.nextSize());
    stamp(this.slabView, data.byteOffset, intendedMs, this.producer, this.count++);
    return { partitionKey: this.keys.next(), data };
  }

  private nextSize(): number {
    const size = this.workload.recordSize;
    return 'bytes' in size ? size.bytes : size.min + Math.floor(this.random() * (size.max - size.min + 1));
  }

  private take(bytes: number): Uint8Array {
    if (this.slabUsed + bytes > this.slab.byteLength) {
      // Fresh slabs, never reused: a system may hold a record's bytes until it is acknowledged.
      this.slab = patterned(Math.max(SLAB_BYTES, bytes));
      this.slabView = new DataView(this.slab.buffer);
      this.slabUsed = 0;
    }
    const data = this.slab.subarray(this.slabUsed, this.slabUsed + bytes);
    this.slabUsed += bytes;
    return data;
  }
}

/** Not zeros: a system that compresses or dedupes would look faster on empty data. */
const PATTERN = patternBytes(SLAB_BYTES);

function patterned(bytes: number): Uint8Array {
  if (bytes <= SLAB_BYTES) return PATTERN.slice();
  const slab = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += SLAB_BYTES) slab.set(PATTERN.subarray(0, Math.min(SLAB_BYTES, bytes - at)), at);
  return slab;
}
