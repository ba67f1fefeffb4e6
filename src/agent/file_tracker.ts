/*
 * The files a flow tails (docs/AGENT.md): every file its pattern matches (globs in any segment,
 * `**`, exclusions), each read on its own, and each known by its identity rather than its name:
 * the device and inode while it lives, and a checksum fingerprint of its first bytes (Vector's
 * strategy), so that a file renamed by logrotate is read on under its new name, a copytruncate's
 * copy continues where the truncated file was, a truncated or refilled file starts over, and a
 * checkpoint from an earlier run finds its file whatever it is called now. A file that stops
 * matching (rotated away, deleted) is read to its end, then let go once it has been quiet for
 * ROTATE_WAIT_MS.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { glob } from 'tinyglobby';
import type { FileCheckpoint } from './checkpoints.js';

export const FINGERPRINT_BYTES = 1024;
const ROTATE_WAIT_MS = 5000;

export interface TrackedFile {
  path: string;
  readonly dev: number;
  readonly ino: number;
  fingerprint: string;
  fingerprintBytes: number;
  readonly handle: fs.promises.FileHandle;
  /** The next byte to read. */
  readOffset: number;
  /** Where a restart resumes: the end of the last acknowledged record. */
  ackedOffset: number;
  /** The end of the records handed to a send (acknowledged or not). */
  sentOffset: number;
  /** After a restart, records ending at or before this may have arrived already. */
  readonly duplicatesUntil: number;
  /** false once the file stopped matching: it is read to its end, then let go. */
  matching: boolean;
  lastChangeMs: number;
  /** Bumped when the file starts over (truncated): the records read before belong to the old content. */
  generation: number;
}

/** What a truncated file was: a copy of it (copytruncate's) continues from there. */
interface Truncated {
  readonly file: TrackedFile;
  readonly fingerprint: string;
  readonly fingerprintBytes: number;
  readonly readOffset: number;
  readonly ackedOffset: number;
}

export interface TrackerOptions {
  readonly pattern: string;
  readonly exclude: readonly string[];
  /** START_OF_FILE, or END_OF_FILE for the files there at the first start with no checkpoint. */
  readonly fromEnd: boolean;
  /** Called when a file starts over or is let go, so that its pending records are dropped or flushed. */
  readonly onRestart: (file: TrackedFile) => void;
  /** A file that matches but cannot be opened (permissions): reported, and tried again at the next refresh. */
  readonly onUnreadable: (file: string, error: unknown) => void;
}

export class FileTracker {
  readonly files: TrackedFile[] = [];
  private first = true;

  constructor(
    private readonly options: TrackerOptions,
    private checkpoints: readonly FileCheckpoint[],
  ) {}

  /** Matches the pattern again and reconciles what it finds with the files tracked and the checkpoints. */
  async refresh(nowMs: number): Promise<void> {
    const found: { file: string; stat: fs.Stats }[] = [];
    for (const file of await this.matches()) {
      const stat = await fs.promises.stat(file).catch(() => null);
      if (stat !== null && stat.isFile()) found.push({ file, stat });
    }
    const seen = new Set<TrackedFile>();
    const truncated: Truncated[] = [];
    const fresh: typeof found = [];
    // Known files first: a truncation must be seen before its copy is (copytruncate).
    for (const { file, stat } of found) {
      const known = this.files.find((tracked) => tracked.dev === stat.dev && tracked.ino === stat.ino);
      if (known === undefined) {
        fresh.push({ file, stat });
        continue;
      }
      seen.add(known);
      known.path = file;
      known.matching = true;
      if (stat.size < known.readOffset) truncated.push(await this.startOver(known, nowMs));
    }
    for (const { file, stat } of fresh) {
      const tracked = await this.open(file, stat, nowMs, truncated);
      if (tracked !== null) seen.add(tracked);
    }
    for (const tracked of this.files) if (!seen.has(tracked)) tracked.matching = false;
    this.first = false;
  }

  /** Lets go of the files that stopped matching, were read to their end and have been quiet. */
  async release(nowMs: number, settled: (file: TrackedFile) => boolean): Promise<TrackedFile[]> {
    const released: TrackedFile[] = [];
    for (const tracked of [...this.files]) {
      if (tracked.matching || nowMs - tracked.lastChangeMs < ROTATE_WAIT_MS || !settled(tracked)) continue;
      const size = (await tracked.handle.stat()).size;
      if (size > tracked.readOffset) continue;
      this.files.splice(this.files.indexOf(tracked), 1);
      await tracked.handle.close();
      released.push(tracked);
    }
    return released;
  }

  /** The file's checkpoint as it stands. */
  checkpointOf(tracked: TrackedFile, nowMs: number): FileCheckpoint {
    return {
      path: tracked.path,
      dev: tracked.dev,
      ino: tracked.ino,
      fingerprint: tracked.fingerprint,
      fingerprintBytes: tracked.fingerprintBytes,
      ackedOffset: tracked.ackedOffset,
      sentOffset: tracked.sentOffset,
      updatedMs: nowMs,
    };
  }

  /** A fingerprint over fewer than FINGERPRINT_BYTES grows with its file (its prefix checked first). */
  async refreshFingerprint(tracked: TrackedFile): Promise<void> {
    if (tracked.fingerprintBytes >= FINGERPRINT_BYTES) return;
    const next = await fingerprintOf(tracked.handle);
    if (next.bytes > tracked.fingerprintBytes) {
      tracked.fingerprint = next.fingerprint;
      tracked.fingerprintBytes = next.bytes;
    }
  }

  private async matches(): Promise<string[]> {
    const { base, rest } = splitPattern(this.options.pattern);
    if (!fs.existsSync(base)) return [];
    return glob(rest, {
      cwd: base,
      absolute: true,
      onlyFiles: true,
      dot: false,
      ignore: [...this.options.exclude],
      followSymbolicLinks: true,
    });
  }

  /** Truncated (copytruncate, or a writer that starts over): read from 0; its old content may live on in a copy. */
  private async startOver(tracked: TrackedFile, nowMs: number): Promise<Truncated> {
    const before: Truncated = {
      file: tracked,
      fingerprint: tracked.fingerprint,
      fingerprintBytes: tracked.fingerprintBytes,
      readOffset: tracked.readOffset,
      ackedOffset: tracked.ackedOffset,
    };
    this.options.onRestart(tracked);
    const next = await fingerprintOf(tracked.handle);
    tracked.fingerprint = next.fingerprint;
    tracked.fingerprintBytes = next.bytes;
    tracked.readOffset = tracked.ackedOffset = tracked.sentOffset = 0;
    tracked.generation++;
    tracked.lastChangeMs = nowMs;
    return before;
  }

  /** A file not tracked yet: a copy of a truncated one, a file of the checkpoints, or a new file. */
  private async open(file: string, stat: fs.Stats, nowMs: number, truncated: readonly Truncated[]): Promise<TrackedFile | null> {
    const handle = await fs.promises.open(file, 'r').catch((error: unknown) => {
      this.options.onUnreadable(file, error);
      return null;
    });
    if (handle === null) return null;
    const { fingerprint, bytes } = await fingerprintOf(handle);
    const sameContent = async (known: { fingerprint: string; fingerprintBytes: number }): Promise<boolean> =>
      bytes > 0 && known.fingerprintBytes > 0 && (await samePrefix(fingerprint, bytes, known, handle));
    const copied = await firstOf(truncated, sameContent);
    const checkpoint =
      copied === undefined
        ? await firstOf(this.checkpoints, async (entry) => (await sameContent(entry)) && resumesIn(entry, stat))
        : undefined;
    const start = copied?.readOffset ?? checkpoint?.ackedOffset ?? (this.first && this.options.fromEnd ? stat.size : 0);
    const tracked: TrackedFile = {
      path: file,
      dev: stat.dev,
      ino: stat.ino,
      fingerprint,
      fingerprintBytes: bytes,
      handle,
      readOffset: start,
      ackedOffset: copied?.ackedOffset ?? start,
      sentOffset: copied?.ackedOffset ?? start,
      duplicatesUntil: checkpoint?.sentOffset ?? 0,
      matching: true,
      lastChangeMs: nowMs,
      generation: 0,
    };
    if (checkpoint !== undefined) this.checkpoints = this.checkpoints.filter((entry) => entry !== checkpoint);
    // A copy is read before the file it was copied from, which now holds what came after.
    if (copied === undefined) this.files.push(tracked);
    else this.files.splice(this.files.indexOf(copied.file), 0, tracked);
    return tracked;
  }
}

/** A checkpoint whose content matches is this file's when the inode agrees too, or the file holds its position (it was copied). */
function resumesIn(entry: FileCheckpoint, stat: fs.Stats): boolean {
  return (entry.dev === stat.dev && entry.ino === stat.ino) || entry.ackedOffset <= stat.size;
}

async function firstOf<T>(items: readonly T[], matches: (item: T) => Promise<boolean>): Promise<T | undefined> {
  for (const item of items) if (await matches(item)) return item;
  return undefined;
}

/** The pattern's directory without globs, and the rest (tinyglobby matches below a directory). */
export function splitPattern(pattern: string): { base: string; rest: string } {
  const parts = pattern.split('/');
  const firstGlob = parts.findIndex((part) => /[*?[\]{}!]/.test(part));
  if (firstGlob < 0) return { base: path.dirname(pattern), rest: path.basename(pattern) };
  return { base: parts.slice(0, firstGlob).join('/') || '/', rest: parts.slice(firstGlob).join('/') };
}

async function fingerprintOf(handle: fs.promises.FileHandle): Promise<{ fingerprint: string; bytes: number }> {
  const buffer = Buffer.alloc(FINGERPRINT_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, FINGERPRINT_BYTES, 0);
  return { fingerprint: createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex'), bytes: bytesRead };
}

/** Whether the file's first `known.fingerprintBytes` hash as `known` did (a file only grows past its prefix). */
async function samePrefix(
  fingerprint: string,
  bytes: number,
  known: { fingerprint: string; fingerprintBytes: number },
  handle: fs.promises.FileHandle,
): Promise<boolean> {
  if (bytes === known.fingerprintBytes) return fingerprint === known.fingerprint;
  if (bytes < known.fingerprintBytes) return false;
  const buffer = Buffer.alloc(known.fingerprintBytes);
  await handle.read(buffer, 0, known.fingerprintBytes, 0);
  return createHash('sha256').update(buffer).digest('hex') === known.fingerprint;
}
