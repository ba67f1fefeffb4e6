import { FRAME_BYTES_MAX, IN_FLIGHT_MAX, PROTOCOL_ERRORS_MAX, READ_BACKPRESSURE_BYTES } from '../limits.js';
import type { RecognizedString, WebSocket } from 'uWebSockets.js';
import { dataPathOf, type EncodedPutResult, type RawRecords } from '../engine/data_path.js';
import type { AccessControl, Caller, Origin } from '../auth/access_control.js';
import { simulateAuthorization } from '../auth/simulation.js';
import type { Engine } from '../engine/engine.js';
import { describeError, type ShardlineError } from '../errors.js';
import { decodeCall, encodeJsonFrame } from './messages/call.js';
import { encodeError } from './messages/error.js';
import { decodeHello, encodeHelloOk } from './messages/hello.js';
import { decodePut, encodePutResult } from './messages/put.js';
import { decodeGetRecords, decodeSubscribe, encodeRecordsHeader } from './messages/records.js';
import { groupOperation } from '../groups/group_operations.js';
import { triggerOperation } from '../triggers/trigger_operations.js';
import { deliveryOperation } from '../delivery/delivery_operations.js';
import { queryOperation } from '../queries/query_operations.js';
import { faultOperation } from './fault_operations.js';
import { clockOperation } from './clock_operations.js';
import { faultsOf } from '../engine/fault_injector.js';
import { operationNamed } from './operations.js';
import {
  CloseCode,
  FAILED_SLOT,
  FRAME_HEADER_BYTES,
  FrameReader,
  MalformedFrameError,
  NO_REQUEST_ID,
  Opcode,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
} from './protocol.js';
import { SessionSubscriptions } from './subscriptions.js';

/** A RESULT's member naming the fault rules that touched it (docs/PROTOCOL.md): an operation's result is an object or nothing. */
function withInjected(result: unknown, injected: readonly string[]): Record<string, unknown> {
  return { ...(result as Record<string, unknown> | undefined), ShardlineInjected: injected };
}

/** The opcodes of requests a greeted client may send (HELLO is the handshake's). */
const REQUEST_OPCODES: ReadonlySet<number> = new Set([Opcode.CALL, Opcode.PUT, Opcode.GET_RECORDS, Opcode.SUBSCRIBE, Opcode.CANCEL]);

/** uWS.js sends one message in several frames with these; its typings leave them out. */
interface FragmentingWebSocket extends WebSocket<unknown> {
  sendFirstFragment(message: RecognizedString, isBinary?: boolean, compress?: boolean): number;
  sendFragment(message: RecognizedString, compress?: boolean): number;
  sendLastFragment(message: RecognizedString, compress?: boolean): number;
}

/** What a connection's upgrade request proved: its caller, or why it has none. */
export type Admission = { readonly caller: Caller } | { readonly refusal: ShardlineError };

export interface SessionHost {
  readonly engine: Engine;
  readonly access: AccessControl;
  /** Served over TLS (aws:SecureTransport). */
  readonly secure: boolean;
  readonly serverName: string;
  readonly stopping: boolean;
  /** Bytes of puts stored but not yet answered on one connection before its PUTs get SlowDown. */
  readonly putBytesInFlightMax: number;
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

/**
 * One client connection: the handshake, request ids in flight, and the subscriptions it runs.
 * Every frame is handled here; nothing a client sends can reach beyond its own session: a bad
 * frame gets an ERROR under its request id whenever the id can be read (or, past
 * PROTOCOL_ERRORS_MAX, a close), never an exception out of the message handler.
 *
 * uWS detaches an incoming ArrayBuffer when the handler returns, so every request reads what it
 * needs from the frame synchronously (the engine copies put records into its batches before
 * putEncoded returns).
 */
export class Session {
  private greeted = false;
  /** The ids of the requests in flight, subscriptions included: an id is not taken twice. */
  private readonly inFlight = new Set<number>();
  private putBytesInFlight = 0;
  private protocolErrors = 0;
  private closed = false;
  private readonly subscriptions: SessionSubscriptions;

  private readonly ws: FragmentingWebSocket;
  private readonly origin: Origin;

  constructor(
    ws: WebSocket<unknown>,
    private readonly host: SessionHost,
    private readonly admission: Admission,
    sourceIp: string,
  ) {
    this.ws = ws as FragmentingWebSocket;
    this.origin = { sourceIp, secureTransport: host.secure };
    this.subscriptions = new SessionSubscriptions({
      engine: host.engine,
      stopping: () => host.stopping,
      unsentBytes: () => this.unsentBytes,
      send: (frame) => this.send(frame),
      sendRecords: (opcode, requestId, raw) => this.sendRecords(opcode, requestId, raw),
      fail: (requestId, error) => this.fail(requestId, error),
      settle: (requestId) => this.inFlight.delete(requestId),
    });
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  get subscriptionCount(): number {
    return this.subscriptions.count;
  }

  /** Bytes uWS holds for this connection, not yet written to the socket. */
  get unsentBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    const bytes = new Uint8Array(message);
    if (bytes.length > FRAME_BYTES_MAX) {
      const requestId = isBinary && bytes.length >= FRAME_HEADER_BYTES ? new FrameReader(bytes).requestId : NO_REQUEST_ID;
      this.send(
        encodeError(requestId, {
          code: ProtocolErrorCode.MALFORMED_FRAME,
          message: `a frame has at most ${FRAME_BYTES_MAX} bytes, header included, got ${bytes.length}`,
          retriable: false,
        }),
      );
      this.end(CloseCode.TOO_BIG, 'frame too big');
      return;
    }
    let reader: FrameReader;
    try {
      if (!isBinary) throw new MalformedFrameError('frames are binary messages');
      reader = new FrameReader(bytes);
    } catch (error) {
      this.refuse(NO_REQUEST_ID, error);
      return;
    }
    try {
      if (reader.flags !== 0 || reader.reserved !== 0)
        throw new MalformedFrameError(
          `version ${PROTOCOL_VERSION} frames have flags and reserved 0, got ${reader.flags} and ${reader.reserved}`,
        );
      if (this.greeted) this.dispatch(reader);
      else this.handshake(reader);
    } catch (error) {
      if (error instanceof MalformedFrameError) this.refuse(reader.requestId, error);
      else this.fail(reader.requestId, error);
    }
  }

  onDrain(): void {
    this.subscriptions.onDrain();
  }

  onClose(): void {
    this.closed = true;
    this.subscriptions.abandon();
  }

  /** Ends every subscription (END "shutdown") and closes the connection (1001). */
  shutDown(): void {
    this.subscriptions.shutDown();
    this.end(CloseCode.GOING_AWAY, 'server shutting down');
  }

  /** A frame that does not parse; before HELLO nothing after it can be trusted: the handshake failed. */
  private refuse(requestId: number, error: unknown): void {
    this.protocolError(requestId, error);
    if (!this.greeted) this.end(CloseCode.HANDSHAKE_REQUIRED, 'HELLO first');
  }

  private handshake(reader: FrameReader): void {
    if (reader.opcode !== Opcode.HELLO) {
      this.send(
        encodeError(reader.requestId, {
          code: ProtocolErrorCode.HANDSHAKE_REQUIRED,
          message: 'the first frame must be HELLO',
          retriable: false,
        }),
      );
      this.end(CloseCode.HANDSHAKE_REQUIRED, 'HELLO first');
      return;
    }
    const { version } = decodeHello(reader);
    if ('refusal' in this.admission) {
      this.host.access.audit({ caller: null, operation: 'Connect', request: null, origin: this.origin, error: this.admission.refusal });
      this.fail(reader.requestId, this.admission.refusal);
      this.end(CloseCode.UNAUTHENTICATED, 'authentication failed');
      return;
    }
    if (version !== PROTOCOL_VERSION) {
      this.send(
        encodeError(reader.requestId, {
          code: ProtocolErrorCode.UNSUPPORTED_VERSION,
          message: `this server speaks protocol version ${PROTOCOL_VERSION}, not ${version}`,
          retriable: false,
        }),
      );
      this.end(CloseCode.UNSUPPORTED_VERSION, 'unsupported version');
      return;
    }
    this.greeted = true;
    this.send(
      encodeHelloOk(reader.requestId, {
        version: PROTOCOL_VERSION,
        maxFrameBytes: FRAME_BYTES_MAX,
        maxInFlight: IN_FLIGHT_MAX,
        serverName: this.host.serverName,
      }),
    );
  }

  /** The rules of docs/PROTOCOL.md, "Request ids", in the order it lists them; then the request. */
  private dispatch(reader: FrameReader): void {
    const { opcode, requestId } = reader;
    if (opcode === Opcode.HELLO) {
      this.protocolError(requestId, new MalformedFrameError('HELLO was already received'), ProtocolErrorCode.HANDSHAKE_REQUIRED);
      return;
    }
    if (!REQUEST_OPCODES.has(opcode)) {
      this.protocolError(requestId, new MalformedFrameError(`unknown opcode 0x${opcode.toString(16)}`), ProtocolErrorCode.UNKNOWN_OPCODE);
      return;
    }
    if (requestId === NO_REQUEST_ID)
      throw new MalformedFrameError(`request id ${NO_REQUEST_ID} is for frames that answer no request: number requests from 1`);
    if (opcode === Opcode.CANCEL) {
      if (reader.remaining !== 0) throw new MalformedFrameError('a CANCEL has an empty body');
      this.subscriptions.cancel(requestId);
      return;
    }
    if (this.inFlight.has(requestId)) throw new MalformedFrameError(`request id ${requestId} names a request still in flight`);
    if (this.host.stopping) {
      this.send(encodeError(requestId, { code: ProtocolErrorCode.SHUTTING_DOWN, message: 'the server is shutting down', retriable: true }));
      return;
    }
    if (this.inFlight.size >= IN_FLIGHT_MAX) {
      this.send(
        encodeError(requestId, {
          code: ProtocolErrorCode.TOO_MANY_REQUESTS,
          message: `at most ${IN_FLIGHT_MAX} requests in flight per connection`,
          retriable: true,
        }),
      );
      return;
    }
    if (opcode === Opcode.CALL) this.call(reader);
    else if (opcode === Opcode.PUT) this.put(reader);
    else if (opcode === Opcode.GET_RECORDS) this.getRecords(reader);
    else this.subscribe(reader);
  }

  /** The caller the upgrade request proved (a refused one never gets past HELLO). */
  private get caller(): Caller {
    return (this.admission as { caller: Caller }).caller;
  }

  /** Authorized, or audited as refused and thrown. */
  private authorize(operation: string, request: Readonly<Record<string, unknown>>): void {
    try {
      this.host.access.authorize(this.caller, operation, request, this.origin);
    } catch (error) {
      this.audit(operation, request, error);
      throw error;
    }
  }

  private audit(operation: string, request: Readonly<Record<string, unknown>>, error?: unknown): void {
    if (!this.host.access.auditing) return;
    this.host.access.audit({ caller: this.caller, operation, request, origin: this.origin, ...(error === undefined ? {} : { error }) });
  }

  private call(reader: FrameReader): void {
    const { operation, request } = decodeCall(reader);
    const engine = this.host.engine;
    const kinesis = operationNamed(operation);
    const run =
      operation === 'SimulateAuthorization'
        ? (body: unknown) => simulateAuthorization(this.host.access, this.caller, body, this.origin)
        : kinesis === undefined
          ? (groupOperation(engine, operation) ??
            triggerOperation(engine, operation) ??
            deliveryOperation(engine, operation) ??
            queryOperation(engine, operation) ??
            faultOperation(engine, operation) ??
            clockOperation(engine, operation))
          : (body: unknown) => kinesis(engine, body as never);
    if (run === undefined)
      throw new MalformedFrameError(
        `unknown operation ${operation}: CALL takes the operations docs/PROTOCOL.md lists (SubscribeToShard is the SUBSCRIBE frame)`,
      );
    const body = (request ?? {}) as Record<string, unknown>;
    this.authorize(operation, body);
    this.answer(reader.requestId, async () => {
      try {
        const { result, injected } = await faultsOf(engine).trace(() => run(request as never));
        const frame = encodeJsonFrame(Opcode.RESULT, reader.requestId, injected.length === 0 ? result : withInjected(result, injected));
        this.audit(operation, body);
        return frame;
      } catch (error) {
        this.audit(operation, body, error);
        throw error;
      }
    });
  }

  private put(reader: FrameReader): void {
    const requestId = reader.requestId;
    const frame = decodePut(reader);
    this.authorize('PutRecords', { StreamName: frame.stream });
    this.audit('PutRecords', { StreamName: frame.stream, RecordCount: frame.recordCount });
    const bytes = frame.records.length;
    // Client-to-server backpressure: uWS cannot stop reading a socket, so a producer faster
    // than the disk is told to back off (retriable) instead of queueing without bound.
    // A put alone is always admitted, however big, so that one cannot wait forever.
    const overConnection = this.putBytesInFlight > 0 && this.putBytesInFlight + bytes > this.host.putBytesInFlightMax;
    if (overConnection || !this.host.admitWrite(bytes)) {
      this.send(
        encodeError(requestId, {
          code: ProtocolErrorCode.SLOW_DOWN,
          message: 'too many bytes of puts in flight: retry after the earlier ones are answered',
          retriable: true,
        }),
      );
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
      const failures = result.failures.flatMap((failure) =>
        failure.indices.map((index) => ({ index, code: failure.code, message: failure.message })),
      );
      return encodePutResult(requestId, {
        shards: result.runs.map((run) => ({ serial: run.serial, firstOffset: run.firstOffset })),
        slots,
        failures,
      });
    });
  }

  private getRecords(reader: FrameReader): void {
    const { limit, shardIterator } = decodeGetRecords(reader);
    this.authorize('GetRecords', { ShardIterator: shardIterator });
    this.audit('GetRecords', { ShardIterator: shardIterator, Limit: limit });
    if (this.ws.getBufferedAmount() > READ_BACKPRESSURE_BYTES) {
      this.send(
        encodeError(reader.requestId, {
          code: ProtocolErrorCode.SLOW_DOWN,
          message: `the connection has ${this.ws.getBufferedAmount()} bytes unsent: read them first`,
          retriable: true,
        }),
      );
      return;
    }
    const raw = dataPathOf(this.host.engine).getRecordsRaw({ ShardIterator: shardIterator, Limit: limit });
    if (!(raw instanceof Promise)) {
      this.sendRecords(Opcode.RECORDS, reader.requestId, raw);
      return;
    }
    const requestId = reader.requestId;
    this.inFlight.add(requestId);
    raw.then(
      (records) => {
        this.inFlight.delete(requestId);
        this.sendRecords(Opcode.RECORDS, requestId, records);
      },
      (error: unknown) => {
        this.inFlight.delete(requestId);
        this.fail(requestId, error);
      },
    );
  }

  private subscribe(reader: FrameReader): void {
    const request = decodeSubscribe(reader);
    this.authorize('SubscribeToShard', request as unknown as Record<string, unknown>);
    this.audit('SubscribeToShard', request as unknown as Record<string, unknown>);
    this.inFlight.add(reader.requestId);
    this.subscriptions.start(reader.requestId, request);
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

  /** Runs a request to its one answer frame (or ERROR), its id in flight meanwhile. */
  private answer(requestId: number, produce: () => Promise<Uint8Array>): void {
    this.inFlight.add(requestId);
    produce().then(
      (frame) => {
        this.inFlight.delete(requestId);
        this.send(frame);
      },
      (error: unknown) => {
        this.inFlight.delete(requestId);
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
