import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { CaptureFormatError } from '../errors.js';
import { HASH_KEY_MAX } from '../streams/hash_key.js';
import {
  BINARY_MAGIC,
  CAPTURE_VERSION,
  FILE_CHECKSUM_POSITION,
  FILE_HEADER_BYTES,
  FILE_HEADER_LENGTH_POSITION,
  FILE_VERSION_POSITION,
  FRAME_BYTES_MAX,
  FRAME_KIND_END,
  FRAME_KIND_POSITION,
  FRAME_KIND_RECORD,
  FRAME_LENGTH_POSITION,
  FRAME_PREFIX_BYTES,
  HEADER_JSON_BYTES_MAX,
  JSONL_MAGIC,
  LINE_BYTES_MAX,
  SEQUENCE_NUMBER_CHARS_MAX,
  crc32,
  decodeEndFrame,
  decodeRecordFrame,
  type CaptureEncoding,
  type CaptureHeader,
  type CaptureRecord,
  type CaptureShard,
} from './capture_format.js';

/*
 * Reads a capture file (docs/FORMAT.md, "Capture files") front to back, in either encoding (told
 * apart by their first bytes), checking each frame or line before it hands the record out: the
 * first that is cut short or wrong throws CaptureFormatError with its position, so a caller that
 * stores records as they come stores none after it. A file that stops before its end frame or
 * line is truncated, even at a boundary.
 */

/** Chunks read from the file at once: a record's frame (at most ~1 MiB) spans at most two. */
const READ_CHUNK_BYTES = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NEWLINE = 0x0a;

/** The bytes of a stream with the position of the first one not yet taken. */
class ByteQueue {
  private buffer: Buffer = Buffer.alloc(0);
  private at = 0;
  private ended = false;
  /** File position of `buffer[at]`. */
  position = 0;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  get buffered(): number {
    return this.buffer.length - this.at;
  }

  /** Reads until `bytes` are buffered or the stream ends; whether they are. */
  async fill(bytes: number): Promise<boolean> {
    while (this.buffered < bytes && !this.ended) {
      const next = await this.chunks.next();
      if (next.done === true) {
        this.ended = true;
        break;
      }
      this.buffer = this.buffered === 0 ? next.value : Buffer.concat([this.buffer.subarray(this.at), next.value]);
      this.at = 0;
    }
    return this.buffered >= bytes;
  }

  peek(bytes: number): Buffer {
    return this.buffer.subarray(this.at, this.at + bytes);
  }

  take(bytes: number): Buffer {
    const taken = this.peek(bytes);
    this.at += bytes;
    this.position += bytes;
    return taken;
  }

  /** The bytes up to the next newline (excluded), reading on for it; null at the end without one. */
  async line(maxBytes: number): Promise<Buffer | null> {
    let searched = 0;
    for (;;) {
      const index = this.buffer.indexOf(NEWLINE, this.at + searched);
      if (index >= 0) {
        const text = this.take(index - this.at);
        this.take(1);
        return text;
      }
      searched = this.buffered;
      if (searched > maxBytes || !(await this.fill(searched + 1))) return null;
    }
  }
}

export interface CaptureInput {
  readonly encoding: CaptureEncoding;
  readonly header: CaptureHeader;
  /** The records in file order; throws CaptureFormatError at the first bad one or a missing end. */
  records(): AsyncGenerator<CaptureRecord>;
}

/** Opens a capture: its file name, or a stream of its bytes (stdin). Reads and checks the header. */
export async function openCapture(source: string | Readable): Promise<CaptureInput> {
  const stream = typeof source === 'string' ? fs.createReadStream(source, { highWaterMark: READ_CHUNK_BYTES }) : source;
  const bytes = new ByteQueue((stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
  try {
    if (!(await bytes.fill(BINARY_MAGIC.length))) throw new CaptureFormatError('truncated: too short for a capture file', 0, undefined, 0);
    if (bytes.peek(BINARY_MAGIC.length).equals(BINARY_MAGIC)) return await binaryCapture(bytes);
    if ((await bytes.fill(JSONL_MAGIC.length)) && bytes.peek(JSONL_MAGIC.length).equals(JSONL_MAGIC)) return await jsonlCapture(bytes);
    throw new CaptureFormatError('not a capture file: neither the binary magic "SLCP" nor a JSON lines header', 0, undefined, 0);
  } catch (error) {
    stream.destroy();
    throw error;
  }
}

// ---- binary ----

async function binaryCapture(bytes: ByteQueue): Promise<CaptureInput> {
  const fail = (reason: string): never => {
    throw new CaptureFormatError(reason, 0, undefined, 0);
  };
  if (!(await bytes.fill(FILE_HEADER_BYTES))) fail('truncated: the file header');
  const prefix = bytes.peek(FILE_HEADER_BYTES);
  const version = prefix.readUInt16LE(FILE_VERSION_POSITION);
  if (version !== CAPTURE_VERSION) fail(`version ${version}; this reader knows version ${CAPTURE_VERSION}`);
  const jsonLength = prefix.readUInt32LE(FILE_HEADER_LENGTH_POSITION);
  if (jsonLength === 0 || jsonLength > HEADER_JSON_BYTES_MAX) fail(`a header of ${jsonLength} bytes`);
  if (!(await bytes.fill(FILE_HEADER_BYTES + jsonLength))) fail('truncated: the file header');
  const whole = bytes.take(FILE_HEADER_BYTES + jsonLength);
  if (crc32(whole.subarray(FILE_HEADER_LENGTH_POSITION)) !== whole.readUInt32LE(FILE_CHECKSUM_POSITION))
    fail('the header checksum does not match');
  const header = checkedHeader(parseJson(whole.subarray(FILE_HEADER_BYTES)), fail);
  return { encoding: 'binary', header, records: () => binaryRecords(bytes, header.shards) };
}

async function* binaryRecords(bytes: ByteQueue, shards: readonly CaptureShard[]): AsyncGenerator<CaptureRecord> {
  for (let count = 0; ; count++) {
    const position = bytes.position;
    const fail = (reason: string): never => {
      throw new CaptureFormatError(reason, position, undefined, count);
    };
    if (!(await bytes.fill(FRAME_PREFIX_BYTES + 1)))
      fail(bytes.buffered === 0 ? 'truncated: the file ends without its end frame' : 'truncated: a frame header');
    const length = bytes.peek(FRAME_PREFIX_BYTES).readUInt32LE(FRAME_LENGTH_POSITION);
    if (length === 0 || FRAME_PREFIX_BYTES + length > FRAME_BYTES_MAX) fail(`a frame of ${length} bytes`);
    if (!(await bytes.fill(FRAME_PREFIX_BYTES + length))) fail(`truncated: a frame of ${FRAME_PREFIX_BYTES + length} bytes`);
    const frame = bytes.take(FRAME_PREFIX_BYTES + length);
    if (crc32(frame.subarray(FRAME_LENGTH_POSITION)) !== frame.readUInt32LE(0)) fail('the frame checksum does not match');
    const kind = frame[FRAME_KIND_POSITION];
    if (kind === FRAME_KIND_END) {
      endOfCapture(decodeEndFrame(frame), count, fail);
      if (await bytes.fill(1)) fail('bytes after the end frame');
      return;
    }
    if (kind !== FRAME_KIND_RECORD) fail(`a frame of kind ${kind}`);
    const decoded = decodeRecordFrame(frame, shards);
    if (decoded.problem !== undefined) fail(decoded.problem);
    yield decoded.record!;
  }
}

function endOfCapture(recordCount: number | null, count: number, fail: (reason: string) => never): void {
  if (recordCount !== count) fail(`the end says ${recordCount} records, the file holds ${count}`);
}

// ---- JSON lines ----

async function jsonlCapture(bytes: ByteQueue): Promise<CaptureInput> {
  const fail = (reason: string): never => {
    throw new CaptureFormatError(reason, 0, 1, 0);
  };
  const text = await bytes.line(HEADER_JSON_BYTES_MAX);
  if (text === null) fail('truncated: the header line');
  const header = checkedHeader(parseJson(text!), fail);
  return { encoding: 'jsonl', header, records: () => jsonlRecords(bytes, header.shards) };
}

async function* jsonlRecords(bytes: ByteQueue, shards: readonly CaptureShard[]): AsyncGenerator<CaptureRecord> {
  const shardIds = new Set(shards.map((shard) => shard.shardId));
  for (let count = 0; ; count++) {
    const position = bytes.position;
    const fail = (reason: string): never => {
      throw new CaptureFormatError(reason, position, count + 2, count);
    };
    const text = await bytes.line(LINE_BYTES_MAX);
    if (text === null)
      fail(bytes.buffered === 0 ? 'truncated: the file ends without its end line' : 'truncated: a line without its newline');
    const value = parseJson(text!) as Record<string, unknown> | undefined;
    if (value === undefined || value === null || typeof value !== 'object') fail('not a JSON object');
    if ('end' in value!) {
      endOfCapture(((value.end ?? {}) as { recordCount?: number }).recordCount ?? null, count, fail);
      if (await bytes.fill(1)) fail('bytes after the end line');
      return;
    }
    yield checkedRecord(value!, shardIds, fail);
  }
}

function checkedRecord(value: Record<string, unknown>, shardIds: ReadonlySet<string>, fail: (reason: string) => never): CaptureRecord {
  const { shardId, sequenceNumber, arrivalMs, partitionKey, explicitHashKey, data } = value;
  if (typeof shardId !== 'string' || !shardIds.has(shardId)) fail(`shardId ${JSON.stringify(shardId)} is not in the header`);
  if (typeof sequenceNumber !== 'string' || !/^\d+$/.test(sequenceNumber) || sequenceNumber.length > SEQUENCE_NUMBER_CHARS_MAX)
    fail('sequenceNumber must be a decimal string');
  if (typeof arrivalMs !== 'number' || !Number.isSafeInteger(arrivalMs) || arrivalMs < 0) fail('arrivalMs must be whole milliseconds');
  if (typeof partitionKey !== 'string' || partitionKey.length === 0) fail('partitionKey must be a non-empty string');
  if (explicitHashKey !== undefined && !isHashKey(explicitHashKey)) fail('explicitHashKey must be a decimal from 0 to 2^128 - 1');
  if (typeof data !== 'string' || !BASE64.test(data)) fail('data must be base64');
  return {
    shardId: shardId as string,
    sequenceNumber: sequenceNumber as string,
    arrivalMs: arrivalMs as number,
    partitionKey: partitionKey as string,
    explicitHashKey: explicitHashKey as string | undefined,
    data: Buffer.from(data as string, 'base64'),
  };
}

function isHashKey(value: unknown): boolean {
  return typeof value === 'string' && /^\d{1,39}$/.test(value) && BigInt(value) <= HASH_KEY_MAX;
}

// ---- both ----

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function checkedHeader(value: unknown, fail: (reason: string) => never): CaptureHeader {
  if (value === undefined || value === null || typeof value !== 'object') return fail('the header is not a JSON object');
  const header = value as Record<string, unknown>;
  if (header.shardlineCapture !== CAPTURE_VERSION)
    fail(`version ${JSON.stringify(header.shardlineCapture)}; this reader knows version ${CAPTURE_VERSION}`);
  if (typeof header.stream !== 'string' || typeof header.exportedAtMs !== 'number' || typeof header.explicitHashKeys !== 'boolean')
    fail('the header needs stream, exportedAtMs and explicitHashKeys');
  if (!isTime(header.fromMs) || !isTime(header.toMs)) fail('fromMs and toMs must be milliseconds or null');
  if (!Array.isArray(header.shards) || !header.shards.every(isShard)) fail('the header needs shards: shardId, parentShardIds, hash keys');
  return header as unknown as CaptureHeader;
}

function isTime(value: unknown): boolean {
  return value === null || (typeof value === 'number' && Number.isSafeInteger(value));
}

function isShard(value: unknown): boolean {
  const shard = value as Record<string, unknown> | null;
  return (
    shard !== null &&
    typeof shard === 'object' &&
    typeof shard.shardId === 'string' &&
    Array.isArray(shard.parentShardIds) &&
    shard.parentShardIds.every((id) => typeof id === 'string') &&
    typeof shard.startingHashKey === 'string' &&
    typeof shard.endingHashKey === 'string'
  );
}
