import type { EngineMetrics, StreamMetrics } from '../streams/metrics_types.js';

/*
 * The charts' data, from GetMetrics snapshots polled once a second. A snapshot holds running
 * totals since the engine opened, so a rate is the difference of two successive snapshots over
 * the time between them (their `atMs`, the engine's clock, not the page's); an iterator age is a
 * gauge, read as it is. Series come in uPlot's aligned form: x in seconds, then one array per
 * series, null where a value is unknown (uPlot leaves a gap).
 */

/** Snapshots kept: five minutes at one a second. */
const HISTORY_SNAPSHOTS_MAX = 300;

export type Series = [times: number[], ...values: Array<Array<number | null>>];

type Pick = (snapshot: EngineMetrics) => number | undefined;

/** The history with `next` appended, the oldest dropped beyond HISTORY_SNAPSHOTS_MAX. */
export function appendSnapshot(history: readonly EngineMetrics[], next: EngineMetrics): EngineMetrics[] {
  const last = history.at(-1);
  // An engine restarted behind the same port starts its totals again: so does the history.
  if (last !== undefined && (next.atMs <= last.atMs || next.sinceMs !== last.sinceMs)) return [next];
  return [...history.slice(-(HISTORY_SNAPSHOTS_MAX - 1)), next];
}

const streamsOf = new WeakMap<EngineMetrics, Map<string, StreamMetrics>>();

export function streamIn(snapshot: EngineMetrics, streamName: string): StreamMetrics | undefined {
  let streams = streamsOf.get(snapshot);
  if (streams === undefined) {
    streams = new Map(snapshot.streams.map((stream) => [stream.streamName, stream]));
    streamsOf.set(snapshot, streams);
  }
  return streams.get(streamName);
}

/** Per second between successive snapshots; null where either lacks the counter or it fell (a stream created again). */
function rateBetween(earlier: EngineMetrics, later: EngineMetrics, pick: Pick): number | null {
  const [from, to] = [pick(earlier), pick(later)];
  if (from === undefined || to === undefined || to < from) return null;
  return (to - from) / ((later.atMs - earlier.atMs) / 1000);
}

/** One series per pick: rates (kind 'rate') or the values as they are ('gauge'), at each snapshot after the first. */
export function seriesOf(history: readonly EngineMetrics[], picks: readonly Pick[], kind: 'rate' | 'gauge'): Series {
  const later = history.slice(1);
  const times = later.map((snapshot) => snapshot.atMs / 1000);
  const values = picks.map((pick) =>
    later.map((snapshot, i) => (kind === 'rate' ? rateBetween(history[i]!, snapshot, pick) : (pick(snapshot) ?? null))),
  );
  return [times, ...values];
}

/** The rate over the latest two snapshots, or null before there are two. */
export function latestRate(history: readonly EngineMetrics[], pick: Pick): number | null {
  const [earlier, later] = [history.at(-2), history.at(-1)];
  return earlier === undefined || later === undefined ? null : rateBetween(earlier, later, pick);
}

/** Every shard any snapshot has metrics for (enhanced monitoring's, those with traffic), in id order. */
export function shardIdsIn(history: readonly EngineMetrics[], streamName: string): string[] {
  const ids = new Set<string>();
  for (const snapshot of history) for (const shard of streamIn(snapshot, streamName)?.shards ?? []) ids.add(shard.shardId);
  return [...ids].sort();
}
