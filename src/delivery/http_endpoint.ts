import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { InvalidArgumentException } from '../errors.js';
import { sleep } from '../groups/record_source.js';

/*
 * A delivery stream's HTTP endpoint destination: a buffer of records POSTed to a URL by Firehose's
 * request/response protocol (kinesis-family.md §5.5, AWS's "HTTP endpoint delivery request and
 * response specifications"), so that an endpoint written against shardline works against Firehose.
 * Only a 200 whose JSON names the request's id is a delivery; a conforming 413 is final; anything
 * else is retried with Firehose's backoff while the wait stays within RetryOptions, under one
 * request id so the endpoint can deduplicate. A buffer above one request's limits goes as several
 * requests, in order, each sent only once the one before it was taken.
 *
 * node:http rather than fetch: the error codes depend on where an attempt failed (connecting, the
 * TLS handshake, after the connection was made), which fetch folds into one TypeError; and fetch
 * would follow redirects and decompress the response, both of which Firehose refuses to do.
 */

export type ContentEncoding = 'NONE' | 'GZIP';
export type S3BackupMode = 'FailedDataOnly' | 'AllData';

export interface HttpEndpointSettings {
  /** http or https: AWS takes only https on port 443, an emulator also serves local endpoints. */
  readonly url: string;
  readonly name?: string;
  /** Sent verbatim as X-Amz-Firehose-Access-Key. */
  readonly accessKey?: string;
  readonly commonAttributes?: Readonly<Record<string, string>>;
  readonly contentEncoding: ContentEncoding;
  /** The time retries may wait in all (0: one attempt); the waits for responses do not count. */
  readonly retryDurationSeconds: number;
  /** The delivery stream's ARN. */
  readonly sourceArn: string;
}

/** HttpEndpointDestinationConfiguration resolved: what a delivery needs but the stream's ARN, and the buffering. */
export interface HttpEndpointConfiguration extends Omit<HttpEndpointSettings, 'sourceArn'> {
  readonly bufferingHints: { readonly sizeInMBs: number; readonly intervalInSeconds: number };
  readonly s3BackupMode: S3BackupMode;
  /** S3Configuration as given, its RoleARN and BucketARN checked: the backup bucket is the S3 destination's to resolve. */
  readonly s3Configuration: Readonly<Record<string, unknown>>;
}

/** Firehose's error codes for an HTTP endpoint (its guide's "Troubleshooting HTTP Endpoints"). */
export type HttpEndpointErrorCode =
  | 'HttpEndpoint.DestinationException'
  | 'HttpEndpoint.InvalidResponseFromDestination'
  | 'HttpEndpoint.RequestTimeout'
  | 'HttpEndpoint.ResponseTooLarge'
  | 'HttpEndpoint.ConnectionFailed'
  | 'HttpEndpoint.ConnectionReset'
  | 'HttpEndpoint.SSLHandshakeFailure';

/** `attempts` counts every request sent, over all the parts of a split buffer. */
export type HttpDelivery =
  | { readonly delivered: true; readonly attempts: number }
  | {
      readonly delivered: false;
      /** A 413: retrying cannot help, and Firehose does not back such a batch up to S3. */
      readonly permanent: boolean;
      readonly attempts: number;
      readonly errorCode: HttpEndpointErrorCode;
      readonly errorMessage: string;
    };

export interface HttpDeliveryOptions {
  /** Aborting rejects the delivery with the signal's reason, whatever was in flight. */
  readonly signal: AbortSignal;
  /** The body's timestamp, ms since the epoch. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** [0, 1): where each backoff falls within its ±15 %. */
  readonly random?: () => number;
  /** How long connecting may take, and then the response. Default 3 minutes, Firehose's. */
  readonly timeoutMs?: number;
}

export const RETRY_DURATION_DEFAULT_SECONDS = 300;
const RETRY_DURATION_MAX_SECONDS = 7200;
export const RECORDS_PER_REQUEST_MAX = 10_000;
/** The body before compression. */
export const REQUEST_BYTES_MAX = 64 * 1024 * 1024;
const RESPONSE_BYTES_MAX = 1024 * 1024;
const RESPONSE_TIMEOUT_MS = 180_000;
const BACKOFF_INITIAL_MS = 1000;
const BACKOFF_MAX_MS = 120_000;
const JITTER = 0.15;
/** The endpoint's errorMessage may hold 8,192 characters; the raw body quoted in ours is cut there. */
const QUOTED_BODY_MAX = 8192;
/** The body around its records, with room for a 16-digit timestamp. */
const ENVELOPE_BYTES = '{"requestId":"","timestamp":,"records":[]}'.length + 36 + 16;
/** `{"data":""}` and the comma after it. */
const RECORD_OVERHEAD_BYTES = 12;

const gzipAsync = promisify(gzip);

/* ---------------------------------------------------------------------------------------------- */
/* The configuration                                                                              */

const AT = 'httpEndpointDestinationConfiguration';
/** AWS's pattern for names: not blank, one line. */
const NAME = /^(?!\s*$).+$/;
/** What node:http lets into a header value. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Firehose's HttpEndpointDestinationConfiguration checked, defaults filled; InvalidArgumentException naming the first bad member. */
export function resolveHttpEndpointConfiguration(config: unknown): HttpEndpointConfiguration {
  const destination = objectAt(config, AT);
  const endpoint = objectAt(destination.EndpointConfiguration, `${AT}.endpointConfiguration`);
  const request = optionalObjectAt(destination.RequestConfiguration, `${AT}.requestConfiguration`);
  const name = optionalStringAt(endpoint.Name, `${AT}.endpointConfiguration.name`, 1, 256);
  if (name !== undefined && !NAME.test(name)) throw patternViolation(name, `${AT}.endpointConfiguration.name`, NAME);
  const accessKey = accessKeyOf(endpoint.AccessKey);
  const commonAttributes = commonAttributesOf(request?.CommonAttributes);
  return {
    url: urlOf(endpoint.Url),
    ...(name === undefined ? {} : { name }),
    ...(accessKey === undefined ? {} : { accessKey }),
    ...(commonAttributes === undefined ? {} : { commonAttributes }),
    contentEncoding: enumAt(request?.ContentEncoding, `${AT}.requestConfiguration.contentEncoding`, ['NONE', 'GZIP'], 'NONE'),
    retryDurationSeconds: retryDurationSecondsOf(destination.RetryOptions),
    bufferingHints: bufferingHintsOf(destination.BufferingHints),
    s3BackupMode: enumAt(destination.S3BackupMode, `${AT}.s3BackupMode`, ['FailedDataOnly', 'AllData'], 'FailedDataOnly'),
    s3Configuration: s3ConfigurationOf(destination.S3Configuration),
  };
}

/** RetryOptions{DurationInSeconds}: 0 .. 7,200, 300 when absent. */
export function retryDurationSecondsOf(retryOptions: unknown): number {
  const options = optionalObjectAt(retryOptions, `${AT}.retryOptions`);
  return integerAt(
    options?.DurationInSeconds,
    `${AT}.retryOptions.durationInSeconds`,
    0,
    RETRY_DURATION_MAX_SECONDS,
    RETRY_DURATION_DEFAULT_SECONDS,
  );
}

function urlOf(value: unknown): string {
  const member = `${AT}.endpointConfiguration.url`;
  const url = stringAt(value, member, 1, 1000);
  const protocol = URL.canParse(url) ? new URL(url).protocol : null;
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new InvalidArgumentException(`${member} ${url} is not an http:// or https:// URL (AWS takes https:// on port 443 only)`);
  return url;
}

/** ≤ 4,096 bytes, as the guide bounds the header; the key is never quoted back. */
function accessKeyOf(value: unknown): string | undefined {
  const member = `${AT}.endpointConfiguration.accessKey`;
  const key = optionalStringAt(value, member, 0, 4096, true);
  if (key === undefined) return undefined;
  if (Buffer.byteLength(key) > 4096) throw violation('***', member, 'Member must have length less than or equal to 4096 bytes');
  if (!HEADER_VALUE.test(key)) throw new InvalidArgumentException(`${member} holds a character an HTTP header cannot carry`);
  return key;
}

/** Absent when none are set, so that no header is sent. */
function commonAttributesOf(value: unknown): Record<string, string> | undefined {
  const member = `${AT}.requestConfiguration.commonAttributes`;
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new InvalidArgumentException(`${member} must be a list of {AttributeName, AttributeValue}`);
  if (value.length > 50) throw violation(`[${value.length} attributes]`, member, 'Member must have length less than or equal to 50');
  const attributes: Record<string, string> = {};
  value.forEach((entry: unknown, i) => {
    const attribute = objectAt(entry, `${member}.${i + 1}`);
    const name = stringAt(attribute.AttributeName, `${member}.${i + 1}.attributeName`, 1, 256, true);
    if (!NAME.test(name))
      throw violation('***', `${member}.${i + 1}.attributeName`, `Member must satisfy regular expression pattern: ${NAME.source}`);
    if (Object.hasOwn(attributes, name)) throw new InvalidArgumentException(`${member} names attribute ${i + 1}'s AttributeName twice`);
    attributes[name] = stringAt(attribute.AttributeValue, `${member}.${i + 1}.attributeValue`, 0, 1024, true);
  });
  return value.length === 0 ? undefined : attributes;
}

/** SizeInMBs 1 .. 64 (5) and IntervalInSeconds 0 .. 900 (300): both or neither. */
function bufferingHintsOf(value: unknown): HttpEndpointConfiguration['bufferingHints'] {
  const member = `${AT}.bufferingHints`;
  const hints = optionalObjectAt(value, member);
  if ((hints?.SizeInMBs === undefined) !== (hints?.IntervalInSeconds === undefined))
    throw new InvalidArgumentException(`${member}: SizeInMBs and IntervalInSeconds must be given together, or neither`);
  return {
    sizeInMBs: integerAt(hints?.SizeInMBs, `${member}.sizeInMBs`, 1, 64, 5),
    intervalInSeconds: integerAt(hints?.IntervalInSeconds, `${member}.intervalInSeconds`, 0, 900, 300),
  };
}

function s3ConfigurationOf(value: unknown): Readonly<Record<string, unknown>> {
  const member = `${AT}.s3Configuration`;
  const s3 = objectAt(value, member);
  stringAt(s3.RoleARN, `${member}.roleARN`, 1, 512);
  stringAt(s3.BucketARN, `${member}.bucketARN`, 1, 2048);
  return s3;
}

/** AWS's sentence for a member that breaks its shape. */
function violation(shown: string, member: string, constraint: string): InvalidArgumentException {
  return new InvalidArgumentException(
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

function patternViolation(value: string, member: string, pattern: RegExp): InvalidArgumentException {
  return violation(`'${value}'`, member, `Member must satisfy regular expression pattern: ${pattern.source}`);
}

function objectAt(value: unknown, member: string): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) throw violation('null', member, 'Member must not be null');
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentException(`${member} must be an object`);
  return value as Readonly<Record<string, unknown>>;
}

function optionalObjectAt(value: unknown, member: string): Readonly<Record<string, unknown>> | undefined {
  return value === undefined ? undefined : objectAt(value, member);
}

/** `secret`: the value is not quoted back (AWS marks access keys and attributes sensitive). */
function stringAt(value: unknown, member: string, min: number, max: number, secret = false): string {
  if (value === undefined || value === null) throw violation('null', member, 'Member must not be null');
  if (typeof value !== 'string') throw new InvalidArgumentException(`${member} must be a string`);
  const shown = secret ? '***' : `'${value}'`;
  if (value.length < min) throw violation(shown, member, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw violation(shown, member, `Member must have length less than or equal to ${max}`);
  return value;
}

function optionalStringAt(value: unknown, member: string, min: number, max: number, secret = false): string | undefined {
  return value === undefined ? undefined : stringAt(value, member, min, max, secret);
}

function integerAt(value: unknown, member: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw violation(`'${String(value)}'`, member, 'Member must be an integer');
  if (value < min) throw violation(`'${value}'`, member, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw violation(`'${value}'`, member, `Member must have value less than or equal to ${max}`);
  return value;
}

function enumAt<T extends string>(value: unknown, member: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T))
    throw violation(`'${String(value)}'`, member, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  return value as T;
}

/* ---------------------------------------------------------------------------------------------- */
/* The delivery                                                                                   */

type Failure = Omit<Extract<HttpDelivery, { delivered: false }>, 'attempts' | 'delivered'>;

interface PreparedRequest {
  readonly url: URL;
  readonly requestId: string;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: Buffer;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Delivers the records, in order, as one request or several; nothing is sent for none. */
export async function deliverToHttpEndpoint(
  records: readonly Uint8Array[],
  settings: HttpEndpointSettings,
  options: HttpDeliveryOptions,
): Promise<HttpDelivery> {
  options.signal.throwIfAborted();
  let attempts = 0;
  for (const part of splitIntoRequests(records)) {
    const outcome = await deliverRequest(part, settings, options);
    attempts += outcome.attempts;
    if (!outcome.delivered) return { ...outcome, attempts };
  }
  return { delivered: true, attempts };
}

/** The records cut, in order, into requests of at most 10,000 records and 64 MiB of body (a record larger alone is sent alone). */
export function splitIntoRequests(records: readonly Uint8Array[]): Uint8Array[][] {
  const requests: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const record of records) {
    const size = RECORD_OVERHEAD_BYTES + 4 * Math.ceil(record.byteLength / 3);
    if (current.length === RECORDS_PER_REQUEST_MAX || (current.length > 0 && bytes + size > REQUEST_BYTES_MAX)) {
      requests.push(current);
      current = [];
      bytes = ENVELOPE_BYTES;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * One request until it is taken, refused for good, or the next backoff would take the retries past
 * RetryOptions. The body is built once: every attempt is the same request, timestamp included.
 */
async function deliverRequest(
  records: readonly Uint8Array[],
  settings: HttpEndpointSettings,
  options: HttpDeliveryOptions,
): Promise<HttpDelivery> {
  const request = await prepare(records, settings, options);
  const budgetMs = settings.retryDurationSeconds * 1000;
  let waitedMs = 0;
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    const reply = await post(request);
    const failure = 'errorCode' in reply ? reply : judge(reply, request.requestId);
    if (failure === null) return { delivered: true, attempts: attempt };
    const delayMs = backoffMs(attempt - 1, options.random ?? Math.random);
    if (failure.permanent || waitedMs + delayMs > budgetMs) return { delivered: false, attempts: attempt, ...failure };
    waitedMs += delayMs;
    await (options.sleep ?? sleep)(delayMs, options.signal);
  }
}

/** Firehose's wait before retry n (0 first): 1 s × 2^n within ±15 %, at most 2 minutes. */
function backoffMs(retry: number, random: () => number): number {
  const jitter = 1 - JITTER + 2 * JITTER * random();
  return Math.min(BACKOFF_MAX_MS, Math.round(BACKOFF_INITIAL_MS * 2 ** retry * jitter));
}

async function prepare(
  records: readonly Uint8Array[],
  settings: HttpEndpointSettings,
  options: HttpDeliveryOptions,
): Promise<PreparedRequest> {
  const requestId = randomUUID();
  const data = records.map((record) => `{"data":"${Buffer.from(record.buffer, record.byteOffset, record.byteLength).toString('base64')}"}`);
  const json = Buffer.from(`{"requestId":"${requestId}","timestamp":${(options.now ?? Date.now)()},"records":[${data.join(',')}]}`);
  const body = settings.contentEncoding === 'GZIP' ? await gzipAsync(json) : json;
  return {
    url: new URL(settings.url),
    requestId,
    headers: headersOf(requestId, settings, body.length),
    body,
    timeoutMs: options.timeoutMs ?? RESPONSE_TIMEOUT_MS,
    signal: options.signal,
  };
}

function headersOf(requestId: string, settings: HttpEndpointSettings, length: number): http.OutgoingHttpHeaders {
  const { accessKey, commonAttributes } = settings;
  return {
    'X-Amz-Firehose-Protocol-Version': '1.0',
    'X-Amz-Firehose-Request-Id': requestId,
    'X-Amz-Firehose-Source-Arn': settings.sourceArn,
    ...(accessKey === undefined ? {} : { 'X-Amz-Firehose-Access-Key': accessKey }),
    ...(commonAttributes === undefined ? {} : { 'X-Amz-Firehose-Common-Attributes': asciiJson({ commonAttributes }) }),
    'Content-Type': 'application/json',
    ...(settings.contentEncoding === 'GZIP' ? { 'Content-Encoding': 'gzip' } : {}),
    'Content-Length': length,
  };
}

/** JSON with everything past ASCII escaped: a header value cannot carry it raw, and the JSON means the same. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/* ---------------------------------------------------------------------------------------------- */
/* One attempt                                                                                    */

/** Where an attempt stands: what went wrong is named after it. */
type Phase = 'connecting' | 'handshaking' | 'connected';

/** One POST: the endpoint's reply, a failure short of one, or a rejection with the signal's reason. */
function post(request: PreparedRequest): Promise<Reply | Failure> {
  const { url, signal } = request;
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    let phase: Phase = 'connecting';
    let settled = false;
    const outgoing = (secure ? https : http).request(url, { method: 'POST', headers: request.headers });
    /** From the start to the response's last byte; a timeout still connecting is a failure to connect. */
    const timer = setTimeout(() => {
      settle(timeoutFailure(phase, request.timeoutMs));
      outgoing.destroy();
    }, request.timeoutMs);
    const settle = (outcome: Reply | Failure | { readonly aborted: true }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if ('aborted' in outcome) reject(signal.reason);
      else resolve(outcome);
    };
    const onAbort = (): void => {
      settle({ aborted: true });
      outgoing.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('socket', (socket) => watchConnection(socket, secure, (next) => (phase = next)));
    outgoing.on('error', (error) => settle(transportFailure(error, phase)));
    outgoing.on('response', (response) => readReply(response, settle));
    outgoing.end(request.body);
  });
}

/** A kept-alive socket comes connected; a new one connects, then (https) shakes hands. */
function watchConnection(socket: Socket, secure: boolean, enter: (phase: Phase) => void): void {
  if (!socket.connecting) return enter('connected');
  socket.once('connect', () => enter(secure ? 'handshaking' : 'connected'));
  if (secure) socket.once('secureConnect', () => enter('connected'));
}

/** The body up to 1 MiB; a longer one is dropped with its connection. */
function readReply(response: http.IncomingMessage, settle: (outcome: Reply | Failure) => void): void {
  const tooLarge = (): void => {
    response.destroy();
    settle({
      permanent: false,
      errorCode: 'HttpEndpoint.ResponseTooLarge',
      errorMessage: `The response from the endpoint is larger than ${RESPONSE_BYTES_MAX} bytes`,
    });
  };
  if (Number(response.headers['content-length']) > RESPONSE_BYTES_MAX) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > RESPONSE_BYTES_MAX) tooLarge();
    else chunks.push(chunk);
  });
  response.on('end', () =>
    settle({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
  );
  response.on('error', (error) => settle(transportFailure(error, 'connected')));
  response.on('close', () => {
    if (!response.complete) settle(transportFailure(new Error('the connection closed before the response ended'), 'connected'));
  });
}

function timeoutFailure(phase: Phase, timeoutMs: number): Failure {
  if (phase === 'connecting')
    return {
      permanent: false,
      errorCode: 'HttpEndpoint.ConnectionFailed',
      errorMessage: `The endpoint did not accept a connection within ${timeoutMs} ms`,
    };
  return {
    permanent: false,
    errorCode: 'HttpEndpoint.RequestTimeout',
    errorMessage: `The endpoint did not respond within ${timeoutMs} ms`,
  };
}

function transportFailure(error: Error, phase: Phase): Failure {
  const cause = error.message;
  switch (phase) {
    case 'connecting':
      return { permanent: false, errorCode: 'HttpEndpoint.ConnectionFailed', errorMessage: `Could not connect to the endpoint: ${cause}` };
    case 'handshaking':
      return {
        permanent: false,
        errorCode: 'HttpEndpoint.SSLHandshakeFailure',
        errorMessage: `The TLS handshake with the endpoint failed: ${cause}`,
      };
    case 'connected':
      return {
        permanent: false,
        errorCode: 'HttpEndpoint.ConnectionReset',
        errorMessage: `The endpoint reset or closed the connection: ${cause}`,
      };
  }
}

/**
 * Null for a delivery. The guide treats a response that breaks the format as a 500 with no body:
 * so a 413 is final only when it conforms (a proxy's HTML 413 is retried, then backed up).
 */
function judge(reply: Reply, requestId: string): Failure | null {
  const fault = nonconformity(reply, requestId);
  if (reply.status === 200 && fault === null) return null;
  if (reply.status === 200)
    return {
      permanent: false,
      errorCode: 'HttpEndpoint.InvalidResponseFromDestination',
      errorMessage: `The response received from the endpoint is invalid: the response for request ${requestId} ${fault}. Raw response received: 200 ${quoted(reply.body)}`,
    };
  return {
    permanent: reply.status === 413 && fault === null,
    errorCode: 'HttpEndpoint.DestinationException',
    errorMessage: `The following response was received from the endpoint destination. ${reply.status}: ${quoted(reply.body)}`,
  };
}

/** What breaks the response format, or null: JSON, uncompressed, naming the request and a numeric timestamp. */
function nonconformity(reply: Reply, requestId: string): string | null {
  const type = reply.headers['content-type'];
  if (type?.split(';')[0]?.trim().toLowerCase() !== 'application/json') return `has Content-Type ${type ?? '(none)'}, not application/json`;
  const encoding = reply.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return `is content-encoded (${encoding})`;
  const body = parsed(reply.body);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'is not a JSON object';
  const fields = body as { requestId?: unknown; timestamp?: unknown };
  if (fields.requestId !== requestId) return `has requestId ${JSON.stringify(fields.requestId) ?? '(none)'}, not the request's`;
  if (typeof fields.timestamp !== 'number') return 'has no numeric timestamp';
  return null;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function quoted(body: string): string {
  return body.length > QUOTED_BODY_MAX ? `${body.slice(0, QUOTED_BODY_MAX)}…` : body;
}
