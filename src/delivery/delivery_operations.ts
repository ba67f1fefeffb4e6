/*
 * Firehose's operations (`Firehose_20150804.<Op>` on the HTTP port; `Firehose.<Op>` over the
 * WebSocket CALL, docs/PROTOCOL.md), with Firehose's names and members, on the registry embedded
 * users reach too. Blobs arrive base64 on both JSON doors. The registry and the modules under it
 * load on the first such call, so a server that runs no delivery stream does not load them.
 */
import { InvalidArgumentException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { DeliveryRegistry } from './registry.js';

type Request = Readonly<Record<string, unknown>>;
type Operation = (registry: DeliveryRegistry, request: Request) => unknown;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateDeliveryStream: (registry, request) => registry.create(request),
  DescribeDeliveryStream: (registry, request) => registry.describe(request['DeliveryStreamName']),
  ListDeliveryStreams: (registry, request) => registry.list(request),
  DeleteDeliveryStream: (registry, request) => registry.delete(request['DeliveryStreamName']),
  PutRecord: (registry, request) => registry.putRecord(request['DeliveryStreamName'], withData(request['Record'])),
  PutRecordBatch: (registry, request) =>
    registry.putRecordBatch(
      request['DeliveryStreamName'],
      Array.isArray(request['Records']) ? request['Records'].map(withData) : request['Records'],
    ),
  UpdateDestination: (registry, request) => registry.updateDestination(request),
  TagDeliveryStream: (registry, request) => registry.tag(request['DeliveryStreamName'], request['Tags']),
  UntagDeliveryStream: (registry, request) => registry.untag(request['DeliveryStreamName'], request['TagKeys']),
  ListTagsForDeliveryStream: (registry, request) => registry.listTags(request['DeliveryStreamName']),
  FlushDeliveryStream: (registry, request) => registry.flush(request['DeliveryStreamName']),
};

/** The CALL's name of a Firehose operation. */
export const CALL_PREFIX = 'Firehose.';

export function isFirehoseOperation(name: string): boolean {
  return Object.hasOwn(OPERATIONS, name);
}

/** Runs a Firehose operation (its bare name) on the engine's registry. */
export async function runFirehoseOperation(engine: Engine, name: string, request: Request): Promise<unknown> {
  const { DeliveryRegistry } = await import('./registry.js');
  return OPERATIONS[name]!(await DeliveryRegistry.of(engine), request);
}

/** A CALL operation named `Firehose.<Op>`, or undefined. */
export function deliveryOperation(engine: Engine, name: string): ((request: Request) => Promise<unknown>) | undefined {
  if (!name.startsWith(CALL_PREFIX) || !isFirehoseOperation(name.slice(CALL_PREFIX.length))) return undefined;
  return (request) => runFirehoseOperation(engine, name.slice(CALL_PREFIX.length), request ?? {});
}

/** A record whose Data came base64 (both JSON doors), with its bytes. */
function withData(record: unknown): unknown {
  const data = (record as { Data?: unknown } | null)?.Data;
  if (typeof data !== 'string') return record;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new InvalidArgumentException('Record.Data is not base64');
  return { ...(record as object), Data: Buffer.from(data, 'base64') };
}
