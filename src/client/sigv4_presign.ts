/**
 * A SigV4 presigned URL (AWS's "Authenticating requests: using query parameters"), made in a
 * browser as well as in Node: WebCrypto (globalThis.crypto.subtle) and TextEncoder, no Node
 * module. shardline's WebSocket client authenticates its upgrade request this way, as AWS IoT's
 * WebSocket clients do, because a browser can set a WebSocket's URL but not its headers.
 *
 * The URL signs a GET with an empty body and the one header `host` (URL.host: the port included
 * unless it is the scheme's default, as a WebSocket client sends it). Its query keeps the URL's
 * own parameters, which are signed too, and adds X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-Security-Token (with a session token), X-Amz-SignedHeaders and
 * X-Amz-Signature: what @smithy/signature-v4's presign() gives for the same request, and what
 * src/auth/sigv4.ts verifies. The canonicalization below is that file's, written again here
 * because that one is Node's (node:crypto); the tests hold the two to the SDK's signer.
 */
import { canonicalPath, canonicalQuery, decode, escapeUri, isoBasic, parseQueryPieces, type QueryPair } from '../util/sigv4_canonical.js';
import { InvalidArgumentException } from '../errors.js';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface PresignOptions {
  /** Default us-east-1. */
  readonly region?: string;
  /** Default 'kinesis'. */
  readonly service?: string;
  /** The signing time; default Date.now(). */
  readonly nowMs?: number;
  /** How long the URL is valid, 1 to 604,800 seconds (a week); default 300. */
  readonly expiresSeconds?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
const EXPIRES_SECONDS_DEFAULT = 300;
const EXPIRES_SECONDS_MAX = 604_800;
/** The hex SHA-256 of no bytes: the payload hash of a GET without a body. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SCHEMES = new Set(['ws:', 'wss:', 'http:', 'https:']);
/** The parameters this function writes: any the URL already has are replaced, as the SDK's presign replaces them. */
const SIGNING_PARAMS = new Set(
  [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-Security-Token',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
  ].map((name) => name.toLowerCase()),
);

/** The URL (ws://, wss://, http://, https://) with SigV4 query parameters for a GET with an empty body, signing only `host`. */
export async function presignUrl(url: string, credentials: SigningCredentials, options: PresignOptions = {}): Promise<string> {
  const target = new URL(url);
  if (!SCHEMES.has(target.protocol))
    throw new InvalidArgumentException(`a presigned URL must be ws, wss, http or https, got ${target.protocol}`);
  const expiresSeconds = options.expiresSeconds ?? EXPIRES_SECONDS_DEFAULT;
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > EXPIRES_SECONDS_MAX) {
    throw new InvalidArgumentException(`expiresSeconds must be an integer from 1 to ${EXPIRES_SECONDS_MAX}, got ${String(expiresSeconds)}`);
  }
  const region = options.region ?? 'us-east-1';
  const service = options.service ?? 'kinesis';
  const amzDate = isoBasic(options.nowMs ?? Date.now());
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/${SCOPE_TERMINATOR}`;

  // The URL's own parameters stay as they were written; the signer's are added, encoded as AWS encodes.
  const kept = target.search
    .slice(1)
    .split('&')
    .filter((piece) => piece !== '' && !SIGNING_PARAMS.has(decode(piece.split('=', 1)[0] ?? '').toLowerCase()));
  const added: QueryPair[] = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresSeconds)],
    ...(credentials.sessionToken === undefined ? [] : [['X-Amz-Security-Token', credentials.sessionToken] as const]),
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const pieces = [...kept, ...added.map(([key, value]) => `${escapeUri(key)}=${escapeUri(value)}`)];

  const canonical = `GET\n${canonicalPath(target.pathname)}\n${canonicalQuery(parseQueryPieces(pieces))}\nhost:${target.host}\n\nhost\n${EMPTY_SHA256}`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${hex(await globalThis.crypto.subtle.digest('SHA-256', utf8(canonical)))}`;
  const key = await signingKey(credentials.secretAccessKey, amzDate.slice(0, 8), region, service);
  const signature = hex(await hmac(key, stringToSign));

  target.search = `?${[...pieces, `X-Amz-Signature=${signature}`].join('&')}`;
  target.hash = '';
  return target.toString();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
async function signingKey(secret: string, date: string, region: string, service: string): Promise<ArrayBuffer> {
  let key = await hmac(utf8(`AWS4${secret}`), date);
  for (const part of [region, service, SCOPE_TERMINATOR]) key = await hmac(key, part);
  return key;
}

async function hmac(key: ArrayBuffer | Uint8Array<ArrayBuffer>, data: string): Promise<ArrayBuffer> {
  const imported = await globalThis.crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return globalThis.crypto.subtle.sign('HMAC', imported, utf8(data));
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

function hex(bytes: ArrayBuffer): string {
  let text = '';
  for (const byte of new Uint8Array(bytes)) text += byte.toString(16).padStart(2, '0');
  return text;
}
