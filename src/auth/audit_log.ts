import { syncDirectory } from '../util/sync_directory.js';
import { createHash } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ClosedError, CorruptLogError, InvalidArgumentException, StorageError, storageErrorFrom } from '../errors.js';
import { auditRecordProblem, type AuditRecord } from './audit_record.js';

/*
 * ## Audit log (`src/auth/audit_log.ts`)
 *
 * An append-only, hash-chained log of CloudTrail-shaped records (src/auth/audit_record.ts), one
 * directory per log:
 *
 * ```
 * <audit dir>/
 *   audit-000001.jsonl   records 1 .. k, one JSON object per line
 *   audit-000002.jsonl   records k+1 .. (6 digits, zero-padded, so `ls` lists them in order)
 *   audit-head.json      the head: the newest record the log vouches for, and the newest file
 * ```
 *
 * ### Lines
 * Every line of an `audit-NNNNNN.jsonl` file is UTF-8 JSON ending in `\n`, written byte for byte
 * in this layout (members in this order, no spaces):
 *
 * ```
 * {"sequence":<n>,"hash":"<64 lower-case hex>","record":<the record's JSON>}\n
 * ```
 *
 * - `sequence` counts records from 1, without gaps, across files.
 * - `hash` = hex(SHA-256(<the previous line's hash> + "\n" + <the record's JSON>)), where the
 *   record's JSON is the exact bytes between `"record":` and the line's final `}`, and the
 *   previous hash of record 1 is 64 zeros ("0" x 64). Each line is a link of one chain.
 * - The record is a CloudTrail event record; it never holds record data (no `Data` member in
 *   requestParameters or responseElements, nor in their `Records` entries).
 * - A line is at most 4 MiB (`AUDIT_LINE_BYTES_MAX`).
 *
 * ### Files
 * A record goes into the newest file unless the file already holds at least one line and the
 * record's line would take it past `rotateBytes` (default 64 MiB); then the log rotates: it
 * creates `audit-<index + 1>.jsonl` and writes the line there. The first line of a file links
 * to the last line of the file before it (sequence + 1, and its hash). Indexes run from 000001
 * without gaps; the newest file may be empty (the log was just created, or stopped right after
 * a rotation).
 *
 * ### Head (`audit-head.json`)
 * One JSON line: `{"sequence":<n>,"hash":"<hex>","file":"audit-NNNNNN.jsonl","line":<l>,
 * "newestFile":"audit-MMMMMM.jsonl"}` — record `n`, whose hash is `hash`, is line `l` of `file`
 * (file null and line 0 while the log is empty, with sequence 0 and 64 zeros), and `newestFile`
 * had been created. It is replaced atomically and durably (written to `audit-head.json.tmp`,
 * fsynced, renamed, the directory fsynced) when the log opens (before any audit file exists,
 * and after recovery), at each rotation (after the new file is created), at close, and while
 * records are appended at least every second or every 1,000 records, whichever comes first.
 * It only ever names records already on disk (written after their fdatasync).
 *
 * ### Durability
 * An append is acknowledged once its line is written and fdatasynced (group commit: lines
 * appended while an fdatasync runs are written together and share the next one). A crash can
 * leave the newest file ending in a torn line (bytes without a final `\n`): that append was
 * never acknowledged, and opening the log truncates the file to its last whole line.
 *
 * ### Verification (`verifyAuditLog`, `shardline audit verify`)
 * The log is sound when: the head parses; files run from audit-000001 without gaps; every line
 * parses in the layout above and holds an audit record; sequences run 1, 2, 3...; every hash is
 * the chain's; the record at the head's sequence has the head's hash; the log reaches the head's
 * sequence and its newest file. Only the newest file may end in a torn line (an append cut short
 * by a crash; not counted, and dropped by the next open). The first problem found is reported as
 * `<file>:<line>: <reason>` (a missing file is named with line 1).
 */

export interface AuditLogOptions {
  readonly directory: string;
  /** Rotate before a file passes this size. Default 64 MiB. */
  readonly rotateBytes?: number;
  /** fdatasync each commit and fsync the directory and the head. Default true; false only for tests and benchmarks. */
  readonly fsync?: boolean;
}

export interface AuditProblem {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface AuditVerification {
  readonly records: number;
  readonly files: number;
  readonly problem?: AuditProblem;
  /** The torn final line of the newest file, if there is one: an unacknowledged append, not a problem. */
  readonly tornLine?: { readonly file: string; readonly line: number };
}

export const AUDIT_HEAD_FILE = 'audit-head.json';
export const AUDIT_ROTATE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** A line's bound: a PutRecords of 500 entries without their data is about 150 KiB. */
export const AUDIT_LINE_BYTES_MAX = 4 * 1024 * 1024;
/** What one commit writes at most (one write, one fdatasync); the rest waits for the next. */
const COMMIT_BYTES_MAX = 16 * 1024 * 1024;
/** The head is written again once this long has passed since an append it does not cover... */
const HEAD_INTERVAL_MS = 1000;
/** ...or once this many appends are not covered, whichever comes first. */
const HEAD_APPENDS_MAX = 1000;
const FILE_INDEX_DIGITS = 6;
const FILE_INDEX_MAX = 10 ** FILE_INDEX_DIGITS - 1;
const FILE_PATTERN = /^audit-(\d{6})\.jsonl$/;
const TMP_SUFFIX = '.tmp';
const ZERO_HASH = '0'.repeat(64);
const HASH_PATTERN = /^[0-9a-f]{64}$/;
const LINE_PREFIX = /^\{"sequence":([1-9]\d{0,15}),"hash":"([0-9a-f]{64})","record":/;
const LINE_SUFFIX = Buffer.from('}\n');
const NEWLINE = 0x0a;
const READ_CHUNK_BYTES = 256 * 1024;

export function auditFileName(index: number): string {
  return `audit-${String(index).padStart(FILE_INDEX_DIGITS, '0')}.jsonl`;
}

/** The hash of the link after `previousHash` for a record whose JSON is `recordJson`. */
export function chainHash(previousHash: string, recordJson: Uint8Array): string {
  return createHash('sha256').update(`${previousHash}\n`, 'utf8').update(recordJson).digest('hex');
}

// ---- the head ----

interface Head {
  readonly sequence: number;
  readonly hash: string;
  /** Where record `sequence` is; null and 0 while the log is empty. */
  readonly file: string | null;
  readonly line: number;
  readonly newestFile: string | null;
}

function headText(head: Head): string {
  return `${JSON.stringify({ sequence: head.sequence, hash: head.hash, file: head.file, line: head.line, newestFile: head.newestFile })}\n`;
}

/** The head in `text`, or why it is not one. */
function parseHead(text: string): Head | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const { sequence, hash, file, line, newestFile } = value as Record<string, unknown>;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) return 'sequence is not a whole number';
  if (typeof hash !== 'string' || !HASH_PATTERN.test(hash)) return 'hash is not 64 hex digits';
  if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 0) return 'line is not a whole number';
  if (newestFile !== null && (typeof newestFile !== 'string' || !FILE_PATTERN.test(newestFile)))
    return 'newestFile is not an audit file name';
  if (sequence === 0) {
    if (file !== null || line !== 0 || hash !== ZERO_HASH) return 'an empty log with a file, a line or a hash';
    return { sequence, hash, file: null, line, newestFile };
  }
  if (typeof file !== 'string' || !FILE_PATTERN.test(file) || line === 0 || newestFile === null) return 'file, line or newestFile missing';
  if (fileIndex(file) > fileIndex(newestFile)) return 'file is newer than newestFile';
  return { sequence, hash, file, line, newestFile };
}

/** The head, null if there is none, or why it does not parse. */
async function readHead(directory: string): Promise<Head | null | string> {
  let text: string;
  try {
    text = await fs.readFile(path.join(directory, AUDIT_HEAD_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageErrorFrom(error, `cannot read ${path.join(directory, AUDIT_HEAD_FILE)}`);
  }
  return parseHead(text);
}

// ---- files and lines ----

function fileIndex(name: string): number {
  return Number(FILE_PATTERN.exec(name)![1]);
}

/** The audit files' indexes, oldest first. Other names (the head, its .tmp) are not audit files. */
async function listFiles(directory: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch (error) {
    throw storageErrorFrom(error, `cannot read the audit log ${directory}`);
  }
  return names
    .filter((name) => FILE_PATTERN.test(name))
    .map(fileIndex)
    .sort((a, b) => a - b);
}

interface FileLine {
  /** 1-based. */
  readonly line: number;
  /** The line without its `\n`; null when it is longer than AUDIT_LINE_BYTES_MAX (reading stops there). */
  readonly bytes: Buffer | null;
  /** Ends in `\n` (false only for the file's final fragment). */
  readonly whole: boolean;
  /** The position just past the line (and its `\n`). */
  readonly end: number;
}

/** The lines of a file, read in chunks: memory stays within a line and a chunk. */
async function* fileLines(file: string): AsyncGenerator<FileLine> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    throw storageErrorFrom(error, `cannot open ${file}`);
  }
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let position = 0;
    let line = 0;
    for (;;) {
      let read: number;
      try {
        ({ bytesRead: read } = await handle.read(chunk, 0, READ_CHUNK_BYTES, position));
      } catch (error) {
        throw storageErrorFrom(error, `cannot read ${file}`);
      }
      if (read === 0) break;
      let start = 0;
      for (let at = chunk.indexOf(NEWLINE, 0); at !== -1 && at < read; at = chunk.indexOf(NEWLINE, start)) {
        const bytes = Buffer.concat([...pending, chunk.subarray(start, at)]);
        pending = [];
        pendingBytes = 0;
        line++;
        if (bytes.length > AUDIT_LINE_BYTES_MAX) {
          yield { line, bytes: null, whole: true, end: position + at + 1 };
          return;
        }
        yield { line, bytes, whole: true, end: position + at + 1 };
        start = at + 1;
      }
      if (start < read) {
        pending.push(Buffer.from(chunk.subarray(start, read)));
        pendingBytes += read - start;
        if (pendingBytes > AUDIT_LINE_BYTES_MAX) {
          yield { line: line + 1, bytes: null, whole: false, end: position + read };
          return;
        }
      }
      position += read;
    }
    if (pendingBytes > 0) yield { line: line + 1, bytes: Buffer.concat(pending), whole: false, end: position };
  } finally {
    await handle.close();
  }
}

interface Entry {
  readonly sequence: number;
  readonly hash: string;
  readonly recordJson: Buffer;
  readonly record: AuditRecord;
}

/** The entry a whole line holds, or why it holds none. */
function parseLine(bytes: Buffer | null): Entry | string {
  if (bytes === null) return `longer than ${AUDIT_LINE_BYTES_MAX} bytes`;
  // The prefix is ASCII and short: decoding its first bytes is enough to match it.
  const prefix = LINE_PREFIX.exec(bytes.subarray(0, 128).toString('latin1'));
  if (prefix === null) return 'not an audit line: expected {"sequence":<n>,"hash":"<hex>","record":{...}}';
  if (bytes[bytes.length - 1] !== 0x7d) return 'not an audit line: no closing }';
  const recordJson = bytes.subarray(prefix[0].length, bytes.length - 1);
  let record: unknown;
  try {
    record = JSON.parse(recordJson.toString('utf8'));
  } catch {
    return 'the record is not JSON';
  }
  const problem = auditRecordProblem(record);
  if (problem !== null) return problem;
  const sequence = Number(prefix[1]);
  if (!Number.isSafeInteger(sequence)) return 'the sequence is too large';
  return { sequence, hash: prefix[2]!, recordJson, record: record as AuditRecord };
}

/** Why `entry` is not the link after (`sequence`, `hash`), or null if it is. */
function linkProblem(entry: Entry, previousSequence: number, previousHash: string): string | null {
  if (entry.sequence !== previousSequence + 1) {
    const expected = previousSequence + 1;
    return entry.sequence > expected
      ? `sequence ${entry.sequence} where ${expected} was expected: records are missing before this line`
      : `sequence ${entry.sequence} where ${expected} was expected: records are out of order or repeated`;
  }
  if (chainHash(previousHash, entry.recordJson) !== entry.hash)
    return 'the hash does not match the record and the hash before it: this record or the one before it was changed';
  return null;
}

// ---- verification and reading ----

/**
 * One pass over a log, oldest record first, checking everything verifyAuditLog promises; stops
 * at the first problem. The head is read before the directory is listed, and audit files only
 * grow, so a log being appended to is seen consistently (its newest line may be torn, in flight).
 */
class AuditScan {
  records = 0;
  files = 0;
  problem: AuditProblem | undefined;
  tornLine: { file: string; line: number } | undefined;

  constructor(private readonly directory: string) {}

  async *entries(): AsyncGenerator<AuditRecord> {
    const head = await readHead(this.directory);
    const indexes = await listFiles(this.directory);
    this.files = indexes.length;
    if (typeof head === 'string') return this.fail(AUDIT_HEAD_FILE, 1, `the head file does not parse: ${head}`);
    if (head === null && indexes.length > 0)
      return this.fail(
        AUDIT_HEAD_FILE,
        1,
        `missing, but there are ${indexes.length} audit files (the log writes it before its first file)`,
      );
    const gap = fileGap(indexes);
    if (gap !== null) return this.fail(gap.file, 1, gap.reason);

    let sequence = 0;
    let hash = ZERO_HASH;
    let last: { file: string; line: number } | null = null;
    for (const [i, index] of indexes.entries()) {
      const name = auditFileName(index);
      const newest = i === indexes.length - 1;
      for await (const { line, bytes, whole } of fileLines(path.join(this.directory, name))) {
        if (bytes !== null && !whole) {
          if (!newest) return this.fail(name, line, 'a torn line (no newline) in a file the log has gone past');
          this.tornLine = { file: name, line };
          break;
        }
        const entry = parseLine(bytes);
        if (typeof entry === 'string') return this.fail(name, line, entry);
        const problem = linkProblem(entry, sequence, hash);
        if (problem !== null) return this.fail(name, line, problem);
        if (head !== null && entry.sequence === head.sequence && entry.hash !== head.hash)
          return this.fail(
            name,
            line,
            `the head file records another hash for sequence ${head.sequence}: the log up to here was rewritten`,
          );
        sequence = entry.sequence;
        hash = entry.hash;
        last = { file: name, line };
        this.records++;
        yield entry.record;
      }
    }

    if (head === null) return;
    const newestIndex = indexes.at(-1) ?? 0;
    if (head.newestFile !== null && fileIndex(head.newestFile) > newestIndex)
      return this.fail(
        head.newestFile,
        1,
        `missing: the head file records it as created, but the log ends ${newestIndex === 0 ? 'with no file' : `at ${auditFileName(newestIndex)}`}`,
      );
    if (head.sequence > sequence) {
      const where = `${head.file ?? AUDIT_HEAD_FILE}:${head.line}`;
      if (last === null)
        return this.fail(AUDIT_HEAD_FILE, 1, `the head file records sequence ${head.sequence} at ${where}, but the log holds no record`);
      return this.fail(
        last.file,
        last.line,
        `the log ends here at sequence ${sequence}, but the head file records sequence ${head.sequence} at ${where}: the newest records were removed`,
      );
    }
  }

  private fail(file: string, line: number, reason: string): void {
    this.problem = { file, line, reason };
  }
}

/** The first missing audit file, if indexes do not run 1, 2, 3... */
function fileGap(indexes: readonly number[]): { file: string; reason: string } | null {
  const first = indexes[0];
  if (first !== undefined && first !== 1) return { file: auditFileName(1), reason: `missing: the log starts at ${auditFileName(first)}` };
  for (let i = 1; i < indexes.length; i++) {
    const [before, after] = [indexes[i - 1]!, indexes[i]!];
    if (after !== before + 1)
      return { file: auditFileName(before + 1), reason: `missing: ${auditFileName(before)} is followed by ${auditFileName(after)}` };
  }
  return null;
}

/** Checks a whole log (see the format above): how many records and files, and the first problem. */
export async function verifyAuditLog(directory: string): Promise<AuditVerification> {
  const scan = new AuditScan(directory);
  for await (const _record of scan.entries()) {
    // Counted by the scan.
  }
  return {
    records: scan.records,
    files: scan.files,
    ...(scan.problem === undefined ? {} : { problem: scan.problem }),
    ...(scan.tornLine === undefined ? {} : { tornLine: scan.tornLine }),
  };
}

/**
 * The records of a log, oldest first, checked as they are read: at the first problem (after the
 * records before it) it throws CorruptLogError `<file>:<line>: <reason>`. A torn final line is
 * skipped.
 */
export async function* readAuditLog(directory: string): AsyncGenerator<AuditRecord> {
  const scan = new AuditScan(directory);
  yield* scan.entries();
  if (scan.problem !== undefined) throw corruptError(scan.problem);
}

/**
 * A failed write, fdatasync or rename as the error the log stops with: always StorageError (not
 * the retriable StorageFull), since after it the log takes no more appends until reopened.
 */
function storageFailure(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function corruptError(problem: AuditProblem): CorruptLogError {
  return new CorruptLogError(`${problem.file}:${problem.line}: ${problem.reason}`);
}

// ---- the writer ----

interface PendingAppend {
  readonly line: Buffer;
  readonly sequence: number;
  readonly hash: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The newest durable record and where it is. */
interface Position {
  readonly sequence: number;
  readonly hash: string;
  readonly file: string | null;
  readonly line: number;
}

/**
 * The writer of one audit log directory (format above). Appends are serialized: lines go to the
 * file in the order append was called, and each call resolves once its line is on disk. One
 * writer per directory at a time is the caller's to keep (the server's data directory lock).
 */
export class AuditLog {
  private readonly pending: PendingAppend[] = [];
  private running: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private failure: StorageError | null = null;
  /** The chain as appends extend it (ahead of the disk while commits are pending). */
  private nextSequence: number;
  private nextHash: string;
  private durable: Position;
  private fileBytes: number;
  private fileLineCount: number;
  private appendsSinceHead = 0;
  private headDue = false;
  private headTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly directory: string,
    private readonly rotateBytes: number,
    private readonly fsync: boolean,
    private handle: FileHandle,
    private index: number,
    tail: { position: Position; fileBytes: number; fileLineCount: number },
  ) {
    this.durable = tail.position;
    this.nextSequence = tail.position.sequence;
    this.nextHash = tail.position.hash;
    this.fileBytes = tail.fileBytes;
    this.fileLineCount = tail.fileLineCount;
  }

  /**
   * Opens the log in `directory`, creating both if there are none, and recovers: a torn final
   * line of the newest file is truncated away, and the chain goes on from the last whole record.
   * Refuses (CorruptLogError) a log whose head the files contradict, or whose newest file does
   * not parse, rather than write a new head over the evidence.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const { directory, rotateBytes = AUDIT_ROTATE_BYTES_DEFAULT, fsync = true } = options;
    if (typeof directory !== 'string' || directory.length === 0)
      throw new InvalidArgumentException('the audit log directory must be a non-empty path');
    if (!Number.isSafeInteger(rotateBytes) || rotateBytes < 1)
      throw new InvalidArgumentException(`rotateBytes must be a positive whole number of bytes, not ${rotateBytes}`);
    const dir = path.resolve(directory);
    try {
      await makeDirectory(dir, fsync);
      await fs.rm(path.join(dir, AUDIT_HEAD_FILE + TMP_SUFFIX), { force: true });
    } catch (error) {
      throw storageErrorFrom(error, `cannot open the audit log ${dir}`);
    }
    const head = await readHead(dir);
    if (typeof head === 'string') throw new CorruptLogError(`${dir}: ${AUDIT_HEAD_FILE} does not parse: ${head}`);
    let indexes = await listFiles(dir);
    if (head === null && indexes.length > 0)
      throw new CorruptLogError(`${dir}: ${AUDIT_HEAD_FILE} is missing, but there are ${indexes.length} audit files`);
    if (head === null) {
      // The head comes before the first file: a directory with audit files and no head was tampered with.
      await writeHead(dir, { sequence: 0, hash: ZERO_HASH, file: null, line: 0, newestFile: null }, fsync);
    } else await checkHead(dir, head, indexes);

    if (indexes.length === 0) {
      try {
        await (await createFile(dir, 1, fsync)).close();
      } catch (error) {
        throw storageErrorFrom(error, `cannot create ${path.join(dir, auditFileName(1))}`);
      }
      indexes = [1];
    }
    const index = indexes.at(-1)!;
    const tail = await recoverTail(dir, indexes, fsync);
    if (head !== null && tail.position.sequence < head.sequence)
      throw new CorruptLogError(
        `${dir}: the log ends at sequence ${tail.position.sequence}, but ${AUDIT_HEAD_FILE} records sequence ${head.sequence}`,
      );
    let handle: FileHandle;
    try {
      handle = await fs.open(path.join(dir, auditFileName(index)), 'a');
    } catch (error) {
      throw storageErrorFrom(error, `cannot open ${path.join(dir, auditFileName(index))}`);
    }
    const log = new AuditLog(dir, rotateBytes, fsync, handle, index, tail);
    try {
      await log.writeHead();
    } catch (error) {
      await handle.close();
      throw error;
    }
    return log;
  }

  /**
   * Appends `record`; resolves once its line is written and fdatasynced. Appends made while a
   * commit is running are written together by the next one and share its fdatasync. Rejects
   * with InvalidArgumentException (a record that is not one, or too large: nothing written),
   * ClosedError after close(), or StorageError once a write or fdatasync has failed (the log
   * then takes no more appends: reopening recovers what is really on disk).
   */
  append(record: AuditRecord): Promise<void> {
    if (this.closing !== null) return Promise.reject(new ClosedError('the audit log is closed'));
    if (this.failure !== null) return Promise.reject(this.failure);
    const problem = auditRecordProblem(record);
    if (problem !== null) return Promise.reject(new InvalidArgumentException(`not an audit record: ${problem}`));
    let recordJson: Buffer;
    try {
      recordJson = Buffer.from(JSON.stringify(record), 'utf8');
    } catch (error) {
      return Promise.reject(new InvalidArgumentException(`the record cannot be written as JSON: ${String(error)}`, { cause: error }));
    }
    const sequence = this.nextSequence + 1;
    const hash = chainHash(this.nextHash, recordJson);
    const line = Buffer.concat([Buffer.from(`{"sequence":${sequence},"hash":"${hash}","record":`, 'latin1'), recordJson, LINE_SUFFIX]);
    if (line.length - 1 > AUDIT_LINE_BYTES_MAX)
      return Promise.reject(new InvalidArgumentException(`the record's line is ${line.length - 1} bytes: at most ${AUDIT_LINE_BYTES_MAX}`));
    this.nextSequence = sequence;
    this.nextHash = hash;
    return new Promise((resolve, reject) => {
      this.pending.push({ line, sequence, hash, resolve, reject });
      this.kick();
    });
  }

  /** Waits for the appends already made, writes the head and closes the file. Again: the same promise. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    while (this.running !== null) await this.running;
    this.stopHeadTimer();
    try {
      if (this.failure === null) await this.writeHead();
    } finally {
      await this.handle.close();
    }
  }

  /** Starts the commit loop unless it runs; it runs until nothing is pending. */
  private kick(): void {
    if (this.running !== null) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // An append (or the head's timer) that came after the loop's last look.
      if (this.pending.length > 0 || (this.headDue && this.failure === null)) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.failure === null && (this.pending.length > 0 || this.headDue)) {
      try {
        if (this.pending.length > 0) await this.commit();
        if (this.headDue || this.appendsSinceHead >= HEAD_APPENDS_MAX) await this.writeHead();
      } catch (error) {
        this.failure = storageFailure(error, `cannot append to the audit log ${this.directory}`);
      }
    }
    if (this.failure !== null) for (const append of this.pending.splice(0)) append.reject(this.failure);
  }

  /** Writes and fdatasyncs what is pending (up to COMMIT_BYTES_MAX), rotating where a line would pass rotateBytes. */
  private async commit(): Promise<void> {
    let bytes = 0;
    let count = 0;
    while (count < this.pending.length && (count === 0 || bytes + this.pending[count]!.line.length <= COMMIT_BYTES_MAX))
      bytes += this.pending[count++]!.line.length;
    const batch = this.pending.splice(0, count);
    try {
      let run: PendingAppend[] = [];
      let runBytes = 0;
      for (const append of batch) {
        const filled = this.fileBytes + runBytes;
        if (filled > 0 && filled + append.line.length > this.rotateBytes) {
          await this.writeRun(run);
          [run, runBytes] = [[], 0];
          await this.rotate();
        }
        run.push(append);
        runBytes += append.line.length;
      }
      await this.writeRun(run);
    } catch (error) {
      const failure = storageFailure(error, `cannot append to the audit log ${this.directory}`);
      for (const append of batch) append.reject(failure);
      throw failure;
    }
    for (const append of batch) append.resolve();
    this.appendsSinceHead += batch.length;
    if (this.appendsSinceHead > 0 && this.headTimer === null && this.closing === null) {
      this.headTimer = setTimeout(() => {
        this.headTimer = null;
        this.headDue = true;
        this.kick();
      }, HEAD_INTERVAL_MS);
      this.headTimer.unref();
    }
  }

  /** One write of consecutive lines to the newest file, then its fdatasync. */
  private async writeRun(run: readonly PendingAppend[]): Promise<void> {
    if (run.length === 0) return;
    const buffer = run.length === 1 ? run[0]!.line : Buffer.concat(run.map((append) => append.line));
    for (let written = 0; written < buffer.length;) {
      const { bytesWritten } = await this.handle.write(buffer, written, buffer.length - written);
      written += bytesWritten;
    }
    if (this.fsync) await this.handle.datasync();
    this.fileBytes += buffer.length;
    this.fileLineCount += run.length;
    const last = run.at(-1)!;
    this.durable = { sequence: last.sequence, hash: last.hash, file: auditFileName(this.index), line: this.fileLineCount };
  }

  /** Starts the next file; the head then names it, so removing it is seen. */
  private async rotate(): Promise<void> {
    if (this.index >= FILE_INDEX_MAX) throw new StorageError(`the audit log ${this.directory} has used all ${FILE_INDEX_MAX} file names`);
    const next = await createFile(this.directory, this.index + 1, this.fsync);
    await this.handle.close();
    this.handle = next;
    this.index++;
    this.fileBytes = 0;
    this.fileLineCount = 0;
    await this.writeHead();
  }

  private async writeHead(): Promise<void> {
    this.stopHeadTimer();
    this.headDue = false;
    this.appendsSinceHead = 0;
    await writeHead(this.directory, { ...this.durable, newestFile: auditFileName(this.index) }, this.fsync);
  }

  private stopHeadTimer(): void {
    if (this.headTimer !== null) clearTimeout(this.headTimer);
    this.headTimer = null;
  }
}

// ---- opening ----

/** Makes `dir` and its missing parents, each new entry made durable in the directory holding it. */
async function makeDirectory(dir: string, fsync: boolean): Promise<void> {
  // mkdir names the first directory it made (undefined if there were none to make).
  const created = await fs.mkdir(dir, { recursive: true });
  if (created === undefined || !fsync) return;
  for (let made = dir; ; made = path.dirname(made)) {
    await syncDirectory(path.dirname(made));
    if (made === created || path.dirname(made) === made) return;
  }
}

/** Creates audit file `index` (it must not exist) for appending, its name made durable. */
async function createFile(dir: string, index: number, fsync: boolean): Promise<FileHandle> {
  const handle = await fs.open(path.join(dir, auditFileName(index)), 'ax');
  try {
    if (fsync) await syncDirectory(dir);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** Replaces the head atomically: tmp, fsync, rename, directory fsync. */
async function writeHead(dir: string, head: Head, fsync: boolean): Promise<void> {
  const target = path.join(dir, AUDIT_HEAD_FILE);
  const tmp = target + TMP_SUFFIX;
  try {
    const handle = await fs.open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(headText(head));
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, target);
    if (fsync) await syncDirectory(dir);
  } catch (error) {
    throw storageFailure(error, `cannot write ${target}`);
  }
}

/** The files must still hold what the head vouches for: its newest file, and its record at its place. */
async function checkHead(dir: string, head: Head, indexes: readonly number[]): Promise<void> {
  const corrupt = (reason: string): CorruptLogError => new CorruptLogError(`${dir}: ${reason}; \`shardline audit verify\` says more`);
  if (head.newestFile !== null && fileIndex(head.newestFile) > (indexes.at(-1) ?? 0))
    throw corrupt(`${head.newestFile} is missing (${AUDIT_HEAD_FILE} records it)`);
  if (head.file === null) return;
  if (!indexes.includes(fileIndex(head.file)))
    throw corrupt(`${head.file} is missing (${AUDIT_HEAD_FILE} records sequence ${head.sequence} in it)`);
  for await (const { line, bytes, whole } of fileLines(path.join(dir, head.file))) {
    if (line < head.line) continue;
    const entry = whole ? parseLine(bytes) : 'a torn line (no newline)';
    if (typeof entry === 'string') throw corrupt(`${head.file}:${line}: ${entry}`);
    if (entry.sequence === head.sequence && entry.hash === head.hash) return;
    break;
  }
  throw corrupt(`${head.file}:${head.line} is not record ${head.sequence} with the hash ${AUDIT_HEAD_FILE} records`);
}

/**
 * The newest durable record and the newest file's size and line count, after truncating a torn
 * final line away. The newest file's whole lines must parse and link to each other; an empty
 * newest file (just rotated) continues from the last line of the file before it.
 */
async function recoverTail(
  dir: string,
  indexes: readonly number[],
  fsync: boolean,
): Promise<{ position: Position; fileBytes: number; fileLineCount: number }> {
  const newest = auditFileName(indexes.at(-1)!);
  const file = path.join(dir, newest);
  let last: (Entry & { line: number }) | null = null;
  let wholeBytes = 0;
  let torn = false;
  for await (const { line, bytes, whole, end } of fileLines(file)) {
    // A final fragment is an append a crash cut short (never acknowledged); one too long to be a line is not.
    if (!whole && bytes !== null) {
      torn = true;
      break;
    }
    const entry = parseLine(bytes);
    if (typeof entry === 'string') throw new CorruptLogError(`${newest}:${line}: ${entry}`);
    if (last !== null) {
      const problem = linkProblem(entry, last.sequence, last.hash);
      if (problem !== null) throw new CorruptLogError(`${newest}:${line}: ${problem}`);
    }
    last = { ...entry, line };
    wholeBytes = end;
  }
  if (torn) await truncate(file, wholeBytes, fsync);
  if (last !== null)
    return {
      position: { sequence: last.sequence, hash: last.hash, file: newest, line: last.line },
      fileBytes: wholeBytes,
      fileLineCount: last.line,
    };
  // Empty: the last record is the last line of an older file (a torn line there is not a crash's).
  for (let i = indexes.length - 2; i >= 0; i--) {
    const name = auditFileName(indexes[i]!);
    let found: (Entry & { line: number }) | null = null;
    for await (const { line, bytes, whole } of fileLines(path.join(dir, name))) {
      if (!whole) throw new CorruptLogError(`${name}:${line}: a torn line (no newline) in a file the log has gone past`);
      const entry = parseLine(bytes);
      if (typeof entry === 'string') throw new CorruptLogError(`${name}:${line}: ${entry}`);
      found = { ...entry, line };
    }
    if (found !== null)
      return { position: { sequence: found.sequence, hash: found.hash, file: name, line: found.line }, fileBytes: 0, fileLineCount: 0 };
  }
  return { position: { sequence: 0, hash: ZERO_HASH, file: null, line: 0 }, fileBytes: 0, fileLineCount: 0 };
}

async function truncate(file: string, bytes: number, fsync: boolean): Promise<void> {
  try {
    const handle = await fs.open(file, 'r+');
    try {
      await handle.truncate(bytes);
      if (fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw storageErrorFrom(error, `cannot truncate the torn line of ${file}`);
  }
}
