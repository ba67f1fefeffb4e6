import assert from 'node:assert/strict';
import type { ResolvedEngineOptions } from '../config.js';
import { CommittedPosition } from '../log/committed_position.js';
import { DEFAULT_LOG_OPTIONS } from '../log/log_config.js';
import { LogReader } from '../log/log_reader.js';
import { ShardThroughput } from '../streams/shard_throughput.js';
import type { AppenderPort } from '../workers/appender_port.js';
import { ShardAppender } from '../workers/shard_appender.js';
import type { ShardView, StreamView } from './catalog.js';

/**
 * What the engine's thread keeps per shard: the committed position its owner publishes, the
 * reader that maps its files, the batch being built for its owner, and its throughput buckets.
 */
export class ShardRuntime {
  readonly committed = new CommittedPosition();
  readonly throughput: ShardThroughput;
  readonly appender: ShardAppender;
  private logReader: LogReader | null = null;

  constructor(
    readonly stream: StreamView,
    readonly shard: ShardView,
    readonly dir: string,
    private readonly options: ResolvedEngineOptions,
    port: AppenderPort,
  ) {
    this.throughput = new ShardThroughput(stream.mode, options.clock());
    this.appender = new ShardAppender(port, ShardRuntime.keyOf(stream, shard), options.clock);
  }

  static keyOf(stream: StreamView, shard: ShardView): string {
    return `${stream.id}/${shard.shardId}`;
  }

  /** Called once the owner opened the log, with the base offsets of the segments it opened. */
  startReading(segmentBases: readonly number[]): void {
    const { segmentBytes = DEFAULT_LOG_OPTIONS.segmentBytes, openSegmentsMax } = this.options.log;
    this.logReader = new LogReader(this.dir, this.committed, { segmentBytes, openSegmentsMax, segmentBases });
  }

  /** The shard's reader: the registry hands out runtimes only once they read. */
  get reader(): LogReader {
    assert(this.logReader !== null, `shard ${this.shard.shardId} is not open for reading`);
    return this.logReader;
  }

  close(): void {
    this.logReader?.close();
    this.logReader = null;
  }
}
