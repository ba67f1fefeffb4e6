import { InvalidArgumentException } from '../errors.js';
import { INPUT_SHAPES } from './input_shapes.js';

/*
 * Fault rules (docs/TESTING.md, "Fault injection"), pure: their shape, their one validation, and
 * the seeded generator each rule draws its decisions from. A rule names what it touches (a
 * stream, a shard, operations, a consumer), what it does (its kind), how often (a probability or
 * every Nth match) and for how long (a count of injections, a duration on the engine's clock).
 * The injector (src/engine/fault_injector.ts) applies them.
 */

export type FaultKind = 'THROTTLE' | 'LATENCY' | 'FAIL' | 'DROP_SUBSCRIPTION' | 'EXPIRE_ITERATOR';
export type FaultFailure = 'InternalFailure' | 'ServiceUnavailable';
/** PutRecords' throttling: each entry drawn alone (FailedRecordCount, as AWS throttles), or the call as a whole. */
export type FaultGranularity = 'RECORD' | 'REQUEST';

export type FaultLatency =
  | { readonly Distribution: 'FIXED'; readonly DelayMs: number }
  | { readonly Distribution: 'UNIFORM'; readonly MinMs: number; readonly MaxMs: number }
  | {
      readonly Distribution: 'NORMAL';
      readonly MeanMs: number;
      readonly StdDevMs: number;
      readonly MinMs?: number;
      readonly MaxMs?: number;
    }
  | {
      readonly Distribution: 'LOGNORMAL';
      readonly MedianMs: number;
      readonly Sigma: number;
      readonly MinMs?: number;
      readonly MaxMs?: number;
    };

/** A rule as it is put: exactly one of Probability and EveryNth. */
export interface FaultRuleInput {
  /** [A-Za-z0-9_.-]{1,64}; a new one when absent. A rule put under an existing id replaces it. */
  readonly RuleId?: string;
  /** Absent: every stream, and the operations that name none (ListStreams). */
  readonly StreamName?: string;
  readonly ShardId?: string;
  /** Absent: every operation the kind applies to. */
  readonly Operations?: readonly string[];
  /** SubscribeToShard's consumer, by name or ARN. */
  readonly ConsumerName?: string;
  readonly ConsumerARN?: string;
  readonly Kind: FaultKind;
  readonly Probability?: number;
  readonly EveryNth?: number;
  /** 0..2^32-1; a random one when absent, which the list shows so that the run can be repeated. */
  readonly Seed?: number;
  readonly MaxInjections?: number;
  /** From the moment the rule is put, on the engine's clock. */
  readonly DurationMs?: number;
  /** LATENCY only. */
  readonly Latency?: FaultLatency;
  /** FAIL only; default InternalFailure. */
  readonly Failure?: FaultFailure;
  /** THROTTLE only, for PutRecords; default RECORD. */
  readonly Granularity?: FaultGranularity;
}

/** A validated rule: every default filled in. */
export interface FaultRule extends Omit<FaultRuleInput, 'RuleId' | 'Seed' | 'Operations'> {
  readonly RuleId: string;
  readonly Seed: number;
  readonly Operations?: readonly string[];
}

/** The operations a rule may name: every one the engine meters, and SubscribeToShard. */
export const FAULT_OPERATIONS: ReadonlySet<string> = new Set(Object.keys(INPUT_SHAPES).filter((name) => name !== 'GetMetrics'));
/** The operations whose throttling is a shard's ProvisionedThroughputExceededException; the rest get LimitExceededException. */
export const DATA_OPERATIONS: ReadonlySet<string> = new Set(['PutRecord', 'PutRecords', 'GetRecords', 'GetShardIterator']);
/** The kinds bound to one operation, and it. */
const KIND_OPERATION: Partial<Record<FaultKind, string>> = { DROP_SUBSCRIPTION: 'SubscribeToShard', EXPIRE_ITERATOR: 'GetRecords' };
const KINDS: ReadonlySet<string> = new Set(['THROTTLE', 'LATENCY', 'FAIL', 'DROP_SUBSCRIPTION', 'EXPIRE_ITERATOR']);
const FAILURES: ReadonlySet<string> = new Set(['InternalFailure', 'ServiceUnavailable']);
const GRANULARITIES: ReadonlySet<string> = new Set(['RECORD', 'REQUEST']);
const RULE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const MEMBERS: ReadonlySet<string> = new Set([
  'RuleId',
  'StreamName',
  'ShardId',
  'Operations',
  'ConsumerName',
  'ConsumerARN',
  'Kind',
  'Probability',
  'EveryNth',
  'Seed',
  'MaxInjections',
  'DurationMs',
  'Latency',
  'Failure',
  'Granularity',
]);
const SEED_MAX = 0xffff_ffff;
/** A delay longer than the SDKs' default socket timeouts tests nothing a shorter one would not. */
export const FAULT_DELAY_MS_MAX = 60_000;
/** A log-normal's sigma past this puts nearly every draw at a bound. */
const SIGMA_MAX = 10;

/** The rule, checked and completed; InvalidArgumentException naming every reason it is refused. */
export function checkFaultRule(input: unknown, newId: () => string, newSeed: () => number): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw refusal(['a fault rule is an object of members']);
  const rule = input as Record<string, unknown>;
  const problems = [
    ...Object.keys(rule)
      .filter((key) => !MEMBERS.has(key))
      .map((key) => `unknown member ${key}`),
    ...scopeProblems(rule),
    ...shareProblems(rule),
    ...kindProblems(rule),
  ];
  if (problems.length > 0) throw refusal(problems);
  return {
    ...(rule as unknown as FaultRuleInput),
    RuleId: (rule['RuleId'] as string | undefined) ?? newId(),
    Seed: (rule['Seed'] as number | undefined) ?? newSeed(),
  };
}

function refusal(problems: readonly string[]): InvalidArgumentException {
  return new InvalidArgumentException(`Invalid fault rule: ${problems.join('; ')}`);
}

function scopeProblems(rule: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (rule['RuleId'] !== undefined && !(typeof rule['RuleId'] === 'string' && RULE_ID.test(rule['RuleId'])))
    problems.push('RuleId must be 1 to 64 characters of [A-Za-z0-9_.-]');
  for (const key of ['StreamName', 'ShardId', 'ConsumerName', 'ConsumerARN'])
    if (rule[key] !== undefined && !(typeof rule[key] === 'string' && rule[key] !== '')) problems.push(`${key} must be a non-empty string`);
  const operations = rule['Operations'];
  if (operations !== undefined) {
    if (!Array.isArray(operations) || operations.length === 0) problems.push('Operations must be a non-empty list of operation names');
    else
      for (const name of operations)
        if (typeof name !== 'string' || !FAULT_OPERATIONS.has(name))
          problems.push(`Operations: ${String(name)} is no operation of the API`);
  }
  if ((rule['ConsumerName'] !== undefined || rule['ConsumerARN'] !== undefined) && !onlySubscribe(rule))
    problems.push('ConsumerName and ConsumerARN scope SubscribeToShard: Operations must be [SubscribeToShard]');
  return problems;
}

function onlySubscribe(rule: Record<string, unknown>): boolean {
  const operations = rule['Operations'];
  if (rule['Kind'] === 'DROP_SUBSCRIPTION' && operations === undefined) return true;
  return Array.isArray(operations) && operations.length === 1 && operations[0] === 'SubscribeToShard';
}

function shareProblems(rule: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const { Probability: probability, EveryNth: everyNth } = rule;
  if ((probability === undefined) === (everyNth === undefined)) problems.push('give exactly one of Probability and EveryNth');
  if (probability !== undefined && !(typeof probability === 'number' && probability > 0 && probability <= 1))
    problems.push('Probability must be a number above 0 and at most 1');
  if (everyNth !== undefined && !isWhole(everyNth, 1)) problems.push('EveryNth must be a whole number of at least 1');
  if (rule['Seed'] !== undefined && !(isWhole(rule['Seed'], 0) && (rule['Seed'] as number) <= SEED_MAX))
    problems.push(`Seed must be a whole number from 0 to ${SEED_MAX}`);
  for (const key of ['MaxInjections', 'DurationMs'])
    if (rule[key] !== undefined && !isWhole(rule[key], 1)) problems.push(`${key} must be a whole number of at least 1`);
  return problems;
}

function kindProblems(rule: Record<string, unknown>): string[] {
  const kind = rule['Kind'];
  if (typeof kind !== 'string' || !KINDS.has(kind)) return [`Kind must be one of ${[...KINDS].join(', ')}`];
  const problems: string[] = [];
  const only = KIND_OPERATION[kind as FaultKind];
  const operations = rule['Operations'];
  if (only !== undefined && Array.isArray(operations) && operations.some((name) => name !== only))
    problems.push(`${kind} applies to ${only} only`);
  for (const [key, owner] of [
    ['Latency', 'LATENCY'],
    ['Failure', 'FAIL'],
    ['Granularity', 'THROTTLE'],
  ] as const)
    if (rule[key] !== undefined && kind !== owner) problems.push(`${key} belongs to ${owner} rules`);
  if (kind === 'LATENCY') problems.push(...latencyProblems(rule['Latency']));
  if (rule['Failure'] !== undefined && !FAILURES.has(rule['Failure'] as string))
    problems.push('Failure must be InternalFailure or ServiceUnavailable');
  if (rule['Granularity'] !== undefined && !GRANULARITIES.has(rule['Granularity'] as string))
    problems.push('Granularity must be RECORD or REQUEST');
  return problems;
}

const LATENCY_MEMBERS: Readonly<Record<string, { readonly required: readonly string[]; readonly optional: readonly string[] }>> = {
  FIXED: { required: ['DelayMs'], optional: [] },
  UNIFORM: { required: ['MinMs', 'MaxMs'], optional: [] },
  NORMAL: { required: ['MeanMs', 'StdDevMs'], optional: ['MinMs', 'MaxMs'] },
  LOGNORMAL: { required: ['MedianMs', 'Sigma'], optional: ['MinMs', 'MaxMs'] },
};

function latencyProblems(latency: unknown): string[] {
  if (typeof latency !== 'object' || latency === null) return ['a LATENCY rule needs Latency: { Distribution, ... }'];
  const fields = latency as Record<string, unknown>;
  const members = LATENCY_MEMBERS[fields['Distribution'] as string];
  if (members === undefined) return ['Latency.Distribution must be FIXED, UNIFORM, NORMAL or LOGNORMAL'];
  const problems: string[] = [];
  for (const key of Object.keys(fields))
    if (key !== 'Distribution' && !members.required.includes(key) && !members.optional.includes(key))
      problems.push(`Latency.${key} is no member of a ${String(fields['Distribution'])} latency`);
  for (const key of [...members.required, ...members.optional]) {
    const value = fields[key];
    if (value === undefined && members.optional.includes(key)) continue;
    const bound = key === 'Sigma' ? SIGMA_MAX : FAULT_DELAY_MS_MAX;
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= bound))
      problems.push(`Latency.${key} must be a number from 0 to ${bound}`);
  }
  const { MinMs: min, MaxMs: max } = fields;
  if (typeof min === 'number' && typeof max === 'number' && min > max) problems.push('Latency.MinMs must not exceed Latency.MaxMs');
  return problems;
}

function isWhole(value: unknown, least: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= least;
}

/** The delay a latency rule adds, from its generator: clamped to its bounds (FIXED: exactly DelayMs). */
export function drawDelayMs(latency: FaultLatency, random: () => number): number {
  switch (latency.Distribution) {
    case 'FIXED':
      return latency.DelayMs;
    case 'UNIFORM':
      return latency.MinMs + random() * (latency.MaxMs - latency.MinMs);
    case 'NORMAL':
      return clampDelay(latency.MeanMs + latency.StdDevMs * standardNormal(random), latency.MinMs, latency.MaxMs);
    case 'LOGNORMAL':
      return clampDelay(latency.MedianMs * Math.exp(latency.Sigma * standardNormal(random)), latency.MinMs, latency.MaxMs);
  }
}

/** The least delay the rule adds: what a test may assert a delayed call took at least. */
export function leastDelayMs(latency: FaultLatency): number {
  if (latency.Distribution === 'FIXED') return latency.DelayMs;
  return latency.MinMs ?? 0;
}

function clampDelay(delayMs: number, minMs = 0, maxMs = FAULT_DELAY_MS_MAX): number {
  return Math.min(maxMs, Math.max(minMs, delayMs));
}

/** Box-Muller: two uniform draws, one normal one (1 - u keeps the logarithm's argument above 0). */
function standardNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
