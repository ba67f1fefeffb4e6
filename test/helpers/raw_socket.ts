import { WebSocket } from 'ws';
import { encodeHello } from '../../src/net/messages/hello.js';
import { FrameReader, Opcode, PROTOCOL_VERSION } from '../../src/net/protocol.js';

/** A message as the server sent it: `bytes` are untouched, so a test can check that they parse. */
export interface ReceivedMessage {
  readonly bytes: Uint8Array;
  readonly isBinary: boolean;
}

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
}

/** How long hello() waits for HELLO_OK, and exchange() for its answers: only a hang takes this long. */
const HELLO_TIMEOUT_MS = 10_000;
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * A bare WebSocket to a shardline server, for tests that send what the real client never would:
 * any bytes, as binary or text messages, in any order, before or after HELLO. It keeps every
 * message the server sends, in order, and hands each to `onMessage` as it arrives; it decodes
 * nothing itself, so a frame that does not parse is the test's finding, not this helper's crash.
 */
export class RawSocket {
  readonly received: ReceivedMessage[] = [];
  onMessage: ((message: ReceivedMessage) => void) | null = null;
  closeEvent: CloseEvent | null = null;
  /** Socket errors (ECONNRESET and the like), which precede a close. */
  readonly errors: string[] = [];
  private readonly changeWaiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = 'arraybuffer';
    ws.on('message', (data: ArrayBuffer, isBinary: boolean) => {
      const message = { bytes: new Uint8Array(data), isBinary };
      this.received.push(message);
      this.onMessage?.(message);
      this.changed();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeEvent = { code, reason: reason.toString() };
      this.changed();
    });
    ws.on('error', (error: Error) => this.errors.push(error.message));
  }

  /** Opens a connection (no HELLO sent). */
  static open(url: string): Promise<RawSocket> {
    // No compression and no size limit: what arrives is exactly what the server framed.
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
    });
  }

  /** Opens a connection and shakes hands with request id `requestId`. */
  static async greeted(url: string, clientName = 'raw', requestId = 1): Promise<RawSocket> {
    const socket = await RawSocket.open(url);
    await socket.hello(clientName, requestId);
    return socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Stops reading from the TCP socket, so that the server's sends back up (resume() reads on). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Sends one message as it is (a text message carries the bytes unchecked). Ignored once closed. */
  send(bytes: Uint8Array, binary = true): void {
    if (!this.isOpen) return;
    this.ws.send(bytes, { binary });
  }

  /** Sends HELLO and waits for HELLO_OK; throws on anything else. */
  async hello(clientName = 'raw', requestId = 1): Promise<void> {
    const before = this.received.length;
    this.send(encodeHello(requestId, { version: PROTOCOL_VERSION, clientName }));
    const answered = await this.waitUntil(() => this.received.length > before || this.closeEvent !== null, HELLO_TIMEOUT_MS);
    const answer = this.received[before];
    if (!answered || answer === undefined) throw new Error(`no answer to HELLO (close ${JSON.stringify(this.closeEvent)})`);
    const opcode = new FrameReader(answer.bytes).opcode;
    if (opcode !== Opcode.HELLO_OK) throw new Error(`HELLO answered with opcode 0x${opcode.toString(16)}`);
  }

  /**
   * Sends `bytes` and returns the next `count` messages as frames, fewer if the connection
   * closed first (or after ANSWER_TIMEOUT_MS: a hang).
   */
  async exchange(bytes: Uint8Array, count = 1, binary = true): Promise<FrameReader[]> {
    const before = this.received.length;
    this.send(bytes, binary);
    await this.waitUntil(() => this.received.length >= before + count || this.closeEvent !== null, ANSWER_TIMEOUT_MS);
    return this.received.slice(before, before + count).map((message) => new FrameReader(message.bytes));
  }

  /** The frames received from index `from` on, once there are `count` (fewer after a close or a hang). */
  async framesFrom(from: number, count: number): Promise<FrameReader[]> {
    await this.waitUntil(() => this.received.length >= from + count || this.closeEvent !== null, ANSWER_TIMEOUT_MS);
    return this.received.slice(from, from + count).map((message) => new FrameReader(message.bytes));
  }

  /**
   * Resolves true once `predicate` holds (checked now, on every message and at the close), false
   * after `timeoutMs`. The predicate should include the close when a close ends the wait.
   */
  waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        finish(true);
      };
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        this.changeWaiters.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(predicate()), timeoutMs);
      this.changeWaiters.add(check);
    });
  }

  /** The close, once it came; null if it did not within `timeoutMs`. */
  async closed(timeoutMs: number): Promise<CloseEvent | null> {
    await this.waitUntil(() => this.closeEvent !== null, timeoutMs);
    return this.closeEvent;
  }

  /** Closes normally (1000) and waits briefly for the close to complete. */
  async close(): Promise<void> {
    if (this.closeEvent !== null) return;
    this.ws.close(1000, 'test done');
    if ((await this.closed(2_000)) === null) this.ws.terminate();
  }

  private changed(): void {
    for (const check of [...this.changeWaiters]) check();
  }
}
