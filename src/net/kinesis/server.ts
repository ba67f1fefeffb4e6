/**
 * The Kinesis Data Streams HTTP API in front of an engine, so the unmodified AWS SDKs talk to
 * shardline: `POST /` with `X-Amz-Target: Kinesis_20131202.<Operation>` and a JSON
 * (awsJson1_1) or CBOR (application/x-amz-cbor-1.1) body, answered in kind. On plain TCP,
 * HTTP/1.1 and HTTP/2 with prior knowledge (h2c, what the JavaScript SDK v3 speaks to an
 * http:// endpoint) share one port: the first bytes of a connection tell them apart. With TLS,
 * ALPN does. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Engine } from '../../engine/engine.js';
import { DryRunOperationException, describeError } from '../../errors.js';
import { operationNamed } from '../operations.js';
import { AuthError, checkAuthorization } from './auth.js';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException } from './event_stream.js';
import { INPUT_SHAPES } from './input_shapes.js';
import { readInput } from './input_validation.js';
import { DEFAULT_KINESIS_PORT } from './port.js';
import { JSON_FORMAT, WireSerializationError, formatFor, type WireFormat } from './wire.js';

export interface KinesisHttpOptions {
  readonly engine: Engine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 4568; 0 picks a free port. */
  readonly port?: number;
  /** PEM key and certificate: https:// instead, HTTP/2 or HTTP/1.1 as ALPN settles it. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
}

const TARGET_PREFIX = 'Kinesis_20131202.';
/** Kinesis' largest request is a PutRecords of 5 MiB of data, base64 in JSON: about 7 MB. */
const BODY_BYTES_MAX = 8 * 1024 * 1024;
/** The HTTP/2 connection preface starts "PRI * HTTP/2.0"; no HTTP/1.1 method starts "PRI". */
const H2_PREFACE_START = Buffer.from('PRI');
/** Errors Kinesis answers with 400: the caller's to fix. Anything else is a 500 InternalFailure. */
/** The hot operations whose results carry no blob and no timestamp: serialized without a replacer. */
const PLAIN_RESULTS = new Set(['PutRecord', 'PutRecords']);
const CLIENT_ERRORS = new Set([
  'InvalidArgumentException', 'ResourceNotFoundException', 'ResourceInUseException', 'LimitExceededException', 'ProvisionedThroughputExceededException',
  'ExpiredIteratorException', 'ExpiredNextTokenException', 'ValidationException', 'AccessDeniedException', 'SerializationException',
  'UnknownOperationException', 'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'DryRunOperationException',
]);

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly errorType?: string;
  /** The request's format; errors found before it is known are answered in JSON. */
  readonly format: WireFormat;
  /** No blob or timestamp in the body (see PLAIN_RESULTS). */
  readonly plain?: boolean;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

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
    const api: Api = { engine: options.engine, subscribedAt: new Map() };
    const handle = (request: Request, response: Response): void => void answerRequest(api, request, response);
    const listener = options.tls === undefined ? plainListener(handle) : http2.createSecureServer({ ...options.tls, allowHTTP1: true }, handle);
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
    return new KinesisHttpServer(listener, sockets, host, (listener.address() as net.AddressInfo).port, options.tls === undefined ? 'http' : 'https');
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
  /** When each consumer and shard was last subscribed: AWS refuses a second call within 5 s. */
  readonly subscribedAt: Map<string, number>;
}

async function answerRequest(api: Api, request: Request, response: Response): Promise<void> {
  const contentType = (header(request, 'content-type') ?? '').split(';')[0]!.trim();
  const format = formatFor(contentType);
  let answer: Answer | Subscription;
  try {
    answer = await answerFor(api, request, await readBody(request), contentType, format);
  } catch (error) {
    answer = errorAnswer(error, format ?? JSON_FORMAT);
  }
  if ('events' in answer) return streamEvents(answer, response);
  writeAnswer(answer, response);
}

function writeAnswer(answer: Answer, response: Response): void {
  const body = answer.format.serialize(answer.body, answer.plain === true);
  const headers: Record<string, string | number> = { 'content-type': answer.format.contentType, 'content-length': body.length, 'x-amzn-requestid': randomUUID() };
  if (answer.errorType !== undefined) headers['x-amzn-errortype'] = answer.errorType;
  response.writeHead(answer.status, headers);
  response.end(body);
}

/** Errors are answered in the request's format, or in JSON when it has none we know. */
async function answerFor(api: Api, request: Request, body: Buffer, contentType: string, format: WireFormat | undefined): Promise<Answer | Subscription> {
  const { engine } = api;
  const errorFormat = format ?? JSON_FORMAT;
  if (request.method !== 'POST') return clientError('UnknownOperationException', `${request.method} is not supported: the Kinesis API takes POST /`, errorFormat);
  checkAuthorization(request.headers);
  const target = header(request, 'x-amz-target') ?? '';
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  // SubscribeToShard streams its answer, so it is no table operation.
  const operation = name === 'SubscribeToShard' ? null : operationNamed(name);
  if (operation === undefined) return clientError('UnknownOperationException', target === '' ? 'Missing X-Amz-Target' : `Unknown operation ${target}`, errorFormat);
  if (format === undefined) return clientError('UnknownOperationException', `Content-Type ${contentType || '(none)'} is not supported: use application/x-amz-json-1.1 or application/x-amz-cbor-1.1`, errorFormat);
  // Every served operation has an input shape (a test holds the two tables together).
  const parsed = readInput(format, INPUT_SHAPES[name]!, format.parse(body));
  if (parsed.DryRun === true) await dryRun(engine, name, parsed);
  if (operation === null) return subscribe(api, parsed, format);
  const result = await operation(engine, parsed as never);
  return { status: 200, body: result ?? {}, format, plain: PLAIN_RESULTS.has(name) };
}

/**
 * DryRun (PutRecord, PutRecords, GetShardIterator, GetRecords, SubscribeToShard): the request is
 * validated and what it names is looked up, then it is refused with DryRunOperationException,
 * as AWS does when it would have succeeded. Nothing is stored or read: GetShardIterator makes
 * its iterator and drops it; a GetRecords iterator is checked only for its form, since reading
 * it is what would count against the shard's limits.
 */
async function dryRun(engine: Engine, operation: string, request: Record<string, unknown>): Promise<never> {
  if (operation === 'SubscribeToShard') engine.describeStreamConsumer({ ConsumerARN: request.ConsumerARN as string });
  else if (operation !== 'GetRecords') engine.describeStreamSummary(request as { StreamName?: string; StreamARN?: string });
  if (operation === 'GetShardIterator') await engine.getShardIterator(request as never);
  throw new DryRunOperationException('The request was rejected because the DryRun parameter was specified.');
}

// ---- SubscribeToShard: an event stream over the response ----

/** How long Kinesis keeps a SubscribeToShard open: the client subscribes again after. */
const SUBSCRIPTION_MS = 5 * 60 * 1000;
/** Errors the engine finds at once (no such consumer or shard) are answered as plain 400s. */
const SUBSCRIBE_ERROR_WAIT_MS = 50;
/**
 * AWS's reference: "If you call SubscribeToShard again with the same ConsumerARN and ShardId
 * within 5 seconds of a successful call, you'll get a ResourceInUseException."
 */
const RESUBSCRIBE_MS = 5000;

interface Subscription {
  readonly events: AsyncGenerator<unknown>;
  readonly first: Promise<IteratorResult<unknown>>;
  readonly format: WireFormat;
}

async function subscribe(api: Api, request: Record<string, unknown>, format: WireFormat): Promise<Answer | Subscription> {
  const key = `${request.ConsumerARN as string} ${request.ShardId as string}`;
  const nowMs = Date.now();
  for (const [held, atMs] of api.subscribedAt) if (nowMs - atMs >= RESUBSCRIBE_MS) api.subscribedAt.delete(held);
  if (api.subscribedAt.has(key)) {
    return clientError('ResourceInUseException', `${request.ConsumerARN as string} subscribed to ${request.ShardId as string} less than 5 seconds ago: subscribe again after 5 seconds`, format);
  }
  // Held from now, so that two calls at once cannot both pass; given back if this one fails.
  api.subscribedAt.set(key, nowMs);
  const events = api.engine.subscribeToShard(request as never);
  const first = events.next();
  const early = await Promise.race([first.then(() => null, (error: unknown) => ({ error })), new Promise<null>((resolve) => setTimeout(() => resolve(null), SUBSCRIBE_ERROR_WAIT_MS))]);
  if (early === null) return { events, first, format };
  api.subscribedAt.delete(key);
  return errorAnswer(early.error, format);
}

async function streamEvents(subscription: Subscription, response: Response): Promise<void> {
  const { events, format } = subscription;
  const contentType = format.contentType;
  let open = true;
  const end = (): void => {
    open = false;
    void events.return(undefined);
  };
  const timer = setTimeout(end, SUBSCRIPTION_MS);
  response.once('close', end);
  response.writeHead(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });
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
    if (open) await write(encodeException(failed.errorType ?? 'InternalFailureException', contentType, format.serialize(failed.body)));
  } finally {
    clearTimeout(timer);
    response.end();
  }
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: Request): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > BODY_BYTES_MAX) {
        reject(new WireSerializationError(`the request body is over ${BODY_BYTES_MAX} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function clientError(type: string, message: string, format: WireFormat): Answer {
  return { status: 400, errorType: type, body: { __type: type, message }, format, plain: true };
}

function errorAnswer(error: unknown, format: WireFormat): Answer {
  if (error instanceof AuthError) return clientError(error.code, error.message, format);
  if (error instanceof WireSerializationError) return clientError('SerializationException', error.message, format);
  const { code, message } = describeError(error);
  if (CLIENT_ERRORS.has(code)) return clientError(code, message, format);
  return { status: 500, errorType: 'InternalFailure', body: { __type: 'InternalFailure', message }, format, plain: true };
}
