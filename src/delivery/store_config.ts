/*
 * Where an engine's delivery streams write S3 objects, set by whoever opens the engine (`serve
 * --s3-dir`, `--s3-endpoint`, or embedded code) before the first delivery stream runs. Kept apart
 * from the registry so a server that runs no delivery stream loads none of its modules.
 */
import type { Engine } from '../engine/engine.js';
import type { ObjectStore } from './object_store.js';

const stores = new WeakMap<Engine, () => ObjectStore>();
const glueTables = new WeakMap<Engine, Readonly<Record<string, readonly GlueColumn[]>>>();

/** A column of a Glue table, as Glue's API spells it. */
export interface GlueColumn {
  readonly Name: string;
  readonly Type: string;
}

/** The store every delivery stream of the engine writes to; default: a directory `s3/` in its data directory. */
export function configureDeliveryStore(engine: Engine, store: () => ObjectStore): void {
  stores.set(engine, store);
}

/**
 * The Glue tables Parquet conversion may name (`SchemaConfiguration: { DatabaseName, TableName }`),
 * by `<database>.<table>`: what the AWS SDKs can send, since they drop members Firehose's model
 * does not have (an inline `Columns`).
 */
export function configureGlueTables(engine: Engine, tables: Readonly<Record<string, readonly GlueColumn[]>>): void {
  glueTables.set(engine, tables);
}

export function glueTablesOf(engine: Engine): Readonly<Record<string, readonly GlueColumn[]>> {
  return glueTables.get(engine) ?? {};
}

export function deliveryStoreOf(engine: Engine): (() => ObjectStore) | undefined {
  return stores.get(engine);
}
