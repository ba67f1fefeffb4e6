import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type ShardlineClient } from '../../src/client/node.js';
import { CaptureFormatError } from '../../src/errors.js';
import {
  FILE_HEADER_BYTES,
  FILE_HEADER_LENGTH_POSITION,
  FRAME_LENGTH_POSITION,
  FRAME_PREFIX_BYTES,
} from '../../src/testkit/capture_format.js';
import { exportStream } from '../../src/testkit/capture_export.js';
import { importCapture } from '../../src/testkit/capture_import.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp_dir.js';
import { putInOrder, randomRecords, storedRecords } from './capture_helpers.js';

// Goal: an import refuses a truncated or corrupt capture at its first bad record, naming its byte
// (and line), with a typed error; the records before it are stored and none after it; with
// checkFirst nothing is stored. Method: a real capture of 40 records exported from a real server
// (one shard, so the stored order is the file's), cut or changed at a seeded record, imported into
// a fresh stream, whose records are then read back.

const SEED = testSeed();
const RECORDS = 40;
let server: TestServer;
let client: ShardlineClient;
let files: { jsonl: string; binary: string };

beforeEach(async () => {
  server = await startTestServer();
  client = await connect(server.url);
  await server.engine.createStream({ StreamName: 'source', ShardCount: 1 });
  await putInOrder(server.engine, 'source', randomRecords(seededRandom(SEED), RECORDS, 4));
  const dir = tempDir();
  files = { jsonl: path.join(dir, 'capture.jsonl'), binary: path.join(dir, 'capture.binary') };
  for (const encoding of ['jsonl', 'binary'] as const) await exportStream(client, files[encoding], { stream: 'source', encoding });
});
afterEach(async () => {
  client.close();
  await server.stop();
});

/** Where each record starts in the file: frames (binary) or lines (JSON lines), then where the end starts. */
function recordPositions(bytes: Buffer, encoding: 'jsonl' | 'binary'): number[] {
  const positions: number[] = [];
  if (encoding === 'jsonl') {
    for (let at = bytes.indexOf(0x0a) + 1; at < bytes.length; at = bytes.indexOf(0x0a, at) + 1) positions.push(at);
    return positions;
  }
  for (let at = FILE_HEADER_BYTES + bytes.readUInt32LE(FILE_HEADER_LENGTH_POSITION); at < bytes.length;)
    at += FRAME_PREFIX_BYTES + bytes.readUInt32LE((positions.push(at), at + FRAME_LENGTH_POSITION));
  return positions;
}

async function refusal(file: string, checkFirst = false): Promise<CaptureFormatError> {
  await server.engine.createStream({ StreamName: 'target', ShardCount: 1 });
  const error = await importCapture(client, file, { stream: 'target', checkFirst }).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(CaptureFormatError);
  return error as CaptureFormatError;
}

/** The target's records, sorted: an import keeps each key's order, not the order across keys. */
async function storedData(): Promise<string[]> {
  return (await storedRecords(server.engine, 'target')).map((record) => Buffer.from(record.data).toString('hex')).sort();
}

/** The first `count` records of the source (the file's order: one shard), sorted. */
async function sourceData(count: number): Promise<string[]> {
  return (await storedRecords(server.engine, 'source'))
    .slice(0, count)
    .map((record) => Buffer.from(record.data).toString('hex'))
    .sort();
}

describe(`a bad capture refused at its first bad record (seed ${SEED})`, () => {
  for (const encoding of ['jsonl', 'binary'] as const) {
    it(`${encoding}: cut inside a record`, async () => {
      const bytes = fs.readFileSync(files[encoding]);
      const positions = recordPositions(bytes, encoding);
      const bad = 1 + Math.floor(seededRandom(SEED)() * (RECORDS - 2));
      fs.writeFileSync(files[encoding], bytes.subarray(0, positions[bad]! + 12));
      const error = await refusal(files[encoding]);
      expect([error.position, error.recordIndex, error.line], `seed ${SEED}`).toEqual([
        positions[bad],
        bad,
        encoding === 'jsonl' ? bad + 2 : undefined,
      ]);
      expect(error.message).toMatch(/truncated/);
      expect(await storedData()).toEqual(await sourceData(bad));
    });

    it(`${encoding}: cut at a record boundary, before the end`, async () => {
      const bytes = fs.readFileSync(files[encoding]);
      const positions = recordPositions(bytes, encoding);
      fs.writeFileSync(files[encoding], bytes.subarray(0, positions[RECORDS]!));
      const error = await refusal(files[encoding]);
      expect([error.position, error.recordIndex]).toEqual([positions[RECORDS], RECORDS]);
      expect(error.message).toMatch(/without its end/);
    });

    it(`${encoding}: one byte changed inside a record`, async () => {
      const bytes = fs.readFileSync(files[encoding]);
      const positions = recordPositions(bytes, encoding);
      const bad = 1 + Math.floor(seededRandom(SEED + 1)() * (RECORDS - 2));
      // In a line, a quote becomes a letter (the JSON breaks); in a frame, any byte (the CRC catches it).
      const at = encoding === 'jsonl' ? bytes.indexOf('"', positions[bad]! + 1) : positions[bad]! + 9;
      bytes[at] = encoding === 'jsonl' ? 0x78 : bytes[at]! ^ 0x01;
      fs.writeFileSync(files[encoding], bytes);
      const error = await refusal(files[encoding]);
      expect([error.position, error.recordIndex], `seed ${SEED}`).toEqual([positions[bad], bad]);
      expect(await storedData()).toEqual(await sourceData(bad));
    });

    it(`${encoding}: with checkFirst a bad record stores nothing at all`, async () => {
      const bytes = fs.readFileSync(files[encoding]);
      const positions = recordPositions(bytes, encoding);
      fs.writeFileSync(files[encoding], bytes.subarray(0, positions[RECORDS - 1]! + 3));
      const error = await refusal(files[encoding], true);
      expect(error.recordIndex).toBe(RECORDS - 1);
      expect(await storedData()).toEqual([]);
    });
  }

  it('a file of neither encoding is refused at byte 0', async () => {
    const file = path.join(tempDir(), 'not-a-capture');
    fs.writeFileSync(file, '{"hello": "world"}\n');
    const error = await refusal(file);
    expect([error.position, error.message]).toEqual([0, expect.stringMatching(/not a capture file/)]);
  });
});
