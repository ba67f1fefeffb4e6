import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CLEAN_SHUTDOWN_FILE, TMP_SUFFIX, parseSegmentFileName, segmentPaths } from './file_names.js';
import { readRecoveryPoint, type LogPosition } from './recovery_point.js';
import { LogSegment, type SegmentGeometry } from './segment.js';

/** What opening a log found and did; `Log.recovery` exposes it. */
export interface RecoveryReport {
  /** The log had been closed cleanly. */
  readonly clean: boolean;
  /** Segments whose batches were walked to rebuild their indexes (the tail). */
  readonly segmentsScanned: number;
  /** Bytes whose checksums were verified (everything past the recovery point). */
  readonly bytesVerified: number;
  /** Bytes cut from the tail: a torn or corrupt last batch and anything after it. */
  readonly bytesTruncated: number;
  /** Segments deleted because a gap or corruption came before them. */
  readonly segmentsDeleted: number;
  /** Records the recovery point said were on disk are missing: the disk lost acknowledged data. */
  readonly durableRecordsLost: number;
}

export interface LoadedLog {
  /** In offset order; the last is the active segment, open for writing. */
  readonly segments: LogSegment[];
  readonly report: RecoveryReport;
  /**
   * No segment was on disk: the one segment is new and empty, so there is nothing to checkpoint.
   */
  readonly created: boolean;
  /** Names in the directory changed (new files, the clean-shutdown marker gone) and are not synced yet. */
  readonly directoryUnsynced: boolean;
  /** The recovery point found on disk, if any. */
  readonly point: LogPosition | null;
}

/**
 * Opens a log directory, in the order docs/FORMAT.md gives ("Opening a log"): tidy leftovers;
 * trust the segments before the recovery point; walk and verify from the recovery point to the
 * first invalid batch; truncate there; delete segments after a gap; remove the clean-shutdown
 * marker. Recovery costs the segments from the recovery point on, not the size of the log.
 */
export async function loadLog(dir: string, geometry: SegmentGeometry): Promise<LoadedLog> {
  fs.mkdirSync(dir, { recursive: true });
  const bases = tidyDirectory(dir);
  const clean = fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
  const point = readRecoveryPoint(dir);
  if (bases.length === 0) {
    // The new files' names become durable with the log's first sync (Log.syncNames).
    const segment = LogSegment.create(dir, point?.nextOffset ?? 0, geometry);
    removeCleanMarker(dir, clean);
    return { segments: [segment], report: emptyReport(clean), created: true, directoryUnsynced: true, point };
  }
  const first = firstToRecover(bases, point);
  const segments = bases.slice(0, first).map((base, i) => LogSegment.trusted(dir, base, bases[i + 1]!, geometry));
  const report = await recoverTail(dir, bases.slice(first), verifyFrom(bases[first]!, point), geometry, segments);
  assertLoaded(segments);
  const active = segments.at(-1)!;
  // A recovery point is written only once the data up to it is synced: a log that ends there
  // (closed cleanly, or idle when it crashed) needs no fdatasync; 10,000 shards restart without.
  if (point !== null && point.segmentBaseOffset === active.baseOffset && point.positionBytes === active.sizeBytes) active.assumeSynced();
  else await active.sync();
  const endOffset = active.nextOffset;
  removeCleanMarker(dir, clean);
  return {
    segments,
    report: { ...report, clean, durableRecordsLost: point === null ? 0 : Math.max(0, point.nextOffset - endOffset) },
    created: false,
    directoryUnsynced: clean,
    point,
  };
}

/** What every open leaves: sealed segments, each ending where the next begins, then one writable segment. */
function assertLoaded(segments: readonly LogSegment[]): void {
  segments.forEach((segment, i) => {
    const next = segments[i + 1];
    if (next === undefined) assert(segment.isWritable, `the last segment ${segment.baseOffset} is not writable`);
    else
      assert(
        !segment.isWritable && segment.nextOffset === next.baseOffset,
        `segment ${segment.baseOffset} does not end where ${next.baseOffset} begins`,
      );
  });
}

/** Deletes unfinished metadata writes and orphaned index files; returns the segment bases in order. */
function tidyDirectory(dir: string): number[] {
  const names = fs.readdirSync(dir);
  const logBases = new Set<number>();
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed?.kind === 'log') logBases.add(parsed.baseOffset);
  }
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    const orphan = parsed !== null && parsed.kind !== 'log' && !logBases.has(parsed.baseOffset);
    if (name.endsWith(TMP_SUFFIX) || orphan) fs.rmSync(path.join(dir, name), { force: true });
  }
  return [...logBases].sort((a, b) => a - b);
}

/** Index of the first segment to walk: the recovery point's, or all of them without one. */
function firstToRecover(bases: readonly number[], point: LogPosition | null): number {
  if (point === null) return 0;
  const index = bases.findIndex((base) => base >= point.segmentBaseOffset);
  return index < 0 ? bases.length - 1 : index;
}

function verifyFrom(base: number, point: LogPosition | null): number {
  return point !== null && point.segmentBaseOffset === base ? point.positionBytes : 0;
}

/** Walks the tail segments, appending them to `segments`; see loadLog. */
async function recoverTail(
  dir: string,
  bases: readonly number[],
  firstVerifyFromBytes: number,
  geometry: SegmentGeometry,
  segments: LogSegment[],
): Promise<Omit<RecoveryReport, 'clean' | 'durableRecordsLost'>> {
  let bytesVerified = 0;
  let bytesTruncated = 0;
  let segmentsDeleted = 0;
  let segmentsScanned = 0;
  for (let i = 0; i < bases.length; i++) {
    const verifyFromBytes = i === 0 ? firstVerifyFromBytes : 0;
    const { segment, scan } = LogSegment.recover(dir, bases[i]!, verifyFromBytes, -1, geometry);
    segmentsScanned++;
    bytesVerified += Math.max(0, scan.endBytes - verifyFromBytes);
    bytesTruncated += nonZeroBytesAfter(segment, dir, scan.endBytes);
    segment.truncateTo(scan.endBytes);
    segments.push(segment);
    const nextBase = bases[i + 1];
    if (nextBase !== undefined && scan.nextOffset === nextBase) {
      await segment.sync();
      await segment.seal();
      continue;
    }
    for (const base of bases.slice(i + 1)) {
      bytesTruncated += fs.statSync(segmentPaths(dir, base).log).size;
      LogSegment.trusted(dir, base, base, geometry).delete();
      segmentsDeleted++;
    }
    break;
  }
  return { segmentsScanned, bytesVerified, bytesTruncated, segmentsDeleted };
}

/**
 * Bytes past the valid end up to the last non-zero one: what recovery cuts. The zeros of
 * preallocation are not data and do not count.
 */
function nonZeroBytesAfter(segment: LogSegment, dir: string, endBytes: number): number {
  const fileBytes = fs.statSync(segmentPaths(dir, segment.baseOffset).log).size;
  const buf = segment.mapped();
  let last = fileBytes;
  while (last > endBytes && buf[last - 1] === 0) last--;
  return last - endBytes;
}

/**
 * The marker goes, durably with the log's first sync (Log.syncNames): it only reports how the
 * log was closed (recovery verifies from the recovery point either way), and a directory fsync
 * per shard at every start made 10,000 shards wait on the journal.
 */
function removeCleanMarker(dir: string, clean: boolean): void {
  if (clean) fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });
}

function emptyReport(clean: boolean): RecoveryReport {
  return { clean, segmentsScanned: 0, bytesVerified: 0, bytesTruncated: 0, segmentsDeleted: 0, durableRecordsLost: 0 };
}
