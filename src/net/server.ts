import { BACKPRESSURE_CLOSE_BYTES, PUT_BYTES_IN_FLIGHT_MAX, WRITE_BYTES_IN_FLIGHT_MAX } from '../limits.js';
import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';
import { AccessControl } from '../auth/access_control.js';
import type { Engine } from '../engine/engine.js';
import { ShardlineError } from '../errors.js';
import { DEFAULT_PORT, MESSAGE_BYTES_MAX } from './protocol.js';
import { Session, type Admission } from './session.js';
import { addHttpRoutes, type HttpRoutes } from './http_routes.js';

export interface ServerOptions {
  readonly engine: Engine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 4567; 0 picks a free port (see `port` once started). */
  readonly port?: number;
  /** How long shutdown waits for writes in flight. Default 10 s. */
  readonly shutdownTimeoutMs?: number;
  /** Bytes of puts stored but not yet answered, over all connections, before PUTs get SlowDown. Default 512 MiB. */
  readonly writeBytesInFlightMax?: number;
  /** The same bound per connection. Default 64 MiB. */
  readonly putBytesInFlightMax?: number;
  /** Who may do what (docs/SECURITY.md). Default: auth off, any client. */
  readonly access?: AccessControl;
  /** PEM files: wss:// instead of ws:// (uWS's SSLApp). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Plain HTTP beside the WebSocket: /metrics and the web console (http_routes.ts). */
  readonly http?: HttpRoutes;
}

/**
 * uWS closes a connection whose unsent bytes pass this (a client that never reads); the
 * sessions' own limits (SUBSCRIPTION_HIGH_WATER_BYTES, READ_BACKPRESSURE_BYTES) keep a client
 * that reads, however slowly, far below it.
 */
const IDLE_TIMEOUT_SECONDS = 120;
/**
 * HELLO_OK names the server and its version (docs/PROTOCOL.md, Handshake). package.json sits two
 * levels up from src/net/ and from dist/net/ alike; require() reads JSON on Node 20 and 22
 * without the import attributes the two spell differently.
 */
const SERVER_NAME = `shardline/${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`;
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * The WebSocket server (docs/PROTOCOL.md) on uWebSockets.js, on the engine's thread: it decodes,
 * validates and routes on this thread, and the engine hands records to the shard workers in one
 * message per event-loop turn. `GET /health` answers 200 for load balancers and scripts.
 */
export class ShardlineServer {
  private readonly sessions = new Set<Session>();
  private readonly writes = new Set<Promise<unknown>>();
  private writeBytesInFlight = 0;
  private listenSocket: uWS.us_listen_socket | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly app: uWS.TemplatedApp,
    private readonly options: ServerOptions,
    readonly host: string,
    readonly port: number,
  ) {}

  static start(options: ServerOptions): Promise<ShardlineServer> {
    const host = options.host ?? '127.0.0.1';
    const app =
      options.tls === undefined ? uWS.App() : uWS.SSLApp({ cert_file_name: options.tls.certFile, key_file_name: options.tls.keyFile });
    const access = options.access ?? AccessControl.off(options.engine);
    let server: ShardlineServer | null = null;
    const sessionHost = {
      engine: options.engine,
      access,
      secure: options.tls !== undefined,
      serverName: SERVER_NAME,
      putBytesInFlightMax: options.putBytesInFlightMax ?? PUT_BYTES_IN_FLIGHT_MAX,
      get stopping() {
        return server?.stopping ?? false;
      },
      admitWrite: (bytes: number) => server?.admitWrite(bytes) ?? false,
      releaseWrite: (bytes: number) => server?.releaseWrite(bytes),
      track: (write: Promise<unknown>, bytes: number) => server?.track(write, bytes),
    };
    app.ws<{ session: Session; admission: Admission; sourceIp: string }>('/*', {
      // Above FRAME_BYTES_MAX, so that the session answers frames up to MESSAGE_BYTES_MAX and
      // closes with 1009; uWS drops bigger ones without a close frame (1006).
      maxPayloadLength: MESSAGE_BYTES_MAX,
      // No permessage-deflate: batches go out as views of the mapped files (docs/PROTOCOL.md).
      compression: uWS.DISABLED,
      maxBackpressure: BACKPRESSURE_CLOSE_BYTES,
      closeOnBackpressureLimit: true,
      idleTimeout: IDLE_TIMEOUT_SECONDS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const admission = admit(access, req);
        const sourceIp = Buffer.from(res.getRemoteAddressAsText()).toString();
        res.upgrade(
          { admission, sourceIp },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const { admission, sourceIp } = ws.getUserData();
        const session = new Session(ws, sessionHost, admission, sourceIp);
        ws.getUserData().session = session;
        server?.sessions.add(session);
        if (server?.stopping === true) session.shutDown();
      },
      message: (ws, message, isBinary) => ws.getUserData().session.onMessage(message, isBinary),
      drain: (ws) => ws.getUserData().session.onDrain(),
      close: (ws) => {
        const session = ws.getUserData().session;
        session.onClose();
        server?.sessions.delete(session);
      },
    });
    app.get('/health', (res) => {
      // Serving already: a shard still recovering answers once it is open.
      const recovering = options.engine.shardsRecovering;
      const body = recovering === 0 ? 'ok\n' : `ok: ${recovering} shards recovering\n`;
      res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(body));
    });
    addHttpRoutes(app, options.http ?? {});
    app.any('/*', (res) => {
      res.cork(() =>
        res
          .writeStatus('426 Upgrade Required')
          .writeHeader('content-type', 'text/plain')
          .end('shardline speaks its protocol over WebSocket on this port (docs/PROTOCOL.md)\n'),
      );
    });
    return new Promise((resolve, reject) => {
      app.listen(host, options.port ?? DEFAULT_PORT, (socket) => {
        if (socket === false) {
          app.close();
          reject(new Error(`cannot listen on ${host}:${options.port ?? DEFAULT_PORT} (in use, or not an address of this machine)`));
          return;
        }
        server = new ShardlineServer(app, options, host, uWS.us_socket_local_port(socket));
        server.listenSocket = socket;
        resolve(server);
      });
    });
  }

  get url(): string {
    return `${this.options.tls === undefined ? 'ws' : 'wss'}://${this.host}:${this.port}/`;
  }

  /** The bounds on bytes of puts in flight this server applies, per connection and in all. */
  get putBounds(): { perConnection: number; perServer: number } {
    return {
      perConnection: this.options.putBytesInFlightMax ?? PUT_BYTES_IN_FLIGHT_MAX,
      perServer: this.options.writeBytesInFlightMax ?? WRITE_BYTES_IN_FLIGHT_MAX,
    };
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  /** What the connections hold now: for operators, and for tests of backpressure. */
  stats(): { connections: number; subscriptions: number; requestsInFlight: number; unsentBytesMax: number; unsentBytesTotal: number } {
    let subscriptions = 0;
    let requestsInFlight = 0;
    let unsentBytesMax = 0;
    let unsentBytesTotal = 0;
    for (const session of this.sessions) {
      subscriptions += session.subscriptionCount;
      requestsInFlight += session.requestsInFlight;
      unsentBytesMax = Math.max(unsentBytesMax, session.unsentBytes);
      unsentBytesTotal += session.unsentBytes;
    }
    return { connections: this.sessions.size, subscriptions, requestsInFlight, unsentBytesMax, unsentBytesTotal };
  }

  /**
   * Graceful stop: no new connections or requests (ShuttingDown), writes in flight are
   * answered, subscriptions end (END "shutdown"), connections close (1001). The engine stays
   * open: its owner closes it. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    if (this.listenSocket !== null) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    const timeoutMs = this.options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.writes]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    // Let the answers of those writes go out before the closes.
    await new Promise((resolve) => setImmediate(resolve));
    for (const session of [...this.sessions]) session.shutDown();
    this.app.close();
  }

  private admitWrite(bytes: number): boolean {
    // A put alone is always admitted, however big, so that one cannot wait forever.
    if (this.writeBytesInFlight > 0 && this.writeBytesInFlight + bytes > this.putBounds.perServer) return false;
    this.writeBytesInFlight += bytes;
    return true;
  }

  private releaseWrite(bytes: number): void {
    this.writeBytesInFlight -= bytes;
  }

  /** Follows an admitted write until it settles (shutdown waits for writes in flight). */
  private track(write: Promise<unknown>, bytes: number): void {
    this.writes.add(write);
    const forget = (): void => {
      this.writes.delete(write);
      this.releaseWrite(bytes);
    };
    write.then(forget, forget);
  }
}

/**
 * The upgrade request's SigV4 presigned query (docs/PROTOCOL.md, "Authentication"), read while
 * uWS still holds the request. A refusal is not answered here: the session answers the HELLO
 * with the typed error, which a browser could not read from a refused upgrade.
 */
function admit(access: AccessControl, req: uWS.HttpRequest): Admission {
  const headers: Record<string, string> = {};
  req.forEach((name, value) => {
    headers[name] = value;
  });
  try {
    return {
      caller: access.authenticate({ method: 'GET', path: req.getUrl(), query: req.getQuery() ?? '', headers, body: new Uint8Array(0) }),
    };
  } catch (error) {
    if (error instanceof ShardlineError) return { refusal: error };
    throw error;
  }
}
