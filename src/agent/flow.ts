/*
 * One flow of the agent at work (docs/AGENT.md): its files (FileTracker) are read in chunks, cut
 * into records (RecordSplitter: lines or multi-line records), processed (dataProcessingOptions),
 * buffered, and sent in batches of at most maxBufferSizeRecords and maxBufferSizeBytes (or when
 * the oldest is maxBufferAgeMillis old), one batch at a time, the refused records retried with
 * backoff until taken. Each file's position is saved only once its records are acknowledged;
 * while the destination is down or throttling, the buffer fills to twice its size and reading
 * pauses, so memory stays bounded.
 */
import type { FlowReport } from '../metrics/agent_metrics.js';
import { createHash, randomInt } from 'node:crypto';
import fs from 'node:fs';
import type { ClientRecord } from '../client/client.js';
import { sleep } from '../groups/record_source.js';
import type { FlowConfig } from './agent_config.js';
import type { CheckpointFile } from './checkpoints.js';
import { FileTracker, type TrackedFile } from './file_tracker.js';
import { processRecord } from './processing.js';
import { RecordSplitter, type SplitRecord } from './records.js';
import type { Sender } from './senders.js';
import { fittingPrefix } from '../util/byte_prefix.js';

/** The Kinesis Agent's metric names, and shardline's (parsing failures, possible duplicates after a restart). */
export const FLOW_METRIC_NAMES = [
  'BytesSent',
  'RecordSendAttempts',
  'RecordSendErrors',
  'ServiceErrors',
  'RecordsSent',
  'RecordParsingErrors',
  'PossibleDuplicates',
  'BytesTruncated',
] as const;

/** The Kinesis Agent's counters, by its names. */
export type FlowMetrics = Record<(typeof FLOW_METRIC_NAMES)[number], number>;

interface Pending {
  readonly file: TrackedFile;
  /** Sent to the dead-letter file: a place in its file to acknowledge, nothing to send. */
  readonly dead: boolean;
  readonly generation: number;
  readonly record: ClientRecord;
  readonly endOffset: number;
  readonly at: number;
}

const CHUNK_BYTES = 256 * 1024;
const POLL_MS = 100;
/** A file made and rotated away within one refresh is not seen (unless the pattern matches its rotated name). */
const REFRESH_MS = 500;

export class Flow {
  readonly metrics: FlowMetrics = {
    BytesSent: 0,
    RecordSendAttempts: 0,
    RecordSendErrors: 0,
    ServiceErrors: 0,
    RecordsSent: 0,
    RecordParsingErrors: 0,
    PossibleDuplicates: 0,
    BytesTruncated: 0,
  };
  private readonly tracker: FileTracker;
  private readonly splitters = new Map<TrackedFile, RecordSplitter>();
  private buffer: Pending[] = [];
  private bufferBytes = 0;
  private sending: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  /** Aborted at the shutdown deadline: a batch the destination still refuses is left for the next start. */
  private readonly abandon = new AbortController();
  private loop: Promise<void> | null = null;
  private lastError: string | undefined;

  constructor(
    readonly config: FlowConfig,
    private readonly sender: () => Promise<Sender>,
    private readonly checkpoints: CheckpointFile,
    private readonly clock: () => number = Date.now,
  ) {
    this.tracker = new FileTracker(
      {
        pattern: config.filePattern,
        exclude: config.exclude,
        fromEnd: config.initialPosition === 'END_OF_FILE',
        onRestart: (file) => this.splitters.delete(file),
        onUnreadable: (file, error) => this.report(new Error(`${file} cannot be read: ${(error as Error).message}`)),
      },
      checkpoints.of(config.id),
    );
  }

  get counters(): FlowReport {
    return { flow: this.config.id, metrics: { ...this.metrics }, buffered: this.buffer.length };
  }

  get status(): Record<string, unknown> {
    return {
      flow: this.config.id,
      filePattern: this.config.filePattern,
      destination: this.config.destination,
      metrics: { ...this.metrics },
      buffered: this.buffer.length,
      files: this.tracker.files.map((file) => ({ path: file.path, readOffset: file.readOffset, ackedOffset: file.ackedOffset })),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops reading, sends what is buffered until `timeoutMs` has passed, and saves the positions. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const deadline = performance.now() + timeoutMs;
    while ((this.buffer.length > 0 || this.sending !== null) && performance.now() < deadline) {
      this.maybeSend(this.clock());
      await sleep(POLL_MS / 2);
    }
    this.abandon.abort();
    await this.sending;
    for (const file of this.tracker.files) await file.handle.close();
  }

  private async run(): Promise<void> {
    let lastRefresh = -Infinity;
    while (!this.stopping.signal.aborted) {
      const now = this.clock();
      try {
        if (now - lastRefresh >= REFRESH_MS) {
          await this.tracker.refresh(now);
          await this.releaseQuiet(now);
          lastRefresh = now;
        }
        await this.readAll(now);
        this.maybeSend(now);
      } catch (error) {
        this.report(error);
      }
      await sleep(POLL_MS, this.stopping.signal).catch(() => undefined);
    }
  }

  /** Reads each file up to the size one stat found (a file that has not grown costs that stat alone). */
  private async readAll(now: number): Promise<void> {
    const sizes = new Map<TrackedFile, number>();
    for (const file of this.tracker.files) sizes.set(file, (await file.handle.stat()).size);
    // A file shorter than where reading is was truncated (copytruncate): reconcile before a refill is read as new data.
    if (this.tracker.files.some((file) => sizes.get(file)! < file.readOffset)) {
      await this.tracker.refresh(now);
      return;
    }
    for (const file of this.tracker.files) {
      const size = sizes.get(file)!;
      while (file.readOffset < size && this.bufferBytes < 2 * this.config.maxBufferSizeBytes && !this.stopping.signal.aborted) {
        const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, size - file.readOffset));
        const { bytesRead } = await file.handle.read(chunk, 0, chunk.length, file.readOffset);
        if (bytesRead === 0) break;
        const splitter = this.splitterOf(file); // made at the offset this chunk starts at
        file.readOffset += bytesRead;
        file.lastChangeMs = now;
        await this.tracker.refreshFingerprint(file);
        this.take(file, splitter.push(chunk.subarray(0, bytesRead), now), now);
      }
      this.take(file, this.splitterOf(file).poll(now), now);
    }
  }

  private splitterOf(file: TrackedFile): RecordSplitter {
    let splitter = this.splitters.get(file);
    if (splitter === undefined) {
      const { skipHeaderLines, maxRecordBytes, truncatedRecordTerminator, multiLine } = this.config;
      splitter = new RecordSplitter(
        { skipHeaderLines, maxRecordBytes, truncatedRecordTerminator, ...(multiLine === undefined ? {} : { multiLine }) },
        file.readOffset,
      );
      this.splitters.set(file, splitter);
    }
    return splitter;
  }

  /** Processes the records and buffers them (a record no option can parse: to the dead-letter file, or sent as it is). */
  private take(file: TrackedFile, records: readonly SplitRecord[], now: number): void {
    for (const split of records) {
      if (split.truncated) this.metrics.BytesTruncated++;
      if (split.endOffset <= file.duplicatesUntil) this.metrics.PossibleDuplicates++;
      const processed = processRecord(this.config.dataProcessingOptions, split.data, { now: this.clock, filePath: file.path });
      const failed = 'failure' in processed;
      if (failed) this.metrics.RecordParsingErrors++;
      const dead = failed && this.config.deadLetterFile !== undefined;
      if (dead) this.deadLetter(file, split, processed.failure.reason);
      const data = failed ? split.data : processed.data;
      this.buffer.push({
        file,
        dead,
        generation: file.generation,
        record: { partitionKey: this.partitionKey(data), data },
        endOffset: split.endOffset,
        at: now,
      });
      this.bufferBytes += data.length;
    }
  }

  private deadLetter(file: TrackedFile, split: SplitRecord, reason: string): void {
    const line = JSON.stringify({ file: file.path, endOffset: split.endOffset, reason, data: Buffer.from(split.data).toString('base64') });
    fs.appendFileSync(this.config.deadLetterFile!, `${line}\n`);
  }

  private partitionKey(data: Uint8Array): string {
    if (this.config.partitionKeyOption === 'DETERMINISTIC') return createHash('md5').update(data).digest('hex');
    return String(randomInt(0, 1_000_000_000) / 1000);
  }

  private maybeSend(now: number): void {
    if (this.sending !== null || !this.ready(now)) return;
    this.sending = this.sendLoop().finally(() => {
      this.sending = null;
      this.maybeSend(this.clock());
    });
  }

  /** A batch is due: full, or its oldest record maxBufferAgeMillis old, or the flow stopping. */
  private ready(now: number): boolean {
    if (this.buffer.length === 0) return false;
    const { maxBufferSizeRecords, maxBufferSizeBytes, maxBufferAgeMillis } = this.config;
    const full = this.buffer.length >= maxBufferSizeRecords || this.bufferBytes >= maxBufferSizeBytes;
    return full || now - this.buffer[0]!.at >= maxBufferAgeMillis || this.stopping.signal.aborted;
  }

  /**
   * Batch after batch while one is due, each saved as sent before it goes; one write of the
   * checkpoint file serves both the batch just acknowledged and the next one sent.
   */
  private async sendLoop(): Promise<void> {
    let batch = this.cut();
    this.mark(batch, 'sentOffset');
    await this.save();
    for (;;) {
      if (!(await this.deliver(batch))) return;
      this.mark(batch, 'ackedOffset');
      if (!this.ready(this.clock())) return this.save();
      batch = this.cut();
      this.mark(batch, 'sentOffset');
      await this.save();
    }
  }

  private mark(batch: readonly Pending[], position: 'sentOffset' | 'ackedOffset'): void {
    for (const pending of batch)
      if (pending.generation === pending.file.generation) pending.file[position] = Math.max(pending.file[position], pending.endOffset);
  }

  private cut(): Pending[] {
    const { maxBufferSizeBytes, maxBufferSizeRecords } = this.config;
    const { count, bytes } = fittingPrefix(this.buffer, (pending) => pending.record.data.length, maxBufferSizeBytes, maxBufferSizeRecords);
    this.bufferBytes -= bytes;
    return this.buffer.splice(0, count);
  }

  /** Sends the batch until every record is taken; false if the shutdown deadline came first. */
  private async deliver(batch: readonly Pending[]): Promise<boolean> {
    let left = batch.filter((pending) => !pending.dead);
    for (let attempt = 0; left.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(10_000, 100 * 2 ** (attempt - 1)), this.abandon.signal).catch(() => undefined);
      if (this.abandon.signal.aborted) return false;
      left = await this.attempt(left);
    }
    return true;
  }

  /** One PutRecords of what is left; the records still to send. */
  private async attempt(left: readonly Pending[]): Promise<Pending[]> {
    this.metrics.RecordSendAttempts += left.length;
    let results;
    try {
      results = await (await this.sender()).put(left.map((pending) => pending.record));
    } catch (error) {
      this.metrics.ServiceErrors++;
      this.report(error);
      return [...left];
    }
    const failed: Pending[] = [];
    left.forEach((pending, index) => {
      const result = results[index];
      if (result === undefined || 'errorCode' in result) failed.push(pending);
      else {
        this.metrics.RecordsSent++;
        this.metrics.BytesSent += pending.record.data.length;
      }
    });
    this.metrics.RecordSendErrors += failed.length;
    return failed;
  }

  /** Files read to their end after they stopped matching, quiet, and acknowledged: the last record out, then let go. */
  private async releaseQuiet(now: number): Promise<void> {
    for (const file of this.tracker.files)
      if (!file.matching && now - file.lastChangeMs >= 5000) this.take(file, this.splitterOf(file).flushEnd(), now);
    const released = await this.tracker.release(
      now,
      (file) => file.ackedOffset >= file.readOffset && this.splitterOf(file).pendingBytes === 0,
    );
    for (const file of released) this.splitters.delete(file);
    if (released.length > 0) await this.save();
  }

  private save(): Promise<void> {
    const now = this.clock();
    return this.checkpoints.save(
      this.config.id,
      this.tracker.files.map((file) => this.tracker.checkpointOf(file, now)),
      now,
    );
  }

  private report(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
  }
}
