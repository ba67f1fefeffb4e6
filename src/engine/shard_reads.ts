import { GET_RECORDS_BYTES_MAX, HASH_KEY_BYTES } from '../limits.js';
import type { LogReader, ReadHint } from '../log/log_reader.js';
import {
  BATCH_HEADER_BYTES,
  FLAG_EXPLICIT_HASH_KEY,
  RECORD_DATA_LENGTH_POSITION,
  RECORD_FLAGS_POSITION,
  RECORD_HEADER_BYTES,
  RECORD_KEY_LENGTH_POSITION,
} from '../log/batch_format.js';
import { forEachRecord, readBatchHeader, type StoredRecord } from '../log/record_batch.js';

/** Where the batch holding an offset starts: the hint an iterator carries to skip the search. */
export interface ReadPosition {
  readonly segmentBaseOffset: number;
  readonly positionBytes: number;
}

/**
 * Whole batches read from a shard, as views of its mapped files, and the records they hold
 * that the read returns: those in [fromOffset, toOffset). The network sends the batches as
 * they are; the embedded API decodes the records in range.
 */
export interface RawRead {
  readonly chunks: readonly Buffer[];
  readonly fromOffset: number;
  readonly toOffset: number;
  /** Bytes of data and partition keys of the records in range, as Kinesis counts a read. */
  readonly bytes: number;
  /** Arrival time of the last record in range, -1 if none. */
  readonly lastTimestampMs: number;
  /** Where the batch holding toOffset starts (positionBytes 0: unknown, search). */
  readonly hint: ReadPosition;
}

/**
 * The plaintext batch of the stored one at `at` of a chunk (`where`: its segment and byte, for
 * errors): itself, or opened with the stream's data key.
 */
export type BatchOpener = (
  chunk: Buffer,
  at: number,
  where: { readonly segmentBaseOffset: number; readonly positionBytes: number },
) => Buffer;

/**
 * Batches from `offset` holding up to `limit` records and GetRecords' 10 MiB, read through the
 * shard's LogReader. The iterator's position (if any) is a hint that skips the search. Only
 * headers are read: batch headers to walk, record headers to count bytes and apply the limit.
 * With `open` (an encrypted stream), the batches come back opened, as new buffers; positions
 * (the hints) stay those of the stored batches.
 */
export function readRaw(
  reader: LogReader,
  offset: number,
  limit: number,
  position: { offset: number } & ReadPosition,
  open: BatchOpener | null = null,
): RawRead {
  const hint: ReadHint | undefined =
    position.offset === offset && position.positionBytes > 0
      ? { offset, segmentBaseOffset: position.segmentBaseOffset, positionBytes: position.positionBytes }
      : undefined;
  const read = reader.read(offset, GET_RECORDS_BYTES_MAX, hint);
  const toOffsetMax = Math.min(read.nextOffset, offset + limit);
  let toOffset = offset;
  let bytes = 0;
  let lastTimestampMs = -1;
  let stoppedAt: ReadPosition | null = null;
  const chunks: Buffer[] = [];
  read.chunks.forEach((chunk, c) => {
    if (stoppedAt !== null) return;
    let at = 0;
    const opened: Buffer[] = [];
    while (at < chunk.length) {
      const header = readBatchHeader(chunk, at);
      if (header.baseOffset >= toOffsetMax) {
        // The limit ended at the previous batch's end: the next read starts here.
        stoppedAt = { segmentBaseOffset: read.chunkStarts[c]!.segmentBaseOffset, positionBytes: read.chunkStarts[c]!.positionBytes + at };
        break;
      }
      const start = read.chunkStarts[c]!;
      const batch =
        open === null ? chunk : open(chunk, at, { segmentBaseOffset: start.segmentBaseOffset, positionBytes: start.positionBytes + at });
      const batchAt = open === null ? at : 0;
      if (open !== null) opened.push(batch);
      const first = Math.max(offset, header.baseOffset);
      const last = Math.min(toOffsetMax, header.baseOffset + header.recordCount);
      bytes += payloadBytes(batch, batchAt, header.recordCount, first - header.baseOffset, last - header.baseOffset);
      lastTimestampMs = header.timestampMs;
      toOffset = last;
      if (last < header.baseOffset + header.recordCount) {
        // The limit ends inside this batch: the next read starts in it.
        stoppedAt = { segmentBaseOffset: read.chunkStarts[c]!.segmentBaseOffset, positionBytes: read.chunkStarts[c]!.positionBytes + at };
        at += header.batchBytes;
        break;
      }
      at += header.batchBytes;
    }
    if (open !== null) {
      if (opened.length > 0) chunks.push(opened.length === 1 ? opened[0]! : Buffer.concat(opened));
    } else if (at > 0) chunks.push(at === chunk.length ? chunk : chunk.subarray(0, at));
  });
  return {
    chunks,
    fromOffset: offset,
    toOffset,
    bytes,
    lastTimestampMs,
    hint: stoppedAt ?? { segmentBaseOffset: read.next.segmentBaseOffset, positionBytes: read.next.positionBytes },
  };
}

/** Key and data bytes of records [from, to) (indexes within the batch at `position`). */
function payloadBytes(buf: Buffer, position: number, recordCount: number, from: number, to: number): number {
  let cursor = position + BATCH_HEADER_BYTES;
  let bytes = 0;
  for (let i = 0; i < recordCount && i < to; i++) {
    const dataBytes = buf.readUInt32LE(cursor + RECORD_DATA_LENGTH_POSITION);
    const keyBytes = buf.readUInt16LE(cursor + RECORD_KEY_LENGTH_POSITION);
    const hashKeyBytes = (buf[cursor + RECORD_FLAGS_POSITION]! & FLAG_EXPLICIT_HASH_KEY) === 0 ? 0 : HASH_KEY_BYTES;
    if (i >= from) bytes += dataBytes + keyBytes;
    cursor += RECORD_HEADER_BYTES + hashKeyBytes + keyBytes + dataBytes;
  }
  return bytes;
}

/** The records of a raw read in range, decoded (data still views of the mapping). */
export function recordsOf(raw: RawRead): StoredRecord[] {
  const records: StoredRecord[] = [];
  for (const chunk of raw.chunks) {
    for (let at = 0; at < chunk.length; at += readBatchHeader(chunk, at).batchBytes) {
      forEachRecord(chunk, at, raw.fromOffset, (record) => {
        if (record.offset < raw.toOffset) records.push(record);
      });
    }
  }
  return records;
}
