import type { ResolvedEngineOptions } from '../config.js';
import { ResourceNotFoundException } from '../errors.js';
import { HOUR_MS } from '../log/log_config.js';
import { HASH_KEY_WORDS, HashKeyRouter, writeHashKeyWords, type HashKeyRange } from '../streams/hash_key.js';
import { isOpen } from '../streams/stream_records.js';
import { Limiter } from '../util/limiter.js';
import type { WorkerPool } from '../workers/worker_pool.js';
import type { Catalog, ShardView, StreamView } from './catalog.js';
import { ShardRuntime } from './shard_runtime.js';
import type { StreamKeys } from './stream_keys.js';

/** An open shard as a stream's router holds it, with its range as routing words. */
export interface RouteEntry extends HashKeyRange {
  readonly shard: ShardView;
  readonly startWords: Uint32Array;
  readonly endWords: Uint32Array;
}

/** Recovering shards' opens in flight on the workers at once, requests' and the background's. */
const RECOVERY_OPENS_AT_ONCE = 16;

/** A shard of the catalog whose log has not been opened since the engine started. */
interface Recovering {
  readonly stream: StreamView;
  readonly shard: ShardView;
  opening: Promise<ShardRuntime> | null;
}

/**
 * The shards the engine's thread has open (Kafka's LogManager, for shards): each one's runtime
 * (reader, appender, throughput) and each stream's hash key router over its open shards. It
 * opens a shard on its worker before the shard is visible, seals it (through the catalog) when
 * a split or merge closes it, and routes a stream again when its open shards change.
 *
 * After a restart the shards of the catalog are visible at once but open in the background, a
 * few at a time (recoverInBackground); a request that needs one still recovering (ready,
 * streamReady) opens it ahead of the others and waits for it.
 */
export class ShardRegistry {
  private readonly runtimes = new Map<string, ShardRuntime>();
  private readonly routers = new Map<string, HashKeyRouter<RouteEntry>>();
  private readonly recovering = new Map<string, Recovering>();
  /** Shards still recovering, per stream id: a stream without any takes no wait. */
  private readonly recoveringPerStream = new Map<string, number>();
  private background: Promise<void> | null = null;
  private readonly opening = new Limiter(RECOVERY_OPENS_AT_ONCE);
  private stopped = false;

  constructor(
    private readonly catalog: Catalog,
    private readonly pool: WorkerPool,
    private readonly options: ResolvedEngineOptions,
    private readonly keys: StreamKeys,
  ) {}

  /** Opens a shard's log on its worker (recovering it if needed), then reads it here. */
  async open(stream: StreamView, shard: ShardView): Promise<ShardRuntime> {
    const key = ShardRuntime.keyOf(stream, shard);
    const runtime = new ShardRuntime(stream, shard, this.catalog.shardDir(stream, shard), this.options, this.pool);
    await this.keys.load(stream);
    const { segmentBases } = await this.pool.request<{ segmentBases: number[] }>({
      kind: 'open',
      shardKey: key,
      dir: runtime.dir,
      options: { ...this.options.log, retentionMs: stream.retentionHours * HOUR_MS, encryption: this.keys.current(stream) },
      committed: runtime.committed.shared,
      sealed: !isOpen(shard),
    });
    runtime.startReading(segmentBases);
    this.runtimes.set(key, runtime);
    return runtime;
  }

  /** Makes a shard of the catalog visible now and opens it later (recoverInBackground or ready). */
  recoverLater(stream: StreamView, shard: ShardView): void {
    this.recovering.set(ShardRuntime.keyOf(stream, shard), { stream, shard, opening: null });
    this.recoveringPerStream.set(stream.id, (this.recoveringPerStream.get(stream.id) ?? 0) + 1);
  }

  /**
   * Opens the shards left to recover, `atOnce` at a time, in catalog order, skipping those a
   * request already opened. A shard that fails to open stays recovering: the next request to it
   * tries again and gets the error (CorruptLog, StorageError), the other shards are served.
   */
  recoverInBackground(atOnce: number): void {
    const keys = [...this.recovering.keys()];
    let next = 0;
    const runner = async (): Promise<void> => {
      while (next < keys.length && !this.stopped) {
        const recovering = this.recovering.get(keys[next++]!);
        if (recovering !== undefined) await this.openRecovering(recovering, false).catch(() => undefined);
      }
    };
    this.background = Promise.all(Array.from({ length: atOnce }, runner)).then(() => undefined);
  }

  /** Stops the background recovery and waits for the opens it has in flight (the engine is closing). */
  async stopRecovery(): Promise<void> {
    this.stopped = true;
    await this.background;
  }

  /** The shard's runtime once it is open: at once, or after opening it ahead of the background's. */
  async ready(stream: StreamView, shard: ShardView): Promise<ShardRuntime> {
    const recovering = this.recovering.get(ShardRuntime.keyOf(stream, shard));
    return recovering === undefined ? this.runtime(stream, shard) : this.openRecovering(recovering, true);
  }

  /** null when every shard of the stream is open; otherwise a promise that they are. */
  streamReady(stream: StreamView): Promise<void> | null {
    if (!this.recoveringPerStream.has(stream.id)) return null;
    return Promise.all(stream.shards.map((shard) => this.ready(stream, shard))).then(() => undefined);
  }

  get recoveringCount(): number {
    return this.recovering.size;
  }

  /** The runtime of an open shard, or null while it recovers. */
  openRuntime(stream: StreamView, shard: ShardView): ShardRuntime | null {
    const key = ShardRuntime.keyOf(stream, shard);
    return this.recovering.has(key) ? null : this.runtime(stream, shard);
  }

  /**
   * Through `opening`, so that a put to each of 20 streams of 500 shards does not open 10,000
   * logs at once (30,000 descriptors); a request's opens go before the background's. One that
   * the background already queued keeps its place.
   */
  private openRecovering(recovering: Recovering, urgent: boolean): Promise<ShardRuntime> {
    const { stream, shard } = recovering;
    recovering.opening ??= this.opening
      .run(() => this.open(stream, shard), urgent)
      .then(
        (runtime) => {
          this.recovering.delete(ShardRuntime.keyOf(stream, shard));
          const left = this.recoveringPerStream.get(stream.id)! - 1;
          if (left === 0) this.recoveringPerStream.delete(stream.id);
          else this.recoveringPerStream.set(stream.id, left);
          return runtime;
        },
        (error: unknown) => {
          recovering.opening = null;
          throw error;
        },
      );
    return recovering.opening;
  }

  /** Stops appends to a closing shard and records where it ends (its EndingSequenceNumber). */
  async seal(stream: StreamView, shard: ShardView): Promise<void> {
    const key = ShardRuntime.keyOf(stream, shard);
    // Puts routed to the shard before the router changed go out ahead of the seal.
    this.runtimes.get(key)?.appender.flush();
    const { endOffset } = await this.pool.request<{ endOffset: number }>({ kind: 'seal', shardKey: key });
    this.catalog.sealShard(stream, shard, endOffset);
    this.runtimes.get(key)?.committed.wake(); // subscriptions see the end now
  }

  /** Rebuilds the hash key router of a stream from its open shards. */
  route(stream: StreamView): void {
    this.routers.set(stream.name, new HashKeyRouter(stream.shards.filter(isOpen).map(routeEntry)));
  }

  /** The router of a stream that is open for puts. */
  router(stream: StreamView): HashKeyRouter<RouteEntry> {
    const router = this.routers.get(stream.name);
    if (router === undefined) throw new ResourceNotFoundException(`Stream ${stream.name} is being deleted`);
    return router;
  }

  runtime(stream: StreamView, shard: ShardView): ShardRuntime {
    const runtime = this.runtimes.get(ShardRuntime.keyOf(stream, shard));
    if (runtime === undefined) throw new ResourceNotFoundException(`Shard ${shard.shardId} is not available`);
    return runtime;
  }

  /**
   * The shards callers may see: a split or merge records its children in the catalog before
   * opening them (so a crash in between can finish the job), and they appear once open.
   */
  visibleShards(stream: StreamView): ShardView[] {
    return stream.shards.filter((shard) => {
      const key = ShardRuntime.keyOf(stream, shard);
      return this.runtimes.has(key) || this.recovering.has(key);
    });
  }

  /** The runtimes of a stream's open shards (one still recovering gets the stream's settings as it opens). */
  runtimesOf(stream: StreamView): ShardRuntime[] {
    return stream.shards.flatMap((shard) => this.runtimes.get(ShardRuntime.keyOf(stream, shard)) ?? []);
  }

  /** Stops routing to a stream and closes its shards, here and on their workers. */
  async closeStream(stream: StreamView): Promise<void> {
    this.routers.delete(stream.name);
    for (const shard of stream.shards) {
      const key = ShardRuntime.keyOf(stream, shard);
      this.runtimes.get(key)?.close();
      this.runtimes.delete(key);
      await this.pool.request({ kind: 'close', shardKey: key });
    }
  }

  /** Unmaps every shard's files (the engine is closing; the workers close the logs). */
  closeAll(): void {
    for (const runtime of this.runtimes.values()) runtime.close();
  }
}

/** A shard's route, its range written out as words once, for routing and its check. */
export function routeEntry(shard: ShardView): RouteEntry {
  const entry = {
    startingHashKey: BigInt(shard.startingHashKey),
    endingHashKey: BigInt(shard.endingHashKey),
    shard,
    startWords: new Uint32Array(HASH_KEY_WORDS),
    endWords: new Uint32Array(HASH_KEY_WORDS),
  };
  writeHashKeyWords(entry.startingHashKey, entry.startWords, 0);
  writeHashKeyWords(entry.endingHashKey, entry.endWords, 0);
  return entry;
}

/** Whether the entry's range holds the hash key words[at .. at + 3]: the check routing asserts. */
export function holdsHashKey(entry: RouteEntry, words: Uint32Array, at: number): boolean {
  return compareWords(entry.startWords, words, at) <= 0 && compareWords(entry.endWords, words, at) >= 0;
}

/** Compares a 4-word key with words[at .. at + 3], most significant word first. */
function compareWords(key: Uint32Array, words: Uint32Array, at: number): number {
  for (let w = 0; w < HASH_KEY_WORDS; w++) {
    const difference = key[w]! - words[at + w]!;
    if (difference !== 0) return difference;
  }
  return 0;
}
