/*
 * The queries' operations (docs/QUERIES.md): `Queries.<Op>` over the WebSocket CALL and
 * `ShardlineQueries_20261207.<Op>` on the HTTP port (JSON, signed for `kinesisanalytics`), on the
 * registry embedded users reach too. The registry and the modules under it load on the first such
 * call, so a server that runs no query does not load them.
 */
import type { Engine } from '../engine/engine.js';
import type { QueryRegistry } from './registry.js';

type Request = Readonly<Record<string, unknown>>;
type Operation = (registry: QueryRegistry, request: Request) => unknown;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateQuery: (registry, request) => registry.create(request),
  DescribeQuery: (registry, request) => registry.describe(request['QueryName']),
  ListQueries: (registry) => registry.list(),
  StopQuery: (registry, request) => registry.stop(request['QueryName']),
  StartQuery: (registry, request) => registry.start(request['QueryName']),
  DeleteQuery: (registry, request) => registry.delete(request['QueryName']),
};

/** The CALL's name of a query operation. */
export const QUERY_CALL_PREFIX = 'Queries.';
/** The X-Amz-Target prefix on the HTTP port. */
export const QUERY_TARGET_PREFIX = 'ShardlineQueries_20261207.';

export function isQueryOperation(name: string): boolean {
  return Object.hasOwn(OPERATIONS, name);
}

/** Runs a query operation (its bare name) on the engine's registry. */
export async function runQueryOperation(engine: Engine, name: string, request: Request): Promise<unknown> {
  const { QueryRegistry } = await import('./registry.js');
  return OPERATIONS[name]!(await QueryRegistry.of(engine), request);
}

/** A CALL operation named `Queries.<Op>`, or undefined. */
export function queryOperation(engine: Engine, name: string): ((request: Request) => Promise<unknown>) | undefined {
  if (!name.startsWith(QUERY_CALL_PREFIX) || !isQueryOperation(name.slice(QUERY_CALL_PREFIX.length))) return undefined;
  return (request) => runQueryOperation(engine, name.slice(QUERY_CALL_PREFIX.length), request ?? {});
}
