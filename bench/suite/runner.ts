/**
 * Runs a workload against one system in its mode (fixed rate, find-max, limits) and turns what
 * the phases observed into a RunResult: summary, per-second timeline, distributions and the
 * workload's bounds, each checked.
 */
import { MB, MIB, round1, summarizeHistogram } from '../bench_common.js';
import { runPhase, type PhaseOutcome } from './phase.js';
import { distributionOf } from './recorder.js';
import { meanRecordBytes } from './records.js';
import type { BoundCheck, FindMaxResult, FindMaxTrial, LimitsResult, RunResult, Summary, SystemUnderTest, Workload } from './types.js';

/** Kinesis' per-shard write limits, which PROVISIONED streams enforce. */
const SHARD_RECORDS_PER_SEC = 1000;
const SHARD_BYTES_PER_SEC = MIB;
/** limits mode offers this multiple of the binding limit. */
const LIMITS_OFFER = 2;
const LIMITS_TOLERANCE = 0.05;
/** A trial sustains its rate when it delivers at least this share of it. */
const SUSTAINED_SHARE = 0.95;
const FIND_MAX_TRIALS_MAX = 20;

export async function runWorkload(system: SystemUnderTest, workload: Workload, environment: Record<string, unknown>): Promise<RunResult> {
  checkSupported(system, workload);
  const startedAt = new Date().toISOString();
  const run = await runMode(system, workload);
  const summary = summarize(
    run.outcome,
    run.findMax === null ? (run.limits?.offeredRecordsPerSec ?? rateOf(workload.rate)) : run.findMax.maxSustainableRate,
  );
  return {
    schema: 'shardline-bench-run/1',
    startedAt,
    workload,
    system: { name: system.name, version: system.version, durability: system.durability },
    environment,
    summary,
    timeline: run.outcome.recorder.timeline(),
    distribution: {
      publish: distributionOf(run.outcome.recorder.publish),
      endToEnd: workload.consumers > 0 ? distributionOf(run.outcome.recorder.endToEnd) : null,
    },
    findMax: run.findMax,
    limits: run.limits,
    bounds: checkBounds(workload, summary, run.outcome, run.limits),
  };
}

async function runMode(
  system: SystemUnderTest,
  workload: Workload,
): Promise<{ outcome: PhaseOutcome; findMax: FindMaxResult | null; limits: LimitsResult | null }> {
  if (workload.mode === 'find-max') return findMax(system, workload);
  if (workload.mode === 'limits') return limits(system, workload);
  return {
    outcome: await fixed(system, workload, streamNames(workload, 'run'), workload.rate, workload.durationSeconds),
    findMax: null,
    limits: null,
  };
}

function checkSupported(system: SystemUnderTest, workload: Workload): void {
  if (workload.consumers > 0 && !system.consumerModes.includes(workload.consumerMode))
    throw new Error(`${system.name} has no ${workload.consumerMode} consumer (it has: ${system.consumerModes.join(', ')})`);
  if (workload.mode === 'limits' && !system.supportsLimits) throw new Error(`${system.name} has no per-shard limits to verify`);
}

function rateOf(rate: number | 'max'): number | null {
  return rate === 'max' ? null : rate;
}

function streamNames(workload: Workload, tag: string): string[] {
  return Array.from({ length: workload.streams }, (_, i) => `${workload.name}-${tag}-${i}`.replace(/[^A-Za-z0-9_.-]/g, '-'));
}

function fixed(
  system: SystemUnderTest,
  workload: Workload,
  streams: string[],
  rate: number | 'max',
  durationSeconds: number,
  retryThrottled = true,
): Promise<PhaseOutcome> {
  const label = `${system.name} ${workload.name} @ ${rate === 'max' ? 'max' : `${rate}/s`}`;
  return runPhase(system, workload, { label, streams, rate, warmupSeconds: workload.warmupSeconds, durationSeconds, retryThrottled });
}

function summarize(outcome: PhaseOutcome, targetRecordsPerSec: number | null): Summary {
  const { recorder, seconds } = outcome;
  return {
    seconds: Math.round(seconds * 1000) / 1000,
    targetRecordsPerSec,
    records: Math.round(recorder.acknowledged),
    bytes: Math.round(recorder.acknowledgedBytes),
    recordsPerSec: Math.round(recorder.acknowledged / seconds),
    MBps: round1(recorder.acknowledgedBytes / MB / seconds),
    consumedRecords: outcome.consumedRecords,
    throttled: recorder.throttled,
    errors: recorder.errors,
    ...(recorder.firstError === null ? {} : { firstError: recorder.firstError }),
    publish: summarizeHistogram(recorder.publish),
    endToEnd: recorder.endToEnd.totalCount > 0 ? summarizeHistogram(recorder.endToEnd) : null,
  };
}

// ---------------------------------------------------------------- find-max

/** The p99 a find-max trial is judged by: end to end when something consumes, else publish. */
function trialP99Us(outcome: PhaseOutcome): number {
  const { recorder } = outcome;
  return (recorder.endToEnd.totalCount > 0 ? recorder.endToEnd : recorder.publish).getValueAtPercentile(99);
}

/** Doubles the rate until a trial misses, then bisects between the last hit and the first miss. */
async function findMax(
  system: SystemUnderTest,
  workload: Workload,
): Promise<{ outcome: PhaseOutcome; findMax: FindMaxResult; limits: null }> {
  const settings = workload.findMax!;
  const trials: FindMaxTrial[] = [];
  let best: PhaseOutcome | null = null;
  let last: PhaseOutcome | null = null;
  let low = 0;
  let high = Infinity;
  let rate = settings.startRate;
  while (trials.length < FIND_MAX_TRIALS_MAX) {
    last = await fixed(system, workload, streamNames(workload, `t${trials.length}`), Math.round(rate), settings.trialSeconds);
    const p99Us = trialP99Us(last);
    const recordsPerSec = Math.round(last.recorder.acknowledged / last.seconds);
    const sustained =
      recordsPerSec >= rate * SUSTAINED_SHARE && p99Us <= settings.p99MaxMs * 1000 && last.recorder.errors === 0 && last.ledger.lost === 0;
    trials.push({ rate: Math.round(rate), recordsPerSec, p99Us, sustained });
    console.log(
      `  trial at ${Math.round(rate)}/s: ${recordsPerSec} records/s, p99 ${(p99Us / 1000).toFixed(2)} ms: ${sustained ? 'sustained' : 'missed'}`,
    );
    if (sustained) [low, best] = [rate, last];
    else high = rate;
    const next = high === Infinity ? Math.min(rate * 2, settings.maxRate) : (low + high) / 2;
    // Until a trial holds, the bracket's width is judged against its top: 0 * precision is 0.
    if (next === rate || (high !== Infinity && high - low <= Math.max(1, (low > 0 ? low : high) * settings.precision))) break;
    rate = next;
  }
  return { outcome: best ?? last!, findMax: { p99MaxMs: settings.p99MaxMs, trials, maxSustainableRate: Math.round(low) }, limits: null };
}

// ---------------------------------------------------------------- limits

async function limits(
  system: SystemUnderTest,
  workload: Workload,
): Promise<{ outcome: PhaseOutcome; findMax: null; limits: LimitsResult }> {
  const shards = workload.streams * workload.shardsPerStream;
  const recordBytes = meanRecordBytes(workload.recordSize);
  const binding = recordBytes * SHARD_RECORDS_PER_SEC > SHARD_BYTES_PER_SEC ? 'bytes' : 'records';
  const limitRecordsPerSec = binding === 'records' ? shards * SHARD_RECORDS_PER_SEC : (shards * SHARD_BYTES_PER_SEC) / recordBytes;
  const offered = Math.round(limitRecordsPerSec * LIMITS_OFFER);
  const outcome = await fixed(system, workload, streamNames(workload, 'limits'), offered, workload.durationSeconds, false);
  const { recorder, seconds } = outcome;
  const acceptedRecordsPerSec = recorder.acknowledged / seconds;
  const acceptedBytesPerSec = recorder.acknowledgedBytes / seconds;
  const ratioOfLimit =
    binding === 'records' ? acceptedRecordsPerSec / (shards * SHARD_RECORDS_PER_SEC) : acceptedBytesPerSec / (shards * SHARD_BYTES_PER_SEC);
  return {
    outcome,
    findMax: null,
    limits: {
      shards,
      offeredRecordsPerSec: offered,
      offeredMBps: round1((offered * recordBytes) / MB),
      acceptedRecordsPerSec: Math.round(acceptedRecordsPerSec),
      acceptedMBps: round1(acceptedBytesPerSec / MB),
      binding,
      ratioOfLimit: Math.round(ratioOfLimit * 1000) / 1000,
      throttled: recorder.throttled,
      lost: outcome.ledger.lost,
    },
  };
}

// ---------------------------------------------------------------- bounds

function checkBounds(workload: Workload, summary: Summary, outcome: PhaseOutcome, limitsResult: LimitsResult | null): BoundCheck[] {
  const checks: BoundCheck[] = [];
  const { bounds } = workload;
  const add = (name: string, limit: number, actual: number, unit: string, met: boolean): void => {
    checks.push({ name, limit, actual, unit, met });
  };
  if (bounds.endToEndP99MaxMs !== undefined)
    add(
      'end-to-end p99 <= limit',
      bounds.endToEndP99MaxMs,
      summary.endToEnd === null ? Infinity : summary.endToEnd.p99Us / 1000,
      'ms',
      summary.endToEnd !== null && summary.endToEnd.p99Us / 1000 <= bounds.endToEndP99MaxMs,
    );
  if (bounds.publishP99MaxMs !== undefined)
    add(
      'publish p99 <= limit',
      bounds.publishP99MaxMs,
      summary.publish.p99Us / 1000,
      'ms',
      summary.publish.p99Us / 1000 <= bounds.publishP99MaxMs,
    );
  if (bounds.minRecordsPerSec !== undefined)
    add(
      'records/s >= limit',
      bounds.minRecordsPerSec,
      summary.recordsPerSec,
      'records/s',
      summary.recordsPerSec >= bounds.minRecordsPerSec,
    );
  if (bounds.minMBps !== undefined) add('MB/s >= limit', bounds.minMBps, summary.MBps, 'MB/s', summary.MBps >= bounds.minMBps);
  // Always checked: nothing acknowledged may go missing, and a put error is a failed run.
  if (workload.consumers > 0) {
    const { lost, duplicates, unacknowledged } = outcome.ledger;
    add('acknowledged records not read back', 0, lost, 'records', lost === 0);
    add('records read back more than once', 0, duplicates, 'records', duplicates === 0);
    add('records read back that were never acknowledged', 0, unacknowledged, 'records', unacknowledged === 0);
  }
  add('records whose put failed', 0, summary.errors, 'records', summary.errors === 0);
  if (limitsResult === null) add('throttled records (limits off)', 0, summary.throttled, 'records', summary.throttled === 0);
  else add('throttled records beyond the limit', 1, summary.throttled, 'records', summary.throttled > 0);
  if (limitsResult !== null)
    add(
      `accepted ${limitsResult.binding} rate within ${LIMITS_TOLERANCE * 100}% of the per-shard limit`,
      1,
      limitsResult.ratioOfLimit,
      'ratio',
      Math.abs(limitsResult.ratioOfLimit - 1) <= LIMITS_TOLERANCE,
    );
  return checks;
}
