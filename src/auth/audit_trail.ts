import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.js';
import { ACCOUNT_ID, REGION, streamArn } from '../streams/kinesis_shapes.js';
import type { Identity } from './credentials.js';
import type { AuditLog } from './audit_log.js';
import { auditRecord, type AuditResource, type AuditUserIdentity } from './audit_record.js';

/*
 * What the doors tell the audit log (docs/SECURITY.md, "Audit log"): one CloudTrail-shaped
 * record per call, with the caller (or none, for a refused signature), the source address, the
 * request without record data, and the outcome. Control-plane calls always; the data plane
 * (PutRecord(s), GetRecords, GetShardIterator, SubscribeToShard) only when asked for, as in
 * CloudTrail. The answer to a call does not wait for its record: the log is fsynced with group
 * commit, and a record still in the write at a crash is lost (the calls' own effects are not).
 */

const DATA_EVENTS: ReadonlySet<string> = new Set([
  'PutRecord',
  'PutRecords',
  'GetRecords',
  'GetShardIterator',
  'SubscribeToShard',
  'PutRecordBatch',
  'Invoke',
]);
/** The family's operations, audited under their own service (as CloudTrail would): the CALL's `Firehose.<Op>`, Lambda's names. */
const FIREHOSE_PREFIX = 'Firehose.';
const LAMBDA_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateEventSourceMapping',
  'GetEventSourceMapping',
  'ListEventSourceMappings',
  'UpdateEventSourceMapping',
  'DeleteEventSourceMapping',
  'Invoke',
]);

/** Who called: the shape of access_control.ts's Caller, which imports this module. */
interface AuditedCaller {
  readonly identity: Identity;
  readonly accessKeyId?: string;
}

export interface AuditedCall {
  /** Null: the call was refused before it had a caller (its signature). */
  readonly caller: AuditedCaller | null;
  readonly operation: string;
  readonly request: Readonly<Record<string, unknown>> | null;
  readonly origin: { readonly sourceIp: string };
  readonly userAgent?: string;
  /** The call's failure; absent: it succeeded. */
  readonly error?: unknown;
}

export class AuditTrail {
  constructor(
    private readonly log: AuditLog,
    private readonly dataEvents: boolean,
    private readonly onError: (error: unknown) => void = (error) => console.error(`shardline: audit record not written: ${String(error)}`),
  ) {}

  record(call: AuditedCall): void {
    const { eventName, eventSource } = serviceOf(call.operation);
    const data = DATA_EVENTS.has(eventName);
    if (data && !this.dataEvents) return;
    const failure = call.error === undefined ? null : describeError(call.error);
    const resources = resourcesOf(call.request);
    const record = auditRecord({
      userIdentity: identityOf(call.caller),
      eventName,
      ...(eventSource === undefined ? {} : { eventSource }),
      awsRegion: REGION,
      sourceIPAddress: call.origin.sourceIp,
      userAgent: call.userAgent ?? '',
      requestParameters: call.request === null ? null : { ...call.request },
      ...(failure === null ? {} : { errorCode: failure.code, errorMessage: failure.message }),
      requestID: randomUUID(),
      ...(resources.length === 0 ? {} : { resources }),
      recipientAccountId: ACCOUNT_ID,
      data,
    });
    this.log.append(record).catch(this.onError);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

function serviceOf(operation: string): { eventName: string; eventSource?: string } {
  if (operation.startsWith(FIREHOSE_PREFIX))
    return { eventName: operation.slice(FIREHOSE_PREFIX.length), eventSource: 'firehose.amazonaws.com' };
  if (LAMBDA_OPERATIONS.has(operation)) return { eventName: operation, eventSource: 'lambda.amazonaws.com' };
  if (operation.startsWith('Queries.'))
    return { eventName: operation.slice('Queries.'.length), eventSource: 'kinesisanalytics.amazonaws.com' };
  return { eventName: operation };
}

function identityOf(caller: AuditedCaller | null): AuditUserIdentity {
  if (caller === null) return { type: 'Anonymous', principalId: '', arn: '', accountId: ACCOUNT_ID };
  const { identity, accessKeyId } = caller;
  return {
    type: 'IAMUser',
    principalId: accessKeyId ?? identity.name,
    arn: identity.arn,
    accountId: identity.accountId,
    ...(accessKeyId === undefined ? {} : { accessKeyId }),
    userName: identity.name,
  };
}

function resourcesOf(request: Readonly<Record<string, unknown>> | null): AuditResource[] {
  if (request === null) return [];
  const consumer = request['ConsumerARN'];
  if (typeof consumer === 'string') return [{ ARN: consumer, accountId: ACCOUNT_ID, type: 'AWS::Kinesis::StreamConsumer' }];
  const arn =
    typeof request['StreamARN'] === 'string'
      ? request['StreamARN']
      : typeof request['StreamName'] === 'string'
        ? streamArn(request['StreamName'])
        : null;
  return arn === null ? [] : [{ ARN: arn, accountId: ACCOUNT_ID, type: 'AWS::Kinesis::Stream' }];
}
