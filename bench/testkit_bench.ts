/**
 * Capture and replay's figures (issue 24), over the WebSocket client as `shardline export|import|
 * replay` run them, against a server in this process (fsync "never", limits off, as the other
 * embedded benchmarks):
 * - export MB/s and import MB/s, per encoding: a stream of SHARDS shards filled with RECORDS
 *   records of RECORD_BYTES over KEYS keys is exported to a file, timed; the file is imported into
 *   a new stream, timed. MB counts partition keys and data (what Kinesis counts), 10^6 bytes.
 * - replay's timing error: a capture whose records arrive at REPLAY_RATE records/s for
 *   REPLAY_SECONDS (gaps drawn from an exponential distribution, seeded) is replayed at SPEED;
 *   each record's error is the time its storing put was sent minus the time it was due.
 * Usage: npm run bench:testkit [-- --json <file>]. Environment: RECORDS (200000), RECORD_BYTES
 * (1000), SHARDS (4), KEYS (1000), REPLAY_RATE (2000), REPLAY_SECONDS (10), SPEED (1),
 * BENCH_DIR (os.tmpdir()). Last line: one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../src/client/node.js';
import { Engine } from '../src/engine/engine.js';
import { ShardlineServer } from '../src/net/server.js';
import { CAPTURE_VERSION, captureEncoder, type CaptureRecord } from '../src/testkit/capture_format.js';
import { exportStream } from '../src/testkit/capture_export.js';
import { importCapture } from '../src/testkit/capture_import.js';
import { replayCapture } from '../src/testkit/capture_replay.js';
import {
  MB,
  Progress,
  echoEnvironment,
  envNumber,
  environment,
  finish,
  formatLatency,
  jsonPathArg,
  latencyHistogram,
  patternBytes,
  round1,
  summarizeHistogram,
} from './bench_common.js';

const config = {
  records: Math.round(envNumber('RECORDS', 200_000, 100, 100_000_000)),
  recordBytes: Math.round(envNumber('RECORD_BYTES', 1000, 1, 1_000_000)),
  shards: Math.round(envNumber('SHARDS', 4, 1, 500)),
  keys: Math.round(envNumber('KEYS', 1000, 1, 1_000_000)),
  replayRate: envNumber('REPLAY_RATE', 2000, 1, 1_000_000),
  replaySeconds: envNumber('REPLAY_SECONDS', 10, 0.1, 86_400),
  speed: envNumber('SPEED', 1, 0.001, 1_000_000),
  rootDir: process.env.BENCH_DIR ?? os.tmpdir(),
  jsonPath: jsonPathArg(process.argv.slice(2)),
};
const PUT_CHUNK = 500;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(config.rootDir, 'shardline-testkit-bench-'));
  const env = environment(dir);
  echoEnvironment('capture and replay benchmark', { ...env, ...config });
  const engine = await Engine.open({ dataDir: path.join(dir, 'data'), fsync: 'never', enforceLimits: false });
  const server = await ShardlineServer.start({ engine, host: '127.0.0.1', port: 0 });
  const client = await connect(server.url);
  try {
    await fill(engine);
    const rounds: Record<string, unknown> = {};
    for (const encoding of ['jsonl', 'binary'] as const) rounds[encoding] = await roundTrip(engine, client, dir, encoding);
    const replay = await replayRun(engine, client, dir);
    finish({ benchmark: 'testkit', config, environment: env, ...rounds, replay }, config.jsonPath);
  } finally {
    client.close();
    await server.stop();
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function fill(engine: Engine): Promise<void> {
  await engine.createStream({ StreamName: 'source', ShardCount: config.shards });
  const data = patternBytes(config.recordBytes);
  const progress = new Progress('fill');
  for (let put = 0; put < config.records; put += PUT_CHUNK) {
    const count = Math.min(PUT_CHUNK, config.records - put);
    const Records = Array.from({ length: count }, (_, i) => ({ PartitionKey: `key-${(put + i) % config.keys}`, Data: data }));
    await engine.putRecords({ StreamName: 'source', Records });
    progress.tick(put + count, (put + count) * config.recordBytes);
  }
}

async function roundTrip(
  engine: Engine,
  client: Awaited<ReturnType<typeof connect>>,
  dir: string,
  encoding: 'jsonl' | 'binary',
): Promise<Record<string, unknown>> {
  const file = path.join(dir, `capture.${encoding}`);
  let started = performance.now();
  const exported = await exportStream(client, file, { stream: 'source', encoding });
  const exportSeconds = (performance.now() - started) / 1000;
  const target = `import-${encoding}`;
  await engine.createStream({ StreamName: target, ShardCount: config.shards });
  started = performance.now();
  const imported = await importCapture(client, file, { stream: target });
  const importSeconds = (performance.now() - started) / 1000;
  const result = {
    records: exported.recordCount,
    payloadMB: round1(exported.payloadBytes / MB),
    fileMB: round1(exported.fileBytes / MB),
    exportMBps: round1(exported.payloadBytes / MB / exportSeconds),
    exportRecordsPerSec: Math.round(exported.recordCount / exportSeconds),
    importMBps: round1(imported.payloadBytes / MB / importSeconds),
    importRecordsPerSec: Math.round(imported.recordCount / importSeconds),
  };
  console.log(
    `${encoding}: ${result.records} records, ${result.fileMB} MB file; export ${result.exportMBps} MB/s ` +
      `(${result.exportRecordsPerSec} records/s), import ${result.importMBps} MB/s (${result.importRecordsPerSec} records/s)`,
  );
  fs.rmSync(file);
  return result;
}

async function replayRun(engine: Engine, client: Awaited<ReturnType<typeof connect>>, dir: string): Promise<Record<string, unknown>> {
  const file = writePacedCapture(path.join(dir, 'paced.binary'));
  await engine.createStream({ StreamName: 'replayed', ShardCount: config.shards });
  const errors = latencyHistogram();
  const progress = new Progress('replay');
  let stored = 0;
  const result = await replayCapture(client, file, {
    stream: 'replayed',
    speed: config.speed,
    onPut: (timing) => {
      errors.recordValue(Math.max(1, Math.round((timing.sentMs - timing.dueMs) * 1000)));
      progress.tick(++stored, stored * config.recordBytes);
    },
  });
  const summary = summarizeHistogram(errors);
  console.log(formatLatency(`replay timing error (${result.recordCount} records, speed ${config.speed})`, summary));
  return {
    records: result.recordCount,
    recordedSpanMs: result.recordedSpanMs,
    elapsedMs: Math.round(result.elapsedMs),
    timingErrorUs: summary,
  };
}

/** REPLAY_RATE records a second for REPLAY_SECONDS, exponential gaps from a fixed seed. */
function writePacedCapture(file: string): string {
  const count = Math.max(1, Math.round(config.replayRate * config.replaySeconds));
  let state = 24;
  const random = (): number => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  const data = patternBytes(config.recordBytes);
  const shards = Array.from({ length: config.shards }, (_, serial) => ({
    shardId: `shardId-${String(serial).padStart(12, '0')}`,
    parentShardIds: [],
    startingHashKey: '0',
    endingHashKey: '0',
  }));
  const encoder = captureEncoder('binary', {
    shardlineCapture: CAPTURE_VERSION,
    stream: 'paced',
    exportedAtMs: 0,
    fromMs: null,
    toMs: null,
    explicitHashKeys: true,
    shards,
  });
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, encoder.header());
  let arrivalMs = 1_700_000_000_000;
  for (let i = 0; i < count; i++) {
    arrivalMs += Math.round(-Math.log(random()) * (1000 / config.replayRate));
    const record: CaptureRecord = {
      shardId: shards[i % shards.length]!.shardId,
      sequenceNumber: String(i),
      arrivalMs,
      partitionKey: `key-${i % config.keys}`,
      data,
    };
    fs.writeSync(out, encoder.record(record));
  }
  fs.writeSync(out, encoder.end(count));
  fs.closeSync(out);
  return file;
}

await main();
