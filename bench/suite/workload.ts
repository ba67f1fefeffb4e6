/**
 * Workload files (JSON or YAML, bench/workloads/): read, defaulted and checked field by field,
 * so that a typo fails before any system is started, naming the field and the accepted values.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  STAMP_BYTES,
  type Bounds,
  type FindMaxSettings,
  type FsyncSetting,
  type PartitionKeys,
  type RecordSize,
  type RunMode,
  type Workload,
} from './types.js';

export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
}

/** The largest record the suite generates: Kinesis' 1 MiB limit on a record's data. */
export const RECORD_BYTES_MAX = 1024 * 1024;
const KNOWN_FIELDS = new Set([
  'name',
  'description',
  'mode',
  'streams',
  'shardsPerStream',
  'recordSize',
  'partitionKeys',
  'producers',
  'consumers',
  'consumerMode',
  'rate',
  'warmupSeconds',
  'durationSeconds',
  'fsync',
  'capacityMode',
  'maxInFlight',
  'findMax',
  'bounds',
]);

type Raw = Record<string, unknown>;

export function loadWorkload(file: string): Workload {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new WorkloadError(`cannot read workload ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (error) {
    throw new WorkloadError(`workload ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
  return parseWorkload(raw, path.basename(file).replace(/\.(json|ya?ml)$/i, ''));
}

export function parseWorkload(raw: unknown, fallbackName: string): Workload {
  const object = asObject(raw, 'workload');
  for (const key of Object.keys(object))
    if (!KNOWN_FIELDS.has(key)) throw new WorkloadError(`unknown workload field "${key}" (known: ${[...KNOWN_FIELDS].join(', ')})`);
  const mode = oneOf(object.mode ?? 'fixed', 'mode', ['fixed', 'find-max', 'limits'] as const) satisfies RunMode;
  const consumers = integer(object.consumers ?? 0, 'consumers', 0, 64);
  const workload: Workload = {
    name: text(object.name ?? fallbackName, 'name'),
    description: text(object.description ?? '', 'description'),
    mode,
    streams: integer(object.streams ?? 1, 'streams', 1, 100),
    shardsPerStream: integer(object.shardsPerStream ?? 1, 'shardsPerStream', 1, 500),
    recordSize: recordSize(object.recordSize ?? { bytes: 100 }),
    partitionKeys: partitionKeys(object.partitionKeys ?? {}),
    producers: integer(object.producers ?? 1, 'producers', 1, 64),
    consumers,
    consumerMode: oneOf(object.consumerMode ?? 'push', 'consumerMode', ['push', 'poll'] as const),
    rate: (object.rate ?? 'max') === 'max' ? 'max' : number(object.rate, 'rate', 1, 10_000_000),
    warmupSeconds: number(object.warmupSeconds ?? 2, 'warmupSeconds', 0, 3600),
    durationSeconds: number(object.durationSeconds ?? 10, 'durationSeconds', 0.5, 86_400),
    fsync: fsync(object.fsync ?? 'never'),
    capacityMode: oneOf(object.capacityMode ?? (mode === 'limits' ? 'PROVISIONED' : 'ON_DEMAND'), 'capacityMode', [
      'PROVISIONED',
      'ON_DEMAND',
    ] as const),
    maxInFlight: integer(object.maxInFlight ?? 20_000, 'maxInFlight', 1, 10_000_000),
    findMax: object.findMax === undefined ? null : findMax(object.findMax),
    bounds: bounds(object.bounds ?? {}),
  };
  return checkCombination(workload);
}

function checkCombination(workload: Workload): Workload {
  if (workload.mode === 'find-max' && workload.findMax === null)
    throw new WorkloadError('mode "find-max" needs a findMax section: { "p99MaxMs": ..., "startRate": ... }');
  if (workload.mode !== 'find-max' && workload.findMax !== null)
    throw new WorkloadError(`a findMax section only applies to mode "find-max", not "${workload.mode}"`);
  if (workload.mode === 'limits' && workload.capacityMode !== 'PROVISIONED')
    throw new WorkloadError('mode "limits" verifies PROVISIONED per-shard limits: capacityMode must be PROVISIONED');
  if (workload.mode === 'limits' && workload.consumers < 1)
    throw new WorkloadError('mode "limits" reads every accepted record back: it needs consumers >= 1');
  if (workload.mode === 'limits' && workload.rate !== 'max')
    throw new WorkloadError('mode "limits" sets its own offered rate (twice the shards\' limits): leave rate out or set it to "max"');
  return workload;
}

function asObject(value: unknown, field: string): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WorkloadError(`${field} must be an object`);
  return value as Raw;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new WorkloadError(`${field} must be a string`);
  return value;
}

function number(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new WorkloadError(`${field} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  const checked = number(value, field, min, max);
  if (!Number.isInteger(checked)) throw new WorkloadError(`${field} must be a whole number, got ${checked}`);
  return checked;
}

function oneOf<const T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new WorkloadError(`${field} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function recordSize(value: unknown): RecordSize {
  const object = asObject(value, 'recordSize');
  if ('bytes' in object) return { bytes: integer(object.bytes, 'recordSize.bytes', STAMP_BYTES, RECORD_BYTES_MAX) };
  const min = integer(object.min, 'recordSize.min', STAMP_BYTES, RECORD_BYTES_MAX);
  const max = integer(object.max, 'recordSize.max', min, RECORD_BYTES_MAX);
  return { min, max };
}

function partitionKeys(value: unknown): PartitionKeys {
  const object = asObject(value, 'partitionKeys');
  return {
    count: integer(object.count ?? 1000, 'partitionKeys.count', 1, 10_000_000),
    distribution: oneOf(object.distribution ?? 'uniform', 'partitionKeys.distribution', ['uniform', 'zipf'] as const),
    zipfExponent: number(object.zipfExponent ?? 1, 'partitionKeys.zipfExponent', 0.01, 10),
  };
}

function fsync(value: unknown): FsyncSetting {
  if (value === 'always' || value === 'never') return value;
  if (typeof value === 'object' && value !== null && 'intervalMs' in value)
    return { intervalMs: integer((value as Raw).intervalMs, 'fsync.intervalMs', 1, 60_000) };
  throw new WorkloadError(`fsync must be "always", "never" or { "intervalMs": N }, got ${JSON.stringify(value)}`);
}

function findMax(value: unknown): FindMaxSettings {
  const object = asObject(value, 'findMax');
  const startRate = number(object.startRate ?? 1000, 'findMax.startRate', 1, 10_000_000);
  return {
    p99MaxMs: number(object.p99MaxMs, 'findMax.p99MaxMs', 0.01, 600_000),
    startRate,
    maxRate: number(object.maxRate ?? 10_000_000, 'findMax.maxRate', startRate, 10_000_000),
    trialSeconds: number(object.trialSeconds ?? 5, 'findMax.trialSeconds', 0.5, 3600),
    precision: number(object.precision ?? 0.1, 'findMax.precision', 0.01, 1),
  };
}

function bounds(value: unknown): Bounds {
  const object = asObject(value, 'bounds');
  const known = ['endToEndP99MaxMs', 'publishP99MaxMs', 'minRecordsPerSec', 'minMBps'];
  for (const key of Object.keys(object))
    if (!known.includes(key)) throw new WorkloadError(`unknown bound "${key}" (known: ${known.join(', ')})`);
  const result: { -readonly [K in keyof Bounds]: Bounds[K] } = {};
  for (const key of known as Array<keyof Bounds>)
    if (object[key] !== undefined) result[key] = number(object[key], `bounds.${key}`, 0, 1e12);
  return result;
}

/** Overrides from the command line, checked like the file's own fields. */
export function withOverrides(workload: Workload, overrides: Raw): Workload {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const { findMax: settings, ...rest } = workload;
  return parseWorkload({ ...rest, ...(settings === null ? {} : { findMax: settings }), ...given }, workload.name);
}
