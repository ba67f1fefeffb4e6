import type { Engine } from '../engine/engine.js';
import { ACCOUNT_ID, REGION, streamArn } from '../streams/kinesis_shapes.js';

/*
 * What each request asks to do, as IAM sees it: its action and the resource it acts on
 * (../shared/reference/kinesis-family.md §7.1). Kinesis operations are `kinesis:<Operation>`
 * on the stream's ARN, the consumer's for SubscribeToShard, DescribeStreamConsumer and
 * DeregisterStreamConsumer, and "*" for ListStreams; shardline's own operations (consumer
 * groups, VerifyStream, the simulation) are `shardline:<Operation>`.
 */

export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  /** The stream the resource belongs to, for its tags (aws:ResourceTag/<key>). */
  readonly streamName?: string;
  /** Tags the request sets (aws:RequestTag/<key>, aws:TagKeys). */
  readonly requestTags?: Readonly<Record<string, string>>;
}

/** A consumer group as a resource: shardline's, since the KCL keeps its leases in DynamoDB instead. */
export function groupArn(groupName: string): string {
  return `arn:aws:kinesis:${REGION}:${ACCOUNT_ID}:group/${groupName}`;
}

type Request = Readonly<Record<string, unknown>>;

const SHARDLINE_OPERATIONS = new Set(['VerifyStream', 'SimulateAuthorization']);
const GROUP_OPERATIONS = new Set([
  'PrepareGroup',
  'DescribeGroup',
  'ResetGroup',
  'DeleteGroup',
  'ListLeases',
  'GetLease',
  'CreateLease',
  'UpdateLease',
  'DeleteLease',
]);
const LEASE_FAULTS = new Set(['ExpireLease', 'StealLease']);
const ACCOUNT_WIDE = new Set(['ListStreams', 'DescribeLimits', 'ListGroups', 'SimulateAuthorization']);
/** Lambda's event-source-mapping operations (over the CALL): on `*`, or the mapping's ARN. */
const LAMBDA_OPERATIONS = new Set([
  'CreateEventSourceMapping',
  'GetEventSourceMapping',
  'ListEventSourceMappings',
  'UpdateEventSourceMapping',
  'DeleteEventSourceMapping',
]);
const CONSUMER_OPERATIONS = new Set(['SubscribeToShard', 'DescribeStreamConsumer', 'DeregisterStreamConsumer']);

/**
 * The checks a request needs, most often one; CreateStream with Tags also needs
 * kinesis:AddTagsToStream, as on AWS. Reading the engine (a shard iterator's stream, a consumer's
 * ARN) may throw the error the operation itself would answer.
 */
export function accessRequests(engine: Engine, operation: string, request: Request): AccessRequest[] {
  const action = `${SHARDLINE_OPERATIONS.has(operation) || GROUP_OPERATIONS.has(operation) || operation === 'ListGroups' ? 'shardline' : 'kinesis'}:${operation}`;
  if (LAMBDA_OPERATIONS.has(operation)) {
    const uuid = request['UUID'];
    return [
      {
        action: `lambda:${operation}`,
        resource: typeof uuid === 'string' ? `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:event-source-mapping:${uuid}` : '*',
      },
    ];
  }
  if (operation.startsWith('Firehose.')) return [firehoseRequest(operation.slice('Firehose.'.length), request)];
  if (operation.startsWith('Queries.')) return [queryRequest(operation.slice('Queries.'.length), request)];
  if (operation.startsWith('Faults.')) return [faultRequest(operation.slice('Faults.'.length), request)];
  if (operation.startsWith('Clock.')) return [clockRequest(operation.slice('Clock.'.length))];
  // The metrics are CloudWatch's on AWS; reading them is its action, on no resource of Kinesis'.
  if (operation === 'GetMetrics') return [{ action: 'cloudwatch:GetMetricData', resource: '*' }];
  if (operation === 'Invoke')
    return [
      { action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${String(request['FunctionName'])}` },
    ];
  if (ACCOUNT_WIDE.has(operation)) return [{ action, resource: '*' }];
  if (GROUP_OPERATIONS.has(operation)) return [{ action, resource: groupArn(String(request['GroupName'])) }];
  if (CONSUMER_OPERATIONS.has(operation)) return [consumerRequest(engine, action, request)];
  const streamName = streamNameIn(engine, operation, request);
  const tags = requestTags(operation, request);
  const base: AccessRequest = { action, resource: streamArn(streamName), streamName, ...(tags === undefined ? {} : { requestTags: tags }) };
  if (operation === 'CreateStream' && tags !== undefined) return [base, { ...base, action: 'kinesis:AddTagsToStream' }];
  return [base];
}

function streamNameIn(engine: Engine, operation: string, request: Request): string {
  if (operation === 'GetRecords') return engine.streamOfShardIterator(request['ShardIterator'] as string);
  if (operation === 'ListShards' && typeof request['NextToken'] === 'string') return request['NextToken'].split('/')[0]!;
  if (typeof request['StreamName'] === 'string') return request['StreamName'];
  if (typeof request['StreamARN'] === 'string') return request['StreamARN'].split(':stream/')[1] ?? '';
  return '';
}

/** A consumer named by stream and name is authorized on its ARN, which the registry knows. */
function consumerRequest(engine: Engine, action: string, request: Request): AccessRequest {
  let consumerArn = typeof request['ConsumerARN'] === 'string' ? request['ConsumerARN'] : undefined;
  if (consumerArn === undefined) {
    const reference = { StreamARN: String(request['StreamARN']), ConsumerName: String(request['ConsumerName']) };
    consumerArn = engine.describeStreamConsumer(reference).ConsumerDescription.ConsumerARN;
  }
  const streamName = consumerArn.split(':stream/')[1]?.split('/consumer/')[0] ?? '';
  return { action, resource: consumerArn, streamName };
}

function requestTags(operation: string, request: Request): Readonly<Record<string, string>> | undefined {
  if (operation !== 'CreateStream' && operation !== 'AddTagsToStream') return undefined;
  const tags = request['Tags'];
  return typeof tags === 'object' && tags !== null ? (tags as Record<string, string>) : undefined;
}

/**
 * A query operation (docs/QUERIES.md): on the query's ARN (kinesisanalytics' application ARN), or
 * `*` for the list. CreateQuery's name is its QueryName member, else the name its Sql creates.
 */
export function queryRequest(operation: string, request: Request): AccessRequest {
  const named = request['QueryName'];
  const sql = request['Sql'];
  const created =
    typeof sql === 'string'
      ? /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*CREATE\s+(?:QUERY|PUMP)\s+"?([A-Za-z0-9_-]+)/i.exec(sql)?.[1]
      : undefined;
  const name = typeof named === 'string' ? named : created;
  return {
    action: `kinesisanalytics:${operation}`,
    resource: name === undefined ? '*' : `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT_ID}:application/${name}`,
  };
}

/**
 * A fault operation (docs/TESTING.md): `shardline:<Operation>` on `*`, since a rule may reach
 * every stream and the account-wide operations; a lease fault on its group's ARN, as the
 * UpdateLease it amounts to.
 */
export function faultRequest(operation: string, request: Request): AccessRequest {
  if (LEASE_FAULTS.has(operation)) return { action: `shardline:${operation}`, resource: groupArn(String(request['GroupName'])) };
  return { action: `shardline:${operation}`, resource: '*' };
}

/** A manual clock operation (docs/TESTING.md): `shardline:<Operation>` on `*`, since the clock is the whole engine's. */
export function clockRequest(operation: string): AccessRequest {
  return { action: `shardline:${operation}`, resource: '*' };
}

/** A Firehose operation: on its delivery stream's ARN, or `*` for the list. */
export function firehoseRequest(operation: string, request: Request): AccessRequest {
  const name = request['DeliveryStreamName'];
  return {
    action: `firehose:${operation}`,
    resource: typeof name === 'string' ? `arn:aws:firehose:${REGION}:${ACCOUNT_ID}:deliverystream/${name}` : '*',
  };
}
