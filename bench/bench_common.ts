/**
 * What every benchmark here shares: settings from the environment, the machine's description,
 * progress lines, latency summaries from HDR histograms, and the closing JSON line.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as hdr from 'hdr-histogram-js';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;
export const MB = 1e6;
const PROGRESS_EVERY_MS = 2000;

export function envNumber(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  const value = text === undefined || text === '' ? fallback : Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${text}`);
  return value;
}

/** The file after `--json` on the command line, if any. */
export function jsonPathArg(argv: readonly string[]): string | null {
  const index = argv.indexOf('--json');
  if (index < 0) return null;
  const file = argv[index + 1];
  if (file === undefined || file.startsWith('--')) throw new Error('--json needs a file name');
  return path.resolve(file);
}

function gitRevision(): string {
  try {
    // --dirty: figures from a tree with uncommitted changes say so.
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function environment(dataDir: string): Record<string, unknown> {
  const cpus = os.cpus();
  const stat = fs.statfsSync(dataDir);
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / GIB).toFixed(1)),
    gitRevision: gitRevision(),
    dataDir,
    dataDirFreeGiB: Number(((stat.bavail * stat.bsize) / GIB).toFixed(1)),
  };
}

export function echoEnvironment(title: string, env: Record<string, unknown>): void {
  console.log(`${title} (MB = 10^6 bytes)`);
  for (const [key, value] of Object.entries(env)) console.log(`  ${key}: ${String(value)}`);
}

/** Prints the result and, with --json, writes it; the JSON object is always the last line. */
export function finish(result: Record<string, unknown>, jsonPath: string | null): void {
  if (jsonPath !== null) fs.writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
}

export function patternBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? Math.round((numerator / denominator) * 1000) / 1000 : 0;
}

/** Prints rate lines every two seconds while a phase runs; the caller's loop drives it. */
export class Progress {
  private readonly start = performance.now();
  private nextPrint = this.start + PROGRESS_EVERY_MS;
  private lastTime = this.start;
  private lastRecords = 0;
  private lastBytes = 0;

  constructor(private readonly label: string) {}

  tick(records: number, bytes: number, latencyUs = -1): void {
    const now = performance.now();
    if (now < this.nextPrint) return;
    const seconds = (now - this.lastTime) / 1000;
    const recordsPerSec = (records - this.lastRecords) / seconds;
    const mbPerSec = (bytes - this.lastBytes) / MB / seconds;
    const latency = latencyUs < 0 ? '' : `, last latency ${latencyUs.toFixed(0)} us`;
    console.log(
      `  ${this.label}: ${((now - this.start) / 1000).toFixed(1)} s, ${Math.round(recordsPerSec)} records/s, ${mbPerSec.toFixed(1)} MB/s${latency}`,
    );
    this.nextPrint = now + PROGRESS_EVERY_MS;
    this.lastTime = now;
    this.lastRecords = records;
    this.lastBytes = bytes;
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly p9999Us: number;
  readonly maxUs: number;
}

/** Latencies in microseconds, 1 us to 100 s, 3 significant digits (hdr-histogram-js). */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64 });
}

export function summarizeHistogram(histogram: hdr.Histogram): LatencySummary {
  const at = (p: number): number => round1(histogram.getValueAtPercentile(p));
  return {
    count: histogram.totalCount,
    meanUs: round1(histogram.mean),
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    p9999Us: at(99.99),
    maxUs: round1(histogram.maxValue),
  };
}

export function formatLatency(label: string, summary: LatencySummary): string {
  const { count, p50Us, p90Us, p99Us, p999Us, maxUs } = summary;
  return `${label}: n=${count} p50=${p50Us}us p90=${p90Us}us p99=${p99Us}us p99.9=${p999Us}us max=${maxUs}us`;
}

const napWord = new Int32Array(new SharedArrayBuffer(4));
/** A nap never blocks the event loop longer than this: acks and records wait at most that long. */
const NAP_MS_MAX = 0.1;

/**
 * Sleeps until `untilMs` (at most NAP_MS_MAX) without spinning: a spinning load generator would
 * take a core from the system under test on a 2-core machine, and a timer cannot wait < 1 ms.
 */
export function napUntil(untilMs: number): void {
  const waitMs = Math.min(NAP_MS_MAX, untilMs - performance.now());
  if (waitMs > 0) Atomics.wait(napWord, 0, 0, waitMs);
}
