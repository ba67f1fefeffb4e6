/**
 * AWS Signature Version 4, verified as Kinesis verifies it (kinesis-family.md §7.2; AWS's "Create a
 * signed AWS API request" and "Troubleshoot signed requests"): a signature in the Authorization
 * header or in the query string of a presigned URL, checked in AWS's order and refused with AWS's
 * codes and words, so that a client that fails against Kinesis fails here the same way.
 *
 * The order of the checks is AWS's (as captured from the Coral services by dynalite/kinesalite):
 *   1. exactly one kind of signature: neither is MissingAuthenticationTokenException, both is
 *      InvalidSignatureException;
 *   2. every part present, and a date: IncompleteSignatureException;
 *   3. the date in ISO-8601 basic format: IncompleteSignatureException;
 *   4. the clock: within ±5 minutes of ours (a presigned URL: until X-Amz-Expires has passed):
 *      InvalidSignatureException;
 *   5. `host` (or `:authority`) signed; the algorithm; a credential of five parts; a scope of the
 *      request's date, our service and `aws4_request`;
 *   6. a known access key id: UnrecognizedClientException;
 *   7. the signature itself, over the canonical request: InvalidSignatureException;
 *   8. no session token, since this server issues none: UnrecognizedClientException.
 *
 * The canonical request is the one @smithy/signature-v4 (every AWS SDK for JavaScript) signs:
 * the path normalized and URI-encoded once more (the SDK encodes the already-encoded path, the
 * "double encoding" of every service but S3), the query decoded, re-encoded and sorted without
 * X-Amz-Signature, each signed header with its value trimmed and inner runs of blanks collapsed,
 * and the hex SHA-256 of the body. The SDK signs the value of `x-amz-content-sha256` (a header it
 * adds to every request; presign() hoists it into the query) in that place, which is the body's
 * hash when the claim is true; hashing the body that came, rather than trusting the claim, is what
 * makes a body changed after signing (or an "UNSIGNED-PAYLOAD" claim) a signature mismatch.
 *
 * Cost: the signing key (four HMACs) is cached per secret, date, region and service, so a
 * verification is a SHA-256 of the body, one of the canonical request, and one HMAC.
 */
import { canonicalPath, canonicalQuery, isoBasic, parseQueryPieces, type QueryPair } from '../util/sigv4_canonical.js';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../errors.js';

export interface SignedRequest {
  readonly method: string;
  /** The raw request path, without the query. */
  readonly path: string;
  /** The raw query string without '?', '' if none. */
  readonly query: string;
  /** Lower-case names as Node gives them; over HTTP/2 the pseudo-headers (':authority', ...) are included and there may be no 'host'. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
}

export interface VerifyOptions {
  /** The service the credential scope must name: 'kinesis', 'firehose', ... */
  readonly service: string;
  /** The server's clock; default Date.now(). */
  readonly nowMs?: number;
  /** How far a request's date may be from the server's clock; default 5 minutes, as Kinesis. */
  readonly maxSkewMs?: number;
}

export interface VerifiedSignature {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  readonly signedAtMs: number;
  /** Signed in the query string (a presigned URL) rather than in the Authorization header. */
  readonly presigned: boolean;
}

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const SIGV4_SCOPE_TERMINATOR = 'aws4_request';
/** Kinesis's window around its clock for a request's X-Amz-Date. */
export const SIGV4_SKEW_MS_MAX = 5 * 60_000;
/** The longest a presigned URL may last (X-Amz-Expires): a week, as long as a signing key is valid. */
export const PRESIGNED_EXPIRES_SECONDS_MAX = 604_800;
/** Signing keys kept: one per secret, day, region and service in use; 1,000 take a few hundred KB. */
const SIGNING_KEYS_MAX = 1_000;

// AWS's messages (kinesis-family.md §7.2; dynalite index.js, which captured them from the Coral
// services Kinesis shares; AWS IAM guide "Troubleshoot signed requests for AWS APIs").
const MISSING_TOKEN = 'Missing Authentication Token';
const FOUND_BOTH = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.";
const HOST_UNSIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
const TOKEN_INVALID = 'The security token included in the request is invalid.';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
  'Consult the service documentation for details.';

const HEADER_PARTS = ['Credential', 'Signature', 'SignedHeaders'] as const;
const QUERY_PARTS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'] as const;
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** What a request claims about its signature, from the header or from the query. */
interface Claim {
  readonly presigned: boolean;
  readonly algorithm: string;
  readonly credential: string;
  readonly signedHeaders: string;
  readonly signature: string;
  /** The request's date in ISO-8601 basic format, as it goes into the string to sign. */
  readonly amzDate: string;
  readonly signedAtMs: number;
  readonly expiresSeconds: number | undefined;
  readonly sessionToken: string | undefined;
}

/**
 * The access key id that signed the request, or the typed error AWS answers (see the file's
 * comment for the order). `secretOf` returns the secret access key of a key id, or undefined for a
 * key the server does not know.
 */
export function verifySigV4(
  request: SignedRequest,
  secretOf: (accessKeyId: string) => string | undefined,
  options: VerifyOptions,
): VerifiedSignature {
  const nowMs = options.nowMs ?? Date.now();
  const maxSkewMs = options.maxSkewMs ?? SIGV4_SKEW_MS_MAX;
  const query = parseQueryPieces(request.query === '' ? [] : request.query.split('&'));
  const claim = readClaim(request, query);
  checkClock(claim, nowMs, maxSkewMs);

  const signedNames = claim.signedHeaders.split(';');
  if (!signedNames.some((name) => name.toLowerCase() === 'host' || name === ':authority')) {
    throw new InvalidSignatureException(HOST_UNSIGNED);
  }
  if (claim.algorithm !== SIGV4_ALGORITHM) {
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${claim.algorithm}' (only ${SIGV4_ALGORITHM} for now). `);
  }
  const scope = claim.credential.replace(/\/+$/, '').split('/');
  if (scope.length !== 5) {
    throw new IncompleteSignatureException(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
  checkScope(claim, date, region, service, terminator, options.service);

  const secret = secretOf(accessKeyId);
  if (secret === undefined) throw new UnrecognizedClientException(TOKEN_INVALID);

  const canonical = canonicalRequest(request, query, signedNames, claim.signedHeaders, sha256Hex(request.body));
  const stringToSign = `${SIGV4_ALGORITHM}\n${claim.amzDate}\n${date}/${region}/${service}/${terminator}\n${sha256Hex(canonical)}`;
  const expected = createHmac('sha256', signingKey(secret, date, region, service))
    .update(stringToSign, 'utf8')
    .digest('hex');
  if (!sameSignature(expected, claim.signature)) throw new InvalidSignatureException(SIGNATURE_MISMATCH);

  if (claim.sessionToken !== undefined) throw new UnrecognizedClientException(TOKEN_INVALID);
  return { accessKeyId, region, service, signedAtMs: claim.signedAtMs, presigned: claim.presigned };
}

/** Steps 1 to 3: which kind of signature, all of its parts, and its date. */
function readClaim(request: SignedRequest, query: readonly QueryPair[]): Claim {
  const authorization = single(request.headers.authorization);
  const presigned = query.some(([key]) => key === 'X-Amz-Algorithm');
  const hasHeader = authorization !== undefined && authorization !== '';
  if (hasHeader && presigned) throw new InvalidSignatureException(FOUND_BOTH);
  if (presigned) return readQueryClaim(request, query);
  if (!hasHeader || !authorization.trim().startsWith('AWS4-')) throw new MissingAuthenticationTokenException(MISSING_TOKEN);
  return readHeaderClaim(request, authorization);
}

function readHeaderClaim(request: SignedRequest, authorization: string): Claim {
  const text = authorization.trim();
  const space = text.indexOf(' ');
  const algorithm = space < 0 ? text : text.slice(0, space);
  const parts = new Map<string, string>();
  for (const part of (space < 0 ? '' : text.slice(space + 1)).split(/[, ]/)) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    parts.set(equals < 0 ? part : part.slice(0, equals), equals < 0 ? '' : part.slice(equals + 1));
  }
  const xAmzDate = nonEmpty(single(request.headers['x-amz-date']));
  const httpDate = nonEmpty(single(request.headers.date));
  let missing = '';
  for (const part of HEADER_PARTS) if ((parts.get(part) ?? '') === '') missing += `Authorization header requires '${part}' parameter. `;
  if (xAmzDate === undefined && httpDate === undefined) {
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (missing !== '') throw new IncompleteSignatureException(`${missing}Authorization=${authorization}`);
  const { amzDate, signedAtMs } = xAmzDate !== undefined ? readIsoBasic(xAmzDate) : readHttpDate(httpDate ?? '');
  return {
    presigned: false,
    algorithm,
    credential: parts.get('Credential') ?? '',
    signedHeaders: parts.get('SignedHeaders') ?? '',
    signature: parts.get('Signature') ?? '',
    amzDate,
    signedAtMs,
    expiresSeconds: undefined,
    sessionToken: nonEmpty(single(request.headers['x-amz-security-token'])),
  };
}

function readQueryClaim(request: SignedRequest, query: readonly QueryPair[]): Claim {
  const param = (name: string): string | undefined => nonEmpty(query.find(([key]) => key === name)?.[1]);
  let missing = '';
  for (const part of QUERY_PARTS) if (param(part) === undefined) missing += `AWS query-string parameters must include '${part}'. `;
  if (missing !== '') throw new IncompleteSignatureException(`${missing}Re-examine the query-string parameters.`);
  const { amzDate, signedAtMs } = readIsoBasic(param('X-Amz-Date') ?? '');
  const expires = query.find(([key]) => key === 'X-Amz-Expires')?.[1];
  return {
    presigned: true,
    algorithm: param('X-Amz-Algorithm') ?? '',
    credential: param('X-Amz-Credential') ?? '',
    signedHeaders: param('X-Amz-SignedHeaders') ?? '',
    signature: param('X-Amz-Signature') ?? '',
    amzDate,
    signedAtMs,
    expiresSeconds: expires === undefined ? undefined : readExpires(expires),
    sessionToken: param('X-Amz-Security-Token'),
  };
}

/** X-Amz-Expires: whole seconds from 1 to a week (the messages are S3's, the one service that documents them). */
function readExpires(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new IncompleteSignatureException('X-Amz-Expires should be a number');
  const seconds = Number(text);
  if (seconds < 0) throw new IncompleteSignatureException('X-Amz-Expires must be non-negative');
  if (seconds === 0) throw new IncompleteSignatureException('X-Amz-Expires must be at least 1 second');
  if (seconds > PRESIGNED_EXPIRES_SECONDS_MAX) {
    throw new IncompleteSignatureException(`X-Amz-Expires must be less than a week (in seconds) that is ${PRESIGNED_EXPIRES_SECONDS_MAX}`);
  }
  return seconds;
}

function readIsoBasic(text: string): { amzDate: string; signedAtMs: number } {
  const match = ISO_BASIC.exec(text);
  if (match !== null) {
    const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
    const signedAtMs = Date.UTC(year, month - 1, day, hour, minute, second);
    // Date.UTC rolls 20240230 over to March: a date that does not round-trip is no date.
    if (isoBasic(signedAtMs) === text) return { amzDate: text, signedAtMs };
  }
  throw badDate(text);
}

/** The HTTP Date header (RFC 9110 IMF-fixdate), which AWS reads when there is no X-Amz-Date. */
function readHttpDate(text: string): { amzDate: string; signedAtMs: number } {
  const signedAtMs = Date.parse(text);
  if (Number.isNaN(signedAtMs)) throw badDate(text);
  const whole = Math.floor(signedAtMs / 1000) * 1000;
  return { amzDate: isoBasic(whole), signedAtMs: whole };
}

function badDate(text: string): IncompleteSignatureException {
  return new IncompleteSignatureException(
    `Date must be in ISO-8601 'basic format'. Got '${text}'. See http://en.wikipedia.org/wiki/ISO_8601`,
  );
}

/** Step 4, in AWS's words: "(<now> - 5 min.)" names the limit the date was held to. */
function checkClock(claim: Claim, nowMs: number, maxSkewMs: number): void {
  const latestMs = nowMs + maxSkewMs;
  if (claim.signedAtMs > latestMs) {
    throw new InvalidSignatureException(
      `Signature not yet current: ${claim.amzDate} is still later than ${isoBasic(latestMs)} (${isoBasic(nowMs)} + ${duration(maxSkewMs)}.)`,
    );
  }
  // A presigned URL lasts its X-Amz-Expires; a header, and a URL without one, the skew window.
  const validMs = claim.expiresSeconds === undefined ? maxSkewMs : claim.expiresSeconds * 1000;
  const earliestMs = nowMs - validMs;
  if (claim.signedAtMs < earliestMs) {
    throw new InvalidSignatureException(
      `Signature expired: ${claim.amzDate} is now earlier than ${isoBasic(earliestMs)} (${isoBasic(nowMs)} - ${duration(validMs)}.)`,
    );
  }
}

/** Step 5's scope, every fault at once as AWS lists them. */
function checkScope(claim: Claim, date: string, region: string, service: string, terminator: string, ourService: string): void {
  const faults: string[] = [];
  if (region === '') faults.push(`Credential should be scoped to a valid region, not '${region}'.`);
  if (service !== ourService) faults.push(`Credential should be scoped to correct service: '${ourService}'.`);
  if (terminator !== SIGV4_SCOPE_TERMINATOR) {
    faults.push(`Credential should be scoped with a valid terminator: '${SIGV4_SCOPE_TERMINATOR}', not '${terminator}'.`);
  }
  const requestDate = claim.amzDate.slice(0, 8);
  if (date !== requestDate) {
    faults.push(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${requestDate}', from '${claim.amzDate}'.`,
    );
  }
  if (faults.length > 0) throw new InvalidSignatureException(faults.join(' '));
}

function canonicalRequest(
  request: SignedRequest,
  query: readonly QueryPair[],
  signedNames: readonly string[],
  signedHeaders: string,
  payloadHash: string,
): string {
  let headers = '';
  for (const name of signedNames) headers += `${name}:${canonicalHeaderValue(headerValue(request.headers, name.toLowerCase()))}\n`;
  return `${request.method}\n${canonicalPath(request.path)}\n${canonicalQuery(query)}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}

/**
 * A signed header's value. Over HTTP/2 the SDK signs `:authority`, and an SDK or proxy that signs
 * `host` may send only `:authority` (Node then gives no `host`): each stands in for the other.
 */
function headerValue(headers: SignedRequest['headers'], name: string): string | string[] | undefined {
  const value = headers[name];
  if (value !== undefined) return value;
  if (name === 'host') return headers[':authority'];
  if (name === ':authority') return headers.host;
  return undefined;
}

/** Trimmed, each inner run of blanks (and any line break) one space; several values joined with ','. */
function canonicalHeaderValue(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '';
  const values = typeof value === 'string' ? [value] : value;
  return values
    .map((one) =>
      one
        .replace(/[\r\n]/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .replace(/^ | $/g, ''),
    )
    .join(',');
}

/** As AWS words a window: "5 min", or seconds when it is not whole minutes. */
function duration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} sec`;
  return `${ms} ms`;
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The two signatures compared in time that depends on their length only (which is public). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Least recently used first: a hit moves its key to the end. */
const signingKeys = new Map<string, Buffer>();

/**
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
 * cached under the secret itself (length-prefixed, so no two inputs share a key): a secret that
 * changes gets a key of its own, never the old one.
 */
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret.length}:${secret}${date}${region.length}:${region}${service}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) {
    signingKeys.delete(cacheKey);
    signingKeys.set(cacheKey, cached);
    return cached;
  }
  let key = createHmac('sha256', `AWS4${secret}`).update(date, 'utf8').digest();
  for (const part of [region, service, SIGV4_SCOPE_TERMINATOR]) key = createHmac('sha256', key).update(part, 'utf8').digest();
  if (signingKeys.size >= SIGNING_KEYS_MAX) {
    const oldest = signingKeys.keys().next();
    if (oldest.done !== true) signingKeys.delete(oldest.value);
  }
  signingKeys.set(cacheKey, key);
  return key;
}

/** How many signing keys are cached (for tests of the bound). */
export function signingKeysCached(): number {
  return signingKeys.size;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
