/**
 * CORS as Kinesis answers it, so that code in a browser page (the AWS SDK there) can call the
 * API from any origin. A browser asks first with a preflight, `OPTIONS` with `Origin` and the
 * method and headers it means to send; Kinesis allows whatever is asked, from any origin, and
 * lets the browser cache that answer for two days. Every other answer to a request with `Origin`
 * allows that origin and shows the page the headers the SDK reads (a request's id, an error's
 * type). Without `Origin` (no browser) nothing is added.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** What Kinesis lets a page read of its answers. */
const EXPOSED_HEADERS = 'x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date';
/** Kinesis' own figure: how long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 172_800;
/** The one method the API takes, allowed when a preflight does not name its own. */
const API_METHOD = 'POST';

export type CorsHeaders = Readonly<Record<string, string>>;

/** The headers an answer to a request with these headers carries; none without `Origin`. */
export function corsHeaders(headers: IncomingHttpHeaders): CorsHeaders {
  if (headers.origin === undefined) return {};
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS };
}

/** A browser's preflight: it is answered by itself, before any body, signature or target is read. */
export function isPreflight(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined;
}

/** The answer to a preflight: what it asks for is allowed, as Kinesis allows it. */
export function preflightHeaders(headers: IncomingHttpHeaders): CorsHeaders {
  const method = headerText(headers['access-control-request-method']);
  const requested = headerText(headers['access-control-request-headers']);
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': method ?? API_METHOD,
    ...(requested === undefined ? {} : { 'access-control-allow-headers': requested }),
    'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
  };
}

/** A header as one text: Node gives repeated headers as a list. */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
