/*
 * A query's WITH options (docs/QUERIES.md, "Options"), checked as the query is created: an
 * unknown key or a bad value is refused at its position.
 */
import { InvalidQueryException } from '../errors.js';
import type { OptionValue, QueryAst } from './ast.js';

export interface QuerySettings {
  /** How long after a window's end (on the watermark) records are still taken into it. */
  readonly graceMs: number;
  /** Where late records go (JSON envelopes); counted only when absent. */
  readonly lateStream?: string;
  /** Where records the query cannot read go (JSON envelopes); counted only when absent. */
  readonly errorStream?: string;
  /** TRIM_HORIZON: the source's oldest records; LATEST: those that arrive from the query's creation on. */
  readonly start: 'TRIM_HORIZON' | 'LATEST';
  readonly checkpointIntervalMs: number;
  /** Event time: a shard read to its end that has delivered nothing for this long stops holding the watermark back. */
  readonly idleTimeoutMs: number;
}

export const GRACE_MAX_MS = 24 * 3600_000;
export const CHECKPOINT_INTERVAL_MIN_MS = 100;
export const CHECKPOINT_INTERVAL_MAX_MS = 600_000;
const CHECKPOINT_INTERVAL_DEFAULT_MS = 1000;
export const IDLE_TIMEOUT_MAX_MS = 3600_000;
const IDLE_TIMEOUT_DEFAULT_MS = 2000;

const UNITS_MS: Readonly<Record<string, number>> = {
  millisecond: 1,
  ms: 1,
  second: 1000,
  s: 1000,
  minute: 60_000,
  hour: 3600_000,
  day: 86_400_000,
};

type Reader = (option: OptionValue) => Partial<Record<keyof QuerySettings, unknown>>;

const OPTIONS: Readonly<Record<string, Reader>> = {
  grace: (option) => ({ graceMs: durationOf(option, 0, GRACE_MAX_MS) }),
  late_stream: (option) => ({ lateStream: textOf(option) }),
  error_stream: (option) => ({ errorStream: textOf(option) }),
  start: (option) => ({ start: startOf(option) }),
  idle_timeout: (option) => ({ idleTimeoutMs: durationOf(option, 0, IDLE_TIMEOUT_MAX_MS) }),
  checkpoint_interval: (option) => ({ checkpointIntervalMs: durationOf(option, CHECKPOINT_INTERVAL_MIN_MS, CHECKPOINT_INTERVAL_MAX_MS) }),
};

export function querySettings(ast: QueryAst): QuerySettings {
  let settings: Record<string, unknown> = {
    graceMs: 0,
    start: 'LATEST',
    checkpointIntervalMs: CHECKPOINT_INTERVAL_DEFAULT_MS,
    idleTimeoutMs: IDLE_TIMEOUT_DEFAULT_MS,
  };
  for (const [key, option] of Object.entries(ast.options)) {
    const reader = OPTIONS[key];
    if (reader === undefined) refuse(option, `unknown option "${key}": the options are ${Object.keys(OPTIONS).join(', ')}`);
    settings = { ...settings, ...reader(option) };
  }
  return settings as unknown as QuerySettings;
}

/** A duration: a number of milliseconds, or text such as '10 seconds' or '500 ms'. */
function durationOf(option: OptionValue, minMs: number, maxMs: number): number {
  const ms = typeof option.value === 'number' ? option.value : textDurationMs(option.value);
  if (ms === null || !Number.isInteger(ms) || ms < minMs || ms > maxMs)
    refuse(option, `${JSON.stringify(option.value)} is not a duration from ${minMs} ms to ${maxMs} ms (a number of ms, or '10 seconds')`);
  return ms;
}

function textDurationMs(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const word = match?.[2]!.toLowerCase() ?? '';
  const unit = match === null ? undefined : (UNITS_MS[word] ?? UNITS_MS[word.replace(/s$/, '')]);
  return unit === undefined ? null : Math.round(Number(match![1]) * unit);
}

function textOf(option: OptionValue): string {
  if (typeof option.value !== 'string' || option.value === '') refuse(option, 'a stream name in quotes is needed here');
  return option.value;
}

function startOf(option: OptionValue): QuerySettings['start'] {
  const value = typeof option.value === 'string' ? option.value.toUpperCase() : option.value;
  if (value !== 'TRIM_HORIZON' && value !== 'LATEST')
    refuse(option, `start is 'TRIM_HORIZON' or 'LATEST', not ${JSON.stringify(option.value)}`);
  return value;
}

function refuse(option: OptionValue, message: string): never {
  throw new InvalidQueryException(message, option.at.line, option.at.column);
}
