import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedEngineOptions } from '../config.js';
import { InvalidArgumentException } from '../errors.js';
import { HOUR_MS } from '../log/log_config.js';
import { writeFileDurably } from '../log/durable_file.js';
import type { ManualClock } from '../util/manual_clock.js';
import type { EngineContext } from './engine_context.js';
import { ShardRuntime } from './shard_runtime.js';

/*
 * The engine's manual clock as an operation (docs/TESTING.md, "A controllable clock"):
 * AdvanceClock moves it forward for the engine's thread and every shard worker, then runs what
 * real time would have run by then and would otherwise wait for a timer: a retention pass on
 * every shard (the logs' own pass comes every 5 minutes) and the end of every stream state
 * whose duration has passed. Iterators' expiry, subscriptions' lifetime and heartbeats,
 * throughput windows and the family's ages read the clock when they next look.
 *
 * The offset is kept in <dataDir>/clock.json, written durably before the clock moves, so that a
 * restart with the manual clock does not move it back.
 */

export interface AdvanceClockInput {
  /** How far forward, in milliseconds: a whole number from 1 to CLOCK_ADVANCE_MS_MAX. */
  readonly ByMillis: number;
}

export interface ClockDescription {
  /** MANUAL: `clock: 'manual'`; SYSTEM: Date.now; CUSTOM: a function of the embedding program. */
  readonly Mode: 'MANUAL' | 'SYSTEM' | 'CUSTOM';
  /** The engine's time now, in milliseconds since the epoch. */
  readonly NowMillis: number;
  /** How far the manual clock is ahead of real time (0 for the others). */
  readonly OffsetMillis: number;
}

export const CLOCK_FILE = 'clock.json';
/** Ten years in one move: past the longest retention (8,760 hours) and far from unsafe integers. */
export const CLOCK_ADVANCE_MS_MAX = 10 * 8760 * HOUR_MS;

interface ClockFile {
  readonly offsetMs: number;
}

export class ClockControl {
  /** Advances run one at a time: each writes the file, then moves the clock. */
  private advancing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: EngineContext,
    /** Ends the stream states the move carried past their due time. */
    private readonly endDueStates: () => Promise<void>,
  ) {}

  /** Before anything reads the clock at open: the manual clock's offset as the engine last left it. */
  static restore(options: ResolvedEngineOptions): void {
    const clock = options.manualClock;
    const file = path.join(options.dataDir, CLOCK_FILE);
    if (clock === null || !fs.existsSync(file)) return;
    const { offsetMs } = JSON.parse(fs.readFileSync(file, 'utf8')) as ClockFile;
    if (!Number.isSafeInteger(offsetMs) || offsetMs < 0) throw new Error(`${file}: bad clock offset ${String(offsetMs)}`);
    if (offsetMs > clock.offsetMs) clock.advance(offsetMs - clock.offsetMs);
  }

  describe(): ClockDescription {
    const { clock, manualClock } = this.context.options;
    const mode = manualClock !== null ? 'MANUAL' : clock === Date.now ? 'SYSTEM' : 'CUSTOM';
    return { Mode: mode, NowMillis: clock(), OffsetMillis: manualClock?.offsetMs ?? 0 };
  }

  /** Refused, with nothing changed, unless the clock is manual and ByMillis a whole number of ms from 1 to CLOCK_ADVANCE_MS_MAX. */
  advance(request: AdvanceClockInput): Promise<ClockDescription> {
    this.context.checkOpen();
    const clock = this.manualClock();
    const ms = advanceOf(request);
    const run = this.advancing.then(async () => {
      const file: ClockFile = { offsetMs: clock.offsetMs + ms };
      await writeFileDurably(this.context.options.dataDir, CLOCK_FILE, Buffer.from(JSON.stringify(file)));
      clock.advance(ms);
      await this.applyRetention();
      await this.endDueStates();
      return this.describe();
    });
    this.advancing = run.catch(() => undefined);
    return run;
  }

  private manualClock(): ManualClock {
    const clock = this.context.options.manualClock;
    if (clock === null)
      throw new InvalidArgumentException(
        "The clock is not manual: only an engine opened with clock: 'manual' (shardline serve --clock manual) can be advanced.",
      );
    return clock;
  }

  /**
   * A retention pass on every open shard now (one still recovering at a start opens first). A
   * pass that fails (the shard closed under it by a delete, a full disk) changes nothing: the
   * log's own pass tries again.
   */
  private async applyRetention(): Promise<void> {
    const { catalog, shards, pool } = this.context;
    await Promise.allSettled(
      catalog
        .all()
        .filter((stream) => stream.status !== 'DELETING')
        .map(async (stream) => {
          await shards.streamReady(stream);
          await Promise.allSettled(
            shards
              .runtimesOf(stream)
              .map((runtime) => pool.request({ kind: 'applyRetention', shardKey: ShardRuntime.keyOf(stream, runtime.shard) })),
          );
        }),
    );
  }
}

function advanceOf(request: AdvanceClockInput | undefined): number {
  const ms = (request as { ByMillis?: unknown } | undefined)?.ByMillis;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 1 || ms > CLOCK_ADVANCE_MS_MAX)
    throw new InvalidArgumentException(
      `ByMillis must be a whole number of milliseconds from 1 to ${CLOCK_ADVANCE_MS_MAX} (the clock only moves forward), got ${JSON.stringify(ms) ?? 'nothing'}`,
    );
  return ms;
}
