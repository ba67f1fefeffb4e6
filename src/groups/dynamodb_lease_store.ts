import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '../errors.js';
import { sleep } from './record_source.js';
import { corruptLease, parseLease, type Lease, type LeaseExpectation, type LeaseStore } from './lease.js';

/*
 * A group's leases in a DynamoDB table in the KCL's lease-table schema
 * (../shared/reference/kinesis-family.md §1.1): HASH key leaseKey (S), the attributes named and
 * typed as the KCL's DynamoDBLeaseSerializer writes them (parentShardId a string set under its
 * singular name, pendingCheckpointState binary), so a table is readable by KCL tooling and the
 * same group can move from shardline to AWS. Writes are UpdateItem with SET and REMOVE of the
 * lease's own attributes only: what another writer keeps on the item (KCL 3's throughputKBps,
 * checkpointOwner) is left as it was.
 */

export interface DynamoDBLeaseStoreOptions {
  /** The KCL's table name is the application's name. */
  readonly tableName: string;
  /** e.g. http://127.0.0.1:8000 for a local emulator; omitted for AWS (the region's endpoint). */
  readonly endpoint?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default: the SDK's provider chain (environment, profile, ...). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** A client of the caller's instead (its own retries, TLS and credentials settings kept). */
  readonly client?: DynamoDBClient;
  /** How long prepare() waits for a table it created to become ACTIVE. Default 60 s (AWS takes seconds). */
  readonly tableActiveTimeoutMillis?: number;
}

type Kind = 'S' | 'N' | 'SS' | 'B';

/** Every attribute of a Lease with its DynamoDB type; leaseKey is the key. */
const ATTRIBUTES: Readonly<Record<Exclude<keyof Lease, 'leaseKey'>, Kind>> = {
  leaseOwner: 'S',
  leaseCounter: 'N',
  checkpoint: 'S',
  checkpointSubSequenceNumber: 'N',
  ownerSwitchesSinceCheckpoint: 'N',
  checkpointTimestampMillis: 'N',
  parentShardId: 'SS',
  childShardIds: 'SS',
  pendingCheckpoint: 'S',
  pendingCheckpointSubSequenceNumber: 'N',
  pendingCheckpointState: 'B',
  startingHashKey: 'S',
  endingHashKey: 'S',
};
const NAMES = Object.keys(ATTRIBUTES) as (keyof typeof ATTRIBUTES)[];
const TABLE_POLL_MS = 200;

export class DynamoDBLeaseStore implements LeaseStore {
  readonly tableName: string;
  readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDBLeaseStoreOptions) {
    this.tableName = options.tableName;
    this.client =
      options.client ??
      new DynamoDBClient({
        region: options.region ?? 'us-east-1',
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      });
  }

  /** Creates the table as the KCL does (PAY_PER_REQUEST) if it does not exist, and waits until it is ACTIVE. */
  async prepare(): Promise<void> {
    if ((await this.tableStatus()) === null) {
      await this.client
        .send(
          new CreateTableCommand({
            TableName: this.tableName,
            KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        )
        .catch((error: unknown) => {
          // Another worker created it first.
          if ((error as Error).name !== 'ResourceInUseException') throw error;
        });
    }
    const deadline = performance.now() + (this.options.tableActiveTimeoutMillis ?? 60_000);
    for (let status = await this.tableStatus(); status !== 'ACTIVE'; status = await this.tableStatus()) {
      if (performance.now() > deadline) throw new Error(`DynamoDB table ${this.tableName} is ${status ?? 'missing'}, not ACTIVE`);
      await sleep(TABLE_POLL_MS);
    }
  }

  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }),
      );
      leases.push(...(page.Items ?? []).map((item) => this.lease(item)));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return leases;
  }

  async get(leaseKey: string): Promise<Lease | null> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }),
    );
    return Item === undefined ? null : this.lease(Item);
  }

  async create(lease: Lease): Promise<void> {
    await conditional(
      this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: item(lease), ConditionExpression: 'attribute_not_exists(leaseKey)' }),
      ),
      `lease ${lease.leaseKey} exists`,
    );
  }

  async update(lease: Lease, expected: LeaseExpectation): Promise<void> {
    const values = item(lease);
    const set = NAMES.filter((name) => values[name] !== undefined);
    const remove = NAMES.filter((name) => values[name] === undefined);
    const condition = expectation(expected);
    await conditional(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: lease.leaseKey } },
          UpdateExpression: [
            `SET ${set.map((name) => `#${name} = :${name}`).join(', ')}`,
            ...(remove.length === 0 ? [] : [`REMOVE ${remove.map((name) => `#${name}`).join(', ')}`]),
          ].join(' '),
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: { ...condition.names, ...Object.fromEntries(NAMES.map((name) => [`#${name}`, name])) },
          ExpressionAttributeValues: { ...condition.values, ...Object.fromEntries(set.map((name) => [`:${name}`, values[name]!])) },
        }),
      ),
      `lease ${lease.leaseKey} is not at counter ${expected.leaseCounter} with owner ${expected.leaseOwner ?? '(none)'}`,
    );
  }

  async delete(leaseKey: string, expected: LeaseExpectation): Promise<void> {
    const condition = expectation(expected);
    await conditional(
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { leaseKey: { S: leaseKey } },
          ConditionExpression: condition.expression,
          ExpressionAttributeNames: condition.names,
          ExpressionAttributeValues: condition.values,
        }),
      ),
      `lease ${leaseKey} is not at counter ${expected.leaseCounter} with owner ${expected.leaseOwner ?? '(none)'}`,
    );
  }

  /** A client of the caller's is theirs to destroy. */
  close(): void {
    if (this.options.client === undefined) this.client.destroy();
  }

  private async tableStatus(): Promise<string | null> {
    try {
      const { Table } = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return Table?.TableStatus ?? null;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return null;
      throw error;
    }
  }

  /** An item that is no lease (a wrong type, a missing attribute) is CorruptLease, never read as a fresh one. */
  private lease(stored: Record<string, AttributeValue>): Lease {
    const where = `DynamoDB table ${this.tableName}, item ${stored['leaseKey']?.S ?? JSON.stringify(stored['leaseKey'])}`;
    const fail = corruptLease(where);
    const fields: Record<string, unknown> = { leaseKey: stored['leaseKey']?.S };
    for (const name of NAMES) {
      const value = stored[name];
      if (value === undefined) continue;
      const kind = ATTRIBUTES[name];
      if (!(kind in value)) throw fail(`${name} is not of type ${kind}`);
      fields[name] = fromAttribute(kind, value);
    }
    return parseLease(fields, fail);
  }
}

/** The lease as a DynamoDB item; an empty set is left out (DynamoDB has none), as the KCL does. */
function item(lease: Lease): Record<string, AttributeValue> {
  const stored: Record<string, AttributeValue> = { leaseKey: { S: lease.leaseKey } };
  for (const name of NAMES) {
    const value = lease[name];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    stored[name] = toAttribute(ATTRIBUTES[name], value);
  }
  return stored;
}

function toAttribute(kind: Kind, value: string | number | readonly string[]): AttributeValue {
  switch (kind) {
    case 'S':
      return { S: value as string };
    case 'N':
      return { N: String(value) };
    case 'SS':
      return { SS: [...(value as readonly string[])] };
    case 'B':
      return { B: Buffer.from(value as string, 'base64') };
  }
}

/** The JavaScript value of an attribute; a number that is not a whole one is left for parseLease to refuse. */
function fromAttribute(kind: Kind, value: AttributeValue): unknown {
  switch (kind) {
    case 'S':
      return value.S;
    case 'N':
      return Number(value.N);
    case 'SS':
      return value.SS;
    case 'B':
      return Buffer.from(value.B!).toString('base64');
  }
}

function expectation(expected: LeaseExpectation): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
} {
  const names = { '#leaseCounter': 'leaseCounter', '#leaseOwner': 'leaseOwner' };
  const counter = { ':expectedCounter': { N: String(expected.leaseCounter) } };
  return expected.leaseOwner === null
    ? { expression: '#leaseCounter = :expectedCounter AND attribute_not_exists(#leaseOwner)', names, values: counter }
    : {
        expression: '#leaseCounter = :expectedCounter AND #leaseOwner = :expectedOwner',
        names,
        values: { ...counter, ':expectedOwner': { S: expected.leaseOwner } },
      };
}

/** DynamoDB's refusal of a condition as shardline's typed error, which the worker knows as a lost race. */
async function conditional(call: Promise<unknown>, problem: string): Promise<void> {
  await call.catch((error: unknown) => {
    if ((error as Error).name === 'ConditionalCheckFailedException') throw new ConditionalCheckFailedException(problem);
    throw error;
  });
}
