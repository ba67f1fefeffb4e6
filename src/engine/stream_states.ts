import type { StateDurations } from '../config.js';
import type { StreamStatus } from '../streams/stream_records.js';
import type { StreamView } from './catalog.js';
import type { EngineContext } from './engine_context.js';

/*
 * Realistic state durations (docs/TESTING.md, "Realistic state durations"): with the engine's
 * createStreamMs, updateStreamMs or deleteStreamMs, a stream stays CREATING, UPDATING or
 * DELETING that long by the engine's clock before its state ends. The work behind the state is
 * done when the state begins (the shards opened, the reshard's children routed and parents
 * sealed, the delete begun) and persisted; only the end waits. A timer ends it at real time's
 * pace, and an advance of the manual clock ends at once every state it has carried past its due
 * time. An end persists what it changes; an end not run when the engine closed (or crashed) is
 * run by the next open, which finishes CREATING, UPDATING and DELETING streams, so the states
 * stay as crash-safe as the steps behind them.
 */

interface Pending {
  /** The state the end expects: a stream deleted or changed meanwhile is left alone. */
  readonly status: StreamStatus;
  readonly stream: StreamView;
  readonly dueMs: number;
  readonly finish: () => Promise<void>;
  timer: NodeJS.Timeout | null;
}

export class StreamStates {
  /** By stream id: a stream is in one passing state at a time. */
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly context: EngineContext) {}

  get durations(): StateDurations {
    return this.context.options.stateDurations;
  }

  /**
   * Runs `finish` once `ms` of the engine's clock have passed, if the stream is still the
   * catalog's and still `status`; it replaces the stream's earlier pending end (a delete overtakes
   * an update's end).
   */
  endLater(stream: StreamView, status: StreamStatus, ms: number, finish: () => Promise<void>): void {
    this.cancel(stream.id);
    const entry: Pending = { status, stream, dueMs: this.context.options.clock() + ms, finish, timer: null };
    this.pending.set(stream.id, entry);
    this.arm(entry);
  }

  /** An UPDATING stream whose work is done (a reshard's steps 1 to 3) goes ACTIVE at the end of the update duration. */
  endUpdateLater(stream: StreamView): void {
    this.endLater(stream, 'UPDATING', this.durations.updateStreamMs, async () => {
      this.context.catalog.endReshard(stream);
      await this.context.catalog.save();
    });
  }

  /** An ACTIVE stream just updated (UpdateShardCount done, its mode or encryption changed) stays UPDATING for the update duration. */
  async holdUpdating(stream: StreamView): Promise<void> {
    const { catalog } = this.context;
    if (this.durations.updateStreamMs === 0 || catalog.get(stream.name) !== stream || stream.status !== 'ACTIVE') return;
    catalog.beginUpdate(stream);
    this.endUpdateLater(stream);
    await catalog.save();
  }

  /** Ends every state whose due time the clock has passed (it was advanced); resolves once they are persisted. */
  async endDue(): Promise<void> {
    const nowMs = this.context.options.clock();
    await Promise.all([...this.pending.values()].filter((entry) => entry.dueMs <= nowMs).map((entry) => this.run(entry)));
  }

  /** The engine is closing: no end starts from now on, those running are waited for; the next open ends the rest. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.pending.keys()]) this.cancel(id);
    await Promise.all(this.running);
  }

  /** A timer at the due time; a clock behind real time (a test's own function) is looked at again then. */
  private arm(entry: Pending): void {
    const waitMs = Math.max(0, entry.dueMs - this.context.options.clock());
    entry.timer = setTimeout(() => {
      if (this.context.options.clock() >= entry.dueMs) void this.run(entry);
      else this.arm(entry);
    }, waitMs).unref();
  }

  private run(entry: Pending): Promise<void> {
    const { stream, status } = entry;
    if (this.stopped || this.pending.get(stream.id) !== entry) return Promise.resolve();
    this.cancel(stream.id);
    if (this.context.catalog.get(stream.name) !== stream || stream.status !== status) return Promise.resolve();
    // A failed end (the disk) leaves the stream in its state, persisted: the next open ends it.
    const running: Promise<void> = entry
      .finish()
      .catch(() => undefined)
      .finally(() => this.running.delete(running));
    this.running.add(running);
    return running;
  }

  private cancel(streamId: string): void {
    const entry = this.pending.get(streamId);
    if (entry !== undefined && entry.timer !== null) clearTimeout(entry.timer);
    this.pending.delete(streamId);
  }
}
