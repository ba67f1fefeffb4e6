/*
 * The streams a query writes: its output, and the late and error streams when it has them. Puts
 * go in the order they were emitted, in PutRecords batches, and an entry that is throttled (or a
 * call that fails) is put again after a backoff, so nothing emitted is dropped. After a restart,
 * a row whose partition key is among those written since the checkpoint is not put again: that
 * key names its window and group, so it is the same row, computed a second time.
 */
import type { Engine } from '../engine/engine.js';
import { PUT_RECORDS_BYTES_MAX, PUT_RECORDS_RECORDS_MAX, RECORD_PAYLOAD_BYTES_MAX } from '../limits.js';
import { sleep } from '../groups/record_source.js';
import type { Emitted } from './executor.js';
import type { StreamPositions } from './query_checkpoint.js';

const RETRY_BASE_MS = 50;
const RETRY_MAX_MS = 5000;

export class QuerySink {
  private chain: Promise<void> = Promise.resolve();
  /** Partition keys written since the checkpoint, per stream: found by `recoverWritten`, forgotten at the next checkpoint. */
  private written = new Map<string, Set<string>>();
  /** The last failed put, with when it failed (performance.now()); cleared by a put that stores everything. */
  lastError: { readonly message: string; readonly atMs: number } | undefined;
  /** Rows over a record's 1 MiB, which cannot be put, and the last of them. */
  recordsTooLarge = 0;
  lastTooLarge: { readonly message: string; readonly atMs: number } | undefined;
  /** Set when a stop gave up on records not put: no checkpoint may then cover them. */
  abandoned = false;

  constructor(
    private readonly engine: Engine,
    readonly streams: readonly string[],
    private readonly stopping: AbortSignal,
  ) {}

  /** Queues records for a stream; resolves once they are stored. */
  put(stream: string, records: readonly Emitted[]): Promise<void> {
    if (records.length === 0) return this.chain;
    return this.then(() => this.putAll(stream, records));
  }

  /** Runs `step` once everything queued before it is stored, and before anything queued after. */
  then(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Where each stream's shards end now (call it from a `then` step, when nothing is being put). */
  async positions(): Promise<StreamPositions> {
    const positions: Record<string, Record<string, string | null>> = {};
    for (const stream of this.streams) {
      const { Shards } = await this.engine.describeShardPositions({ StreamName: stream });
      positions[stream] = Object.fromEntries(Shards.map((shard) => [shard.ShardId, shard.LatestSequenceNumber ?? null]));
    }
    return positions;
  }

  /** A checkpoint covers what was written: no row before it can be computed again. */
  forgetWritten(): void {
    this.written.clear();
  }

  /** Reads what each stream got after the checkpoint's positions, to put none of it twice. */
  async recoverWritten(since: StreamPositions): Promise<void> {
    for (const stream of this.streams) {
      const keys = new Set<string>();
      const { Shards } = this.engine.listShards({ StreamName: stream });
      for (const shard of Shards) await this.readKeys(stream, shard.ShardId, since[stream]?.[shard.ShardId] ?? null, keys);
      this.written.set(stream, keys);
    }
  }

  private async readKeys(stream: string, shardId: string, after: string | null, keys: Set<string>): Promise<void> {
    let iterator: string | undefined = (
      await this.engine.getShardIterator({
        StreamName: stream,
        ShardId: shardId,
        ...(after === null
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }),
      })
    ).ShardIterator;
    while (iterator !== undefined) {
      const answer = await this.engine.getRecords({ ShardIterator: iterator, Limit: 10_000 });
      for (const record of answer.Records) keys.add(record.PartitionKey);
      if (answer.Records.length === 0 && answer.MillisBehindLatest === 0) return;
      iterator = answer.NextShardIterator;
    }
  }

  private async putAll(stream: string, records: readonly Emitted[]): Promise<void> {
    const seen = this.written.get(stream);
    let pending = records.filter((record) => (seen === undefined || !seen.has(record.partitionKey)) && this.fits(stream, record));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 10)), this.stopping);
      // Not put, and not covered by a checkpoint: computed again after the next start.
      if (this.stopping.aborted) {
        this.abandoned = true;
        throw new Error(`the query stopped with ${pending.length} records not put into ${stream}`);
      }
      pending = await this.tryPut(stream, pending);
    }
  }

  /** A row over a Kinesis record's 1 MiB (its data and partition key) cannot be put: it is reported, not retried for ever. */
  private fits(stream: string, record: Emitted): boolean {
    const bytes = Buffer.byteLength(record.data) + Buffer.byteLength(record.partitionKey);
    if (bytes <= RECORD_PAYLOAD_BYTES_MAX) return true;
    this.recordsTooLarge++;
    this.lastTooLarge = {
      message: `a record for ${stream} of ${bytes} bytes with its key is over the 1 MiB a record may have: it was not put`,
      atMs: performance.now(),
    };
    return false;
  }

  /** Puts what it can; the records still to put. */
  private async tryPut(stream: string, records: readonly Emitted[]): Promise<Emitted[]> {
    const failed: Emitted[] = [];
    for (const batch of batches(records)) {
      try {
        const answer = await this.engine.putRecords({
          StreamName: stream,
          Records: batch.map((record) => ({ PartitionKey: record.partitionKey, Data: Buffer.from(record.data) })),
        });
        answer.Records.forEach((result, index) => {
          if ('ErrorCode' in result) failed.push(batch[index]!);
        });
        if (answer.FailedRecordCount === 0) this.lastError = undefined;
      } catch (error) {
        if (this.stopping.aborted) throw error;
        this.lastError = { message: `putting into ${stream}: ${(error as Error).message}`, atMs: performance.now() };
        failed.push(...batch);
      }
    }
    return failed;
  }
}

function* batches(records: readonly Emitted[]): Generator<Emitted[]> {
  let batch: Emitted[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.data) + Buffer.byteLength(record.partitionKey);
    if (batch.length === PUT_RECORDS_RECORDS_MAX || (batch.length > 0 && bytes + size > PUT_RECORDS_BYTES_MAX)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
