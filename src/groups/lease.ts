import { CorruptLeaseError, InvalidArgumentException } from '../errors.js';

/*
 * A consumer group's lease of one shard, with the attribute names the KCL writes to its DynamoDB
 * lease table (../shared/reference/kinesis-family.md §1.1), so one model serves shardline's
 * lease tables and a KCL table alike. `leaseCounter` is the optimistic-concurrency token: every
 * renew, take, release and checkpoint writes counter + 1, conditioned on the counter (and owner)
 * the writer saw.
 */

/** The checkpoints that are no sequence number (the KCL's SentinelCheckpoint). */
export const SENTINELS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', 'SHARD_END'] as const;
export type Sentinel = (typeof SENTINELS)[number];

export interface Lease {
  /** The shard id (single-stream KCL tables). */
  readonly leaseKey: string;
  /** The worker holding it; absent: nobody does. */
  readonly leaseOwner?: string;
  readonly leaseCounter: number;
  /** Everything up to and including this record (and sub-record) is processed; or a sentinel. */
  readonly checkpoint: string;
  readonly checkpointSubSequenceNumber: number;
  readonly ownerSwitchesSinceCheckpoint: number;
  /** With checkpoint AT_TIMESTAMP: where to start, epoch ms (shardline's; the KCL keeps it in its configuration). */
  readonly checkpointTimestampMillis?: number;
  /** The parents' shard ids (the KCL's attribute is singular, a string set). */
  readonly parentShardId?: readonly string[];
  /** Written when the shard has ended. */
  readonly childShardIds?: readonly string[];
  readonly pendingCheckpoint?: string;
  readonly pendingCheckpointSubSequenceNumber?: number;
  /** Application state given to prepareCheckpoint, base64. */
  readonly pendingCheckpointState?: string;
  readonly startingHashKey?: string;
  readonly endingHashKey?: string;
}

/** What a conditional write expects to find: the counter and owner the writer last saw. */
export interface LeaseExpectation {
  readonly leaseCounter: number;
  /** null: the lease must have no owner. */
  readonly leaseOwner: string | null;
}

/**
 * Where a group's leases are kept: shardline's lease tables (over the WebSocket or in-process) or
 * a DynamoDB table in the KCL's schema. Every write is conditional; a write whose condition fails
 * changes nothing and rejects with ConditionalCheckFailedException.
 */
export interface LeaseStore {
  /** Creates the table (or group) if it does not exist yet. */
  prepare(): Promise<void>;
  list(): Promise<Lease[]>;
  get(leaseKey: string): Promise<Lease | null>;
  /** Writes a new lease; ConditionalCheckFailedException if one of that key exists. */
  create(lease: Lease): Promise<void>;
  /** Replaces the lease if its stored counter and owner are `expected`. */
  update(lease: Lease, expected: LeaseExpectation): Promise<void>;
  /** Deletes the lease if its stored counter and owner are `expected`. */
  delete(leaseKey: string, expected: LeaseExpectation): Promise<void>;
}

const SEQUENCE_NUMBER = /^(0|[1-9][0-9]{0,127})$/;
const STRING_FIELDS = ['leaseOwner', 'pendingCheckpoint', 'pendingCheckpointState', 'startingHashKey', 'endingHashKey'] as const;
const NUMBER_FIELDS = ['pendingCheckpointSubSequenceNumber', 'checkpointTimestampMillis'] as const;

export function isSentinel(checkpoint: string): checkpoint is Sentinel {
  return (SENTINELS as readonly string[]).includes(checkpoint);
}

/** Whether a checkpoint is a sequence number or a sentinel. */
export function isCheckpoint(value: unknown): value is string {
  return typeof value === 'string' && (isSentinel(value) || SEQUENCE_NUMBER.test(value));
}

/**
 * The lease in `value`, checked field by field; `fail` makes the error for a field that is wrong.
 * Stored leases that do not parse are CorruptLeaseError (never silently reset), requests'
 * are InvalidArgumentException.
 */
export function parseLease(value: unknown, fail: (problem: string) => Error = invalidLease): Lease {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('a lease is an object');
  const lease = value as Record<string, unknown>;
  if (typeof lease['leaseKey'] !== 'string' || lease['leaseKey'].length === 0 || lease['leaseKey'].length > 256)
    throw fail('leaseKey is a string of 1 to 256 characters');
  const key = lease['leaseKey'];
  for (const field of ['leaseCounter', 'checkpointSubSequenceNumber', 'ownerSwitchesSinceCheckpoint'] as const)
    if (!isCount(lease[field])) throw fail(`lease ${key}: ${field} is a whole number >= 0`);
  if (!isCheckpoint(lease['checkpoint'])) throw fail(`lease ${key}: checkpoint is a sequence number or one of ${SENTINELS.join(', ')}`);
  if (lease['pendingCheckpoint'] !== undefined && !isCheckpoint(lease['pendingCheckpoint']))
    throw fail(`lease ${key}: pendingCheckpoint is a sequence number or a sentinel`);
  for (const field of STRING_FIELDS)
    if (lease[field] !== undefined && typeof lease[field] !== 'string') throw fail(`lease ${key}: ${field} is a string`);
  for (const field of NUMBER_FIELDS)
    if (lease[field] !== undefined && !isCount(lease[field])) throw fail(`lease ${key}: ${field} is a whole number >= 0`);
  for (const field of ['parentShardId', 'childShardIds'] as const) {
    const ids = lease[field];
    if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string')))
      throw fail(`lease ${key}: ${field} is a list of shard ids`);
  }
  return lease as unknown as Lease;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalidLease(problem: string): Error {
  return new InvalidArgumentException(problem);
}

/** A stored lease that does not parse: the table is not guessed about. */
export function corruptLease(where: string): (problem: string) => Error {
  return (problem) => new CorruptLeaseError(`${where}: ${problem}`);
}

/** The lease as `expected` describes it, for a conditional write's check. */
export function matches(lease: Lease, expected: LeaseExpectation): boolean {
  return lease.leaseCounter === expected.leaseCounter && (lease.leaseOwner ?? null) === expected.leaseOwner;
}

/** Orders extended sequence numbers (sequence number, then sub-sequence number). */
export function compareExtended(a: { sequenceNumber: string; subSequenceNumber: number }, b: typeof a): number {
  const left = BigInt(a.sequenceNumber);
  const right = BigInt(b.sequenceNumber);
  if (left !== right) return left < right ? -1 : 1;
  return a.subSequenceNumber - b.subSequenceNumber;
}
