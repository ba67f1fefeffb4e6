import fs from 'node:fs';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KinesisApiSink, connect, type ShardlineClient } from '../../src/client/node.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { CAPTURE_VERSION, captureEncoder, type CaptureHeader, type CaptureRecord } from '../../src/testkit/capture_format.js';
import { replayCapture, type PutTiming } from '../../src/testkit/capture_replay.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp_dir.js';
import { byKey, storedRecords } from './capture_helpers.js';

// Goal: replay puts every record of a capture, each key in order, each no earlier than its
// recorded offset / speed after the start, so the whole replay takes at least the recorded span /
// speed; into shardline over the WebSocket and into its Kinesis HTTP API through the AWS SDK.
// Timing is asserted only from below (the machine is shared): no record sent before it was due.
// Method: a capture written with seeded arrival gaps (some records at the same millisecond), a
// real server, the real SDK; the stored records read back and compared key by key.

const SEED = testSeed();
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
let server: TestServer;
let http: KinesisHttpServer;
let client: ShardlineClient;

beforeEach(async () => {
  server = await startTestServer();
  http = await KinesisHttpServer.start({ engine: server.engine, host: '127.0.0.1', port: 0 });
  client = await connect(server.url);
  await server.engine.createStream({ StreamName: 'target', ShardCount: 2 });
});
afterEach(async () => {
  client.close();
  await http.stop();
  await server.stop();
});

/** A capture of `count` records over 4 keys, gaps of 0 to 40 ms: its file and records. */
function writeCapture(count: number): { file: string; records: CaptureRecord[] } {
  const random = seededRandom(SEED);
  const records: CaptureRecord[] = [];
  let arrivalMs = 1_700_000_000_000;
  for (let i = 0; i < count; i++) {
    arrivalMs += random() < 0.3 ? 0 : Math.floor(random() * 40);
    const shardId = `shardId-00000000000${i % 2}`;
    records.push({ shardId, sequenceNumber: String(1000 + i), arrivalMs, partitionKey: `k${i % 4}`, data: Buffer.from(`record ${i}`) });
  }
  const header: CaptureHeader = {
    shardlineCapture: CAPTURE_VERSION,
    stream: 'recorded',
    exportedAtMs: arrivalMs,
    fromMs: null,
    toMs: null,
    explicitHashKeys: true,
    shards: [0, 1].map((serial) => ({
      shardId: `shardId-00000000000${serial}`,
      parentShardIds: [],
      startingHashKey: '0',
      endingHashKey: '1',
    })),
  };
  const encoder = captureEncoder('binary', header);
  const file = path.join(tempDir(), 'paced.binary');
  fs.writeFileSync(
    file,
    Buffer.concat([encoder.header(), ...records.map((record) => encoder.record(record)), encoder.end(records.length)]),
  );
  return { file, records };
}

function checkPacing(records: readonly CaptureRecord[], timings: readonly PutTiming[], speed: number): void {
  expect(timings.length).toBe(records.length);
  const first = records[0]!.arrivalMs;
  const dueOf = new Map(records.map((record) => [record.sequenceNumber, (record.arrivalMs - first) / speed]));
  const lastSent = new Map<string, number>();
  for (const timing of timings) {
    expect(timing.dueMs, `seed ${SEED}`).toBe(dueOf.get(timing.record.sequenceNumber));
    expect(timing.sentMs, `seed ${SEED}: sent before due`).toBeGreaterThanOrEqual(timing.dueMs);
    expect(timing.sentMs, `seed ${SEED}: a key out of order`).toBeGreaterThanOrEqual(lastSent.get(timing.record.partitionKey) ?? 0);
    lastSent.set(timing.record.partitionKey, timing.sentMs);
  }
}

describe(`replay (seed ${SEED})`, () => {
  it('into shardline over the WebSocket at 4x: every record, each key in order, none early', async () => {
    const { file, records } = writeCapture(80);
    const timings: PutTiming[] = [];
    const speed = 4;
    const result = await replayCapture(client, file, { stream: 'target', speed, onPut: (timing) => timings.push(timing) });
    const spanMs = records[records.length - 1]!.arrivalMs - records[0]!.arrivalMs;
    expect(result).toMatchObject({ recordCount: 80, recordedSpanMs: spanMs });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(spanMs / speed);
    expect(result.timingErrorMs.p50).toBeGreaterThanOrEqual(0);
    expect(result.timingErrorMs.p99).toBeLessThanOrEqual(result.timingErrorMs.max);
    checkPacing(records, timings, speed);
    expect(byKey(await storedRecords(server.engine, 'target'))).toEqual(byKey(records));
  });

  it("into shardline's Kinesis HTTP API through the AWS SDK at 10x", async () => {
    const { file, records } = writeCapture(60);
    const sink = new KinesisApiSink({ endpoint: http.url, credentials: CREDENTIALS, httpVersion: '1.1' });
    const timings: PutTiming[] = [];
    try {
      const result = await replayCapture(sink, file, { stream: 'target', speed: 10, onPut: (timing) => timings.push(timing) });
      expect(result.elapsedMs).toBeGreaterThanOrEqual(result.recordedSpanMs / 10);
    } finally {
      sink.destroy();
    }
    checkPacing(records, timings, 10);
    expect(byKey(await readThroughSdk('target'))).toEqual(byKey(records));
  });

  it('refuses a speed that is not above 0', async () => {
    const { file } = writeCapture(2);
    await expect(replayCapture(client, file, { stream: 'target', speed: 0 })).rejects.toThrow(/speed must be a number above 0/);
  });
});

async function readThroughSdk(stream: string): Promise<{ partitionKey: string; data: Uint8Array }[]> {
  const sdk = new KinesisClient({
    endpoint: http.url,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const records: { partitionKey: string; data: Uint8Array }[] = [];
    const { Shards = [] } = await sdk.send(new ListShardsCommand({ StreamName: stream }));
    for (const { ShardId } of Shards) {
      const { ShardIterator } = await sdk.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const { Records = [] } = await sdk.send(new GetRecordsCommand({ ShardIterator }));
      records.push(...Records.map((record) => ({ partitionKey: record.PartitionKey!, data: record.Data! })));
    }
    return records;
  } finally {
    sdk.destroy();
  }
}
