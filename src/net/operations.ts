import type { Engine } from '../engine/engine.js';

/*
 * The engine operations a CALL frame may name (docs/PROTOCOL.md), by their Kinesis names. The
 * request is the Kinesis request object; what the operation returns is the RESULT (an
 * operation without a result answers {}). Shared by the network protocol and, later, the
 * Kinesis HTTP API.
 */

type Operation = (engine: Engine, request: never) => unknown;

// A null prototype: a frame naming `constructor` or `toString` must find nothing.
export const OPERATIONS: Readonly<Record<string, Operation>> = Object.assign(Object.create(null) as Record<string, Operation>, {
  CreateStream: (engine, request: Parameters<Engine['createStream']>[0]) => engine.createStream(request),
  DeleteStream: (engine, request: Parameters<Engine['deleteStream']>[0]) => engine.deleteStream(request),
  DescribeStream: (engine, request: Parameters<Engine['describeStream']>[0]) => engine.describeStream(request),
  DescribeStreamSummary: (engine, request: Parameters<Engine['describeStreamSummary']>[0]) => engine.describeStreamSummary(request),
  ListStreams: (engine, request: Parameters<Engine['listStreams']>[0]) => engine.listStreams(request),
  ListShards: (engine, request: Parameters<Engine['listShards']>[0]) => engine.listShards(request),
  PutRecord: (engine, request: Parameters<Engine['putRecord']>[0]) => engine.putRecord(request),
  PutRecords: (engine, request: Parameters<Engine['putRecords']>[0]) => engine.putRecords(request),
  GetShardIterator: (engine, request: Parameters<Engine['getShardIterator']>[0]) => engine.getShardIterator(request),
  GetRecords: (engine, request: Parameters<Engine['getRecords']>[0]) => engine.getRecords(request),
  SplitShard: (engine, request: Parameters<Engine['splitShard']>[0]) => engine.splitShard(request),
  MergeShards: (engine, request: Parameters<Engine['mergeShards']>[0]) => engine.mergeShards(request),
  UpdateShardCount: (engine, request: Parameters<Engine['updateShardCount']>[0]) => engine.updateShardCount(request),
  IncreaseStreamRetentionPeriod: (engine, request: Parameters<Engine['increaseStreamRetentionPeriod']>[0]) => engine.increaseStreamRetentionPeriod(request),
  DecreaseStreamRetentionPeriod: (engine, request: Parameters<Engine['decreaseStreamRetentionPeriod']>[0]) => engine.decreaseStreamRetentionPeriod(request),
  UpdateStreamMode: (engine, request: Parameters<Engine['updateStreamMode']>[0]) => engine.updateStreamMode(request),
  RegisterStreamConsumer: (engine, request: Parameters<Engine['registerStreamConsumer']>[0]) => engine.registerStreamConsumer(request),
  DeregisterStreamConsumer: (engine, request: Parameters<Engine['deregisterStreamConsumer']>[0]) => engine.deregisterStreamConsumer(request),
  DescribeStreamConsumer: (engine, request: Parameters<Engine['describeStreamConsumer']>[0]) => engine.describeStreamConsumer(request),
  ListStreamConsumers: (engine, request: Parameters<Engine['listStreamConsumers']>[0]) => engine.listStreamConsumers(request),
  AddTagsToStream: (engine, request: Parameters<Engine['addTagsToStream']>[0]) => engine.addTagsToStream(request),
  RemoveTagsFromStream: (engine, request: Parameters<Engine['removeTagsFromStream']>[0]) => engine.removeTagsFromStream(request),
  ListTagsForStream: (engine, request: Parameters<Engine['listTagsForStream']>[0]) => engine.listTagsForStream(request),
  VerifyStream: (engine, request: Parameters<Engine['verifyStream']>[0]) => engine.verifyStream(request),
} satisfies Record<string, Operation>);

/** The operation of that name, only if it is one of ours (never an inherited property). */
export function operationNamed(name: string): Operation | undefined {
  return Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}
