import fs from 'node:fs';
import { KinesisClient, ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withIdentity, type EngineOperations } from '../../src/auth/embedded.js';
import { EngineLeaseStore, EngineSource } from '../../src/groups/embedded.js';
import { GroupWorker } from '../../src/groups/worker.js';
import { connect, type ShardlineClient } from '../../src/client/node.js';
import { AccessDeniedException, InvalidCredentialsFileError, UnrecognizedClientException } from '../../src/errors.js';
import { INPUT_SHAPES } from '../../src/streams/input_shapes.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { keyOf, rawCall, startSecureServers, streamArnOf, writeCredentials, type SecureServers, type Statement } from './fixtures.js';

// Goal: with auth on, nothing gets in without a valid identity and an allowing policy, on every
// door: every operation of the HTTP API refused unsigned, with a wrong secret and with an unknown
// key; the WebSocket refused at its HELLO likewise; one policy matrix (allow, explicit deny,
// default deny, wildcards, NotAction, conditions on resource tags, source address and TLS)
// decided alike on the embedded handle, the WebSocket CALL and the HTTP API; a refusal changes
// nothing; the real AWS SDK signs its way in (HTTP/2) and is refused with a wrong secret or a
// skewed clock. Method: a real engine, the real WebSocket and HTTP servers on free ports with a
// credentials file written by the test; the SDK's own signer for raw requests.

const ORDERS = streamArnOf('orders');
const IDENTITIES: Record<string, Statement[]> = {
  admin: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  writer: [
    { Effect: 'Allow', Action: ['kinesis:PutRecord*', 'kinesis:Describe*', 'kinesis:ListShards'], Resource: streamArnOf('orders*') },
    { Sid: 'Frozen', Effect: 'Deny', Action: 'kinesis:PutRecord*', Resource: streamArnOf('orders-frozen') },
  ],
  reader: [
    { Effect: 'Allow', Action: ['kinesis:Get*', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'], Resource: ORDERS },
    { Effect: 'Allow', Action: ['kinesis:SubscribeToShard', 'kinesis:DescribeStreamConsumer'], Resource: `${ORDERS}/consumer/*` },
  ],
  tagged: [{ Effect: 'Allow', Action: 'kinesis:*', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'blue' } } }],
  elsewhere: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }],
  tlsonly: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
  nodelete: [{ Effect: 'Allow', NotAction: ['kinesis:DeleteStream', 'kinesis:PutRecord*'], Resource: '*' }],
};

const root = suiteTempDir('shardline-auth-doors-');
let servers: SecureServers;
let credentialsFile = '';
let consumerArn = '';
beforeAll(async () => {
  credentialsFile = writeCredentials(root.dir, IDENTITIES);
  fs.mkdirSync(`${root.dir}/data`);
  servers = await startSecureServers(`${root.dir}/data`, credentialsFile);
  const { engine } = servers;
  await engine.createStream({ StreamName: 'orders', ShardCount: 1, Tags: { team: 'blue' } });
  await engine.createStream({ StreamName: 'orders-frozen', ShardCount: 1 });
  await engine.createStream({ StreamName: 'other', ShardCount: 1, Tags: { team: 'red' } });
  consumerArn = (await engine.registerStreamConsumer({ StreamARN: ORDERS, ConsumerName: 'c1' })).Consumer.ConsumerARN;
});
afterAll(async () => {
  await servers.stop();
  root.remove();
});

/** How many records a one-shard stream holds (a refused put must leave it as it was). */
async function recordCount(stream: string): Promise<number> {
  const { engine } = servers;
  const shardId = engine.listShards({ StreamName: stream }).Shards[0]!.ShardId;
  const { ShardIterator } = await engine.getShardIterator({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  return (await engine.getRecords({ ShardIterator: ShardIterator! })).Records.length;
}

type Door = 'embedded' | 'websocket' | 'http';
type Outcome = 'allowed' | string;

const handles = new Map<string, EngineOperations>();
const clients = new Map<string, ShardlineClient>();
afterAll(() => clients.forEach((client) => client.close()));

async function attempt(
  door: Door,
  identity: string,
  operation: string,
  request: Record<string, unknown>,
): Promise<{ outcome: Outcome; message: string }> {
  try {
    if (door === 'http') {
      const answer = await rawCall(servers.http.url, operation, request, keyOf(identity));
      return answer.status === 200 ? { outcome: 'allowed', message: '' } : { outcome: answer.type, message: answer.message };
    }
    if (door === 'websocket') {
      if (!clients.has(identity)) clients.set(identity, await connect(servers.ws.url, { credentials: keyOf(identity) }));
      await clients.get(identity)!.callNamed(operation, request);
    } else {
      if (!handles.has(identity))
        handles.set(identity, withIdentity(servers.engine, { credentials: servers.access, accessKeyId: keyOf(identity).accessKeyId }));
      const method = (operation[0]!.toLowerCase() + operation.slice(1)) as keyof EngineOperations;
      const data = typeof request['Data'] === 'string' ? { Data: Buffer.from(request['Data'], 'base64') } : {};
      await (handles.get(identity)![method] as (request: unknown) => unknown)({ ...request, ...data });
    }
    return { outcome: 'allowed', message: '' };
  } catch (error) {
    return { outcome: (error as { code?: string }).code ?? String(error), message: (error as Error).message };
  }
}

const put = (stream: string) => ({ StreamName: stream, PartitionKey: 'k', Data: Buffer.from('x').toString('base64') });

/** [identity, operation, request, allowed]: each row decided alike on every door (the embedded one counts as secure transport). */
const MATRIX: [string, string, () => Record<string, unknown>, boolean | Door][] = [
  ['writer', 'PutRecord', () => put('orders'), true],
  ['writer', 'PutRecord', () => put('orders-frozen'), false],
  ['writer', 'PutRecord', () => put('other'), false],
  ['writer', 'DescribeStreamSummary', () => ({ StreamName: 'orders-frozen' }), true],
  ['writer', 'ListStreams', () => ({}), false],
  ['admin', 'ListStreams', () => ({}), true],
  ['reader', 'ListShards', () => ({ StreamName: 'orders' }), true],
  ['reader', 'PutRecord', () => put('orders'), false],
  ['reader', 'DescribeStreamConsumer', () => ({ ConsumerARN: consumerArn }), true],
  ['reader', 'DescribeStreamSummary', () => ({ StreamName: 'other' }), false],
  ['tagged', 'DescribeStreamSummary', () => ({ StreamName: 'orders' }), true],
  ['tagged', 'DescribeStreamSummary', () => ({ StreamName: 'other' }), false],
  ['elsewhere', 'DescribeStreamSummary', () => ({ StreamName: 'orders' }), false],
  ['tlsonly', 'DescribeStreamSummary', () => ({ StreamName: 'orders' }), 'embedded'],
  ['nodelete', 'DescribeStreamSummary', () => ({ StreamName: 'other' }), true],
  ['nodelete', 'DeleteStream', () => ({ StreamName: 'other' }), false],
];

describe.each(['embedded', 'websocket', 'http'] as const)('the policy matrix on the %s door', (door) => {
  it.each(MATRIX.map((row, index) => [index, ...row] as const))('row %i: %s %s', async (_index, identity, operation, request, allowed) => {
    const stream = String(request()['StreamName'] ?? '');
    const before = operation === 'PutRecord' ? await recordCount(stream) : 0;
    const { outcome, message } = await attempt(door, identity, operation, request());
    if (allowed === true || allowed === door) expect(outcome).toBe('allowed');
    else {
      expect(outcome).toBe('AccessDeniedException');
      expect(message).toMatch(
        new RegExp(
          `^User: arn:aws:iam::000000000000:user/${identity} is not authorized to perform: kinesis:${operation} on resource: (\\*|arn:aws:kinesis:)`,
        ),
      );
      if (operation === 'PutRecord') expect(await recordCount(stream)).toBe(before);
    }
  });
});

describe('refusals before any policy', () => {
  const SHAPES = Object.keys(INPUT_SHAPES);

  it('answers every HTTP operation unsigned, with a wrong secret and with an unknown key, and changes nothing', async () => {
    const streams = servers.engine.listStreams().StreamNames;
    const wrong = { ...keyOf('admin'), secretAccessKey: 'not-the-secret-0123456789' };
    const unknown = keyOf('nobody');
    for (const operation of SHAPES) {
      const request = { StreamName: 'other' };
      expect((await rawCall(servers.http.url, operation, request, null)).type, operation).toBe('MissingAuthenticationTokenException');
      expect((await rawCall(servers.http.url, operation, request, wrong)).type, operation).toBe('InvalidSignatureException');
      expect((await rawCall(servers.http.url, operation, request, unknown)).type, operation).toBe('UnrecognizedClientException');
    }
    expect(servers.engine.listStreams().StreamNames).toEqual(streams);
  });

  it('refuses the WebSocket at HELLO with the typed error, and an unknown key on the embedded door', async () => {
    await expect(connect(servers.ws.url)).rejects.toMatchObject({ code: 'MissingAuthenticationTokenException' });
    await expect(
      connect(servers.ws.url, { credentials: { ...keyOf('admin'), secretAccessKey: 'wrong-secret-0123456789' } }),
    ).rejects.toMatchObject({
      code: 'InvalidSignatureException',
    });
    await expect(connect(servers.ws.url, { credentials: keyOf('nobody') })).rejects.toMatchObject({ code: 'UnrecognizedClientException' });
    expect(() => withIdentity(servers.engine, { credentials: servers.access, accessKeyId: keyOf('nobody').accessKeyId })).toThrow(
      UnrecognizedClientException,
    );
  });

  it('authorizes the binary frames: PUT, GET_RECORDS and SUBSCRIBE', async () => {
    const writer = await connect(servers.ws.url, { credentials: keyOf('writer') });
    const reader = await connect(servers.ws.url, { credentials: keyOf('reader') });
    try {
      await writer.putRecords('orders', [{ partitionKey: 'k', data: new Uint8Array([1]) }]);
      await expect(reader.putRecords('orders', [{ partitionKey: 'k', data: new Uint8Array([1]) }])).rejects.toBeInstanceOf(
        AccessDeniedException,
      );
      const shardId = servers.engine.listShards({ StreamName: 'orders' }).Shards[0]!.ShardId;
      const { ShardIterator } = await reader.call('GetShardIterator', {
        StreamName: 'orders',
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      });
      expect((await reader.getRecords({ ShardIterator: ShardIterator! })).Records.length).toBeGreaterThan(0);
      await expect(writer.getRecords({ ShardIterator: ShardIterator! })).rejects.toBeInstanceOf(AccessDeniedException);
      const subscription = await reader.subscribeToShard({
        ConsumerARN: consumerArn,
        ShardId: shardId,
        StartingPosition: { Type: 'TRIM_HORIZON' },
      });
      subscription.cancel();
      await expect(
        writer.subscribeToShard({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: { Type: 'TRIM_HORIZON' } }),
      ).rejects.toBeInstanceOf(AccessDeniedException);
    } finally {
      writer.close();
      reader.close();
    }
  });
});

describe('the real AWS SDK (HTTP/2, which signs :authority as host)', () => {
  const client = (secretAccessKey: string, systemClockOffset = 0): KinesisClient =>
    new KinesisClient({
      endpoint: servers.http.url,
      region: 'us-east-1',
      credentials: { accessKeyId: keyOf('admin').accessKeyId, secretAccessKey },
      maxAttempts: 1,
      systemClockOffset,
    });

  it('signs its way in with the right secret, and is refused with a wrong one or a clock 10 minutes off', async () => {
    const right = client(keyOf('admin').secretAccessKey);
    const wrong = client('not-the-secret-0123456789');
    const ahead = client(keyOf('admin').secretAccessKey, 10 * 60_000);
    try {
      expect((await right.send(new ListStreamsCommand({}))).StreamNames).toContain('orders');
      await expect(wrong.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
      await expect(
        ahead.send(new PutRecordCommand({ StreamName: 'orders', PartitionKey: 'k', Data: new Uint8Array([1]) })),
      ).rejects.toMatchObject({
        name: 'InvalidSignatureException',
        message: expect.stringMatching(/^Signature not yet current: /) as unknown,
      });
    } finally {
      for (const sdk of [right, wrong, ahead]) sdk.destroy();
    }
  });
});

describe('reloading the credentials file', () => {
  it('takes a new key, and keeps the identities loaded before when the file is broken', async () => {
    const file = writeCredentials(root.dir, { ...IDENTITIES, late: [{ Effect: 'Allow', Action: 'kinesis:ListStreams', Resource: '*' }] });
    const { AccessControl } = await import('../../src/auth/access_control.js');
    const access = AccessControl.fromFile(servers.engine, file);
    expect(() => access.callerOf(keyOf('late').accessKeyId)).not.toThrow();
    fs.writeFileSync(file, '{ "version": 1, "identities": [ { "name": "x" ');
    expect(() => access.reload()).toThrow(InvalidCredentialsFileError);
    expect(access.callerOf(keyOf('late').accessKeyId).identity.name).toBe('late');
    writeCredentials(root.dir, IDENTITIES);
    access.reload();
    expect(() => access.callerOf(keyOf('late').accessKeyId)).toThrow(UnrecognizedClientException);
  });
});

describe('a consumer group acting as an identity (embedded)', () => {
  async function runGroup(identity: string): Promise<{ processed: number; errors: string[] }> {
    const handle = withIdentity(servers.engine, { credentials: servers.access, accessKeyId: keyOf(identity).accessKeyId });
    const errors: string[] = [];
    let processed = 0;
    const worker = new GroupWorker({
      groupName: `group-${identity}`,
      source: new EngineSource(handle, 'orders', { retrieval: 'polling', idleTimeBetweenReadsMillis: 20 }),
      leases: new EngineLeaseStore(servers.engine, `group-${identity}`, 'orders'),
      initialPosition: 'TRIM_HORIZON',
      failoverTimeMillis: 600,
      processor: () => ({
        initialize: () => undefined,
        processRecords: ({ records }) => void (processed += records.length),
        leaseLost: () => undefined,
        shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: () => undefined,
      }),
      onError: (error) => errors.push((error as { code?: string }).code ?? String(error)),
    });
    try {
      await worker.start();
      const deadline = Date.now() + 10_000;
      while (processed === 0 && errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    } catch (error) {
      errors.push((error as { code?: string }).code ?? String(error));
    } finally {
      await worker.shutdown();
    }
    return { processed, errors };
  }

  it("reads with the reader's policies, and is refused what they do not allow", async () => {
    await servers.engine.putRecord({ StreamName: 'orders', PartitionKey: 'g', Data: Buffer.from('for the group') });
    const reader = await runGroup('reader');
    expect(reader.processed).toBeGreaterThan(0);
    expect(reader.errors).toEqual([]);
    const writer = await runGroup('writer');
    expect(writer.processed).toBe(0);
    expect(writer.errors).toContain('AccessDeniedException');
  });
});
