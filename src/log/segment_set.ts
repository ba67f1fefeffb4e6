import assert from 'node:assert/strict';
import { takeBatches } from './record_batch.js';
import type { LogPosition } from './recovery_point.js';
import { floorIndex } from '../util/floor_index.js';

/** What a SegmentSet holds: one segment's .log file, mapped on demand. */
export interface SetSegment {
  readonly baseOffset: number;
  /** A writable segment is its owner's to close: the set never evicts it. */
  readonly isWritable: boolean;
  /** The mapped .log file, opening the segment's files if they are closed. */
  mapped(): Buffer;
  /** Closes its descriptors and mappings (views of them read as empty); mapped() reopens. */
  close(): void;
}

/** Where the batch holding an offset starts, handed back by reads so the next read need not search. */
export interface ReadHint {
  readonly offset: number;
  readonly segmentBaseOffset: number;
  readonly positionBytes: number;
}

export interface ChunkStart {
  readonly segmentBaseOffset: number;
  readonly positionBytes: number;
}

export interface ReaderReadResult {
  readonly startOffset: number;
  /** The offset after the last record of the last batch returned. */
  readonly nextOffset: number;
  /** Whole batches, as views of the mapped segment files (one chunk per segment). */
  readonly chunks: readonly Buffer[];
  /** Where each chunk starts: its segment and position there. */
  readonly chunkStarts: readonly ChunkStart[];
  /** Where the batch holding nextOffset starts, for the next read. */
  readonly next: ReadHint;
}

/** Where a read starts: segment `index` of the set, the batch start at `positionBytes`, `offset` in that batch. */
export interface ReadStart {
  readonly index: number;
  readonly positionBytes: number;
  readonly offset: number;
}

/**
 * The segments of one log, in offset order (Kafka's LogSegments): the last is the active one.
 * Both the owner (Log, over LogSegments) and readers on other threads (LogReader, over
 * read-only mappings) hold one, so both find segments, bound their open files and read batches
 * the same way.
 *
 * Sealed segments open on first use and stay open while they are among the openSegmentsMax most
 * recently used; the least recently used is closed when one more opens. Writable segments are
 * always open and not counted. One read touches at most openSegmentsMax segments, so that the
 * views it returns are still mapped when it returns.
 *
 * Invariants: base offsets strictly increase; segment i holds offsets [base(i), base(i + 1));
 * at most openSegmentsMax sealed segments are open through the set.
 */
export class SegmentSet<S extends SetSegment> {
  private segments: S[];
  /** Sealed segments opened through the set, least recently used first. */
  private readonly recent = new Set<S>();

  constructor(
    segments: readonly S[],
    readonly openSegmentsMax: number,
  ) {
    assert(
      Number.isSafeInteger(openSegmentsMax) && openSegmentsMax >= 1,
      `openSegmentsMax must be a positive integer, got ${openSegmentsMax}`,
    );
    assertIncreasing(segments);
    this.segments = [...segments];
  }

  get count(): number {
    return this.segments.length;
  }

  /** Every segment, oldest first. */
  get all(): readonly S[] {
    return this.segments;
  }

  /** The oldest segment; the set must not be empty. */
  get first(): S {
    assert(this.segments.length > 0, 'no segments');
    return this.segments[0]!;
  }

  /** The newest segment, the one appends go to; the set must not be empty. */
  get active(): S {
    assert(this.segments.length > 0, 'no segments');
    return this.segments[this.segments.length - 1]!;
  }

  // Asserts on paths run for every read build their messages only when they fail.

  /** Segment `index` (0 is the oldest); `index` must be in [0, count). */
  at(index: number): S {
    const segment = this.segments[index];
    if (segment === undefined) assert.fail(`no segment ${index} of ${this.segments.length}`);
    return segment;
  }

  /**
   * The index of the segment that holds `offset`: the last whose base offset is at most it.
   * -1 when the set is empty or `offset` is below the first base offset. An offset at or past
   * the active segment's end gives the active segment.
   */
  floorIndex(offset: number): number {
    if (this.segments.length === 0 || offset < this.segments[0]!.baseOffset) return -1;
    return floorIndex(this.segments, offset, (segment) => segment.baseOffset);
  }

  /** The segment floorIndex(offset) names, or undefined where it says -1. */
  floorSegment(offset: number): S | undefined {
    return this.segments[this.floorIndex(offset)];
  }

  /**
   * The offset after the last record of segment `index` that readers may read, given the
   * committed position: the next segment's base offset for a segment before the committed one,
   * the committed offset for the committed one, and the segment's own base offset (nothing
   * readable) for any later one (rolled to, not yet written and committed).
   */
  committedEndOffset(index: number, committed: LogPosition): number {
    const segment = this.at(index);
    if (segment.baseOffset === committed.segmentBaseOffset) return committed.nextOffset;
    if (segment.baseOffset > committed.segmentBaseOffset) return segment.baseOffset;
    const next = this.segments[index + 1];
    // A segment before the committed one is whole, and the committed one follows it in the set.
    if (next === undefined || next.baseOffset > committed.segmentBaseOffset)
      assert.fail(`segment ${segment.baseOffset} ends nowhere before committed segment ${committed.segmentBaseOffset}`);
    return next.baseOffset;
  }

  /** Adds a new active segment (a roll); its base offset is above every other's. */
  append(segment: S): void {
    assert(
      this.segments.length === 0 || segment.baseOffset > this.active.baseOffset,
      `segment ${segment.baseOffset} does not follow ${this.segments.at(-1)?.baseOffset}`,
    );
    this.segments.push(segment);
  }

  /**
   * Removes the `count` oldest segments (retention) and returns them, still open: closing or
   * deleting them is the caller's. Never the active one.
   */
  removeOldest(count: number): S[] {
    assert(
      Number.isSafeInteger(count) && count >= 0 && count < this.segments.length,
      `cannot remove ${count} of ${this.segments.length} segments`,
    );
    const removed = this.segments.splice(0, count);
    for (const segment of removed) this.recent.delete(segment);
    return removed;
  }

  /** Replaces the list (a reader re-listing the directory); segments no longer in it are closed. */
  replace(segments: readonly S[]): void {
    assertIncreasing(segments);
    const kept = new Set(segments);
    for (const segment of this.segments) {
      if (kept.has(segment)) continue;
      this.recent.delete(segment);
      segment.close();
    }
    this.segments = [...segments];
  }

  /**
   * The segment, with its files open and counted as just used. Every access that may open a
   * sealed segment's files goes through here (or mapped()), so at most openSegmentsMax stay open.
   */
  opened(segment: S): S {
    this.mapped(segment);
    return segment;
  }

  /** The segment's mapped .log file, opened and counted as just used as opened() does. */
  mapped(segment: S): Buffer {
    const buf = segment.mapped();
    if (!segment.isWritable) {
      this.recent.delete(segment);
      this.recent.add(segment);
      this.evict();
    }
    return buf;
  }

  private evict(): void {
    for (const oldest of this.recent) {
      if (this.recent.size <= this.openSegmentsMax) break;
      this.recent.delete(oldest);
      oldest.close();
    }
  }

  /**
   * Whole batches from `start`, at most `maxBytes` of them (but always at least one, so a
   * reader always progresses), up to the committed end, across at most openSegmentsMax
   * segments: the one read loop of the log and its readers. Reads only batch headers: the
   * batches were verified when written or recovered.
   */
  read(start: ReadStart, maxBytes: number, committed: LogPosition): ReaderReadResult {
    const chunks: Buffer[] = [];
    const chunkStarts: ChunkStart[] = [];
    const lastIndex = Math.min(this.segments.length, start.index + this.openSegmentsMax) - 1;
    let walk = { position: start.positionBytes, nextOffset: start.offset, bytes: 0 };
    for (let index = start.index; ; index++) {
      const segment = this.at(index);
      const buf = this.mapped(segment);
      const endOffset = this.committedEndOffset(index, committed);
      const from = walk.position;
      walk = takeBatches(buf, walk, maxBytes, endOffset, segment.baseOffset);
      if (walk.position > from) {
        chunks.push(buf.subarray(from, walk.position));
        chunkStarts.push({ segmentBaseOffset: segment.baseOffset, positionBytes: from });
      }
      const whole = walk.nextOffset === endOffset && segment.baseOffset < committed.segmentBaseOffset;
      if (!whole) {
        return {
          startOffset: start.offset,
          nextOffset: walk.nextOffset,
          chunks,
          chunkStarts,
          next: { offset: walk.nextOffset, segmentBaseOffset: segment.baseOffset, positionBytes: walk.position },
        };
      }
      if (index === lastIndex) {
        const following = this.at(index + 1);
        return {
          startOffset: start.offset,
          nextOffset: walk.nextOffset,
          chunks,
          chunkStarts,
          next: { offset: walk.nextOffset, segmentBaseOffset: following.baseOffset, positionBytes: 0 },
        };
      }
      walk = { position: 0, nextOffset: walk.nextOffset, bytes: walk.bytes };
    }
  }

  /** Closes every segment. */
  closeAll(): void {
    this.recent.clear();
    for (const segment of this.segments) segment.close();
  }
}

function assertIncreasing(segments: readonly SetSegment[]): void {
  for (let i = 1; i < segments.length; i++) {
    assert(
      segments[i]!.baseOffset > segments[i - 1]!.baseOffset,
      `segment base offsets must increase: ${segments[i - 1]!.baseOffset} then ${segments[i]!.baseOffset}`,
    );
  }
}
