import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Consumer,
  DecryptionError,
  EnvelopeEncryption,
  Producer,
  connect,
  createKeyFile,
  isSealed,
  localKeyProvider,
  type ConsumedRecord,
  type ShardlineClient,
} from '../../src/client/node.js';
import { startTestServer, streamWithConsumers, type TestServer } from '../helpers/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: records a Producer seals with envelope encryption are stored sealed (the server never
// sees the data), come out of a Consumer with the same key file as they were put, aggregated
// or not, and a tampered record ends the Consumer with a DecryptionError naming the record.
// Method: a real server and client, a key file made by createKeyFile and read back by a second
// provider (as another process would), the stored bytes read through the engine.

let server: TestServer;
let client: ShardlineClient;
const keys = suiteTempDir('shardline-encryption-');

beforeAll(async () => {
  server = await startTestServer();
  client = await connect(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  keys.remove();
});

async function consume(consumerARN: string, count: number, consumer: Consumer): Promise<ConsumedRecord[]> {
  const received: ConsumedRecord[] = [];
  for await (const record of consumer.subscribe({
    consumerARN,
    shardId: 'shardId-000000000000',
    startingPosition: { Type: 'TRIM_HORIZON' },
  })) {
    received.push(record);
    if (received.length === count) break;
  }
  return received;
}

async function storedData(streamName: string): Promise<Uint8Array[]> {
  const { ShardIterator } = await server.engine.getShardIterator({
    StreamName: streamName,
    ShardId: 'shardId-000000000000',
    ShardIteratorType: 'TRIM_HORIZON',
  });
  return (await server.engine.getRecords({ ShardIterator })).Records.map((record) => record.Data);
}

describe('Producer and Consumer with envelope encryption', () => {
  it.each([
    ['plain', false],
    ['aggregated', true],
  ])('stores %s records sealed and delivers them opened', async (kind, aggregation) => {
    const keyFile = path.join(keys.dir, `${kind}.json`);
    const writerKeys = await createKeyFile(keyFile);
    const streamName = `sealed-${kind}`;
    const [consumerARN] = await streamWithConsumers(server.engine, streamName, 1, 1);
    const producer = new Producer(client, { aggregation, encryption: new EnvelopeEncryption(writerKeys) });
    const data = Array.from({ length: 40 }, (_, i) => `secret-${i}`);
    await Promise.all(data.map((text, i) => producer.put({ streamName, partitionKey: `k${i}`, data: Buffer.from(text) })));
    const stored = await storedData(streamName);
    for (const bytes of stored) {
      expect(isSealed(bytes)).toBe(true);
      expect(Buffer.from(bytes).includes('secret')).toBe(false);
    }
    if (aggregation) expect(stored.length).toBeLessThan(data.length);
    const consumer = new Consumer(client, { encryption: new EnvelopeEncryption(await localKeyProvider(keyFile)) });
    const received = await consume(consumerARN!, data.length, consumer);
    expect(received.map((record) => Buffer.from(record.Data).toString())).toEqual(data);
  });

  it('ends the Consumer with a DecryptionError naming a tampered record', async () => {
    const provider = await createKeyFile(path.join(keys.dir, 'tamper.json'));
    const encryption = new EnvelopeEncryption(provider);
    const [consumerARN] = await streamWithConsumers(server.engine, 'sealed-tampered', 1, 1);
    const good = await encryption.encrypt(Buffer.from('intact'));
    const bad = Buffer.from(await encryption.encrypt(Buffer.from('changed')));
    bad[bad.length - 20]! ^= 1;
    const put = await server.engine.putRecords({
      StreamName: 'sealed-tampered',
      Records: [
        { PartitionKey: 'k', Data: good },
        { PartitionKey: 'k', Data: bad },
      ],
    });
    const { SequenceNumber: tampered } = put.Records[1] as { SequenceNumber: string };
    const received: string[] = [];
    const failure = await (async () => {
      for await (const record of new Consumer(client, { encryption }).subscribe({
        consumerARN: consumerARN!,
        shardId: 'shardId-000000000000',
        startingPosition: { Type: 'TRIM_HORIZON' },
      }))
        received.push(Buffer.from(record.Data).toString());
    })().catch((error: unknown) => error);
    expect(received).toEqual(['intact']);
    expect(failure).toBeInstanceOf(DecryptionError);
    const { message, record } = failure as DecryptionError;
    expect(record).toEqual({
      streamName: 'sealed-tampered',
      shardId: 'shardId-000000000000',
      sequenceNumber: tampered,
    });
    expect(message).toContain(tampered);
  });
});
