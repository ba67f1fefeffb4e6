import { randomUUID } from 'node:crypto';

/*
 * One audit record: a CloudTrail event record (kinesis-family.md §7.4, CloudTrail's "record
 * contents" page) with CloudTrail's field names, types and order, so tools that read CloudTrail
 * JSON read ours. The log that keeps them is audit_log.ts.
 *
 * CloudTrail never logs payloads: requestParameters and responseElements go through
 * withoutRecordData, which drops every `Data` member (of the request and of each entry of its
 * `Records`) and keeps the rest, so a PutRecords event still shows how many records it carried
 * and their partition keys. Member names are written as CloudTrail writes them, first letter
 * lower-cased (`StreamName` -> `streamName`), at the top level and in `Records` entries; deeper
 * maps (a Tags map's keys are the user's) are kept as given.
 */

export interface AuditUserIdentity {
  type: 'IAMUser' | 'AssumedRole' | 'Anonymous' | 'AWSService';
  principalId: string;
  arn: string;
  accountId: string;
  accessKeyId?: string;
  userName?: string;
}

export interface AuditResource {
  ARN: string;
  accountId: string;
  type: 'AWS::Kinesis::Stream' | 'AWS::Kinesis::StreamConsumer';
}

export interface AuditTlsDetails {
  tlsVersion: string;
  cipherSuite: string;
  clientProvidedHostHeader: string;
}

/** CloudTrail's names and types, in CloudTrail's order. */
export interface AuditRecord {
  eventVersion: '1.11';
  userIdentity: AuditUserIdentity;
  /** ISO 8601, seconds precision, UTC: 2014-04-19T00:16:31Z. */
  eventTime: string;
  /** 'kinesis.amazonaws.com'. */
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources?: AuditResource[];
  eventType: 'AwsApiCall';
  managementEvent: boolean;
  recipientAccountId: string;
  eventCategory: 'Management' | 'Data';
  tlsDetails?: AuditTlsDetails;
}

/** What only the caller knows of an event; auditRecord fills in the rest. */
export interface AuditRecordInput {
  readonly userIdentity: AuditUserIdentity;
  /** The operation's name: PutRecords, DescribeStream. */
  readonly eventName: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
  /** The operation's input as it arrived; record data is dropped (withoutRecordData). */
  readonly requestParameters: Record<string, unknown> | null;
  /** The output CloudTrail logs (null for most operations, and for every failure); record data is dropped. Default null. */
  readonly responseElements?: Record<string, unknown> | null;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestID: string;
  readonly resources?: readonly AuditResource[];
  /** The account that owns the resource (the server's account). */
  readonly recipientAccountId: string;
  /** A data event (PutRecord, GetRecords, ...: opt-in in CloudTrail) or a management event. */
  readonly data: boolean;
  readonly tlsDetails?: AuditTlsDetails;
  /** Default 'kinesis.amazonaws.com'. */
  readonly eventSource?: string;
  /** When the request arrived, epoch milliseconds. Default now. */
  readonly eventTimeMs?: number;
}

export const AUDIT_EVENT_VERSION = '1.11';
export const KINESIS_EVENT_SOURCE = 'kinesis.amazonaws.com';

/** The read-only operations: they change nothing (CloudTrail's readOnly). */
const READ_ONLY_OPERATION = /^(Describe|List|Get)[A-Z]|^SubscribeToShard$/;

export function isReadOnlyOperation(eventName: string): boolean {
  return READ_ONLY_OPERATION.test(eventName);
}

/** An ISO 8601 time in whole seconds, as CloudTrail writes eventTime. */
export function eventTimeText(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export function auditRecord(input: AuditRecordInput): AuditRecord {
  // Built member by member in CloudTrail's order; optional members only when given.
  return {
    eventVersion: AUDIT_EVENT_VERSION,
    userIdentity: { ...input.userIdentity },
    eventTime: eventTimeText(input.eventTimeMs ?? Date.now()),
    eventSource: input.eventSource ?? KINESIS_EVENT_SOURCE,
    eventName: input.eventName,
    awsRegion: input.awsRegion,
    sourceIPAddress: input.sourceIPAddress,
    userAgent: input.userAgent,
    requestParameters: withoutRecordData(input.requestParameters),
    responseElements: withoutRecordData(input.responseElements ?? null),
    ...(input.errorCode === undefined ? {} : { errorCode: input.errorCode }),
    ...(input.errorMessage === undefined ? {} : { errorMessage: input.errorMessage }),
    requestID: input.requestID,
    eventID: randomUUID(),
    readOnly: isReadOnlyOperation(input.eventName),
    ...(input.resources === undefined ? {} : { resources: input.resources.map((resource) => ({ ...resource })) }),
    eventType: 'AwsApiCall',
    managementEvent: !input.data,
    recipientAccountId: input.recipientAccountId,
    eventCategory: input.data ? 'Data' : 'Management',
    ...(input.tlsDetails === undefined ? {} : { tlsDetails: { ...input.tlsDetails } }),
  };
}

/**
 * Request parameters (or response elements) as CloudTrail logs them: without any `Data` member,
 * top-level or in an entry of `Records`, member names' first letter lower-cased there.
 */
export function withoutRecordData(members: Record<string, unknown> | null): Record<string, unknown> | null {
  if (members === null) return null;
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(members)) {
    if (isDataMember(name)) continue;
    kept[cloudTrailName(name)] =
      isRecordsMember(name) && Array.isArray(value)
        ? value.map((entry: unknown) => (isMap(entry) ? withoutRecordData(entry) : entry))
        : isRecordMember(name) && isMap(value)
          ? withoutRecordData(value)
          : value;
  }
  return kept;
}

/**
 * Why `value` is not an audit record this log may hold, or null if it is one: the members every
 * record has, of the right types, and no record data. The writer checks a record with this
 * before writing it and the reader after reading it.
 */
export function auditRecordProblem(value: unknown): string | null {
  if (!isMap(value)) return 'the record is not a JSON object';
  for (const name of STRING_MEMBERS) if (typeof value[name] !== 'string') return `the record's ${name} is not a string`;
  for (const name of BOOLEAN_MEMBERS) if (typeof value[name] !== 'boolean') return `the record's ${name} is not a boolean`;
  const identity = value['userIdentity'];
  if (!isMap(identity) || typeof identity['type'] !== 'string') return "the record's userIdentity is not an object with a type";
  for (const name of ['requestParameters', 'responseElements'] as const) {
    const members = value[name];
    if (members !== null && !isMap(members)) return `the record's ${name} is neither an object nor null`;
    if (members !== null && holdsRecordData(members)) return `the record's ${name} holds record data (a Data member)`;
  }
  return null;
}

const STRING_MEMBERS = [
  'eventVersion',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'requestID',
  'eventID',
  'eventType',
  'recipientAccountId',
  'eventCategory',
] as const;
const BOOLEAN_MEMBERS = ['readOnly', 'managementEvent'] as const;

function holdsRecordData(members: Record<string, unknown>): boolean {
  return Object.entries(members).some(
    ([name, value]) =>
      isDataMember(name) ||
      (isRecordsMember(name) && Array.isArray(value) && value.some((entry) => isMap(entry) && holdsRecordData(entry))),
  );
}

function isDataMember(name: string): boolean {
  return name === 'Data' || name === 'data';
}

/** Firehose's PutRecord holds its one record as `Record`. */
function isRecordMember(name: string): boolean {
  return name === 'Record' || name === 'record';
}

function isRecordsMember(name: string): boolean {
  return name === 'Records' || name === 'records';
}

function cloudTrailName(name: string): string {
  return name.length === 0 ? name : name[0]!.toLowerCase() + name.slice(1);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}
