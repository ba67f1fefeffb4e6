/** Buffers kept for reuse, so that steady traffic does not pay for fresh memory per batch. */
const FREE_BUFFERS_MAX = 16;

/**
 * Batch buffers, recycled: the first touch of fresh memory (~2 GiB/s here) costs more than
 * copying records into it (memcpy runs at ~25 GiB/s), so a buffer a worker has written comes
 * back to be filled again. Each is a whole ArrayBuffer, so it can be transferred between
 * threads. The pool owns them; the appenders take and give back through it.
 */
export class BatchBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** A buffer of at least `bytes` (the smallest free one that fits, else a new one). */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.byteLength;
      if (length >= bytes && (best < 0 || length < this.free[best]!.byteLength)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(bytes);
    const [buffer] = this.free.splice(best, 1);
    return Buffer.from(buffer!);
  }

  release(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    if (this.free.length >= FREE_BUFFERS_MAX) this.free.shift();
    this.free.push(buffer);
  }
}
