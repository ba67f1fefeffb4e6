/*
 * The manual clock's operations (docs/TESTING.md, "A controllable clock"): `Clock.<Op>` over the
 * WebSocket CALL and `ShardlineClock_20261208.<Op>` on the HTTP port (JSON, signed for
 * `kinesis`), on the Engine's own methods, which embedded users call.
 */
import type { AdvanceClockInput } from '../engine/clock_control.js';
import type { Engine } from '../engine/engine.js';

type Request = Readonly<Record<string, unknown>>;
type Operation = (engine: Engine, request: Request) => unknown;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  AdvanceClock: (engine, request) => engine.advanceClock(request as unknown as AdvanceClockInput),
  DescribeClock: (engine) => engine.describeClock(),
};

/** The CALL's name of a clock operation. */
export const CLOCK_CALL_PREFIX = 'Clock.';
/** The X-Amz-Target prefix on the HTTP port. */
export const CLOCK_TARGET_PREFIX = 'ShardlineClock_20261208.';

export function isClockOperation(name: string): boolean {
  return Object.hasOwn(OPERATIONS, name);
}

/** Runs a clock operation (its bare name). */
export async function runClockOperation(engine: Engine, name: string, request: Request): Promise<unknown> {
  return OPERATIONS[name]!(engine, request);
}

/** A CALL operation named `Clock.<Op>`, or undefined. */
export function clockOperation(engine: Engine, name: string): ((request: Request) => Promise<unknown>) | undefined {
  if (!name.startsWith(CLOCK_CALL_PREFIX) || !isClockOperation(name.slice(CLOCK_CALL_PREFIX.length))) return undefined;
  return (request) => runClockOperation(engine, name.slice(CLOCK_CALL_PREFIX.length), request ?? {});
}
