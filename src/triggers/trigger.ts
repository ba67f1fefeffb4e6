import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidParameterValueException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { EngineLeaseStore, EngineSource } from '../groups/embedded.js';
import type { KinesisClientRecord, ShardRecordProcessor } from '../groups/processor.js';
import type { SourceOptions } from '../groups/sources.js';
import { GroupWorker, type ShardProgress } from '../groups/worker.js';
import { runBatch, type Invoke, type OnFailureRecord } from './batch_runner.js';
import { compileFilterCriteria, type CompiledFilter } from './filter_patterns.js';
import type { CallableFunction } from './functions.js';
import { consumerNameOf, streamNameOf, type MappingSettings } from './mapping.js';
import { TriggerShard } from './trigger_shard.js';

/*
 * One event source mapping at work on an engine of this process (docs/TRIGGERS.md): a consumer
 * group of its own (`trigger-<uuid>`) reads the stream shard by shard, parents before children,
 * with its positions on the group's leases: by polling (Lambda's once a second when idle) from a
 * stream ARN, by push through the registered consumer of a consumer ARN. Each shard's records go
 * through a TriggerShard (lanes, batching window, tumbling windows) and each batch through
 * runBatch; the shard is checkpointed where every record before is done, so a restart or a
 * kill -9 resumes after the last batches that finished (at least once: those in progress run again).
 */

const POLL_INTERVAL_MS = 1000;
const GET_RECORDS_MAX = 10_000;

export interface TriggerOptions {
  readonly engine: Engine;
  readonly uuid: string;
  readonly settings: MappingSettings;
  readonly fn: CallableFunction;
  /** How often an idle shard is polled. Default 1,000 ms (Lambda's). */
  readonly pollIntervalMs?: number;
  /** The group's lease failover. Default 10,000 ms. */
  readonly failoverTimeMillis?: number;
  /** Between retries of a failing batch; default 100 ms doubling to 10 s. */
  readonly retryDelayMs?: (attempt: number) => number;
  /** What went wrong outside a function (a checkpoint, a read); also kept in the status. */
  readonly onError?: (error: unknown, shardId: string) => void;
}

export interface TriggerState {
  /** Lambda's LastProcessingResult: "No records processed", "OK" or "PROBLEM: ...". */
  readonly lastProcessingResult: string;
  readonly invocations: number;
  readonly failedRecords: number;
  /** The last error outside a function's, if any. */
  readonly lastError?: string;
}

export class Trigger {
  private worker: GroupWorker | null = null;
  private state: TriggerState = { lastProcessingResult: 'No records processed', invocations: 0, failedRecords: 0 };
  private readonly filter: CompiledFilter | null;
  private readonly streamName: string;
  /** Stopping ends a batch that retries (or waits for its destination): it runs again on the next start. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: TriggerOptions) {
    refuseUnsupported(options.settings);
    this.filter = compileFilterCriteria(options.settings.filterCriteria);
    this.streamName = streamNameOf(options.settings.eventSourceArn);
  }

  get status(): TriggerState {
    return this.state;
  }

  /** Per shard held: records processed and how far behind the stream's tip the last read was. */
  get shards(): ShardProgress[] {
    return this.worker?.shardProgress ?? [];
  }

  get groupName(): string {
    return `trigger-${this.options.uuid}`;
  }

  async start(): Promise<void> {
    const { engine, settings } = this.options;
    this.worker = new GroupWorker({
      groupName: this.groupName,
      source: new EngineSource(engine, this.streamName, this.sourceOptions()),
      leases: new EngineLeaseStore(engine, this.groupName, this.streamName),
      initialPosition: initialPosition(settings),
      ...(this.options.failoverTimeMillis === undefined ? {} : { failoverTimeMillis: this.options.failoverTimeMillis }),
      processor: () => this.processor(),
      skipFailedBatches: false,
      onError: (error, shardId) => this.report(error, shardId),
    });
    await this.worker.start();
  }

  /** Ends the batches in progress (a finished one is checkpointed, an unfinished one runs again after a start), then stops. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.worker?.shutdown();
    this.worker = null;
    await this.options.fn.close();
  }

  private get clock(): () => number {
    return () => this.options.engine.now();
  }

  /** The records' stream, also when the source is one of its consumers. */
  private get streamArn(): string {
    return this.options.engine.describeStreamSummary({ StreamName: this.streamName }).StreamDescriptionSummary.StreamARN;
  }

  private sourceOptions(): SourceOptions {
    const { settings } = this.options;
    const consumer = consumerNameOf(settings.eventSourceArn);
    if (consumer !== null) return { retrieval: 'push', consumerName: consumer };
    return {
      retrieval: 'polling',
      maxRecords: Math.min(GET_RECORDS_MAX, settings.batchSize * settings.parallelizationFactor),
      idleTimeBetweenReadsMillis: this.options.pollIntervalMs ?? POLL_INTERVAL_MS,
    };
  }

  private report(error: unknown, shardId: string): void {
    this.state = { ...this.state, lastError: `${shardId}: ${error instanceof Error ? error.message : String(error)}` };
    this.options.onError?.(error, shardId);
  }

  private processor(): ShardRecordProcessor {
    const { settings, fn } = this.options;
    return new TriggerShard({
      settings,
      streamArn: this.streamArn,
      filter: this.filter,
      clock: this.clock,
      stopping: this.stopping.signal,
      invoke: (event) => fn.invoke(event),
      runBatch: (batch, shardId, invoke, signal) => this.run(batch, shardId, invoke, signal),
      windowComplete: (shardId, after, endMs) => this.windowComplete(shardId, after, endMs),
      onError: (error, shardId) => this.report(error, shardId),
    });
  }

  private async run(batch: readonly KinesisClientRecord[], shardId: string, invoke: Invoke, signal: AbortSignal): Promise<boolean> {
    const { settings, fn, engine } = this.options;
    // Read per batch: the stream's encryption may have been started or stopped since the last one.
    const stream = engine.describeStreamSummary({ StreamName: this.streamName }).StreamDescriptionSummary;
    const report = await runBatch(batch, {
      settings,
      source: {
        streamArn: stream.StreamARN,
        shardId,
        region: 'us-east-1',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/shardline-trigger',
        encrypted: stream.EncryptionType === 'KMS',
      },
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.name}`,
      invoke,
      ...(settings.onFailureDestination === undefined ? {} : { onFailure: destination(engine, settings.onFailureDestination) }),
      clock: this.clock,
      signal,
      ...(this.options.retryDelayMs === undefined ? {} : { retryDelayMs: this.options.retryDelayMs }),
    });
    this.state = {
      ...this.state,
      lastProcessingResult: report.failedRecords > 0 || report.lastError !== undefined ? `PROBLEM: Function call failed` : 'OK',
      invocations: this.state.invocations + report.invocations,
      failedRecords: this.state.failedRecords + report.failedRecords,
    };
    return report.completed;
  }

  /** Reads the shard past `after`: a record that arrived before `endMs` is still on its way. */
  private async windowComplete(shardId: string, after: KinesisClientRecord, endMs: number): Promise<boolean> {
    const { engine } = this.options;
    const { ShardIterator } = await engine.getShardIterator({
      StreamName: this.streamName,
      ShardId: shardId,
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      StartingSequenceNumber: after.sequenceNumber,
    });
    const next = (await engine.getRecords({ ShardIterator: ShardIterator!, Limit: 1 })).Records[0];
    return next === undefined || next.ApproximateArrivalTimestamp.getTime() >= endMs;
  }
}

function initialPosition(settings: MappingSettings): 'TRIM_HORIZON' | 'LATEST' | { AT_TIMESTAMP: number } {
  if (settings.startingPosition === 'AT_TIMESTAMP') return { AT_TIMESTAMP: settings.startingPositionTimestamp! * 1000 };
  return settings.startingPosition;
}

/** An on-failure destination: a file of JSON lines (each appended and fsynced), or a stream of this engine. */
function destination(engine: Engine, target: string): (record: OnFailureRecord) => Promise<void> {
  if (target.startsWith('file://')) {
    const file = fileURLToPath(target);
    return async (record) => {
      const handle = await fs.promises.open(file, 'a');
      try {
        await handle.write(`${JSON.stringify(record)}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    };
  }
  return async (record) => {
    await engine.putRecord({
      StreamName: streamNameOf(target),
      PartitionKey: record.KinesisBatchInfo.shardId,
      Data: Buffer.from(JSON.stringify(record)),
    });
  };
}

/** What this runtime does not do: refused, rather than ignored. */
function refuseUnsupported(settings: MappingSettings): void {
  if (settings.parallelizationFactor > 1 && (settings.tumblingWindowInSeconds ?? 0) > 0)
    throw new InvalidParameterValueException('TumblingWindowInSeconds cannot be used with a ParallelizationFactor above 1 in shardline');
}
