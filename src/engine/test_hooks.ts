import assert from 'node:assert/strict';
import type { StreamReference } from '../streams/kinesis_shapes.js';
/*
 * Hooks for tests of the engine's supervision, off its public API: Engine.open attaches them,
 * and only tests call them.
 */

import type { WorkerCrash } from '../workers/channel.js';

export interface EngineTestHooks {
  /** Kills the worker thread that owns a shard, as a crash would: it is replaced and its shards recover. */
  crashWorkerOf(request: StreamReference & { readonly ShardId: string }, crash: WorkerCrash): Promise<void>;
  /** The index of the worker thread that owns a shard. */
  workerOf(request: StreamReference & { readonly ShardId: string }): number;
}

const hooks = new WeakMap<object, EngineTestHooks>();

/** Called once by Engine.open. */
export function attachTestHooks(engine: object, engineHooks: EngineTestHooks): void {
  assert(!hooks.has(engine), 'an engine has one set of test hooks');
  hooks.set(engine, engineHooks);
}

/** Kills the worker thread that owns the shard, as a crash would; resolves once it is gone. */
export function simulateWorkerCrash(
  engine: object,
  request: StreamReference & { readonly ShardId: string },
  crash: WorkerCrash = 'terminate',
): Promise<void> {
  const engineHooks = hooks.get(engine);
  assert(engineHooks !== undefined, 'not an engine made by Engine.open');
  return engineHooks.crashWorkerOf(request, crash);
}

/** The index of the worker thread that owns the shard (placement: src/workers/worker_pool.ts). */
export function workerOfShard(engine: object, request: StreamReference & { readonly ShardId: string }): number {
  const engineHooks = hooks.get(engine);
  assert(engineHooks !== undefined, 'not an engine made by Engine.open');
  return engineHooks.workerOf(request);
}
