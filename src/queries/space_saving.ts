/*
 * Space-Saving (Metwally, Agrawal and El Abbadi, "Efficient computation of frequent and top-k
 * elements in data streams", 2005) for TOP_K: a fixed number of counters; an item without one
 * takes over the smallest counter, inheriting its count as its possible error. So every estimate
 * is at least the item's true count and at most `error` above it, and `error` is at most the
 * smallest count, itself at most N / capacity for N items added. Every item counted more than
 * N / capacity times has a counter.
 *
 * The counters are a min-heap by count. Which of equal smallest counters is taken over depends
 * on the heap's order, so a snapshot keeps that order, and a restored summary goes on exactly as
 * the original would.
 */

export interface Counter<T> {
  /** The item as it came (the first of its key since it took this counter). */
  readonly item: T;
  readonly count: number;
  /** How much of count may be another item's: count - error <= the true count <= count. */
  readonly error: number;
}

interface Slot<T> {
  key: unknown;
  item: T;
  count: number;
  error: number;
  /** Where in the heap. */
  at: number;
}

/** [item, count, error] per counter, in heap order. */
export type SpaceSavingSnapshot<T> = readonly (readonly [T, number, number])[];

export class SpaceSaving<T> {
  private heap: Slot<T>[] = [];
  private readonly slots = new Map<unknown, Slot<T>>();

  /** `keyOf` gives the item's identity as a Map key (SameValueZero). */
  constructor(
    private readonly capacity: number,
    private readonly keyOf: (item: T) => unknown,
  ) {}

  add(item: T): void {
    const key = this.keyOf(item);
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      slot.count++;
      this.siftDown(slot.at);
    } else if (this.heap.length < this.capacity) {
      this.push({ key, item, count: 1, error: 0, at: this.heap.length });
    } else {
      this.takeOver(key, item);
    }
  }

  /**
   * Folds another summary in (two session windows becoming one). An item that one side has no
   * counter for may have been counted there as often as that side's smallest count (none, if the
   * side is not full), so it is given that much, as count and as error: every count stays at
   * least the true one and at most its error above it. The errors add up: after merging two
   * summaries, an error is at most N / capacity for the N items of both, but later merges and
   * adds can take it past that. The largest `capacity` counts are kept.
   */
  merge(other: SpaceSaving<T>): void {
    const mine = this.smallest();
    const theirs = other.smallest();
    const union = this.heap.map((slot) => {
      const match = other.slots.get(slot.key);
      return { ...slot, count: slot.count + (match?.count ?? theirs), error: slot.error + (match?.error ?? theirs) };
    });
    for (const slot of other.heap) {
      if (!this.slots.has(slot.key)) union.push({ ...slot, count: slot.count + mine, error: slot.error + mine });
    }
    // Sorted by ascending count, the kept counters are a heap already.
    this.heap = union
      .sort((a, b) => b.count - a.count)
      .slice(0, this.capacity)
      .reverse();
    this.slots.clear();
    this.heap.forEach((slot, at) => {
      slot.at = at;
      this.slots.set(slot.key, slot);
    });
  }

  counters(): readonly Counter<T>[] {
    return this.heap;
  }

  snapshot(): SpaceSavingSnapshot<T> {
    return this.heap.map((slot) => [slot.item, slot.count, slot.error]);
  }

  /** Throws an Error naming what does not fit; `isItem` checks each item's shape. */
  static restore<T>(snapshot: unknown, capacity: number, keyOf: (item: T) => unknown, isItem: (x: unknown) => x is T): SpaceSaving<T> {
    if (!Array.isArray(snapshot)) throw new Error('a Space-Saving snapshot must be an array of [item, count, error]');
    if (snapshot.length > capacity) throw new Error(`a Space-Saving snapshot has ${snapshot.length} counters, above ${capacity}`);
    const summary = new SpaceSaving(capacity, keyOf);
    for (const entry of snapshot as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 3 || !isItem(entry[0]) || !isCountAndError(entry[1], entry[2])) {
        throw new Error(`a Space-Saving snapshot has ${JSON.stringify(entry)}, not an [item, count > 0, 0 <= error < count]`);
      }
      const [item, count, error] = entry as [T, number, number];
      const key = keyOf(item);
      if (summary.slots.has(key)) throw new Error(`a Space-Saving snapshot counts ${JSON.stringify(item)} twice`);
      const parent = summary.heap[(summary.heap.length - 1) >> 1];
      if (parent !== undefined && parent.count > count) throw new Error(`a Space-Saving snapshot's counters are not in heap order`);
      const slot = { key, item, count, error, at: summary.heap.length };
      summary.heap.push(slot);
      summary.slots.set(key, slot);
    }
    return summary;
  }

  /** The most an item without a counter can have been counted. */
  private smallest(): number {
    return this.heap.length < this.capacity ? 0 : this.heap[0]!.count;
  }

  private push(slot: Slot<T>): void {
    this.slots.set(slot.key, slot);
    this.heap.push(slot);
    this.siftUp(this.heap.length - 1);
  }

  private takeOver(key: unknown, item: T): void {
    const smallest = this.heap[0]!;
    this.slots.delete(smallest.key);
    smallest.key = key;
    smallest.item = item;
    smallest.error = smallest.count;
    smallest.count++;
    this.slots.set(key, smallest);
    this.siftDown(0);
  }

  private siftUp(at: number): void {
    const heap = this.heap;
    const slot = heap[at]!;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt]!;
      if (parent.count <= slot.count) break;
      heap[at] = parent;
      parent.at = at;
      at = parentAt;
    }
    heap[at] = slot;
    slot.at = at;
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const slot = heap[at]!;
    for (;;) {
      let childAt = 2 * at + 1;
      if (childAt >= heap.length) break;
      if (childAt + 1 < heap.length && heap[childAt + 1]!.count < heap[childAt]!.count) childAt++;
      const child = heap[childAt]!;
      if (child.count >= slot.count) break;
      heap[at] = child;
      child.at = at;
      at = childAt;
    }
    heap[at] = slot;
    slot.at = at;
  }
}

function isCountAndError(count: unknown, error: unknown): boolean {
  return (
    typeof count === 'number' &&
    typeof error === 'number' &&
    Number.isSafeInteger(count) &&
    Number.isSafeInteger(error) &&
    0 <= error &&
    error < count
  );
}
