import assert from 'node:assert/strict';
import {
  CONSUMERS_PER_STREAM_MAX,
  GET_RECORDS_BYTES_MAX,
  ON_DEMAND_WRITE_BYTES_PER_SEC,
  ON_DEMAND_WRITE_RECORDS_PER_SEC,
  PROVISIONED_WRITE_BYTES_PER_SEC,
  PROVISIONED_WRITE_RECORDS_PER_SEC,
  PUT_RECORDS_RECORDS_MAX,
  READ_BYTES_PER_SEC,
  READ_CALLS_PER_SEC,
  SUBSCRIPTION_BYTES_PER_SEC,
} from '../limits.js';

/*
 * The per-shard throughput limits of Kinesis Data Streams, enforced with token buckets on an
 * injected clock (milliseconds) so that tests, and a simulated clock, are deterministic.
 *
 * Each limit is one bucket whose capacity is one second of its rate: a shard that has been idle
 * accepts a burst of up to one second's allowance at once, and after that exactly the rate. The
 * balance refills continuously with elapsed time and never rises above the capacity; fractional
 * tokens are kept (exactly, in thousandths), so no rounding drifts the long-run rate.
 *
 * Writes (PutRecord/PutRecords) pay bytes and records; both must be affordable for an entry to be
 * admitted. Reads are different: GetRecords learns its size only after reading, so a call needs
 * one call token and a non-negative bytes balance, and the bytes it returned are charged
 * afterwards, possibly driving the balance below zero. That is how Kinesis behaves: a GetRecords
 * call may return up to 10 MiB, and the calls that follow are throttled until the shard has
 * earned those bytes back at 2 MiB/s. Enhanced fan-out consumers are charged the same way, each
 * against its own bucket.
 *
 * The rates are Kinesis' (src/limits.ts). A PutRecords bounds one admission (500 entries), a
 * GetRecords one charge (10 MiB, so the negative balance), and the 20 consumers of a stream the
 * subscriptions of a shard: reaching past them here is a programmer error (an assert).
 *
 * This module decides; it does not throw. The caller turns a rejection into
 * ProvisionedThroughputExceededException (or a per-entry error code for PutRecords).
 *
 * The clock is bounded: a `nowMs` earlier than one already seen counts as no time passing (the
 * bucket keeps the later time), so a clock that steps backwards and forwards again mints nothing.
 */

export type ShardCapacityMode = 'PROVISIONED' | 'ON_DEMAND';

/**
 * How fast `utilization` forgets: admitted throughput is averaged with an exponential kernel of
 * this time constant. 5 s smooths 10 ms jitter and one-second bursts, yet a shard that turns
 * busy reads as 86% busy after 10 s and 98% after 20 s.
 */
export const UTILIZATION_TIME_CONSTANT_MS = 5000;

interface WriteLimits {
  readonly bytesPerSec: number;
  readonly recordsPerSec: number;
}

function writeLimitsOf(mode: ShardCapacityMode): WriteLimits {
  switch (mode) {
    case 'PROVISIONED':
      return { bytesPerSec: PROVISIONED_WRITE_BYTES_PER_SEC, recordsPerSec: PROVISIONED_WRITE_RECORDS_PER_SEC };
    case 'ON_DEMAND':
      return { bytesPerSec: ON_DEMAND_WRITE_BYTES_PER_SEC, recordsPerSec: ON_DEMAND_WRITE_RECORDS_PER_SEC };
  }
}

function assertTime(nowMs: number): void {
  assert.ok(Number.isFinite(nowMs), `the clock must be a finite number of milliseconds, got ${nowMs}`);
}

function assertAmount(amount: number, what: string): void {
  assert.ok(Number.isFinite(amount) && amount >= 0, `${what} must be a finite non-negative number, got ${amount}`);
}

/**
 * One limit: capacity = one second of the rate. The balance stays at or below the capacity; it
 * goes below zero only through `charge`, by at most one charge's bound.
 *
 * The balance is kept in thousandths of a token: one millisecond then earns exactly `ratePerSec`
 * of them, so with a clock of whole milliseconds every balance is an integer (below 2^53) and
 * refilling in many small steps earns exactly what one large step would. With fractional tokens
 * held as floats, a bucket refilled every 10 ms drifted a hair below zero at the instant it
 * should have reached it.
 */
class TokenBucket {
  private ratePerSec: number;
  private balanceMilli: number;
  private lastMs: number;

  constructor(ratePerSec: number, nowMs: number) {
    this.ratePerSec = ratePerSec;
    this.balanceMilli = ratePerSec * 1000;
    this.lastMs = nowMs;
  }

  /** Refills for the time elapsed since the latest time seen; an earlier `nowMs` earns nothing. */
  refill(nowMs: number): void {
    assertTime(nowMs);
    if (nowMs > this.lastMs) {
      this.balanceMilli = Math.min(this.ratePerSec * 1000, this.balanceMilli + (nowMs - this.lastMs) * this.ratePerSec);
      this.lastMs = nowMs;
    }
  }

  /** Whether the balance, as of the latest refill, is at least `amount` tokens. */
  covers(amount: number): boolean {
    return this.balanceMilli >= amount * 1000;
  }

  /** Pays `amount` tokens, possibly going negative: the caller checked what it needed. */
  charge(amount: number): void {
    this.balanceMilli -= amount * 1000;
  }

  /** A new rate from `nowMs` on: time before it was earned at the old rate; the balance is clamped. */
  setRate(ratePerSec: number, nowMs: number): void {
    this.refill(nowMs);
    this.ratePerSec = ratePerSec;
    this.balanceMilli = Math.min(this.balanceMilli, ratePerSec * 1000);
  }
}

/**
 * An exponentially decaying sum of admitted amounts. A steady rate r makes the sum converge to
 * r * tau, so sum / tau estimates the recent rate per millisecond.
 */
class DecayingRate {
  private sum = 0;
  private lastMs: number;

  constructor(nowMs: number) {
    this.lastMs = nowMs;
  }

  private decayTo(nowMs: number): void {
    if (nowMs > this.lastMs) {
      this.sum *= Math.exp(-(nowMs - this.lastMs) / UTILIZATION_TIME_CONSTANT_MS);
      this.lastMs = nowMs;
    }
  }

  add(amount: number, nowMs: number): void {
    this.decayTo(nowMs);
    this.sum += amount;
  }

  perSec(nowMs: number): number {
    this.decayTo(nowMs);
    return (this.sum / UTILIZATION_TIME_CONSTANT_MS) * 1000;
  }
}

/**
 * The throughput limits of one shard. One instance per open shard, owned by the shard's worker
 * and called on its thread only; every method takes the current time from the caller.
 */
export class ShardThroughput {
  private modeValue: ShardCapacityMode;
  private readonly writeBytes: TokenBucket;
  private readonly writeRecords: TokenBucket;
  private readonly readBytes: TokenBucket;
  private readonly readCalls: TokenBucket;
  private readonly subscriptions = new Map<string, TokenBucket>();
  private readonly admittedBytes: DecayingRate;
  private readonly admittedRecords: DecayingRate;

  constructor(mode: ShardCapacityMode, nowMs: number) {
    assertTime(nowMs);
    this.modeValue = mode;
    const limits = writeLimitsOf(mode);
    this.writeBytes = new TokenBucket(limits.bytesPerSec, nowMs);
    this.writeRecords = new TokenBucket(limits.recordsPerSec, nowMs);
    this.readBytes = new TokenBucket(READ_BYTES_PER_SEC, nowMs);
    this.readCalls = new TokenBucket(READ_CALLS_PER_SEC, nowMs);
    this.admittedBytes = new DecayingRate(nowMs);
    this.admittedRecords = new DecayingRate(nowMs);
  }

  get mode(): ShardCapacityMode {
    return this.modeValue;
  }

  /**
   * Decides a PutRecords batch entry by entry, in order, as Kinesis does: an entry is admitted
   * when both the bytes and the records balance can pay for it, and only an admitted entry pays.
   * A rejected entry does not stop the batch; a later, smaller entry may still fit. Sizes are
   * partition key bytes plus data bytes. An entry larger than one second's byte allowance is
   * never admitted; the API's 1 MiB record limit keeps entries within it.
   */
  admitRecords(recordBytes: readonly number[], nowMs: number): boolean[] {
    assert.ok(
      recordBytes.length <= PUT_RECORDS_RECORDS_MAX,
      `a batch holds at most ${PUT_RECORDS_RECORDS_MAX} entries, got ${recordBytes.length}`,
    );
    this.writeBytes.refill(nowMs);
    this.writeRecords.refill(nowMs);
    const admitted = new Array<boolean>(recordBytes.length);
    let bytesAdmitted = 0;
    let recordsAdmitted = 0;
    for (let i = 0; i < recordBytes.length; i++) {
      const bytes = recordBytes[i]!;
      assertAmount(bytes, `record ${i} size`);
      const fits = this.writeBytes.covers(bytes) && this.writeRecords.covers(1);
      admitted[i] = fits;
      if (fits) {
        this.writeBytes.charge(bytes);
        this.writeRecords.charge(1);
        bytesAdmitted += bytes;
        recordsAdmitted += 1;
      }
    }
    this.admittedBytes.add(bytesAdmitted, nowMs);
    this.admittedRecords.add(recordsAdmitted, nowMs);
    return admitted;
  }

  /**
   * Admits one GetRecords call: it needs a call token (5 per second) and a non-negative read
   * bytes balance. The call pays its token now and its bytes afterwards, through `chargeRead`.
   */
  admitRead(nowMs: number): boolean {
    this.readCalls.refill(nowMs);
    this.readBytes.refill(nowMs);
    if (!this.readCalls.covers(1) || !this.readBytes.covers(0)) return false;
    this.readCalls.charge(1);
    return true;
  }

  /**
   * Charges the bytes an admitted GetRecords call returned. The balance may go negative: one call
   * may return up to 10 MiB, five seconds of the 2 MiB/s rate, and further calls are refused until
   * the balance is back at zero. So a 10 MiB read blocks the shard's reads for 5 s when the shard
   * had been reading at its limit (balance near zero), or for 4 s from a full, idle bucket (its
   * 2 MiB burst pays for the first second). Since a call is admitted only at a non-negative
   * balance, the balance never falls below -GET_RECORDS_BYTES_MAX.
   */
  chargeRead(bytes: number, nowMs: number): void {
    assertAmount(bytes, 'read size');
    assert.ok(bytes <= GET_RECORDS_BYTES_MAX, `a read returns at most ${GET_RECORDS_BYTES_MAX} bytes, got ${bytes}`);
    this.readBytes.refill(nowMs);
    this.readBytes.charge(bytes);
  }

  /**
   * Gives an enhanced fan-out consumer its own 2 MiB/s bucket on this shard. Registering again is
   * a no-op that keeps the balance: a consumer resubscribes every 5 minutes and must not earn a
   * fresh burst each time.
   */
  registerConsumer(consumerId: string, nowMs: number): void {
    assertTime(nowMs);
    if (this.subscriptions.has(consumerId)) return;
    assert.ok(this.subscriptions.size < CONSUMERS_PER_STREAM_MAX, `a shard pushes to at most ${CONSUMERS_PER_STREAM_MAX} consumers`);
    this.subscriptions.set(consumerId, new TokenBucket(SUBSCRIPTION_BYTES_PER_SEC, nowMs));
  }

  /** Forgets a consumer (DeregisterStreamConsumer). Unknown ids are ignored. */
  deregisterConsumer(consumerId: string): void {
    this.subscriptions.delete(consumerId);
  }

  get consumerCount(): number {
    return this.subscriptions.size;
  }

  /**
   * Admits pushing `bytes` to a registered consumer when its balance is non-negative, and charges
   * them, possibly below zero, exactly as `chargeRead` does: the push loop sends whole events,
   * and the consumer then waits until it has earned them. Returns false, charging nothing,
   * while the balance is negative.
   */
  admitSubscriptionBytes(consumerId: string, bytes: number, nowMs: number): boolean {
    const bucket = this.subscriptions.get(consumerId);
    assert.ok(bucket !== undefined, `consumer ${consumerId} is not registered on this shard`);
    assertAmount(bytes, 'event size');
    assert.ok(bytes <= GET_RECORDS_BYTES_MAX, `an event holds at most ${GET_RECORDS_BYTES_MAX} bytes, got ${bytes}`);
    bucket.refill(nowMs);
    if (!bucket.covers(0)) return false;
    bucket.charge(bytes);
    return true;
  }

  /**
   * Switches the write capacity (UpdateStreamMode). Time before `nowMs` is earned at the old
   * rates; the balances carry over, clamped to the new capacity, so a switch neither mints a
   * burst nor forgives a debt. Read limits do not depend on the mode.
   */
  setMode(mode: ShardCapacityMode, nowMs: number): void {
    const limits = writeLimitsOf(mode);
    this.writeBytes.setRate(limits.bytesPerSec, nowMs);
    this.writeRecords.setRate(limits.recordsPerSec, nowMs);
    this.modeValue = mode;
  }

  /**
   * The fraction of the write capacity used recently, for ON_DEMAND scaling: the exponentially
   * averaged admitted bytes/s and records/s (time constant UTILIZATION_TIME_CONSTANT_MS), each
   * divided by its current limit, whichever is higher. Only admitted writes count, so a throttled
   * shard reads as about 1 (a one-second burst can lift it a little above); the caller sees the
   * rejections themselves in `admitRecords`' answers.
   */
  utilization(nowMs: number): number {
    assertTime(nowMs);
    const limits = writeLimitsOf(this.modeValue);
    return Math.max(this.admittedBytes.perSec(nowMs) / limits.bytesPerSec, this.admittedRecords.perSec(nowMs) / limits.recordsPerSec);
  }
}
