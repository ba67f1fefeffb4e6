import type { Engine } from '../engine/engine.js';
import type { OperationName, OperationRequest, Operations } from '../streams/api_types.js';

/*
 * The engine operations a CALL frame (docs/PROTOCOL.md) and the Kinesis HTTP API reach by their
 * Kinesis names, with the types of api_types.ts. The request is the Kinesis request object;
 * what the operation returns is the RESULT (an operation without a result answers {}).
 */

type Operation<K extends OperationName> = (
  engine: Engine,
  request: OperationRequest<K>,
) => Operations[K]['response'] | Promise<Operations[K]['response']>;

// A null prototype: a frame naming `constructor` or `toString` must find nothing.
export const OPERATIONS: { readonly [K in OperationName]: Operation<K> } = Object.assign(
  Object.create(null) as { [K in OperationName]: Operation<K> },
  {
    CreateStream: (engine, request) => engine.createStream(request),
    DeleteStream: (engine, request) => engine.deleteStream(request),
    DescribeStream: (engine, request) => engine.describeStream(request),
    DescribeStreamSummary: (engine, request) => engine.describeStreamSummary(request),
    ListStreams: (engine, request) => engine.listStreams(request),
    ListShards: (engine, request) => engine.listShards(request),
    PutRecord: (engine, request) => engine.putRecord(request),
    PutRecords: (engine, request) => engine.putRecords(request),
    GetShardIterator: (engine, request) => engine.getShardIterator(request),
    GetRecords: (engine, request) => engine.getRecords(request),
    SplitShard: (engine, request) => engine.splitShard(request),
    MergeShards: (engine, request) => engine.mergeShards(request),
    UpdateShardCount: (engine, request) => engine.updateShardCount(request),
    IncreaseStreamRetentionPeriod: (engine, request) => engine.increaseStreamRetentionPeriod(request),
    DecreaseStreamRetentionPeriod: (engine, request) => engine.decreaseStreamRetentionPeriod(request),
    UpdateStreamMode: (engine, request) => engine.updateStreamMode(request),
    StartStreamEncryption: (engine, request) => engine.startStreamEncryption(request),
    StopStreamEncryption: (engine, request) => engine.stopStreamEncryption(request),
    RegisterStreamConsumer: (engine, request) => engine.registerStreamConsumer(request),
    DeregisterStreamConsumer: (engine, request) => engine.deregisterStreamConsumer(request),
    DescribeStreamConsumer: (engine, request) => engine.describeStreamConsumer(request),
    ListStreamConsumers: (engine, request) => engine.listStreamConsumers(request),
    EnableEnhancedMonitoring: (engine, request) => engine.enableEnhancedMonitoring(request),
    DisableEnhancedMonitoring: (engine, request) => engine.disableEnhancedMonitoring(request),
    GetMetrics: (engine) => engine.metrics(),
    AddTagsToStream: (engine, request) => engine.addTagsToStream(request),
    RemoveTagsFromStream: (engine, request) => engine.removeTagsFromStream(request),
    ListTagsForStream: (engine, request) => engine.listTagsForStream(request),
    VerifyStream: (engine, request) => engine.verifyStream(request),
  } satisfies { [K in OperationName]: Operation<K> },
);

/** The operation of that name, only if it is one of ours (never an inherited property); its request is unchecked here. */
export function operationNamed(name: string): ((engine: Engine, request: never) => unknown) | undefined {
  return Object.hasOwn(OPERATIONS, name) ? (OPERATIONS[name as OperationName] as (engine: Engine, request: never) => unknown) : undefined;
}
