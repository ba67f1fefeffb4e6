import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import fs from 'node:fs';
import { InvalidArgumentException } from '../errors.js';
import { configureDeliveryStore, configureGlueTables, type GlueColumn } from '../delivery/store_config.js';

/*
 * `serve`'s delivery streams (docs/DELIVERY.md): where their S3 objects go (`--s3-dir`, default
 * `<data dir>/s3`, or an S3 API at `--s3-endpoint` with the AWS SDK's credentials from the
 * environment), and the stored ones started at once, so that what was buffered before a restart
 * is delivered without waiting for a call. The registry loads only when the engine has some.
 */

export interface DeliveryServeOptions {
  readonly s3Dir?: string;
  readonly s3Endpoint?: string;
  readonly glueTables?: string;
}

const DOCUMENT = 'delivery.json';

export async function startDelivery(engine: Engine, options: DeliveryServeOptions): Promise<void> {
  if (options.s3Endpoint !== undefined) {
    const { S3Store } = await import('../delivery/s3_store.js');
    const endpoint = options.s3Endpoint;
    configureDeliveryStore(engine, () => new S3Store({ endpoint }));
  } else if (options.s3Dir !== undefined) {
    const { DirectoryStore } = await import('../delivery/directory_store.js');
    const root = path.resolve(options.s3Dir);
    configureDeliveryStore(engine, () => new DirectoryStore(root));
  }
  if (options.glueTables !== undefined) configureGlueTables(engine, readGlueTables(path.resolve(options.glueTables)));
  if (engine.readDocument(DOCUMENT) !== null) await (await import('../delivery/registry.js')).DeliveryRegistry.of(engine);
}

export async function stopDelivery(engine: Engine): Promise<void> {
  if (engine.readDocument(DOCUMENT) === null) return;
  await (await (await import('../delivery/registry.js')).DeliveryRegistry.of(engine)).stopAll();
}

/** `{ "<database>.<table>": [{ "Name": "id", "Type": "bigint" }, ...] }`. */
function readGlueTables(file: string): Record<string, GlueColumn[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentException(`--glue-tables ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every(Array.isArray))
    throw new InvalidArgumentException(`--glue-tables ${file}: a map of "<database>.<table>" to a list of { Name, Type }`);
  return parsed as Record<string, GlueColumn[]>;
}
