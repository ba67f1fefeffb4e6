import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderComparisonReport, renderRunReport, writeReport } from '../../bench/suite/report.js';
import type { ComparisonResult } from '../../bench/suite/types.js';
import { comparisonFixture, FIXTURE_DISTRIBUTION_POINTS, FIXTURE_TIMELINE_POINTS, runResultFixture } from '../helpers/bench_results.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: the benchmark suite's HTML reports (bench/suite/report.ts) open from disk and draw every
// chart with every series, and text from the results cannot inject markup. Method: render
// synthetic results (test/helpers/bench_results.ts) to files, open them in headless Chromium
// over file://, wait for the page's charts-ready mark, then read each canvas's pixels and its
// Chart.js datasets in the page, and take a full-page screenshot. Nothing is mocked.

/** Chromium can take seconds to start on a loaded machine; these bound hangs, not speed. */
const SETUP_TIMEOUT_MS = 120_000;
const PAGE_TIMEOUT_MS = 60_000;
/** Room for two pages a test, each within PAGE_TIMEOUT_MS. */
const TEST_TIMEOUT_MS = 2 * PAGE_TIMEOUT_MS;
const VIEWPORT = { width: 1280, height: 900 };
/** A drawn chart paints axes, ticks, legend and lines: thousands of pixels; a blank one none. */
const PAINTED_PIXELS_MIN = 5_000;
/**
 * Axes, grid and text are grey; only the series and their legend swatches are saturated. The
 * swatches alone come to about a hundred pixels, the fixture's series to thousands.
 */
const COLORED_PIXELS_MIN = 1_500;
const COLOR_SPREAD_MIN = 60;
/** A page of tables and three charts; a blank page's PNG is a few kilobytes. */
const SCREENSHOT_BYTES_MIN = 50_000;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const NINES_LABELS = ['50%', '90%', '99%', '99.9%', '99.99%'];

interface DatasetReport {
  readonly label: string;
  readonly values: number;
  readonly nonNull: number;
  readonly elements: number;
}

interface CanvasReport {
  readonly id: string;
  readonly painted: number;
  readonly colored: number;
  readonly xTickLabels: string[];
  readonly datasets: DatasetReport[];
}

/** The page-side shapes the probe touches: this test is compiled without the DOM's types. */
interface ProbeCanvas {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, width: number, height: number): { readonly data: Uint8ClampedArray } } | null;
}

interface ProbeChart {
  readonly data: { readonly datasets: ReadonlyArray<{ readonly label: string; readonly data: readonly unknown[] }> };
  readonly scales: Record<string, { readonly ticks: ReadonlyArray<{ readonly label: string }> }>;
  getDatasetMeta(index: number): { readonly data: readonly unknown[] };
}

interface ProbeGlobals {
  readonly document: { querySelectorAll(selector: 'canvas'): Iterable<ProbeCanvas> };
  readonly Chart: { getChart(canvas: ProbeCanvas): ProbeChart | undefined };
}

/** Runs in the page: every canvas's painted and saturated pixels, x tick labels and datasets. */
function probeCanvases(colorSpreadMin: number): CanvasReport[] {
  const { document, Chart } = globalThis as unknown as ProbeGlobals;
  return Array.from(document.querySelectorAll('canvas'), (canvas) => {
    const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
    let painted = 0;
    let colored = 0;
    for (let i = 0; i + 3 < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i] ?? 0, pixels[i + 1] ?? 0, pixels[i + 2] ?? 0, pixels[i + 3] ?? 0];
      if (a === 0) continue;
      painted += 1;
      if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) >= colorSpreadMin) colored += 1;
    }
    const chart = Chart.getChart(canvas);
    const datasets = (chart?.data.datasets ?? []).map((dataset, index) => ({
      label: dataset.label,
      values: dataset.data.length,
      nonNull: dataset.data.filter((value) => value !== null && (typeof value !== 'object' || (value as { y: unknown }).y !== null)).length,
      elements: chart?.getDatasetMeta(index).data.length ?? 0,
    }));
    return { id: canvas.id, painted, colored, xTickLabels: (chart?.scales.x?.ticks ?? []).map((tick) => tick.label), datasets };
  });
}

interface OpenedReport {
  readonly page: Page;
  readonly chartsReady: string | null;
  readonly canvases: CanvasReport[];
  readonly screenshotBytes: Buffer;
  readonly errors: string[];
}

function expectDrawn(canvases: readonly CanvasReport[]): void {
  for (const canvas of canvases) {
    expect(canvas.painted, `${canvas.id} painted pixels`).toBeGreaterThan(PAINTED_PIXELS_MIN);
    expect(canvas.colored, `${canvas.id} series pixels`).toBeGreaterThan(COLORED_PIXELS_MIN);
    for (const dataset of canvas.datasets) expect(dataset.elements, `${canvas.id} ${dataset.label}`).toBe(dataset.values);
  }
}

function expectScreenshot(png: Buffer): void {
  expect([...png.subarray(0, PNG_SIGNATURE.length)]).toEqual(PNG_SIGNATURE);
  expect(png.length).toBeGreaterThan(SCREENSHOT_BYTES_MIN);
}

/** Each dataset as [label, values, values that are not null]. */
function datasetShape(canvas: CanvasReport | undefined): Array<[string, number, number]> {
  return (canvas?.datasets ?? []).map((d) => [d.label, d.values, d.nonNull]);
}

describe('the benchmark HTML reports in Chromium', () => {
  let browser: Browser | undefined;
  let outDir: ReturnType<typeof suiteTempDir> | undefined;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium (as .ci/run does)`);
    outDir = suiteTempDir('shardline-report-');
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: SETUP_TIMEOUT_MS });
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      outDir?.remove();
    }
  }, SETUP_TIMEOUT_MS);

  /** Writes the page to a file, opens it over file://, and reports what it drew. */
  async function openReport(html: string, name: string): Promise<OpenedReport> {
    const file = path.join(outDir!.dir, `${name}.html`);
    writeReport(html, file);
    // Pages stay open for the test to read further; closing the browser closes them.
    const page = await browser!.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    // A script error means the mark never comes: fail on the error itself rather than wait.
    const failed = new Promise<never>((_, reject) => page.once('pageerror', reject));
    const ready = page
      .goto(pathToFileURL(file).href, { timeout: PAGE_TIMEOUT_MS })
      .then(() => page.waitForSelector('body[data-charts-ready]', { timeout: PAGE_TIMEOUT_MS }));
    await Promise.race([ready, failed]);
    const chartsReady = await page.getAttribute('body', 'data-charts-ready');
    const canvases = await page.evaluate(probeCanvases, COLOR_SPREAD_MIN);
    const screenshotFile = path.join(outDir!.dir, `${name}.png`);
    await page.screenshot({ path: screenshotFile, fullPage: true, timeout: PAGE_TIMEOUT_MS });
    return { page, chartsReady, canvases, screenshotBytes: fs.readFileSync(screenshotFile), errors };
  }

  it(
    'a run report draws latency over time, the distribution and throughput, every series present',
    async () => {
      const report = await openReport(renderRunReport(runResultFixture({ findMax: true, limits: true })), 'run');
      expect(report.errors).toEqual([]);
      expect(report.chartsReady).toBe('3');
      expect(report.canvases.map((c) => c.id)).toEqual(['chart-latency-time', 'chart-distribution', 'chart-throughput']);
      expectDrawn(report.canvases);
      const [latency, distribution, throughput] = report.canvases;
      const n = FIXTURE_TIMELINE_POINTS;
      const percentiles = FIXTURE_DISTRIBUTION_POINTS;
      expect(datasetShape(latency)).toEqual(
        ['publish p50', 'publish p99', 'publish max', 'end-to-end p50', 'end-to-end p99', 'end-to-end max'].map((label) => [label, n, n]),
      );
      expect(datasetShape(distribution)).toEqual([
        ['publish', percentiles, percentiles],
        ['end-to-end', percentiles, percentiles],
      ]);
      expect(distribution?.xTickLabels).toEqual(NINES_LABELS);
      expect(datasetShape(throughput)).toEqual([
        ['records/s', n, n],
        ['MB/s', n, n],
      ]);
      const text = await report.page.innerText('body');
      for (const heading of ['Summary', 'Bounds', 'Find-max trials', 'Limits', 'Workload settings', 'Environment'])
        expect(text).toContain(heading);
      expect(text).toContain('MISSED');
      expect(text).toContain('acknowledged once written to the page cache');
      expectScreenshot(report.screenshotBytes);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a run without consumers leaves the end-to-end series out',
    async () => {
      const report = await openReport(renderRunReport(runResultFixture({ endToEnd: false })), 'run-no-consumers');
      expect(report.errors).toEqual([]);
      expect(report.chartsReady).toBe('3');
      expectDrawn(report.canvases);
      const [latency, distribution, throughput] = report.canvases;
      expect(latency?.datasets.map((d) => d.label)).toEqual(['publish p50', 'publish p99', 'publish max']);
      expect(distribution?.datasets.map((d) => d.label)).toEqual(['publish']);
      expect(throughput?.datasets).toHaveLength(2);
      const text = await report.page.innerText('body');
      expect(text).toContain('No consumers');
      expect(text).not.toContain('end to end');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a comparison report draws throughput and p99 bars and overlays every run's distribution",
    async () => {
      const comparison = comparisonFixture();
      const report = await openReport(renderComparisonReport(comparison), 'comparison');
      expect(report.errors).toEqual([]);
      expect(report.chartsReady).toBe('3');
      expect(report.canvases.map((c) => c.id)).toEqual(['chart-records', 'chart-p99', 'chart-distribution']);
      expectDrawn(report.canvases);
      const [records, p99, distribution] = report.canvases;
      const runs = comparison.runs.length;
      expect(datasetShape(records)).toEqual([['records/s', runs, runs]]);
      // The last run had no consumers: no end-to-end bar for it.
      expect(datasetShape(p99)).toEqual([
        ['publish p99', runs, runs],
        ['end-to-end p99', runs, runs - 1],
      ]);
      const percentiles = FIXTURE_DISTRIBUTION_POINTS;
      expect(datasetShape(distribution)).toEqual([
        ['shardline (end-to-end)', percentiles, percentiles],
        ['Redis Streams (end-to-end)', percentiles, percentiles],
        ['kinesalite (publish)', percentiles, percentiles],
      ]);
      expect(distribution?.xTickLabels).toEqual(NINES_LABELS);
      expect(await report.page.locator('table').first().locator('tbody tr').count()).toBe(runs);
      const text = await report.page.innerText('body');
      expect(text).toContain('1.6x Redis Streams (target 2x)');
      expect(text).toContain('MISSED');
      expectScreenshot(report.screenshotBytes);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'names with HTML in them are shown as text, in the page and in the chart data',
    async () => {
      const workloadName = '<img id="injected-workload" src="x" onerror="document.body.dataset.injected = 1"> & co';
      const systemName = '</script><b id="injected-system">bold</b>';
      const run = runResultFixture({ workloadName, systemName });
      const comparison: ComparisonResult = { ...comparisonFixture(), runs: [run, runResultFixture({ endToEnd: false })] };
      const reports = [
        await openReport(renderRunReport(run), 'escaped-run'),
        await openReport(renderComparisonReport(comparison), 'escaped-comparison'),
      ];
      for (const report of reports) {
        expect(report.errors).toEqual([]);
        expect(report.chartsReady).toBe('3');
        expect(await report.page.locator('#injected-workload, #injected-system').count()).toBe(0);
        expect(await report.page.getAttribute('body', 'data-injected')).toBeNull();
        expect(await report.page.innerText('h1')).toContain(workloadName);
        expect(await report.page.innerText('body')).toContain(systemName);
      }
      // The comparison's chart labels carry the system's name through the page's JSON.
      const distribution = reports[1]?.canvases.find((c) => c.id === 'chart-distribution');
      expect(distribution?.datasets[0]?.label).toBe(`${systemName} · ${workloadName} (end-to-end)`);
    },
    TEST_TIMEOUT_MS,
  );
});
