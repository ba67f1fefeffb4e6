import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ClosedError, InvalidArgumentException, OffsetOutOfRangeError } from '../errors.js';
import { MappedFile } from '../index/mapped_file.js';
import type { CommittedPosition } from './committed_position.js';
import { parseSegmentFileName, segmentPaths } from './file_names.js';
import { resolveLogOptions } from './log_config.js';
import { readBatchHeader } from './record_batch.js';
import type { LogPosition } from './recovery_point.js';
import { SegmentSet, type ReadHint, type ReaderReadResult, type SetSegment } from './segment_set.js';
import { BATCH_STORED_BYTES_MAX } from './batch_cipher.js';

export type { ChunkStart, ReadHint, ReaderReadResult } from './segment_set.js';

export interface LogReaderOptions {
  /** The log's segmentBytes: the active segment is mapped for its largest possible size. */
  readonly segmentBytes: number;
  /** Segments kept mapped; the log's option of the same name (default in log_config.ts). */
  readonly openSegmentsMax?: number | undefined;
  /**
   * The segments the owner has, if it said (its open reply): otherwise the directory is listed
   * at the first read. 10,000 shards opening after a start would list 10,000 directories on the
   * engine's thread, each waiting on the journal while the owner changes it.
   */
  readonly segmentBases?: readonly number[] | undefined;
}

/** One segment as a reader sees it: its .log file, mapped read-only on first use. */
class ReaderSegment implements SetSegment {
  /** A reader never writes: every segment it maps counts against openSegmentsMax. */
  readonly isWritable = false;
  private file: MappedFile | null = null;
  /** The last batch start this reader saw in the segment, so sequential reads do not rescan. */
  cursor: ReadHint;

  constructor(
    readonly baseOffset: number,
    private readonly path: string,
    private readonly mapBytes: number,
  ) {
    this.cursor = { offset: baseOffset, segmentBaseOffset: baseOffset, positionBytes: 0 };
  }

  /** Throws ENOENT when retention deleted the file since it was listed. */
  mapped(): Buffer {
    this.file ??= MappedFile.open(this.path, { fileWritable: false, mapWritable: false, mapBytes: this.mapBytes, keepDescriptor: false });
    return this.file.buffer;
  }

  close(): void {
    this.file?.close();
    this.file = null;
  }
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
 * owner trims the preallocated tail after the roll. The segment list is re-read from the
 * directory when the owner's published positions name a segment it does not list (a roll) or
 * start past its first one (retention); views of segments dropped from the list read as empty.
 */
export class LogReader {
  private readonly segments: SegmentSet<ReaderSegment>;
  private readonly activeMapBytes: number;
  /** The committed segment the listing was last checked to hold. */
  private listedCommittedBase = -1;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly committed: CommittedPosition,
    options: LogReaderOptions,
  ) {
    const { openSegmentsMax } = options;
    const resolved = resolveLogOptions({
      segmentBytes: options.segmentBytes,
      ...(openSegmentsMax === undefined ? {} : { openSegmentsMax }),
    });
    this.activeMapBytes = resolved.segmentBytes + BATCH_STORED_BYTES_MAX;
    this.segments = new SegmentSet<ReaderSegment>([], resolved.openSegmentsMax);
    if (options.segmentBases !== undefined) this.list(options.segmentBases);
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
   * the committed end, from at most openSegmentsMax segments. A `hint` from a previous read
   * skips the search.
   */
  read(offset: number, maxBytes: number, hint?: ReadHint): ReaderReadResult {
    if (this.closed) throw new ClosedError(`reader of ${this.dir} is closed`);
    if (!Number.isSafeInteger(offset)) throw new InvalidArgumentException(`offset must be an integer, got ${offset}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      throw new InvalidArgumentException(`maxBytes must be a positive integer, got ${maxBytes}`);
    const committed = this.committed.read();
    const startOffset = this.committed.readStart();
    this.refreshIfStale(committed, startOffset);
    const index = this.segments.floorIndex(offset);
    if (offset < startOffset || offset > committed.nextOffset || index < 0) {
      throw new OffsetOutOfRangeError(
        `offset ${offset} is outside [${startOffset}, ${committed.nextOffset})`,
        startOffset,
        committed.nextOffset,
      );
    }
    try {
      const positionBytes = this.positionOf(index, offset, committed, hint);
      const result = this.segments.read({ index, positionBytes, offset }, maxBytes, committed);
      const first = this.segments.at(index);
      const last = result.next.segmentBaseOffset === first.baseOffset ? first : this.segments.floorSegment(result.next.segmentBaseOffset)!;
      last.cursor = result.next;
      return result;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.refresh(); // retention deleted a segment since the last listing
      throw new OffsetOutOfRangeError(`offset ${offset} was deleted by retention`, this.startOffset, this.endOffset);
    }
  }

  /** Unmaps every segment; views handed out read as empty from then on. */
  close(): void {
    this.closed = true;
    this.segments.closeAll();
  }

  /**
   * Re-lists the directory when the listing may be out of date: the owner rolled to a segment
   * not listed, or retention moved the start past the first listed segment. The committed
   * segment's file exists before the owner publishes a position in it, so after a refresh the
   * listing holds it.
   */
  private refreshIfStale(committed: LogPosition, startOffset: number): void {
    const segments = this.segments;
    const startMoved = segments.count === 0 || segments.first.baseOffset < startOffset;
    if (!startMoved && committed.segmentBaseOffset === this.listedCommittedBase) return;
    if (startMoved || segments.floorSegment(committed.segmentBaseOffset)?.baseOffset !== committed.segmentBaseOffset) this.refresh();
    this.listedCommittedBase = committed.segmentBaseOffset;
  }

  /** Re-lists the directory: new segments (rolls) appear, deleted ones (retention) go. */
  private refresh(): void {
    const bases = fs
      .readdirSync(this.dir)
      .map(parseSegmentFileName)
      .filter((parsed) => parsed?.kind === 'log')
      .map((parsed) => parsed!.baseOffset)
      .sort((a, b) => a - b);
    this.list(bases);
  }

  private list(bases: readonly number[]): void {
    const known = new Map(this.segments.all.map((segment) => [segment.baseOffset, segment]));
    this.segments.replace(
      bases.map((base) => known.get(base) ?? new ReaderSegment(base, segmentPaths(this.dir, base).log, this.activeMapBytes)),
    );
    this.listedCommittedBase = -1;
  }

  /**
   * Start of the batch holding `offset` in segment `index`: from the hint (which must come from
   * a read of this log), else the cursor, else a scan of batch headers from the segment start.
   */
  private positionOf(index: number, offset: number, committed: LogPosition, hint: ReadHint | undefined): number {
    const segment = this.segments.at(index);
    // A reader that has caught up asks for the committed end again and again (a subscription
    // between appends): that position is published, no search needed.
    if (offset === committed.nextOffset && segment.baseOffset === committed.segmentBaseOffset) return committed.positionBytes;
    const endOffset = this.segments.committedEndOffset(index, committed);
    const from = startsBefore(hint, segment.baseOffset, offset, endOffset)
      ? hint
      : startsBefore(segment.cursor, segment.baseOffset, offset, endOffset)
        ? segment.cursor
        : undefined;
    const buf = this.segments.mapped(segment);
    if (from !== undefined) {
      const position = scanTo(buf, from, offset, endOffset);
      if (position >= 0) return position;
    }
    const position = scanTo(
      buf,
      { offset: segment.baseOffset, segmentBaseOffset: segment.baseOffset, positionBytes: 0 },
      offset,
      endOffset,
    );
    if (position < 0) assert.fail(`segment ${segment.baseOffset} has no batch start at position 0`);
    return position;
  }
}

/** Whether a hint or cursor may be a start for `offset`: in its segment, at or before it and the committed end. */
function startsBefore(from: ReadHint | undefined, segmentBaseOffset: number, offset: number, endOffset: number): from is ReadHint {
  return from !== undefined && from.segmentBaseOffset === segmentBaseOffset && from.offset <= offset && from.offset <= endOffset;
}

/**
 * Walks batch headers from `from` (a batch start and an offset inside that batch: an iterator
 * cut by its Limit resumes mid-batch) to the batch holding `offset`, or to where the committed
 * data ends (`endOffset`). -1 when `from` does not land on such a batch: a stale hint or cursor.
 */
function scanTo(buf: Buffer, from: ReadHint, offset: number, endOffset: number): number {
  let position = from.positionBytes;
  for (let batchOffset = from.offset; batchOffset < endOffset;) {
    const header = readBatchHeader(buf, position);
    if (header.baseOffset > batchOffset || batchOffset >= header.baseOffset + header.recordCount) return -1;
    if (offset < header.baseOffset + header.recordCount) return position;
    position += header.batchBytes;
    batchOffset = header.baseOffset + header.recordCount;
  }
  return position;
}
