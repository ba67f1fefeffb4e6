import { ShardlineError } from '../errors.js';
import type { ShardLevelMetric, StreamMetrics, EngineMetrics, ShardMetrics, ConsumerMetrics } from '../streams/metrics_types.js';
import type { StreamView } from './catalog.js';

/*
 * What the engine meters (docs/OPERATIONS.md, "Metrics"): CloudWatch's stream-level metrics of
 * AWS/Kinesis, counted as the operations run, and the shard-level ones for streams with
 * enhanced monitoring. Plain numbers on this thread, no library on the put path: a scrape
 * (src/metrics/) reads a snapshot. The time integrals (open shards, consumers, extended
 * retention, on-demand hours) are what the cost estimate prices; they are charged up to now
 * before every change of a stream's shape (Catalog's onChange) and at each snapshot.
 * Counters start at zero when the engine opens, as a process's Prometheus counters do.
 */

const RETENTION_HOURS_INCLUDED = 24;
/** Kinesis' PUT payload unit, and on-demand's rounding of a record's data in. */
const PUT_PAYLOAD_UNIT_BYTES = 25 * 1024;
const ON_DEMAND_ROUNDING_BYTES = 1024;

function shardMeter(shardId: string): ShardMeter {
  return {
    shardId,
    incomingBytes: 0,
    incomingRecords: 0,
    outgoingBytes: 0,
    outgoingRecords: 0,
    writeThrottledRecords: 0,
    readThrottledRequests: 0,
    iteratorAgeMs: 0,
  };
}

function consumerMeter(consumerName: string): ConsumerMeter {
  return { consumerName, subscribeSuccess: 0, subscribeRateExceeded: 0, eventRecords: 0, eventBytes: 0, millisBehindLatest: 0 };
}

export interface MeasuredRecords {
  readonly records: number;
  readonly bytes: number;
  readonly units: number;
  readonly roundedBytes: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ShardMeter = Mutable<ShardMetrics>;
type ConsumerMeter = Mutable<ConsumerMetrics>;

interface StreamMeter {
  readonly metrics: Mutable<StreamMetrics>;
  readonly shards: Map<string, ShardMeter>;
  readonly consumers: Map<string, ConsumerMeter>;
  /** Per shard: the age of the last record the latest GetRecords returned (0 when caught up). */
  readonly iteratorAges: Map<string, number>;
  accruedAtMs: number;
}

/** A call's outcome as the API metrics label it (a bounded set: docs/OPERATIONS.md). */
export type CallOutcome = 'success' | 'throttled' | 'client_error' | 'server_error';
export type CallListener = (operation: string, outcome: CallOutcome, seconds: number) => void;

export function outcomeOf(error: unknown): CallOutcome {
  if (error instanceof ShardlineError) {
    if (error.code === 'ProvisionedThroughputExceededException' || error.code === 'LimitExceededException') return 'throttled';
    return error.fault === 'client' ? 'client_error' : 'server_error';
  }
  return 'server_error';
}

export class Metering {
  private readonly meters = new Map<string, StreamMeter>();
  private readonly callListeners = new Set<CallListener>();
  private readonly startedAtMs: number;

  constructor(
    private readonly clock: () => number,
    /** false: nothing is counted (bench:engine's baseline). */
    readonly enabled: boolean,
  ) {
    this.startedAtMs = clock();
  }

  /** Hears every operation's outcome and duration from now on (the Prometheus histograms); returns the way to stop. */
  observeCalls(listener: CallListener): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  /** Runs an operation, timed for the call listeners if there are any. */
  call<T>(operation: string, run: () => T): T {
    if (this.callListeners.size === 0) return run();
    const startedAt = performance.now();
    const done = (outcome: CallOutcome): void => {
      const seconds = (performance.now() - startedAt) / 1000;
      for (const listener of this.callListeners) listener(operation, outcome, seconds);
    };
    let result: T;
    try {
      result = run();
    } catch (error) {
      done(outcomeOf(error));
      throw error;
    }
    if (result instanceof Promise)
      result.then(
        () => done('success'),
        (error: unknown) => done(outcomeOf(error)),
      );
    else done('success');
    return result;
  }

  /**
   * The sizes of records about to be stored (data and partition key, as Kinesis counts them),
   * taken while the staging area still holds them; null when metering is off.
   */
  measure(payloadBytes: ArrayLike<number>, indices: readonly number[]): MeasuredRecords | null {
    if (!this.enabled) return null;
    let bytes = 0;
    let units = 0;
    let roundedBytes = 0;
    for (const index of indices) {
      const size = payloadBytes[index]!;
      bytes += size;
      units += Math.max(1, Math.ceil(size / PUT_PAYLOAD_UNIT_BYTES));
      roundedBytes += Math.max(1, Math.ceil(size / ON_DEMAND_ROUNDING_BYTES)) * ON_DEMAND_ROUNDING_BYTES;
    }
    return { records: indices.length, bytes, units, roundedBytes };
  }

  /** Records a shard stored (measured before). */
  stored(stream: StreamView, shardId: string, measured: MeasuredRecords | null): void {
    if (measured === null) return;
    const meter = this.meterOf(stream);
    const metrics = meter.metrics;
    metrics.incomingBytes += measured.bytes;
    metrics.incomingRecords += measured.records;
    metrics.putPayloadUnits += measured.units;
    metrics.onDemandIncomingBytes += measured.roundedBytes;
    const shard = this.shardOf(meter, stream, shardId);
    if (shard !== null) {
      shard.incomingBytes += measured.bytes;
      shard.incomingRecords += measured.records;
    }
  }

  writeThrottled(stream: StreamView, shardId: string, records: number): void {
    if (!this.enabled) return;
    const meter = this.meterOf(stream);
    meter.metrics.writeThrottledRecords += records;
    const shard = this.shardOf(meter, stream, shardId);
    if (shard !== null) shard.writeThrottledRecords += records;
  }

  /** A PutRecord or PutRecords call's outcome per record (the network's PUT counts as PutRecords). */
  putCall(stream: StreamView, single: boolean, total: number, failed: number, throttled: number): void {
    if (!this.enabled) return;
    const metrics = this.meterOf(stream).metrics;
    if (single) {
      if (failed === 0) metrics.putRecordSuccess += 1;
      else metrics.putRecordFailed += 1;
      return;
    }
    metrics.putRecordsRequests += 1;
    metrics.putRecordsTotalRecords += total;
    metrics.putRecordsFailedRecords += failed - throttled;
    metrics.putRecordsThrottledRecords += throttled;
  }

  /** A GetRecords answered: `lastArrivalMs` of its last record, -1 if it returned none. */
  read(stream: StreamView, shardId: string, records: number, bytes: number, lastArrivalMs: number): void {
    if (!this.enabled) return;
    const meter = this.meterOf(stream);
    const age = lastArrivalMs < 0 ? 0 : Math.max(0, this.clock() - lastArrivalMs);
    meter.metrics.getRecordsSuccess += 1;
    meter.metrics.getRecordsRecords += records;
    meter.metrics.getRecordsBytes += bytes;
    meter.iteratorAges.set(shardId, age);
    const shard = this.shardOf(meter, stream, shardId);
    if (shard !== null) {
      shard.outgoingBytes += bytes;
      shard.outgoingRecords += records;
      shard.iteratorAgeMs = age;
    }
  }

  readThrottled(stream: StreamView, shardId: string): void {
    if (!this.enabled) return;
    const meter = this.meterOf(stream);
    meter.metrics.readThrottledRequests += 1;
    const shard = this.shardOf(meter, stream, shardId);
    if (shard !== null) shard.readThrottledRequests += 1;
  }

  subscribed(stream: StreamView, consumerName: string, outcome: 'success' | 'rateExceeded'): void {
    if (!this.enabled) return;
    const consumer = this.consumerOf(this.meterOf(stream), consumerName);
    if (outcome === 'success') consumer.subscribeSuccess += 1;
    else consumer.subscribeRateExceeded += 1;
  }

  /** A SubscribeToShard event sent (records or a heartbeat); EFO's records count as the shard's outgoing too. */
  pushed(stream: StreamView, shardId: string, consumerName: string, records: number, bytes: number, millisBehindLatest: number): void {
    if (!this.enabled) return;
    const meter = this.meterOf(stream);
    const consumer = this.consumerOf(meter, consumerName);
    consumer.eventRecords += records;
    consumer.eventBytes += bytes;
    consumer.millisBehindLatest = millisBehindLatest;
    const shard = this.shardOf(meter, stream, shardId);
    if (shard !== null) {
      shard.outgoingBytes += bytes;
      shard.outgoingRecords += records;
    }
  }

  /** Charges the stream's shape (open shards, consumers, retention, mode) up to now; called before it changes. */
  accrue(stream: StreamView): void {
    if (!this.enabled) return;
    const meter = this.meterOf(stream);
    const nowMs = this.clock();
    const elapsedMs = Math.max(0, nowMs - meter.accruedAtMs);
    meter.accruedAtMs = nowMs;
    if (elapsedMs === 0) return;
    const openShards = stream.shards.filter((shard) => shard.endOffset === undefined).length;
    const metrics = meter.metrics;
    metrics.observedMs += elapsedMs;
    metrics.shardMs += openShards * elapsedMs;
    metrics.consumerShardMs += stream.consumers.length * openShards * elapsedMs;
    if (stream.retentionHours > RETENTION_HOURS_INCLUDED) metrics.extendedRetentionShardMs += openShards * elapsedMs;
    if (stream.mode === 'ON_DEMAND') metrics.onDemandMs += elapsedMs;
  }

  /** A deleted stream's meters go (its counters with it, as its Prometheus series do). */
  forget(stream: StreamView): void {
    this.meters.delete(stream.id);
  }

  /** Every live stream's metrics now; shard-level ones only where enhanced monitoring names them. */
  snapshot(streams: readonly StreamView[]): EngineMetrics {
    const atMs = this.clock();
    const result: StreamMetrics[] = [];
    for (const stream of streams) {
      if (stream.status === 'DELETING') continue;
      this.accrue(stream);
      const meter = this.meterOf(stream);
      let iteratorAgeMs = 0;
      for (const age of meter.iteratorAges.values()) iteratorAgeMs = Math.max(iteratorAgeMs, age);
      result.push({
        ...meter.metrics,
        streamName: stream.name,
        mode: stream.mode,
        retentionHours: stream.retentionHours,
        openShards: stream.shards.filter((shard) => shard.endOffset === undefined).length,
        shardLevelMetrics: [...(stream.shardLevelMetrics ?? [])],
        getRecordsIteratorAgeMs: iteratorAgeMs,
        shards: [...meter.shards.values()].map((shard) => ({ ...shard })),
        consumers: stream.consumers.map((consumer) => ({
          ...(meter.consumers.get(consumer.consumerName) ?? consumerMeter(consumer.consumerName)),
        })),
      });
    }
    return { atMs, sinceMs: this.startedAtMs, enabled: this.enabled, streams: result };
  }

  private meterOf(stream: StreamView): StreamMeter {
    let meter = this.meters.get(stream.id);
    if (meter === undefined) {
      meter = newMeter(Math.max(this.startedAtMs, stream.createdAtMs));
      this.meters.set(stream.id, meter);
    }
    return meter;
  }

  /** The shard's meter if the stream has enhanced monitoring on (any metric: each is shown only if named). */
  private shardOf(meter: StreamMeter, stream: StreamView, shardId: string): ShardMeter | null {
    const levels = stream.shardLevelMetrics;
    if (levels === undefined || levels.length === 0) return null;
    let shard = meter.shards.get(shardId);
    if (shard === undefined) {
      shard = shardMeter(shardId);
      meter.shards.set(shardId, shard);
    }
    return shard;
  }

  private consumerOf(meter: StreamMeter, consumerName: string): ConsumerMeter {
    let consumer = meter.consumers.get(consumerName);
    if (consumer === undefined) {
      consumer = consumerMeter(consumerName);
      meter.consumers.set(consumerName, consumer);
    }
    return consumer;
  }
}

function newMeter(accruedAtMs: number): StreamMeter {
  return {
    metrics: {
      streamName: '',
      mode: 'PROVISIONED',
      retentionHours: RETENTION_HOURS_INCLUDED,
      openShards: 0,
      shardLevelMetrics: [] as ShardLevelMetric[],
      incomingBytes: 0,
      incomingRecords: 0,
      writeThrottledRecords: 0,
      readThrottledRequests: 0,
      putRecordSuccess: 0,
      putRecordFailed: 0,
      putRecordsRequests: 0,
      putRecordsTotalRecords: 0,
      putRecordsFailedRecords: 0,
      putRecordsThrottledRecords: 0,
      getRecordsSuccess: 0,
      getRecordsRecords: 0,
      getRecordsBytes: 0,
      getRecordsIteratorAgeMs: 0,
      putPayloadUnits: 0,
      onDemandIncomingBytes: 0,
      observedMs: 0,
      shardMs: 0,
      consumerShardMs: 0,
      extendedRetentionShardMs: 0,
      onDemandMs: 0,
      shards: [],
      consumers: [],
    },
    shards: new Map(),
    consumers: new Map(),
    iteratorAges: new Map(),
    accruedAtMs,
  };
}
