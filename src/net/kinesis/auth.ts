/**
 * SigV4 as Kinesis checks it before anything else, with access control off: any credentials are
 * accepted, but a request must carry a well-formed signature header, as it must for AWS, so that
 * a client that would fail against Kinesis fails here too. The messages are AWS's own.
 */
import { IncompleteSignatureException, MissingAuthenticationTokenException } from '../../errors.js';

const SIGV4 = 'AWS4-HMAC-SHA256';
const REQUIRED_PARTS = ['Credential', 'Signature', 'SignedHeaders'] as const;

/**
 * Throws MissingAuthenticationTokenException or IncompleteSignatureException when Kinesis would
 * refuse the request for its Authorization alone.
 */
export function checkAuthorization(headers: Record<string, string | string[] | undefined>): void {
  const authorization = single(headers.authorization);
  if (authorization === undefined || authorization.trim() === '')
    throw new MissingAuthenticationTokenException('Missing Authentication Token');
  if (!authorization.startsWith(`${SIGV4} `)) {
    throw new IncompleteSignatureException(`Authorization header requires '${SIGV4}' as its algorithm. Authorization=${authorization}`);
  }
  const parts = new Map(
    authorization
      .slice(SIGV4.length + 1)
      .split(',')
      .map((part) => {
        const [key, ...value] = part.trim().split('=');
        return [key ?? '', value.join('=')] as const;
      }),
  );
  const missing = REQUIRED_PARTS.filter((part) => (parts.get(part) ?? '') === '');
  if (missing.length > 0) {
    const needs = missing.map((part) => `Authorization header requires '${part}' parameter.`).join(' ');
    throw new IncompleteSignatureException(`${needs} Authorization=${authorization}`);
  }
  if (single(headers['x-amz-date']) === undefined && single(headers.date) === undefined) {
    throw new IncompleteSignatureException(
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`,
    );
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
