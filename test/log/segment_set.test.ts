import { AssertionError } from 'node:assert';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { realStorage } from '../../src/native/storage.js';
import { Log } from '../../src/log/log.js';
import { DEFAULT_LOG_OPTIONS } from '../../src/log/log_config.js';
import { readBatchHeader } from '../../src/log/record_batch.js';
import type { LogPosition } from '../../src/log/recovery_point.js';
import { LogSegment } from '../../src/log/segment.js';
import { SegmentSet } from '../../src/log/segment_set.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: SegmentSet answers each question about a log's segments at its edges as documented,
// keeps at most openSegmentsMax sealed segments open, and reads across segments within that.
// Method: a real log of 4 KiB segments written and closed, its segments reopened as the
// trusted LogSegments a later open would make, and a new writable segment after them.

const GEOMETRY = {
  segmentBytes: 4096,
  indexIntervalBytes: DEFAULT_LOG_OPTIONS.indexIntervalBytes,
  preallocateBytes: 4096,
  storage: realStorage,
};

interface Fixture {
  readonly segments: LogSegment[];
  readonly bases: number[];
  readonly endOffset: number;
  /** The committed position at the end of the last sealed segment. */
  readonly committed: LogPosition;
}

async function sealedSegments(): Promise<Fixture> {
  const dir = tempDir();
  const log = await Log.open(dir, { segmentBytes: GEOMETRY.segmentBytes, fsync: 'never' });
  for (let i = 0; i < 60; i++)
    await log.append(Array.from({ length: 5 }, (_, j) => ({ partitionKey: `k${i}-${j}`, data: Buffer.alloc(100, j) })));
  const endOffset = log.endOffset;
  await log.close();
  const bases = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .map((name) => Number(name.slice(0, 20)));
  const sizeBytes = (base: number): number => fs.statSync(`${dir}/${String(base).padStart(20, '0')}.log`).size;
  // The closed log's last segment is sealed too; a writable segment follows it, as after a roll.
  const segments = bases.map((base, i) => LogSegment.trusted(dir, base, bases[i + 1] ?? endOffset, GEOMETRY));
  segments.push(LogSegment.create(dir, endOffset, GEOMETRY));
  const last = bases.at(-1)!;
  return {
    segments,
    bases: [...bases, endOffset],
    endOffset,
    committed: { nextOffset: endOffset, segmentBaseOffset: last, positionBytes: sizeBytes(last) },
  };
}

describe('SegmentSet lookups at the edges', () => {
  it('floorIndex: -1 below the first segment and in an empty set, the active one at and past the end', async () => {
    const { segments, bases, endOffset } = await sealedSegments();
    const set = new SegmentSet(segments, 4);
    expect(new SegmentSet([], 4).floorIndex(0)).toBe(-1);
    expect(new SegmentSet(segments.slice(1), 4).floorIndex(bases[1]! - 1)).toBe(-1);
    expect(set.floorIndex(0)).toBe(0);
    expect(set.floorIndex(bases[2]!)).toBe(2);
    expect(set.floorIndex(bases[2]! - 1)).toBe(1);
    expect(set.floorIndex(endOffset)).toBe(segments.length - 1);
    expect(set.floorIndex(endOffset + 1000)).toBe(segments.length - 1);
    expect(set.floorSegment(bases[3]! + 1)).toBe(segments[3]);
    expect(set.floorSegment(-1)).toBeUndefined();
    expect(set.first).toBe(segments[0]);
    expect(set.active).toBe(segments.at(-1));
    set.closeAll();
  });

  it('committedEndOffset: the next base before the committed segment, the committed offset in it, nothing after it', async () => {
    const { segments, bases, endOffset, committed } = await sealedSegments();
    const set = new SegmentSet(segments, 4);
    const committedIndex = segments.length - 2;
    expect(set.committedEndOffset(0, committed)).toBe(bases[1]);
    expect(set.committedEndOffset(committedIndex, committed)).toBe(endOffset);
    expect(set.committedEndOffset(committedIndex + 1, committed)).toBe(endOffset); // rolled to, nothing in it
    const earlier = { nextOffset: bases[1]! + 3, segmentBaseOffset: bases[1]!, positionBytes: 0 };
    expect(set.committedEndOffset(1, earlier)).toBe(bases[1]! + 3);
    expect(set.committedEndOffset(2, earlier)).toBe(bases[2]); // appended but not committed: nothing readable
    set.closeAll();
  });

  it('refuses segments out of order', async () => {
    const { segments } = await sealedSegments();
    expect(() => new SegmentSet([segments[1]!, segments[0]!], 4)).toThrow(AssertionError);
    const set = new SegmentSet(segments.slice(0, 3), 4);
    expect(() => set.append(segments[1]!)).toThrow(AssertionError);
    expect(() => set.replace([segments[2]!, segments[2]!])).toThrow(AssertionError);
    expect(() => set.removeOldest(3)).toThrow(AssertionError); // never the active one
    expect(() => new SegmentSet(segments, 0)).toThrow(AssertionError);
    for (const segment of segments) segment.close();
  });
});

describe('SegmentSet open segments', () => {
  it('keeps the openSegmentsMax most recently used sealed segments open, and every writable one', async () => {
    const { segments } = await sealedSegments();
    const set = new SegmentSet(segments, 2);
    const active = set.active;
    for (const segment of segments) set.opened(segment);
    set.opened(segments[1]!);
    expect(segments.filter((segment) => segment.isOpen)).toEqual([segments[1], segments.at(-2), active]);
    const removed = set.removeOldest(2);
    expect(removed).toEqual(segments.slice(0, 2));
    removed[1]!.close();
    set.opened(segments[2]!);
    // The removed one no longer counts.
    expect(segments.filter((segment) => segment.isOpen)).toEqual([segments[2], segments.at(-2), active]);
    set.replace(segments.slice(3));
    expect(segments[2]!.isOpen).toBe(false); // dropped by replace: closed
    set.closeAll();
    expect(segments.some((segment) => segment.isOpen)).toBe(false);
  });
});

describe('SegmentSet reads', () => {
  it('reads whole batches across segments up to the committed end, at most openSegmentsMax segments at a time', async () => {
    const { segments, bases, endOffset, committed } = await sealedSegments();
    const set = new SegmentSet(segments, 3);
    const first = set.read({ index: 0, positionBytes: 0, offset: 0 }, 1 << 30, committed);
    expect(first.chunks.length).toBe(3);
    expect(first.chunks.every((chunk) => chunk.length > 0)).toBe(true);
    expect(first.chunkStarts).toEqual(bases.slice(0, 3).map((base) => ({ segmentBaseOffset: base, positionBytes: 0 })));
    expect(first.nextOffset).toBe(bases[3]);
    expect(first.next).toEqual({ offset: bases[3], segmentBaseOffset: bases[3], positionBytes: 0 });
    const byBytes = set.read({ index: 0, positionBytes: 0, offset: 0 }, 1, committed);
    const header = readBatchHeader(byBytes.chunks[0]!, 0);
    expect(byBytes.chunks[0]!.length).toBe(header.batchBytes); // at least one batch, then maxBytes
    expect(byBytes.next).toEqual({ offset: header.recordCount, segmentBaseOffset: 0, positionBytes: header.batchBytes });
    const last = set.read({ index: segments.length - 2, positionBytes: 0, offset: bases.at(-2)! }, 1 << 30, committed);
    expect(last.nextOffset).toBe(endOffset); // stops at the committed end: the writable segment holds nothing yet
    expect(last.next).toEqual({ offset: endOffset, segmentBaseOffset: bases.at(-2), positionBytes: committed.positionBytes });
    set.closeAll();
  });
});
