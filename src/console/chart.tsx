import { useEffect, useId, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatValue } from './format.js';
import type { Series } from './metrics_history.js';

/*
 * One live chart: uPlot draws it on a canvas, which a screen reader cannot read, so beside it
 * each series' latest value is written out (and kept in data-last-value, which the tests read).
 * The chart is made once per set of series and fed new data as it comes.
 */

const CHART_HEIGHT_PX = 180;
/** Before the chart's box has a width (not laid out yet). */
const CHART_WIDTH_DEFAULT_PX = 480;
/** Distinct in hue and lightness, and readable on white. */
const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#8250df', '#bc4c00', '#0a7f8f', '#6e7781', '#bf3989'];

export interface ChartProps {
  readonly title: string;
  /** The values' unit, as the latest-value text names it (records/s, ms). */
  readonly unit: string;
  readonly labels: readonly string[];
  readonly data: Series;
}

export function Chart({ title, unit, labels, data }: ChartProps) {
  const captionId = useId();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labelsKey = labels.join('\n');
  useEffect(() => {
    const element = box.current!;
    const created = new uPlot(
      {
        width: element.clientWidth || CHART_WIDTH_DEFAULT_PX,
        height: CHART_HEIGHT_PX,
        series: [{}, ...labels.map((label, i) => ({ label, stroke: colorOf(i), width: 2 }))],
        axes: [{}, { size: 64, values: (_chart, splits) => splits.map((split) => formatValue(split)) }],
        // The values written out below are the legend, with the series' colours.
        legend: { show: false },
      },
      data,
      element,
    );
    plot.current = created;
    const resizes = new ResizeObserver(() =>
      created.setSize({ width: element.clientWidth || CHART_WIDTH_DEFAULT_PX, height: CHART_HEIGHT_PX }),
    );
    resizes.observe(element);
    return () => {
      resizes.disconnect();
      created.destroy();
      plot.current = null;
    };
    // Made again only when the series change; new data goes through setData below.
  }, [labelsKey]);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart" aria-labelledby={captionId} data-points={data[0].length}>
      <figcaption id={captionId}>{title}</figcaption>
      <div ref={box} class="chart-plot" aria-hidden="true" />
      <dl class="chart-latest">
        {labels.map((label, i) => {
          const latest = lastValue(data[i + 1] ?? []);
          return (
            <div key={label}>
              <dt>
                <span class="swatch" style={{ background: colorOf(i) }} aria-hidden="true" />
                {labels.length > 1 ? label : 'Latest'}
              </dt>
              <dd data-series={label} data-last-value={latest ?? ''}>
                {formatValue(latest)} {unit}
              </dd>
            </div>
          );
        })}
      </dl>
    </figure>
  );
}

function colorOf(series: number): string {
  return COLORS[series % COLORS.length]!;
}

function lastValue(values: ReadonlyArray<number | null>): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]!;
  return null;
}
