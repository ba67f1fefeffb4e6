import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node.js';
import type { ShardlineClient } from '../src/client/client.js';
import { killAllClis, startCli, type CliProcess } from './helpers/cli.js';
import { filesContain } from './helpers/files.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: an encrypted stream keeps every acknowledged record through kill -9 of the server,
// across segment rolls, and its files hold none of them in plaintext. Method: `shardline serve`
// (fsync always) as a child process; StartStreamEncryption over the WebSocket CALL with the
// AWS-managed key; puts one at a time; SIGKILL; a restart on the same directory; every
// acknowledged record read back over the WebSocket, and the data directory searched byte for byte.

afterEach(killAllClis);

const STREAM = 'sealed';
const PUTS = 30;

async function serve(dataDir: string): Promise<{ process: CliProcess; url: string }> {
  const args = ['serve', '--port', '0', '--no-kinesis', '--data-dir', dataDir, '--workers', '1', '--segment-bytes', '16384'];
  const child = startCli(args);
  const url = (await child.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  return { process: child, url };
}

const secret = (i: number): string => `confidential-${i}-${'x'.repeat(900)}`;

async function readAll(client: ShardlineClient): Promise<string[]> {
  const { Shards } = await client.call('ListShards', { StreamName: STREAM });
  let next: string | undefined = (
    await client.call('GetShardIterator', { StreamName: STREAM, ShardId: Shards![0]!.ShardId!, ShardIteratorType: 'TRIM_HORIZON' })
  ).ShardIterator;
  const texts: string[] = [];
  for (let calls = 0; next !== undefined && calls < 100; calls++) {
    const page = await client.getRecords({ ShardIterator: next });
    texts.push(...page.Records.map((record) => Buffer.from(record.Data).toString()));
    if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
    next = page.NextShardIterator;
  }
  return texts;
}

describe('an encrypted stream and kill -9', () => {
  it('keeps every acknowledged record, none of them in plaintext on disk', async () => {
    const dataDir = tempDir();
    const first = await serve(dataDir);
    const client = await connect(first.url);
    await client.call('CreateStream', { StreamName: STREAM, ShardCount: 1 });
    await client.call('StartStreamEncryption', { StreamName: STREAM, EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    for (let i = 0; i < PUTS; i++) {
      const [result] = await client.putRecords(STREAM, [{ partitionKey: `k${i}`, data: Buffer.from(secret(i)) }]);
      expect(result).toHaveProperty('sequenceNumber');
    }
    client.close();
    first.process.child.kill('SIGKILL');
    await first.process.exited();
    for (let i = 0; i < PUTS; i += 7) expect(filesContain(dataDir, `confidential-${i}-`), `record ${i}`).toBe(false);
    const second = await serve(dataDir);
    const reader = await connect(second.url);
    try {
      expect(await readAll(reader)).toEqual(Array.from({ length: PUTS }, (_, i) => secret(i)));
      const summary = await reader.call('DescribeStreamSummary', { StreamName: STREAM });
      expect(summary.StreamDescriptionSummary).toMatchObject({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    } finally {
      reader.close();
    }
  });
});
