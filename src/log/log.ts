import { BATCH_BYTES_MAX, BATCH_RECORDS_MAX } from '../limits.js';
import assert from 'node:assert/strict';
import {
  ClosedError,
  InvalidArgumentException,
  OffsetOutOfRangeError,
  type ShardlineError,
  storageErrorFrom,
  StorageFullError,
} from '../errors.js';
import { Limiter } from '../util/limiter.js';
import { CommittedPosition } from './committed_position.js';
import { syncDirectory, syncDirectorySync, writeFileDurably } from './durable_file.js';
import { CLEAN_SHUTDOWN_FILE } from './file_names.js';
import { checkBatchKey, resolveLogOptions, MIB, type LogOptions } from './log_config.js';
import { loadLog, type RecoveryReport } from './log_loader.js';
import { lookup, offsetForTimestamp, readBatches, recordsOf, type RecordsResult } from './log_reads.js';
import { BatchBuilder, recordsFill, sealBatch, type LogRecord } from './record_batch.js';
import { writeRecoveryPoint, type LogPosition } from './recovery_point.js';
import { LogSegment } from './segment.js';
import { SegmentSet } from './segment_set.js';
import { ENCRYPTION_OVERHEAD_BYTES, encryptBatch, openBatches, type BatchKey } from './batch_cipher.js';

export type { RecordsResult } from './log_reads.js';

export interface AppendResult {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly timestampMs: number;
}

/** Whole batches, as views of the mapped segment files (one chunk per segment touched). */
export interface ReadResult {
  readonly startOffset: number;
  /** The offset after the last record of the last batch returned. */
  readonly nextOffset: number;
  readonly chunks: readonly Buffer[];
}

export const READ_BYTES_DEFAULT = MIB;

interface PendingAppend {
  readonly result: AppendResult;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Recovery points written at the same time by the logs of this thread. Each holds a descriptor
 * (and its directory's) until its fsyncs get a turn on the thread pool: 10,000 shards written
 * within one checkpoint interval would otherwise hold 10,000 more at once.
 */
const recoveryPointWrites = new Limiter(16);

/**
 * One shard's log: segmented, append-only, memory-mapped for reads (docs/FORMAT.md).
 *
 * A single writer appends batches with pwrite; readers get views of the mapped files up to the
 * committed position. Under fsync "always", appends are group-committed: one fdatasync (off the
 * event loop) covers every append made since the previous one, and the committed position and
 * the appends' promises advance together when it completes. Sealing rolled segments, recovery
 * points and deletions run one at a time on a maintenance queue, in the order they were asked.
 *
 * Not thread-safe: one Log per directory, used from one thread. Readers on other threads follow
 * the committed position through `options.committedPosition`.
 */
export class Log {
  /** For append(records): made on first use, so that 10,000 logs of a worker do not hold 1 MiB each. */
  private builderInstance: BatchBuilder | null = null;
  private readonly committedShared: CommittedPosition | null;
  private committed: LogPosition;
  private checkpointed: LogPosition;
  private lastTimestamp: number;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private failure: ShardlineError | null = null;
  private appendedAtLastIdleCheck = -1;
  private readonly dirty = new Set<LogSegment>();
  /** Names in the directory changed since the last directory sync: new segment files, the clean-shutdown marker gone (syncNames). */
  private namesUnsynced = false;
  /** The segments the fdatasync in flight covers. */
  private flushingSegments: LogSegment[] = [];
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | null = null;
  private maintenance: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly segments: SegmentSet<LogSegment>;
  private encryption: BatchKey | null;

  private constructor(
    readonly dir: string,
    private options: LogOptions,
    segments: readonly LogSegment[],
    readonly recovery: RecoveryReport,
  ) {
    this.segments = new SegmentSet(segments, options.openSegmentsMax);
    this.encryption = options.encryption;
    this.committedShared = options.committedPosition === null ? null : new CommittedPosition(options.committedPosition);
    this.committed = this.appendedPosition();
    // No recovery point written by this instance yet: the first checkpoint always writes.
    this.checkpointed = { nextOffset: -1, segmentBaseOffset: -1, positionBytes: -1 };
    // The active segment may be empty after a roll: its predecessor holds the last timestamp.
    this.lastTimestamp = Math.max(0, ...segments.slice(-2).map((segment) => this.segments.opened(segment).lastTimestampMs));
    this.committedShared?.publish(this.committed);
    this.committedShared?.publishStart(this.startOffset);
    this.startTimers();
  }

  /** Opens (creating, or recovering) the log in `dir`; see docs/FORMAT.md, "Opening a log". */
  static async open(dir: string, options: Partial<LogOptions> = {}): Promise<Log> {
    const resolved = resolveLogOptions(options);
    const { segments, report, created, directoryUnsynced, point } = await loadLog(dir, resolved);
    const log = new Log(dir, resolved, segments, report);
    log.namesUnsynced = directoryUnsynced;
    // A new log has nothing to make durable or to record: its first appends will (a stream of
    // 500 shards is created without 1,500 syncs). Nor has one whose recovery point on disk is
    // already its end (closed cleanly, or idle when it crashed): 10,000 shards restart without
    // 30,000 syncs.
    if (created) log.checkpointed = log.appendedPosition();
    else if (point !== null && samePosition(point, log.appendedPosition())) log.checkpointed = point;
    else await log.enqueue(() => log.checkpoint());
    if (log.failure !== null) {
      await log.close();
      throw log.failure;
    }
    return log;
  }

  /** The first offset still stored (retention moves it). */
  get startOffset(): number {
    return this.segments.first.baseOffset;
  }

  /** Bytes the active segment holds allocated ahead of its writer (log file and indexes). */
  get preallocatedBytes(): number {
    return this.active.preallocatedBytes;
  }

  /** The base offsets of its segments, in order: a reader elsewhere starts from them without listing the directory. */
  get segmentBases(): number[] {
    return this.segments.all.map((segment) => segment.baseOffset);
  }

  /** The offset after the last committed record: readers see offsets below it. */
  get endOffset(): number {
    return this.committed.nextOffset;
  }

  /** The offset the next appended record gets (appends not yet committed included). */
  get appendedOffset(): number {
    return this.active.nextOffset;
  }

  get segmentCount(): number {
    return this.segments.count;
  }

  /** Bytes of record batches stored. */
  get sizeBytes(): number {
    return this.segments.all.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  }

  private get active(): LogSegment {
    return this.segments.active;
  }

  /**
   * Appends the records as one batch, stamped with one arrival time: `arrivalMs` when the caller
   * saw them arrive (the engine's thread), else the log's clock; never below the previous
   * batch's, so time lookups can binary-search. Resolves when the batch is
   * committed (under "always": on disk). Rejects with InvalidArgumentException (nothing stored),
   * StorageFullError (nothing stored, retriable), StorageError or ClosedError.
   */
  append(records: readonly LogRecord[], arrivalMs?: number): Promise<AppendResult> {
    try {
      this.checkWritable();
      this.builderInstance ??= new BatchBuilder();
      this.builderInstance.encode(records);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.appendSealable(this.builderInstance.batch, this.builderInstance.recordCount, arrivalMs);
  }

  /**
   * Appends a batch encoded elsewhere (the engine's thread encodes records once, in their final
   * format, and hands the buffer over): BATCH_HEADER_BYTES of room, then `recordCount` records as
   * docs/FORMAT.md lays them out. The log checks the records fill it exactly
   * (InvalidArgumentException otherwise, nothing stored), stamps the header and writes it as
   * append() does. The buffer may be reused once this returns.
   */
  appendBatch(batch: Buffer, recordCount: number, arrivalMs?: number): Promise<AppendResult> {
    if (
      !Number.isSafeInteger(recordCount) ||
      recordCount < 1 ||
      recordCount > BATCH_RECORDS_MAX ||
      batch.length > BATCH_BYTES_MAX ||
      !recordsFill(batch, recordCount)
    ) {
      return Promise.reject(
        new InvalidArgumentException(
          `not a batch of ${recordCount} well-formed records in ${batch.length} bytes (at most ${BATCH_RECORDS_MAX} records and ${BATCH_BYTES_MAX} bytes)`,
        ),
      );
    }
    return this.appendSealable(batch, recordCount, arrivalMs);
  }

  private appendSealable(batch: Buffer, recordCount: number, arrivalMs: number | undefined): Promise<AppendResult> {
    let result: AppendResult;
    try {
      result = this.write(batch, recordCount, arrivalMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.options.fsync !== 'always') {
      this.commit(this.appendedPosition());
      return Promise.resolve(result);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ result, resolve, reject });
      this.scheduleFlush();
    });
  }

  private write(batch: Buffer, recordCount: number, arrivalMs: number | undefined): AppendResult {
    this.checkWritable();
    if (arrivalMs !== undefined && !(Number.isSafeInteger(arrivalMs) && arrivalMs >= 0))
      throw new InvalidArgumentException(`arrivalMs must be a non-negative integer, got ${arrivalMs}`);
    const key = this.encryption;
    const batchBytes = batch.length + (key === null ? 0 : ENCRYPTION_OVERHEAD_BYTES);
    const timestampMs = Math.max(arrivalMs ?? this.options.clock(), this.lastTimestamp);
    if (this.needsRoll(batchBytes, recordCount, timestampMs)) this.roll();
    const active = this.active;
    try {
      active.reserve(batchBytes);
    } catch (error) {
      throw this.storageFault(error, 'extending the active segment');
    }
    const baseOffset = active.nextOffset;
    sealBatch(batch, recordCount, baseOffset, timestampMs);
    const stored = key === null ? batch : encryptBatch(batch, key);
    try {
      active.append(stored, { batchBytes, baseOffset, timestampMs, recordCount });
      if (active.nextOffset !== baseOffset + recordCount)
        assert.fail(`batch ${baseOffset} of ${recordCount} records ended at ${active.nextOffset}`);
    } catch (error) {
      // The batch may be partly on disk past the end: harmless (the next append overwrites it,
      // recovery stops before it), but an I/O error means the file can no longer be trusted, and
      // neither can the log once an assertion of the write failed: both stop it.
      throw this.fail(storageErrorFrom(error, 'writing a batch'));
    }
    this.lastTimestamp = timestampMs;
    if (this.options.fsync !== 'never') this.dirty.add(active);
    return { baseOffset, recordCount, timestampMs };
  }

  private checkWritable(): void {
    if (this.state !== 'open') throw new ClosedError(`log ${this.dir} is ${this.state}`);
    if (this.failure !== null) throw this.failure;
  }

  private needsRoll(batchBytes: number, recordCount: number, timestampMs: number): boolean {
    const active = this.active;
    if (active.isFullFor(batchBytes, recordCount)) return true;
    return !active.isEmpty && timestampMs - active.firstTimestampMs >= this.options.segmentAgeMs;
  }

  /** Starts a new active segment at the next offset; the old one is sealed in the background. */
  private roll(): void {
    const old = this.active;
    let next: LogSegment;
    try {
      next = LogSegment.create(this.dir, old.nextOffset, this.options);
    } catch (error) {
      throw this.storageFault(error, 'rolling to a new segment');
    }
    try {
      syncDirectorySync(this.dir, this.options.storage);
    } catch (error) {
      next.delete();
      throw this.storageFault(error, 'rolling to a new segment');
    }
    assert(next.baseOffset === old.nextOffset, 'a new segment starts where the old one ends');
    this.segments.append(next);
    // With nothing pending, the committed position moves into the new segment now, so readers
    // elsewhere learn of the roll without waiting for the next append.
    if (this.committed.nextOffset === next.baseOffset) this.commit(this.appendedPosition());
    void this.enqueue(() => this.sealSegment(old, next));
  }

  private async sealSegment(old: LogSegment, next: LogSegment): Promise<void> {
    // Nothing writes to `old` any more, so this waits for at most the flush in flight and the
    // one after it, even while appends to `next` keep new flushes coming.
    if (!(await this.untilFlushed(old))) return;
    await old.sync();
    await old.seal();
    // Sealed now, it counts against openSegmentsMax, unless retention already took it.
    if (this.segments.floorSegment(old.baseOffset) === old) this.segments.opened(old);
    // Everything before `next` is now sealed and on disk: recovery may start at `next`.
    await this.writeCheckpoint({ nextOffset: next.baseOffset, segmentBaseOffset: next.baseOffset, positionBytes: 0 });
  }

  /**
   * Waits until the group commit has synced `segment` (false: the log failed, nothing is flushed
   * any more). Under { intervalMs } no flush may be due for a while: this starts one rather than
   * wait for the timer.
   */
  private async untilFlushed(segment: LogSegment): Promise<boolean> {
    while (this.dirty.has(segment) || this.flushingSegments.includes(segment)) {
      this.scheduleFlush();
      if (this.flushing === null) return false;
      await this.flushing;
    }
    return true;
  }

  private appendedPosition(): LogPosition {
    const active = this.active;
    return { nextOffset: active.nextOffset, segmentBaseOffset: active.baseOffset, positionBytes: active.sizeBytes };
  }

  private scheduleFlush(): void {
    if (this.flushing !== null || this.dirty.size === 0 || this.failure !== null) return;
    // Cleared in a continuation, never inside flushLoop: a loop that finishes without awaiting
    // would clear it before this assignment and leave a settled promise behind.
    // An append that arrives between the loop's last check and this continuation finds
    // `flushing` still set, so the continuation looks again.
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      this.scheduleFlush();
    });
  }

  /** Group commit: one fdatasync per dirty segment covers every append made before it started. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.dirty.size > 0 && this.failure === null) {
        const target = this.appendedPosition();
        this.flushingSegments = [...this.dirty];
        this.dirty.clear();
        await Promise.all(this.flushingSegments.map((segment) => segment.sync()));
        await this.syncNames();
        this.flushingSegments = [];
        this.commit(target);
      }
    } catch (error) {
      this.fail(storageErrorFrom(error, 'fdatasync'));
    } finally {
      this.flushingSegments = [];
    }
  }

  /**
   * A log syncs its directory with its first sync, not as it opens (new segment files, the
   * clean-shutdown marker removed): a stream of 500 shards then costs no fsync per shard in
   * between file creations, each of which made the next ones wait for a journal commit (1.4 ms
   * a shard against 0.14 ms), and 10,000 shards restart without 10,000 directory fsyncs.
   */
  private async syncNames(): Promise<void> {
    if (!this.namesUnsynced) return;
    await syncDirectory(this.dir, this.options.storage);
    this.namesUnsynced = false;
  }

  /** Makes everything up to `target` visible to readers and resolves the appends it covers. */
  private commit(target: LogPosition): void {
    if (target.nextOffset > this.appendedOffset) assert.fail(`commit of ${target.nextOffset} past the appended end ${this.appendedOffset}`);
    if (target.nextOffset > this.committed.nextOffset || target.segmentBaseOffset > this.committed.segmentBaseOffset) {
      this.committed = target;
      this.committedShared?.publish(target);
    }
    let done = 0;
    while (done < this.pending.length) {
      const append = this.pending[done]!;
      if (append.result.baseOffset + append.result.recordCount > target.nextOffset) break;
      append.resolve(append.result);
      done++;
    }
    if (done > 0) this.pending = this.pending.slice(done);
  }

  /**
   * A full disk leaves the log as it was (the append is refused, retriable); any other I/O
   * error stops it, as after a failed fsync nothing says what the disk holds.
   */
  private storageFault(error: unknown, what: string): ShardlineError {
    const fault = storageErrorFrom(error, what);
    return fault instanceof StorageFullError ? fault : this.fail(fault);
  }

  /** Stops appends for good: the disk may not hold what it said. Rejects waiting appends. */
  private fail(error: ShardlineError): ShardlineError {
    if (this.failure === null) this.failure = error;
    this.rejectPending(this.failure);
    return this.failure;
  }

  private rejectPending(error: Error): void {
    const pending = this.pending;
    this.pending = [];
    for (const append of pending) append.reject(error);
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.maintenance.then(async () => {
      try {
        if (this.failure === null) await job();
      } catch (error) {
        this.fail(storageErrorFrom(error, 'log maintenance'));
      }
    });
    this.maintenance = run;
    return run;
  }

  /** Writes a recovery point at the current end, after making the data up to it durable. */
  private async checkpoint(): Promise<void> {
    const target = this.appendedPosition();
    if (samePosition(target, this.checkpointed)) return;
    await this.active.sync();
    if (this.options.fsync !== 'always') this.commit(target);
    await this.writeCheckpoint(target);
  }

  private async writeCheckpoint(point: LogPosition): Promise<void> {
    if (point.nextOffset < this.checkpointed.nextOffset) return;
    await recoveryPointWrites.run(() => writeRecoveryPoint(this.dir, point, this.options.storage));
    this.checkpointed = point;
    this.namesUnsynced = false; // writing it synced the directory
  }

  /**
   * Makes every append so far durable and committed, whatever the fsync policy. Resolves after
   * the background work queued before it (sealing rolled segments, recovery points).
   */
  async flush(): Promise<void> {
    this.checkWritable();
    await this.enqueue(async () => {
      const target = this.appendedPosition();
      while (this.flushing !== null) await this.flushing;
      await this.active.sync();
      await this.syncNames();
      this.commit(target);
    });
    if (this.failure !== null) throw this.failure;
  }

  private startTimers(): void {
    const { fsync, checkpointIntervalMs, retentionCheckIntervalMs, preallocationIdleMs } = this.options;
    const every = (ms: number, tick: () => void): void => {
      this.timers.push(setInterval(tick, ms).unref());
    };
    every(checkpointIntervalMs, () => {
      if (this.appendedOffset !== this.checkpointed.nextOffset) void this.enqueue(() => this.checkpoint());
    });
    if (typeof fsync === 'object') every(fsync.intervalMs, () => this.scheduleFlush());
    if (preallocationIdleMs > 0) every(preallocationIdleMs, () => this.trimIfIdle());
    if (retentionCheckIntervalMs > 0) every(retentionCheckIntervalMs, () => void this.applyRetention());
  }

  /**
   * When nothing was appended since the last look, the active segment gives back its room and
   * closes its files (an idle shard then holds no descriptor or mapping on its worker); the
   * next append reopens them.
   */
  private trimIfIdle(): void {
    const appended = this.appendedOffset;
    const idle = appended === this.appendedAtLastIdleCheck;
    this.appendedAtLastIdleCheck = appended;
    if (!idle || !this.active.isOpen) return;
    void this.enqueue(async () => {
      const active = this.active;
      if (this.dirty.has(active) || this.flushingSegments.includes(active) || this.appendedOffset !== appended) return;
      active.closeIdle();
    });
  }

  /**
   * Trims and closes the active segment's files now, as idle trimming does (the owner keeps too
   * many shards open at once), once what was appended is synced; the next append, sync or read
   * opens them again. An append in the meantime keeps them open.
   */
  async releaseFiles(): Promise<void> {
    if (this.failure !== null || !this.active.isOpen) return;
    const appended = this.appendedOffset;
    await this.enqueue(async () => {
      const active = this.active;
      if (!(await this.untilFlushed(active))) return;
      // Synced now whatever the policy, so the next checkpoint need not open the files again.
      await active.sync();
      if (this.active !== active || this.appendedOffset !== appended) return;
      active.closeIdle();
    });
  }

  /**
   * Reads whole batches from the one holding `offset`, at most `maxBytes` (but always at least
   * one batch, so a reader always progresses), up to the committed end. The chunks are views of
   * the mapped files: valid until the log closes or retention deletes their segment (then they
   * read as empty and throw), and until openSegmentsMax other sealed segments have been read.
   */
  read(offset: number, maxBytes: number = READ_BYTES_DEFAULT): ReadResult {
    this.checkReadable(offset, maxBytes);
    return readBatches(this.segments, this.committed, offset, maxBytes);
  }

  /** Decoded records from `offset`: at most `maxRecords`, about `maxBytes` of batches. */
  readRecords(offset: number, maxRecords: number, maxBytes: number = READ_BYTES_DEFAULT): RecordsResult {
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1)
      throw new InvalidArgumentException(`maxRecords must be a positive integer, got ${maxRecords}`);
    const read = this.read(offset, maxBytes);
    return recordsOf({ ...read, chunks: read.chunks.map((chunk) => this.opened(chunk)) }, offset, maxRecords);
  }

  /** Batches from now on are encrypted with `key` (null: plaintext again). */
  setEncryption(key: BatchKey | null): void {
    if (key !== null) checkBatchKey(key);
    this.encryption = key;
  }

  /** A chunk with its encrypted batches opened with options.dataKeys (CorruptLog for a key it lacks). */
  private opened(chunk: Buffer): Buffer {
    return openBatches(chunk, (number) => this.options.dataKeys?.(number), `log ${this.dir}`);
  }

  /** Where the batch holding a committed `offset` is: segment and position. */
  lookup(offset: number): LogPosition {
    this.checkReadable(offset, 1);
    if (offset === this.committed.nextOffset) throw this.outOfRange(offset);
    return lookup(this.segments, this.committed, offset);
  }

  /**
   * The first committed offset whose arrival time is at least `timestampMs`, or endOffset when
   * there is none yet. Arrival times never decrease along the log, so this is a binary search.
   */
  offsetForTimestamp(timestampMs: number): number {
    if (this.state === 'closed') throw new ClosedError(`log ${this.dir} is closed`);
    if (!Number.isSafeInteger(timestampMs)) throw new InvalidArgumentException(`timestamp must be an integer, got ${timestampMs}`);
    return offsetForTimestamp(this.segments, this.committed, timestampMs);
  }

  private checkReadable(offset: number, maxBytes: number): void {
    if (this.state === 'closed') throw new ClosedError(`log ${this.dir} is closed`);
    if (!Number.isSafeInteger(offset)) throw new InvalidArgumentException(`offset must be an integer, got ${offset}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      throw new InvalidArgumentException(`maxBytes must be a positive integer, got ${maxBytes}`);
    if (offset < this.startOffset || offset > this.committed.nextOffset) throw this.outOfRange(offset);
  }

  private outOfRange(offset: number): OffsetOutOfRangeError {
    return new OffsetOutOfRangeError(
      `offset ${offset} is outside the log's committed range [${this.startOffset}, ${this.committed.nextOffset})`,
      this.startOffset,
      this.committed.nextOffset,
    );
  }

  /** Changes the retention period (Kinesis' Increase/DecreaseStreamRetentionPeriod); takes effect at the next retention pass. */
  setRetentionMs(retentionMs: number): void {
    this.options = resolveLogOptions({ ...this.options, retentionMs });
  }

  /**
   * Deletes whole segments past retention (docs/FORMAT.md, "Retention"); resolves with how many.
   * An expired active segment is rolled first, so that an idle shard's records expire too.
   */
  async applyRetention(): Promise<number> {
    if (this.state !== 'open' || this.failure !== null) return 0;
    const cutoffMs = this.options.clock() - this.options.retentionMs;
    const active = this.active;
    if (!active.isEmpty && active.lastTimestampMs < cutoffMs) {
      try {
        this.roll();
      } catch {
        return 0; // a full disk: retention tries again on its next tick
      }
    }
    const expired = this.expiredCount(cutoffMs);
    if (expired === 0) return 0;
    const doomed = this.segments.removeOldest(expired);
    this.committedShared?.publishStart(this.startOffset);
    await this.enqueue(async () => {
      for (const segment of doomed) segment.delete();
      await syncDirectory(this.dir, this.options.storage);
    });
    return expired;
  }

  /** How many of the oldest segments retention deletes; never the active one. */
  private expiredCount(cutoffMs: number): number {
    let count = 0;
    let remainingBytes = this.sizeBytes;
    const retentionBytes = this.options.retentionBytes;
    while (count < this.segments.count - 1) {
      const segment = this.segments.opened(this.segments.at(count));
      const tooOld = segment.lastTimestampMs < cutoffMs;
      const tooBig = retentionBytes !== null && remainingBytes - segment.sizeBytes >= retentionBytes;
      if (!tooOld && !tooBig) break;
      remainingBytes -= segment.sizeBytes;
      count++;
    }
    return count;
  }

  /**
   * Waits for appends in flight, makes everything durable, trims the active segment, writes a
   * recovery point and the clean-shutdown marker, and closes every file. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.state = 'closing';
    for (const timer of this.timers) clearInterval(timer);
    while (this.flushing !== null) await this.flushing;
    await this.maintenance;
    try {
      if (this.failure === null) {
        const active = this.active;
        const end = this.appendedPosition();
        await active.sync();
        this.commit(end);
        // Closed files were trimmed when they closed; the last segment is scanned from the
        // recovery point at the next open, so its size need not be sealed for that. An idle
        // shard closes with one small file written (10,000 shards stop in seconds).
        if (active.isOpen) await active.seal();
        if (!samePosition(end, this.checkpointed)) await writeRecoveryPoint(this.dir, end, this.options.storage);
        await writeFileDurably(this.dir, CLEAN_SHUTDOWN_FILE, new Uint8Array(0), this.options.storage);
      }
    } finally {
      this.rejectPending(new ClosedError(`log ${this.dir} closed`));
      this.segments.closeAll();
      this.state = 'closed';
    }
  }
}

function samePosition(a: LogPosition, b: LogPosition): boolean {
  return a.nextOffset === b.nextOffset && a.segmentBaseOffset === b.segmentBaseOffset && a.positionBytes === b.positionBytes;
}
