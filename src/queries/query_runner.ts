/*
 * One query at work (docs/QUERIES.md, "How it runs"): a consumer group of its own (`query-<name>`,
 * pushed reads through a registered consumer of that name) reads the source and hands each batch
 * to the query's thread; what the thread emits is put into the output, late and error streams, in
 * order. Every checkpoint interval the thread's state is taken, and once everything emitted
 * before it is stored, it is written with where the written streams ended (query_checkpoint.ts);
 * then each shard's lease is checkpointed at the position the state holds, so a restart reads
 * little again. A kill -9 loses nothing acknowledged: the state comes back from the checkpoint, the
 * records after it are read again, and rows put after it are found in the output and not put twice.
 */
import type { Engine } from '../engine/engine.js';
import { EngineLeaseStore, EngineSource } from '../groups/embedded.js';
import type { Checkpointer, ShardRecordProcessor } from '../groups/processor.js';
import { GroupWorker } from '../groups/worker.js';
import type { ExecutorOutput, ExecutorSnapshot, ExecutorStatus, InputRecord } from './executor.js';
import { CheckpointStore } from './query_checkpoint.js';
import type { QuerySettings } from './query_settings.js';
import { QuerySink } from './query_sink.js';
import { QueryThread, type ThreadAnswer } from './query_thread_client.js';
import { packBatch } from './thread_messages.js';

export interface QueryDefinition {
  readonly name: string;
  readonly sql: string;
  readonly source: string;
  readonly output: string;
  readonly settings: QuerySettings;
  readonly createdAtMs: number;
}

export type QueryState = 'STARTING' | 'RUNNING' | 'STOPPED' | 'FAILED';

export interface QueryStatus extends Partial<ExecutorStatus> {
  readonly state: QueryState;
  /** Rows over a record's 1 MiB, not put (lastError says the last). */
  readonly rowsTooLarge?: number;
  readonly lastCheckpointMs?: number;
  readonly lastError?: string;
}

/** How often closed windows are looked for when no record comes (ROWTIME windows close with the clock). */
const TICK_MS = 100;
/** One worker holds every lease; a short failover lets a restart after a kill -9 take them back soon. */
const FAILOVER_MS = 2000;
/**
 * A stop waits this long for puts being retried (a written stream deleted, throttling); then it
 * gives up on them, and checkpoints nothing that covers them.
 */
const STOP_PUTS_WAIT_MS = 10_000;

export function groupNameOf(queryName: string): string {
  return `query-${queryName}`;
}

export class QueryRunner {
  private thread: QueryThread | null = null;
  private worker: GroupWorker | null = null;
  private sink: QuerySink | null = null;
  private readonly checkpoints: CheckpointStore;
  private readonly checkpointers = new Map<string, Checkpointer>();
  private readonly stopping = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private state: QueryState = 'STARTING';
  private executor: ExecutorStatus | undefined;
  private lastCheckpointMs: number | undefined;
  private lastError: { readonly message: string; readonly atMs: number } | undefined;
  private checkpointing: Promise<void> | null = null;
  /**
   * After a restart from a checkpoint: where the source ended then. Until a checkpoint's state has
   * read that far, a row put before the restart may be computed again, so the rows found in the
   * written streams are kept to skip.
   */
  private replayUntil: ReadonlyMap<string, bigint> | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly definition: QueryDefinition,
  ) {
    this.checkpoints = new CheckpointStore(engine, definition.name);
  }

  get status(): QueryStatus {
    // The newest of the failures outside records: a stale one must not hide what fails now.
    const lastError = [this.lastError, this.sink?.lastError, this.sink?.lastTooLarge]
      .filter((error) => error !== undefined)
      .sort((a, b) => b.atMs - a.atMs)[0]?.message;
    return {
      state: this.state,
      ...this.executor,
      ...(this.sink === null || this.sink.recordsTooLarge === 0 ? {} : { rowsTooLarge: this.sink.recordsTooLarge }),
      ...(this.lastCheckpointMs === undefined ? {} : { lastCheckpointMs: this.lastCheckpointMs }),
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  async start(): Promise<void> {
    try {
      await this.open();
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  private async open(): Promise<void> {
    const { engine, definition } = this;
    const checkpoint = this.checkpoints.read();
    const written = [definition.output, definition.settings.lateStream, definition.settings.errorStream].filter(
      (stream): stream is string => stream !== undefined,
    );
    this.sink = new QuerySink(engine, [...new Set(written)], this.stopping.signal);
    if (checkpoint !== null) {
      this.replayUntil = await this.sourcePositions();
      await this.sink.recoverWritten(checkpoint.written);
      this.lastCheckpointMs = checkpoint.savedAtMs;
    }
    this.thread = new QueryThread({ sql: definition.sql, snapshot: checkpoint?.state ?? null, nowMs: engine.now() }, definition.name);
    const shards = engine.listShards({ StreamName: definition.source }).Shards.map((shard) => shard.ShardId);
    await this.run({ type: 'expect', shardIds: shards, nowMs: engine.now() });
    // The first checkpoint holds where the written streams were before any row: a restart before
    // the next one finds every row put since.
    if (checkpoint === null) await this.checkpoint();
    this.worker = new GroupWorker({
      groupName: groupNameOf(definition.name),
      source: new EngineSource(engine, definition.source),
      leases: new EngineLeaseStore(engine, groupNameOf(definition.name), definition.source),
      initialPosition: definition.settings.start === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : { AT_TIMESTAMP: definition.createdAtMs },
      processor: () => this.processor(),
      failoverTimeMillis: FAILOVER_MS,
      callProcessRecordsEvenForEmptyRecordList: true,
      onError: (error) => this.report(error),
    });
    await this.worker.start();
    this.state = 'RUNNING';
    this.timers = [
      setInterval(() => void this.run({ type: 'advance', nowMs: engine.now() }).catch(() => undefined), TICK_MS).unref(),
      setInterval(() => void this.checkpoint().catch(() => undefined), definition.settings.checkpointIntervalMs).unref(),
    ];
  }

  /** Stops reading, checkpoints what was done, and ends the thread; the query starts again where it stopped. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    const giveUp = setTimeout(() => this.stopping.abort(), STOP_PUTS_WAIT_MS);
    await this.worker?.shutdown();
    if (this.state === 'RUNNING') await this.freshCheckpoint().catch((error: unknown) => this.report(error));
    clearTimeout(giveUp);
    this.stopping.abort();
    await this.thread?.close();
    if (this.state !== 'FAILED') this.state = 'STOPPED';
  }

  /** Removes the checkpoint (the query is being deleted). */
  async forget(): Promise<void> {
    await this.checkpoints.delete();
  }

  /** One checkpoint at a time; a tick that finds one running lets it be. */
  checkpoint(): Promise<void> {
    this.checkpointing ??= this.writeCheckpoint().finally(() => (this.checkpointing = null));
    return this.checkpointing;
  }

  /**
   * A checkpoint whose state is taken after now: one already running took its state earlier (a
   * shard's end, or the last batch before a stop, may not be in it), so it is waited out first.
   */
  private async freshCheckpoint(): Promise<void> {
    await this.checkpointing?.catch(() => undefined);
    await this.checkpoint();
  }

  private async writeCheckpoint(): Promise<void> {
    const snapshot = (await this.run({ type: 'snapshot' })).snapshot!;
    const sink = this.sink!;
    await sink.then(async () => {
      if (sink.abandoned) return;
      const savedAtMs = this.engine.now();
      await this.checkpoints.write(snapshot.bytes, await sink.positions(), savedAtMs);
      if (this.replayed(snapshot)) {
        this.replayUntil = null;
        sink.forgetWritten();
      }
      this.lastCheckpointMs = savedAtMs;
    });
    await this.checkpointLeases(snapshot);
  }

  private replayed(snapshot: Pick<ExecutorSnapshot, 'positions' | 'ended'>): boolean {
    if (this.replayUntil === null) return true;
    for (const [shardId, until] of this.replayUntil) {
      const position = snapshot.positions[shardId];
      if (!snapshot.ended.includes(shardId) && (position === undefined || BigInt(position[0]) < until)) return false;
    }
    return true;
  }

  /** The last sequence number of each source shard that has records. */
  private async sourcePositions(): Promise<Map<string, bigint>> {
    const { Shards } = await this.engine.describeShardPositions({ StreamName: this.definition.source });
    return new Map(
      Shards.filter((shard) => shard.LatestSequenceNumber !== undefined).map((shard) => [
        shard.ShardId,
        BigInt(shard.LatestSequenceNumber!),
      ]),
    );
  }

  /** Each lease at the state's position: the group's start after a restart, never past what the state holds. */
  private async checkpointLeases(snapshot: Pick<ExecutorSnapshot, 'positions' | 'ended'>): Promise<void> {
    for (const [shardId, [sequenceNumber, sub]] of Object.entries(snapshot.positions)) {
      const checkpointer = this.checkpointers.get(shardId);
      if (checkpointer !== undefined && !snapshot.ended.includes(shardId))
        await checkpointer.checkpoint(sequenceNumber, sub).catch(() => undefined);
    }
  }

  /** Sends a request to the thread and queues what it emitted; a thread that fails fails the query. */
  private async run(request: Parameters<QueryThread['request']>[0]): Promise<ThreadAnswer> {
    try {
      const answer = await this.thread!.request(request);
      this.executor = answer.status;
      void this.write(answer.output).catch(() => undefined);
      return answer;
    } catch (error) {
      if (!this.stopping.signal.aborted) this.fail(error);
      throw error;
    }
  }

  private write(output: ExecutorOutput): Promise<unknown> {
    const { definition } = this;
    const sink = this.sink!;
    return Promise.all([
      sink.put(definition.output, output.rows),
      output.late.length === 0 ? null : sink.put(definition.settings.lateStream!, output.late),
      output.errors.length === 0 ? null : sink.put(definition.settings.errorStream!, output.errors),
    ]);
  }

  private processor(): ShardRecordProcessor {
    let shardId = '';
    return {
      initialize: async (input) => {
        shardId = input.shardId;
        await this.probe(shardId);
      },
      processRecords: async (input) => {
        this.checkpointers.set(shardId, input.checkpointer);
        const records: InputRecord[] = input.records.map((record) => ({
          data: record.data,
          partitionKey: record.partitionKey,
          sequenceNumber: record.sequenceNumber,
          subSequenceNumber: record.subSequenceNumber,
          arrivalMs: record.approximateArrivalTimestamp.getTime(),
        }));
        const batch = packBatch(records);
        const nowMs = this.engine.now();
        await this.run({ type: 'process', shardId, batch, millisBehindLatest: input.millisBehindLatest, nowMs });
        // What this batch emitted is stored before the next batch is read: the output's pace bounds the input's.
        await this.sink!.then(async () => undefined);
        if (input.isAtShardEnd)
          await this.run({ type: 'ended', shardId, children: (input.childShards ?? []).map((child) => child.ShardId), nowMs });
      },
      leaseLost: () => {
        this.checkpointers.delete(shardId);
      },
      // The state must hold the shard's end before its lease does, or a restart would skip the records after the last checkpoint.
      shardEnded: async ({ checkpointer }) => {
        await this.freshCheckpoint();
        await checkpointer.checkpoint();
        this.checkpointers.delete(shardId);
      },
      shutdownRequested: () => undefined,
    };
  }

  /**
   * A shard with no record at all is read to its end already, but its first pushed event would be
   * the heartbeat 5 s on: said at once, it holds no window open meanwhile.
   */
  private async probe(shardId: string): Promise<void> {
    const { Shards } = await this.engine.describeShardPositions({ StreamName: this.definition.source });
    if (Shards.find((shard) => shard.ShardId === shardId)?.LatestSequenceNumber !== undefined) return;
    await this.run({ type: 'process', shardId, batch: packBatch([]), millisBehindLatest: 0, nowMs: this.engine.now() });
  }

  private fail(error: unknown): void {
    this.state = 'FAILED';
    this.lastError = { message: (error as Error).message, atMs: performance.now() };
    for (const timer of this.timers) clearInterval(timer);
    void this.worker?.shutdown().finally(() => this.thread?.close());
  }

  private report(error: unknown): void {
    this.lastError = { message: (error as Error).message, atMs: performance.now() };
  }
}
