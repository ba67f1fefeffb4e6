import { InvalidParameterValueException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { MappingRequest } from './mapping.js';
import type { TriggerRegistry } from './registry.js';

/*
 * The event-source-mapping operations over the WebSocket CALL (docs/PROTOCOL.md), with Lambda's
 * names and members: the same registry the HTTP port's Lambda API and embedded users reach. The
 * registry (and the consumer-group and client modules under it) loads on the first such call,
 * so a server that runs no trigger does not load them.
 */

type Request = Readonly<Record<string, unknown>>;

export const TRIGGER_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateEventSourceMapping',
  'GetEventSourceMapping',
  'ListEventSourceMappings',
  'UpdateEventSourceMapping',
  'DeleteEventSourceMapping',
  'Invoke',
]);

export function triggerOperation(engine: Engine, name: string): ((request: Request) => Promise<unknown>) | undefined {
  if (!TRIGGER_OPERATIONS.has(name)) return undefined;
  return async (request) => {
    const { TriggerRegistry } = await import('./registry.js');
    return operationOf(TriggerRegistry.of(engine), name)(request);
  };
}

function operationOf(registry: TriggerRegistry, name: string): (request: Request) => Promise<unknown> {
  switch (name) {
    case 'CreateEventSourceMapping':
      return (request) => registry.create(request as MappingRequest);
    case 'GetEventSourceMapping':
      return async (request) => registry.get(uuidOf(request));
    case 'ListEventSourceMappings':
      return async (request) => ({
        EventSourceMappings: registry.list({
          ...(typeof request['EventSourceArn'] === 'string' ? { eventSourceArn: request['EventSourceArn'] } : {}),
          ...(typeof request['FunctionName'] === 'string' ? { functionName: request['FunctionName'] } : {}),
        }),
      });
    case 'UpdateEventSourceMapping':
      return (request) => {
        const { UUID: _uuid, ...changes } = request;
        return registry.update(uuidOf(request), changes as MappingRequest);
      };
    case 'Invoke':
      return async (request) => {
        const name = request['FunctionName'];
        if (typeof name !== 'string' || name === '') throw new InvalidParameterValueException('FunctionName is required');
        const { payload, functionError } = await registry.invoke(name, request['Payload'] ?? {});
        return { StatusCode: 200, Payload: payload ?? null, ...(functionError === undefined ? {} : { FunctionError: functionError }) };
      };
    default:
      return (request) => registry.delete(uuidOf(request));
  }
}

function uuidOf(request: Request): string {
  const uuid = request['UUID'];
  if (typeof uuid !== 'string' || uuid === '') throw new InvalidParameterValueException('UUID is required');
  return uuid;
}
