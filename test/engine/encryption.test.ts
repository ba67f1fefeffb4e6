import fs from 'node:fs';
import path from 'node:path';
import { DescribeStreamSummaryCommand, KinesisClient, PutRecordCommand, StartStreamEncryptionCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { CorruptLogError, InvalidArgumentException, KMSDisabledException, KMSNotFoundException } from '../../src/errors.js';
import { checksum } from '../../src/log/checksum.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { filesContain } from '../helpers/files.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: streams encrypted at rest (docs/SECURITY.md): StartStreamEncryption with a KeyId of
// the engine's key store, after which the data directory holds no plaintext of a record put,
// while every record (before and after) reads back through GetRecords and a subscription, also
// after a restart; DescribeStream and PutRecord say KMS; a disabled key refuses puts and reads
// with KMSDisabledException until it is enabled again; StopStreamEncryption; the AWS SDK does
// the same through the HTTP API. Method: a real engine on a temporary directory, the real HTTP
// server for the SDK, the data directory's files read byte for byte.

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

async function openEngine(dataDir: string): Promise<Engine> {
  engine = await Engine.open({ dataDir, fsync: 'never', enforceLimits: false, workers: 1 });
  return engine;
}

async function readAll(target: Engine, stream: string): Promise<string[]> {
  const texts: string[] = [];
  for (const { ShardId } of target.listShards({ StreamName: stream }).Shards) {
    let iterator: string | undefined = (await target.getShardIterator({ StreamName: stream, ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
      .ShardIterator;
    for (let calls = 0; calls < 50 && iterator !== undefined; calls++) {
      const page = await target.getRecords({ ShardIterator: iterator });
      texts.push(...page.Records.map((record) => Buffer.from(record.Data).toString()));
      if (page.Records.length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return texts.sort();
}

const put = (target: Engine, stream: string, text: string) =>
  target.putRecord({ StreamName: stream, PartitionKey: `key-${text}`, Data: Buffer.from(text) });

describe('encryption at rest', () => {
  it('encrypts what is put after StartStreamEncryption, reads everything back, also after a restart', async () => {
    const dataDir = tempDir();
    const first = await openEngine(dataDir);
    await first.createStream({ StreamName: 'orders', ShardCount: 2 });
    await put(first, 'orders', 'plain-before');
    const key = await (await first.keyStore()).createKey({ alias: 'alias/orders' });
    await first.startStreamEncryption({ StreamName: 'orders', EncryptionType: 'KMS', KeyId: 'alias/orders' });
    expect(first.describeStreamSummary({ StreamName: 'orders' }).StreamDescriptionSummary).toMatchObject({
      EncryptionType: 'KMS',
      KeyId: 'alias/orders',
    });
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}`);
    for (const secret of secrets) expect((await put(first, 'orders', secret)).EncryptionType).toBe('KMS');
    expect(await readAll(first, 'orders')).toEqual(['plain-before', ...secrets].sort());
    const { Consumer } = await first.registerStreamConsumer({
      StreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/orders`,
      ConsumerName: 'c',
    });
    const shardId = first.listShards({ StreamName: 'orders' }).Shards[0]!.ShardId;
    const events = first.subscribeToShard({
      ConsumerARN: Consumer.ConsumerARN,
      ShardId: shardId,
      StartingPosition: { Type: 'TRIM_HORIZON' },
    });
    const seen: string[] = [];
    for await (const event of events) {
      seen.push(...event.Records.map((record) => Buffer.from(record.Data).toString()));
      if (event.Records.length > 0) break;
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((text) => text === 'plain-before' || secrets.includes(text))).toBe(true);
    await first.close();
    engine = undefined;
    expect(filesContain(dataDir, 'plain-before')).toBe(true);
    for (const secret of secrets) expect(filesContain(dataDir, secret), secret).toBe(false);
    expect(filesContain(dataDir, 'key-secret-1')).toBe(false);
    const again = await openEngine(dataDir);
    expect(await readAll(again, 'orders')).toEqual(['plain-before', ...secrets].sort());
    expect((await again.keyStore()).describeKey(key.KeyId).KeyState).toBe('Enabled');
  });

  it('refuses puts and reads while the key is disabled, and plaintext again after StopStreamEncryption', async () => {
    const target = await openEngine(tempDir());
    await target.createStream({ StreamName: 'guarded', ShardCount: 1 });
    const store = await target.keyStore();
    const key = await store.createKey();
    await target.startStreamEncryption({ StreamName: 'guarded', EncryptionType: 'KMS', KeyId: key.Arn });
    await put(target, 'guarded', 'sealed');
    await store.disableKey(key.KeyId);
    await expect(put(target, 'guarded', 'refused')).rejects.toBeInstanceOf(KMSDisabledException);
    await expect(readAll(target, 'guarded')).rejects.toBeInstanceOf(KMSDisabledException);
    await store.enableKey(key.KeyId);
    expect(await readAll(target, 'guarded')).toEqual(['sealed']);
    await target.stopStreamEncryption({ StreamName: 'guarded', EncryptionType: 'KMS', KeyId: key.Arn });
    expect((await put(target, 'guarded', 'open again')).EncryptionType).toBe('NONE');
    expect(target.describeStreamSummary({ StreamName: 'guarded' }).StreamDescriptionSummary.EncryptionType).toBe('NONE');
    expect(await readAll(target, 'guarded')).toEqual(['open again', 'sealed']);
  });

  it('answers CorruptLog naming the shard and segment for a changed ciphertext, never its bytes', async () => {
    const dataDir = tempDir();
    const first = await openEngine(dataDir);
    await first.createStream({ StreamName: 'tampered', ShardCount: 1 });
    await first.startStreamEncryption({ StreamName: 'tampered', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    await put(first, 'tampered', 'the one record');
    await first.close();
    engine = undefined;
    const segments: string[] = [];
    const walk = (at: string): void => {
      for (const entry of fs.readdirSync(at, { withFileTypes: true }))
        if (entry.isDirectory()) walk(path.join(at, entry.name));
        else if (entry.name.endsWith('.log')) segments.push(path.join(at, entry.name));
    };
    walk(dataDir);
    const [segment] = segments.filter((file) => fs.statSync(file).size > 0);
    const bytes = fs.readFileSync(segment!);
    bytes[60] = bytes[60]! ^ 0x01;
    bytes.writeBigUInt64LE(checksum(bytes.subarray(8, bytes.readUInt32LE(8))), 0);
    fs.writeFileSync(segment!, bytes);
    const again = await openEngine(dataDir);
    await expect(readAll(again, 'tampered')).rejects.toThrow(CorruptLogError);
    await expect(readAll(again, 'tampered')).rejects.toThrow(
      /stream tampered shardId-000000000000, segment 0 at byte 0: the encrypted batch does not open/,
    );
  });

  it('names a bad KeyId or EncryptionType with the errors AWS uses', async () => {
    const target = await openEngine(tempDir());
    await target.createStream({ StreamName: 'bad', ShardCount: 1 });
    await expect(target.startStreamEncryption({ StreamName: 'bad', EncryptionType: 'KMS', KeyId: 'alias/none' })).rejects.toBeInstanceOf(
      KMSNotFoundException,
    );
    await expect(
      target.startStreamEncryption({ StreamName: 'bad', EncryptionType: 'NONE', KeyId: 'alias/aws/kinesis' }),
    ).rejects.toBeInstanceOf(InvalidArgumentException);
    expect(target.describeStreamSummary({ StreamName: 'bad' }).StreamDescriptionSummary.EncryptionType).toBe('NONE');
  });

  it('works from the AWS SDK through the HTTP API, with the AWS-managed key', async () => {
    const target = await openEngine(tempDir());
    const server = await KinesisHttpServer.start({ engine: target, port: 0 });
    const sdk = new KinesisClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    try {
      await target.createStream({ StreamName: 'sdk', ShardCount: 1 });
      await sdk.send(new StartStreamEncryptionCommand({ StreamName: 'sdk', EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' }));
      const summary = await sdk.send(new DescribeStreamSummaryCommand({ StreamName: 'sdk' }));
      expect(summary.StreamDescriptionSummary).toMatchObject({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
      const result = await sdk.send(new PutRecordCommand({ StreamName: 'sdk', PartitionKey: 'k', Data: Buffer.from('through the sdk') }));
      expect(result.EncryptionType).toBe('KMS');
      expect(await readAll(target, 'sdk')).toEqual(['through the sdk']);
    } finally {
      sdk.destroy();
      await server.stop();
    }
  });
});
