import http from 'node:http';

/** A well-formed SigV4 header: with access control off, shardline checks its form, not its signature. */
export const SIGNED = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd';
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
        resolve({ status: response.statusCode!, headers: response.headers, body: json ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : {}, bytes });
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
