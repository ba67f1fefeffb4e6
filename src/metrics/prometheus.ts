import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import type { EngineMetrics, ShardLevelMetric, ShardMetrics, StreamMetrics } from '../streams/metrics_types.js';
import { familyCollectors, type FamilySources } from './family_metrics.js';

/*
 * `GET /metrics` (docs/OPERATIONS.md, "Metrics"): CloudWatch's AWS/Kinesis metrics under
 * Prometheus names (one prefix, snake_case, base units: seconds and bytes, counters ending in
 * _total), read from one engine snapshot per scrape, so the put path counts plain numbers and
 * pays nothing for the library. The API histograms are fed as calls end (Engine.observeCalls).
 * Cardinality: `stream` takes the live streams' names; `shard` appears only on the
 * shardline_shard_* metrics of streams with enhanced monitoring, at most SHARD_SERIES_MAX shards
 * in all; `consumer` only registered consumers (20 a stream); `operation` and `outcome` are
 * fixed sets. Process and event-loop metrics are prom-client's defaults, under their usual names.
 */

type Labels = LabelValues<string>;
type Series = ReadonlyArray<readonly [Labels, number]>;

/** Shard-level series over all streams; the rest are left out and counted (shardline_metrics_series_omitted). */
export const SHARD_SERIES_MAX = 5_000;
/** The API histogram's buckets, in seconds: 50 µs to 10 s. */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const MS_PER_SECOND = 1000;

interface StreamCounter {
  readonly name: string;
  readonly help: string;
  /** Absent: `stream` alone. */
  readonly labels?: readonly string[];
  readonly value: (stream: StreamMetrics) => Series;
}

const STREAM_OUTCOME = ['stream', 'outcome'];
const STREAM_CONSUMER = ['stream', 'consumer'];

const byStream = (value: (stream: StreamMetrics) => number) => (stream: StreamMetrics) =>
  [[{ stream: stream.streamName }, value(stream)]] as const;

const STREAM_COUNTERS: readonly StreamCounter[] = [
  { name: 'incoming_bytes_total', help: 'IncomingBytes: bytes stored (data and partition key)', value: byStream((s) => s.incomingBytes) },
  { name: 'incoming_records_total', help: 'IncomingRecords: records stored', value: byStream((s) => s.incomingRecords) },
  { name: 'get_records_bytes_total', help: 'GetRecords.Bytes', value: byStream((s) => s.getRecordsBytes) },
  { name: 'get_records_records_total', help: 'GetRecords.Records', value: byStream((s) => s.getRecordsRecords) },
  { name: 'get_records_success_total', help: 'GetRecords.Success: calls answered', value: byStream((s) => s.getRecordsSuccess) },
  {
    name: 'write_throttled_records_total',
    help: 'WriteProvisionedThroughputExceeded: records refused by a shard write limit',
    value: byStream((s) => s.writeThrottledRecords),
  },
  {
    name: 'read_throttled_requests_total',
    help: 'ReadProvisionedThroughputExceeded: GetRecords calls refused by a shard read limit',
    value: byStream((s) => s.readThrottledRequests),
  },
  {
    name: 'put_record_requests_total',
    help: 'PutRecord calls by outcome (PutRecord.Success)',
    labels: STREAM_OUTCOME,
    value: (s) => [
      [{ stream: s.streamName, outcome: 'success' }, s.putRecordSuccess],
      [{ stream: s.streamName, outcome: 'failed' }, s.putRecordFailed],
    ],
  },
  { name: 'put_records_requests_total', help: 'PutRecords calls (and WebSocket PUT frames)', value: byStream((s) => s.putRecordsRequests) },
  {
    name: 'put_records_records_total',
    help: 'PutRecords records by outcome (PutRecords.SuccessfulRecords, .FailedRecords, .ThrottledRecords)',
    labels: STREAM_OUTCOME,
    value: (s) => [
      [
        { stream: s.streamName, outcome: 'successful' },
        s.putRecordsTotalRecords - s.putRecordsFailedRecords - s.putRecordsThrottledRecords,
      ],
      [{ stream: s.streamName, outcome: 'failed' }, s.putRecordsFailedRecords],
      [{ stream: s.streamName, outcome: 'throttled' }, s.putRecordsThrottledRecords],
    ],
  },
  {
    name: 'subscribe_to_shard_total',
    help: 'SubscribeToShard calls by outcome (.Success, .RateExceeded)',
    labels: ['stream', 'consumer', 'outcome'],
    value: (s) =>
      s.consumers.flatMap((c) => [
        [{ stream: s.streamName, consumer: c.consumerName, outcome: 'success' }, c.subscribeSuccess] as const,
        [{ stream: s.streamName, consumer: c.consumerName, outcome: 'rate_exceeded' }, c.subscribeRateExceeded] as const,
      ]),
  },
  {
    name: 'subscribe_to_shard_event_records_total',
    help: 'SubscribeToShardEvent.Records',
    labels: STREAM_CONSUMER,
    value: (s) => s.consumers.map((c) => [{ stream: s.streamName, consumer: c.consumerName }, c.eventRecords] as const),
  },
  {
    name: 'subscribe_to_shard_event_bytes_total',
    help: 'SubscribeToShardEvent.Bytes',
    labels: STREAM_CONSUMER,
    value: (s) => s.consumers.map((c) => [{ stream: s.streamName, consumer: c.consumerName }, c.eventBytes] as const),
  },
];

const STREAM_GAUGES: readonly StreamCounter[] = [
  {
    name: 'get_records_iterator_age_seconds',
    help: 'GetRecords.IteratorAgeMilliseconds: the largest over the shards of the age of the last record their latest read returned',
    value: byStream((s) => s.getRecordsIteratorAgeMs / MS_PER_SECOND),
  },
  {
    name: 'efo_millis_behind_latest_seconds',
    help: 'SubscribeToShardEvent.MillisBehindLatest of the latest event',
    labels: STREAM_CONSUMER,
    value: (s) =>
      s.consumers.map((c) => [{ stream: s.streamName, consumer: c.consumerName }, c.millisBehindLatest / MS_PER_SECOND] as const),
  },
  {
    name: 'stream_open_shards',
    help: 'Open shards of the stream',
    labels: ['stream', 'mode'],
    value: (s) => [[{ stream: s.streamName, mode: s.mode }, s.openShards]],
  },
  { name: 'stream_retention_seconds', help: 'The stream retention period', value: byStream((s) => s.retentionHours * 3600) },
];

interface ShardMetricDefinition {
  readonly metric: ShardLevelMetric;
  readonly name: string;
  readonly counter: boolean;
  readonly value: (shard: ShardMetrics) => number;
}

const SHARD_METRICS: readonly ShardMetricDefinition[] = [
  { metric: 'IncomingBytes', name: 'shard_incoming_bytes_total', counter: true, value: (s) => s.incomingBytes },
  { metric: 'IncomingRecords', name: 'shard_incoming_records_total', counter: true, value: (s) => s.incomingRecords },
  { metric: 'OutgoingBytes', name: 'shard_outgoing_bytes_total', counter: true, value: (s) => s.outgoingBytes },
  { metric: 'OutgoingRecords', name: 'shard_outgoing_records_total', counter: true, value: (s) => s.outgoingRecords },
  {
    metric: 'WriteProvisionedThroughputExceeded',
    name: 'shard_write_throttled_records_total',
    counter: true,
    value: (s) => s.writeThrottledRecords,
  },
  {
    metric: 'ReadProvisionedThroughputExceeded',
    name: 'shard_read_throttled_requests_total',
    counter: true,
    value: (s) => s.readThrottledRequests,
  },
  { metric: 'IteratorAgeMilliseconds', name: 'shard_iterator_age_seconds', counter: false, value: (s) => s.iteratorAgeMs / MS_PER_SECOND },
];

export class PrometheusExporter {
  readonly registry = new Registry();
  private snapshot: EngineMetrics | null = null;
  private omitted = 0;
  private readonly stopObserving: () => void;

  private constructor(
    private readonly engine: Engine,
    family: FamilySources,
  ) {
    collectDefaultMetrics({ register: this.registry });
    for (const definition of STREAM_COUNTERS)
      this.fromSnapshot(Counter, definition, (metrics) => metrics.streams.flatMap(definition.value));
    for (const definition of STREAM_GAUGES) this.fromSnapshot(Gauge, definition, (metrics) => metrics.streams.flatMap(definition.value));
    for (const definition of SHARD_METRICS)
      this.fromSnapshot(
        definition.counter ? Counter : Gauge,
        { ...definition, help: `shard-level ${definition.metric} (enhanced monitoring)`, labels: ['stream', 'shard'] },
        () => this.shardSeries(definition),
      );
    this.omittedGauge();
    const requests = new Counter({
      name: 'shardline_api_requests_total',
      help: 'API calls by operation and outcome (success, throttled, client_error, server_error)',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    const durations = new Histogram({
      name: 'shardline_api_request_duration_seconds',
      help: 'API call durations by operation, as the engine ran them',
      labelNames: ['operation'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.stopObserving = engine.observeCalls((operation, outcome, seconds) => {
      requests.inc({ operation, outcome });
      durations.observe({ operation }, seconds);
    });
    familyCollectors(this.registry, family);
  }

  /** An exporter of the engine's metrics and those of the family's parts that run beside it. */
  static create(engine: Engine, family: FamilySources = {}): PrometheusExporter {
    return new PrometheusExporter(engine, family);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition, from one snapshot of the engine. */
  async text(): Promise<string> {
    this.snapshot = this.engine.metrics();
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = null;
    }
  }

  close(): void {
    this.stopObserving();
    this.registry.clear();
  }

  private fromSnapshot(
    Type: typeof Counter | typeof Gauge,
    definition: { readonly name: string; readonly help: string; readonly labels?: readonly string[] },
    series: (metrics: EngineMetrics) => Series,
  ): void {
    const current = (): EngineMetrics | null => this.snapshot;
    new Type({
      name: `shardline_${definition.name}`,
      help: definition.help,
      labelNames: definition.labels ?? ['stream'],
      registers: [this.registry],
      collect(this: Counter | Gauge) {
        const metrics = current();
        this.reset();
        if (metrics === null) return;
        for (const [labels, value] of series(metrics)) {
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    });
  }

  private shardSeries(definition: ShardMetricDefinition): Series {
    const series: Array<readonly [Labels, number]> = [];
    let omitted = 0;
    for (const stream of this.snapshot?.streams ?? []) {
      if (!stream.shardLevelMetrics.includes(definition.metric)) continue;
      for (const shard of stream.shards) {
        if (series.length >= SHARD_SERIES_MAX) omitted++;
        else series.push([{ stream: stream.streamName, shard: shard.shardId }, definition.value(shard)]);
      }
    }
    this.omitted = Math.max(this.omitted, omitted);
    return series;
  }

  private omittedGauge(): void {
    const take = (): number => {
      const omitted = this.omitted;
      this.omitted = 0;
      return omitted;
    };
    new Gauge({
      name: 'shardline_metrics_series_omitted',
      help: `shard-level series left out of the last scrape (over ${SHARD_SERIES_MAX})`,
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(take());
      },
    });
  }
}
