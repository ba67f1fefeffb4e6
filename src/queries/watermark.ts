/*
 * How far a query's time has certainly come (docs/QUERIES.md, "Time"). Each shard of the source
 * counts the newest time it has delivered, and the watermark is the oldest of those: a shard whose
 * records come later holds it back, so a record that is in order within its shard is never late
 * because another shard was read first. A shard that is read to its end and has delivered no
 * record for the idle timeout stops holding it (else a quiet shard would keep every window open);
 * when a quiet shard wakes, the other quiet ones hold the watermark again for an idle timeout, so
 * a burst over all shards is not judged by the first shard read. ROWTIME (arrival time) needs no
 * idle rule: a shard read to its end is known up to now, less ROWTIME_SLACK_MS for a record between
 * its arrival stamp and its delivery (the reads are pushed). The watermark never goes back.
 */

/** A record is stamped as its batch begins, and reaches the query after its commit and a thread hop. */
export const ROWTIME_SLACK_MS = 250;

interface ShardTime {
  /** The newest time delivered; -Infinity before the first record. */
  newestMs: number;
  /** The last read reached the shard's end. */
  caughtUp: boolean;
  /** When the shard last delivered a record (or was first expected), on the engine's clock. */
  activeAtMs: number;
}

export interface WatermarkSnapshot {
  readonly watermarkMs: number | null;
  readonly newestMs: number | null;
  readonly shards: Readonly<Record<string, number | null>>;
}

export class Watermark {
  private readonly shards = new Map<string, ShardTime>();
  private watermarkMs = -Infinity;
  /** The newest time any shard delivered. */
  private newestMs = -Infinity;

  constructor(
    private readonly rowtime: boolean,
    private readonly idleMs: number,
  ) {}

  get currentMs(): number {
    return this.watermarkMs;
  }

  /** A shard that must report before the watermark may pass it (a listed shard, a child). */
  expect(shardId: string, nowMs: number): void {
    if (!this.shards.has(shardId)) this.shards.set(shardId, { newestMs: -Infinity, caughtUp: false, activeAtMs: nowMs });
  }

  /** A read of the shard was processed: the newest time in it (-Infinity: none), and whether it reached the shard's end. */
  delivered(shardId: string, newestMs: number, caughtUp: boolean, nowMs: number): void {
    let shard = this.shards.get(shardId);
    if (shard === undefined) this.shards.set(shardId, (shard = { newestMs: -Infinity, caughtUp, activeAtMs: nowMs }));
    shard.caughtUp = caughtUp;
    if (newestMs === -Infinity) return;
    if (this.idle(shard, nowMs)) for (const other of this.shards.values()) if (this.idle(other, nowMs)) other.activeAtMs = nowMs;
    shard.activeAtMs = nowMs;
    shard.newestMs = Math.max(shard.newestMs, newestMs);
    this.newestMs = Math.max(this.newestMs, newestMs);
  }

  /** The shard is done (its children are expected in its place). */
  ended(shardId: string): void {
    this.shards.delete(shardId);
  }

  /** The watermark at `nowMs`: it only moves forward. */
  advance(nowMs: number): number {
    let bound = Infinity;
    for (const shard of this.shards.values()) bound = Math.min(bound, this.boundOf(shard, nowMs));
    if (bound === Infinity) bound = this.rowtime ? nowMs - ROWTIME_SLACK_MS : this.newestMs;
    this.watermarkMs = Math.max(this.watermarkMs, bound);
    return this.watermarkMs;
  }

  snapshot(): WatermarkSnapshot {
    return {
      watermarkMs: finiteOrNull(this.watermarkMs),
      newestMs: finiteOrNull(this.newestMs),
      shards: Object.fromEntries([...this.shards].map(([shardId, shard]) => [shardId, finiteOrNull(shard.newestMs)])),
    };
  }

  /** After a restart every shard is behind until its first read says otherwise. */
  static restore(rowtime: boolean, idleMs: number, snapshot: WatermarkSnapshot, nowMs: number): Watermark {
    const watermark = new Watermark(rowtime, idleMs);
    watermark.watermarkMs = snapshot.watermarkMs ?? -Infinity;
    watermark.newestMs = snapshot.newestMs ?? -Infinity;
    for (const [shardId, newestMs] of Object.entries(snapshot.shards))
      watermark.shards.set(shardId, { newestMs: newestMs ?? -Infinity, caughtUp: false, activeAtMs: nowMs });
    return watermark;
  }

  private idle(shard: ShardTime, nowMs: number): boolean {
    return shard.caughtUp && nowMs - shard.activeAtMs >= this.idleMs;
  }

  private boundOf(shard: ShardTime, nowMs: number): number {
    if (this.rowtime) return shard.caughtUp ? Math.max(shard.newestMs, nowMs - ROWTIME_SLACK_MS) : shard.newestMs;
    return this.idle(shard, nowMs) ? Infinity : shard.newestMs;
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
