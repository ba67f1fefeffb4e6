import { once } from 'node:events';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GET_RECORDS_RECORDS_MAX } from '../limits.js';
import type { KinesisShard } from '../streams/api_types.js';
import { CAPTURE_VERSION, captureEncoder, type CaptureEncoding, type CaptureHeader, type CaptureShard } from './capture_format.js';
import { captureSource, type CaptureSource, type IteratorStart, type ShardlineTarget, type SourceRecord } from './capture_sources.js';

/*
 * Export: every shard the stream has when the export starts, read with GetRecords from
 * TRIM_HORIZON (or AT_TIMESTAMP fromMs) to its end (a closed shard's last record, an open shard's
 * latest), merged into one file in replay order: by arrival time, ties in shard order, and no
 * record of a shard before all of its parents' (so a key's records, which move to a child at a
 * reshard, keep their order). One page of each shard being read is held at a time.
 */

export interface ExportOptions {
  readonly stream: string;
  /** Records that arrived at or after this time (epoch ms). */
  readonly fromMs?: number | undefined;
  /** Records that arrived before this time (epoch ms). */
  readonly toMs?: number | undefined;
  /** Default 'jsonl'. */
  readonly encoding?: CaptureEncoding | undefined;
}

export interface ExportResult {
  readonly recordCount: number;
  /** Partition keys and data, as Kinesis counts a record's size. */
  readonly payloadBytes: number;
  readonly fileBytes: number;
  readonly shardCount: number;
  readonly explicitHashKeys: boolean;
}

/** Bytes gathered before a write: one write per megabyte, not per record. */
const WRITE_CHUNK_BYTES = 1024 * 1024;
/** Retries of one read that is throttled or fails retriably, then its error is the export's. */
const READ_ATTEMPTS_MAX = 40;
const READ_BACKOFF_MS_MIN = 50;
const READ_BACKOFF_MS_MAX = 1000;
/** Empty pages in a row while still behind the shard's end (Kinesis may answer so) before giving up. */
const EMPTY_PAGES_MAX = 10_000;

/** Writes the stream's records to `out` (a file name, created or replaced, or a stream such as stdout, left open). */
export async function exportStream(from: ShardlineTarget, out: string | Writable, options: ExportOptions): Promise<ExportResult> {
  const source = captureSource(from);
  const shards = parentsFirst(await source.listShards(options.stream));
  const header: CaptureHeader = {
    shardlineCapture: CAPTURE_VERSION,
    stream: options.stream,
    exportedAtMs: Date.now(),
    fromMs: options.fromMs ?? null,
    toMs: options.toMs ?? null,
    explicitHashKeys: source.seesExplicitHashKeys,
    shards: shards.map(captureShard),
  };
  const output = typeof out === 'string' ? fs.createWriteStream(out) : out;
  const writer = new ChunkedWriter(output);
  const encoder = captureEncoder(options.encoding ?? 'jsonl', header);
  let recordCount = 0;
  let payloadBytes = 0;
  try {
    await writer.write(encoder.header());
    const merge = new ShardMerge(source, options, header.shards);
    for (let next = await merge.next(); next !== null; next = await merge.next()) {
      await writer.write(encoder.record({ ...next.record, shardId: next.shardId }));
      recordCount++;
      payloadBytes += next.record.data.length + Buffer.byteLength(next.record.partitionKey, 'utf8');
    }
    await writer.write(encoder.end(recordCount));
    await writer.flush();
  } finally {
    if (typeof out === 'string') {
      output.end();
      await once(output, 'close');
    }
  }
  return { recordCount, payloadBytes, fileBytes: writer.bytes, shardCount: shards.length, explicitHashKeys: header.explicitHashKeys };
}

function captureShard(shard: KinesisShard): CaptureShard {
  return {
    shardId: shard.ShardId,
    parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined),
    startingHashKey: shard.HashKeyRange.StartingHashKey,
    endingHashKey: shard.HashKeyRange.EndingHashKey,
  };
}

/** The shards in an order where each comes after its parents that are listed (retention may have removed some). */
export function parentsFirst(shards: readonly KinesisShard[]): KinesisShard[] {
  const listed = new Set(shards.map((shard) => shard.ShardId));
  const placed = new Set<string>();
  const ordered: KinesisShard[] = [];
  let remaining = [...shards];
  while (remaining.length > 0) {
    const ready = remaining.filter((shard) => captureShard(shard).parentShardIds.every((id) => placed.has(id) || !listed.has(id)));
    // Kinesis' lineage has no cycles; a listing that did would otherwise loop here forever.
    if (ready.length === 0) throw new Error(`shards whose parents never come: ${remaining.map((shard) => shard.ShardId).join(', ')}`);
    for (const shard of ready) {
      ordered.push(shard);
      placed.add(shard.ShardId);
    }
    remaining = remaining.filter((shard) => !placed.has(shard.ShardId));
  }
  return ordered;
}

class ChunkedWriter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  bytes = 0;

  constructor(private readonly out: Writable) {}

  async write(bytes: Buffer): Promise<void> {
    this.parts.push(bytes);
    this.partBytes += bytes.length;
    this.bytes += bytes.length;
    if (this.partBytes >= WRITE_CHUNK_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.partBytes === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}

/** One shard's reading: the page being merged, where to read on, whether it has ended. */
interface ShardCursor {
  readonly shard: CaptureShard;
  readonly order: number;
  iterator: string | undefined;
  started: boolean;
  page: readonly SourceRecord[];
  at: number;
  lastSequenceNumber: string | undefined;
  /** Its page holds the last record in range, or its shard ended. */
  lastPage: boolean;
  done: boolean;
}

/** The records of every shard in replay order (the file's comment above). */
class ShardMerge {
  private readonly cursors: ShardCursor[];
  private readonly byId: Map<string, ShardCursor>;

  constructor(
    private readonly source: CaptureSource,
    private readonly options: ExportOptions,
    shards: readonly CaptureShard[],
  ) {
    this.cursors = shards.map((shard, order) => ({
      shard,
      order,
      iterator: undefined,
      started: false,
      page: [],
      at: 0,
      lastSequenceNumber: undefined,
      lastPage: false,
      done: false,
    }));
    this.byId = new Map(this.cursors.map((cursor) => [cursor.shard.shardId, cursor]));
  }

  async next(): Promise<{ shardId: string; record: SourceRecord } | null> {
    for (;;) {
      let best: ShardCursor | undefined;
      let open = false;
      for (const cursor of this.cursors) {
        if (cursor.done) continue;
        open = true;
        if (!this.parentsDone(cursor)) continue;
        if (cursor.at === cursor.page.length) await this.refill(cursor);
        if (cursor.done) continue;
        if (best === undefined || cursor.page[cursor.at]!.arrivalMs < best.page[best.at]!.arrivalMs) best = cursor;
      }
      if (!open) return null;
      if (best === undefined) continue; // a parent ended in this pass: its children may go now
      const record = best.page[best.at++]!;
      if (best.at === best.page.length && best.lastPage) best.done = true;
      return { shardId: best.shard.shardId, record };
    }
  }

  private parentsDone(cursor: ShardCursor): boolean {
    return cursor.shard.parentShardIds.every((id) => this.byId.get(id)?.done ?? true);
  }

  /** Reads the shard's next page with records in range, or finds that it has none left. */
  private async refill(cursor: ShardCursor): Promise<void> {
    if (cursor.lastPage) {
      cursor.done = true;
      return;
    }
    for (let empty = 0; ; empty++) {
      if (empty === EMPTY_PAGES_MAX) throw new Error(`${cursor.shard.shardId}: ${EMPTY_PAGES_MAX} empty pages in a row, and still behind`);
      const page = await this.read(cursor);
      cursor.iterator = page.nextIterator;
      const toMs = this.options.toMs;
      const cut = toMs === undefined ? -1 : page.records.findIndex((record) => record.arrivalMs >= toMs);
      const records = cut < 0 ? page.records : page.records.slice(0, cut);
      cursor.lastPage = cut >= 0 || page.nextIterator === undefined || (page.millisBehindLatest === 0 && records.length === 0);
      if (records.length > 0) {
        cursor.page = records;
        cursor.at = 0;
        cursor.lastSequenceNumber = records[records.length - 1]!.sequenceNumber;
        return;
      }
      if (cursor.lastPage) {
        cursor.done = true;
        return;
      }
    }
  }

  private async read(
    cursor: ShardCursor,
  ): Promise<{ records: readonly SourceRecord[]; nextIterator: string | undefined; millisBehindLatest: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!cursor.started)
          cursor.iterator = await this.source.shardIterator(this.options.stream, cursor.shard.shardId, this.startOf(cursor));
        cursor.started = true;
        return await this.source.read(cursor.iterator!, GET_RECORDS_RECORDS_MAX);
      } catch (error) {
        const expired = (error as { code?: unknown }).code === 'ExpiredIteratorException';
        if (attempt >= READ_ATTEMPTS_MAX || !(expired || (error as { retriable?: unknown }).retriable === true)) throw error;
        if (expired) cursor.started = false;
        await sleep(Math.min(READ_BACKOFF_MS_MAX, READ_BACKOFF_MS_MIN * 2 ** Math.min(attempt, 10)));
      }
    }
  }

  /** Where a shard's reading starts, or starts again after its iterator expired. */
  private startOf(cursor: ShardCursor): IteratorStart {
    if (cursor.lastSequenceNumber !== undefined) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cursor.lastSequenceNumber };
    return this.options.fromMs === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AT_TIMESTAMP', timestampMs: this.options.fromMs };
  }
}
