import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocketSink, type ProducerSink } from '../client/producer_sink.js';
import { engineSink } from '../embedded_sink.js';
import { InvalidArgumentException } from '../errors.js';
import type { CaptureEncoding, CaptureRecord } from './capture_format.js';
import { OrderedPutter } from './capture_putter.js';
import { openCapture, type CaptureInput } from './capture_reader.js';
import { isClient, type ShardlineTarget } from './capture_sources.js';

/*
 * Import: a capture's records put into a stream as fast as the target takes them, in batches,
 * each key's records in their order (capture_putter.ts). The file is checked as it is read: at
 * the first bad frame or line the records before it are stored (the import waits for them) and
 * none after it, and the CaptureFormatError is thrown. With checkFirst the whole file is read
 * once before anything is put, so a bad file stores nothing.
 */

/** Where records are put: shardline (an Engine or a client of a server), or any ProducerSink (KinesisApiSink: any Kinesis endpoint). */
export type PutTarget = ShardlineTarget | ProducerSink;

export interface ImportOptions {
  readonly stream: string;
  /** Read and check the whole file before putting anything (a file name only). */
  readonly checkFirst?: boolean | undefined;
  /** PutRecords calls in flight at once. Default 4. */
  readonly inFlightMax?: number | undefined;
}

export interface ImportResult {
  readonly encoding: CaptureEncoding;
  readonly recordCount: number;
  /** Partition keys and data, as Kinesis counts a record's size. */
  readonly payloadBytes: number;
  readonly elapsedMs: number;
}

/** Records read ahead of what is stored: what an import or replay holds in memory at most. */
export const BACKLOG_RECORDS_MAX = 20_000;
export const BACKLOG_BYTES_MAX = 64 * 1024 * 1024;

export function sinkOf(target: PutTarget): ProducerSink {
  if ('newBatch' in target) return target;
  return isClient(target) ? new WebSocketSink(target) : engineSink(target);
}

export async function importCapture(into: PutTarget, file: string | Readable, options: ImportOptions): Promise<ImportResult> {
  const startedMs = performance.now();
  if (options.checkFirst === true) {
    if (typeof file !== 'string') throw new InvalidArgumentException('checkFirst reads the file twice: it needs a file name');
    await checkCapture(file);
  }
  const input = await openCapture(file);
  const putter = new OrderedPutter(sinkOf(into), options.stream, { inFlightMax: options.inFlightMax });
  const { recordCount, payloadBytes } = await putAll(input, putter, () => undefined);
  return { encoding: input.encoding, recordCount, payloadBytes, elapsedMs: performance.now() - startedMs };
}

/** Reads the whole file, checking every record; resolves to its record count. */
export async function checkCapture(file: string | Readable): Promise<number> {
  const records = (await openCapture(file)).records();
  let count = 0;
  while ((await records.next()).done !== true) count++;
  return count;
}

/**
 * Feeds the putter the file's records, each once `beforeAdd` resolves (replay's schedule), and
 * waits until they are stored. A bad record stops the reading: what was read before is stored,
 * then its error is thrown.
 */
export async function putAll(
  input: CaptureInput,
  putter: OrderedPutter,
  beforeAdd: (record: CaptureRecord) => Promise<void> | undefined,
): Promise<{ recordCount: number; payloadBytes: number }> {
  let recordCount = 0;
  let payloadBytes = 0;
  try {
    for await (const record of input.records()) {
      if (putter.backlog >= BACKLOG_RECORDS_MAX || putter.backlogBytes >= BACKLOG_BYTES_MAX)
        await putter.waitBelow(BACKLOG_RECORDS_MAX, BACKLOG_BYTES_MAX);
      await beforeAdd(record);
      putter.add(record);
      recordCount++;
      payloadBytes += record.data.length + Buffer.byteLength(record.partitionKey, 'utf8');
    }
  } catch (error) {
    // The records before the bad one are stored before the error is told, or the put's own error wins.
    await putter.flush();
    throw error;
  }
  await putter.flush();
  return { recordCount, payloadBytes };
}
