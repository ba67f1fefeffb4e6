import { PutFrameBuilder } from '../net/messages/put.js';

/** Builders kept for reuse: enough for the frames a busy connection has in flight. */
const FREE_BUILDERS_MAX = 16;

/**
 * PUT frame builders whose frames were answered, so sent: their buffers (64 KiB and up) are
 * reused instead of allocated per frame, which at thousands of small puts a second is most
 * of a client's garbage.
 */
export class BuilderPool {
  private readonly free: PutFrameBuilder[] = [];

  take(streamName: string): PutFrameBuilder {
    const builder = this.free.pop();
    if (builder === undefined) return new PutFrameBuilder(streamName);
    builder.reset(streamName);
    return builder;
  }

  /** Only once the frame was answered (or its connection is gone): the socket may still hold it before. */
  release(builder: PutFrameBuilder): void {
    if (this.free.length < FREE_BUILDERS_MAX) this.free.push(builder);
  }
}
