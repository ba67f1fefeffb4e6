/**
 * The Kinesis Data Streams HTTP API in front of an engine, so the unmodified AWS SDKs talk to
 * shardline: `POST /` with `X-Amz-Target: Kinesis_20131202.<Operation>` and a JSON
 * (awsJson1_1) or CBOR (application/x-amz-cbor-1.1) body, answered in kind. On plain TCP,
 * HTTP/1.1 and HTTP/2 with prior knowledge (h2c, what the JavaScript SDK v3 speaks to an
 * http:// endpoint) share one port: the first bytes of a connection tell them apart. With TLS,
 * ALPN does. Browsers' CORS preflights are answered too (cors.ts). */
import { HTTP_BODY_BYTES_MAX } from '../../limits.js';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Engine } from '../../engine/engine.js';
import { ServiceUnavailableError, ShardlineError, UnknownOperationException, describeError } from '../../errors.js';
import { AccessControl, LOCAL_CALLER, type Caller, type Origin } from '../../auth/access_control.js';
import { answerLambda, isLambdaPath } from './lambda_api.js';
import { clockRequest, faultRequest, firehoseRequest, queryRequest } from '../../auth/operations.js';
import { faultsOf } from '../../engine/fault_injector.js';
import { FAULT_TARGET_PREFIX, isFaultOperation, runFaultOperation } from '../fault_operations.js';
import { CLOCK_TARGET_PREFIX, isClockOperation, runClockOperation } from '../clock_operations.js';
import { isFirehoseOperation, runFirehoseOperation } from '../../delivery/delivery_operations.js';
import { isQueryOperation, QUERY_TARGET_PREFIX, runQueryOperation } from '../../queries/query_operations.js';
import { operationNamed } from '../operations.js';
import { checkAuthorization } from './auth.js';
import { type CorsHeaders, corsHeaders, isPreflight, preflightHeaders } from './cors.js';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException } from './event_stream.js';
import { INPUT_SHAPES } from '../../streams/input_shapes.js';
import { readInput } from '../../streams/input_validation.js';
import { DEFAULT_KINESIS_PORT } from './port.js';
import { type Request, type Response, readBody, whenRead } from './request_body.js';
import { JSON_FORMAT, formatFor, type WireFormat } from './wire.js';

export interface KinesisHttpOptions {
  readonly engine: Engine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 4568; 0 picks a free port. */
  readonly port?: number;
  /** PEM key and certificate: https:// instead, HTTP/2 or HTTP/1.1 as ALPN settles it. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Who may do what (docs/SECURITY.md). Default: auth off, any credentials. */
  readonly access?: AccessControl;
}

const TARGET_PREFIX = 'Kinesis_20131202.';
const FIREHOSE_PREFIX = 'Firehose_20150804.';
/** The HTTP/2 connection preface starts "PRI * HTTP/2.0"; no HTTP/1.1 method starts "PRI". */
const H2_PREFACE_START = Buffer.from('PRI');
/** The hot operations whose results carry no blob and no timestamp: serialized without a replacer. */
const PLAIN_RESULTS = new Set(['PutRecord', 'PutRecords']);
/**
 * The operations whose output has no members in the API Reference: AWS answers them with an
 * empty body, not `{}`, and the SDKs read nothing there (an empty body is no members in JSON and
 * in CBOR alike).
 */
const EMPTY_RESULTS = new Set([
  'CreateStream',
  'DeleteStream',
  'SplitShard',
  'MergeShards',
  'IncreaseStreamRetentionPeriod',
  'DecreaseStreamRetentionPeriod',
  'UpdateStreamMode',
  'StartStreamEncryption',
  'StopStreamEncryption',
  'DeregisterStreamConsumer',
  'AddTagsToStream',
  'RemoveTagsFromStream',
]);
const EMPTY_BODY = Buffer.alloc(0);
/** The fault rules that touched an answer (docs/TESTING.md), comma-separated. */
const INJECTED_HEADER = 'x-shardline-injected';
/** AWS's ServiceUnavailable is a 503, which the SDKs retry as a transient server error. */
const SERVICE_UNAVAILABLE_STATUS = 503;
/** HTTP's Payload Too Large, for a body over HTTP_BODY_BYTES_MAX: it is refused unread. */
const TOO_LARGE_STATUS = 413;

interface Answer {
  readonly status: number;
  /** Undefined: an empty body. */
  readonly body: unknown;
  readonly errorType?: string;
  /** The request's format; errors found before it is known are answered in JSON. */
  readonly format: WireFormat;
  /** No blob or timestamp in the body (see PLAIN_RESULTS). */
  readonly plain?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

export class KinesisHttpServer {
  private constructor(
    private readonly listener: net.Server,
    private readonly sockets: Set<net.Socket>,
    readonly host: string,
    readonly port: number,
    /** http or https. */
    readonly scheme: string,
  ) {}

  static async start(options: KinesisHttpOptions): Promise<KinesisHttpServer> {
    const api: Api = {
      engine: options.engine,
      access: options.access ?? AccessControl.off(options.engine),
      secure: options.tls !== undefined,
    };
    const handle = (request: Request, response: Response): void => void answerRequest(api, request, response);
    const listener =
      options.tls === undefined ? plainListener(handle) : http2.createSecureServer({ ...options.tls, allowHTTP1: true }, handle);
    const sockets = new Set<net.Socket>();
    listener.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(options.port ?? DEFAULT_KINESIS_PORT, host, () => resolve());
    });
    return new KinesisHttpServer(
      listener,
      sockets,
      host,
      (listener.address() as net.AddressInfo).port,
      options.tls === undefined ? 'http' : 'https',
    );
  }

  get url(): string {
    return `${this.scheme}://${this.host}:${this.port}`;
  }

  /** Stops accepting connections and closes the open ones (requests in flight are cut). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** Plain TCP: HTTP/1.1 and h2c on one port, told apart by each connection's first bytes. */
function plainListener(handle: (request: Request, response: Response) => void): net.Server {
  const h1 = http.createServer(handle);
  const h2 = http2.createServer(handle);
  return net.createServer((socket) => routeConnection(socket, h1, h2));
}

/** Hands the connection to the HTTP/2 or the HTTP/1.1 server once its first bytes say which. */
function routeConnection(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    if (head.length < H2_PREFACE_START.length && H2_PREFACE_START.subarray(0, head.length).equals(head)) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(head);
    if (head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
      // The HTTP/2 session takes over the socket's handle and first reads what is buffered in
      // JS (the unshifted bytes); resuming here would hand them to nobody.
      h2.emit('connection', socket);
      return;
    }
    h1.emit('connection', socket);
    socket.resume();
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

/** What one server's requests share. */
interface Api {
  readonly engine: Engine;
  readonly access: AccessControl;
  /** Served over TLS (aws:SecureTransport). */
  readonly secure: boolean;
}

/** Errors are answered in the request's format, or in JSON when it has none we know. */
async function answerRequest(api: Api, request: Request, response: Response): Promise<void> {
  if (isPreflight(request.method, request.headers)) return answerPreflight(request, response);
  const cors = corsHeaders(request.headers);
  const contentType = (header(request, 'content-type') ?? '').split(';')[0]!.trim();
  const format = formatFor(contentType);
  let answer: Answer | Subscription;
  try {
    const body = await readBody(request);
    if (body === undefined) return refuseTooLarge(request, response, format ?? JSON_FORMAT, cors);
    answer = await answerFor(api, request, body, contentType, format);
  } catch (error) {
    answer = errorAnswer(error, format ?? JSON_FORMAT);
  }
  if ('events' in answer) return streamEvents(answer, response, cors);
  writeAnswer(answer, response, cors);
}

/** Writes the answer's head and body; `end: false` leaves the response open. */
function writeAnswer(answer: Answer, response: Response, cors: CorsHeaders, { end = true, close = false } = {}): void {
  const body = answer.body === undefined ? EMPTY_BODY : answer.format.serialize(answer.body, answer.plain === true);
  const headers: Record<string, string | number> = {
    'content-type': answer.format.contentType,
    'content-length': body.length,
    'x-amzn-requestid': randomUUID(),
    ...cors,
    ...answer.headers,
  };
  if (answer.errorType !== undefined) headers['x-amzn-errortype'] = answer.errorType;
  // HTTP/2 has no Connection header (Node refuses it): a refused stream ends alone.
  if (close && response instanceof http.ServerResponse) headers.connection = 'close';
  response.writeHead(answer.status, headers);
  if (end) response.end(body);
  else (response as NodeJS.WritableStream).write(body);
}

/** A preflight is answered alone: a browser sends it unsigned, with no body and no target. */
function answerPreflight(request: Request, response: Response): void {
  response.writeHead(200, { 'content-length': 0, 'x-amzn-requestid': randomUUID(), ...preflightHeaders(request.headers) });
  response.end();
}

/**
 * A body over HTTP_BODY_BYTES_MAX is refused with 413 at once, and the answer ends (and an HTTP/1.1
 * connection closes) once the client has sent the rest: see request_body.ts for why.
 */
function refuseTooLarge(request: Request, response: Response, format: WireFormat, cors: CorsHeaders): void {
  const type = 'SerializationException';
  const message = `The request body is over ${HTTP_BODY_BYTES_MAX} bytes: a Kinesis request is at most a PutRecords of 5 MiB of data`;
  const answer: Answer = { status: TOO_LARGE_STATUS, errorType: type, body: { __type: type, message }, format, plain: true };
  writeAnswer(answer, response, cors, { end: false, close: true });
  whenRead(request, () => response.end());
}

/** The answer to a request whose body was read; what it throws is answered as an error. */
async function answerFor(
  api: Api,
  request: Request,
  body: Buffer,
  contentType: string,
  format: WireFormat | undefined,
): Promise<Answer | Subscription> {
  const { engine } = api;
  const target = header(request, 'x-amz-target') ?? '';
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const origin = { sourceIp: request.socket.remoteAddress ?? '', secureTransport: api.secure };
  const audited = { caller: null as Caller | null, operation: name || target, request: null as Record<string, unknown> | null, origin };
  const userAgent = header(request, 'user-agent') ?? '';
  const url = new URL(request.url ?? '/', 'http://shardline.invalid');
  if (isLambdaPath(url.pathname)) return answerLambdaRequest(api, request, body, url, origin);
  for (const json of [FIREHOSE_API, QUERIES_API, FAULTS_API, CLOCK_API])
    if (target.startsWith(json.prefix)) return answerJsonApi(json, api, request, body, target.slice(json.prefix.length), origin);
  try {
    if (request.method !== 'POST') throw new UnknownOperationException(`${request.method} is not supported: the Kinesis API takes POST /`);
    audited.caller = authenticate(api, request, body);
    // SubscribeToShard streams its answer, so it is no table operation.
    const operation = name === 'SubscribeToShard' ? null : operationNamed(name);
    if (operation === undefined)
      throw new UnknownOperationException(target === '' ? 'Missing X-Amz-Target' : `Unknown operation ${target}`);
    if (format === undefined)
      throw new UnknownOperationException(
        `Content-Type ${contentType || '(none)'} is not supported: use application/x-amz-json-1.1 or application/x-amz-cbor-1.1`,
      );
    // Every served operation has an input shape (a test holds the two tables together).
    // DryRun and SubscribeToShard's 5-second rule are the engine's, as for every door.
    const parsed = readInput(format, INPUT_SHAPES[name]!, format.parse(body));
    audited.request = parsed;
    api.access.authorize(audited.caller, name, parsed, origin);
    const answer =
      operation === null ? await subscribe(api, parsed, format) : await answerOperation(operation, engine, name, parsed, format);
    api.access.audit({ ...audited, userAgent });
    return answer;
  } catch (error) {
    api.access.audit({ ...audited, userAgent, error });
    throw error;
  }
}

async function answerOperation(
  operation: (engine: Engine, request: never) => unknown,
  engine: Engine,
  name: string,
  request: Record<string, unknown>,
  format: WireFormat,
): Promise<Answer> {
  const { result, injected } = await faultsOf(engine).trace(() => operation(engine, request as never));
  const answer: Answer = { status: 200, body: EMPTY_RESULTS.has(name) ? undefined : result, format, plain: PLAIN_RESULTS.has(name) };
  return injected.length === 0 ? answer : { ...answer, headers: { [INJECTED_HEADER]: injected.join(',') } };
}

/**
 * With auth off, any credentials, but a request must carry a well-formed Authorization header as
 * it must for AWS; with auth on, a SigV4 signature (header or presigned query) of a known key.
 */
function authenticate(api: Api, request: Request, body: Buffer, service = 'kinesis'): Caller {
  if (!api.access.enabled) {
    checkAuthorization(request.headers);
    return LOCAL_CALLER;
  }
  const url = request.url ?? '/';
  const queryAt = url.indexOf('?');
  return api.access.authenticate(
    {
      method: request.method ?? 'POST',
      path: queryAt < 0 ? url : url.slice(0, queryAt),
      query: queryAt < 0 ? '' : url.slice(queryAt + 1),
      headers: request.headers,
      body,
    },
    service,
  );
}

/** Lambda's event-source-mapping API, signed for `lambda`; answered in JSON with Lambda's status codes. */
async function answerLambdaRequest(api: Api, request: Request, body: Buffer, url: URL, origin: Origin): Promise<Answer> {
  let caller: Caller;
  try {
    caller = authenticate(api, request, body, 'lambda');
  } catch (error) {
    return errorAnswer(error, JSON_FORMAT);
  }
  const answer = await answerLambda(api.engine, api.access, caller, origin, {
    method: request.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    body,
    ...(header(request, 'x-amz-invocation-type') === undefined ? {} : { invocationType: header(request, 'x-amz-invocation-type')! }),
  });
  return {
    status: answer.status,
    body: answer.body,
    format: JSON_FORMAT,
    plain: true,
    ...(answer.errorType === undefined ? {} : { errorType: answer.errorType }),
    ...(answer.headers === undefined ? {} : { headers: answer.headers }),
  };
}

/** A JSON API of the family beside Kinesis' (awsJson1_1): its target prefix, signing name, operations and access. */
interface JsonApi {
  readonly prefix: string;
  readonly service: string;
  readonly auditPrefix: string;
  isOperation(name: string): boolean;
  accessOf(name: string, request: Record<string, unknown>): { action: string; resource: string };
  run(engine: Api['engine'], name: string, request: Record<string, unknown>): Promise<unknown>;
}

/** Firehose's API, on the delivery registry (docs/DELIVERY.md). */
const FIREHOSE_API: JsonApi = {
  prefix: FIREHOSE_PREFIX,
  service: 'firehose',
  auditPrefix: 'Firehose.',
  isOperation: isFirehoseOperation,
  accessOf: firehoseRequest,
  run: runFirehoseOperation,
};

/** shardline's fault rules (docs/TESTING.md), signed for `kinesis`. */
const FAULTS_API: JsonApi = {
  prefix: FAULT_TARGET_PREFIX,
  service: 'kinesis',
  auditPrefix: 'Faults.',
  isOperation: isFaultOperation,
  accessOf: faultRequest,
  run: runFaultOperation,
};

/** shardline's manual clock (docs/TESTING.md), signed for `kinesis`. */
const CLOCK_API: JsonApi = {
  prefix: CLOCK_TARGET_PREFIX,
  service: 'kinesis',
  auditPrefix: 'Clock.',
  isOperation: isClockOperation,
  accessOf: clockRequest,
  run: runClockOperation,
};

/** shardline's queries (docs/QUERIES.md), signed for `kinesisanalytics`. */
const QUERIES_API: JsonApi = {
  prefix: QUERY_TARGET_PREFIX,
  service: 'kinesisanalytics',
  auditPrefix: 'Queries.',
  isOperation: isQueryOperation,
  accessOf: queryRequest,
  run: runQueryOperation,
};

async function answerJsonApi(json: JsonApi, api: Api, request: Request, body: Buffer, name: string, origin: Origin): Promise<Answer> {
  const audited = {
    caller: null as Caller | null,
    operation: `${json.auditPrefix}${name}`,
    request: null as Record<string, unknown> | null,
    origin,
  };
  const userAgent = header(request, 'user-agent') ?? '';
  try {
    audited.caller = authenticate(api, request, body, json.service);
    if (!json.isOperation(name)) throw new UnknownOperationException(`Unknown operation ${json.prefix}${name}`);
    const parsed = (body.length === 0 ? {} : JSON_FORMAT.parse(body)) as Record<string, unknown>;
    audited.request = parsed;
    const { action, resource } = json.accessOf(name, parsed);
    api.access.authorizeAction(audited.caller, action, resource, origin);
    const answer: Answer = { status: 200, body: await json.run(api.engine, name, parsed), format: JSON_FORMAT };
    api.access.audit({ ...audited, userAgent });
    return answer;
  } catch (error) {
    api.access.audit({ ...audited, userAgent, error });
    return errorAnswer(error, JSON_FORMAT);
  }
}

// ---- SubscribeToShard: an event stream over the response ----

/** How long Kinesis keeps a SubscribeToShard open: the client subscribes again after. */
/** Errors the engine finds at once (no such consumer or shard) are answered as plain 400s. */
const SUBSCRIBE_ERROR_WAIT_MS = 50;

interface Subscription {
  readonly events: AsyncGenerator<unknown>;
  readonly first: Promise<IteratorResult<unknown>>;
  readonly format: WireFormat;
}

async function subscribe(api: Api, request: Record<string, unknown>, format: WireFormat): Promise<Answer | Subscription> {
  const events = api.engine.subscribeToShard(request as never);
  const first = events.next();
  const early = await Promise.race([
    first.then(
      () => null,
      (error: unknown) => ({ error }),
    ),
    new Promise<null>((resolve) => setTimeout(() => resolve(null), SUBSCRIBE_ERROR_WAIT_MS)),
  ]);
  if (early === null) return { events, first, format };
  return errorAnswer(early.error, format);
}

async function streamEvents(subscription: Subscription, response: Response, cors: CorsHeaders): Promise<void> {
  const { events, format } = subscription;
  const contentType = format.contentType;
  let open = true;
  const end = (): void => {
    open = false;
    void events.return(undefined);
  };
  response.once('close', end);
  response.writeHead(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE, 'x-amzn-requestid': randomUUID(), ...cors });
  const write = async (message: Buffer): Promise<void> => {
    if (!(response as NodeJS.WritableStream).write(message)) await new Promise((resolve) => response.once('drain', resolve));
  };
  try {
    await write(encodeEvent('initial-response', contentType, format.serialize({})));
    for (let next = await subscription.first; open && next.done !== true; next = await events.next()) {
      await write(encodeEvent('SubscribeToShardEvent', contentType, format.serialize(next.value)));
    }
  } catch (error) {
    const failed = errorAnswer(error, format);
    // The event stream's server fault is InternalFailureException (the model's member), not the HTTP answer's InternalFailure.
    const type = failed.status >= 500 ? 'InternalFailureException' : failed.errorType!;
    if (open) await write(encodeException(type, contentType, format.serialize(failed.body)));
  } finally {
    response.end();
  }
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function clientError(type: string, message: string, format: WireFormat): Answer {
  return { status: 400, errorType: type, body: { __type: type, message }, format, plain: true };
}

/** A client fault is answered with 400 and its own type; anything else is a 500 InternalFailure. */
function errorAnswer(error: unknown, format: WireFormat): Answer {
  const injected =
    error instanceof ShardlineError && error.injected !== undefined ? { headers: { [INJECTED_HEADER]: error.injected } } : {};
  if (error instanceof ShardlineError && error.fault === 'client')
    return { ...clientError(error.code, error.message, format), ...injected };
  const { message } = describeError(error);
  const type = error instanceof ServiceUnavailableError ? error.code : 'InternalFailure';
  const status = type === 'InternalFailure' ? 500 : SERVICE_UNAVAILABLE_STATUS;
  return { status, errorType: type, body: { __type: type, message }, format, plain: true, ...injected };
}
