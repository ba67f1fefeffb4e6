/*
 * The open windows of a query and their aggregates (docs/QUERIES.md, "Windows"). Tumbling and
 * hopping windows are aligned to the epoch, [start, end), and are found by their end; session
 * windows are per group, [first record, last record + gap), and merge when a record bridges two.
 * A window is closed once its end is at or before `closedBefore` (the watermark less the grace
 * period): a record whose windows are all closed is late, and adds to none.
 */
import assert from 'node:assert/strict';
import type { WindowSpec } from './ast.js';
import type { Accumulator, Value } from './plan_types.js';

export interface WindowState {
  start: number;
  end: number;
  readonly keys: readonly Value[];
  readonly keyText: string;
  readonly accumulators: Accumulator[];
}

/** The form a checkpoint keeps a window in. */
export interface WindowSnapshot {
  readonly start: number;
  readonly end: number;
  readonly keys: readonly Value[];
  readonly accumulators: readonly unknown[];
}

export interface WindowFactory {
  create(): Accumulator[];
  restore(snapshots: readonly unknown[]): Accumulator[];
}

export abstract class WindowStore {
  constructor(protected readonly factory: WindowFactory) {}

  /** Adds the values to each of the record's windows still open; false when none is (the record is late). */
  abstract add(timeMs: number, keys: readonly Value[], keyText: string, values: readonly Value[], closedBefore: number): boolean;

  /** Removes and returns the windows closed at `closedBefore`, by end, then start, then first record. */
  abstract close(closedBefore: number): WindowState[];

  abstract get size(): number;

  abstract windows(): Iterable<WindowState>;

  snapshot(): WindowSnapshot[] {
    return [...this.windows()].map((window) => ({
      start: window.start,
      end: window.end,
      keys: window.keys,
      accumulators: window.accumulators.map((accumulator) => accumulator.snapshot()),
    }));
  }

  restore(snapshots: readonly WindowSnapshot[]): void {
    for (const snapshot of snapshots) {
      const window: WindowState = {
        start: snapshot.start,
        end: snapshot.end,
        keys: snapshot.keys,
        keyText: JSON.stringify(snapshot.keys),
        accumulators: this.factory.restore(snapshot.accumulators),
      };
      this.insert(window);
    }
  }

  protected abstract insert(window: WindowState): void;
}

export function windowStore(spec: WindowSpec, factory: WindowFactory): WindowStore {
  switch (spec.kind) {
    case 'tumble':
      return new AlignedWindows(factory, spec.sizeMs, spec.sizeMs);
    case 'hop':
      return new AlignedWindows(factory, spec.sizeMs, spec.slideMs);
    case 'session':
      return new SessionWindows(factory, spec.gapMs);
  }
}

function addAll(accumulators: readonly Accumulator[], values: readonly Value[]): void {
  for (let index = 0; index < accumulators.length; index++) accumulators[index]!.add(values[index]!);
}

/** Tumbling (slide = size) and hopping windows: a record is in the size / slide windows that start within size before it. */
class AlignedWindows extends WindowStore {
  private readonly byEnd = new Map<number, Map<string, WindowState>>();
  private count = 0;

  constructor(
    factory: WindowFactory,
    private readonly sizeMs: number,
    private readonly slideMs: number,
  ) {
    super(factory);
  }

  get size(): number {
    return this.count;
  }

  add(timeMs: number, keys: readonly Value[], keyText: string, values: readonly Value[], closedBefore: number): boolean {
    let added = false;
    for (let start = Math.floor(timeMs / this.slideMs) * this.slideMs; start > timeMs - this.sizeMs; start -= this.slideMs) {
      const end = start + this.sizeMs;
      if (end <= closedBefore) break; // earlier starts end earlier still
      addAll(this.windowAt(start, end, keys, keyText).accumulators, values);
      added = true;
    }
    return added;
  }

  close(closedBefore: number): WindowState[] {
    const ends = [...this.byEnd.keys()].filter((end) => end <= closedBefore).sort((a, b) => a - b);
    const closed: WindowState[] = [];
    for (const end of ends) {
      const windows = this.byEnd.get(end)!;
      this.byEnd.delete(end);
      this.count -= windows.size;
      closed.push(...windows.values());
    }
    return closed;
  }

  *windows(): Iterable<WindowState> {
    for (const windows of this.byEnd.values()) yield* windows.values();
  }

  protected insert(window: WindowState): void {
    let windows = this.byEnd.get(window.end);
    if (windows === undefined) this.byEnd.set(window.end, (windows = new Map()));
    assert(!windows.has(window.keyText), 'one window per end and group');
    windows.set(window.keyText, window);
    this.count++;
  }

  private windowAt(start: number, end: number, keys: readonly Value[], keyText: string): WindowState {
    const existing = this.byEnd.get(end)?.get(keyText);
    if (existing !== undefined) return existing;
    const window: WindowState = { start, end, keys, keyText, accumulators: this.factory.create() };
    this.insert(window);
    return window;
  }
}

/** Session windows: per group, sorted by start, never overlapping. */
class SessionWindows extends WindowStore {
  private readonly byGroup = new Map<string, WindowState[]>();
  private count = 0;

  constructor(
    factory: WindowFactory,
    private readonly gapMs: number,
  ) {
    super(factory);
  }

  get size(): number {
    return this.count;
  }

  add(timeMs: number, keys: readonly Value[], keyText: string, values: readonly Value[], closedBefore: number): boolean {
    const sessions = this.byGroup.get(keyText) ?? [];
    const overlapping = sessions.filter((session) => session.start < timeMs + this.gapMs && timeMs < session.end);
    if (overlapping.length === 0 && timeMs + this.gapMs <= closedBefore) return false;
    const merged = overlapping.length === 0 ? this.open(timeMs, keys, keyText) : this.merge(overlapping);
    merged.start = Math.min(merged.start, timeMs);
    merged.end = Math.max(merged.end, timeMs + this.gapMs);
    addAll(merged.accumulators, values);
    if (overlapping.length === 0) this.insert(merged);
    return true;
  }

  close(closedBefore: number): WindowState[] {
    const closed: WindowState[] = [];
    for (const [keyText, sessions] of this.byGroup) {
      const open = sessions.filter((session) => session.end > closedBefore);
      if (open.length === sessions.length) continue;
      closed.push(...sessions.filter((session) => session.end <= closedBefore));
      if (open.length === 0) this.byGroup.delete(keyText);
      else this.byGroup.set(keyText, open);
    }
    this.count -= closed.length;
    return closed.sort((a, b) => a.end - b.end || a.start - b.start);
  }

  *windows(): Iterable<WindowState> {
    for (const sessions of this.byGroup.values()) yield* sessions;
  }

  protected insert(window: WindowState): void {
    const sessions = this.byGroup.get(window.keyText) ?? [];
    sessions.push(window);
    sessions.sort((a, b) => a.start - b.start);
    this.byGroup.set(window.keyText, sessions);
    this.count++;
  }

  private open(timeMs: number, keys: readonly Value[], keyText: string): WindowState {
    return { start: timeMs, end: timeMs + this.gapMs, keys, keyText, accumulators: this.factory.create() };
  }

  /** A record that bridges sessions makes them one: the first keeps the others' aggregates. */
  private merge(overlapping: readonly WindowState[]): WindowState {
    const [first, ...rest] = overlapping as [WindowState, ...WindowState[]];
    if (rest.length === 0) return first;
    for (const other of rest) {
      first.start = Math.min(first.start, other.start);
      first.end = Math.max(first.end, other.end);
      first.accumulators.forEach((accumulator, index) => accumulator.merge(other.accumulators[index]!));
    }
    const sessions = this.byGroup.get(first.keyText)!.filter((session) => !rest.includes(session));
    this.byGroup.set(first.keyText, sessions);
    this.count -= rest.length;
    return first;
  }
}
