import {
  InvalidParameterValueException,
  InvalidRequestContentException,
  ShardlineError,
  UnknownOperationException,
  describeError,
} from '../../errors.js';
import type { AccessControl, Caller, Origin } from '../../auth/access_control.js';
import type { Engine } from '../../engine/engine.js';
import type { TriggerRegistry } from '../../triggers/registry.js';
import type { MappingRequest } from '../../triggers/mapping.js';

/*
 * Lambda's event-source-mapping REST API (restJson1, signing name `lambda`) on the HTTP port, so
 * `@aws-sdk/client-lambda` creates, lists, reads, updates and deletes triggers unchanged
 * (docs/TRIGGERS.md): `POST /2015-03-31/event-source-mappings/` (202), `GET ...?EventSourceArn=&
 * FunctionName=&Marker=&MaxItems=`, `GET|PUT|DELETE .../{UUID}`; and Invoke of a registered
 * function (`POST /2015-03-31/functions/{name}/invocations`, RequestResponse: the function's
 * answer as the body, its failure as X-Amz-Function-Error). Errors carry Lambda's status codes
 * and `x-amzn-errortype`.
 */

export const LAMBDA_PATH = '/2015-03-31/event-source-mappings';
const FUNCTIONS_PATH = '/2015-03-31/functions/';
const INVOCATIONS = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const LIST_MAX = 100;

export interface LambdaAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly errorType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LambdaRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  /** X-Amz-Invocation-Type. */
  readonly invocationType?: string;
}

const STATUS_OF: Readonly<Record<string, number>> = {
  ResourceNotFoundException: 404,
  ResourceConflictException: 409,
  AccessDeniedException: 403,
};

export function isLambdaPath(path: string): boolean {
  return path === LAMBDA_PATH || path.startsWith(`${LAMBDA_PATH}/`) || path.startsWith(FUNCTIONS_PATH);
}

export async function answerLambda(
  engine: Engine,
  access: AccessControl,
  caller: Caller,
  origin: Origin,
  request: LambdaRequest,
): Promise<LambdaAnswer> {
  const invoking = request.path.startsWith(FUNCTIONS_PATH);
  const uuid = invoking ? '' : decodeURIComponent(request.path.slice(LAMBDA_PATH.length).replace(/^\/+|\/+$/g, ''));
  let operation = invoking ? 'Invoke' : '';
  try {
    // Loaded on the first call: a server that runs no trigger does not load the family's modules.
    const { TriggerRegistry } = await import('../../triggers/registry.js');
    const registry = TriggerRegistry.of(engine);
    if (invoking) return audited(access, caller, origin, operation, request, await invoke(registry, access, caller, origin, request));
    const routed = route(registry, request.method, uuid, request);
    operation = routed.operation;
    access.authorizeAction(
      caller,
      `lambda:${operation}`,
      uuid === '' ? '*' : `arn:aws:lambda:us-east-1:000000000000:event-source-mapping:${uuid}`,
      origin,
    );
    return audited(access, caller, origin, operation, request, await routed.run(), uuid);
  } catch (error) {
    if (operation !== '') access.audit({ caller, operation, request: auditedRequest(request, uuid), origin, error });
    const { code, message } = describeError(error);
    const client = error instanceof ShardlineError && error.fault === 'client';
    return { status: client ? (STATUS_OF[code] ?? 400) : 500, errorType: code, body: { Type: client ? 'User' : 'Service', message } };
  }
}

/** The call in the audit trail (when the server keeps one), as CloudTrail's lambda.amazonaws.com events. */
function audited(
  access: AccessControl,
  caller: Caller,
  origin: Origin,
  operation: string,
  request: LambdaRequest,
  answer: LambdaAnswer,
  uuid = '',
): LambdaAnswer {
  if (access.auditing) access.audit({ caller, operation, request: auditedRequest(request, uuid), origin });
  return answer;
}

function auditedRequest(request: LambdaRequest, uuid: string): Record<string, unknown> {
  if (request.path.startsWith(FUNCTIONS_PATH)) return { FunctionName: decodeURIComponent(INVOCATIONS.exec(request.path)?.[1] ?? '') };
  if (request.body.length > 0 && (request.method === 'POST' || request.method === 'PUT')) {
    try {
      return { ...(JSON.parse(request.body.toString('utf8')) as Record<string, unknown>), ...(uuid === '' ? {} : { UUID: uuid }) };
    } catch {
      return uuid === '' ? {} : { UUID: uuid };
    }
  }
  return uuid === '' ? {} : { UUID: uuid };
}

/** Invoke, RequestResponse only: a function error is a 200 with X-Amz-Function-Error, as on Lambda. */
async function invoke(registry: TriggerRegistry, access: AccessControl, caller: Caller, origin: Origin, request: LambdaRequest) {
  const name = INVOCATIONS.exec(request.path)?.[1];
  if (name === undefined || request.method !== 'POST')
    throw new UnknownOperationException(`${request.method} ${request.path} is no operation of shardline's Lambda API`);
  const functionName = decodeURIComponent(name);
  access.authorizeAction(caller, 'lambda:InvokeFunction', `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`, origin);
  const type = request.invocationType ?? 'RequestResponse';
  if (type !== 'RequestResponse')
    throw new InvalidParameterValueException(`InvocationType ${type}: shardline invokes RequestResponse only`);
  let payload: unknown;
  try {
    payload = request.body.length === 0 ? {} : JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new InvalidRequestContentException('Could not parse request body into json');
  }
  const result = await registry.invoke(functionName, payload);
  return {
    status: 200,
    body: result.payload ?? null,
    ...(result.functionError === undefined ? {} : { headers: { 'x-amz-function-error': result.functionError } }),
  };
}

function route(
  registry: TriggerRegistry,
  method: string,
  uuid: string,
  request: { query: URLSearchParams; body: Buffer },
): { operation: string; run: () => Promise<LambdaAnswer> } {
  if (uuid === '' && method === 'POST')
    return { operation: 'CreateEventSourceMapping', run: async () => ({ status: 202, body: await registry.create(bodyOf(request.body)) }) };
  if (uuid === '' && method === 'GET')
    return { operation: 'ListEventSourceMappings', run: async () => ({ status: 200, body: list(registry, request.query) }) };
  if (uuid !== '' && method === 'GET')
    return { operation: 'GetEventSourceMapping', run: async () => ({ status: 200, body: registry.get(uuid) }) };
  if (uuid !== '' && method === 'PUT')
    return {
      operation: 'UpdateEventSourceMapping',
      run: async () => ({ status: 202, body: await registry.update(uuid, bodyOf(request.body)) }),
    };
  if (uuid !== '' && method === 'DELETE')
    return { operation: 'DeleteEventSourceMapping', run: async () => ({ status: 202, body: await registry.delete(uuid) }) };
  throw new UnknownOperationException(
    `${method} ${LAMBDA_PATH}${uuid === '' ? '' : `/${uuid}`} is no operation of the event-source-mapping API`,
  );
}

function bodyOf(body: Buffer): MappingRequest {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidParameterValueException('the request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidParameterValueException('the request body is a JSON object');
  return parsed as MappingRequest;
}

/** Lambda's paging: Marker is the index of the next mapping, MaxItems at most 100. */
function list(registry: TriggerRegistry, query: URLSearchParams): { EventSourceMappings: unknown[]; NextMarker?: string } {
  const eventSourceArn = query.get('EventSourceArn') ?? undefined;
  const functionName = query.get('FunctionName') ?? undefined;
  const all = registry.list({
    ...(eventSourceArn === undefined ? {} : { eventSourceArn }),
    ...(functionName === undefined ? {} : { functionName }),
  });
  const from = Number(query.get('Marker') ?? '0');
  const max = Math.min(LIST_MAX, Number(query.get('MaxItems') ?? String(LIST_MAX)));
  if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(max) || max < 1)
    throw new InvalidParameterValueException('Marker or MaxItems is not valid');
  const page = all.slice(from, from + max);
  return { EventSourceMappings: page, ...(from + max < all.length ? { NextMarker: String(from + max) } : {}) };
}
