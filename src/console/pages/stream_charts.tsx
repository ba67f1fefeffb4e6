import { useMemo } from 'preact/hooks';
import type { EngineMetrics, ShardMetrics } from '../../streams/metrics_types.js';
import { Chart } from '../chart.js';
import { seriesOf, shardIdsIn, streamIn, type Series } from '../metrics_history.js';
import { useMetrics } from '../session.js';
import { Empty, ErrorNote } from '../ui.js';

/*
 * A stream's live charts from the metrics history: records/s, bytes/s, throttles/s (writes and
 * reads refused by the limits) and the iterator age of its reads; with enhanced monitoring the
 * same per shard (shard-level metrics exist only then).
 */

interface ChartSpec {
  readonly title: string;
  readonly unit: string;
  readonly labels: readonly string[];
  readonly data: Series;
}

type ShardCounter = Exclude<keyof ShardMetrics, 'shardId'>;

export function StreamCharts({ stream }: { stream: string }) {
  const { history, error } = useMetrics();
  const charts = useMemo(() => streamCharts(history, stream), [history, stream]);
  return (
    <>
      <ErrorNote error={error} context="Reading the metrics failed" />
      <div class="charts">
        {charts.map((chart) => (
          <Chart key={chart.title} {...chart} />
        ))}
      </div>
    </>
  );
}

export function ShardCharts({ stream }: { stream: string }) {
  const { history } = useMetrics();
  const charts = useMemo(() => shardCharts(history, stream), [history, stream]);
  if (charts === null) return <Empty>No shard has had traffic since enhanced monitoring was enabled.</Empty>;
  return (
    <div class="charts">
      {charts.map((chart) => (
        <Chart key={chart.title} {...chart} />
      ))}
    </div>
  );
}

function streamCharts(history: readonly EngineMetrics[], name: string): ChartSpec[] {
  const of = (snapshot: EngineMetrics) => streamIn(snapshot, name);
  return [
    {
      title: 'Incoming records per second',
      unit: 'records/s',
      labels: ['records/s'],
      data: seriesOf(history, [(snapshot) => of(snapshot)?.incomingRecords], 'rate'),
    },
    {
      title: 'Incoming bytes per second',
      unit: 'B/s',
      labels: ['bytes/s'],
      data: seriesOf(history, [(snapshot) => of(snapshot)?.incomingBytes], 'rate'),
    },
    {
      title: 'Throttles per second',
      unit: '/s',
      labels: ['write records', 'read requests'],
      data: seriesOf(
        history,
        [(snapshot) => of(snapshot)?.writeThrottledRecords, (snapshot) => of(snapshot)?.readThrottledRequests],
        'rate',
      ),
    },
    {
      title: 'Iterator age',
      unit: 'ms',
      labels: ['ms'],
      data: seriesOf(history, [(snapshot) => of(snapshot)?.getRecordsIteratorAgeMs], 'gauge'),
    },
  ];
}

/** Per shard, or null before any shard has metrics. */
function shardCharts(history: readonly EngineMetrics[], name: string): ChartSpec[] | null {
  const shardIds = shardIdsIn(history, name);
  if (shardIds.length === 0) return null;
  // A snapshot lists only the shards with traffic since monitoring began: absent there means 0, unless monitoring was off.
  const picks = (counter: ShardCounter) =>
    shardIds.map((shardId) => (snapshot: EngineMetrics) => {
      const stream = streamIn(snapshot, name);
      if (stream === undefined || stream.shardLevelMetrics.length === 0) return undefined;
      return stream.shards.find((shard) => shard.shardId === shardId)?.[counter] ?? 0;
    });
  return [
    {
      title: 'Incoming records per second, per shard',
      unit: 'records/s',
      labels: shardIds,
      data: seriesOf(history, picks('incomingRecords'), 'rate'),
    },
    {
      title: 'Incoming bytes per second, per shard',
      unit: 'B/s',
      labels: shardIds,
      data: seriesOf(history, picks('incomingBytes'), 'rate'),
    },
    { title: 'Iterator age, per shard', unit: 'ms', labels: shardIds, data: seriesOf(history, picks('iteratorAgeMs'), 'gauge') },
  ];
}
