import path from 'node:path';

/*
 * Every file name of a log directory (docs/FORMAT.md, "Directory of one log"). Segment files are
 * named by their base offset in 20 zero-padded digits, so that `ls` lists them in offset order.
 */

export const LOG_SUFFIX = '.log';
export const OFFSET_INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TMP_SUFFIX = '.tmp';
export const RECOVERY_POINT_FILE = 'recovery-point';
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';

const OFFSET_DIGITS = 20;
const SEGMENT_FILE_PATTERN = /^(\d{20})\.(log|index|timeindex)$/;

export function segmentFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0');
}

export interface SegmentPaths {
  readonly log: string;
  readonly offsetIndex: string;
  readonly timeIndex: string;
}

export function segmentPaths(dir: string, baseOffset: number): SegmentPaths {
  const stem = path.join(dir, segmentFileStem(baseOffset));
  return { log: stem + LOG_SUFFIX, offsetIndex: stem + OFFSET_INDEX_SUFFIX, timeIndex: stem + TIME_INDEX_SUFFIX };
}

/** The base offset and kind of a segment file name, or null for any other name. */
export function parseSegmentFileName(name: string): { baseOffset: number; kind: 'log' | 'index' | 'timeindex' } | null {
  const match = SEGMENT_FILE_PATTERN.exec(name);
  if (match === null) return null;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset, kind: match[2] as 'log' | 'index' | 'timeindex' };
}
