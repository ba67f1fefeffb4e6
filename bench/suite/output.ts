/**
 * What a run prints and keeps: a plain-text summary, the bound checks, and the result as JSON
 * beside its HTML report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LatencySummary } from '../bench_common.js';
import { renderComparisonReport, renderRunReport, writeReport } from './report.js';
import type { ComparisonResult, RunResult } from './types.js';

export function ms(micros: number): string {
  return (micros / 1000).toFixed(micros < 10_000 ? 2 : 1);
}

function latencyLine(label: string, summary: LatencySummary): string {
  return `  ${label}: p50 ${ms(summary.p50Us)} ms, p90 ${ms(summary.p90Us)}, p99 ${ms(summary.p99Us)}, p99.9 ${ms(summary.p999Us)}, p99.99 ${ms(summary.p9999Us)}, max ${ms(summary.maxUs)} ms (n=${summary.count})`;
}

export function printRun(result: RunResult): void {
  const { summary, system } = result;
  console.log(
    `${system.name} ${system.version}, ${result.workload.name}: ${summary.recordsPerSec} records/s, ${summary.MBps} MB/s over ${summary.seconds} s (${summary.records} records, ${summary.throttled} throttled, ${summary.errors} errors)`,
  );
  console.log(`  durability: ${system.durability}`);
  console.log(latencyLine('publish (put -> ack)', summary.publish));
  if (summary.endToEnd !== null) console.log(latencyLine(`end to end (put -> ${result.workload.consumerMode} consumer)`, summary.endToEnd));
  if (result.findMax !== null)
    console.log(
      `  max sustainable rate with p99 <= ${result.findMax.p99MaxMs} ms: ${result.findMax.maxSustainableRate} records/s (${result.findMax.trials.length} trials)`,
    );
  if (result.limits !== null) {
    const l = result.limits;
    console.log(
      `  limits: ${l.shards} shards offered ${l.offeredRecordsPerSec} records/s (${l.offeredMBps} MB/s), accepted ${l.acceptedRecordsPerSec} records/s (${l.acceptedMBps} MB/s): ${l.ratioOfLimit} of the ${l.binding} limit, ${l.throttled} throttled, ${l.lost} lost`,
    );
  }
  if (result.ceiling !== undefined)
    console.log(
      `  ceiling (the server under its own tool): ${result.ceiling.recordsPerSec} records/s (${result.ceiling.tool}, ${result.ceiling.records} records in ${result.ceiling.seconds} s)`,
    );
  for (const check of result.bounds)
    console.log(
      `  bound ${check.name}: ${check.met ? 'met' : 'MISSED'} (limit ${check.limit} ${check.unit}, actual ${round3(check.actual)} ${check.unit})`,
    );
  if (summary.firstError !== undefined) console.log(`  first error: ${summary.firstError}`);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function fileStamp(iso: string): string {
  return iso.replace(/[:.]/g, '-').replace(/Z$/, '');
}

/** Writes <out>/<time>-<workload>-<system>.json and .html; returns the HTML's path. */
export function saveRun(result: RunResult, outDir: string): Saved {
  const base = path.join(outDir, `${fileStamp(result.startedAt)}-${result.workload.name}-${result.system.name}`);
  return save(base, result, renderRunReport(result));
}

export function saveComparison(result: ComparisonResult, outDir: string): Saved {
  return save(path.join(outDir, `${fileStamp(result.startedAt)}-compare`), result, renderComparisonReport(result));
}

/** Where a result went: its JSON (what scripts read) and its HTML report. */
export interface Saved {
  readonly json: string;
  readonly html: string;
}

function save(base: string, result: object, html: string): Saved {
  fs.mkdirSync(path.dirname(base), { recursive: true });
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeReport(html, `${base}.html`);
  return { json: `${base}.json`, html: `${base}.html` };
}
