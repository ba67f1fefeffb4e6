/*
 * One delivery stream at work (docs/DELIVERY.md). Its records are in a shardline stream before
 * anyone is told they were taken: its own buffer log (`firehose.<name>`, for Direct PUT) or the
 * Kinesis stream it reads. A consumer group of its own (`delivery-<name>`) reads that stream into
 * one buffer, which is flushed when it holds SizeInMBs, when IntervalInSeconds have passed on the
 * engine's clock since its oldest record came in, or when asked; a flush is planned
 * (delivery_batch.ts), written to the destination (retried with backoff while it fails, so a
 * destination that is down holds the data), and only then is each shard checkpointed past the
 * records it held. A kill -9 loses nothing acknowledged: what was not checkpointed is read and
 * delivered again (at least once; an object written just before the kill comes twice).
 */
import type { Engine } from '../engine/engine.js';
import { LeaseLostError } from '../errors.js';
import { EngineLeaseStore, EngineSource } from '../groups/embedded.js';
import type { Checkpointer, KinesisClientRecord, ShardRecordProcessor } from '../groups/processor.js';
import { sleep } from '../groups/record_source.js';
import { GroupWorker } from '../groups/worker.js';
import { errorObject, planBatch, type BufferedRecord, type Invoke, type Plan, type PlannedObject } from './delivery_batch.js';
import type { DeliverySettings, S3Settings } from './delivery_config.js';
import { deliverToHttpEndpoint } from './http_endpoint.js';
import type { ObjectStore } from './object_store.js';
import { fittingPrefix } from '../util/byte_prefix.js';

export interface DeliveryStreamOptions {
  readonly engine: Engine;
  readonly settings: DeliverySettings;
  readonly arn: string;
  readonly versionId: number;
  /** The stream read: the buffer log, or the KinesisStreamAsSource stream. */
  readonly sourceStreamName: string;
  /** Where reading starts the first time (KinesisStreamAsSource: its creation). */
  readonly startAtMs: number;
  readonly store: ObjectStore;
  readonly invoke: Invoke;
  /** A read after an empty one waits this long (Firehose reads a Kinesis source once a second). */
  readonly pollIntervalMs: number;
  readonly onError?: (error: unknown) => void;
}

export interface DeliveryStatus {
  /** Records read from the source (the buffer log or the Kinesis stream) since the start. */
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly recordsDelivered: number;
  readonly bytesDelivered: number;
  readonly objectsWritten: number;
  /** Records sent to an error output (processing-failed, format-conversion-failed, http-endpoint-failed). */
  readonly recordsFailed: number;
  readonly retries: number;
  /** The arrival age, on the engine's clock, of the oldest record read but not delivered; 0 when none. */
  readonly oldestUndeliveredAgeMs: number;
  readonly lastError?: string;
}

interface Entry {
  /** When it came into the buffer, on the engine's clock: the interval counts from the oldest. */
  readonly at: number;
  readonly shardId: string;
  readonly checkpointer: Checkpointer;
  readonly record: KinesisClientRecord;
  readonly buffered: BufferedRecord;
}

const TICK_MS = 100;
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 30_000;
const FLUSH_WAIT_MS = 30_000;

export class DeliveryStream {
  private worker: GroupWorker | null = null;
  private buffer: Entry[] = [];
  private bytes = 0;
  private flushing: Promise<void> | null = null;
  private readonly seen = new Map<string, bigint>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private counters = { recordsIn: 0, bytesIn: 0, recordsDelivered: 0, bytesDelivered: 0, objectsWritten: 0, recordsFailed: 0, retries: 0 };
  private lastError: string | undefined;

  /** The group's leases: the worker's, and where flushNow finds what is delivered already. */
  private readonly leases: EngineLeaseStore;

  constructor(private readonly options: DeliveryStreamOptions) {
    this.leases = new EngineLeaseStore(options.engine, this.groupName, options.sourceStreamName);
  }

  get groupName(): string {
    return `delivery-${this.options.settings.name}`;
  }

  private get withKinesis(): boolean {
    return this.options.settings.type === 'KinesisStreamAsSource';
  }

  get status(): DeliveryStatus {
    const oldest = Math.min(...this.buffer.map((entry) => entry.buffered.arrivalMs));
    return {
      ...this.counters,
      oldestUndeliveredAgeMs: this.buffer.length === 0 ? 0 : Math.max(0, this.options.engine.now() - oldest),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  async start(): Promise<void> {
    const { engine, sourceStreamName } = this.options;
    this.worker = new GroupWorker({
      groupName: this.groupName,
      source: new EngineSource(engine, sourceStreamName, { retrieval: 'polling', idleTimeBetweenReadsMillis: this.options.pollIntervalMs }),
      leases: this.leases,
      initialPosition: { AT_TIMESTAMP: this.options.startAtMs },
      processor: () => this.processor(),
      onError: (error) => this.report(error),
    });
    await this.worker.start();
    this.timer = setInterval(() => this.tick(), TICK_MS).unref();
  }

  /** Stops reading; what is buffered is not delivered now, but read again after the next start. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.stopping.abort();
    await this.worker?.shutdown();
    await this.flushing?.catch(() => undefined);
    this.worker = null;
  }

  /** Delivers every record put before the call, whatever the buffering hints say (a test's "flush now"). */
  async flushNow(): Promise<void> {
    const { engine, sourceStreamName } = this.options;
    const targets = (await engine.describeShardPositions({ StreamName: sourceStreamName })).Shards.filter(
      (shard) => shard.LatestSequenceNumber !== undefined,
    );
    const deadline = performance.now() + FLUSH_WAIT_MS;
    for (const shard of targets) {
      const target = BigInt(shard.LatestSequenceNumber!);
      while ((this.seen.get(shard.ShardId) ?? -1n) < target && !(await this.checkpointedPast(shard.ShardId, target))) {
        if (performance.now() > deadline)
          throw new Error(`flush: ${shard.ShardId} was not read up to ${target} within ${FLUSH_WAIT_MS} ms`);
        await sleep(TICK_MS / 2, this.stopping.signal);
      }
    }
    while (this.buffer.length > 0 || this.flushing !== null) await this.flush();
  }

  private async checkpointedPast(shardId: string, target: bigint): Promise<boolean> {
    const lease = await this.leases.get(shardId);
    const checkpoint = lease?.checkpoint;
    return checkpoint === 'SHARD_END' || (checkpoint !== undefined && /^\d+$/.test(checkpoint) && BigInt(checkpoint) >= target);
  }

  private processor(): ShardRecordProcessor {
    let shardId = '';
    return {
      initialize: (input) => void (shardId = input.shardId),
      processRecords: ({ records, checkpointer }) => this.take(shardId, records, checkpointer),
      leaseLost: () => {
        this.buffer = this.buffer.filter((entry) => entry.shardId !== shardId);
      },
      shardEnded: async ({ checkpointer }) => {
        while (this.buffer.some((entry) => entry.shardId === shardId) || this.flushing !== null) await this.flush();
        await checkpointer.checkpoint();
      },
      shutdownRequested: () => undefined,
    };
  }

  private async take(shardId: string, records: readonly KinesisClientRecord[], checkpointer: Checkpointer): Promise<void> {
    const { buffering } = this.options.settings.destination;
    const at = this.options.engine.now();
    for (const record of records) {
      this.buffer.push({ at, shardId, checkpointer, record, buffered: bufferedOf(shardId, record, this.withKinesis) });
      this.bytes += record.data.length;
      this.counters.bytesIn += record.data.length;
    }
    this.counters.recordsIn += records.length;
    if (records.length > 0) this.seen.set(shardId, BigInt(records.at(-1)!.sequenceNumber));
    if (this.buffer.length > 0 && (this.bytes >= buffering.sizeBytes || buffering.intervalMs === 0)) await this.flush();
    // Reading pauses while twice the buffer waits for a destination that is slow or down.
    while (this.bytes >= 2 * buffering.sizeBytes && !this.stopping.signal.aborted) await this.flush();
  }

  private tick(): void {
    if (this.buffer.length === 0 || this.flushing !== null) return;
    if (this.options.engine.now() - this.buffer[0]!.at >= this.options.settings.destination.buffering.intervalMs) void this.flush();
  }

  /** One flush at a time: a caller arriving during one waits for it (and calls again if it still must). */
  private flush(): Promise<void> {
    if (this.flushing === null && this.buffer.length > 0) {
      const taken = this.cut();
      this.flushing = this.deliver(taken)
        .catch((error: unknown) => {
          // Not delivered (the stream is stopping): none of it is checkpointed, so it is read again.
          if (!this.stopping.signal.aborted) this.report(error);
        })
        .finally(() => {
          this.flushing = null;
          // A read can bring more than a buffer's worth: the rest goes in the next objects.
          if (this.bytes >= this.options.settings.destination.buffering.sizeBytes) void this.flush();
        });
    }
    return this.flushing ?? Promise.resolve();
  }

  /** The oldest records up to SizeInMBs (at least one): an object is no bigger than the buffer, as Firehose's. */
  private cut(): Entry[] {
    const { count, bytes } = fittingPrefix(
      this.buffer,
      (entry) => entry.record.data.length,
      this.options.settings.destination.buffering.sizeBytes,
    );
    this.bytes -= bytes;
    return this.buffer.splice(0, count);
  }

  private async deliver(entries: readonly Entry[]): Promise<void> {
    const { settings, arn, versionId, invoke, engine } = this.options;
    const context = { settings, deliveryStreamArn: arn, versionId, invoke, clock: () => engine.now() };
    const plan = await planBatch(
      entries.map((entry) => entry.buffered),
      context,
    );
    const destination = settings.destination;
    const errorBucket: S3Settings = destination.kind === 'http' ? destination.backup : destination;
    if (destination.kind === 'http') await this.deliverHttp(plan, errorBucket, context);
    else for (const planned of plan.objects) await this.put(planned, planned.records);
    for (const [type, records] of plan.errors) await this.put(errorObject(errorBucket, type, records, context), 0, records.length);
    await this.checkpoint(entries);
  }

  private async deliverHttp(plan: Plan, backup: S3Settings, context: Parameters<typeof errorObject>[3]): Promise<void> {
    const destination = this.options.settings.destination;
    if (destination.kind !== 'http' || plan.records.length === 0) return;
    const data = plan.records.map((record) => record.data);
    const result = await deliverToHttpEndpoint(
      data,
      { ...destination.endpoint, sourceArn: this.options.arn },
      { signal: this.stopping.signal },
    );
    this.counters.retries += result.attempts - 1;
    if (result.delivered) {
      this.counters.recordsDelivered += data.length;
      this.counters.bytesDelivered += data.reduce((sum, bytes) => sum + bytes.length, 0);
    }
    if (result.delivered && destination.endpoint.s3BackupMode !== 'AllData') return;
    const failed = plan.records.map((record) => ({
      attemptsMade: result.attempts,
      arrivalTimestamp: record.source.arrivalMs,
      errorCode: result.delivered ? 'AllData' : result.errorCode,
      errorMessage: result.delivered ? 'a copy of every record (S3BackupMode AllData)' : result.errorMessage,
      attemptEndingTimestamp: context.clock(),
      rawData: Buffer.from(record.data).toString('base64'),
    }));
    await this.put(errorObject(backup, 'http-endpoint-failed', failed, context), 0, result.delivered ? 0 : failed.length);
  }

  /** Puts one object, retrying with backoff while the store fails: a destination that is down holds the data. */
  private async put(planned: PlannedObject, delivered: number, failed = 0): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.store.put(planned.bucket, planned.object);
        break;
      } catch (error) {
        if (this.stopping.signal.aborted) throw error;
        this.report(error);
        this.counters.retries++;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1)), this.stopping.signal);
      }
    }
    this.counters.objectsWritten++;
    this.counters.recordsDelivered += delivered;
    this.counters.recordsFailed += failed;
    if (delivered > 0) this.counters.bytesDelivered += planned.object.body.length;
  }

  /** Each shard past the last of its records in the flush (a lost lease: the next owner reads them again). */
  private async checkpoint(entries: readonly Entry[]): Promise<void> {
    const last = new Map<string, Entry>();
    for (const entry of entries) last.set(entry.shardId, entry);
    for (const entry of last.values()) {
      try {
        await entry.checkpointer.checkpoint(entry.record);
      } catch (error) {
        if (!(error instanceof LeaseLostError)) this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    this.options.onError?.(error);
  }
}

/** The processor sees a record's Kinesis place only when the source is a Kinesis stream, as on Firehose. */
function bufferedOf(shardId: string, record: KinesisClientRecord, withKinesis: boolean): BufferedRecord {
  return {
    recordId: `${record.sequenceNumber}:${record.subSequenceNumber}`,
    data: record.data,
    arrivalMs: record.approximateArrivalTimestamp.getTime(),
    ...(withKinesis
      ? {
          kinesis: {
            shardId,
            partitionKey: record.partitionKey,
            sequenceNumber: record.sequenceNumber,
            subsequenceNumber: record.subSequenceNumber,
          },
        }
      : {}),
  };
}
