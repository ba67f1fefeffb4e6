/*
 * A shard's tumbling windows (TumblingWindowInSeconds, kinesis-family.md §4.2): records are
 * grouped into windows by their arrival time (epoch-aligned, [start, end)); each invocation of
 * a window is given the state the one before answered, and must answer a state object (else it
 * failed); once the window is over (a record of a later window, the clock past its end with
 * every record of it delivered, or the shard's end) the function is called once more with
 * isFinalInvokeForWindow and no records, and the state is dropped. A state above 1 MB ends the
 * window early (isWindowTerminatedEarly). The state is kept on the shard's lease as the KCL's
 * pending checkpoint state, so a restart resumes the window where its last invocation left it.
 */
import type { KinesisClientRecord } from '../groups/processor.js';
import { sleep } from '../groups/record_source.js';
import type { Invoke } from './batch_runner.js';
import { FunctionError } from './functions.js';
import type { KinesisEvent } from './kinesis_event.js';

export const STATE_BYTES_MAX = 1024 * 1024;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;

export interface OpenWindow {
  readonly start: number;
  state: Record<string, unknown>;
}

export interface WindowOptions {
  readonly windowMs: number;
  readonly shardId: string;
  readonly streamArn: string;
  readonly invoke: Invoke;
  /** A failing final invocation is tried this many times more (-1: until it succeeds). */
  readonly maximumRetryAttempts: number;
  readonly signal: AbortSignal;
  /** The window a restart found on the lease. */
  readonly restored: OpenWindow | null;
  onError(error: unknown): void;
}

export class TumblingWindows {
  private open: OpenWindow | null;

  constructor(private readonly options: WindowOptions) {
    this.open = options.restored;
  }

  windowOf(record: KinesisClientRecord): number {
    const time = record.approximateArrivalTimestamp.getTime();
    return time - (time % this.options.windowMs);
  }

  /** What the lease keeps (null: no window open). */
  get snapshot(): OpenWindow | null {
    return this.open === null ? null : { start: this.open.start, state: this.open.state };
  }

  /** The end of the open window, if one is. */
  get openUntil(): number | null {
    return this.open === null ? null : this.open.start + this.options.windowMs;
  }

  /** Before a batch of window `start`: the open window, if another, is closed. */
  async enter(start: number): Promise<void> {
    if (this.open !== null && this.open.start !== start) await this.close(false);
    this.open ??= { start, state: {} };
  }

  /** A batch's invocation: the window and its state added, the answered state taken. */
  readonly invoke = async (event: KinesisEvent): Promise<unknown> => {
    const window = this.open!;
    const answer = await this.options.invoke(this.windowEvent(event, window, false, false));
    window.state = stateOf(answer);
    return answer;
  };

  /** After a batch: a state above 1 MB ends the window now. */
  async afterBatch(): Promise<void> {
    if (this.open !== null && Buffer.byteLength(JSON.stringify(this.open.state)) > STATE_BYTES_MAX) await this.close(true);
  }

  /** The final invocation, retried as the mapping says; then the window's state is gone. */
  async close(terminatedEarly: boolean): Promise<void> {
    const window = this.open;
    if (window === null) return;
    const event = this.windowEvent({ Records: [] }, window, true, terminatedEarly);
    const { maximumRetryAttempts, signal } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        stateOf(await this.options.invoke(event));
        break;
      } catch (error) {
        if (signal.aborted) throw error;
        if (maximumRetryAttempts !== -1 && attempt >= maximumRetryAttempts) {
          this.options.onError(new FunctionError(`the final invocation of window ${isoOf(window.start)} failed: ${String(error)}`));
          break;
        }
        await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt), signal);
      }
    }
    this.open = null;
  }

  private windowEvent(event: KinesisEvent, window: OpenWindow, final: boolean, terminatedEarly: boolean): KinesisEvent {
    return {
      ...event,
      window: { start: isoOf(window.start), end: isoOf(window.start + this.options.windowMs) },
      state: window.state,
      shardId: this.options.shardId,
      eventSourceARN: this.options.streamArn,
      isFinalInvokeForWindow: final,
      isWindowTerminatedEarly: terminatedEarly,
    };
  }
}

/** The lease's pending checkpoint state of a window, and back. */
export function encodeWindow(window: OpenWindow): Uint8Array {
  return Buffer.from(JSON.stringify({ version: 1, start: window.start, state: window.state }));
}

export function decodeWindow(bytes: Uint8Array | undefined): OpenWindow | null {
  if (bytes === undefined) return null;
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as { version?: unknown; start?: unknown; state?: unknown };
  if (parsed.version !== 1 || typeof parsed.start !== 'number' || !isObject(parsed.state)) return null;
  return { start: parsed.start, state: parsed.state };
}

function stateOf(answer: unknown): Record<string, unknown> {
  const state = (answer as { state?: unknown } | null | undefined)?.state;
  if (!isObject(state)) throw new FunctionError('a function with TumblingWindowInSeconds must answer { state: {...} }');
  return state;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
