import { SUBSCRIPTION_HIGH_WATER_BYTES } from '../limits.js';
import type { SubscribeToShardRequest } from '../streams/api_types.js';
import type { Engine } from '../engine/engine.js';
import { dataPathOf, type RawRecords } from '../engine/data_path.js';
import { ClosedError, ResourceNotFoundException } from '../errors.js';
import { encodeJsonFrame } from './messages/call.js';
import { encodeSubscribed, type SubscribeRequest, type SubscriptionStart } from './messages/records.js';
import { EndReason, Opcode } from './protocol.js';

/** A subscription waiting for the socket to drain looks again this often, drain event or not. */
const DRAIN_POLL_MS = 50;
/** A consumer ARN is its stream's ARN, this, and the consumer's name and creation time. */
const CONSUMER_ARN_SEPARATOR = '/consumer/';

/** What the subscriptions need from their connection. */
export interface SubscriptionHost {
  readonly engine: Engine;
  stopping(): boolean;
  unsentBytes(): number;
  send(frame: Uint8Array): void;
  sendRecords(opcode: typeof Opcode.EVENT, requestId: number, raw: RawRecords): void;
  /** An error as the request's ERROR frame. */
  fail(requestId: number, error: unknown): void;
  /** The subscription is over: its request id is no longer in flight. */
  settle(requestId: number): void;
}

interface Subscription {
  /** Its last frame was sent (END or ERROR), or the connection closed: nothing more goes out. */
  ended: boolean;
}

/**
 * One connection's push subscriptions (docs/PROTOCOL.md, SUBSCRIBE, CANCEL and END). Each is
 * acknowledged (SUBSCRIBED) once the engine accepted its request, sends EVENTs while the socket
 * keeps up, and ends with exactly one END or ERROR; a CANCEL is always answered with an END.
 */
export class SessionSubscriptions {
  private readonly live = new Map<number, Subscription>();
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly host: SubscriptionHost) {}

  get count(): number {
    return this.live.size;
  }

  /** Starts a subscription under `requestId`, which the caller made sure is not in flight. */
  start(requestId: number, request: SubscribeRequest): void {
    const subscription: Subscription = { ended: false };
    this.live.set(requestId, subscription);
    void this.pump(requestId, subscription, request);
  }

  /**
   * CANCEL: ends the live subscription `requestId` names (END cancelled, its last frame), or
   * answers that there is none (END not-subscribed): it never was, or it ended already.
   */
  cancel(requestId: number): void {
    const subscription = this.live.get(requestId);
    if (subscription === undefined) this.host.send(encodeJsonFrame(Opcode.END, requestId, { reason: EndReason.NOT_SUBSCRIBED }));
    else this.end(requestId, subscription, EndReason.CANCELLED);
  }

  onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The connection closed: every subscription stops, sending nothing. */
  abandon(): void {
    for (const [requestId, subscription] of this.live) this.forget(requestId, subscription);
  }

  /** The server stops: every subscription ends (END shutdown), acknowledged or not. */
  shutDown(): void {
    for (const [requestId, subscription] of this.live) this.end(requestId, subscription, EndReason.SHUTDOWN);
  }

  /** Sends the subscription's events while the socket keeps up; waits for drains when it does not. */
  private async pump(requestId: number, subscription: Subscription, request: SubscribeRequest): Promise<void> {
    const events = dataPathOf(this.host.engine).subscribeRaw(request as SubscribeToShardRequest, (start) =>
      this.acknowledge(requestId, subscription, start),
    );
    try {
      for await (const event of events) {
        if (subscription.ended) break;
        this.host.sendRecords(Opcode.EVENT, requestId, event);
        if (event.childShards !== undefined) {
          this.end(requestId, subscription, EndReason.SHARD_ENDED);
          break;
        }
        while (!subscription.ended && this.host.unsentBytes() > SUBSCRIPTION_HIGH_WATER_BYTES) await this.drained();
      }
      if (!subscription.ended) this.end(requestId, subscription, this.endReason(request.ConsumerARN));
    } catch (error) {
      if (!subscription.ended) {
        this.forget(requestId, subscription);
        this.host.fail(requestId, error);
      }
    } finally {
      void events.return(undefined);
    }
  }

  private acknowledge(requestId: number, subscription: Subscription, start: SubscriptionStart): void {
    if (!subscription.ended) this.host.send(encodeSubscribed(requestId, start));
  }

  /**
   * Why the engine ended a subscription by itself: the server (or engine) stopping, the stream
   * deleted, or else the consumer deregistered.
   */
  private endReason(consumerArn: string): EndReason {
    if (this.host.stopping()) return EndReason.SHUTDOWN;
    try {
      this.host.engine.describeStreamSummary({ StreamARN: consumerArn.split(CONSUMER_ARN_SEPARATOR)[0]! });
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return EndReason.STREAM_DELETED;
      if (error instanceof ClosedError) return EndReason.SHUTDOWN;
      throw error;
    }
    return EndReason.CONSUMER_GONE;
  }

  private end(requestId: number, subscription: Subscription, reason: EndReason): void {
    this.forget(requestId, subscription);
    this.host.send(encodeJsonFrame(Opcode.END, requestId, { reason }));
  }

  private forget(requestId: number, subscription: Subscription): void {
    subscription.ended = true;
    this.live.delete(requestId);
    this.host.settle(requestId);
    // A pump waiting for the socket to drain sees the end at once.
    this.onDrain();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, DRAIN_POLL_MS);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
