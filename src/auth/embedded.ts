import type { Engine } from '../engine/engine.js';
import { AccessControl, EMBEDDED_ORIGIN, type Caller, type Origin } from './access_control.js';

/*
 * An embedded Engine handle that acts as one identity (docs/SECURITY.md): every Kinesis operation
 * is authorized as the doors authorize it, before any work. The handle has the operations only:
 * closing the engine, its documents and its test hooks stay with whoever opened it.
 */

const OPERATIONS = [
  'createStream',
  'deleteStream',
  'describeStream',
  'describeStreamSummary',
  'listStreams',
  'listShards',
  'putRecord',
  'putRecords',
  'getShardIterator',
  'getRecords',
  'subscribeToShard',
  'splitShard',
  'mergeShards',
  'updateShardCount',
  'increaseStreamRetentionPeriod',
  'decreaseStreamRetentionPeriod',
  'updateStreamMode',
  'startStreamEncryption',
  'stopStreamEncryption',
  'registerStreamConsumer',
  'deregisterStreamConsumer',
  'describeStreamConsumer',
  'listStreamConsumers',
  'addTagsToStream',
  'removeTagsFromStream',
  'listTagsForStream',
  'verifyStream',
] as const;

/** The engine answers these at once (subscribeToShard with its generator); the others return promises, and so does their refusal. */
const ANSWERED_AT_ONCE: ReadonlySet<string> = new Set([
  'describeStream',
  'describeStreamSummary',
  'listStreams',
  'listShards',
  'subscribeToShard',
  'describeStreamConsumer',
  'listStreamConsumers',
  'listTagsForStream',
]);

export type EngineOperations = Pick<Engine, (typeof OPERATIONS)[number]>;

export interface IdentityOptions {
  /** The credentials file (as `serve --auth` takes), or an AccessControl already loaded. */
  readonly credentials: string | AccessControl;
  /** The key whose identity the handle acts as. */
  readonly accessKeyId: string;
  /** For aws:SourceIp and aws:SecureTransport. Default 127.0.0.1, secure. */
  readonly origin?: Origin;
}

/**
 * `const orders = withIdentity(engine, { credentials: 'credentials.json', accessKeyId })`;
 * UnrecognizedClientException for a key the file does not hold.
 */
export function withIdentity(engine: Engine, options: IdentityOptions): EngineOperations {
  const access = typeof options.credentials === 'string' ? AccessControl.fromFile(engine, options.credentials) : options.credentials;
  return authorizedOperations(engine, access, access.callerOf(options.accessKeyId), options.origin ?? EMBEDDED_ORIGIN);
}

export function authorizedOperations(engine: Engine, access: AccessControl, caller: Caller, origin: Origin): EngineOperations {
  const handle: Record<string, unknown> = {};
  for (const method of OPERATIONS) {
    const operation = method[0]!.toUpperCase() + method.slice(1);
    const run = (engine[method] as (request: unknown) => unknown).bind(engine);
    handle[method] = (request: Record<string, unknown> = {}) => {
      const audit = (error?: unknown): void =>
        access.audit({ caller, operation, request, origin, ...(error === undefined ? {} : { error }) });
      try {
        access.authorize(caller, operation, request, origin);
      } catch (error) {
        audit(error);
        if (ANSWERED_AT_ONCE.has(method)) throw error;
        return Promise.reject(error as Error);
      }
      let result: unknown;
      try {
        result = run(request);
      } catch (error) {
        audit(error);
        throw error;
      }
      if (result instanceof Promise) result.then(() => audit(), audit);
      else audit();
      return result;
    };
  }
  return handle as unknown as EngineOperations;
}
