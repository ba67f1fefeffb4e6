import { SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN } from '../limits.js';
import { InvalidArgumentException } from '../errors.js';
import { realStorage, type Storage } from '../native/storage.js';
import type { BatchKey } from './batch_cipher.js';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
export const HOUR_MS = 60 * 60 * 1000;

/**
 * Sealed segments a log, and each reader of it, keep open for reads unless openSegmentsMax says
 * otherwise. An open sealed segment costs the owner 3 descriptors and 3 mappings (the .log file
 * and its indexes) and a reader 1 of each; an engine holds both for every shard, so 500 shards
 * at 16 keep at most 32,000 mappings of sealed segments, below Linux's default
 * vm.max_map_count (65,530), and as many descriptors. One read spans at most this many
 * segments (a GetRecords over many small segments returns fewer records, the rest come with
 * the next call).
 */
export const OPEN_SEGMENTS_MAX_DEFAULT = 16;

/** When an append is on disk before it resolves. */
export type FsyncPolicy = 'always' | 'never' | { readonly intervalMs: number };

export interface LogOptions {
  /** Roll the active segment before it passes this size. Default 128 MiB; 4 KiB .. 1 GiB. */
  readonly segmentBytes: number;
  /** Roll the active segment when its first batch is this old. Default 1 hour; 1 s .. 8,760 h. */
  readonly segmentAgeMs: number;
  /** Bytes of batches between index entries. Default 4 KiB; 64 B .. 1 MiB. */
  readonly indexIntervalBytes: number;
  /**
   * The largest step the active file is extended by ahead of the writer: it starts at 64 KiB and
   * doubles up to this. Default 4 MiB; 4 KiB .. 64 MiB.
   */
  readonly preallocateBytes: number;
  /**
   * After this long without an append (checked every preallocationIdleMs: within twice that),
   * the active segment gives back what was allocated ahead of the writer and closes its files
   * (the next append reopens them and starts small again). Default 30 s; 0 = never, else 100 ms .. 24 h.
   */
  readonly preallocationIdleMs: number;
  /**
   * "always" (default): an append resolves once fdatasync covered it (group commit: one fdatasync
   * for all appends since the last); records are visible to readers only then.
   * { intervalMs }: resolves at once and is visible at once; an fdatasync runs every intervalMs.
   * "never": resolves and is visible at once; the OS writes back when it likes (a process crash
   * loses nothing, a machine crash loses what was not written back).
   */
  readonly fsync: FsyncPolicy;
  /** Delete segments whose newest record is older than this. Default 24 h; 24 h .. 8,760 h. */
  readonly retentionMs: number;
  /** Also delete the oldest segments while the log without them is at least this big. Default: no limit. */
  readonly retentionBytes: number | null;
  /** How often to apply retention; 0 = only when applyRetention() is called. Default 5 minutes. */
  readonly retentionCheckIntervalMs: number;
  /** How often to write a recovery point while appends arrive. Default 5 s; 100 ms .. 10 min. */
  readonly checkpointIntervalMs: number;
  /**
   * Sealed segments kept open (descriptors and mappings) for reads, and the most one read spans.
   * Default OPEN_SEGMENTS_MAX_DEFAULT (16); 1 .. 10,000. LogReader takes the same option.
   */
  readonly openSegmentsMax: number;
  /** The clock that stamps arrival times and drives rolls and retention (tests move it). */
  readonly clock: () => number;
  /** Where to publish the committed position for readers on other threads (see CommittedPosition). */
  readonly committedPosition: SharedArrayBuffer | null;
  /**
   * The system calls the log writes and syncs with (src/native/storage.ts). Internal: tests put a
   * simulated storage here to lose power at any point; everything else keeps the default.
   */
  readonly storage: Storage;
  /** Encrypt the batches appended from now on with this data key (batch_cipher.ts); null: plaintext. setEncryption() changes it. */
  readonly encryption: BatchKey | null;
  /** The data keys readRecords() opens encrypted batches with, by number; null: it cannot. */
  readonly dataKeys: ((number: number) => Uint8Array | undefined) | null;
}

/** The first extension of a new active segment; later ones double up to preallocateBytes. */
export const PREALLOCATE_FIRST_BYTES = 64 * KIB;

export const DEFAULT_LOG_OPTIONS: LogOptions = {
  segmentBytes: 128 * MIB,
  segmentAgeMs: HOUR_MS,
  indexIntervalBytes: 4 * KIB,
  preallocateBytes: 4 * MIB,
  preallocationIdleMs: 30_000,
  fsync: 'always',
  retentionMs: 24 * HOUR_MS,
  retentionBytes: null,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  checkpointIntervalMs: 5000,
  openSegmentsMax: OPEN_SEGMENTS_MAX_DEFAULT,
  clock: Date.now,
  committedPosition: null,
  storage: realStorage,
  encryption: null,
  dataKeys: null,
};

/** Fills defaults and checks every option, naming the first bad one. */
export function resolveLogOptions(options: Partial<LogOptions> = {}): LogOptions {
  const resolved: LogOptions = { ...DEFAULT_LOG_OPTIONS, ...withoutUndefined(options) };
  checkInteger('segmentBytes', resolved.segmentBytes, SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX);
  checkInteger('segmentAgeMs', resolved.segmentAgeMs, 1000, 8760 * HOUR_MS);
  checkInteger('indexIntervalBytes', resolved.indexIntervalBytes, 64, MIB);
  checkInteger('preallocateBytes', resolved.preallocateBytes, 4 * KIB, 64 * MIB);
  if (resolved.preallocationIdleMs !== 0) checkInteger('preallocationIdleMs', resolved.preallocationIdleMs, 100, 24 * HOUR_MS);
  checkInteger('retentionMs', resolved.retentionMs, 24 * HOUR_MS, 8760 * HOUR_MS);
  if (resolved.retentionBytes !== null) checkInteger('retentionBytes', resolved.retentionBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('retentionCheckIntervalMs', resolved.retentionCheckIntervalMs, 0, 24 * HOUR_MS);
  checkInteger('checkpointIntervalMs', resolved.checkpointIntervalMs, 100, 10 * 60 * 1000);
  checkInteger('openSegmentsMax', resolved.openSegmentsMax, 1, 10_000);
  const fsync = resolved.fsync;
  if (typeof fsync === 'object' && fsync !== null) {
    checkInteger('fsync.intervalMs', fsync.intervalMs, 1, 60 * 60 * 1000);
  } else if (fsync !== 'always' && fsync !== 'never') {
    throw new InvalidArgumentException(`fsync must be "always", "never" or { intervalMs }, got ${JSON.stringify(fsync)}`);
  }
  if (typeof resolved.clock !== 'function') throw new InvalidArgumentException('clock must be a function');
  if (resolved.encryption !== null) checkBatchKey(resolved.encryption);
  if (resolved.committedPosition !== null && !(resolved.committedPosition instanceof SharedArrayBuffer)) {
    throw new InvalidArgumentException('committedPosition must be a SharedArrayBuffer');
  }
  return resolved;
}

export function checkBatchKey(key: BatchKey): void {
  checkInteger('encryption.number', key.number, 1, 0xffff_ffff);
  if (!(key.key instanceof Uint8Array) || key.key.length !== 32) throw new InvalidArgumentException('encryption.key must be 32 bytes');
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentException(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
