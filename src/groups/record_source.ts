import { RESUBSCRIBE_INTERVAL_MS } from '../limits.js';
import { ExpiredIteratorException, ResourceInUseException } from '../errors.js';
import type { ChildShardRef } from './processor.js';

/*
 * Where a consumer group's records come from: shardline over the WebSocket, an Engine in the
 * process, or any Kinesis HTTP endpoint. Each reads one shard as batches, by push (a
 * subscription of the group's registered consumer) or by polling GetRecords, resuming after
 * drops by itself; a batch is read only when the one before has been processed (backpressure).
 */

export type ReadStart =
  | { readonly Type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly Type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; readonly SequenceNumber: string }
  | { readonly Type: 'AT_TIMESTAMP'; readonly Timestamp: number };

/** A record as every Kinesis API returns it. */
export interface SourceRecord {
  readonly SequenceNumber: string;
  readonly PartitionKey: string;
  readonly Data: Uint8Array;
  readonly ApproximateArrivalTimestamp: Date;
}

export interface SourceBatch {
  readonly records: readonly SourceRecord[];
  readonly millisBehindLatest: number;
  /** Present on the last batch of a shard that has ended. */
  readonly childShards?: readonly ChildShardRef[];
}

export interface SourceShard {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingHashKey: string;
  readonly endingHashKey: string;
  /** No EndingSequenceNumber yet: records may still arrive. */
  readonly open: boolean;
}

export type Retrieval = 'push' | 'polling';

export interface RecordSource {
  readonly streamName: string;
  /** Every shard ListShards returns (open and closed). */
  listShards(): Promise<SourceShard[]>;
  /** Gets ready to read for a group (push: registers the group's consumer, once). */
  prepare(groupName: string): Promise<void>;
  /** The shard's batches from `start`; ends after the batch with childShards, or when `signal` aborts. */
  read(shardId: string, start: ReadStart, signal: AbortSignal): AsyncIterable<SourceBatch>;
  /** Frees what prepare() opened (the worker calls it once it has shut down). */
  close?(): void;
}

/** One push subscription's events, and where to resume after them. */
export interface PushSubscription extends AsyncIterable<SourceBatch> {
  /** The sequence number to resume AFTER (the last delivered), or null if nothing was. */
  readonly continuation: string | null;
  cancel(): void;
}

export interface ReadOptions {
  readonly signal: AbortSignal;
  /** Failures in a row (dropped connections, retriable errors) before the read gives up. */
  readonly attemptsMax?: number;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;
const ATTEMPTS_DEFAULT = 20;

/**
 * Push retrieval: subscribes, yields the events, and subscribes again after the subscription's
 * end (the 5-minute lifetime, a server restart, a dropped connection) from the last record
 * delivered, waiting out Kinesis' 5 seconds between a consumer's subscriptions to a shard.
 */
export async function* pushBatches(
  subscribe: (start: ReadStart) => Promise<PushSubscription>,
  start: ReadStart,
  options: ReadOptions,
): AsyncGenerator<SourceBatch> {
  let position = start;
  for (let failures = 0; !options.signal.aborted;) {
    let subscription: PushSubscription | null = null;
    let refused = false;
    const cancel = (): void => subscription?.cancel();
    options.signal.addEventListener('abort', cancel);
    try {
      subscription = await subscribedUnlessAborted(subscribe(position), options.signal);
      if (subscription === null || options.signal.aborted) return;
      for await (const batch of untilAborted(subscription, options.signal)) {
        failures = 0;
        yield batch;
        if (batch.childShards !== undefined) return;
      }
    } catch (error) {
      if (options.signal.aborted) return;
      refused = error instanceof ResourceInUseException;
      if (!isRetriable(error) || ++failures > (options.attemptsMax ?? ATTEMPTS_DEFAULT)) throw error;
    } finally {
      options.signal.removeEventListener('abort', cancel);
      if (subscription !== null) {
        subscription.cancel();
        if (subscription.continuation !== null) position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: subscription.continuation };
      }
    }
    await sleep(refused ? RESUBSCRIBE_INTERVAL_MS : backoffMs(failures), options.signal);
  }
}

/**
 * The subscription, or null once the signal aborts: a subscription's first event (which the
 * subscribe waits for) can be a heartbeat 5 s away. One that comes after the abort is cancelled.
 */
async function subscribedUnlessAborted(pending: Promise<PushSubscription>, signal: AbortSignal): Promise<PushSubscription | null> {
  const abort = onceAborted(signal, null);
  try {
    const subscription = await Promise.race([pending, abort.aborted]);
    if (subscription === null)
      pending.then(
        (late) => late.cancel(),
        () => undefined,
      );
    return subscription;
  } finally {
    abort.release();
  }
}

/**
 * The iterable's items until the signal aborts: a subscription waiting for its next event (up
 * to a heartbeat away) is left at once, and returned from without waiting.
 */
async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const abort = onceAborted<IteratorResult<T>>(signal, { done: true, value: undefined });
  try {
    for (;;) {
      const pending = iterator.next();
      // Left unawaited when the abort wins: its failure then is nobody's.
      pending.catch(() => undefined);
      const next = await Promise.race([pending, abort.aborted]);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    abort.release();
    void iterator.return?.()?.catch(() => undefined);
  }
}

/**
 * A promise of `value` once the signal aborts, and its listener's removal: a shard subscribes
 * again every 5 minutes on the same signal, so a listener left for each would pile up.
 */
function onceAborted<T>(signal: AbortSignal, value: T): { readonly aborted: Promise<T>; readonly release: () => void } {
  let release = (): void => undefined;
  const aborted = new Promise<T>((resolve) => {
    if (signal.aborted) return resolve(value);
    const onAbort = (): void => resolve(value);
    signal.addEventListener('abort', onAbort, { once: true });
    release = () => signal.removeEventListener('abort', onAbort);
  });
  return { aborted, release };
}

export interface PollingCalls {
  iterator(start: ReadStart): Promise<string>;
  records(iterator: string): Promise<{
    records: readonly SourceRecord[];
    next: string | null;
    millisBehindLatest: number;
    childShards?: readonly ChildShardRef[];
  }>;
}

/**
 * Polling retrieval: GetRecords in a loop, waiting `idleMs` after an empty answer; an expired
 * iterator (or a dropped connection) is replaced from the last record delivered.
 */
export async function* pollBatches(
  calls: PollingCalls,
  start: ReadStart,
  idleMs: number,
  options: ReadOptions,
): AsyncGenerator<SourceBatch> {
  let position = start;
  let iterator: string | null = null;
  for (let failures = 0; !options.signal.aborted;) {
    try {
      iterator ??= await calls.iterator(position);
      const answer = await calls.records(iterator);
      failures = 0;
      const last = answer.records.at(-1);
      if (last !== undefined) position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last.SequenceNumber };
      if (answer.next === null) {
        yield { records: answer.records, millisBehindLatest: answer.millisBehindLatest, childShards: answer.childShards ?? [] };
        return;
      }
      iterator = answer.next;
      if (answer.records.length > 0) yield { records: answer.records, millisBehindLatest: answer.millisBehindLatest };
      else await sleep(idleMs, options.signal);
    } catch (error) {
      if (options.signal.aborted) return;
      iterator = null;
      if (!(error instanceof ExpiredIteratorException) && (!isRetriable(error) || ++failures > (options.attemptsMax ?? ATTEMPTS_DEFAULT)))
        throw error;
      await sleep(backoffMs(failures), options.signal);
    }
  }
}

function isRetriable(error: unknown): boolean {
  if (error instanceof ResourceInUseException) return true;
  const { retriable, name, $retryable } = error as { retriable?: boolean; name?: string; $retryable?: unknown };
  // ConnectionError and shardline's retriable errors say so; the AWS SDK's errors mark themselves.
  return retriable === true || name === 'ConnectionError' || $retryable !== undefined || name === 'ProvisionedThroughputExceededException';
}

function backoffMs(failures: number): number {
  return Math.random() * Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** failures);
}

/** Waits, or less if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
