import assert from 'node:assert/strict';
import { forEachRecord, readBatchHeader, type StoredRecord } from './record_batch.js';
import type { LogPosition } from './recovery_point.js';
import type { LogSegment } from './segment.js';
import type { ReaderReadResult, SegmentSet } from './segment_set.js';

/*
 * The reads of a log by the thread that owns it (Log), over its SegmentSet and its committed
 * position: batches from an offset, found through the offset index; offsets by arrival time,
 * through the time index. Log checks its state and the arguments first; each function here
 * takes an offset in [startOffset, committed.nextOffset].
 */

export interface RecordsResult {
  readonly records: readonly StoredRecord[];
  /** Where the next read continues. */
  readonly nextOffset: number;
}

/** Whole batches from the one holding `offset`, at most `maxBytes` (at least one), up to the committed end. */
export function readBatches(segments: SegmentSet<LogSegment>, committed: LogPosition, offset: number, maxBytes: number): ReaderReadResult {
  if (offset === committed.nextOffset) {
    const next = { offset, segmentBaseOffset: committed.segmentBaseOffset, positionBytes: committed.positionBytes };
    return { startOffset: offset, nextOffset: offset, chunks: [], chunkStarts: [], next };
  }
  const index = segments.floorIndex(offset);
  const positionBytes = positionOf(segments, committed, index, offset);
  return segments.read({ index, positionBytes, offset }, maxBytes, committed);
}

/** The first `maxRecords` records from `fromOffset` in batches a read returned, and where the next read continues. */
export function recordsOf(
  read: { readonly chunks: readonly Buffer[]; readonly nextOffset: number },
  fromOffset: number,
  maxRecords: number,
): RecordsResult {
  const records: StoredRecord[] = [];
  for (const chunk of read.chunks) {
    for (let position = 0; position < chunk.length && records.length < maxRecords;) {
      forEachRecord(chunk, position, fromOffset, (record) => {
        if (records.length < maxRecords) records.push(record);
      });
      position += readBatchHeader(chunk, position).batchBytes;
    }
  }
  const last = records.at(-1);
  return { records, nextOffset: records.length === maxRecords && last !== undefined ? last.offset + 1 : read.nextOffset };
}

/** Where the batch holding a committed `offset` (below committed.nextOffset) starts: segment and position. */
export function lookup(segments: SegmentSet<LogSegment>, committed: LogPosition, offset: number): LogPosition {
  const index = segments.floorIndex(offset);
  return {
    nextOffset: offset,
    segmentBaseOffset: segments.at(index).baseOffset,
    positionBytes: positionOf(segments, committed, index, offset),
  };
}

/** Start of the batch holding a committed `offset` in segment `index`, through the offset index. */
function positionOf(segments: SegmentSet<LogSegment>, committed: LogPosition, index: number, offset: number): number {
  const segment = segments.opened(segments.at(index));
  const positionBytes = segment.positionOf(offset, segments.committedEndOffset(index, committed));
  if (positionBytes < 0) assert.fail(`no batch of segment ${segment.baseOffset} holds committed offset ${offset}`);
  return positionBytes;
}

/**
 * The first committed offset whose arrival time is at least `timestampMs`, or
 * committed.nextOffset when there is none yet. Arrival times never decrease along the log, so
 * this is a binary search over segments, then through one segment's time index.
 */
export function offsetForTimestamp(segments: SegmentSet<LogSegment>, committed: LogPosition, timestampMs: number): number {
  let low = 0;
  let high = segments.count - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (segments.opened(segments.at(middle)).lastTimestampMs >= timestampMs) high = middle;
    else low = middle + 1;
  }
  for (let index = low; index < segments.count; index++) {
    const segment = segments.opened(segments.at(index));
    const endOffset = segments.committedEndOffset(index, committed);
    const position = endOffset === segment.baseOffset ? -1 : segment.positionOfTime(timestampMs, endOffset);
    if (position >= 0) return readBatchHeader(segment.mapped(), position).baseOffset;
  }
  return committed.nextOffset;
}
