import { CONSUMERS_PER_STREAM_MAX, GET_RECORDS_RECORDS_MAX, ON_DEMAND_INITIAL_SHARDS, RETENTION_HOURS_MAX, RETENTION_HOURS_MIN, SHARDS_PER_STREAM_MAX, STREAMS_MAX, TAGS_PER_STREAM_MAX } from '../limits.js';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions } from '../config.js';
import {
  ClosedError,
  InvalidArgumentException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
  describeError,
  errorFromCode,
} from '../errors.js';
import { HOUR_MS } from '../log/log_config.js';
import { Catalog } from './catalog.js';
import { isOpen, type ConsumerRecord, type ShardRecord, type StreamMode, type StreamRecord } from '../streams/stream_records.js';
import { ShardSealedError } from '../workers/channel.js';
import { HASH_KEY_WORDS, HashKeyRouter, initialHashKeyRanges, parseHashKey } from '../streams/hash_key.js';
import { PutStaging, type PutRecordsRequestEntry } from './put_staging.js';
import { ACCOUNT_ID, checkInteger, checkName, findShard, streamArn, streamNameOf, toKinesisShard, type KinesisShard, type StreamReference } from '../streams/kinesis_shapes.js';
import { SequenceNumberRun, decodeSequenceNumber, encodeSequenceNumber } from '../streams/sequence_number.js';
import { ShardIterator } from '../streams/shard_iterator.js';
import { readRaw, recordsOf, type RawRead } from './shard_reads.js';
import { Piscina } from 'piscina';
import { parseSegmentFileName, segmentPaths } from '../log/file_names.js';
import { DataDirLock } from './data_dir_lock.js';
import type { VerifyInput, VerifyOutput } from '../workers/verify_task.js';
import { ShardRuntime } from './shard_runtime.js';
import { WorkerPool } from '../workers/worker_pool.js';

const SECRET_FILE = 'iterator-secret';

export type IteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'AT_TIMESTAMP';

export interface KinesisRecord {
  readonly SequenceNumber: string;
  readonly ApproximateArrivalTimestamp: Date;
  readonly Data: Uint8Array;
  readonly PartitionKey: string;
}

export interface ChildShard {
  readonly ShardId: string;
  readonly ParentShards: string[];
  readonly HashKeyRange: { readonly StartingHashKey: string; readonly EndingHashKey: string };
}

export interface ConsumerDescription {
  readonly ConsumerName: string;
  readonly ConsumerARN: string;
  readonly ConsumerStatus: 'ACTIVE';
  readonly ConsumerCreationTimestamp: Date;
}

function consumerDescription(consumer: ConsumerRecord): ConsumerDescription {
  return { ConsumerName: consumer.consumerName, ConsumerARN: consumer.consumerArn, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: new Date(consumer.createdAtMs) };
}

/** Checked tags, at most TAGS_PER_STREAM_MAX of them. */
function checkTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) checkTag(key, value);
  if (Object.keys(tags).length > TAGS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${TAGS_PER_STREAM_MAX} tags`);
  return tags;
}

/** A ListShards NextToken names its stream and position: AWS refuses it with any of them again. */
function checkListShardsToken(request: StreamReference & { NextToken?: string; ExclusiveStartShardId?: string; StreamCreationTimestamp?: unknown; ShardFilter?: unknown }): void {
  if (request.NextToken === undefined) {
    if (request.StreamName === undefined && request.StreamARN === undefined) throw new InvalidArgumentException('Either NextToken or StreamName should be provided.');
    return;
  }
  const also = (['StreamName', 'StreamARN', 'ExclusiveStartShardId', 'StreamCreationTimestamp', 'ShardFilter'] as const).find((member) => request[member] !== undefined);
  if (also !== undefined) throw new InvalidArgumentException(`NextToken and ${also} cannot be provided together.`);
}

/** Kinesis' account shard limit is ours per stream: asking for more is a limit, not bad input. */
function withinShardLimit(shardCount: number): number {
  if (shardCount > SHARDS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${SHARDS_PER_STREAM_MAX} open shards, ${shardCount} were asked for`);
  return shardCount;
}

/** The retention bounds are AWS's InvalidArgumentExceptions, in its words. */
function retentionHours(value: unknown): number {
  const hours = checkInteger(value, 'RetentionPeriodHours', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (hours < RETENTION_HOURS_MIN) throw new InvalidArgumentException(`Minimum allowed retention period is ${RETENTION_HOURS_MIN} hours. Requested retention period (${hours} hours) is too short.`);
  if (hours > RETENTION_HOURS_MAX) throw new InvalidArgumentException(`Maximum allowed retention period is ${RETENTION_HOURS_MAX} hours. Requested retention period (${hours} hours) is too long.`);
  return hours;
}

function checkTag(key: string, value: unknown): void {
  if (key.length < 1 || key.length > 128) throw new ValidationException(`tag key ${JSON.stringify(key)} must be 1 to 128 characters`);
  if (typeof value !== 'string' || value.length > 256) throw new ValidationException(`tag ${JSON.stringify(key)}: the value must be a string of at most 256 characters`);
}

export interface SubscribeToShardEvent {
  readonly Records: KinesisRecord[];
  readonly ContinuationSequenceNumber: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: ChildShard[];
}

export interface SubscribeToShardRequest {
  readonly ConsumerARN: string;
  readonly ShardId: string;
  readonly StartingPosition: { readonly Type: IteratorType; readonly SequenceNumber?: string; readonly Timestamp?: Date | number };
}

/** A read's batches as stored (views of the mapped files) and what they hold. */
export interface RawRecords {
  readonly shardSerial: number;
  readonly read: RawRead;
  readonly millisBehindLatest: number;
  /** Absent at the end of a closed shard (childShards is set then). */
  readonly nextShardIterator?: string;
  readonly childShards?: ChildShard[];
}

/** Where an encoded put's records went: per shard, the record indices and the first offset. */
export interface EncodedPutResult {
  readonly runs: ReadonlyArray<{ readonly shardId: string; readonly serial: number; readonly firstOffset: number; readonly indices: readonly number[] }>;
  readonly failures: ReadonlyArray<{ readonly indices: readonly number[]; readonly code: string; readonly message: string }>;
}

interface PutOutcome {
  readonly runs: Array<{ readonly shardId: string; readonly serial: number; readonly firstOffset: number; readonly indices: number[] }>;
  readonly failures: Array<{ readonly indices: number[]; readonly code: string; readonly message: string }>;
  readonly sealed: number[];
}

export interface GetRecordsResult {
  readonly Records: KinesisRecord[];
  readonly NextShardIterator?: string;
  readonly MillisBehindLatest: number;
  readonly ChildShards?: ChildShard[];
}
const SUBSCRIPTION_HEARTBEAT_MS = 5000;
/** Longest sleep between checks that the subscription should go on (engine closed, consumer gone). */
const SUBSCRIPTION_WAIT_MS = 1000;
const SUBSCRIPTION_PACE_MS = 50;
/** 10 MiB at 2 MiB/s takes 5 s to pay off: 200 waits of 50 ms cover it. */
const SUBSCRIPTION_PACE_WAITS_MAX = 200;
/** ON_DEMAND splits a shard whose recent writes use this much of its capacity. */
const ON_DEMAND_SPLIT_UTILIZATION = 0.8;
/** A put that meets a shard sealed by a concurrent split or merge is routed again, this often at most. */
const REROUTES_MAX = 8;

export type { PutRecordsRequestEntry } from './put_staging.js';

export type PutRecordsResultEntry = { readonly SequenceNumber: string; readonly ShardId: string } | { readonly ErrorCode: string; readonly ErrorMessage: string };

interface RouteEntry {
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
  readonly shard: ShardRecord;
}

/**
 * shardline embedded: the Kinesis Data Streams operations on a data directory, in-process.
 *
 * This thread keeps the catalog (streams, shards, lineage), routes records by hash key, and
 * reads shards straight from their mapped files (LogReader). Each shard's log is owned by one
 * worker thread (WorkerPool), which appends and publishes the committed position.
 */
export class Engine {
  private readonly runtimes = new Map<string, ShardRuntime>();
  private readonly routers = new Map<string, HashKeyRouter<RouteEntry>>();
  private closed = false;
  private verifierPool: Piscina | null = null;
  private readonly staging = new PutStaging();

  private constructor(
    private readonly options: ResolvedEngineOptions,
    private readonly catalog: Catalog,
    private readonly pool: WorkerPool,
    private readonly iterators: ShardIterator,
    private readonly lock: DataDirLock,
  ) {}

  static async open(options: EngineOptions): Promise<Engine> {
    const resolved = resolveEngineOptions(options);
    fs.mkdirSync(resolved.dataDir, { recursive: true });
    const lock = DataDirLock.acquire(resolved.dataDir);
    let catalog: Catalog;
    try {
      catalog = Catalog.open(resolved.dataDir);
    } catch (error) {
      lock.release();
      throw error;
    }
    const engine = new Engine(resolved, catalog, new WorkerPool(resolved.workers), new ShardIterator(iteratorSecret(resolved.dataDir)), lock);
    try {
      await engine.resume();
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  /** Opens every shard again, finishes interrupted reshardings and deletions. */
  private async resume(): Promise<void> {
    for (const stream of this.catalog.all()) {
      if (stream.status === 'DELETING') {
        await this.finishDelete(stream);
        continue;
      }
      await Promise.all(stream.shards.map((shard) => this.openShard(stream, shard)));
      for (const shard of stream.shards.filter((s) => s.closing === true)) await this.sealShard(stream, shard);
      stream.status = 'ACTIVE';
      this.route(stream);
    }
    await this.catalog.save();
  }

  /** Closes every log cleanly (reopening finds everything as it was) and stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const runtime of this.runtimes.values()) runtime.close();
    await this.pool.shutdown();
    await this.verifierPool?.destroy();
    this.lock.release();
  }

  /** Worker restarts since open (supervision), for operators and tests. */
  get workerRestarts(): number {
    return this.pool.restarts;
  }

  /**
   * Kills the worker thread that owns a shard, as a crash would. For tests of supervision and
   * for operators rehearsing failure: the worker is replaced and its shards recover.
   */
  async simulateWorkerCrash(request: StreamReference & { ShardId: string }): Promise<void> {
    const stream = this.stream(request);
    await this.pool.crashWorkerOf(ShardRuntime.keyOf(stream, findShard(stream, request.ShardId)));
  }

  // ---- streams ----

  async createStream(request: { StreamName: string; ShardCount?: number; StreamModeDetails?: { StreamMode: StreamMode }; Tags?: Record<string, string> }): Promise<void> {
    this.checkOpen();
    const name = checkName(request?.StreamName, 'StreamName');
    const tags = checkTags({ ...request.Tags });
    const mode = request.StreamModeDetails?.StreamMode ?? 'PROVISIONED';
    if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND') throw new ValidationException(`StreamMode must be PROVISIONED or ON_DEMAND`);
    const shardCount = mode === 'ON_DEMAND' && request.ShardCount === undefined ? ON_DEMAND_INITIAL_SHARDS : withinShardLimit(checkInteger(request.ShardCount, 'ShardCount', 1, Number.MAX_SAFE_INTEGER));
    if (this.catalog.get(name) !== undefined) throw new ResourceInUseException(`Stream ${name} under account ${ACCOUNT_ID} already exists.`);
    if (this.catalog.all().length >= STREAMS_MAX) throw new LimitExceededException(`at most ${STREAMS_MAX} streams`);
    const stream = this.catalog.create(name, shardCount, mode, this.options.clock());
    stream.tags = tags;
    await this.catalog.save();
    await Promise.all(stream.shards.map((shard) => this.openShard(stream, shard)));
    this.route(stream);
  }

  async deleteStream(request: StreamReference & { EnforceConsumerDeletion?: boolean }): Promise<void> {
    const stream = this.stream(request);
    if (stream.consumers.length > 0 && request.EnforceConsumerDeletion !== true) {
      throw new ResourceInUseException(`Stream ${stream.name} has registered consumers: deregister them or set EnforceConsumerDeletion`);
    }
    stream.status = 'DELETING';
    await this.catalog.save();
    await this.finishDelete(stream);
  }

  private async finishDelete(stream: StreamRecord): Promise<void> {
    this.routers.delete(stream.name);
    for (const shard of stream.shards) {
      const runtime = this.runtimes.get(ShardRuntime.keyOf(stream, shard));
      runtime?.close();
      this.runtimes.delete(ShardRuntime.keyOf(stream, shard));
      await this.pool.request({ kind: 'close', shardKey: ShardRuntime.keyOf(stream, shard) });
    }
    fs.rmSync(this.catalog.streamDir(stream), { recursive: true, force: true });
    this.catalog.remove(stream.name);
    await this.catalog.save();
  }

  describeStreamSummary(request: StreamReference): { StreamDescriptionSummary: Record<string, unknown> } {
    const stream = this.stream(request);
    return {
      StreamDescriptionSummary: {
        ...this.streamHeader(stream),
        OpenShardCount: this.visibleShards(stream).filter(isOpen).length,
        ConsumerCount: stream.consumers.length,
      },
    };
  }

  describeStream(request: StreamReference & { Limit?: number; ExclusiveStartShardId?: string }): { StreamDescription: Record<string, unknown> } {
    const stream = this.stream(request);
    const limit = request.Limit === undefined ? 100 : checkInteger(request.Limit, 'Limit', 1, 10_000);
    const after = request.ExclusiveStartShardId;
    const shards = this.visibleShards(stream).filter((shard) => after === undefined || shard.shardId > after);
    return {
      StreamDescription: {
        ...this.streamHeader(stream),
        Shards: shards.slice(0, limit).map(toKinesisShard),
        HasMoreShards: shards.length > limit,
      },
    };
  }

  private streamHeader(stream: StreamRecord): Record<string, unknown> {
    return {
      StreamName: stream.name,
      StreamARN: streamArn(stream.name),
      StreamStatus: stream.status,
      StreamModeDetails: { StreamMode: stream.mode },
      RetentionPeriodHours: stream.retentionHours,
      StreamCreationTimestamp: new Date(stream.createdAtMs),
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      EncryptionType: 'NONE',
    };
  }

  listStreams(request: { Limit?: number; ExclusiveStartStreamName?: string; NextToken?: string } = {}): {
    StreamNames: string[];
    HasMoreStreams: boolean;
    NextToken?: string;
    StreamSummaries: Array<Record<string, unknown>>;
  } {
    this.checkOpen();
    const limit = request.Limit === undefined ? 100 : checkInteger(request.Limit, 'Limit', 1, 10_000);
    const after = request.NextToken ?? request.ExclusiveStartStreamName;
    const names = this.catalog
      .all()
      .map((stream) => stream.name)
      .sort()
      .filter((name) => after === undefined || name > after);
    const page = names.slice(0, limit);
    const more = names.length > limit;
    return {
      StreamNames: page,
      HasMoreStreams: more,
      ...(more ? { NextToken: page.at(-1)! } : {}),
      StreamSummaries: page.map((name) => {
        const stream = this.catalog.get(name)!;
        return { StreamName: name, StreamARN: streamArn(name), StreamStatus: stream.status, StreamModeDetails: { StreamMode: stream.mode }, StreamCreationTimestamp: new Date(stream.createdAtMs) };
      }),
    };
  }

  listShards(request: StreamReference & { NextToken?: string; ExclusiveStartShardId?: string; MaxResults?: number; StreamCreationTimestamp?: Date; ShardFilter?: { Type: string; ShardId?: string } }): {
    Shards: KinesisShard[];
    NextToken?: string;
  } {
    checkListShardsToken(request);
    const stream = this.stream(request.NextToken === undefined ? request : { StreamName: request.NextToken.split('/')[0] });
    const max = request.MaxResults === undefined ? 1000 : checkInteger(request.MaxResults, 'MaxResults', 1, 10_000);
    const after = request.NextToken?.split('/')[1] ?? request.ExclusiveStartShardId ?? (request.ShardFilter?.Type === 'AFTER_SHARD_ID' ? request.ShardFilter.ShardId : undefined);
    const shards = this.filterShards(stream, request.ShardFilter?.Type).filter((shard) => after === undefined || shard.shardId > after);
    const page = shards.slice(0, max);
    return { Shards: page.map(toKinesisShard), ...(shards.length > max ? { NextToken: `${stream.name}/${page.at(-1)!.shardId}` } : {}) };
  }

  private filterShards(stream: StreamRecord, type: string | undefined): ShardRecord[] {
    const shards = this.visibleShards(stream);
    switch (type) {
      case undefined:
      case 'AFTER_SHARD_ID':
      case 'FROM_TRIM_HORIZON':
        return shards;
      case 'AT_LATEST':
        return shards.filter(isOpen);
      case 'AT_TRIM_HORIZON': {
        const present = new Set(shards.map((shard) => shard.shardId));
        return shards.filter((shard) => shard.parentShardId === undefined || !present.has(shard.parentShardId));
      }
      default:
        throw new InvalidArgumentException(`ShardFilter type ${String(type)} is not supported`);
    }
  }

  // ---- records ----

  async putRecord(request: PutRecordsRequestEntry & StreamReference): Promise<{ ShardId: string; SequenceNumber: string; EncryptionType: 'NONE' }> {
    const result = await this.putRecords({ ...request, Records: [request] });
    const entry = result.Records[0]!;
    if ('ErrorCode' in entry) throw errorFromCode(entry.ErrorCode, entry.ErrorMessage);
    return { ShardId: entry.ShardId, SequenceNumber: entry.SequenceNumber, EncryptionType: 'NONE' };
  }

  /**
   * Puts records; each entry succeeds or fails on its own (ProvisionedThroughputExceeded when a
   * shard is over its limit, InternalFailure when its worker restarted). Records to one shard
   * keep their order; all puts to a shard in one event-loop turn travel to its worker as one
   * batch (ShardAppender).
   */
  async putRecords(request: StreamReference & { Records: readonly PutRecordsRequestEntry[] }): Promise<{ FailedRecordCount: number; Records: PutRecordsResultEntry[]; EncryptionType: 'NONE' }> {
    const stream = this.stream(request);
    const entries = request.Records;
    this.staging.stage(entries);
    const results: PutRecordsResultEntry[] = new Array(entries.length);
    let origins: readonly number[] | null = null;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.putStaged(stream);
      const origin = (i: number): number => (origins === null ? i : origins[i]!);
      for (const run of outcome.runs) {
        const sequenceNumbers = new SequenceNumberRun(run.serial, run.firstOffset);
        run.indices.forEach((index, j) => (results[origin(index)] = { SequenceNumber: sequenceNumbers.at(run.firstOffset + j), ShardId: run.shardId }));
      }
      for (const failure of outcome.failures) for (const index of failure.indices) results[origin(index)] = { ErrorCode: failure.code, ErrorMessage: failure.message };
      if (outcome.sealed.length === 0) break;
      origins = outcome.sealed.map(origin);
      if (attempt + 1 >= REROUTES_MAX) {
        for (const index of origins) results[index] = { ErrorCode: 'InternalFailure', ErrorMessage: 'the shard was resharded too often during the put' };
        break;
      }
      this.staging.stage(
        origins.map((index) => entries[index]!),
        origins.map((index) => index + 1),
      );
    }
    let failed = 0;
    for (const result of results) if ('ErrorCode' in result) failed++;
    return { FailedRecordCount: failed, Records: results, EncryptionType: 'NONE' };
  }

  /**
   * Puts records that arrive already encoded (the network's PUT, docs/PROTOCOL.md): `records`
   * holds `recordCount` records in the on-disk layout, `hashKeys` their 16-byte big-endian
   * routing keys. They are validated as putRecords validates its entries (ValidationException or
   * InvalidArgumentException, nothing stored), routed and handed to the shards before this
   * returns its promise, so the caller's buffers may be reused at once. Records that meet a
   * shard sealed by a concurrent split or merge fail with a retriable InternalFailure.
   */
  putEncoded(request: { stream: string; recordCount: number; hashKeys: Uint8Array; records: Uint8Array }): Promise<EncodedPutResult> {
    const stream = this.stream(request.stream.startsWith('arn:') ? { StreamARN: request.stream } : { StreamName: request.stream });
    this.staging.stageEncoded(request.records, request.recordCount, request.hashKeys);
    return this.putStaged(stream).then((outcome) => ({
      runs: outcome.runs,
      failures: [...outcome.failures, ...(outcome.sealed.length === 0 ? [] : [{ indices: outcome.sealed, code: 'InternalFailure', message: 'the shard was split or merged during the put: retry' }])],
    }));
  }

  /**
   * Routes the staged records and hands each shard's records to its appender, synchronously,
   * so the staging area is free again when this returns. Resolves with where each shard's
   * records went, which failed, and which met a shard a concurrent split or merge had sealed
   * (to route again). Indices are the staged records'.
   */
  private putStaged(stream: StreamRecord): Promise<PutOutcome> {
    const router = this.routers.get(stream.name);
    if (router === undefined) throw new ResourceNotFoundException(`Stream ${stream.name} is being deleted`);
    const staging = this.staging;
    const groups = new Map<ShardRecord, number[]>();
    for (let i = 0; i < staging.count; i++) {
      const { shard } = router.routeWords(staging.hashKeyWords, i * HASH_KEY_WORDS);
      const group = groups.get(shard);
      if (group === undefined) groups.set(shard, [i]);
      else group.push(i);
    }
    const outcome: PutOutcome = { runs: [], failures: [], sealed: [] };
    const appends = [...groups].map(([shard, group]) => {
      const admitted = this.admit(stream, shard, group, outcome);
      if (admitted.length === 0) return undefined;
      return this.runtime(stream, shard)
        .appender.append(staging, admitted)
        .then(
          (firstOffset) => {
            outcome.runs.push({ shardId: shard.shardId, serial: shard.serial, firstOffset, indices: admitted });
            this.scaleOnDemand(stream, shard);
          },
          (error: unknown) => {
            if (error instanceof ShardSealedError) outcome.sealed.push(...admitted);
            else {
              const { code, message } = describeError(error);
              outcome.failures.push({ indices: admitted, code, message });
            }
          },
        );
    });
    return Promise.all(appends).then(() => {
      outcome.sealed.sort((a, b) => a - b);
      return outcome;
    });
  }

  /** Applies the shard's write limits to staged records; the rejected ones go to the outcome's failures. */
  private admit(stream: StreamRecord, shard: ShardRecord, group: number[], outcome: PutOutcome): number[] {
    if (!this.options.enforceLimits) return group;
    const runtime = this.runtime(stream, shard);
    const decisions = runtime.throughput.admitRecords(
      group.map((i) => this.staging.payloadBytes[i]!),
      this.options.clock(),
    );
    const rejected = group.filter((_, j) => !decisions[j]);
    if (rejected.length > 0) {
      outcome.failures.push({ indices: rejected, code: 'ProvisionedThroughputExceededException', message: `Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID}.` });
    }
    return rejected.length === 0 ? group : group.filter((_, j) => decisions[j]);
  }

  async getShardIterator(
    request: StreamReference & { ShardId: string; ShardIteratorType: IteratorType; StartingSequenceNumber?: string; Timestamp?: Date | number },
  ): Promise<{ ShardIterator: string }> {
    const stream = this.stream(request);
    const shard = findShard(stream, request.ShardId);
    const runtime = this.runtime(stream, shard);
    const offset = await this.startOffset(stream, shard, runtime, request);
    return { ShardIterator: this.iterators.encode({ streamId: stream.id, shardSerial: shard.serial, offset, segmentBaseOffset: 0, positionBytes: 0 }, this.options.clock()) };
  }

  private async startOffset(
    stream: StreamRecord,
    shard: ShardRecord,
    runtime: ShardRuntime,
    request: { ShardIteratorType: IteratorType; StartingSequenceNumber?: string; Timestamp?: Date | number },
  ): Promise<number> {
    const reader = runtime.reader;
    switch (request.ShardIteratorType) {
      case 'TRIM_HORIZON':
        return reader.startOffset;
      case 'LATEST':
        return reader.endOffset;
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        const position = decodeSequenceNumber(request.StartingSequenceNumber as string, 'StartingSequenceNumber');
        if (position.shardSerial !== shard.serial) throw new InvalidArgumentException(`StartingSequenceNumber ${request.StartingSequenceNumber} used in GetShardIterator on shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID} is invalid because it did not come from this stream.`);
        const offset = position.offset + (request.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? 1 : 0);
        if (offset > reader.endOffset) throw new InvalidArgumentException(`StartingSequenceNumber ${request.StartingSequenceNumber} is beyond the end of shard ${shard.shardId}`);
        return Math.max(offset, reader.startOffset);
      }
      case 'AT_TIMESTAMP': {
        const timestampMs = request.Timestamp instanceof Date ? request.Timestamp.getTime() : request.Timestamp;
        if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs)) throw new InvalidArgumentException('AT_TIMESTAMP needs a Timestamp');
        const { offset } = await this.pool.request<{ offset: number }>({ kind: 'offsetForTimestamp', shardKey: ShardRuntime.keyOf(stream, shard), timestampMs: Math.floor(timestampMs) });
        return offset;
      }
      default:
        throw new ValidationException(`ShardIteratorType must be one of TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP`);
    }
  }

  /**
   * Records from a shard iterator: at most Limit (10,000) records and 10 MiB, read straight from
   * the shard's mapped files. At the end of a closed shard NextShardIterator is absent and
   * ChildShards names the shards that continue it.
   */
  getRecords(request: { ShardIterator: string; Limit?: number }): GetRecordsResult {
    const raw = this.getRecordsRaw(request);
    const { Records, MillisBehindLatest } = kinesisRecords(raw);
    if (raw.nextShardIterator === undefined) return { Records, MillisBehindLatest, ChildShards: raw.childShards ?? [] };
    return { Records, NextShardIterator: raw.nextShardIterator, MillisBehindLatest };
  }

  /**
   * getRecords without decoding: whole batches as views of the mapped files, with the range of
   * offsets the read returns, for the network to send as they are (docs/PROTOCOL.md, RECORDS).
   * The views stay valid until the next read of the shard.
   */
  getRecordsRaw(request: { ShardIterator: string; Limit?: number }): RawRecords {
    this.checkOpen();
    const nowMs = this.options.clock();
    const position = this.iterators.decode(request?.ShardIterator, nowMs);
    const limit = request.Limit === undefined ? GET_RECORDS_RECORDS_MAX : checkInteger(request.Limit, 'Limit', 1, GET_RECORDS_RECORDS_MAX);
    const stream = this.catalog.all().find((candidate) => candidate.id === position.streamId && candidate.status !== 'DELETING');
    if (stream === undefined) throw new ResourceNotFoundException('the stream of this ShardIterator no longer exists');
    const shard = stream.shards.find((candidate) => candidate.serial === position.shardSerial);
    if (shard === undefined) throw new ResourceNotFoundException('the shard of this ShardIterator no longer exists');
    const runtime = this.runtime(stream, shard);
    if (this.options.enforceLimits && !runtime.throughput.admitRead(nowMs)) {
      throw new ProvisionedThroughputExceededException(`Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID}.`);
    }
    const read = readRaw(runtime.reader, Math.max(position.offset, runtime.reader.startOffset), limit, position);
    if (this.options.enforceLimits) runtime.throughput.chargeRead(read.bytes, nowMs);
    const base = this.rawRecords(stream, shard, runtime, read, nowMs);
    if (base.childShards !== undefined) return base;
    const nextShardIterator = this.iterators.encode({ streamId: stream.id, shardSerial: shard.serial, offset: read.toOffset, ...read.hint }, nowMs);
    return { ...base, nextShardIterator };
  }

  private rawRecords(stream: StreamRecord, shard: ShardRecord, runtime: ShardRuntime, read: RawRead, nowMs: number): RawRecords {
    const caughtUp = read.lastTimestampMs < 0 || read.toOffset >= runtime.reader.endOffset;
    const millisBehindLatest = caughtUp ? 0 : Math.max(0, nowMs - read.lastTimestampMs);
    const ended = shard.endOffset !== undefined && read.toOffset >= shard.endOffset;
    return { shardSerial: shard.serial, read, millisBehindLatest, ...(ended ? { childShards: this.childShards(stream, shard) } : {}) };
  }

  private childShards(stream: StreamRecord, shard: ShardRecord): ChildShard[] {
    return stream.shards
      .filter((child) => child.parentShardId === shard.shardId || child.adjacentParentShardId === shard.shardId)
      .map((child) => ({
        ShardId: child.shardId,
        ParentShards: [child.parentShardId, child.adjacentParentShardId].filter((id): id is string => id !== undefined),
        HashKeyRange: { StartingHashKey: child.startingHashKey, EndingHashKey: child.endingHashKey },
      }));
  }

  /**
   * A push subscription, like SubscribeToShard: events of records as they are committed, from
   * the starting position on, for a registered consumer (each has its own 2 MiB/s per shard).
   * An event comes at least every 5 seconds, empty if nothing arrived. Resume after a break
   * with AFTER_SEQUENCE_NUMBER and the last ContinuationSequenceNumber. At the end of a closed
   * shard the last event carries ChildShards and the iteration ends; it also ends when the
   * consumer is deregistered, the stream deleted or the engine closed.
   */
  async *subscribeToShard(request: SubscribeToShardRequest): AsyncGenerator<SubscribeToShardEvent> {
    for await (const event of this.subscribeRaw(request)) {
      const { Records, MillisBehindLatest } = kinesisRecords(event);
      yield { Records, ContinuationSequenceNumber: event.continuationSequenceNumber, MillisBehindLatest, ...(event.childShards === undefined ? {} : { ChildShards: event.childShards }) };
    }
  }

  /**
   * subscribeToShard without decoding: each event's batches as views of the mapped files, valid
   * until the generator is resumed (the network sends them before asking for the next).
   * `onStart` hears where the subscription starts once its request passed every check, before
   * the first event (the network acknowledges SUBSCRIBE with it).
   */
  async *subscribeRaw(request: SubscribeToShardRequest, onStart?: (start: { shardSerial: number; startOffset: number }) => void): AsyncGenerator<RawRecords & { readonly continuationSequenceNumber: string }> {
    const { stream, consumer } = this.consumer({ ConsumerARN: request?.ConsumerARN });
    const shard = findShard(stream, request.ShardId);
    const runtime = this.runtime(stream, shard);
    const start = request.StartingPosition ?? ({} as { Type: IteratorType });
    let offset = await this.startOffset(stream, shard, runtime, { ShardIteratorType: start.Type, ...(start.SequenceNumber === undefined ? {} : { StartingSequenceNumber: start.SequenceNumber }), ...(start.Timestamp === undefined ? {} : { Timestamp: start.Timestamp }) });
    onStart?.({ shardSerial: shard.serial, startOffset: Math.max(offset, runtime.reader.startOffset) });
    let position = { offset, segmentBaseOffset: 0, positionBytes: 0 };
    let lastEventMs = this.options.clock();
    while (!this.closed && stream.consumers.includes(consumer) && this.catalog.get(stream.name) === stream) {
      const sequence = runtime.committed.sequence;
      const read = readRaw(runtime.reader, Math.max(offset, runtime.reader.startOffset), GET_RECORDS_RECORDS_MAX, position);
      const nowMs = this.options.clock();
      const event = this.rawRecords(stream, shard, runtime, read, nowMs);
      const hasRecords = read.toOffset > read.fromOffset;
      if (hasRecords || event.childShards !== undefined || nowMs - lastEventMs >= SUBSCRIPTION_HEARTBEAT_MS) {
        if (read.bytes > 0) await this.paceSubscription(runtime, consumer.consumerArn, read.bytes);
        yield { ...event, continuationSequenceNumber: encodeSequenceNumber(shard.serial, Math.max(0, read.toOffset - 1)) };
        if (event.childShards !== undefined) return;
        lastEventMs = nowMs;
      }
      offset = read.toOffset;
      position = { offset, ...read.hint };
      if (!hasRecords) await runtime.committed.waitForChange(sequence, SUBSCRIPTION_WAIT_MS);
    }
  }

  /** Holds a subscription back while its consumer is over 2 MiB/s on this shard. */
  private async paceSubscription(runtime: ShardRuntime, consumerArn: string, bytes: number): Promise<void> {
    if (!this.options.enforceLimits) return;
    runtime.throughput.registerConsumer(consumerArn, this.options.clock());
    for (let waits = 0; waits < SUBSCRIPTION_PACE_WAITS_MAX && !runtime.throughput.admitSubscriptionBytes(consumerArn, bytes, this.options.clock()); waits++) {
      await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_PACE_MS));
    }
  }

  // ---- resharding ----

  /** Splits an open shard at NewStartingHashKey: the parent closes, two children take its range. */
  async splitShard(request: StreamReference & { ShardToSplit: string; NewStartingHashKey: string }): Promise<void> {
    const stream = this.activeStream(request);
    const parent = this.openShardOf(stream, request.ShardToSplit);
    const split = parseHashKey(request.NewStartingHashKey, 'NewStartingHashKey');
    if (split <= BigInt(parent.startingHashKey) || split > BigInt(parent.endingHashKey)) {
      throw new InvalidArgumentException(`NewStartingHashKey ${request.NewStartingHashKey} must be above the shard's StartingHashKey and at most its EndingHashKey`);
    }
    await this.reshard(stream, [parent], (catalog) => [
      catalog.addShard(stream, BigInt(parent.startingHashKey), split - 1n, { parentShardId: parent.shardId }),
      catalog.addShard(stream, split, BigInt(parent.endingHashKey), { parentShardId: parent.shardId }),
    ]);
  }

  /** Merges two open shards with adjacent hash key ranges into one child. */
  async mergeShards(request: StreamReference & { ShardToMerge: string; AdjacentShardToMerge: string }): Promise<void> {
    const stream = this.activeStream(request);
    const first = this.openShardOf(stream, request.ShardToMerge);
    const second = this.openShardOf(stream, request.AdjacentShardToMerge);
    const [low, high] = BigInt(first.startingHashKey) < BigInt(second.startingHashKey) ? [first, second] : [second, first];
    if (BigInt(low.endingHashKey) + 1n !== BigInt(high.startingHashKey)) {
      throw new InvalidArgumentException(`Shards ${first.shardId} and ${second.shardId} do not have adjacent hash key ranges`);
    }
    await this.reshard(stream, [first, second], (catalog) => [
      catalog.addShard(stream, BigInt(low.startingHashKey), BigInt(high.endingHashKey), { parentShardId: first.shardId, adjacentParentShardId: second.shardId }),
    ]);
  }

  /**
   * The steps of a split or merge, each persisted before the next, so that a crash anywhere
   * leaves a catalog that reopening completes: UPDATING with the children recorded and the
   * parents marked closing; children opened and routed to; parents sealed (their records
   * before the seal keep lower sequence numbers than any child's); ACTIVE.
   */
  private async reshard(stream: StreamRecord, parents: ShardRecord[], makeChildren: (catalog: Catalog) => ShardRecord[]): Promise<void> {
    if (stream.shards.filter(isOpen).length - parents.length + 2 > SHARDS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${SHARDS_PER_STREAM_MAX} open shards`);
    stream.status = 'UPDATING';
    const children = makeChildren(this.catalog);
    for (const parent of parents) parent.closing = true;
    await this.catalog.save();
    try {
      await Promise.all(children.map((child) => this.openShard(stream, child)));
      this.route(stream);
      for (const parent of parents) await this.sealShard(stream, parent);
    } finally {
      stream.status = 'ACTIVE';
      await this.catalog.save();
    }
  }

  /**
   * UNIFORM_SCALING to TargetShardCount open shards of equal ranges (within half and double the
   * current count, as Kinesis allows), done as Kinesis does it: real splits at every new
   * boundary, then merges of the pieces inside each new range, so every child keeps at most
   * two parents and the usual lineage.
   */
  async updateShardCount(request: StreamReference & { TargetShardCount: number; ScalingType: 'UNIFORM_SCALING' }): Promise<{ StreamName: string; StreamARN: string; CurrentShardCount: number; TargetShardCount: number }> {
    const stream = this.activeStream(request);
    if (request.ScalingType !== 'UNIFORM_SCALING') throw new ValidationException('ScalingType must be UNIFORM_SCALING');
    const current = stream.shards.filter(isOpen).length;
    const target = withinShardLimit(checkInteger(request.TargetShardCount, 'TargetShardCount', 1, Number.MAX_SAFE_INTEGER));
    if (target > 2 * current || target < Math.ceil(current / 2)) {
      throw new LimitExceededException(`TargetShardCount ${target} must be from half (${Math.ceil(current / 2)}) to double (${2 * current}) the current ${current} open shards`);
    }
    const ranges = initialHashKeyRanges(target);
    for (const boundary of ranges.slice(1).map((range) => range.startingHashKey)) {
      const shard = stream.shards.find((candidate) => isOpen(candidate) && BigInt(candidate.startingHashKey) < boundary && boundary <= BigInt(candidate.endingHashKey));
      if (shard !== undefined) await this.splitShard({ StreamName: stream.name, ShardToSplit: shard.shardId, NewStartingHashKey: boundary.toString() });
    }
    for (const range of ranges) {
      for (let pieces = this.openShardsWithin(stream, range); pieces.length > 1; pieces = this.openShardsWithin(stream, range)) {
        await this.mergeShards({ StreamName: stream.name, ShardToMerge: pieces[0]!.shardId, AdjacentShardToMerge: pieces[1]!.shardId });
      }
    }
    return { StreamName: stream.name, StreamARN: streamArn(stream.name), CurrentShardCount: current, TargetShardCount: target };
  }

  private openShardsWithin(stream: StreamRecord, range: { startingHashKey: bigint; endingHashKey: bigint }): ShardRecord[] {
    return stream.shards
      .filter((shard) => isOpen(shard) && BigInt(shard.startingHashKey) >= range.startingHashKey && BigInt(shard.endingHashKey) <= range.endingHashKey)
      .sort((a, b) => (BigInt(a.startingHashKey) < BigInt(b.startingHashKey) ? -1 : 1));
  }

  /**
   * ON_DEMAND: a shard whose admitted writes stay near its capacity (the throughput's decaying
   * average, ~5 s) is split at the middle of its range, one split at a time per stream.
   */
  private scaleOnDemand(stream: StreamRecord, shard: ShardRecord): void {
    if (stream.mode !== 'ON_DEMAND' || !this.options.enforceLimits || stream.status !== 'ACTIVE' || !isOpen(shard)) return;
    if (this.runtime(stream, shard).throughput.utilization(this.options.clock()) < ON_DEMAND_SPLIT_UTILIZATION) return;
    if (stream.shards.filter(isOpen).length >= SHARDS_PER_STREAM_MAX) return;
    const start = BigInt(shard.startingHashKey);
    const end = BigInt(shard.endingHashKey);
    if (end === start) return;
    const middle = start + (end - start + 1n) / 2n;
    void this.splitShard({ StreamName: stream.name, ShardToSplit: shard.shardId, NewStartingHashKey: middle.toString() }).catch(() => undefined);
  }

  private activeStream(request: StreamReference): StreamRecord {
    const stream = this.stream(request);
    if (stream.status !== 'ACTIVE') throw new ResourceInUseException(`Stream ${stream.name} under account ${ACCOUNT_ID} is not ACTIVE (${stream.status}).`);
    return stream;
  }

  private openShardOf(stream: StreamRecord, shardId: string): ShardRecord {
    const shard = findShard(stream, shardId);
    if (!isOpen(shard)) throw new InvalidArgumentException(`Shard ${shardId} in stream ${stream.name} is closed: a closed shard cannot be split or merged`);
    return shard;
  }

  // ---- stream settings ----

  async increaseStreamRetentionPeriod(request: StreamReference & { RetentionPeriodHours: number }): Promise<void> {
    const stream = this.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours < stream.retentionHours) throw new InvalidArgumentException(`Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter than existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`);
    await this.setRetention(stream, hours);
  }

  async decreaseStreamRetentionPeriod(request: StreamReference & { RetentionPeriodHours: number }): Promise<void> {
    const stream = this.activeStream(request);
    const hours = retentionHours(request.RetentionPeriodHours);
    if (hours > stream.retentionHours) throw new InvalidArgumentException(`Requested retention period (${hours} hours) for stream ${stream.name} can not be longer than existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`);
    await this.setRetention(stream, hours);
  }

  private async setRetention(stream: StreamRecord, hours: number): Promise<void> {
    stream.retentionHours = hours;
    await this.catalog.save();
    await Promise.all(stream.shards.map((shard) => this.pool.request({ kind: 'setRetention', shardKey: ShardRuntime.keyOf(stream, shard), retentionMs: hours * HOUR_MS })));
  }

  async updateStreamMode(request: { StreamARN: string; StreamModeDetails: { StreamMode: StreamMode } }): Promise<void> {
    const stream = this.activeStream({ StreamARN: request?.StreamARN });
    const mode = request.StreamModeDetails?.StreamMode;
    if (mode !== 'PROVISIONED' && mode !== 'ON_DEMAND') throw new ValidationException('StreamMode must be PROVISIONED or ON_DEMAND');
    stream.mode = mode;
    await this.catalog.save();
    for (const shard of stream.shards) this.runtimes.get(ShardRuntime.keyOf(stream, shard))?.throughput.setMode(mode, this.options.clock());
  }

  async addTagsToStream(request: StreamReference & { Tags: Record<string, string> }): Promise<void> {
    const stream = this.stream(request);
    if (Object.keys(request.Tags ?? {}).length === 0) throw new ValidationException('Tags must hold at least one tag');
    stream.tags = checkTags({ ...stream.tags, ...request.Tags });
    await this.catalog.save();
  }

  async removeTagsFromStream(request: StreamReference & { TagKeys: string[] }): Promise<void> {
    const stream = this.stream(request);
    if (!Array.isArray(request.TagKeys) || request.TagKeys.length === 0 || request.TagKeys.length > TAGS_PER_STREAM_MAX) {
      throw new ValidationException(`TagKeys must hold 1 to ${TAGS_PER_STREAM_MAX} keys`);
    }
    stream.tags = Object.fromEntries(Object.entries(stream.tags).filter(([key]) => !request.TagKeys.includes(key)));
    await this.catalog.save();
  }

  listTagsForStream(request: StreamReference & { ExclusiveStartTagKey?: string; Limit?: number }): { Tags: Array<{ Key: string; Value: string }>; HasMoreTags: boolean } {
    const stream = this.stream(request);
    const limit = request.Limit === undefined ? 50 : checkInteger(request.Limit, 'Limit', 1, 50);
    const keys = Object.keys(stream.tags)
      .sort()
      .filter((key) => request.ExclusiveStartTagKey === undefined || key > request.ExclusiveStartTagKey);
    return { Tags: keys.slice(0, limit).map((Key) => ({ Key, Value: stream.tags[Key]! })), HasMoreTags: keys.length > limit };
  }

  // ---- enhanced fan-out consumers ----

  async registerStreamConsumer(request: { StreamARN: string; ConsumerName: string }): Promise<{ Consumer: ConsumerDescription }> {
    const stream = this.stream({ StreamARN: request?.StreamARN });
    const name = checkName(request.ConsumerName, 'ConsumerName');
    if (stream.consumers.some((consumer) => consumer.consumerName === name)) throw new ResourceInUseException(`Consumer ${name} already exists`);
    if (stream.consumers.length >= CONSUMERS_PER_STREAM_MAX) throw new LimitExceededException(`a stream has at most ${CONSUMERS_PER_STREAM_MAX} consumers`);
    const createdAtMs = this.options.clock();
    const consumer = { consumerName: name, consumerArn: `${streamArn(stream.name)}/consumer/${name}:${Math.floor(createdAtMs / 1000)}`, createdAtMs };
    stream.consumers.push(consumer);
    await this.catalog.save();
    return { Consumer: consumerDescription(consumer) };
  }

  async deregisterStreamConsumer(request: { StreamARN?: string; ConsumerName?: string; ConsumerARN?: string }): Promise<void> {
    const { stream, consumer } = this.consumer(request);
    stream.consumers = stream.consumers.filter((candidate) => candidate !== consumer);
    await this.catalog.save();
    for (const shard of stream.shards) this.runtimes.get(ShardRuntime.keyOf(stream, shard))?.throughput.deregisterConsumer(consumer.consumerArn);
  }

  describeStreamConsumer(request: { StreamARN?: string; ConsumerName?: string; ConsumerARN?: string }): { ConsumerDescription: ConsumerDescription & { StreamARN: string } } {
    const { stream, consumer } = this.consumer(request);
    return { ConsumerDescription: { ...consumerDescription(consumer), StreamARN: streamArn(stream.name) } };
  }

  listStreamConsumers(request: { StreamARN: string; MaxResults?: number; NextToken?: string }): { Consumers: ConsumerDescription[]; NextToken?: string } {
    const stream = this.stream({ StreamARN: request?.StreamARN });
    const max = request.MaxResults === undefined ? 100 : checkInteger(request.MaxResults, 'MaxResults', 1, 10_000);
    const after = request.NextToken;
    const consumers = stream.consumers.filter((consumer) => after === undefined || consumer.consumerName > after).sort((a, b) => (a.consumerName < b.consumerName ? -1 : 1));
    const page = consumers.slice(0, max);
    return { Consumers: page.map(consumerDescription), ...(consumers.length > max ? { NextToken: page.at(-1)!.consumerName } : {}) };
  }

  private consumer(request: { StreamARN?: string; ConsumerName?: string; ConsumerARN?: string }): { stream: StreamRecord; consumer: ConsumerRecord } {
    const arn = request?.ConsumerARN;
    const streamArnText = arn === undefined ? request?.StreamARN : arn.split('/consumer/')[0];
    const stream = this.stream({ StreamARN: streamArnText });
    const consumer = stream.consumers.find((candidate) => (arn === undefined ? candidate.consumerName === request.ConsumerName : candidate.consumerArn === arn));
    if (consumer === undefined) throw new ResourceNotFoundException(`Consumer ${arn ?? request.ConsumerName} under stream ${stream.name} not found`);
    return { stream, consumer };
  }

  // ---- verification ----

  /**
   * Verifies the checksum and fields of every stored batch of a stream, up to each shard's
   * committed end, on a pool of piscina threads (one stateless task per segment file) beside
   * the running shards. Recovery verifies only what follows the last recovery point; this
   * reads everything, for operators who want to know the disk still holds what it was given.
   */
  async verifyStream(request: StreamReference): Promise<{ Shards: ShardVerification[] }> {
    const stream = this.stream(request);
    const shards = await Promise.all(
      this.visibleShards(stream).map(async (shard) => {
        const runtime = this.runtime(stream, shard);
        const tasks = segmentTasks(runtime.dir, runtime.reader.startOffset, runtime.committed.read().nextOffset);
        const results = await Promise.all(tasks.map((task) => this.verifier.run(task) as Promise<VerifyOutput>));
        const corrupt = results.flatMap((result, i) => (result.corruptAt === null ? [] : [{ Segment: path.basename(tasks[i]!.path), PositionBytes: result.corruptAt.positionBytes, Offset: result.corruptAt.offset }]));
        return { ShardId: shard.shardId, Segments: tasks.length, Batches: results.reduce((sum, r) => sum + r.batches, 0), Bytes: results.reduce((sum, r) => sum + r.bytes, 0), Corrupt: corrupt };
      }),
    );
    return { Shards: shards };
  }

  private get verifier(): Piscina {
    this.verifierPool ??= startVerifier();
    return this.verifierPool;
  }

  // ---- helpers ----

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the engine is closed');
  }

  /** The stream a request names, which must exist and not be being deleted. */
  private stream(request: StreamReference | undefined): StreamRecord {
    this.checkOpen();
    const name = streamNameOf(request);
    const stream = this.catalog.get(name);
    if (stream === undefined || stream.status === 'DELETING') {
      throw new ResourceNotFoundException(`Stream ${name} under account ${ACCOUNT_ID} not found.`);
    }
    return stream;
  }

  /**
   * The shards callers may see: a split or merge records its children in the catalog before
   * opening them (so a crash in between can finish the job), and they appear once open.
   */
  private visibleShards(stream: StreamRecord): ShardRecord[] {
    return stream.shards.filter((shard) => this.runtimes.has(ShardRuntime.keyOf(stream, shard)));
  }

  private runtime(stream: StreamRecord, shard: ShardRecord): ShardRuntime {
    const runtime = this.runtimes.get(ShardRuntime.keyOf(stream, shard));
    if (runtime === undefined) throw new ResourceNotFoundException(`Shard ${shard.shardId} is not available`);
    return runtime;
  }

  private async openShard(stream: StreamRecord, shard: ShardRecord): Promise<void> {
    const key = ShardRuntime.keyOf(stream, shard);
    const runtime = new ShardRuntime(stream, shard, this.catalog.shardDir(stream, shard), this.options, this.pool);
    await this.pool.request({
      kind: 'open',
      shardKey: key,
      dir: runtime.dir,
      options: { ...this.options.log, retentionMs: stream.retentionHours * HOUR_MS },
      committed: runtime.committed.shared,
      sealed: !isOpen(shard),
    });
    runtime.startReading();
    this.runtimes.set(key, runtime);
  }

  /** Stops appends to a shard and records where it ends (its EndingSequenceNumber). */
  private async sealShard(stream: StreamRecord, shard: ShardRecord): Promise<void> {
    // Puts routed to the shard before the router changed go out ahead of the seal.
    this.runtimes.get(ShardRuntime.keyOf(stream, shard))?.appender.flush();
    const { endOffset } = await this.pool.request<{ endOffset: number }>({ kind: 'seal', shardKey: ShardRuntime.keyOf(stream, shard) });
    shard.endOffset = endOffset;
    delete shard.closing;
    this.runtimes.get(ShardRuntime.keyOf(stream, shard))?.committed.wake(); // subscriptions see the end now
  }

  /** Rebuilds the hash key router of a stream from its open shards. */
  private route(stream: StreamRecord): void {
    const entries = stream.shards.filter(isOpen).map((shard) => ({ startingHashKey: BigInt(shard.startingHashKey), endingHashKey: BigInt(shard.endingHashKey), shard }));
    this.routers.set(stream.name, new HashKeyRouter(entries));
  }
}

export interface ShardVerification {
  readonly ShardId: string;
  readonly Segments: number;
  readonly Batches: number;
  readonly Bytes: number;
  /** The first invalid batch of each segment that has one. */
  readonly Corrupt: Array<{ readonly Segment: string; readonly PositionBytes: number; readonly Offset: number }>;
}

/** Records as GetRecords and SubscribeToShard return them: copied out of the mapping. */
function kinesisRecords(raw: RawRecords): { Records: KinesisRecord[]; MillisBehindLatest: number } {
  const stored = recordsOf(raw.read);
  const sequenceNumbers = new SequenceNumberRun(raw.shardSerial, raw.read.fromOffset);
  const Records = stored.map((record) => ({
    SequenceNumber: sequenceNumbers.at(record.offset),
    ApproximateArrivalTimestamp: new Date(record.timestampMs),
    Data: new Uint8Array(record.data),
    PartitionKey: record.partitionKey,
  }));
  return { Records, MillisBehindLatest: raw.millisBehindLatest };
}

/** Threads for verification: stateless jobs, never shard ownership. */
const VERIFY_THREADS_MAX = 2;

function startVerifier(): Piscina {
  const here = new URL(import.meta.url);
  if (!here.pathname.endsWith('.ts')) return new Piscina({ filename: new URL('../workers/verify_task.js', here).href, maxThreads: VERIFY_THREADS_MAX });
  // Running from the TypeScript sources (tests): the task module is loaded through a bootstrap
  // that registers tsx's loader first, as for the shard workers (see worker_pool.ts).
  // Piscina wants a file, and the bootstrap must sit where 'tsx' resolves: the package's own
  // node_modules/.cache.
  const task = new URL('../workers/verify_task.ts', here).href;
  const cacheDir = fileURLToPath(new URL('../../node_modules/.cache/shardline', here));
  fs.mkdirSync(cacheDir, { recursive: true });
  const bootstrap = path.join(cacheDir, 'verify_task.mjs');
  fs.writeFileSync(bootstrap, `import { register } from 'tsx/esm/api';\nregister();\nconst task = await import(${JSON.stringify(task)});\nexport default task.default;\n`);
  return new Piscina({ filename: bootstrap, maxThreads: VERIFY_THREADS_MAX });
}

/** One verification task per segment file of a shard, each bounded by the next one's base offset. */
function segmentTasks(dir: string, startOffset: number, endOffset: number): VerifyInput[] {
  const bases = fs
    .readdirSync(dir)
    .map(parseSegmentFileName)
    .filter((parsed) => parsed?.kind === 'log')
    .map((parsed) => parsed!.baseOffset)
    .sort((a, b) => a - b);
  return bases
    .map((base, i) => ({ path: segmentPaths(dir, base).log, baseOffset: base, endOffset: Math.min(bases[i + 1] ?? endOffset, endOffset) }))
    .filter((task) => task.endOffset > task.baseOffset && task.endOffset > startOffset);
}

/** Reads or creates the secret that signs shard iterators (so they survive restarts). */
function iteratorSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, SECRET_FILE);
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  return fs.readFileSync(file);
}

