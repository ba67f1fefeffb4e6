import type { ClientKinesisRecord, ShardlineClient } from '../client/client.js';
import { ExpiredIteratorException } from '../errors.js';
import { deaggregate, hasMagic } from '../client/kpl_aggregation.js';
import { isOpen } from './hash_range.js';

/*
 * The live tail's reader. Each shard open when it starts is read from LATEST; once a shard ends
 * (split or merged), its children are read from TRIM_HORIZON, so that nothing put after the tail
 * began is missed. A round is one GetRecords per shard, TAIL_POLL_MS after the previous round
 * ended (so rounds never overlap, and a shard gets at most about 3 of its 5 reads a second); a
 * shard whose iterator could not be had (or expired: LATEST again) is tried at the next round.
 * Pausing waits for the round in flight, then stops, keeping the iterators: resuming goes on
 * where it paused.
 */

const TAIL_POLL_MS = 300;
/** Records one GetRecords returns: as many as the page keeps. */
const RECORDS_PER_READ_MAX = 500;

export interface TailRow {
  /** Unique among the rows: shard, sequence number and, for a KPL user record, its index. */
  readonly key: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** A KPL aggregate's user record: its index in the aggregate. */
  readonly subSequenceNumber: number | null;
  readonly partitionKey: string;
  readonly arrivalMs: number;
  readonly data: Uint8Array;
}

export type TailState = 'starting' | 'running' | 'pausing' | 'paused' | 'stopped';

export interface TailProgress {
  readonly state: TailState;
  readonly rounds: number;
  /** Shards followed (with an iterator). */
  readonly shards: number;
  /** What failed in the latest round (a read refused, an iterator not had), if anything. */
  readonly error: unknown;
}

export interface TailListener {
  onRows(rows: TailRow[]): void;
  /** After each round, and each change of state. */
  onProgress(progress: TailProgress): void;
}

export class TailReader {
  private readonly iterators = new Map<string, string>();
  /** Shards to get an iterator for at the next round's start (again, after a failure). */
  private readonly toFollow = new Map<string, 'LATEST' | 'TRIM_HORIZON'>();
  /** Every shard ever followed, so that a merge's child (named by both parents) is followed once. */
  private readonly followed = new Set<string>();
  private listed = false;
  private state: TailState = 'starting';
  private rounds = 0;
  private roundError: unknown = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly client: ShardlineClient,
    private readonly streamName: string,
    private readonly listener: TailListener,
  ) {}

  start(): void {
    if (this.state !== 'starting') return;
    this.setState('running');
    this.schedule(0);
  }

  async pause(): Promise<void> {
    if (this.state !== 'running') return;
    this.setState('pausing');
    clearTimeout(this.timer);
    await this.inFlight;
    // Unless stop() came meanwhile (TypeScript narrowed the state before the await).
    if ((this.state as TailState) === 'pausing') this.setState('paused');
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.setState('running');
    this.schedule(TAIL_POLL_MS);
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.round().finally(() => {
        this.inFlight = null;
        if (this.state === 'running') this.schedule(TAIL_POLL_MS);
      });
    }, delayMs);
  }

  private async round(): Promise<void> {
    this.roundError = undefined;
    if (!this.listed) await this.list();
    await Promise.all([...this.toFollow].map(([shardId, from]) => this.follow(shardId, from)));
    const reads = await Promise.all([...this.iterators].map(([shardId, iterator]) => this.read(shardId, iterator)));
    if (this.state === 'stopped') return;
    this.rounds++;
    const rows = reads.flat();
    if (rows.length > 0) this.listener.onRows(rows);
    this.report();
  }

  private async list(): Promise<void> {
    try {
      const shards = await this.client.listAllShards({ StreamName: this.streamName });
      for (const shard of shards.filter(isOpen)) this.toFollowOnce(shard.ShardId, 'LATEST');
      this.listed = true;
    } catch (error) {
      this.roundError = error;
    }
  }

  private async read(shardId: string, iterator: string): Promise<TailRow[]> {
    try {
      const result = await this.client.getRecords({ ShardIterator: iterator, Limit: RECORDS_PER_READ_MAX });
      if (result.NextShardIterator !== undefined) this.iterators.set(shardId, result.NextShardIterator);
      else {
        this.iterators.delete(shardId);
        for (const child of (result.ChildShards ?? []) as Array<{ ShardId: string }>) this.toFollowOnce(child.ShardId, 'TRIM_HORIZON');
      }
      return result.Records.flatMap((record) => rowsOf(shardId, record));
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        this.iterators.delete(shardId);
        this.toFollow.set(shardId, 'LATEST');
      } else this.roundError = error;
      return [];
    }
  }

  private toFollowOnce(shardId: string, from: 'LATEST' | 'TRIM_HORIZON'): void {
    if (this.followed.has(shardId)) return;
    this.followed.add(shardId);
    this.toFollow.set(shardId, from);
  }

  private async follow(shardId: string, from: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    try {
      const request = { StreamName: this.streamName, ShardId: shardId, ShardIteratorType: from } as const;
      this.iterators.set(shardId, (await this.client.call('GetShardIterator', request)).ShardIterator);
      this.toFollow.delete(shardId);
    } catch (error) {
      this.roundError = error;
    }
  }

  private setState(state: TailState): void {
    this.state = state;
    this.report();
  }

  private report(): void {
    this.listener.onProgress({ state: this.state, rounds: this.rounds, shards: this.iterators.size, error: this.roundError });
  }
}

/** A Kinesis record as rows: one, or a KPL aggregate's user records, one each. */
function rowsOf(shardId: string, record: ClientKinesisRecord): TailRow[] {
  const base = {
    shardId,
    sequenceNumber: record.SequenceNumber,
    arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
  };
  const unpacked = hasMagic(record.Data) ? deaggregate(record.Data) : null;
  // The record is a view of the received frame: a copy lets the frame go.
  if (unpacked === null)
    return [
      {
        ...base,
        key: `${shardId}/${record.SequenceNumber}`,
        subSequenceNumber: null,
        partitionKey: record.PartitionKey,
        data: record.Data.slice(),
      },
    ];
  return unpacked.map((user) => ({
    ...base,
    key: `${shardId}/${record.SequenceNumber}/${user.subSequenceNumber}`,
    subSequenceNumber: user.subSequenceNumber,
    partitionKey: user.partitionKey,
    data: user.data.slice(),
  }));
}
