import { InvalidArgumentException, ShardlineError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { ShardPosition } from '../streams/api_types.js';
import { decodeSequenceNumber } from '../streams/sequence_number.js';
import { shardIdOf } from '../streams/stream_records.js';
import { isSentinel, parseLease, type Lease, type LeaseExpectation } from './lease.js';
import { GROUP_IDLE_MS, LeaseTables, checkGroupName, type GroupSummary, type LeaseFaultCounts } from './lease_tables.js';

/*
 * The consumer-group operations a WebSocket CALL reaches by name (docs/PROTOCOL.md, "Consumer
 * groups"), and embedded callers through `groupOperation`: the lease-store operations the
 * workers use, and describe, reset and delete for people (the CLI's `shardline group`). The
 * lease faults (`expireLease`, `stealLease`) are the test kit's (docs/TESTING.md): the doors
 * reach them as fault operations, never by a bare name.
 */

export interface LeaseLag {
  /** Records after the checkpoint still retained; null where it cannot be told (AT_TIMESTAMP). */
  readonly LagRecords: number | null;
  /** Age of the oldest record not processed yet; null if it could not be read just now. */
  readonly LagMillis: number | null;
}

export interface DescribedLease extends Lease, LeaseLag {
  /** Changed within GROUP_IDLE_MS on the server's clock: held by a worker that runs. */
  readonly Live: boolean;
}

export interface GroupDescription {
  readonly GroupName: string;
  readonly StreamName: string;
  readonly Members: Array<{ readonly WorkerId: string; readonly Leases: number }>;
  readonly Leases: DescribedLease[];
  readonly LeaseFaults: LeaseFaultCounts;
}

export type ResetPosition =
  | { readonly Type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly Type: 'AT_TIMESTAMP'; readonly Timestamp: number }
  | { readonly Type: 'SEQUENCE_NUMBER'; readonly SequenceNumber: string };

type Request = Record<string, unknown>;

export interface GroupOperations {
  ListGroups(request: Request): { Groups: GroupSummary[] };
  PrepareGroup(request: Request): Promise<Record<string, never>>;
  DescribeGroup(request: Request): Promise<GroupDescription>;
  ResetGroup(request: Request): Promise<Record<string, never>>;
  DeleteGroup(request: Request): Promise<Record<string, never>>;
  ListLeases(request: Request): Promise<{ Leases: Lease[] }>;
  GetLease(request: Request): Promise<{ Lease: Lease | null }>;
  CreateLease(request: Request): Promise<Record<string, never>>;
  UpdateLease(request: Request): Promise<Record<string, never>>;
  DeleteLease(request: Request): Promise<Record<string, never>>;
}
export type GroupOperationName = keyof GroupOperations;

const DONE = {} as Record<string, never>;

function operations(engine: Engine): GroupOperations {
  const tables = LeaseTables.of(engine);
  return {
    ListGroups: () => ({ Groups: tables.listGroups() }),
    PrepareGroup: async (request) => {
      await tables.prepare(checkGroupName(request['GroupName']), checkString(request['StreamName'], 'StreamName'));
      return DONE;
    },
    DescribeGroup: (request) => describeGroup(engine, tables, checkGroupName(request['GroupName'])),
    ResetGroup: async (request) => {
      const position = checkPosition(request['Position']);
      await tables.replaceAll(checkGroupName(request['GroupName']), (lease) => reset(lease, position), request['Force'] === true);
      return DONE;
    },
    DeleteGroup: async (request) => {
      await tables.deleteGroup(checkGroupName(request['GroupName']), request['Force'] === true);
      return DONE;
    },
    ListLeases: async (request) => ({ Leases: await tables.listLeases(checkGroupName(request['GroupName'])) }),
    GetLease: async (request) => {
      if (typeof request['LeaseKey'] !== 'string') throw new InvalidArgumentException('GetLease needs LeaseKey');
      return { Lease: await tables.getLease(checkGroupName(request['GroupName']), request['LeaseKey']) };
    },
    CreateLease: async (request) => {
      await tables.createLease(checkGroupName(request['GroupName']), parseLease(request['Lease']));
      return DONE;
    },
    UpdateLease: async (request) => {
      await tables.updateLease(checkGroupName(request['GroupName']), parseLease(request['Lease']), checkExpected(request['Expected']));
      return DONE;
    },
    DeleteLease: async (request) => {
      const key = checkString(request['LeaseKey'], 'LeaseKey');
      await tables.deleteLease(checkGroupName(request['GroupName']), key, checkExpected(request['Expected']));
      return DONE;
    },
  };
}

const operationsOf = new WeakMap<Engine, GroupOperations>();

/** The group operation of that name (never an inherited property), or undefined. */
export function groupOperation(engine: Engine, name: string): ((request: Request) => unknown) | undefined {
  let table = operationsOf.get(engine);
  if (table === undefined) {
    table = operations(engine);
    operationsOf.set(engine, table);
  }
  return Object.hasOwn(table, name) ? (table[name as GroupOperationName] as (request: Request) => unknown) : undefined;
}

async function describeGroup(engine: Engine, tables: LeaseTables, groupName: string): Promise<GroupDescription> {
  const leases = await tables.listLeases(groupName);
  const streamName = tables.streamOf(groupName);
  const changedAt = tables.changedAt(groupName);
  const positions = new Map(
    (await engine.describeShardPositions({ StreamName: streamName })).Shards.map((shard) => [shard.ShardId, shard]),
  );
  const now = performance.now();
  const described = await Promise.all(
    leases.map(async (lease) => ({
      ...lease,
      ...(await lagOf(engine, streamName, lease, positions.get(lease.leaseKey))),
      Live: lease.leaseOwner !== undefined && now - (changedAt.get(lease.leaseKey) ?? 0) < GROUP_IDLE_MS,
    })),
  );
  const members = new Map<string, number>();
  for (const lease of described) if (lease.Live) members.set(lease.leaseOwner!, (members.get(lease.leaseOwner!) ?? 0) + 1);
  return {
    GroupName: groupName,
    StreamName: streamName,
    Members: [...members].map(([WorkerId, count]) => ({ WorkerId, Leases: count })),
    Leases: described,
    LeaseFaults: tables.leaseFaults(groupName),
  };
}

export interface ExpireLeaseInput {
  readonly GroupName: string;
  readonly ShardId: string;
}

export interface StealLeaseInput extends ExpireLeaseInput {
  readonly NewOwner: string;
}

/** The lease of a shard becomes unowned at once, as after its holder stopped renewing past failover: the next take pass takes it. */
export async function expireLease(engine: Engine, input: ExpireLeaseInput): Promise<{ Lease: Lease }> {
  const request = input as unknown as Request;
  const groupName = checkGroupName(request['GroupName']);
  const shardId = checkString(request['ShardId'], 'ShardId');
  return { Lease: await LeaseTables.of(engine).reassignLease(groupName, shardId, null) };
}

/** The lease of a shard goes to `NewOwner`, as if that worker had stolen it. */
export async function stealLease(engine: Engine, input: StealLeaseInput): Promise<{ Lease: Lease }> {
  const request = input as unknown as Request;
  const groupName = checkGroupName(request['GroupName']);
  const shardId = checkString(request['ShardId'], 'ShardId');
  const newOwner = checkString(request['NewOwner'], 'NewOwner');
  return { Lease: await LeaseTables.of(engine).reassignLease(groupName, shardId, newOwner) };
}

/** A lease's lag from the shard's retained records and the first record after its checkpoint. */
async function lagOf(engine: Engine, streamName: string, lease: Lease, position: ShardPosition | undefined): Promise<LeaseLag> {
  if (position === undefined || lease.checkpoint === 'SHARD_END' || lease.checkpoint === 'LATEST') return { LagRecords: 0, LagMillis: 0 };
  const lagRecords = recordsAfter(lease, position);
  if (position.RecordCount === 0 || lagRecords === 0) return { LagRecords: lagRecords, LagMillis: 0 };
  try {
    const start =
      lease.checkpoint === 'TRIM_HORIZON'
        ? { ShardIteratorType: 'TRIM_HORIZON' as const }
        : lease.checkpoint === 'AT_TIMESTAMP'
          ? { ShardIteratorType: 'AT_TIMESTAMP' as const, Timestamp: new Date(lease.checkpointTimestampMillis ?? 0) }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, StartingSequenceNumber: lease.checkpoint };
    const { ShardIterator } = await engine.getShardIterator({ StreamName: streamName, ShardId: lease.leaseKey, ...start });
    const read = await engine.getRecords({ ShardIterator: ShardIterator!, Limit: 1 });
    const oldest = read.Records[0];
    // Not MillisBehindLatest: a read that reaches the tip answers 0 however old its record.
    return {
      LagRecords: lagRecords,
      LagMillis: oldest === undefined ? 0 : Math.max(0, engine.now() - oldest.ApproximateArrivalTimestamp.getTime()),
    };
  } catch (error) {
    // A provisioned shard's read limit, or a checkpoint past a shard trimmed since: no figure now.
    if (error instanceof ShardlineError) return { LagRecords: lagRecords, LagMillis: null };
    throw error;
  }
}

function recordsAfter(lease: Lease, position: ShardPosition): number | null {
  if (lease.checkpoint === 'TRIM_HORIZON') return position.RecordCount;
  if (isSentinel(lease.checkpoint) || position.LatestSequenceNumber === undefined) return position.RecordCount === 0 ? 0 : null;
  const latest = decodeSequenceNumber(position.LatestSequenceNumber).offset;
  const oldest = decodeSequenceNumber(position.OldestSequenceNumber!).offset;
  const checkpoint = decodeSequenceNumber(lease.checkpoint).offset;
  return latest - Math.max(checkpoint, oldest - 1);
}

/** The lease after a reset: its checkpoint moved, unowned, nothing pending. */
function reset(lease: Lease, position: ResetPosition): Lease {
  let checkpoint: string = position.Type;
  if (position.Type === 'SEQUENCE_NUMBER') {
    if (shardIdOf(decodeSequenceNumber(position.SequenceNumber).shardSerial) !== lease.leaseKey) return lease;
    checkpoint = position.SequenceNumber;
  }
  return {
    leaseKey: lease.leaseKey,
    leaseCounter: lease.leaseCounter + 1,
    checkpoint,
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
    ...(position.Type === 'AT_TIMESTAMP' ? { checkpointTimestampMillis: position.Timestamp } : {}),
    ...(lease.parentShardId === undefined ? {} : { parentShardId: lease.parentShardId }),
    ...(lease.startingHashKey === undefined ? {} : { startingHashKey: lease.startingHashKey, endingHashKey: lease.endingHashKey! }),
  };
}

function checkPosition(value: unknown): ResetPosition {
  const position = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  switch (position['Type']) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { Type: position['Type'] };
    case 'AT_TIMESTAMP': {
      // A CALL's JSON turns a Timestamp into a Date; an embedded caller may give either.
      const at = position['Timestamp'] instanceof Date ? position['Timestamp'].getTime() : position['Timestamp'];
      if (typeof at !== 'number' || !Number.isFinite(at) || at < 0)
        throw new InvalidArgumentException('Position.Timestamp is epoch milliseconds');
      return { Type: 'AT_TIMESTAMP', Timestamp: at };
    }
    case 'SEQUENCE_NUMBER':
      decodeSequenceNumber(position['SequenceNumber'] as string, 'Position.SequenceNumber');
      return { Type: 'SEQUENCE_NUMBER', SequenceNumber: position['SequenceNumber'] as string };
    default:
      throw new InvalidArgumentException('Position.Type is one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, SEQUENCE_NUMBER');
  }
}

function checkExpected(value: unknown): LeaseExpectation {
  const expected = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const counter = expected['LeaseCounter'];
  const owner = expected['LeaseOwner'] ?? null;
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0)
    throw new InvalidArgumentException('Expected.LeaseCounter is a whole number >= 0');
  if (owner !== null && typeof owner !== 'string') throw new InvalidArgumentException('Expected.LeaseOwner is a worker id or null');
  return { leaseCounter: counter, leaseOwner: owner };
}

function checkString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256)
    throw new InvalidArgumentException(`${field} is a string of 1 to 256 characters`);
  return value;
}
