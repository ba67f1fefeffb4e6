import { IN_FLIGHT_MAX } from '../limits.js';
import { ShardlineError, errorFromCode } from '../errors.js';
import { decodeError } from '../net/messages/error.js';
import { decodeHelloOk, encodeHello } from '../net/messages/hello.js';
import { FrameReader, Opcode, PROTOCOL_VERSION, ProtocolErrorCode } from '../net/protocol.js';
import { presignUrl, type SigningCredentials } from './sigv4_presign.js';

/*
 * The client's connection (docs/PROTOCOL.md): one WebSocket, the HELLO handshake, request ids,
 * and the frames answering each request. It runs in Node (the `ws` package) and in browsers
 * (the native WebSocket): it needs only the WHATWG WebSocket surface below.
 */

/** The part of the WebSocket API the client uses (the browser's, and the `ws` package's). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

/** The connection dropped or could not be made: the request's outcome is unknown; retry. */
export class ConnectionError extends ShardlineError {
  readonly code = 'ConnectionError' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** The client was closed by its owner: nothing more will be sent; not worth retrying. */
export class ClientClosedError extends ShardlineError {
  readonly code = 'ClientClosed' as const;
}

/** The server refused a frame (a protocol error code, see docs/PROTOCOL.md). */
export class ProtocolError extends ShardlineError {
  constructor(
    readonly code: string,
    message: string,
    retriable: boolean,
  ) {
    super(message, { retriable });
  }
}

const PROTOCOL_CODES = new Set<string>(Object.values(ProtocolErrorCode));

/** The typed error an ERROR frame stands for. */
export function errorOfFrame(reader: FrameReader): ShardlineError {
  const { code, message, retriable } = decodeError(reader);
  if (PROTOCOL_CODES.has(code)) return new ProtocolError(code, message, retriable);
  return errorFromCode(code, message);
}

export interface TransportOptions {
  readonly clientName?: string;
  /**
   * The access key of an identity of a server with auth on: each connection's upgrade request is
   * SigV4-presigned with it (docs/PROTOCOL.md, "Authentication"). Without: no signature.
   */
  readonly credentials?: SigningCredentials;
  /** The region of the credential scope. Default us-east-1. */
  readonly region?: string;
  /** How long connecting (and the handshake) may take. Default 10 s. */
  readonly connectTimeoutMs?: number;
}

interface Pending {
  /** Called for each frame answering the request; returns true when it was the last. */
  readonly onFrame: (reader: FrameReader) => boolean;
  readonly onError: (error: Error) => void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_ID_MAX = 0xffff_ffff;

/**
 * One connection at a time: `connect()` opens it (again, after a drop); a drop fails every
 * request in flight with ConnectionError. Requests beyond the server's maxInFlight wait here,
 * so the server never has to refuse them.
 */
export class Transport {
  private socket: WebSocketLike | null = null;
  private connecting: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  private maxInFlight = IN_FLIGHT_MAX;
  private closed = false;
  /** Called when the connection drops (not on close()). */
  onDisconnect: ((error: ConnectionError) => void) | null = null;

  constructor(
    readonly url: string,
    private readonly factory: WebSocketFactory,
    private readonly options: TransportOptions = {},
  ) {}

  get connected(): boolean {
    return this.socket !== null && this.connecting === null;
  }

  /** Bytes queued in the WebSocket and not yet sent. */
  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  /** Opens the connection and shakes hands, unless it is open already. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError('the client is closed'));
    if (this.socket !== null && this.connecting === null) return Promise.resolve();
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /**
   * Sends the frame `build(requestId)` once there is room in flight, and hands every frame
   * answering it to `onFrame` until that returns true. ERROR frames and drops go to `onError`.
   * Returns the request id (for CANCEL).
   */
  async request(build: (requestId: number) => Uint8Array, onFrame: Pending['onFrame'], onError: Pending['onError']): Promise<number> {
    await this.connect();
    while (this.pending.size >= this.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    await this.connect();
    const requestId = this.takeId();
    this.pending.set(requestId, { onFrame, onError });
    this.socket!.send(build(requestId));
    return requestId;
  }

  /** A request with one answer frame; ERROR rejects. */
  call<T>(build: (requestId: number) => Uint8Array, decode: (reader: FrameReader) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.request(
        build,
        (reader) => {
          try {
            resolve(decode(reader));
          } catch (error) {
            reject(error);
          }
          return true;
        },
        reject,
      ).catch(reject);
    });
  }

  /** Sends a frame that expects no answer of its own (CANCEL). */
  sendRaw(frame: Uint8Array): void {
    if (this.connected) this.socket!.send(frame);
  }

  /** Pauses reading from the socket (Node's `ws` only), so the server holds back. */
  setReading(reading: boolean): void {
    const socket = this.socket as (WebSocketLike & { pause?: () => void; resume?: () => void }) | null;
    if (reading) socket?.resume?.();
    else socket?.pause?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'client closed');
    this.failAll(new ClientClosedError('the client was closed'));
  }

  private takeId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId >= REQUEST_ID_MAX ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  /** A fresh signature per connection (a presigned URL expires after 5 minutes); unsigned, the socket is made at once. */
  private open(): Promise<void> {
    const { credentials, region } = this.options;
    if (credentials === undefined) return this.openAt(this.url);
    return presignUrl(this.url, credentials, region === undefined ? {} : { region }).then((target) => this.openAt(target));
  }

  private openAt(target: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = this.factory(target);
      } catch (error) {
        reject(new ConnectionError(`cannot connect to ${this.url}: ${String(error)}`, { cause: error }));
        return;
      }
      socket.binaryType = 'arraybuffer';
      let settled = false;
      const timer = setTimeout(
        () =>
          fail(new ConnectionError(`connecting to ${this.url} took more than ${this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS} ms`)),
        this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      );
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onclose = null;
        socket.onmessage = null;
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(error);
      };
      socket.onerror = () => undefined; // the close event follows, with the code
      socket.onclose = (event) =>
        fail(new ConnectionError(`connection to ${this.url} closed during the handshake (${event.code} ${event.reason})`));
      socket.onopen = () =>
        socket.send(encodeHello(0, { version: PROTOCOL_VERSION, clientName: this.options.clientName ?? 'shardline-client' }));
      socket.onmessage = (event) => {
        const reader = new FrameReader(new Uint8Array(event.data as ArrayBuffer));
        if (reader.opcode === Opcode.ERROR) {
          fail(errorOfFrame(reader));
          return;
        }
        if (reader.opcode !== Opcode.HELLO_OK) {
          fail(new ConnectionError(`the server answered HELLO with opcode 0x${reader.opcode.toString(16)}`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.maxInFlight = decodeHelloOk(reader).maxInFlight;
        this.attach(socket);
        resolve();
      };
    });
  }

  private attach(socket: WebSocketLike): void {
    this.socket = socket;
    socket.onmessage = (event) => this.onFrame(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const error = new ConnectionError(`connection to ${this.url} lost (${event.code} ${event.reason})`);
      this.failAll(error);
      this.onDisconnect?.(error);
    };
  }

  private onFrame(bytes: Uint8Array): void {
    let reader: FrameReader;
    try {
      reader = new FrameReader(bytes);
    } catch {
      return; // not a frame of ours: nothing to match it to
    }
    const pending = this.pending.get(reader.requestId);
    if (pending === undefined) return; // a late frame of a cancelled subscription
    let done = true;
    if (reader.opcode === Opcode.ERROR) pending.onError(errorOfFrame(reader));
    else {
      try {
        done = pending.onFrame(reader);
      } catch (error) {
        pending.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (done) this.settle(reader.requestId);
  }

  /** Forgets a request (its last frame came, or it was given up). */
  settle(requestId: number): void {
    if (!this.pending.delete(requestId)) return;
    this.waiting.shift()?.();
  }

  private failAll(error: ShardlineError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) request.onError(error);
    for (const wake of this.waiting.splice(0)) wake();
  }
}
