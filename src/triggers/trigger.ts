import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidParameterValueException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { EngineLeaseStore, EngineSource } from '../groups/embedded.js';
import type { KinesisClientRecord, ShardRecordProcessor } from '../groups/processor.js';
import { GroupWorker } from '../groups/worker.js';
import { runBatch, type OnFailureRecord } from './batch_runner.js';
import { compileFilterCriteria, type CompiledFilter } from './filter_patterns.js';
import type { CallableFunction } from './functions.js';
import type { MappingSettings } from './mapping.js';

/*
 * One event source mapping at work on an engine of this process (docs/TRIGGERS.md): a consumer
 * group of its own (`trigger-<uuid>`) reads the stream shard by shard, parents before children,
 * with its positions on the group's leases; each batch of at most BatchSize records and 6 MB goes
 * through runBatch, and the shard is checkpointed after it, so a restart or a kill -9 resumes
 * after the last batch that finished (at least once: the batch in progress runs again).
 */

const PAYLOAD_BYTES_MAX = 6 * 1024 * 1024;
const POLL_INTERVAL_MS = 1000;

export interface TriggerOptions {
  readonly engine: Engine;
  readonly uuid: string;
  readonly settings: MappingSettings;
  readonly fn: CallableFunction;
  /** Default: the engine's clock is not public; Date.now. */
  readonly clock?: () => number;
  /** How often an idle shard is polled. Default 1,000 ms (Lambda's). */
  readonly pollIntervalMs?: number;
  /** The group's lease failover. Default 10,000 ms. */
  readonly failoverTimeMillis?: number;
  /** Between retries of a failing batch; default 100 ms doubling to 10 s. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface TriggerState {
  /** Lambda's LastProcessingResult: "No records processed", "OK" or "PROBLEM: ...". */
  readonly lastProcessingResult: string;
  readonly invocations: number;
  readonly failedRecords: number;
}

export class Trigger {
  private worker: GroupWorker | null = null;
  private state: TriggerState = { lastProcessingResult: 'No records processed', invocations: 0, failedRecords: 0 };
  private readonly filter: CompiledFilter | null;
  /** Stopping ends a batch that retries (or waits for its destination): it runs again on the next start. */
  private readonly stopping = new AbortController();

  constructor(private readonly options: TriggerOptions) {
    refuseUnsupported(options.settings);
    this.filter = compileFilterCriteria(options.settings.filterCriteria);
  }

  get status(): TriggerState {
    return this.state;
  }

  get groupName(): string {
    return `trigger-${this.options.uuid}`;
  }

  async start(): Promise<void> {
    const { engine, settings } = this.options;
    const streamName = settings.eventSourceArn.split(':stream/')[1]!;
    this.worker = new GroupWorker({
      groupName: this.groupName,
      source: new EngineSource(engine, streamName, {
        retrieval: 'polling',
        maxRecords: settings.batchSize,
        idleTimeBetweenReadsMillis: this.options.pollIntervalMs ?? POLL_INTERVAL_MS,
      }),
      leases: new EngineLeaseStore(engine, this.groupName, streamName),
      initialPosition: initialPosition(settings),
      ...(this.options.failoverTimeMillis === undefined ? {} : { failoverTimeMillis: this.options.failoverTimeMillis }),
      processor: () => this.processor(),
      skipFailedBatches: false,
      onError: () => undefined,
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

  private processor(): ShardRecordProcessor {
    let shardId = '';
    const aborted = new AbortController();
    return {
      initialize: (input) => void (shardId = input.shardId),
      processRecords: async ({ records, checkpointer }) => {
        // Records no filter matches are consumed unseen, as Lambda drops them.
        const kept = this.filter === null ? records : records.filter((record) => this.filter!.matches(record));
        for (const batch of batches(kept, this.options.settings.batchSize)) {
          const done = await this.run(batch, shardId, AbortSignal.any([aborted.signal, this.stopping.signal]));
          if (!done) return;
          await checkpointer.checkpoint(batch.at(-1)!.sequenceNumber, batch.at(-1)!.subSequenceNumber);
        }
        const last = records.at(-1);
        if (last !== undefined && kept.at(-1) !== last) await checkpointer.checkpoint(last.sequenceNumber, last.subSequenceNumber);
      },
      leaseLost: () => aborted.abort(),
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: () => undefined,
    };
  }

  private async run(batch: readonly KinesisClientRecord[], shardId: string, signal: AbortSignal): Promise<boolean> {
    const { settings, fn, engine } = this.options;
    const streamName = settings.eventSourceArn.split(':stream/')[1]!;
    const encrypted = engine.describeStreamSummary({ StreamName: streamName }).StreamDescriptionSummary.EncryptionType === 'KMS';
    const report = await runBatch(batch, {
      settings,
      source: {
        streamArn: settings.eventSourceArn,
        shardId,
        region: 'us-east-1',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/shardline-trigger',
        encrypted,
      },
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.name}`,
      invoke: (event) => fn.invoke(event),
      ...(settings.onFailureDestination === undefined ? {} : { onFailure: destination(engine, settings.onFailureDestination) }),
      clock: this.options.clock ?? Date.now,
      signal,
      ...(this.options.retryDelayMs === undefined ? {} : { retryDelayMs: this.options.retryDelayMs }),
    });
    this.state = {
      lastProcessingResult: report.failedRecords > 0 || report.lastError !== undefined ? `PROBLEM: Function call failed` : 'OK',
      invocations: this.state.invocations + report.invocations,
      failedRecords: this.state.failedRecords + report.failedRecords,
    };
    return report.completed;
  }
}

function initialPosition(settings: MappingSettings): 'TRIM_HORIZON' | 'LATEST' | { AT_TIMESTAMP: number } {
  if (settings.startingPosition === 'AT_TIMESTAMP') return { AT_TIMESTAMP: settings.startingPositionTimestamp! * 1000 };
  return settings.startingPosition;
}

/** Consecutive runs of at most `size` records and 6 MB of data and keys. */
function batches(records: readonly KinesisClientRecord[], size: number): KinesisClientRecord[][] {
  const out: KinesisClientRecord[][] = [];
  let current: KinesisClientRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const recordBytes = record.data.length + record.partitionKey.length;
    if (current.length > 0 && (current.length >= size || bytes + recordBytes > PAYLOAD_BYTES_MAX)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += recordBytes;
  }
  if (current.length > 0) out.push(current);
  return out;
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
  const streamName = target.split(':stream/')[1]!;
  return async (record) => {
    await engine.putRecord({
      StreamName: streamName,
      PartitionKey: record.KinesisBatchInfo.shardId,
      Data: Buffer.from(JSON.stringify(record)),
    });
  };
}

/** What the mapping model takes but this runtime does not do yet: refused, rather than ignored. */
function refuseUnsupported(settings: MappingSettings): void {
  const unsupported = [
    settings.parallelizationFactor > 1 ? 'ParallelizationFactor above 1' : null,
    settings.maximumBatchingWindowInSeconds > 0 ? 'MaximumBatchingWindowInSeconds above 0' : null,
    settings.tumblingWindowInSeconds !== undefined ? 'TumblingWindowInSeconds' : null,
    settings.eventSourceArn.includes('/consumer/') ? 'a consumer ARN as the event source' : null,
  ].filter((reason) => reason !== null);
  if (unsupported.length > 0) throw new InvalidParameterValueException(`not supported by shardline yet: ${unsupported.join(', ')}`);
}
