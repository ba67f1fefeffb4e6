/*
 * The page-cache write rate: fs.writeSync of one buffer size appended to a new file, the ceiling
 * a log append (bench:log) and a producer of large records (bench:net) are measured against in
 * the same run, on the same disk, since a VM's rate moves from one hour to the next.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GIB, MB, Progress, patternBytes, round1 } from './bench_common.js';

/** A phase stops here even before its time is up: the disk's free space is finite. */
const PHASE_BYTES_MAX = 16 * GIB;

export interface RawFigures {
  readonly writes: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly mbPerSec: number;
  readonly fdatasyncEvery: number | null;
}

/** Writes `buf` to `fd` until the deadline; returns the write count and the seconds taken. */
function writeUntil(
  fd: number,
  buf: Buffer,
  deadline: number,
  fdatasyncEvery: number | null,
  label: string,
): { writes: number; seconds: number } {
  const writesMax = Math.ceil(PHASE_BYTES_MAX / buf.length);
  const progress = new Progress(label);
  const start = performance.now();
  let writes = 0;
  for (; writes < writesMax && performance.now() < deadline; writes++) {
    const written = fs.writeSync(fd, buf, 0, buf.length);
    assert.equal(written, buf.length, 'short write');
    if (fdatasyncEvery !== null && (writes + 1) % fdatasyncEvery === 0) fs.fdatasyncSync(fd);
    progress.tick(writes + 1, (writes + 1) * buf.length);
  }
  return { writes, seconds: (performance.now() - start) / 1000 };
}

/** fs.writeSync of `bufferBytes` buffers, appended to one new file in `root` (deleted after), for `seconds`. */
export function rawWritePhase(root: string, name: string, bufferBytes: number, fdatasyncEvery: number | null, seconds: number): RawFigures {
  const file = path.join(root, `${name}.dat`);
  const buf = Buffer.from(patternBytes(bufferBytes));
  const fd = fs.openSync(file, 'w');
  let timed: { writes: number; seconds: number };
  try {
    timed = writeUntil(fd, buf, performance.now() + seconds * 1000, fdatasyncEvery, name);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const { writes } = timed;
  const figures = {
    writes,
    bytes: writes * buf.length,
    seconds: Math.round(timed.seconds * 100) / 100,
    mbPerSec: round1((writes * buf.length) / MB / timed.seconds),
    fdatasyncEvery,
  };
  console.log(`${name}: ${figures.mbPerSec} MB/s (${writes} writes of ${buf.length} B)`);
  return figures;
}
