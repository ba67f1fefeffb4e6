/**
 * The benchmark suite's HTML reports: one page per run, one page comparing runs. Each page is a
 * single file with Chart.js and its data inlined, so that it opens from disk, offline, and can be
 * archived beside the run's JSON.
 *
 * Tables are rendered here. Charts are described here as plain data (ChartSpec, inlined as JSON)
 * and drawn in the page by a short script, because what Chart.js needs beyond data (callbacks
 * such as the nines axis's labels) cannot travel in JSON. Once every chart is drawn the page sets
 * body[data-charts-ready] to their number, for tests and screenshot tools to wait on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type {
  ComparisonResult,
  DistributionPoint,
  FsyncSetting,
  LatencySummary,
  RecordSize,
  RunResult,
  TimelinePoint,
  Workload,
} from './types.js';

const US_PER_MS = 1000;
/** Percentiles labelled on a nines axis; the ones past the data's last percentile are left off. */
const NINES_TICK_PERCENTILES = [50, 90, 99, 99.9, 99.99, 99.999];
/** The brief's minimum span for a nines axis, so that runs with short tails still compare. */
const NINES_AXIS_PERCENTILE_MIN = 99.99;
const PUBLISH_COLORS = { p50: '#08519c', p99: '#3182bd', max: '#6baed6' };
const END_TO_END_COLORS = { p50: '#a63603', p99: '#e6550d', max: '#fd8d3c' };
const DASH_MAX = [2, 3];
const DASH_P99 = [6, 4];
/** One color a run, in order; no greys, which the page's axes and text use. */
const RUN_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

// ---------------------------------------------------------------- chart specs

interface Tick {
  readonly value: number;
  readonly label: string;
}

interface Axis {
  readonly title: string;
  readonly log: boolean;
  readonly min: number | null;
  readonly max: number | null;
  /** Fixed tick positions and labels, for an axis whose values stand for something else. */
  readonly ticks: readonly Tick[] | null;
}

interface LineSeries {
  readonly label: string;
  readonly color: string;
  readonly dash: readonly number[];
  readonly rightAxis: boolean;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

interface LineChart {
  readonly kind: 'line';
  readonly id: string;
  readonly title: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly y2: Axis | null;
  readonly series: readonly LineSeries[];
}

interface BarSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
}

interface BarChart {
  readonly kind: 'bar';
  readonly id: string;
  readonly title: string;
  readonly labels: readonly string[];
  readonly y: Axis;
  readonly series: readonly BarSeries[];
}

type ChartSpec = LineChart | BarChart;

function axis(title: string, log = false): Axis {
  return { title, log, min: null, max: null, ticks: null };
}

/** x = -log10(1 - p/100): each further nine (90, 99, 99.9 ...) is one more unit to the right. */
function nines(percentile: number): number {
  return -Math.log10(1 - percentile / 100);
}

function ninesAxis(series: readonly (readonly DistributionPoint[])[]): Axis {
  const percentileMax = Math.max(
    NINES_AXIS_PERCENTILE_MIN,
    ...series
      .flat()
      .filter(isFinitePercentile)
      .map((point) => point.percentile),
  );
  const ticks = NINES_TICK_PERCENTILES.filter((p) => p <= percentileMax).map((p) => ({ value: nines(p), label: `${p}%` }));
  return { title: 'percentile', log: false, min: 0, max: nines(percentileMax), ticks };
}

/** 100% sits at infinity on a nines axis; the maximum is in the summary table instead. */
function isFinitePercentile(point: DistributionPoint): boolean {
  return point.percentile < 100;
}

/** A log axis has no zero: an interval without records shows as a gap. */
function logMs(us: number | null): number | null {
  return us === null || us <= 0 ? null : us / US_PER_MS;
}

function distributionSeries(label: string, color: string, points: readonly DistributionPoint[]): LineSeries {
  return {
    label,
    color,
    dash: [],
    rightAxis: false,
    points: points.filter(isFinitePercentile).map((point) => ({ x: nines(point.percentile), y: logMs(point.valueUs) })),
  };
}

function timelineSeries(
  label: string,
  color: string,
  dash: readonly number[],
  timeline: readonly TimelinePoint[],
  value: (point: TimelinePoint) => number | null,
): LineSeries {
  return { label, color, dash, rightAxis: false, points: timeline.map((point) => ({ x: point.t, y: logMs(value(point)) })) };
}

function latencyTimeChart(timeline: readonly TimelinePoint[]): LineChart {
  const series = [
    timelineSeries('publish p50', PUBLISH_COLORS.p50, [], timeline, (point) => point.publishP50Us),
    timelineSeries('publish p99', PUBLISH_COLORS.p99, DASH_P99, timeline, (point) => point.publishP99Us),
    timelineSeries('publish max', PUBLISH_COLORS.max, DASH_MAX, timeline, (point) => point.publishMaxUs),
  ];
  if (timeline.some((point) => point.endToEndP50Us !== null)) {
    series.push(
      timelineSeries('end-to-end p50', END_TO_END_COLORS.p50, [], timeline, (point) => point.endToEndP50Us),
      timelineSeries('end-to-end p99', END_TO_END_COLORS.p99, DASH_P99, timeline, (point) => point.endToEndP99Us),
      timelineSeries('end-to-end max', END_TO_END_COLORS.max, DASH_MAX, timeline, (point) => point.endToEndMaxUs),
    );
  }
  return {
    kind: 'line',
    id: 'chart-latency-time',
    title: 'Latency over time',
    x: axis('time (s)'),
    y: axis('latency (ms, log scale)', true),
    y2: null,
    series,
  };
}

function runDistributionChart({ publish, endToEnd }: RunResult['distribution']): LineChart {
  const series = [distributionSeries('publish', PUBLISH_COLORS.p99, publish)];
  if (endToEnd !== null) series.push(distributionSeries('end-to-end', END_TO_END_COLORS.p99, endToEnd));
  return {
    kind: 'line',
    id: 'chart-distribution',
    title: 'Latency distribution',
    x: ninesAxis(endToEnd === null ? [publish] : [publish, endToEnd]),
    y: axis('latency (ms, log scale)', true),
    y2: null,
    series,
  };
}

function throughputChart(timeline: readonly TimelinePoint[]): LineChart {
  const series: LineSeries[] = [
    {
      label: 'records/s',
      color: '#2ca02c',
      dash: [],
      rightAxis: false,
      points: timeline.map((point) => ({ x: point.t, y: point.recordsPerSec })),
    },
    { label: 'MB/s', color: '#9467bd', dash: DASH_P99, rightAxis: true, points: timeline.map((point) => ({ x: point.t, y: point.MBps })) },
  ];
  return {
    kind: 'line',
    id: 'chart-throughput',
    title: 'Throughput over time',
    x: axis('time (s)'),
    y: axis('records/s'),
    y2: axis('MB/s'),
    series,
  };
}

/** The distribution a run is best compared by: end to end where it was measured. */
function comparedDistribution(run: RunResult): { readonly which: string; readonly points: readonly DistributionPoint[] } {
  const { publish, endToEnd } = run.distribution;
  return endToEnd === null ? { which: 'publish', points: publish } : { which: 'end-to-end', points: endToEnd };
}

function comparisonCharts(runs: readonly RunResult[], labels: readonly string[]): ChartSpec[] {
  const p99Series: BarSeries[] = [
    { label: 'publish p99', color: PUBLISH_COLORS.p99, values: runs.map((run) => logMs(run.summary.publish.p99Us)) },
  ];
  if (runs.some((run) => run.summary.endToEnd !== null)) {
    p99Series.push({
      label: 'end-to-end p99',
      color: END_TO_END_COLORS.p99,
      values: runs.map((run) => logMs(run.summary.endToEnd?.p99Us ?? null)),
    });
  }
  const distributions = runs.map(comparedDistribution);
  const distributionLines = distributions.map(({ which, points }, i) =>
    distributionSeries(`${labels[i] ?? ''} (${which})`, RUN_COLORS[i % RUN_COLORS.length] ?? '#000', points),
  );
  return [
    {
      kind: 'bar',
      id: 'chart-records',
      title: 'Throughput',
      labels,
      y: { ...axis('records/s'), min: 0 },
      series: [{ label: 'records/s', color: '#2ca02c', values: runs.map((run) => run.summary.recordsPerSec) }],
    },
    { kind: 'bar', id: 'chart-p99', title: 'p99 latency', labels, y: axis('p99 latency (ms, log scale)', true), series: p99Series },
    {
      kind: 'line',
      id: 'chart-distribution',
      title: 'Latency distribution (end to end where measured, else publish)',
      x: ninesAxis(distributions.map((d) => d.points)),
      y: axis('latency (ms, log scale)', true),
      y2: null,
      series: distributionLines,
    },
  ];
}

// ---------------------------------------------------------------- the page

/** Turns each ChartSpec into a Chart.js config, draws it, then marks the body. */
const DRAW_CHARTS_JS = `(() => {
  const specs = JSON.parse(document.getElementById('report-data').textContent);
  const axis = (spec, position) => {
    const options = { type: spec.log ? 'logarithmic' : 'linear', position, title: { display: true, text: spec.title } };
    if (spec.min !== null) options.min = spec.min;
    if (spec.max !== null) options.max = spec.max;
    if (spec.log) {
      // Chart.js picks which log ticks to label, but labels them all with its smallest one's decimals ("200.0").
      options.ticks = { callback(value, index, ticks) { return Chart.Ticks.formatters.logarithmic.call(this, value, index, ticks) === '' ? '' : String(Number(value.toPrecision(3))); } };
    }
    if (spec.ticks !== null) {
      const labels = new Map(spec.ticks.map((tick) => [tick.value, tick.label]));
      // Chart.js would pick round numbers; this axis needs the spec's positions and labels.
      options.afterBuildTicks = (scale) => { scale.ticks = spec.ticks.map((tick) => ({ value: tick.value })); };
      options.ticks = { callback: (value) => labels.get(value) ?? '' };
    }
    return options;
  };
  const options = (spec, scales, legendLabels) => ({
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    plugins: { title: { display: true, text: spec.title, font: { size: 15 } }, legend: { position: 'top', labels: legendLabels } },
    scales,
  });
  const line = (spec) => ({
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({ label: s.label, data: s.points, borderColor: s.color, backgroundColor: s.color, borderDash: s.dash, borderWidth: 2, pointRadius: 0, yAxisID: s.rightAxis ? 'y2' : 'y' })),
    },
    options: options(spec, {
      x: axis(spec.x, 'bottom'),
      y: axis(spec.y, 'left'),
      ...(spec.y2 === null ? {} : { y2: { ...axis(spec.y2, 'right'), grid: { drawOnChartArea: false } } }),
    }, { usePointStyle: true, pointStyle: 'line' }),
  });
  const bar = (spec) => ({
    type: 'bar',
    data: { labels: spec.labels, datasets: spec.series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color })) },
    options: options(spec, { x: { type: 'category' }, y: axis(spec.y, 'left') }, {}),
  });
  let drawn = 0;
  for (const spec of specs) {
    // One broken chart should not take the others down; the count tells.
    try {
      new Chart(document.getElementById(spec.id), spec.kind === 'line' ? line(spec) : bar(spec));
      drawn += 1;
    } catch (error) {
      console.error('chart ' + spec.id + ' failed:', error);
    }
  }
  document.body.dataset.chartsReady = String(drawn);
})();`;

const STYLE_CSS = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.met { color: #1a7f37; }
.missed { color: #c62828; font-weight: bold; }
.chart { position: relative; height: 360px; margin: 16px 0; }
`;

let chartJsSource: string | null = null;

/** The Chart.js UMD build, read once from the installed package. */
function chartJs(): string {
  if (chartJsSource === null) {
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    chartJsSource = fs.readFileSync(file, 'utf8');
    // Inlined in a <script>, this text would end the element early.
    assert(!chartJsSource.includes('</script'), `${file} contains "</script"`);
  }
  return chartJsSource;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Every "<" as \u003c: still the same JSON, and nothing in it can close the script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function page(title: string, body: string, charts: readonly ChartSpec[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE_CSS}</style>
</head>
<body>
${body}
<script type="application/json" id="report-data">${scriptJson(charts)}</script>
<script>${chartJs()}</script>
<script>${DRAW_CHARTS_JS}</script>
</body>
</html>
`;
}

function chartBlocks(charts: readonly ChartSpec[]): string {
  return charts
    .map((chart) => `<div class="chart"><canvas id="${chart.id}" role="img" aria-label="${escapeHtml(chart.title)}"></canvas></div>`)
    .join('\n');
}

// ---------------------------------------------------------------- tables

/** A table cell's text (escaped when rendered), optionally with a class for its style. */
type Cell = string | { readonly text: string; readonly className: string };

function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (tag: 'th' | 'td', value: Cell): string =>
    typeof value === 'string'
      ? `<${tag}>${escapeHtml(value)}</${tag}>`
      : `<${tag} class="${value.className}">${escapeHtml(value.text)}</${tag}>`;
  const head = headers.length === 0 ? '' : `<thead><tr>${headers.map((h) => cell('th', h)).join('')}</tr></thead>`;
  const body = rows
    .map((row) => `<tr>${row.map((value, i) => cell(headers.length === 0 && i === 0 ? 'th' : 'td', value)).join('')}</tr>`)
    .join('\n');
  return `<table>${head}<tbody>${body}</tbody></table>`;
}

function keyValueTable(entries: readonly (readonly [string, Cell])[]): string {
  return table([], entries);
}

function num(text: string): Cell {
  return { text, className: 'num' };
}

function verdict(met: boolean, yes = 'met', no = 'MISSED'): Cell {
  return met ? { text: yes, className: 'met' } : { text: no, className: 'missed' };
}

function formatNumber(value: number, fractionDigits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits });
}

/** Three significant digits or so, whatever the magnitude. */
function formatMs(us: number): string {
  const ms = us / US_PER_MS;
  return formatNumber(ms, ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0);
}

function formatValue(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

const LATENCY_HEADERS = ['latency (ms)', 'count', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max'];

function latencyRow(label: string, s: LatencySummary): Cell[] {
  return [
    label,
    num(formatValue(s.count)),
    ...[s.meanUs, s.p50Us, s.p90Us, s.p99Us, s.p999Us, s.p9999Us, s.maxUs].map((us) => num(formatMs(us))),
  ];
}

function summarySection({ summary }: RunResult): string {
  const target = summary.targetRecordsPerSec === null ? 'max' : formatNumber(summary.targetRecordsPerSec, 0);
  const counts = table(
    ['measured (s)', 'target records/s', 'records', 'records/s', 'MB/s', 'consumed', 'throttled', 'errors'],
    [
      [
        num(formatValue(summary.seconds)),
        num(target),
        num(formatNumber(summary.records, 0)),
        num(formatNumber(summary.recordsPerSec, 0)),
        num(formatNumber(summary.MBps, 2)),
        num(formatNumber(summary.consumedRecords, 0)),
        num(formatNumber(summary.throttled, 0)),
        num(formatNumber(summary.errors, 0)),
      ],
    ],
  );
  const latencyRows = [latencyRow('publish', summary.publish)];
  if (summary.endToEnd !== null) latencyRows.push(latencyRow('end to end', summary.endToEnd));
  const noConsumers = summary.endToEnd === null ? '<p>No consumers: no end-to-end latency.</p>' : '';
  return `<h2>Summary</h2>\n${counts}\n${table(LATENCY_HEADERS, latencyRows)}\n${noConsumers}`;
}

function boundsSection({ bounds }: RunResult): string {
  if (bounds.length === 0) return '<h2>Bounds</h2>\n<p>No bounds set.</p>';
  const rows = bounds.map((b) => [
    b.name,
    num(`${formatValue(b.limit)} ${b.unit}`),
    num(`${formatValue(b.actual)} ${b.unit}`),
    verdict(b.met),
  ]);
  return `<h2>Bounds</h2>\n${table(['bound', 'limit', 'actual', 'verdict'], rows)}`;
}

function findMaxSection({ findMax }: RunResult): string {
  if (findMax === null) return '';
  const rows = findMax.trials.map((trial) => [
    num(formatNumber(trial.rate, 0)),
    num(formatNumber(trial.recordsPerSec, 0)),
    num(formatMs(trial.p99Us)),
    verdict(trial.sustained, 'yes', 'no'),
  ]);
  const found = `<p>Highest rate whose p99 stayed under ${formatValue(findMax.p99MaxMs)} ms: <strong>${formatNumber(findMax.maxSustainableRate, 0)} records/s</strong></p>`;
  return `<h2>Find-max trials</h2>\n${found}\n${table(['offered records/s', 'achieved records/s', 'p99 (ms)', 'sustained'], rows)}`;
}

function limitsSection({ limits }: RunResult): string {
  if (limits === null) return '';
  const entries: [string, Cell][] = [
    ['shards', formatValue(limits.shards)],
    ['offered', `${formatNumber(limits.offeredRecordsPerSec, 0)} records/s, ${formatNumber(limits.offeredMBps, 2)} MB/s`],
    ['accepted', `${formatNumber(limits.acceptedRecordsPerSec, 0)} records/s, ${formatNumber(limits.acceptedMBps, 2)} MB/s`],
    ['binding limit', limits.binding],
    ['accepted / limit', formatNumber(limits.ratioOfLimit, 3)],
    ['throttled', formatNumber(limits.throttled, 0)],
    ['lost (must be 0)', verdict(limits.lost === 0, '0', formatNumber(limits.lost, 0))],
  ];
  return `<h2>Limits</h2>\n${keyValueTable(entries)}`;
}

function formatRecordSize(size: RecordSize): string {
  return 'bytes' in size ? `${size.bytes} B` : `${size.min} to ${size.max} B, uniform`;
}

function formatFsync(fsync: FsyncSetting): string {
  return typeof fsync === 'string' ? fsync : `every ${fsync.intervalMs} ms`;
}

function workloadSection(w: Workload): string {
  const keys =
    w.partitionKeys.distribution === 'zipf'
      ? `${w.partitionKeys.count}, zipf (exponent ${w.partitionKeys.zipfExponent})`
      : `${w.partitionKeys.count}, uniform`;
  const findMax =
    w.findMax === null
      ? 'off'
      : `p99 under ${w.findMax.p99MaxMs} ms, ${w.findMax.startRate} to ${w.findMax.maxRate} records/s, ${w.findMax.trialSeconds} s trials, precision ${w.findMax.precision}`;
  const bounds = Object.entries(w.bounds).map(([name, value]) => `${name} ${String(value)}`);
  const entries: [string, string][] = [
    ['mode', w.mode],
    ['streams × shards', `${w.streams} × ${w.shardsPerStream} (${w.capacityMode})`],
    ['record size', formatRecordSize(w.recordSize)],
    ['partition keys', keys],
    ['producers', String(w.producers)],
    ['consumers', `${w.consumers} (${w.consumerMode})`],
    ['rate', w.rate === 'max' ? `max (${w.maxInFlight} in flight a producer)` : `${formatNumber(w.rate, 0)} records/s`],
    ['warmup, measured', `${w.warmupSeconds} s, ${w.durationSeconds} s`],
    ['fsync', formatFsync(w.fsync)],
    ['find-max', findMax],
    ['bounds', bounds.length === 0 ? 'none' : bounds.join(', ')],
  ];
  return `<h2>Workload settings</h2>\n<p>${escapeHtml(w.description)}</p>\n${keyValueTable(entries)}`;
}

function environmentSection(environment: Record<string, unknown>): string {
  const entries = Object.entries(environment).map(([key, value]): [string, string] => [
    key,
    typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)),
  ]);
  return `<h2>Environment</h2>\n${keyValueTable(entries)}`;
}

// ---------------------------------------------------------------- the reports

export function renderRunReport(result: RunResult): string {
  const { workload, system } = result;
  const charts = [latencyTimeChart(result.timeline), runDistributionChart(result.distribution), throughputChart(result.timeline)];
  const body = [
    `<h1>${escapeHtml(workload.name)} on ${escapeHtml(`${system.name} ${system.version}`)}</h1>`,
    `<p class="meta">Started ${escapeHtml(result.startedAt)}, ${escapeHtml(workload.mode)} mode</p>`,
    `<p><strong>Durability:</strong> ${escapeHtml(system.durability)}</p>`,
    summarySection(result),
    boundsSection(result),
    findMaxSection(result),
    limitsSection(result),
    `<h2>Charts</h2>\n${chartBlocks(charts)}`,
    workloadSection(workload),
    environmentSection(result.environment),
  ];
  return page(`${workload.name} on ${system.name}`, body.filter((part) => part !== '').join('\n'), charts);
}

/** Labels by system, adding the workload only when the runs ran different ones. */
function runLabels(runs: readonly RunResult[]): string[] {
  const oneWorkload = new Set(runs.map((run) => run.workload.name)).size <= 1;
  return runs.map((run) => (oneWorkload ? run.system.name : `${run.system.name} · ${run.workload.name}`));
}

function comparisonRow(run: RunResult, label: string): Cell[] {
  const { publish, endToEnd } = run.summary;
  const latencies = (s: LatencySummary | null): Cell[] =>
    (s === null ? ['—', '—', '—'] : [s.p50Us, s.p99Us, s.p999Us].map((us) => formatMs(us))).map(num);
  return [
    label,
    run.system.durability,
    num(formatNumber(run.summary.recordsPerSec, 0)),
    num(formatNumber(run.summary.MBps, 2)),
    ...latencies(publish),
    ...latencies(endToEnd),
  ];
}

function targetsSection({ targets }: ComparisonResult): string {
  if (targets.length === 0) return '<h2>Targets</h2>\n<p>No targets set.</p>';
  return `<h2>Targets</h2>\n${table(
    ['target', 'verdict', 'detail'],
    targets.map((t) => [t.name, verdict(t.met), t.detail]),
  )}`;
}

/** For each missed target, the profile of a repeat of its shardline run: where the time went. */
function profilesSection({ profiles }: ComparisonResult): string {
  if (profiles === undefined || profiles.length === 0) return '';
  const blocks = profiles.map((profile) => {
    const threads = profile.threads.map((thread) => {
      const share = (ms: number): string => `${((ms / Math.max(1, thread.busyMs)) * 100).toFixed(1)}%`;
      const caption = `<h4>${escapeHtml(thread.thread)}: busy ${(thread.busyMs / 1000).toFixed(1)} s of ${(thread.totalMs / 1000).toFixed(1)} s</h4>`;
      return `${caption}\n${table(
        ['self time (ms)', 'share of busy', 'function'],
        thread.top.map((entry) => [entry.ms.toFixed(0), share(entry.ms), entry.name]),
      )}`;
    });
    const heading = `<h3>${escapeHtml(profile.system)} on ${escapeHtml(profile.workload)}: ${escapeHtml(profile.reason)}</h3>`;
    return `${heading}\n<p>Profiles: ${escapeHtml(profile.dir)}</p>\n${threads.join('\n')}`;
  });
  return `<h2>Where the time goes</h2>\n<p>A repeat of each run behind a missed target, with the server under Node's sampling profiler.</p>\n${blocks.join('\n')}`;
}

export function renderComparisonReport(comparison: ComparisonResult): string {
  const { runs } = comparison;
  const labels = runLabels(runs);
  const charts = comparisonCharts(runs, labels);
  const headers = [
    'system',
    'durability',
    'records/s',
    'MB/s',
    'publish p50 (ms)',
    'publish p99',
    'publish p99.9',
    'end-to-end p50 (ms)',
    'end-to-end p99',
    'end-to-end p99.9',
  ];
  const workloads = [...new Set(runs.map((run) => run.workload.name))].join(', ');
  const body = [
    `<h1>Benchmark comparison: ${escapeHtml(workloads)}</h1>`,
    `<p class="meta">Started ${escapeHtml(comparison.startedAt)}, ${runs.length} runs</p>`,
    `<h2>Runs</h2>\n${table(
      headers,
      runs.map((run, i) => comparisonRow(run, labels[i] ?? '')),
    )}`,
    targetsSection(comparison),
    profilesSection(comparison),
    `<h2>Charts</h2>\n${chartBlocks(charts)}`,
    environmentSection(comparison.environment),
  ];
  return page(`shardline bench comparison: ${workloads}`, body.join('\n'), charts);
}

export function writeReport(html: string, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, html);
}
