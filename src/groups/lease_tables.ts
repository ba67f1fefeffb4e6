import { GROUPS_MAX, GROUP_LEASES_MAX, GROUP_NAME_CHARS_MAX } from '../limits.js';
import {
  ConditionalCheckFailedException,
  CorruptLeaseError,
  InvalidArgumentException,
  LimitExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
} from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { corruptLease, matches, parseLease, type Lease, type LeaseExpectation } from './lease.js';

/*
 * shardline's lease tables: each consumer group's leases, kept as one engine document
 * (`group.<name>.json`, docs/FORMAT.md) rewritten atomically on every change. A change is checked
 * and applied here on the engine's thread, so a conditional write is atomic; it is acknowledged
 * once a write of the document that holds it is on disk (group commit: the changes made while a
 * write runs go out together in the next one). Reads wait for the write in progress, so nothing
 * is seen that a crash could still take back.
 */

const PREFIX = 'group.';
const SUFFIX = '.json';
const GROUP_NAME = new RegExp(`^[A-Za-z0-9_.-]{1,${GROUP_NAME_CHARS_MAX}}$`);
/**
 * A lease changed (renewed, taken, checkpointed) this recently on the server's clock counts as
 * held by a running worker: the KCL's renewals come every failover/3 (3.3 s by default), so a
 * group whose leases were quiet for this long has no worker left (unless one runs with a
 * failover time above 90 s). After a restart every lease counts as just changed.
 */
export const GROUP_IDLE_MS = 30_000;

interface GroupDocument {
  readonly version: 1;
  readonly groupName: string;
  readonly streamName: string;
  readonly leases: Lease[];
}

class GroupTable {
  readonly leases = new Map<string, Lease>();
  /** The server's monotonic time each lease last changed. */
  readonly changedAtMs = new Map<string, number>();
  private changes = 0;
  private written = 0;
  private writing: Promise<void> | null = null;
  /** Deleted: a change still in flight must not write the document back. */
  dropped = false;

  constructor(
    readonly groupName: string,
    readonly streamName: string,
  ) {}

  touch(leaseKey: string): void {
    this.changedAtMs.set(leaseKey, performance.now());
  }

  /** Resolves once every change made so far is on disk. */
  async flush(write: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    const target = this.changes;
    while (this.written < target) {
      if (this.dropped) throw new ResourceNotFoundException(`group ${this.groupName} was deleted`);
      if (this.writing === null) {
        const upTo = this.changes;
        this.writing = write(this.encode()).then(
          () => {
            this.written = upTo;
            this.writing = null;
          },
          (error: unknown) => {
            this.writing = null;
            throw error;
          },
        );
      }
      await this.writing;
    }
  }

  /** Resolves once the write in progress (if any) has finished. */
  async settled(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  changed(): void {
    this.changes++;
  }

  private encode(): Uint8Array {
    const document: GroupDocument = {
      version: 1,
      groupName: this.groupName,
      streamName: this.streamName,
      leases: [...this.leases.values()],
    };
    return new TextEncoder().encode(JSON.stringify(document));
  }
}

/** The lease faults injected into a group since this server started (docs/TESTING.md). */
export interface LeaseFaultCounts {
  readonly Expired: number;
  readonly Stolen: number;
}

export interface GroupSummary {
  readonly GroupName: string;
  readonly StreamName: string;
  readonly LeaseCount: number;
}

const tablesOf = new WeakMap<Engine, LeaseTables>();

export class LeaseTables {
  private readonly tables = new Map<string, GroupTable>();
  /** Groups whose document is being deleted: not read back from disk meanwhile. */
  private readonly deleting = new Set<string>();
  /** Apart from the tables, which a failed write drops: a count must survive that. */
  private readonly faults = new Map<string, LeaseFaultCounts>();

  private constructor(private readonly engine: Engine) {}

  /** The one instance of an engine: its WebSocket door and its embedded users share it. */
  static of(engine: Engine): LeaseTables {
    let tables = tablesOf.get(engine);
    if (tables === undefined) {
      tables = new LeaseTables(engine);
      tablesOf.set(engine, tables);
    }
    return tables;
  }

  listGroups(): GroupSummary[] {
    return this.engine
      .listDocuments(PREFIX)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => {
        const table = this.get(name.slice(PREFIX.length, -SUFFIX.length));
        return { GroupName: table.groupName, StreamName: table.streamName, LeaseCount: table.leases.size };
      });
  }

  /** Creates the group for a stream, or checks that the existing one is of that stream. */
  async prepare(groupName: string, streamName: string): Promise<void> {
    this.engine.describeStreamSummary({ StreamName: streamName });
    const existing = this.find(groupName);
    if (existing !== null) {
      if (existing.streamName !== streamName)
        throw new ResourceInUseException(`group ${groupName} consumes stream ${existing.streamName}, not ${streamName}`);
      return;
    }
    if (this.engine.listDocuments(PREFIX).length >= GROUPS_MAX) throw new LimitExceededException(`at most ${GROUPS_MAX} groups`);
    const table = new GroupTable(groupName, streamName);
    this.tables.set(groupName, table);
    table.changed();
    await this.persist(table);
  }

  async listLeases(groupName: string): Promise<Lease[]> {
    const table = this.get(groupName);
    await table.settled();
    return [...table.leases.values()];
  }

  /** One lease, or null: a child waiting for its parents asks for theirs every poll. */
  async getLease(groupName: string, leaseKey: string): Promise<Lease | null> {
    const table = this.get(groupName);
    await table.settled();
    return table.leases.get(leaseKey) ?? null;
  }

  /** When each lease last changed on this server's clock (for describing a group). */
  changedAt(groupName: string): ReadonlyMap<string, number> {
    return this.get(groupName).changedAtMs;
  }

  streamOf(groupName: string): string {
    return this.get(groupName).streamName;
  }

  async createLease(groupName: string, lease: Lease): Promise<void> {
    const table = this.get(groupName);
    if (table.leases.has(lease.leaseKey)) throw new ConditionalCheckFailedException(`lease ${lease.leaseKey} exists in group ${groupName}`);
    if (table.leases.size >= GROUP_LEASES_MAX) throw new LimitExceededException(`at most ${GROUP_LEASES_MAX} leases in a group`);
    this.apply(table, lease);
    await this.persist(table);
  }

  async updateLease(groupName: string, lease: Lease, expected: LeaseExpectation): Promise<void> {
    const table = this.get(groupName);
    this.check(table, lease.leaseKey, expected);
    this.apply(table, lease);
    await this.persist(table);
  }

  async deleteLease(groupName: string, leaseKey: string, expected: LeaseExpectation): Promise<void> {
    const table = this.get(groupName);
    this.check(table, leaseKey, expected);
    table.leases.delete(leaseKey);
    table.changedAtMs.delete(leaseKey);
    table.changed();
    await this.persist(table);
  }

  /**
   * A lease fault: the stored lease with the next counter and another owner (none: expired, as the
   * KCL's evictLease writes it), through the conditional write every change takes, so the
   * holder's next renewal or checkpoint fails its condition. The written lease.
   */
  async reassignLease(groupName: string, leaseKey: string, newOwner: string | null): Promise<Lease> {
    const stored = this.get(groupName).leases.get(leaseKey);
    if (stored === undefined) throw new ResourceNotFoundException(`no lease ${leaseKey} in group ${groupName}`);
    const { leaseOwner: owner, ...rest } = stored;
    const next: Lease = {
      ...rest,
      leaseCounter: stored.leaseCounter + 1,
      ...(newOwner === null ? {} : { leaseOwner: newOwner, ownerSwitchesSinceCheckpoint: stored.ownerSwitchesSinceCheckpoint + 1 }),
    };
    await this.updateLease(groupName, next, { leaseCounter: stored.leaseCounter, leaseOwner: owner ?? null });
    const counts = this.leaseFaults(groupName);
    this.faults.set(groupName, newOwner === null ? { ...counts, Expired: counts.Expired + 1 } : { ...counts, Stolen: counts.Stolen + 1 });
    return next;
  }

  leaseFaults(groupName: string): LeaseFaultCounts {
    return this.faults.get(groupName) ?? { Expired: 0, Stolen: 0 };
  }

  /** Replaces every lease at once (a reset), refused while a worker still renews one. */
  async replaceAll(groupName: string, next: (lease: Lease) => Lease, force: boolean): Promise<void> {
    const table = this.get(groupName);
    if (!force) this.refuseIfRunning(table, 'reset');
    for (const lease of [...table.leases.values()]) this.apply(table, next(lease));
    await this.persist(table);
  }

  async deleteGroup(groupName: string, force: boolean): Promise<void> {
    const table = this.get(groupName);
    if (!force) this.refuseIfRunning(table, 'delete');
    // A renewal arriving meanwhile finds no group, and one in flight writes nothing back.
    table.dropped = true;
    this.tables.delete(groupName);
    this.faults.delete(groupName);
    this.deleting.add(groupName);
    try {
      await table.settled();
      await this.engine.deleteDocument(documentName(groupName));
    } finally {
      this.deleting.delete(groupName);
    }
  }

  private refuseIfRunning(table: GroupTable, what: string): void {
    const now = performance.now();
    const live = [...table.leases.values()].filter(
      (lease) => lease.leaseOwner !== undefined && now - (table.changedAtMs.get(lease.leaseKey) ?? 0) < GROUP_IDLE_MS,
    );
    if (live.length > 0)
      throw new ResourceInUseException(
        `cannot ${what} group ${table.groupName}: ${live.length} leases changed in the last ${GROUP_IDLE_MS / 1000} s (held by ${[...new Set(live.map((lease) => lease.leaseOwner))].join(', ')}); stop its workers first, or force it`,
      );
  }

  private check(table: GroupTable, leaseKey: string, expected: LeaseExpectation): void {
    const stored = table.leases.get(leaseKey);
    if (stored === undefined) throw new ConditionalCheckFailedException(`no lease ${leaseKey} in group ${table.groupName}`);
    if (!matches(stored, expected))
      throw new ConditionalCheckFailedException(
        `lease ${leaseKey} of group ${table.groupName} has counter ${stored.leaseCounter} and owner ${stored.leaseOwner ?? '(none)'}, not ${expected.leaseCounter} and ${expected.leaseOwner ?? '(none)'}`,
      );
  }

  private apply(table: GroupTable, lease: Lease): void {
    table.leases.set(lease.leaseKey, lease);
    table.touch(lease.leaseKey);
    table.changed();
  }

  /** Writes the document; a failed write drops the table, so the next use reads what the disk holds. */
  private async persist(table: GroupTable): Promise<void> {
    try {
      await table.flush((bytes) => this.engine.writeDocument(documentName(table.groupName), bytes));
    } catch (error) {
      if (this.tables.get(table.groupName) === table) this.tables.delete(table.groupName);
      throw error;
    }
  }

  private get(groupName: string): GroupTable {
    const table = this.find(groupName);
    if (table === null) throw new ResourceNotFoundException(`group ${groupName} not found`);
    return table;
  }

  private find(groupName: string): GroupTable | null {
    checkGroupName(groupName);
    const cached = this.tables.get(groupName);
    if (cached !== undefined) return cached;
    if (this.deleting.has(groupName)) return null;
    const bytes = this.engine.readDocument(documentName(groupName));
    if (bytes === null) return null;
    const table = load(groupName, bytes);
    this.tables.set(groupName, table);
    return table;
  }
}

export function checkGroupName(groupName: unknown): string {
  if (typeof groupName !== 'string' || !GROUP_NAME.test(groupName))
    throw new InvalidArgumentException(`GroupName must be 1 to ${GROUP_NAME_CHARS_MAX} of A-Z a-z 0-9 _ . -`);
  return groupName;
}

function documentName(groupName: string): string {
  return PREFIX + groupName + SUFFIX;
}

/** A stored group, checked whole: a lease that does not parse fails the group, never resets it. */
function load(groupName: string, bytes: Uint8Array): GroupTable {
  const where = `group ${groupName} (documents/${documentName(groupName)})`;
  let document: Partial<GroupDocument>;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Partial<GroupDocument>;
  } catch (error) {
    throw new CorruptLeaseError(`${where} is not JSON`, { cause: error });
  }
  if (
    document.version !== 1 ||
    document.groupName !== groupName ||
    typeof document.streamName !== 'string' ||
    !Array.isArray(document.leases)
  )
    throw new CorruptLeaseError(`${where}: not a version 1 group document of that name`);
  const table = new GroupTable(groupName, document.streamName);
  for (const value of document.leases) {
    const lease = parseLease(value, corruptLease(where));
    table.leases.set(lease.leaseKey, lease);
    table.touch(lease.leaseKey);
  }
  return table;
}
