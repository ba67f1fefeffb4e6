import type { LogReader, ReadHint } from '../log/log_reader.js';
import { forEachRecord, readBatchHeader, type StoredRecord } from '../log/record_batch.js';
import { GET_RECORDS_BYTES_MAX } from './kinesis_shapes.js';

export interface ReadRecords {
  /** Views of the mapped files: copy what must outlive the next read. */
  readonly records: StoredRecord[];
  readonly nextOffset: number;
  /** Where the batch holding nextOffset starts, for the next iterator. */
  readonly hint: { readonly segmentBaseOffset: number; readonly positionBytes: number };
  /** Bytes of data and partition keys returned, as Kinesis counts a read against the limit. */
  readonly bytes: number;
}

/**
 * Up to `limit` records from `offset`, and up to GetRecords' 10 MiB, read through the shard's
 * LogReader. The iterator's position (if any) is a hint that skips the search for the batch.
 */
export function readRecords(reader: LogReader, offset: number, limit: number, position: { offset: number; segmentBaseOffset: number; positionBytes: number }): ReadRecords {
  const hint: ReadHint | undefined = position.offset === offset && position.positionBytes > 0 ? { offset, segmentBaseOffset: position.segmentBaseOffset, positionBytes: position.positionBytes } : undefined;
  const read = reader.read(offset, GET_RECORDS_BYTES_MAX, hint);
  const records: StoredRecord[] = [];
  let bytes = 0;
  for (const chunk of read.chunks) {
    for (let at = 0; at < chunk.length && records.length < limit; at += readBatchHeader(chunk, at).batchBytes) {
      forEachRecord(chunk, at, offset, (record) => {
        if (records.length >= limit) return;
        records.push(record);
        bytes += record.data.length + Buffer.byteLength(record.partitionKey);
      });
    }
  }
  const last = records.at(-1);
  // Stopped by `limit` inside the read: the next read starts after the last record returned,
  // and the hint no longer names its batch.
  if (last !== undefined && last.offset + 1 < read.nextOffset) {
    return { records, nextOffset: last.offset + 1, hint: { segmentBaseOffset: 0, positionBytes: 0 }, bytes };
  }
  return { records, nextOffset: read.nextOffset, hint: { segmentBaseOffset: read.next.segmentBaseOffset, positionBytes: read.next.positionBytes }, bytes };
}
