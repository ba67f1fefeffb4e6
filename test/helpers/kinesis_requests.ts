import http from 'node:http';
import cbor from 'cbor';

/** A well-formed SigV4 header: with access control off, shardline checks its form, not its signature. */
export const SIGNED =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd';
export const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-date': '20261201T000000Z', authorization: SIGNED };

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body read as JSON; {} when it is not JSON. */
  readonly body: Record<string, unknown>;
  readonly bytes: Buffer;
}

/** One HTTP/1.1 request to the Kinesis API on 127.0.0.1:`port`, its answer read as JSON. */
export function rawKinesis(port: number, headers: Record<string, string>, body: string | Buffer, method = 'POST'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: '/', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const json = response.headers['content-type'] === 'application/x-amz-json-1.1' && bytes.length > 0;
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          body: json ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : {},
          bytes,
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A signed awsJson1_1 call of `operation` with `request` as its body. */
export function callKinesis(port: number, operation: string, request: unknown): Promise<RawAnswer> {
  return rawKinesis(port, { ...JSON_HEADERS, 'x-amz-target': `Kinesis_20131202.${operation}` }, JSON.stringify(request));
}

/**
 * A CBOR client as the Java SDK (v1 and v2) is one for Kinesis: Buffers as byte strings, and
 * timestamps as tag 1 over epoch milliseconds (not RFC 8949's seconds), both ways. Written
 * here, not taken from src, so that it checks the server rather than agreeing with it.
 */
export const javaCbor = {
  encode(value: unknown): Buffer {
    // cbor.encode stops, silently, at its stream's 16 KiB high-water mark.
    const options: Parameters<typeof cbor.encodeOne>[1] & { readonly highWaterMark: number } = { highWaterMark: 64 * 1024 * 1024 };
    return cbor.encodeOne(withMillis(value), options);
  },
  decode(bytes: Buffer): unknown {
    return cbor.decodeFirstSync(bytes, { tags: { 1: (millis: number) => new Date(millis) } });
  },
};

function withMillis(value: unknown): unknown {
  if (value instanceof Date) return new cbor.Tagged(1, value.getTime());
  if (Buffer.isBuffer(value) || value instanceof Map || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(withMillis);
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, withMillis(field)]));
}
