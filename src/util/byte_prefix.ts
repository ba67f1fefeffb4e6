/*
 * How many of a list's first items fit a batch: at most `maxCount` and `maxBytes` together, but
 * always at least one (an item bigger than the limit goes alone rather than never). The family's
 * buffers (a delivery stream's objects, the agent's PutRecords, a processor's invocations) all
 * cut their batches so.
 */

export interface PrefixFit {
  readonly count: number;
  readonly bytes: number;
}

/** The fit of `items` from index `from` on. */
export function fittingPrefix<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  maxBytes: number,
  maxCount = Infinity,
  from = 0,
): PrefixFit {
  let count = 0;
  let bytes = 0;
  while (from + count < items.length && count < maxCount && (count === 0 || bytes + bytesOf(items[from + count]!) <= maxBytes))
    bytes += bytesOf(items[from + count++]!);
  return { count, bytes };
}

/** The whole list cut into consecutive batches by fittingPrefix. */
export function fittingBatches<T>(items: readonly T[], bytesOf: (item: T) => number, maxBytes: number): T[][] {
  const batches: T[][] = [];
  for (let at = 0; at < items.length;) {
    const { count } = fittingPrefix(items, bytesOf, maxBytes, Infinity, at);
    batches.push(items.slice(at, at + count));
    at += count;
  }
  return batches;
}
