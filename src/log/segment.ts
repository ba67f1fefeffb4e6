import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CorruptLogError } from '../errors.js';
import { Advice, MappedFile, grownBytes } from '../index/mapped_file.js';
import type { Storage } from '../native/storage.js';
import { OffsetIndex } from '../index/offset_index.js';
import { TimeIndex } from '../index/time_index.js';
import { segmentPaths, type SegmentPaths } from './file_names.js';
import { PREALLOCATE_FIRST_BYTES } from './log_config.js';
import { BATCH_HEADER_BYTES, assertBatchHeader, readBatchHeader, verifyBatch, walkable, type BatchHeader } from './record_batch.js';
import { BATCH_STORED_BYTES_MAX } from './batch_cipher.js';

/** Sizes that decide a segment's files, and the storage they are written with; the log's options. */
export interface SegmentGeometry {
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  readonly preallocateBytes: number;
  readonly storage: Storage;
}

/** The most bytes a segment file can hold: it rolls before passing segmentBytes, but a batch is never split. */
function segmentBytesMax(geometry: SegmentGeometry): number {
  return geometry.segmentBytes + BATCH_STORED_BYTES_MAX;
}

function indexEntriesMax(geometry: SegmentGeometry): number {
  return Math.floor(segmentBytesMax(geometry) / geometry.indexIntervalBytes) + 2;
}

/** How a recovery scan of a segment ended. */
export interface ScanResult {
  /** Position after the last valid batch. */
  readonly endBytes: number;
  /** Offset after the last valid batch. */
  readonly nextOffset: number;
  /** Timestamp of the last valid batch, or the one given when there was none. */
  readonly lastTimestampMs: number;
}

/**
 * One segment: a .log file of record batches plus its offset and time indexes (docs/FORMAT.md).
 *
 * The active segment is open for writing: batches are appended with pwrite at `sizeBytes`, the
 * file is extended ahead of them with fallocate, and the indexes are written through their
 * mappings. A sealed segment is read-only; its files are opened lazily on the first read and may
 * be closed again to bound open descriptors and mappings (reads then reopen them).
 *
 * Invariants: batches fill [0, sizeBytes) exactly; their offsets run from baseOffset to
 * nextOffset - 1 without gaps; timestamps never decrease; every index entry points at a batch.
 */
export class LogSegment {
  private logFile: MappedFile | null = null;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private bytesSinceIndexEntry = 0;
  private lastTimestamp: number;

  private constructor(
    readonly baseOffset: number,
    private readonly paths: SegmentPaths,
    private readonly geometry: SegmentGeometry,
    private size: number,
    private next: number,
    private firstTimestamp: number,
    lastTimestamp: number,
    private writable: boolean,
  ) {
    this.lastTimestamp = lastTimestamp;
  }

  /**
   * Creates the files of a new, empty active segment. Files already there can only be the
   * leftovers of a roll that failed half-way (no segment holds this base offset yet): they go.
   */
  static create(dir: string, baseOffset: number, geometry: SegmentGeometry): LogSegment {
    const segment = new LogSegment(baseOffset, segmentPaths(dir, baseOffset), geometry, 0, baseOffset, -1, -1, true);
    for (const file of Object.values(segment.paths)) fs.rmSync(file, { force: true });
    segment.openFiles(false);
    return segment;
  }

  /**
   * A sealed segment found on disk and trusted (clean shutdown, or before the recovery point):
   * no file is opened until it is read. Its next offset is the next segment's base offset.
   */
  static trusted(dir: string, baseOffset: number, nextOffset: number, geometry: SegmentGeometry): LogSegment {
    const paths = segmentPaths(dir, baseOffset);
    const sizeBytes = fs.statSync(paths.log).size;
    return new LogSegment(baseOffset, paths, geometry, sizeBytes, nextOffset, -1, -1, false);
  }

  /**
   * Recovers a segment from its .log file: batches before `verifyFromBytes` are only walked
   * (they were verified and fsynced before the recovery point), batches from there on are
   * verified, up to the first invalid one. Rebuilds both indexes. The file is left as it is:
   * truncating to `endBytes` is the caller's decision.
   */
  static recover(
    dir: string,
    baseOffset: number,
    verifyFromBytes: number,
    previousTimestampMs: number,
    geometry: SegmentGeometry,
  ): { segment: LogSegment; scan: ScanResult } {
    const segment = new LogSegment(baseOffset, segmentPaths(dir, baseOffset), geometry, 0, baseOffset, -1, previousTimestampMs, true);
    segment.openFiles(false);
    const scan = segment.scan(verifyFromBytes);
    return { segment, scan };
  }

  get sizeBytes(): number {
    return this.size;
  }

  get nextOffset(): number {
    return this.next;
  }

  get isEmpty(): boolean {
    return this.next === this.baseOffset;
  }

  get isWritable(): boolean {
    return this.writable;
  }

  /** The size covered by the last fdatasync (-1: none known). */
  private syncedBytes = -1;

  /** Its data up to now is known to be on disk (a recovery point at its end says so). */
  assumeSynced(): void {
    this.syncedBytes = this.size;
  }

  get isOpen(): boolean {
    return this.logFile !== null;
  }

  get fd(): number {
    assert(this.logFile !== null, 'segment not open');
    return this.logFile.fd;
  }

  /** Arrival time of the first batch (-1 when empty); opens a sealed segment to learn it. */
  get firstTimestampMs(): number {
    if (this.firstTimestamp < 0 && !this.isEmpty) {
      this.firstTimestamp = readBatchHeader(this.mapped(), 0).timestampMs;
    }
    return this.firstTimestamp;
  }

  /** Arrival time of the last batch (-1 when empty); opens a sealed segment to learn it. */
  get lastTimestampMs(): number {
    if (this.lastTimestamp < 0 && !this.isEmpty) this.mapped();
    return this.lastTimestamp;
  }

  /** The mapped .log file, opening a sealed segment's files if needed. */
  mapped(): Buffer {
    if (this.logFile === null) this.openFiles(true);
    return this.logFile!.buffer;
  }

  private openFiles(trusted: boolean): void {
    const mapBytes = this.writable ? segmentBytesMax(this.geometry) : this.size;
    const storage = this.geometry.storage;
    this.logFile = MappedFile.open(this.paths.log, { fileWritable: this.writable, mapWritable: false, mapBytes, storage });
    if (this.writable) this.size = Math.min(this.size, this.logFile.sizeBytes);
    // A sealed segment is opened to be replayed front to back: ask for aggressive read-ahead.
    // Not the active one: its pages were just written and tailing readers want them kept.
    else this.logFile.advise(Advice.SEQUENTIAL);
    const entriesMax = indexEntriesMax(this.geometry);
    this.offsetIndex = trusted ? OffsetIndex.open(this.paths.offsetIndex, entriesMax, true, this.writable, storage) : null;
    this.timeIndex = trusted ? TimeIndex.open(this.paths.timeIndex, entriesMax, true, this.writable, storage) : null;
    if (trusted && this.indexesConsistent()) {
      this.readTail();
      return;
    }
    // Missing, mis-sized or inconsistent indexes (or a segment being recovered): rebuild them.
    // A read-only segment rebuilds in memory-backed files opened writable for the purpose.
    this.offsetIndex?.close();
    this.timeIndex?.close();
    this.offsetIndex = OffsetIndex.open(this.paths.offsetIndex, entriesMax, false, true, storage)!;
    this.timeIndex = TimeIndex.open(this.paths.timeIndex, entriesMax, false, true, storage)!;
    if (trusted) this.rebuildTrusted();
  }

  private indexesConsistent(): boolean {
    return (
      this.offsetIndex !== null &&
      this.timeIndex !== null &&
      this.offsetIndex.isConsistent(this.size) &&
      this.timeIndex.isConsistent(this.next - this.baseOffset)
    );
  }

  /** Reads the batches after the last index entry: they give the last timestamp and the check that the segment ends where expected. */
  private readTail(): void {
    const index = this.offsetIndex!;
    const start = index.entryCount === 0 ? { relativeOffset: 0, position: 0 } : index.entry(index.entryCount - 1);
    let position = start.position;
    let offset = this.baseOffset + start.relativeOffset;
    const buf = this.logFile!.buffer;
    while (position < this.size) {
      const header = this.checkedHeader(buf, position, offset, this.size);
      if (this.firstTimestamp < 0 && position === 0) this.firstTimestamp = header.timestampMs;
      this.lastTimestamp = header.timestampMs;
      position += header.batchBytes;
      offset += header.recordCount;
    }
    if (offset !== this.next) throw new CorruptLogError(`segment ${this.paths.log} ends at offset ${offset}, expected ${this.next}`);
  }

  private rebuildTrusted(): void {
    const expectedNext = this.next;
    const expectedSize = this.size;
    this.next = this.baseOffset;
    this.size = 0;
    const buf = this.logFile!.buffer;
    while (this.size < expectedSize) {
      const header = this.checkedHeader(buf, this.size, this.next, expectedSize);
      this.indexBatch(header, this.size);
    }
    if (this.next !== expectedNext)
      throw new CorruptLogError(`segment ${this.paths.log} ends at offset ${this.next}, expected ${expectedNext}`);
    this.offsetIndex!.seal();
    this.timeIndex!.seal();
  }

  private checkedHeader(buf: Buffer, position: number, expectedOffset: number, limitBytes: number): BatchHeader {
    const header = readBatchHeader(buf, position);
    if (!walkable(header, expectedOffset, position, limitBytes)) {
      throw new CorruptLogError(`segment ${this.paths.log}: no batch of offset ${expectedOffset} at position ${position}`);
    }
    return header;
  }

  /** Walks and indexes batches from 0, verifying those from `verifyFromBytes` on; see recover(). */
  private scan(verifyFromBytes: number): ScanResult {
    const buf = this.logFile!.buffer;
    const fileBytes = this.logFile!.sizeBytes;
    while (this.size < fileBytes) {
      const header = this.size < verifyFromBytes ? readBatchHeader(buf, this.size) : verifyBatch(buf, this.size, fileBytes);
      if (header === null || header.timestampMs < this.lastTimestamp || !walkable(header, this.next, this.size, fileBytes)) break;
      this.indexBatch(header, this.size);
    }
    assert(this.size <= fileBytes, 'scanned past the end of the file');
    return { endBytes: this.size, nextOffset: this.next, lastTimestampMs: this.lastTimestamp };
  }

  /**
   * Records a batch that now ends the segment: index entries, size, offsets, timestamps. Its
   * callers checked the batch (the writer sealed it; recovery verified or walked it, stopping
   * at anything else), so a batch that does not follow on is a programmer error. (This runs
   * for every batch: assertion messages are built only when one fails.)
   */
  private indexBatch(header: BatchHeader, position: number): void {
    if (!(position === this.size && header.baseOffset === this.next))
      assert.fail(`batch ${header.baseOffset} at ${position} does not follow offset ${this.next} at ${this.size}`);
    if (!(header.recordCount >= 1 && header.batchBytes >= BATCH_HEADER_BYTES && position + header.batchBytes <= this.logFile!.mapBytes))
      assert.fail(`batch ${header.baseOffset} out of shape`);
    if (position > 0 && this.bytesSinceIndexEntry >= this.geometry.indexIntervalBytes) {
      const relativeOffset = header.baseOffset - this.baseOffset;
      this.offsetIndex!.append(relativeOffset, position);
      this.timeIndex!.maybeAppend(header.timestampMs, relativeOffset);
      this.bytesSinceIndexEntry = 0;
    }
    if (position === 0) this.firstTimestamp = header.timestampMs;
    this.bytesSinceIndexEntry += header.batchBytes;
    this.size = position + header.batchBytes;
    this.next = header.baseOffset + header.recordCount;
    this.lastTimestamp = header.timestampMs;
  }

  /** Whether a batch of `batchBytes` and `recordCount` records must go to a new segment. */
  isFullFor(batchBytes: number, recordCount: number): boolean {
    if (this.size === 0) return false;
    this.mapped();
    return (
      this.size + batchBytes > this.geometry.segmentBytes ||
      this.next - this.baseOffset + recordCount > 0xffff_ffff ||
      this.offsetIndex!.isFull
    );
  }

  /**
   * Extends the file so a batch of `batchBytes` fits (doubling from PREALLOCATE_FIRST_BYTES up
   * to steps of preallocateBytes), and the indexes so an entry for it fits: any fallocate that
   * fails (ENOSPC) fails before anything is written.
   */
  reserve(batchBytes: number): void {
    this.mapped();
    this.offsetIndex!.reserveRoom();
    this.timeIndex!.reserveRoom();
    const file = this.logFile!;
    const end = this.size + batchBytes;
    if (end <= file.sizeBytes) return;
    const first = Math.min(PREALLOCATE_FIRST_BYTES, this.geometry.preallocateBytes);
    file.extendTo(Math.min(file.mapBytes, grownBytes(file.sizeBytes, end, first, this.geometry.preallocateBytes)));
  }

  /** Bytes allocated past the data and the index entries: what trimPreallocated() gives back. */
  get preallocatedBytes(): number {
    if (!this.writable || this.logFile === null) return 0;
    return this.logFile.sizeBytes - this.size + this.offsetIndex!.spareBytes + this.timeIndex!.spareBytes;
  }

  /**
   * Gives back the room allocated ahead of the writer (an idle shard's): the next append
   * allocates again, starting small. Only bytes past the data go, which no one reads.
   */
  trimPreallocated(): void {
    if (this.preallocatedBytes === 0) return;
    this.logFile!.truncate(this.size);
    this.offsetIndex!.trim();
    this.timeIndex!.trim();
  }

  /**
   * An idle active segment gives its room back and closes its files (descriptors and mappings);
   * the next append, sync or read opens them again, trusting the indexes the trim left exact.
   * Only once its data is synced as its log's policy wants: an fdatasync after the reopen
   * covers the same inode, but an error reported on the old descriptor would be lost.
   */
  closeIdle(): void {
    if (!this.writable) return;
    this.trimPreallocated();
    this.close();
  }

  /**
   * Writes a sealed batch at the end; reserve() must have made room. The header is read back
   * from the bytes and asserted first: what goes to disk is what recovery will verify.
   */
  append(batch: Buffer, header: BatchHeader): void {
    assert(this.writable, 'append to a sealed segment');
    if (!(header.baseOffset === this.next && header.batchBytes === batch.length))
      assert.fail(`batch ${header.baseOffset} of ${header.batchBytes} bytes does not follow offset ${this.next}`);
    if (header.timestampMs < this.lastTimestamp) assert.fail(`batch time ${header.timestampMs} before ${this.lastTimestamp}`);
    assert(this.size + batch.length <= this.logFile!.sizeBytes, 'append without reserve');
    assertBatchHeader(batch, 0, header);
    let written = 0;
    while (written < batch.length) {
      written += this.geometry.storage.write(this.logFile!.fd, batch, written, batch.length - written, this.size + written);
    }
    this.indexBatch(header, this.size);
  }

  /** fdatasync of the .log file (indexes are derived: they are flushed only when sealing). */
  async sync(): Promise<void> {
    // Nothing written since the last sync: nothing to do, and no reopen of closed files (the
    // owner's bound on open files would not hold if every checkpoint opened them again).
    if (this.syncedBytes === this.size) return;
    this.mapped();
    const bytes = this.size;
    await this.geometry.storage.fdatasync(this.fd);
    this.syncedBytes = bytes;
  }

  /**
   * Ends appends: trims the preallocated tail and both indexes to their contents, and makes the
   * trimmed size durable, so that a later open can trust the file size as the end of the data.
   * The read mapping stays (trimming only drops bytes past the end, which no one reads).
   */
  async seal(): Promise<void> {
    if (!this.writable) return;
    this.mapped();
    this.writable = false;
    this.logFile!.truncate(this.size);
    this.offsetIndex!.seal();
    this.timeIndex!.seal();
    await this.geometry.storage.fsync(this.logFile!.fd);
  }

  /**
   * Position of the batch that holds `offset`, scanning from the nearest index entry; batches
   * from `endOffset` on (past the committed end) are not looked at. -1 when no batch before
   * `endOffset` holds it.
   */
  positionOf(offset: number, endOffset: number): number {
    const buf = this.mapped();
    const entry = this.offsetIndex!.lookup(offset - this.baseOffset);
    let position = entry.position;
    for (let batchOffset = this.baseOffset + entry.relativeOffset; batchOffset < endOffset;) {
      const header = readBatchHeader(buf, position);
      batchOffset = header.baseOffset + header.recordCount;
      if (offset < batchOffset) return position;
      position += header.batchBytes;
    }
    return -1;
  }

  /**
   * Position of the first batch whose timestamp is at least `timestampMs`, before `endOffset`;
   * -1 when there is none.
   */
  positionOfTime(timestampMs: number, endOffset: number): number {
    const buf = this.mapped();
    let batchOffset = this.baseOffset + this.timeIndex!.lookup(timestampMs);
    let position = this.positionOf(batchOffset, endOffset);
    while (position >= 0 && batchOffset < endOffset) {
      const header = readBatchHeader(buf, position);
      if (header.timestampMs >= timestampMs) return position;
      position += header.batchBytes;
      batchOffset = header.baseOffset + header.recordCount;
    }
    return -1;
  }

  /** Cuts the file at the end of the data a recovery scan found: a torn or corrupt tail goes. */
  truncateTo(endBytes: number): void {
    assert(endBytes === this.size, 'truncate only to the scanned end');
    if (this.logFile!.sizeBytes > endBytes) this.logFile!.truncate(endBytes);
  }

  /** Closes descriptors and mappings (views of them become empty); a sealed segment can reopen. */
  close(): void {
    this.logFile?.close();
    this.offsetIndex?.close();
    this.timeIndex?.close();
    this.logFile = null;
    this.offsetIndex = null;
    this.timeIndex = null;
  }

  /** Closes and unlinks the segment's files. */
  delete(): void {
    this.close();
    for (const file of Object.values(this.paths)) fs.rmSync(file, { force: true });
  }
}
