/*
 * Where an engine's delivery streams write S3 objects, set by whoever opens the engine (`serve
 * --s3-dir`, `--s3-endpoint`, or embedded code) before the first delivery stream runs. Kept apart
 * from the registry so a server that runs no delivery stream loads none of its modules.
 */
import type { Engine } from '../engine/engine.js';
import type { ObjectStore } from './object_store.js';

const stores = new WeakMap<Engine, () => ObjectStore>();

/** The store every delivery stream of the engine writes to; default: a directory `s3/` in its data directory. */
export function configureDeliveryStore(engine: Engine, store: () => ObjectStore): void {
  stores.set(engine, store);
}

export function deliveryStoreOf(engine: Engine): (() => ObjectStore) | undefined {
  return stores.get(engine);
}
