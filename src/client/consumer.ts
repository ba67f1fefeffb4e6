import { RESUBSCRIBE_INTERVAL_MS } from '../limits.js';
import { DecryptionError, InvalidArgumentException, ResourceInUseException, ResourceNotFoundException } from '../errors.js';
import type { SubscribeRequest } from '../net/messages/records.js';
import { EndReason } from '../net/protocol.js';
import type { ClientKinesisRecord, ClientSubscribeEvent, ShardSubscription, ShardlineClient, SubscriptionEnd } from './client.js';
import { isSealed, type EnvelopeEncryption } from './envelope.js';
import { deaggregate, hasMagic } from './kpl_aggregation.js';
import { routingHashKey } from './shard_maps.js';
import { ConnectionError } from './transport.js';

export type StartingPosition =
  | { readonly Type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly Type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; readonly SequenceNumber: string }
  | { readonly Type: 'AT_TIMESTAMP'; readonly Timestamp: Date | number };

export interface ConsumedRecord extends ClientKinesisRecord {
  readonly ShardId: string;
  /**
   * A user record unpacked from a KPL aggregate: its index in it (with SequenceNumber, the
   * outer record's, its identity), and its explicit hash key if it had one. Absent on a plain
   * record, or when the Consumer does not deaggregate.
   */
  readonly SubSequenceNumber?: number;
  readonly ExplicitHashKey?: string;
  /**
   * A user record whose hash key is outside its shard's range (an aggregate made before a
   * reshard, or by a producer that did not predict shards). The KCL drops the whole aggregate
   * then; the Consumer delivers it, marks it and counts it (`userRecordsOutsideShard`).
   */
  readonly OutsideShard?: true;
}

export interface ConsumerOptions {
  /** Unpack KPL aggregated records into their user records (docs/FORMAT.md). Default true. */
  readonly deaggregate?: boolean;
  /**
   * Opens records sealed by a Producer's `encryption` (docs/FORMAT.md) before unpacking them; a
   * record that fails to open (tampered, truncated, an unknown key) ends the iteration with
   * DecryptionError naming its stream, shard and sequence number. Records not sealed pass as
   * they are.
   */
  readonly encryption?: EnvelopeEncryption;
}

export interface SubscribeOptions {
  /** The registered consumer's ARN (RegisterStreamConsumer). */
  readonly consumerARN: string;
  readonly shardId: string;
  /** Default LATEST. */
  readonly startingPosition?: StartingPosition;
  /** Follow the children once the shard ends (split or merge). Default true. */
  readonly followChildren?: boolean;
  /** Reconnect attempts in a row before giving up. Default 20. */
  readonly reconnectAttemptsMax?: number;
}

const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5000;
/** Ends after which subscribing again would find nothing more: the others (shutdown) resume. */
const FINAL_ENDS: ReadonlySet<SubscriptionEnd | null> = new Set([
  EndReason.SHARD_ENDED,
  EndReason.CANCELLED,
  EndReason.CONSUMER_GONE,
  EndReason.STREAM_DELETED,
]);

/**
 * Consumers over the WebSocket client: iterators and getRecords are the client's; here are push
 * subscriptions as async iterators of records that
 * - resume after a dropped connection (or a server restart) from the last record delivered,
 *   or from where the subscription started when none was, with AFTER_SEQUENCE_NUMBER, so
 *   nothing is skipped or repeated (a LATEST subscription keeps the LATEST it was given),
 *   waiting out the 5 seconds the server keeps a shard's last subscription for;
 * - follow the children after a split or merge: a child starts once every parent it has
 *   among the shards being followed has ended, so records of a key stay in order.
 */
export class Consumer {
  private readonly unpack: boolean;
  private readonly encryption: EnvelopeEncryption | null;
  private readonly ranges = new Map<string, Promise<ShardRanges>>();
  private outsideShard = 0;

  constructor(
    private readonly client: ShardlineClient,
    options: ConsumerOptions = {},
  ) {
    this.unpack = options.deaggregate ?? true;
    this.encryption = options.encryption ?? null;
  }

  /** User records delivered although their hash key is outside their shard (see ConsumedRecord). */
  get userRecordsOutsideShard(): number {
    return this.outsideShard;
  }

  /** Records of one shard and (by default) its descendants. */
  subscribe(options: SubscribeOptions): AsyncIterable<ConsumedRecord> {
    return this.follow(options.consumerARN, [options.shardId], options.startingPosition ?? { Type: 'LATEST' }, options);
  }

  /**
   * Records of every shard of a stream: its open shards from `startingPosition` (LATEST by
   * default; TRIM_HORIZON starts at the oldest shards still holding records), then their
   * children. Records of different shards interleave in arrival order.
   */
  async *subscribeStream(options: {
    streamName: string;
    consumerARN: string;
    startingPosition?: StartingPosition;
    reconnectAttemptsMax?: number;
  }): AsyncGenerator<ConsumedRecord> {
    const start = options.startingPosition ?? { Type: 'LATEST' };
    const filter = start.Type === 'TRIM_HORIZON' ? 'AT_TRIM_HORIZON' : 'AT_LATEST';
    const { Shards } = await this.client.call('ListShards', { StreamName: options.streamName, ShardFilter: { Type: filter } });
    if (Shards.length === 0) throw new ResourceNotFoundException(`stream ${options.streamName} has no shards`);
    yield* this.follow(
      options.consumerARN,
      Shards.map((shard) => shard.ShardId),
      start,
      options,
    );
  }

  /**
   * Subscriptions to `roots` and their descendants, merged into one iteration. Leaving the
   * iteration cancels every live subscription at once: a shard generator waiting for its next
   * event could not be returned from until that event came.
   */
  private async *follow(
    consumerARN: string,
    roots: string[],
    start: StartingPosition,
    options: { followChildren?: boolean; reconnectAttemptsMax?: number },
  ): AsyncGenerator<ConsumedRecord> {
    const live = new LiveSubscriptions(this.client);
    try {
      yield* this.merge(consumerARN, roots, start, options, live);
    } finally {
      live.leave();
    }
  }

  private async *merge(
    consumerARN: string,
    roots: string[],
    start: StartingPosition,
    options: { followChildren?: boolean; reconnectAttemptsMax?: number },
    live: LiveSubscriptions,
  ): AsyncGenerator<ConsumedRecord> {
    const merged = new MergedQueue<ConsumedRecord>();
    const started = new Set<string>();
    const ended = new Set<string>();
    const launch = (shardId: string, position: StartingPosition): void => {
      started.add(shardId);
      merged.add(
        this.shardRecords(consumerARN, shardId, position, options.reconnectAttemptsMax ?? 20, live, (children) => {
          ended.add(shardId);
          if (options.followChildren === false) return;
          for (const child of children) {
            // A merge's child waits for both parents that are followed here.
            const waiting = child.ParentShards.some((parent) => started.has(parent) && !ended.has(parent));
            if (!started.has(child.ShardId) && !waiting) launch(child.ShardId, { Type: 'TRIM_HORIZON' });
          }
        }),
      );
    };
    for (const shardId of roots) launch(shardId, start);
    yield* merged;
  }

  private async open(record: ClientKinesisRecord, consumerARN: string, shardId: string): Promise<ClientKinesisRecord> {
    try {
      return { ...record, Data: await this.encryption!.decrypt(record.Data) };
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      const streamName = consumerARN.slice(consumerARN.indexOf(':stream/') + ':stream/'.length, consumerARN.indexOf('/consumer/'));
      throw error.withRecord({ streamName, shardId, sequenceNumber: record.SequenceNumber });
    }
  }

  /** The user records of a KPL aggregate in order, or the record as it is if it only looks like one. */
  private async *userRecords(record: ClientKinesisRecord, consumerARN: string, shardId: string): AsyncGenerator<ConsumedRecord> {
    const users = deaggregate(record.Data);
    if (users === null) {
      yield { ...record, ShardId: shardId };
      return;
    }
    const range = await this.rangeOf(consumerARN, shardId);
    for (const user of users) {
      const inside = range === undefined || holds(range, user);
      if (!inside) this.outsideShard++;
      yield {
        SequenceNumber: record.SequenceNumber,
        SubSequenceNumber: user.subSequenceNumber,
        ApproximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
        Data: user.data,
        PartitionKey: user.partitionKey,
        ...(user.explicitHashKey === undefined ? {} : { ExplicitHashKey: user.explicitHashKey }),
        ShardId: shardId,
        ...(inside ? {} : { OutsideShard: true as const }),
      };
    }
  }

  /**
   * The shard's hash key range, from ListShards of the consumer's stream: read when the first
   * aggregate arrives (plain records never need it), again for a shard it did not list (a child).
   */
  private async rangeOf(consumerARN: string, shardId: string): Promise<HashRange | undefined> {
    const streamARN = consumerARN.slice(0, consumerARN.indexOf('/consumer/'));
    let ranges = this.ranges.get(streamARN);
    if (ranges === undefined || !(await ranges).has(shardId)) {
      ranges = listRanges(this.client, streamARN);
      this.ranges.set(streamARN, ranges);
      ranges.catch(() => this.ranges.delete(streamARN));
    }
    return (await ranges).get(shardId);
  }

  /** One shard's records, resubscribing after drops; calls `onEnd` with its children when it ends. */
  private async *shardRecords(
    consumerARN: string,
    shardId: string,
    start: StartingPosition,
    attemptsMax: number,
    live: LiveSubscriptions,
    onEnd: (children: NonNullable<ClientSubscribeEvent['ChildShards']>) => void,
  ): AsyncGenerator<ConsumedRecord> {
    let position: StartingPosition = start;
    for (let failures = 0; ;) {
      let subscription: ShardSubscription | null = null;
      let refused = false;
      try {
        subscription = await live.subscribe({ ConsumerARN: consumerARN, ShardId: shardId, StartingPosition: position });
        for await (const event of subscription) {
          failures = 0;
          for (const sealed of event.Records) {
            const record = this.encryption !== null && isSealed(sealed.Data) ? await this.open(sealed, consumerARN, shardId) : sealed;
            // Plain records take no extra generator: this is the hot path of every consumer.
            if (this.unpack && hasMagic(record.Data)) yield* this.userRecords(record, consumerARN, shardId);
            else yield { ...record, ShardId: shardId };
          }
          if (event.ChildShards !== undefined) {
            onEnd(event.ChildShards);
            return;
          }
        }
        if (FINAL_ENDS.has(subscription.ended)) return;
      } catch (error) {
        refused = error instanceof ResourceInUseException;
        const retriable = refused || error instanceof ConnectionError || (error as { retriable?: boolean }).retriable === true;
        if (!retriable || ++failures > attemptsMax) throw error;
      } finally {
        if (subscription !== null) {
          live.forget(subscription);
          position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: subscription.continuationSequenceNumber };
        }
      }
      // Refused within the 5 s, dropped, or the server went down: try again from the last record delivered.
      // A refusal by the 5-second rule (Kinesis') is tried again once that time has passed since it,
      // which is later than the last subscription began.
      const waitMs = refused ? RESUBSCRIBE_INTERVAL_MS : Math.random() * Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** failures);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/**
 * The subscriptions of one iteration. Leaving it cancels them, and any acknowledged after: a
 * subscribe in flight when the reader left would otherwise run on unread.
 */
class LiveSubscriptions {
  private readonly subscriptions = new Set<ShardSubscription>();
  private left = false;

  constructor(private readonly client: ShardlineClient) {}

  async subscribe(request: SubscribeRequest): Promise<ShardSubscription> {
    const subscription = await this.client.subscribeToShard(request);
    if (this.left) subscription.cancel();
    else this.subscriptions.add(subscription);
    return subscription;
  }

  forget(subscription: ShardSubscription): void {
    this.subscriptions.delete(subscription);
  }

  leave(): void {
    this.left = true;
    for (const subscription of this.subscriptions) subscription.cancel();
  }
}

/**
 * Several async iterators read concurrently into one: each source is pulled one item at a time
 * and only when the reader wants one, so a reader that stops stops every source (and with them
 * the subscriptions' sockets: backpressure reaches the server).
 */
class MergedQueue<T> implements AsyncIterable<T> {
  private readonly sources = new Set<AsyncIterator<T>>();
  private readonly ready: Array<{ source: AsyncIterator<T>; result: IteratorResult<T> } | { source: AsyncIterator<T>; error: unknown }> =
    [];
  private readonly pulling = new Set<AsyncIterator<T>>();
  private wake: (() => void) | null = null;

  add(iterable: AsyncIterable<T>): void {
    const source = iterable[Symbol.asyncIterator]();
    this.sources.add(source);
    this.pull(source);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      while (this.sources.size > 0 || this.ready.length > 0) {
        const next = this.ready.shift();
        if (next === undefined) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        if ('error' in next) throw next.error;
        if (next.result.done === true) {
          this.sources.delete(next.source);
          continue;
        }
        const value = next.result.value;
        this.pull(next.source);
        yield value;
      }
    } finally {
      for (const source of this.sources) void source.return?.();
    }
  }

  private pull(source: AsyncIterator<T>): void {
    if (this.pulling.has(source)) throw new InvalidArgumentException('a source is already being pulled');
    this.pulling.add(source);
    source.next().then(
      (result) => this.deliver({ source, result }),
      (error: unknown) => this.deliver({ source, error }),
    );
  }

  private deliver(item: { source: AsyncIterator<T>; result: IteratorResult<T> } | { source: AsyncIterator<T>; error: unknown }): void {
    this.pulling.delete(item.source);
    this.ready.push(item);
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

interface HashRange {
  readonly start: bigint;
  readonly end: bigint;
}
type ShardRanges = Map<string, HashRange>;

async function listRanges(client: ShardlineClient, streamARN: string): Promise<ShardRanges> {
  const shards = await client.listAllShards({ StreamARN: streamARN });
  return new Map(
    shards.map((shard) => [
      shard.ShardId,
      { start: BigInt(shard.HashKeyRange.StartingHashKey), end: BigInt(shard.HashKeyRange.EndingHashKey) },
    ]),
  );
}

/** Whether the user record's hash key (its explicit one, else the MD5 of its partition key) is in the range. */
function holds(range: HashRange, user: { readonly partitionKey: string; readonly explicitHashKey?: string | undefined }): boolean {
  const hashKey = routingHashKey(user);
  return range.start <= hashKey && hashKey <= range.end;
}
