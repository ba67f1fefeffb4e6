import type { RecognizedString, WebSocket } from 'uWebSockets.js';
import type { SubscribeToShardRequest } from '../engine/api_types.js';
import { dataPathOf, type EncodedPutResult, type RawRecords } from '../engine/data_path.js';
import type { Engine } from '../engine/engine.js';
import { describeError } from '../errors.js';
import { decodeCall, encodeJsonFrame } from './messages/call.js';
import { encodeError } from './messages/error.js';
import { decodeHello, encodeHelloOk } from './messages/hello.js';
import { decodePut, encodePutResult } from './messages/put.js';
import { decodeGetRecords, decodeSubscribe, encodeRecordsHeader, type SubscribeRequest } from './messages/records.js';
import { operationNamed } from './operations.js';
import {
  CloseCode,
  FAILED_SLOT,
  FRAME_BYTES_MAX,
  FrameReader,
  IN_FLIGHT_MAX,
  MalformedFrameError,
  Opcode,
  PROTOCOL_ERRORS_MAX,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
} from './protocol.js';

/** Subscriptions send while the connection has less than this unsent. */
export const SUBSCRIPTION_HIGH_WATER_BYTES = 1024 * 1024;
/** GET_RECORDS is refused (SlowDown) while the connection has more than this unsent. */
export const READ_BACKPRESSURE_BYTES = 8 * 1024 * 1024;
/** Bytes of PUT frames a connection may have stored-but-unanswered before further PUTs get SlowDown. */
export const PUT_BYTES_IN_FLIGHT_MAX = 64 * 1024 * 1024;
/** A subscription waiting for the socket to drain looks again this often, drain event or not. */
const DRAIN_POLL_MS = 50;

/** uWS.js sends one message in several frames with these; its typings leave them out. */
interface FragmentingWebSocket extends WebSocket<unknown> {
  sendFirstFragment(message: RecognizedString, isBinary?: boolean, compress?: boolean): number;
  sendFragment(message: RecognizedString, compress?: boolean): number;
  sendLastFragment(message: RecognizedString, compress?: boolean): number;
}

export interface SessionHost {
  readonly engine: Engine;
  readonly serverName: string;
  readonly stopping: boolean;
  /**
   * Counts a write of `bytes` in flight until it settles: shutdown waits for it, and the
   * server-wide bound on bytes in flight applies. False (nothing counted) when over the bound.
   */
  admitWrite(bytes: number): boolean;
  /** Gives back admitted bytes of a write that never started. */
  releaseWrite(bytes: number): void;
  /** Gives back admitted bytes when the write settles (shutdown waits for it meanwhile). */
  track(write: Promise<unknown>, bytes: number): void;
}

interface Subscription {
  cancelled: boolean;
  ended: boolean;
}

/**
 * One client connection: the handshake, request ids in flight, and the subscriptions it runs.
 * Every frame is handled here; nothing a client sends can reach beyond its own session: a bad
 * frame gets an ERROR (or, past PROTOCOL_ERRORS_MAX, a close), never an exception out of the
 * message handler.
 *
 * uWS detaches an incoming ArrayBuffer when the handler returns, so every request reads what it
 * needs from the frame synchronously (the engine copies put records into its batches before
 * putEncoded returns).
 */
export class Session {
  private greeted = false;
  private inFlight = 0;
  private putBytesInFlight = 0;
  private protocolErrors = 0;
  private closed = false;
  private readonly subscriptions = new Map<number, Subscription>();
  private drainWaiters: Array<() => void> = [];

  private readonly ws: FragmentingWebSocket;

  constructor(
    ws: WebSocket<unknown>,
    private readonly host: SessionHost,
  ) {
    this.ws = ws as FragmentingWebSocket;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Bytes uWS holds for this connection, not yet written to the socket. */
  get unsentBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    if (message.byteLength > FRAME_BYTES_MAX) {
      this.send(encodeError(0, { code: ProtocolErrorCode.MALFORMED_FRAME, message: `a frame has at most ${FRAME_BYTES_MAX} bytes, got ${message.byteLength}`, retriable: false }));
      this.end(CloseCode.TOO_BIG, 'frame too big');
      return;
    }
    let reader: FrameReader;
    try {
      if (!isBinary) throw new MalformedFrameError('frames are binary messages');
      reader = new FrameReader(new Uint8Array(message));
    } catch (error) {
      this.protocolError(0, error);
      // Before HELLO nothing can be trusted: the handshake failed.
      if (!this.greeted) this.end(CloseCode.HANDSHAKE_REQUIRED, 'HELLO first');
      return;
    }
    if (!this.greeted) {
      this.handshake(reader);
      return;
    }
    try {
      this.dispatch(reader);
    } catch (error) {
      if (error instanceof MalformedFrameError) this.protocolError(reader.requestId, error);
      else this.fail(reader.requestId, error);
    }
  }

  onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  onClose(): void {
    this.closed = true;
    for (const subscription of this.subscriptions.values()) subscription.cancelled = true;
    this.onDrain();
  }

  /** Ends every subscription (END "shutdown") and closes the connection (1001). */
  shutDown(): void {
    for (const [requestId, subscription] of this.subscriptions) this.endSubscription(requestId, subscription, 'shutdown');
    this.end(CloseCode.GOING_AWAY, 'server shutting down');
  }

  private handshake(reader: FrameReader): void {
    if (reader.opcode !== Opcode.HELLO) {
      this.send(encodeError(reader.requestId, { code: ProtocolErrorCode.HANDSHAKE_REQUIRED, message: 'the first frame must be HELLO', retriable: false }));
      this.end(CloseCode.HANDSHAKE_REQUIRED, 'HELLO first');
      return;
    }
    let version: number;
    try {
      version = decodeHello(reader).version;
    } catch (error) {
      this.protocolError(reader.requestId, error);
      this.end(CloseCode.HANDSHAKE_REQUIRED, 'HELLO first');
      return;
    }
    if (version !== PROTOCOL_VERSION) {
      this.send(encodeError(reader.requestId, { code: ProtocolErrorCode.UNSUPPORTED_VERSION, message: `this server speaks protocol version ${PROTOCOL_VERSION}, not ${version}`, retriable: false }));
      this.end(CloseCode.UNSUPPORTED_VERSION, 'unsupported version');
      return;
    }
    this.greeted = true;
    this.send(encodeHelloOk(reader.requestId, { version: PROTOCOL_VERSION, maxFrameBytes: FRAME_BYTES_MAX, maxInFlight: IN_FLIGHT_MAX, serverName: this.host.serverName }));
  }

  private dispatch(reader: FrameReader): void {
    const { opcode, requestId } = reader;
    if (opcode === Opcode.CANCEL) {
      const subscription = this.subscriptions.get(requestId);
      if (subscription !== undefined) this.endSubscription(requestId, subscription, 'cancelled');
      return;
    }
    if (opcode === Opcode.HELLO) {
      this.protocolError(requestId, new MalformedFrameError('HELLO was already received'), ProtocolErrorCode.HANDSHAKE_REQUIRED);
      return;
    }
    if (opcode !== Opcode.CALL && opcode !== Opcode.PUT && opcode !== Opcode.GET_RECORDS && opcode !== Opcode.SUBSCRIBE) {
      this.protocolError(requestId, new MalformedFrameError(`unknown opcode 0x${opcode.toString(16)}`), ProtocolErrorCode.UNKNOWN_OPCODE);
      return;
    }
    if (this.host.stopping) {
      this.send(encodeError(requestId, { code: ProtocolErrorCode.SHUTTING_DOWN, message: 'the server is shutting down', retriable: true }));
      return;
    }
    if (this.inFlight >= IN_FLIGHT_MAX) {
      this.send(encodeError(requestId, { code: ProtocolErrorCode.TOO_MANY_REQUESTS, message: `at most ${IN_FLIGHT_MAX} requests in flight per connection`, retriable: true }));
      return;
    }
    if (opcode === Opcode.CALL) this.call(reader);
    else if (opcode === Opcode.PUT) this.put(reader);
    else if (opcode === Opcode.GET_RECORDS) this.getRecords(reader);
    else this.subscribe(reader.requestId, decodeSubscribe(reader));
  }

  private call(reader: FrameReader): void {
    const { operation, request } = decodeCall(reader);
    const run = operationNamed(operation);
    if (run === undefined) throw new MalformedFrameError(`unknown operation ${operation}`);
    this.answer(reader.requestId, async () => encodeJsonFrame(Opcode.RESULT, reader.requestId, await run(this.host.engine, request as never)));
  }

  private put(reader: FrameReader): void {
    const requestId = reader.requestId;
    const frame = decodePut(reader);
    const bytes = frame.records.length;
    // Client-to-server backpressure: uWS cannot stop reading a socket, so a producer faster
    // than the disk is told to back off (retriable) instead of queueing without bound.
    // A put alone is always admitted, however big, so that one cannot wait forever.
    const overConnection = this.putBytesInFlight > 0 && this.putBytesInFlight + bytes > PUT_BYTES_IN_FLIGHT_MAX;
    if (overConnection || !this.host.admitWrite(bytes)) {
      this.send(encodeError(requestId, { code: ProtocolErrorCode.SLOW_DOWN, message: 'too many bytes of puts in flight: retry after the earlier ones are answered', retriable: true }));
      return;
    }
    // Synchronous up to the returned promise: the records are in the shards' batches by then.
    let written: Promise<EncodedPutResult>;
    try {
      written = dataPathOf(this.host.engine).putEncoded(frame);
    } catch (error) {
      // Refused before anything was stored: the admitted bytes go back at once.
      this.host.releaseWrite(bytes);
      throw error;
    }
    this.putBytesInFlight += bytes;
    this.host.track(written, bytes);
    const release = (): void => {
      this.putBytesInFlight -= bytes;
    };
    written.then(release, release);
    this.answer(requestId, async () => {
      const result = await written;
      const slots = new Uint16Array(frame.recordCount).fill(FAILED_SLOT);
      result.runs.forEach((run, slot) => {
        for (const index of run.indices) slots[index] = slot;
      });
      const failures = result.failures.flatMap((failure) => failure.indices.map((index) => ({ index, code: failure.code, message: failure.message })));
      return encodePutResult(requestId, { shards: result.runs.map((run) => ({ serial: run.serial, firstOffset: run.firstOffset })), slots, failures });
    });
  }

  private getRecords(reader: FrameReader): void {
    const { limit, shardIterator } = decodeGetRecords(reader);
    if (this.ws.getBufferedAmount() > READ_BACKPRESSURE_BYTES) {
      this.send(encodeError(reader.requestId, { code: ProtocolErrorCode.SLOW_DOWN, message: `the connection has ${this.ws.getBufferedAmount()} bytes unsent: read them first`, retriable: true }));
      return;
    }
    const raw = dataPathOf(this.host.engine).getRecordsRaw({ ShardIterator: shardIterator, Limit: limit });
    this.sendRecords(Opcode.RECORDS, reader.requestId, raw);
  }

  private subscribe(requestId: number, request: SubscribeRequest): void {
    if (this.subscriptions.has(requestId)) throw new MalformedFrameError(`request id ${requestId} already names a subscription`);
    const subscription: Subscription = { cancelled: false, ended: false };
    this.subscriptions.set(requestId, subscription);
    this.inFlight++;
    void this.pump(requestId, subscription, request);
  }

  /** Sends the subscription's events while the socket keeps up; waits for drains when it does not. */
  private async pump(requestId: number, subscription: Subscription, request: SubscribeRequest): Promise<void> {
    const events = dataPathOf(this.host.engine).subscribeRaw(request as SubscribeToShardRequest);
    try {
      for await (const event of events) {
        if (subscription.cancelled) break;
        this.sendRecords(Opcode.EVENT, requestId, event);
        if (event.childShards !== undefined) {
          this.endSubscription(requestId, subscription, 'shard-ended');
          break;
        }
        while (!subscription.cancelled && this.ws.getBufferedAmount() > SUBSCRIPTION_HIGH_WATER_BYTES) await this.drained();
      }
      this.endSubscription(requestId, subscription, this.host.stopping ? 'shutdown' : 'consumer-gone');
    } catch (error) {
      if (!subscription.ended) {
        subscription.ended = true;
        this.subscriptions.delete(requestId);
        this.inFlight--;
        this.fail(requestId, error);
      }
    } finally {
      void events.return(undefined);
    }
  }

  private endSubscription(requestId: number, subscription: Subscription, reason: string): void {
    if (subscription.ended) return;
    subscription.ended = true;
    subscription.cancelled = true;
    this.subscriptions.delete(requestId);
    this.inFlight--;
    this.send(encodeJsonFrame(Opcode.END, requestId, { reason }));
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

  /**
   * A RECORDS or EVENT frame: the header, then the batches straight from the mapped files as
   * further fragments of the same WebSocket message, so no record is copied in JavaScript.
   */
  private sendRecords(opcode: typeof Opcode.RECORDS | typeof Opcode.EVENT, requestId: number, raw: RawRecords): void {
    if (this.closed) return;
    const header = encodeRecordsHeader(opcode, requestId, {
      shardSerial: raw.shardSerial,
      fromOffset: raw.read.fromOffset,
      toOffset: raw.read.toOffset,
      millisBehindLatest: raw.millisBehindLatest,
      nextShardIterator: raw.nextShardIterator ?? null,
      childShards: raw.childShards ?? null,
    });
    const chunks = raw.read.chunks;
    this.ws.cork(() => {
      if (chunks.length === 0) {
        this.ws.send(header, true);
        return;
      }
      this.ws.sendFirstFragment(header, true);
      for (let i = 0; i < chunks.length - 1; i++) this.ws.sendFragment(chunks[i]!);
      this.ws.sendLastFragment(chunks.at(-1)!);
    });
  }

  /** Runs a request to its one answer frame (or ERROR), counting it in flight meanwhile. */
  private answer(requestId: number, produce: () => Promise<Uint8Array>): void {
    this.inFlight++;
    produce().then(
      (frame) => {
        this.inFlight--;
        this.send(frame);
      },
      (error: unknown) => {
        this.inFlight--;
        this.fail(requestId, error);
      },
    );
  }

  /** An engine (or unexpected) error as an ERROR frame. */
  private fail(requestId: number, error: unknown): void {
    this.send(encodeError(requestId, describeError(error)));
  }

  private protocolError(requestId: number, error: unknown, code: string = ProtocolErrorCode.MALFORMED_FRAME): void {
    this.protocolErrors++;
    const message = error instanceof Error ? error.message : String(error);
    this.send(encodeError(requestId, { code, message, retriable: false }));
    if (this.protocolErrors > PROTOCOL_ERRORS_MAX) this.end(CloseCode.TOO_MANY_ERRORS, 'too many protocol errors');
  }

  private send(frame: Uint8Array): void {
    if (this.closed) return;
    this.ws.cork(() => this.ws.send(frame, true));
  }

  private end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}
