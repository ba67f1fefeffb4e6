import fs from 'node:fs';
import path from 'node:path';
import { InvalidParameterValueException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { FunctionDefinition } from '../triggers/functions.js';
import { TriggerRegistry } from '../triggers/registry.js';

/**
 * `serve --functions <file>`: `{ "<name>": { "handler": "./handlers/enrich.mjs#handler" | "https://...",
 * "timeoutSeconds"?, "memorySizeMb"? } }`, module paths relative to the file. Loaded by serve alone.
 */
export async function registerFunctions(engine: Engine, file: string): Promise<TriggerRegistry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidParameterValueException(`${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidParameterValueException(`${file}: a map of function names to definitions`);
  const registry = TriggerRegistry.of(engine);
  for (const [name, value] of Object.entries(parsed as Record<string, FunctionDefinition>)) {
    const handler = value?.handler;
    if (typeof handler !== 'string') throw new InvalidParameterValueException(`${file}: function ${name} needs a handler`);
    const resolved = /^https?:\/\//.test(handler) ? handler : path.resolve(path.dirname(file), handler);
    await registry.registerFunction(name, { ...value, handler: resolved });
  }
  return registry;
}
