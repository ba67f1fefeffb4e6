import {
  ON_DEMAND_WRITE_BYTES_PER_SEC,
  ON_DEMAND_WRITE_RECORDS_PER_SEC,
  PROVISIONED_WRITE_BYTES_PER_SEC,
  PROVISIONED_WRITE_RECORDS_PER_SEC,
} from '../limits.js';
import type { StreamCapacityMode } from './producer_sink.js';

/*
 * The KPL's RateLimit: records bound for one shard are sent no faster than a percentage of the
 * shard's write limit (1 MiB/s and 1,000 records/s provisioned; shardline's on-demand shards take
 * four times that, src/limits.ts), in records and in bytes, so a producer that outruns a stream
 * waits here instead of being throttled. Each limit is a token bucket holding one second of its
 * rate, as the server's are (src/streams/shard_throughput.ts), full at first.
 *
 * A record waits only behind the records of its own shard, in the order they came; a record
 * larger than a bucket holds is let through once the bucket is full, and drives it negative.
 */

class Bucket {
  private balance: number;
  private last: number;

  constructor(
    private readonly perMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.balance = capacity;
    this.last = now;
  }

  /** Milliseconds until `amount` is affordable (0: now). */
  waitFor(amount: number, now: number): number {
    this.balance = Math.min(this.capacity, this.balance + (now - this.last) * this.perMs);
    this.last = now;
    const needed = Math.min(amount, this.capacity);
    return this.balance >= needed ? 0 : (needed - this.balance) / this.perMs;
  }

  pay(amount: number): void {
    this.balance -= amount;
  }
}

interface Waiting {
  readonly bytes: number;
  readonly send: () => void;
}

class ShardLane {
  readonly waiting: Waiting[] = [];
  timer: ReturnType<typeof setTimeout> | null = null;
  private readonly records: Bucket;
  private readonly bytes: Bucket;

  constructor(recordsPerSec: number, bytesPerSec: number, now: number) {
    this.records = new Bucket(recordsPerSec / 1000, recordsPerSec, now);
    this.bytes = new Bucket(bytesPerSec / 1000, bytesPerSec, now);
  }

  /** Pays for the record and returns 0, or returns how long until it can be paid for. */
  tryPay(bytes: number, now: number): number {
    const wait = Math.max(this.records.waitFor(1, now), this.bytes.waitFor(bytes, now));
    if (wait > 0) return wait;
    this.records.pay(1);
    this.bytes.pay(bytes);
    return 0;
  }
}

export class RateLimiter {
  private readonly lanes = new Map<string, ShardLane>();

  /** `percent` of each shard's limit; `now` in milliseconds (performance.now by default). */
  constructor(
    private readonly percent: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `send` once the shard's rate allows a record of `bytes` (partition key and data): now, or later in order. */
  schedule(laneKey: string, mode: StreamCapacityMode, bytes: number, send: () => void): void {
    const lane = this.laneOf(laneKey, mode);
    lane.waiting.push({ bytes, send });
    if (lane.waiting.length === 1) this.drain(lane);
  }

  /** Records waiting for their shard's rate. */
  get waiting(): number {
    let count = 0;
    for (const lane of this.lanes.values()) count += lane.waiting.length;
    return count;
  }

  private drain(lane: ShardLane): void {
    lane.timer = null;
    const now = this.now();
    while (lane.waiting.length > 0) {
      const wait = lane.tryPay(lane.waiting[0]!.bytes, now);
      if (wait > 0) {
        this.drainLater(lane, wait);
        return;
      }
      lane.waiting.shift()!.send();
    }
  }

  private drainLater(lane: ShardLane, waitMs: number): void {
    lane.timer = setTimeout(() => this.drain(lane), Math.max(1, Math.ceil(waitMs)));
  }

  private laneOf(key: string, mode: StreamCapacityMode): ShardLane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      const share = this.percent / 100;
      const limits =
        mode === 'ON_DEMAND'
          ? { records: ON_DEMAND_WRITE_RECORDS_PER_SEC, bytes: ON_DEMAND_WRITE_BYTES_PER_SEC }
          : { records: PROVISIONED_WRITE_RECORDS_PER_SEC, bytes: PROVISIONED_WRITE_BYTES_PER_SEC };
      lane = new ShardLane(limits.records * share, limits.bytes * share, this.now());
      this.lanes.set(key, lane);
    }
    return lane;
  }
}
