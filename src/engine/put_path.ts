import assert from 'node:assert/strict';
import { describeError, errorFromCode } from '../errors.js';
import { HASH_KEY_WORDS } from '../streams/hash_key.js';
import { ACCOUNT_ID, type StreamReference } from '../streams/kinesis_shapes.js';
import { SequenceNumberRun } from '../streams/sequence_number.js';
import { ShardSealedError } from '../workers/channel.js';
import type {
  PutRecordInput,
  PutRecordOutput,
  PutRecordsInput,
  PutRecordsOutput,
  PutRecordsRequestEntry,
  PutRecordsResultEntry,
} from '../streams/api_types.js';
import type { ShardView, StreamView } from './catalog.js';
import type { EncodedPutRequest, EncodedPutResult } from './data_path.js';
import { refuseDryRun, type EngineContext } from './engine_context.js';
import { PUT_RECORD_NAMES, PUT_RECORDS_NAMES, PutStaging, type EntryNames } from './put_staging.js';
import { holdsHashKey } from './shard_registry.js';

/** A put that meets a shard sealed by a concurrent split or merge is routed again, this often at most. */
const REROUTES_MAX = 8;
const THROTTLED = 'ProvisionedThroughputExceededException';

interface PutOutcome {
  readonly runs: Array<{ readonly shardId: string; readonly serial: number; readonly firstOffset: number; readonly indices: number[] }>;
  readonly failures: Array<{ readonly indices: number[]; readonly code: string; readonly message: string }>;
  /** Staged records that met a sealed shard: nothing of them was stored; route them again. */
  readonly sealed: number[];
}

/**
 * The put path (Kafka's appendRecords): a request's records are validated and encoded once
 * (PutStaging), routed by hash key to the open shard whose range holds it, held to the shard's
 * write limits, and copied into the shard's batch of this event-loop turn (ShardAppender), all
 * in one synchronous step; each shard's worker answers for its batch.
 */
export class PutPath {
  private readonly staging = new PutStaging();

  constructor(
    private readonly context: EngineContext,
    /** Called after each shard's records were stored (ON_DEMAND scaling watches it). */
    private readonly onStored: (stream: StreamView, shard: ShardView) => void,
  ) {}

  async putRecord(request: PutRecordInput): Promise<PutRecordOutput> {
    const result = await this.put(request, [request], PUT_RECORD_NAMES);
    const entry = result.Records[0]!;
    if ('ErrorCode' in entry) throw errorFromCode(entry.ErrorCode, entry.ErrorMessage);
    return { ShardId: entry.ShardId, SequenceNumber: entry.SequenceNumber, EncryptionType: result.EncryptionType };
  }

  /**
   * Puts records; each entry succeeds or fails on its own (ProvisionedThroughputExceeded when a
   * shard is over its limit, InternalFailure when its worker restarted). Records to one shard
   * keep their order.
   */
  putRecords(request: PutRecordsInput): Promise<PutRecordsOutput> {
    return this.put(request, request.Records, PUT_RECORDS_NAMES);
  }

  /**
   * Puts records that arrive already encoded (the network's PUT, docs/PROTOCOL.md). They are
   * validated as putRecords validates its entries (nothing stored on an error), routed and
   * handed to the shards before this returns its promise, so the caller's buffers may be reused
   * at once. Records that meet a shard sealed by a concurrent split or merge fail with a
   * retriable InternalFailure.
   */
  putEncoded(request: EncodedPutRequest): Promise<EncodedPutResult> {
    const stream = this.context.dataStream(
      request.stream.startsWith('arn:') ? { StreamARN: request.stream } : { StreamName: request.stream },
    );
    this.context.keys.checkWritable(stream);
    const recovering = this.context.shards.streamReady(stream);
    if (recovering !== null) {
      // The caller may reuse its buffers once this returns: the records wait as a copy.
      const copy = { ...request, records: request.records.slice(), hashKeys: request.hashKeys.slice() };
      return recovering.then(() => this.putEncoded(copy));
    }
    this.staging.stageEncoded(request.records, request.recordCount, request.hashKeys);
    return this.putStaged(stream).then((outcome) => {
      const failed = outcome.sealed.length + outcome.failures.reduce((count, failure) => count + failure.indices.length, 0);
      const throttled = outcome.failures.reduce((count, failure) => count + (failure.code === THROTTLED ? failure.indices.length : 0), 0);
      this.context.meter.putCall(stream, false, request.recordCount, failed, throttled);
      return {
        runs: outcome.runs,
        failures: [
          ...outcome.failures,
          ...(outcome.sealed.length === 0
            ? []
            : [{ indices: outcome.sealed, code: 'InternalFailure', message: 'the shard was split or merged during the put: retry' }]),
        ],
      };
    });
  }

  /** Stages, stores, and routes again (up to REROUTES_MAX times) what met a sealed shard. */
  private async put(
    request: StreamReference & { readonly DryRun?: boolean | undefined },
    entries: readonly PutRecordsRequestEntry[],
    names: EntryNames,
  ): Promise<PutRecordsOutput> {
    const stream = this.context.dataStream(request);
    this.context.keys.checkWritable(stream);
    // Before staging: the staging area is this thread's, and free again only when putStaged returns.
    const recovering = this.context.shards.streamReady(stream);
    if (recovering !== null) await recovering;
    this.staging.stage(entries, undefined, names);
    refuseDryRun(request);
    const results: PutRecordsResultEntry[] = new Array(entries.length);
    let origins: readonly number[] | null = null;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.putStaged(stream);
      const origin = (i: number): number => (origins === null ? i : origins[i]!);
      recordOutcome(outcome, origin, results);
      if (outcome.sealed.length === 0) break;
      origins = outcome.sealed.map(origin);
      if (attempt + 1 >= REROUTES_MAX) {
        for (const index of origins)
          results[index] = { ErrorCode: 'InternalFailure', ErrorMessage: 'the shard was resharded too often during the put' };
        break;
      }
      this.staging.stage(
        origins.map((index) => entries[index]!),
        origins.map((index) => index + 1),
        names,
      );
    }
    const failed = results.reduce((count, result) => count + ('ErrorCode' in result ? 1 : 0), 0);
    const throttled = results.reduce((count, result) => count + ('ErrorCode' in result && result.ErrorCode === THROTTLED ? 1 : 0), 0);
    this.context.meter.putCall(stream, names === PUT_RECORD_NAMES, entries.length, failed, throttled);
    return { FailedRecordCount: failed, Records: results, EncryptionType: stream.encryption === undefined ? 'NONE' : 'KMS' };
  }

  /**
   * Routes the staged records and hands each shard's records to its appender, synchronously,
   * so the staging area is free again when this returns. Resolves with where each shard's
   * records went, which failed, and which met a shard a concurrent split or merge had sealed
   * (to route again). Indices are the staged records'.
   */
  private putStaged(stream: StreamView): Promise<PutOutcome> {
    const groups = this.route(stream);
    const outcome: PutOutcome = { runs: [], failures: [], sealed: [] };
    const appends = [...groups].map(([shard, group]) => {
      const admitted = this.admit(stream, shard, group, outcome);
      if (admitted.length === 0) return undefined;
      const measured = this.context.meter.measure(this.staging.payloadBytes, admitted);
      return this.context.shards
        .runtime(stream, shard)
        .appender.append(this.staging, admitted)
        .then(
          (firstOffset) => {
            outcome.runs.push({ shardId: shard.shardId, serial: shard.serial, firstOffset, indices: admitted });
            this.context.meter.stored(stream, shard.shardId, measured);
            this.onStored(stream, shard);
          },
          (error: unknown) => {
            if (error instanceof ShardSealedError) {
              outcome.sealed.push(...admitted);
              return;
            }
            const { code, message } = describeError(error);
            outcome.failures.push({ indices: admitted, code, message });
          },
        );
    });
    return Promise.all(appends).then(() => {
      outcome.sealed.sort((a, b) => a - b);
      return outcome;
    });
  }

  /** The staged records grouped by the open shard whose hash key range holds each. */
  private route(stream: StreamView): Map<ShardView, number[]> {
    const router = this.context.shards.router(stream);
    const words = this.staging.hashKeyWords;
    const groups = new Map<ShardView, number[]>();
    for (let i = 0; i < this.staging.count; i++) {
      const entry = router.routeWords(words, i * HASH_KEY_WORDS);
      assert(holdsHashKey(entry, words, i * HASH_KEY_WORDS), 'a record was routed to a shard whose range does not hold its hash key');
      const group = groups.get(entry.shard);
      if (group === undefined) groups.set(entry.shard, [i]);
      else group.push(i);
    }
    return groups;
  }

  /** Applies the shard's write limits to staged records; the rejected ones go to the outcome's failures. */
  private admit(stream: StreamView, shard: ShardView, group: number[], outcome: PutOutcome): number[] {
    const { options } = this.context;
    if (!options.enforceLimits) return group;
    const runtime = this.context.shards.runtime(stream, shard);
    const decisions = runtime.throughput.admitRecords(
      group.map((i) => this.staging.payloadBytes[i]!),
      options.clock(),
    );
    const rejected = group.filter((_, j) => !decisions[j]);
    if (rejected.length > 0) {
      this.context.meter.writeThrottled(stream, shard.shardId, rejected.length);
      outcome.failures.push({
        indices: rejected,
        code: THROTTLED,
        message: `Rate exceeded for shard ${shard.shardId} in stream ${stream.name} under account ${ACCOUNT_ID}.`,
      });
    }
    return rejected.length === 0 ? group : group.filter((_, j) => decisions[j]);
  }
}

/** Writes a put's outcome into the per-entry results; `origin` maps staged indices to the request's. */
function recordOutcome(outcome: PutOutcome, origin: (i: number) => number, results: PutRecordsResultEntry[]): void {
  for (const run of outcome.runs) {
    const sequenceNumbers = new SequenceNumberRun(run.serial, run.firstOffset);
    run.indices.forEach(
      (index, j) => (results[origin(index)] = { SequenceNumber: sequenceNumbers.at(run.firstOffset + j), ShardId: run.shardId }),
    );
  }
  for (const failure of outcome.failures)
    for (const index of failure.indices) results[origin(index)] = { ErrorCode: failure.code, ErrorMessage: failure.message };
}
