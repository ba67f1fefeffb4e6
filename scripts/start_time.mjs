#!/usr/bin/env node
/*
 * How long `shardline serve` takes from its start to the first answer of its Kinesis HTTP port
 * (the server it opens last), in two cases:
 * - fresh: an empty data directory;
 * - restart: the directory of a server killed with SIGKILL after a stream of 4 shards took
 *   2,000 records, so the next start recovers every shard's log.
 * Each case runs --runs times (default 5); it prints every run, then the medians.
 *
 *   npm run build && node scripts/start_time.mjs            # the built CLI, dist/cli/main.js
 *   node scripts/start_time.mjs --source                    # node --import tsx src/cli/main.ts
 *
 * Time starts before spawn(), so it includes Node's own start. The port is polled every
 * POLL_MS, so a figure is late by at most that much.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const POLL_MS = 2;
/** A start slower than this is a broken server, not a slow one. */
const START_TIMEOUT_MS = 60_000;
const SHARDS = 4;
const RECORDS = 2000;
const PUT_RECORDS_MAX = 500;
const SIGNED = {
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-date': '20261201T000000Z',
  authorization: 'AWS4-HMAC-SHA256 Credential=a/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00',
};

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, source: { type: 'boolean', default: false } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number >= 1');
const command = values.source ? ['--import', 'tsx', path.join(ROOT_DIR, 'src/cli/main.ts')] : [path.join(ROOT_DIR, 'dist/cli/main.js')];
if (!fs.existsSync(command.at(-1))) throw new Error(`${command.at(-1)} is missing: run npm run build first`);

console.log(`start_time: node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}`);
console.log(
  `start_time: node ${command.map((part) => path.relative(ROOT_DIR, part) || part).join(' ')} serve, ${runs} runs per case, polled every ${POLL_MS} ms`,
);

const fresh = [];
const restart = [];
for (let run = 1; run <= runs; run++) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardline-start-'));
  try {
    const first = await startServer(dataDir);
    fresh.push(first.ms);
    await fill(first.kinesisPort);
    first.child.kill('SIGKILL');
    await once(first.child, 'close');
    const second = await startServer(dataDir);
    restart.push(second.ms);
    second.child.kill('SIGTERM');
    await once(second.child, 'close');
    console.log(`run ${run}: fresh ${first.ms.toFixed(0)} ms, restart after kill -9 ${second.ms.toFixed(0)} ms`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log(`median: fresh ${median(fresh).toFixed(0)} ms, restart after kill -9 ${median(restart).toFixed(0)} ms`);

/** Starts `serve` on free ports; resolves once its Kinesis port answers, with the time taken. */
async function startServer(dataDir) {
  const [port, kinesisPort] = [await freePort(), await freePort()];
  const startedMs = performance.now();
  const child = spawn(
    process.execPath,
    [...command, 'serve', '--port', String(port), '--kinesis-port', String(kinesisPort), '--data-dir', dataDir],
    { cwd: ROOT_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`serve exited with ${code} before answering`);
  });
  exited.catch(() => undefined);
  for (;;) {
    if (performance.now() - startedMs > START_TIMEOUT_MS) throw new Error(`no answer within ${START_TIMEOUT_MS} ms`);
    const answered = await Promise.race([
      kinesis(kinesisPort, 'ListStreams', {}).then(
        () => true,
        () => false,
      ),
      exited,
    ]);
    if (answered) return { child, kinesisPort, ms: performance.now() - startedMs };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A stream of SHARDS shards with RECORDS records, for the restart to recover. */
async function fill(kinesisPort) {
  await kinesis(kinesisPort, 'CreateStream', { StreamName: 'start-time', ShardCount: SHARDS });
  for (let put = 0; put < RECORDS; put += PUT_RECORDS_MAX) {
    const records = Array.from({ length: PUT_RECORDS_MAX }, (_, i) => ({
      PartitionKey: `key-${put + i}`,
      Data: Buffer.alloc(100, put + i).toString('base64'),
    }));
    await kinesis(kinesisPort, 'PutRecords', { StreamName: 'start-time', Records: records });
  }
}

/** One awsJson1_1 call; rejects on a refused connection or an error status. */
function kinesis(port, operation, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: { ...SIGNED, 'x-amz-target': `Kinesis_20131202.${operation}` },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString('utf8'))
            : reject(new Error(`${operation}: HTTP ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
