/*
 * The parts of a SigV4 canonical request that the server's verifier (src/auth/sigv4.ts) and the
 * browser-safe presigner (src/client/sigv4_presign.ts) must compute alike: pure string work, no
 * Node module, so both import it.
 */

/** A query parameter, decoded. */
export type QueryPair = readonly [key: string, value: string];

/**
 * The path as @smithy/signature-v4 canonicalizes it with `uriEscapePath` (the default for every
 * service but S3): empty and '.' segments dropped, '..' taking one back, and the raw (already
 * encoded) path URI-encoded once more, its slashes kept.
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const leading = path.startsWith('/') ? '/' : '';
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return escapeUri(`${leading}${segments.join('/')}${trailing}`).replace(/%2F/g, '/');
}

/** Raw `key=value` pieces, decoded ('+' is a plus: the SDKs encode a space as %20), in order; empty pieces skipped. */
export function parseQueryPieces(pieces: readonly string[]): QueryPair[] {
  const pairs: QueryPair[] = [];
  for (const piece of pieces) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    pairs.push(equals < 0 ? [decode(piece), ''] : [decode(piece.slice(0, equals)), decode(piece.slice(equals + 1))]);
  }
  return pairs;
}

/** Sorted by encoded name, then (for a repeated name) by encoded value; X-Amz-Signature left out. */
export function canonicalQuery(pairs: readonly QueryPair[]): string {
  const encoded: [string, string][] = [];
  for (const [key, value] of pairs) {
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const name = escapeUri(key);
    encoded.push([name, `${name}=${escapeUri(value)}`]);
  }
  encoded.sort(([a, aPair], [b, bPair]) => (a < b ? -1 : a > b ? 1 : aPair < bPair ? -1 : aPair > bPair ? 1 : 0));
  return encoded.map(([, pair]) => pair).join('&');
}

/** RFC 3986 encoding of all but the unreserved characters, as AWS's UriEncode. */
export function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A malformed escape is kept as it came: it cannot match what a signer encoded, and the signature says so. */
export function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** yyyyMMdd'T'HHmmss'Z' of a time, its milliseconds dropped. */
export function isoBasic(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}
