/*
 * What the parts of a continuous query share (docs/QUERIES.md): the values expressions take, a
 * record as a query sees it, and the aggregates with their accumulators.
 */
import type { Expr, Position } from './ast.js';

/** A SQL value: NULL is null; TIMESTAMP is a number of milliseconds since the epoch. */
export type Value = string | number | boolean | null | readonly Value[] | { readonly [key: string]: Value };

/** One input record, decoded for the query's format. */
export interface DecodedRecord {
  /** The JSON document or the CSV row by column name; null for FORMAT RAW. */
  readonly fields: Value;
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly shardId: string;
  /** ApproximateArrivalTimestamp, which is ROWTIME. */
  readonly arrivalMs: number;
}

/** A record the query cannot read (bad JSON or CSV, a field of the wrong type): counted and skipped, or sent to the error stream. */
export class RecordError extends Error {}

export type AggregateName = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'COUNT_DISTINCT' | 'APPROX_PERCENTILE' | 'TOP_K';

export interface AggregateCall {
  readonly name: AggregateName;
  /** COUNT(*). */
  readonly star: boolean;
  /** The aggregated expression; absent for COUNT(*). */
  readonly arg?: Expr;
  /** APPROX_PERCENTILE's fraction (0 < p <= 1), TOP_K's k (1..1000). */
  readonly param?: number;
  readonly at: Position;
}

/** One aggregate of one window and group: values are added, NULLs ignored (COUNT(*) counts every row). */
export interface Accumulator {
  add(value: Value): void;
  result(): Value;
  /** A JSON-safe form that restoreAccumulator makes the same accumulator again from. */
  snapshot(): unknown;
  /** Takes in another of the same aggregate (two session windows joined by a record between them). */
  merge(other: Accumulator): void;
}
