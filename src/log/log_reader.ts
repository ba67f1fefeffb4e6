import { BATCH_BYTES_MAX } from '../limits.js';
import fs from 'node:fs';
import { ClosedError, InvalidArgumentException, OffsetOutOfRangeError } from '../errors.js';
import { MappedFile } from '../index/mapped_file.js';
import type { CommittedPosition } from './committed_position.js';
import { parseSegmentFileName, segmentPaths } from './file_names.js';
import { readBatchHeader, takeBatches } from './record_batch.js';
import type { LogPosition } from './recovery_point.js';
import { floorIndex } from '../util/floor_index.js';

/** Where a batch starts, handed back by reads so the next read need not search. */
export interface ReadHint {
  readonly offset: number;
  readonly segmentBaseOffset: number;
  readonly positionBytes: number;
}

export interface ReaderReadResult {
  readonly startOffset: number;
  readonly nextOffset: number;
  /** Whole batches, as views of the mapped segment files (one chunk per segment). */
  readonly chunks: readonly Buffer[];
  /** Where each chunk starts: its segment and position there. */
  readonly chunkStarts: readonly { readonly segmentBaseOffset: number; readonly positionBytes: number }[];
  /** Where the batch holding nextOffset starts, for the next read. */
  readonly next: ReadHint;
}

export interface LogReaderOptions {
  /** The log's segmentBytes: the active segment is mapped for its largest possible size. */
  readonly segmentBytes: number;
  /** Segments kept mapped. Default 16. */
  readonly openSegmentsMax?: number;
}

interface ReaderSegment {
  readonly baseOffset: number;
  file: MappedFile | null;
  /** The last batch start this reader saw in the segment, so sequential reads do not rescan. */
  cursor: { offset: number; positionBytes: number };
}

/**
 * Reads a log that another thread owns and appends to, straight from the page cache: the
 * segment files are mapped read-only here and read up to the committed position that the owner
 * publishes in a SharedArrayBuffer (CommittedPosition). Nothing is copied and nothing is asked
 * of the owner.
 *
 * Only the .log files are read, never the indexes: the owner trims index files while sealing,
 * and a search through a mapped index at that moment could touch a page past the new end of
 * the file (SIGBUS). Data files are safe: a reader never reads past the committed end, and the
 * owner only ever cuts bytes beyond it. So positions come from a per-segment cursor (sequential
 * reads resume where the last one stopped), from a hint a previous read returned, or from a
 * scan of batch headers from the segment start; random lookups belong to the owner (Log.lookup).
 *
 * A sealed segment ends where the next segment begins (its offset), not at its file size: the
 * owner trims the preallocated tail after the roll. Segments deleted by retention are found by
 * re-listing the directory; mappings of deleted files stay readable until evicted.
 */
export class LogReader {
  private segments: ReaderSegment[] = [];
  private readonly openSegmentsMax: number;
  private readonly activeMapBytes: number;
  private readonly lru = new Set<ReaderSegment>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly committed: CommittedPosition,
    options: LogReaderOptions,
  ) {
    this.openSegmentsMax = options.openSegmentsMax ?? 16;
    this.activeMapBytes = options.segmentBytes + BATCH_BYTES_MAX;
    this.refresh();
  }

  /** The offset after the last committed record. */
  get endOffset(): number {
    return this.committed.read().nextOffset;
  }

  /** The first offset still stored (the owner publishes it when retention moves it). */
  get startOffset(): number {
    return this.committed.readStart();
  }

  /**
   * Whole batches from the one holding `offset`, at most `maxBytes` (at least one batch), up to
   * the committed end. A `hint` from a previous read skips the search.
   */
  read(offset: number, maxBytes: number, hint?: ReadHint): ReaderReadResult {
    if (this.closed) throw new ClosedError(`reader of ${this.dir} is closed`);
    if (!Number.isSafeInteger(offset)) throw new InvalidArgumentException(`offset must be an integer, got ${offset}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new InvalidArgumentException(`maxBytes must be a positive integer, got ${maxBytes}`);
    const committed = this.committed.read();
    const startOffset = this.committed.readStart();
    const stale = this.segments.length === 0 || this.segments[0]!.baseOffset < startOffset || this.segments.at(-1)!.baseOffset < committed.segmentBaseOffset;
    if (stale) this.refresh();
    if (offset < startOffset || offset > committed.nextOffset) {
      throw new OffsetOutOfRangeError(`offset ${offset} is outside [${startOffset}, ${committed.nextOffset})`, startOffset, committed.nextOffset);
    }
    let index = this.indexOf(offset);
    let position = this.positionOf(index, offset, committed, hint);
    const chunks: Buffer[] = [];
    const chunkStarts: Array<{ segmentBaseOffset: number; positionBytes: number }> = [];
    let nextOffset = offset;
    let bytes = 0;
    for (; index < this.segments.length; index++, position = 0) {
      const segment = this.segments[index]!;
      const buf = this.mapped(segment);
      const start = position;
      const endOffset = this.endOffsetOf(index, committed);
      ({ position, nextOffset, bytes } = takeBatches(buf, { position, nextOffset, bytes }, maxBytes, (_at, next) => next < endOffset));
      if (position > start) {
        chunks.push(buf.subarray(start, position));
        chunkStarts.push({ segmentBaseOffset: segment.baseOffset, positionBytes: start });
      }
      segment.cursor = { offset: nextOffset, positionBytes: position };
      // Segments after the committed one hold nothing readable yet (a roll made them).
      const last = index === this.segments.length - 1 || segment.baseOffset >= committed.segmentBaseOffset;
      if (nextOffset < endOffset || last) {
        return { startOffset: offset, nextOffset, chunks, chunkStarts, next: { offset: nextOffset, segmentBaseOffset: segment.baseOffset, positionBytes: position } };
      }
    }
    return { startOffset: offset, nextOffset, chunks, chunkStarts, next: { offset: nextOffset, segmentBaseOffset: committed.segmentBaseOffset, positionBytes: committed.positionBytes } };
  }

  /** Unmaps every segment; views handed out read as empty from then on. */
  close(): void {
    this.closed = true;
    for (const segment of this.segments) this.unmap(segment);
  }

  /** Re-lists the directory: new segments (rolls) appear, deleted ones (retention) go. */
  private refresh(): void {
    const known = new Map(this.segments.map((segment) => [segment.baseOffset, segment]));
    const bases = fs
      .readdirSync(this.dir)
      .map(parseSegmentFileName)
      .filter((parsed) => parsed?.kind === 'log')
      .map((parsed) => parsed!.baseOffset)
      .sort((a, b) => a - b);
    const present = new Set(bases);
    for (const segment of this.segments) if (!present.has(segment.baseOffset)) this.unmap(segment);
    this.segments = bases.map((base) => known.get(base) ?? { baseOffset: base, file: null, cursor: { offset: base, positionBytes: 0 } });
  }

  private indexOf(offset: number): number {
    return floorIndex(this.segments, offset, (segment) => segment.baseOffset);
  }

  /** The offset after the last readable record of segment `index`. */
  private endOffsetOf(index: number, committed: LogPosition): number {
    const next = this.segments[index + 1];
    if (next !== undefined && next.baseOffset <= committed.segmentBaseOffset) return next.baseOffset;
    return this.segments[index]!.baseOffset === committed.segmentBaseOffset ? committed.nextOffset : this.segments[index]!.baseOffset;
  }

  /**
   * Start of the batch holding `offset` in segment `index`: from the hint (which must come from
   * a read of this log), else the cursor, else a scan of batch headers from the segment start.
   */
  private positionOf(index: number, offset: number, committed: LogPosition, hint: ReadHint | undefined, fromStart = false): number {
    const segment = this.segments[index]!;
    // A reader that has caught up asks for the committed end again and again (a subscription
    // between appends): that position is published, no search needed.
    if (offset === committed.nextOffset && segment.baseOffset === committed.segmentBaseOffset) return committed.positionBytes;
    const buf = this.mapped(segment);
    const endOffset = this.endOffsetOf(index, committed);
    let from = { offset: segment.baseOffset, positionBytes: 0 };
    if (fromStart) from = { offset: segment.baseOffset, positionBytes: 0 };
    else if (hint !== undefined && hint.segmentBaseOffset === segment.baseOffset && hint.offset <= offset && hint.offset <= endOffset) from = hint;
    else if (segment.cursor.offset <= offset && segment.cursor.offset <= endOffset) from = segment.cursor;
    let position = from.positionBytes;
    for (let batchOffset = from.offset; batchOffset < endOffset; ) {
      const header = readBatchHeader(buf, position);
      // A hint or cursor names a batch start and an offset inside that batch (an iterator cut
      // by its Limit resumes mid-batch). One that does not land on such a batch is stale:
      // scan from the start.
      const holds = header.baseOffset <= batchOffset && batchOffset < header.baseOffset + header.recordCount;
      if (!holds) return fromStart ? position : this.positionOf(index, offset, committed, undefined, true);
      if (offset < header.baseOffset + header.recordCount) return position;
      position += header.batchBytes;
      batchOffset = header.baseOffset + header.recordCount;
    }
    return position;
  }

  private mapped(segment: ReaderSegment): Buffer {
    this.lru.delete(segment);
    this.lru.add(segment);
    if (segment.file === null) segment.file = this.open(segment);
    for (const oldest of this.lru) {
      if (this.lru.size <= this.openSegmentsMax) break;
      this.unmap(oldest);
    }
    return segment.file.buffer;
  }

  private open(segment: ReaderSegment): MappedFile {
    const path = segmentPaths(this.dir, segment.baseOffset).log;
    try {
      return MappedFile.open(path, { fileWritable: false, mapWritable: false, mapBytes: this.activeMapBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.refresh(); // retention deleted it since the last listing
      const end = this.endOffset;
      throw new OffsetOutOfRangeError(`segment ${segment.baseOffset} was deleted by retention`, this.startOffset, end);
    }
  }

  private unmap(segment: ReaderSegment): void {
    this.lru.delete(segment);
    segment.file?.close();
    segment.file = null;
  }
}
