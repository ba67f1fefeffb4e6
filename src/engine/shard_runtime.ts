import type { ResolvedEngineOptions } from '../config.js';
import { CommittedPosition } from '../log/committed_position.js';
import { DEFAULT_LOG_OPTIONS } from '../log/log_config.js';
import { LogReader } from '../log/log_reader.js';
import type { ShardRecord, StreamRecord } from '../streams/stream_records.js';
import { ShardAppender } from '../workers/shard_appender.js';
import { ShardThroughput } from '../streams/shard_throughput.js';
import type { WorkerPool } from '../workers/worker_pool.js';

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
    readonly stream: StreamRecord,
    readonly shard: ShardRecord,
    readonly dir: string,
    private readonly options: ResolvedEngineOptions,
    pool: WorkerPool,
  ) {
    this.throughput = new ShardThroughput(stream.mode, options.clock());
    this.appender = new ShardAppender(pool, ShardRuntime.keyOf(stream, shard), options.clock);
  }

  static keyOf(stream: StreamRecord, shard: ShardRecord): string {
    return `${stream.id}/${shard.shardId}`;
  }

  /** Called once the owner opened the log (its directory and first segment exist). */
  startReading(): void {
    const { segmentBytes = DEFAULT_LOG_OPTIONS.segmentBytes, openSegmentsMax } = this.options.log;
    this.logReader = new LogReader(this.dir, this.committed, { segmentBytes, openSegmentsMax });
  }

  get reader(): LogReader {
    if (this.logReader === null) throw new Error(`shard ${this.shard.shardId} is not open for reading yet`);
    return this.logReader;
  }

  close(): void {
    this.logReader?.close();
    this.logReader = null;
  }
}
