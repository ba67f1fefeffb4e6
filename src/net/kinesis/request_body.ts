/**
 * Reading a request's body, and refusing one too large so that its client always hears why.
 *
 * Cutting the connection at the limit is what a server is tempted to do, and it loses the
 * answer about half of the time: the client is still sending, and a socket closed with unread
 * bytes makes the kernel send a reset, on which the client's TCP stack drops what it had
 * received, the answer included. So a body over the limit is refused at once (the answer is
 * written while the client still sends) and the rest of it is read and dropped; the answer ends,
 * and an HTTP/1.1 connection closes, only once the client has sent it all. A client that goes
 * on past BODY_DISCARD_BYTES_MAX is cut off instead.
 */
import { HTTP_BODY_BYTES_MAX } from '../../limits.js';
import { type Readable, finished } from 'node:stream';
import type http from 'node:http';
import type http2 from 'node:http2';

export type Request = http.IncomingMessage | http2.Http2ServerRequest;
export type Response = http.ServerResponse | http2.Http2ServerResponse;

/** How much of a refused body is read to its end so that its client hears the refusal. */
const BODY_DISCARD_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The body, or undefined as soon as it is known to be over HTTP_BODY_BYTES_MAX (by its declared
 * length, or by what arrived): the rest is then read and dropped (see `whenRead`).
 */
export function readBody(request: Request): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let refused = false;
    const refuse = (): void => {
      refused = true;
      chunks.length = 0;
      resolve(undefined);
    };
    if (Number(request.headers['content-length']) > HTTP_BODY_BYTES_MAX) refuse();
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > BODY_DISCARD_BYTES_MAX) request.destroy();
      else if (refused) return;
      else if (bytes > HTTP_BODY_BYTES_MAX) refuse();
      else chunks.push(chunk);
    });
    request.once('end', () => {
      if (!refused) resolve(Buffer.concat(chunks, bytes));
    });
    request.once('error', reject);
  });
}

/** Calls `then` once the whole request has arrived (or the request failed or was cut). */
export function whenRead(request: Request, then: () => void): void {
  const readable: Readable = request;
  finished(readable, () => then());
}
