/*
 * What crosses between a query's runner (the main thread) and its thread. A batch of records
 * travels as one transferred buffer of their data, with the rest in flat arrays, so posting it
 * copies no record and clones no view of a larger buffer.
 */
import type { ExecutorOutput, ExecutorSnapshot, ExecutorStatus, InputRecord } from './executor.js';

export interface PackedBatch {
  readonly data: ArrayBuffer;
  /** Where each record's data ends in `data`. */
  readonly ends: Uint32Array;
  readonly partitionKeys: readonly string[];
  readonly sequenceNumbers: readonly string[];
  readonly subSequenceNumbers: Int32Array;
  readonly arrivalMs: Float64Array;
}

export type ThreadRequest =
  | {
      readonly type: 'process';
      readonly shardId: string;
      readonly batch: PackedBatch;
      readonly millisBehindLatest: number;
      readonly nowMs: number;
    }
  | { readonly type: 'expect'; readonly shardIds: readonly string[]; readonly nowMs: number }
  | { readonly type: 'ended'; readonly shardId: string; readonly children: readonly string[]; readonly nowMs: number }
  | { readonly type: 'advance'; readonly nowMs: number }
  | { readonly type: 'snapshot' };

export type ThreadReply =
  | {
      readonly id: number;
      readonly output: ExecutorOutput;
      readonly status: ExecutorStatus;
      /** The state as JSON, with the positions in it apart, so the runner need not parse the whole state for them. */
      readonly snapshot?: {
        readonly bytes: Uint8Array;
        readonly positions: ExecutorSnapshot['positions'];
        readonly ended: ExecutorSnapshot['ended'];
      };
    }
  | { readonly id: number; readonly error: string };

/** What a thread starts with: the query's text, and its last checkpoint's state (JSON bytes). */
export interface ThreadData {
  readonly sql: string;
  readonly snapshot: Uint8Array | null;
  /** The engine's clock as the thread starts. */
  readonly nowMs: number;
}

export function packBatch(records: readonly InputRecord[]): PackedBatch {
  const ends = new Uint32Array(records.length);
  let total = 0;
  records.forEach((record, index) => (ends[index] = total += record.data.length));
  const data = new Uint8Array(total);
  records.forEach((record, index) => data.set(record.data, ends[index]! - record.data.length));
  return {
    data: data.buffer,
    ends,
    partitionKeys: records.map((record) => record.partitionKey),
    sequenceNumbers: records.map((record) => record.sequenceNumber),
    subSequenceNumbers: Int32Array.from(records, (record) => record.subSequenceNumber),
    arrivalMs: Float64Array.from(records, (record) => record.arrivalMs),
  };
}

export function unpackBatch(batch: PackedBatch): InputRecord[] {
  const data = new Uint8Array(batch.data);
  return batch.partitionKeys.map((partitionKey, index) => ({
    data: data.subarray(index === 0 ? 0 : batch.ends[index - 1]!, batch.ends[index]!),
    partitionKey,
    sequenceNumber: batch.sequenceNumbers[index]!,
    subSequenceNumber: batch.subSequenceNumbers[index]!,
    arrivalMs: batch.arrivalMs[index]!,
  }));
}

/** The buffers a batch can hand over instead of copying. */
export function transferablesOf(batch: PackedBatch): ArrayBuffer[] {
  return [
    batch.data,
    batch.ends.buffer as ArrayBuffer,
    batch.subSequenceNumbers.buffer as ArrayBuffer,
    batch.arrivalMs.buffer as ArrayBuffer,
  ];
}
