import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type ShardlineClient } from '../../src/client/node.js';
import { exportStream } from '../../src/testkit/capture_export.js';
import { importCapture } from '../../src/testkit/capture_import.js';
import { openCapture } from '../../src/testkit/capture_reader.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';
import { byKey, captureRecords, putInOrder, randomRecords } from './capture_helpers.js';

// Goal: export then import gives back every record byte for byte (data, partition key, explicit
// hash key), each key's records in their order, in both encodings, also for a stream split in the
// middle of its records; a time range exports exactly the records that arrived in it; an Engine
// as the source says in the header that it cannot see explicit hash keys.
// Method: a real server (engine and WebSocket) on 127.0.0.1; seeded random records put through
// the engine; exports through the Node client and the Engine to real files, imports into new
// streams, then exported again and compared with what was put.

const SEED = testSeed();
let server: TestServer;
let client: ShardlineClient;

beforeEach(async () => {
  server = await startTestServer();
  client = await connect(server.url);
});
afterEach(async () => {
  client.close();
  await server.stop();
});

describe(`capture round trip (seed ${SEED})`, () => {
  for (const encoding of ['jsonl', 'binary'] as const) {
    it(`${encoding}: export, import, export again: every record back, each key in order, across a split`, async () => {
      const random = seededRandom(SEED);
      const put = randomRecords(random, 600, 12);
      await server.engine.createStream({ StreamName: 'source', ShardCount: 2 });
      await putInOrder(server.engine, 'source', put.slice(0, 300));
      await server.engine.splitShard({
        StreamName: 'source',
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 126n).toString(),
      });
      await putInOrder(server.engine, 'source', put.slice(300));

      const dir = tempDir();
      const first = path.join(dir, `first.${encoding}`);
      const exported = await exportStream(client, first, { stream: 'source', encoding });
      expect(exported).toMatchObject({ recordCount: 600, shardCount: 4, explicitHashKeys: true });
      const captured = await captureRecords(first);
      expect(byKey(captured), `seed ${SEED}`).toEqual(byKey(put));

      await server.engine.createStream({ StreamName: 'copy', ShardCount: 3 });
      expect(await importCapture(client, first, { stream: 'copy' })).toMatchObject({ encoding, recordCount: 600 });
      const second = path.join(dir, `second.${encoding}`);
      await exportStream(client, second, { stream: 'copy', encoding });
      expect(byKey(await captureRecords(second)), `seed ${SEED}`).toEqual(byKey(put));
    });
  }

  it('exports only the records that arrived in the time range, from every shard', async () => {
    await server.engine.createStream({ StreamName: 'timed', ShardCount: 2 });
    const batches: number[] = [];
    for (let batch = 0; batch < 3; batch++) {
      await putInOrder(
        server.engine,
        'timed',
        Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from(`${batch}:${i}`) })),
      );
      batches.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const file = path.join(tempDir(), 'middle.jsonl');
    const fromMs = batches[0]! + 1;
    const toMs = batches[1]! + 1;
    await exportStream(server.engine, file, { stream: 'timed', fromMs, toMs });
    const records = await captureRecords(file);
    expect(records.map((record) => Buffer.from(record.data).toString()).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `1:${i}`).sort(),
    );
    expect(records.every((record) => record.arrivalMs >= fromMs && record.arrivalMs < toMs)).toBe(true);
    const { header } = await openCapture(file);
    expect(header).toMatchObject({ stream: 'timed', fromMs, toMs, explicitHashKeys: false });
  });

  it('from an Engine: no explicit hash keys (GetRecords has none), everything else the same as the WebSocket export', async () => {
    const put = randomRecords(seededRandom(SEED + 1), 200, 5);
    await server.engine.createStream({ StreamName: 'embedded', ShardCount: 2 });
    await putInOrder(server.engine, 'embedded', put);
    const dir = tempDir();
    await exportStream(server.engine, path.join(dir, 'engine.binary'), { stream: 'embedded', encoding: 'binary' });
    await exportStream(client, path.join(dir, 'client.binary'), { stream: 'embedded', encoding: 'binary' });
    const fromEngine = await captureRecords(path.join(dir, 'engine.binary'));
    const fromClient = await captureRecords(path.join(dir, 'client.binary'));
    expect(fromEngine.every((record) => record.explicitHashKey === undefined)).toBe(true);
    expect(fromEngine).toEqual(fromClient.map((record) => ({ ...record, explicitHashKey: undefined })));
    expect(fromClient.filter((record) => record.explicitHashKey !== undefined).length).toBe(
      put.filter((record) => record.explicitHashKey !== undefined).length,
    );
  });
});
