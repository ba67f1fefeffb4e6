/*
 * What the trigger tests share: an engine on a temporary directory (its clock under the test's
 * control), a trigger over an embedded handler polling every 20 ms, records whose data is
 * `{"i": n}` with keys k0..k6, and a wait on a condition.
 */
import { Engine } from '../../src/engine/engine.js';
import { callableFunction, type Handler } from '../../src/triggers/functions.js';
import type { KinesisEvent } from '../../src/triggers/kinesis_event.js';
import { resolveMapping, type MappingRequest } from '../../src/triggers/mapping.js';
import { Trigger } from '../../src/triggers/trigger.js';

export const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/events';

/** A clock the test moves: starts on a minute's boundary. */
export class ManualClock {
  ms = 1_800_000_000_000;
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function openEngine(dataDir: string, clock?: ManualClock): Promise<Engine> {
  return Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1, ...(clock === undefined ? {} : { clock: clock.now }) });
}

export function newTrigger(engine: Engine, uuid: string, mapping: Partial<MappingRequest>, handler: Handler): Trigger {
  const settings = resolveMapping({ EventSourceArn: STREAM_ARN, FunctionName: 'f', StartingPosition: 'TRIM_HORIZON', ...mapping });
  return new Trigger({
    engine,
    uuid,
    settings,
    fn: callableFunction('f', { handler }),
    pollIntervalMs: 20,
    failoverTimeMillis: 1000,
    retryDelayMs: () => 5,
  });
}

export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function putAll(engine: Engine, count: number, from = 0, keys = 7): Promise<void> {
  for (let at = from; at < from + count; at += 100) {
    const Records = Array.from({ length: Math.min(100, from + count - at) }, (_, j) => ({
      PartitionKey: `k${(at + j) % keys}`,
      Data: Buffer.from(JSON.stringify({ i: at + j })),
    }));
    await engine.putRecords({ StreamName: 'events', Records });
  }
}

export const indexOf = (record: KinesisEvent['Records'][number]): number =>
  (JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString()) as { i: number }).i;
