/**
 * The index of the last item whose key is at most `target`, in items sorted by strictly
 * increasing key; 0 when every key is above it (callers guarantee the first key is at most
 * the target, or treat index 0 as "before the start"). Binary search: O(log n).
 */
export function floorIndex<T, K extends number | bigint>(items: readonly T[], target: K, keyOf: (item: T) => K): number {
  let low = 0;
  let high = items.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (keyOf(items[middle]!) <= target) low = middle;
    else high = middle - 1;
  }
  return low;
}
