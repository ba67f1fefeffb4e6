import type { Engine } from '../engine/engine.js';

/*
 * `serve`'s continuous queries (docs/QUERIES.md): the stored ones start at once, from their
 * checkpoints, so a restart resumes them without waiting for a call. The registry (and the
 * parser, and the consumer groups under it) loads only when the engine has queries.
 */

const DOCUMENT = 'queries.json';

export async function startQueries(engine: Engine): Promise<void> {
  if (engine.readDocument(DOCUMENT) !== null) await (await import('../queries/registry.js')).QueryRegistry.of(engine);
}

export async function stopQueries(engine: Engine): Promise<void> {
  if (engine.readDocument(DOCUMENT) === null) return;
  await (await (await import('../queries/registry.js')).QueryRegistry.of(engine)).stopAll();
}
