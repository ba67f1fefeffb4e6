import { Worker, type WorkerOptions } from 'node:worker_threads';
import { Piscina } from 'piscina';

/*
 * The one way this package starts a thread on one of its own modules: the shard workers
 * (WorkerPool) and the verification tasks (a piscina pool) both come through here.
 *
 * Built (dist/*.js), a thread runs the module itself. From the TypeScript sources (tests, tsx),
 * a thread cannot load a .ts entry, and on Node 20 `--import tsx` in a worker's execArgv does not
 * reach the modules it loads; so the thread starts on tsx_bootstrap.mjs, which registers tsx's
 * loader in that thread and then imports the module named in the thread's environment.
 */

/** The variable that names the module tsx_bootstrap.mjs imports. */
export const THREAD_MODULE_ENV = 'SHARDLINE_THREAD_MODULE';

const BOOTSTRAP = new URL('./tsx_bootstrap.mjs', import.meta.url);

/** The URL of the module at `relative` (no extension) from `base`, with base's own extension (.ts or .js). */
export function moduleUrl(relative: string, base: string): URL {
  const extension = new URL(base).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`${relative}${extension}`, base);
}

/** What a thread starts on to run `module`, and the environment it needs for that. */
function entryOf(module: URL): { readonly entry: URL; readonly env?: NodeJS.Dict<string> } {
  if (!module.pathname.endsWith('.ts')) return { entry: module };
  return { entry: BOOTSTRAP, env: { ...process.env, [THREAD_MODULE_ENV]: module.href } };
}

/** A worker thread running `module`. */
export function startThread(module: URL, options: Omit<WorkerOptions, 'eval' | 'env'> = {}): Worker {
  const { entry, env } = entryOf(module);
  return new Worker(entry, { ...options, ...(env === undefined ? {} : { env }) });
}

/** A piscina pool whose task is the default export of `module`; `memoryMb` bounds each thread's heap. */
export function startTaskPool(
  module: URL,
  options: { readonly maxThreads: number; readonly memoryMb?: number; readonly idleTimeoutMs?: number },
): Piscina {
  const { entry, env } = entryOf(module);
  return new Piscina({
    filename: entry.href,
    maxThreads: options.maxThreads,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeout: options.idleTimeoutMs }),
    ...(env === undefined ? {} : { env }),
    ...(options.memoryMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.memoryMb } }),
  });
}
