import fs from 'node:fs';
import { CreateDeliveryStreamCommand, FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, readAuditLog, verifyAuditLog } from '../../src/auth/audit_log.js';
import type { AuditRecord } from '../../src/auth/audit_record.js';
import { AuditTrail } from '../../src/auth/audit_trail.js';
import { withIdentity } from '../../src/auth/embedded.js';
import { connect } from '../../src/client/node.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { keyOf, rawCall, startSecureServers, writeCredentials, type SecureServers } from './fixtures.js';

// Goal: every door tells the audit log who did what: control-plane calls that succeed, that
// are refused by a policy, and that never got past their signature, with the identity, the
// source address and the error code; data-plane calls left out unless asked for; the chain
// verifies. Method: the real servers with auth on and an AuditTrail on a temporary directory;
// calls over the HTTP API (the SDK's signer), the WebSocket and an embedded handle; then the
// log read back with readAuditLog and checked with verifyAuditLog.

const root = suiteTempDir('shardline-audit-doors-');
let servers: SecureServers;
let trail: AuditTrail;
const auditDir = `${root.dir}/audit`;
beforeAll(async () => {
  const file = writeCredentials(root.dir, {
    admin: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    reader: [{ Effect: 'Allow', Action: 'kinesis:Describe*', Resource: '*' }],
  });
  fs.mkdirSync(`${root.dir}/data`);
  servers = await startSecureServers(`${root.dir}/data`, file);
  trail = new AuditTrail(await AuditLog.open({ directory: auditDir }), false);
  servers.access.auditTo(trail);
});
afterAll(async () => {
  await servers.stop();
  root.remove();
});

async function records(): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const record of readAuditLog(auditDir)) all.push(record);
  return all;
}

describe('the audit trail of every door', () => {
  it('records calls with their caller and outcome, refusals included, and leaves data events out', async () => {
    expect((await rawCall(servers.http.url, 'CreateStream', { StreamName: 'audited', ShardCount: 1 }, keyOf('admin'))).status).toBe(200);
    expect((await rawCall(servers.http.url, 'DeleteStream', { StreamName: 'audited' }, null)).type).toBe(
      'MissingAuthenticationTokenException',
    );
    const reader = await connect(servers.ws.url, { credentials: keyOf('reader') });
    await expect(reader.call('DeleteStream', { StreamName: 'audited' })).rejects.toMatchObject({ code: 'AccessDeniedException' });
    await reader.call('DescribeStreamSummary', { StreamName: 'audited' });
    reader.close();
    await expect(
      connect(servers.ws.url, { credentials: { ...keyOf('admin'), secretAccessKey: 'wrong-secret-0123456789' } }),
    ).rejects.toMatchObject({
      code: 'InvalidSignatureException',
    });
    const admin = withIdentity(servers.engine, { credentials: servers.access, accessKeyId: keyOf('admin').accessKeyId });
    await admin.putRecord({ StreamName: 'audited', PartitionKey: 'k', Data: Buffer.from('secret payload') });
    await admin.addTagsToStream({ StreamName: 'audited', Tags: { team: 'blue' } });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const seen = (await records()).map((record) => [record.eventName, record.userIdentity.userName ?? '-', record.errorCode ?? 'ok']);
    expect(seen).toEqual([
      ['CreateStream', 'admin', 'ok'],
      ['DeleteStream', '-', 'MissingAuthenticationTokenException'],
      ['DeleteStream', 'reader', 'AccessDeniedException'],
      ['DescribeStreamSummary', 'reader', 'ok'],
      ['Connect', '-', 'InvalidSignatureException'],
      ['AddTagsToStream', 'admin', 'ok'],
    ]);
    const [created] = await records();
    expect(created).toMatchObject({
      eventSource: 'kinesis.amazonaws.com',
      sourceIPAddress: expect.stringMatching(/127\.0\.0\.1/) as unknown,
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::000000000000:user/admin', accessKeyId: keyOf('admin').accessKeyId },
      readOnly: false,
      managementEvent: true,
      resources: [{ ARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/audited', type: 'AWS::Kinesis::Stream' }],
    });
    expect(
      fs
        .readdirSync(auditDir)
        .map((name) => fs.readFileSync(`${auditDir}/${name}`, 'utf8'))
        .join(''),
    ).not.toContain('secret payload');
    expect((await verifyAuditLog(auditDir)).problem).toBeUndefined();
  });

  it("records the family's calls on the HTTP port under their own services, without record data", async () => {
    const before = (await records()).length;
    const firehose = new FirehoseClient({ endpoint: servers.http.url, region: 'us-east-1', credentials: keyOf('admin'), maxAttempts: 1 });
    const lambda = new LambdaClient({
      endpoint: servers.http.url,
      region: 'us-east-1',
      credentials: keyOf('admin'),
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    try {
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: 'audited-delivery',
          ExtendedS3DestinationConfiguration: { RoleARN: 'arn:aws:iam::000000000000:role/f', BucketARN: 'arn:aws:s3:::audited' },
        }),
      );
      await firehose.send(
        new PutRecordCommand({ DeliveryStreamName: 'audited-delivery', Record: { Data: Buffer.from('secret payload') } }),
      );
      await lambda.send(new ListEventSourceMappingsCommand({}));
    } finally {
      firehose.destroy();
      lambda.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const added = (await records()).slice(before);
    expect(added.map((record) => [record.eventSource, record.eventName, record.userIdentity.userName])).toEqual([
      ['firehose.amazonaws.com', 'CreateDeliveryStream', 'admin'],
      ['lambda.amazonaws.com', 'ListEventSourceMappings', 'admin'],
    ]);
    expect(JSON.stringify(await records())).not.toContain(Buffer.from('secret payload').toString('base64'));
    expect((await verifyAuditLog(auditDir)).problem).toBeUndefined();
  });
});
