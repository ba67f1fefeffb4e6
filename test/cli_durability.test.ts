import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node.js';
import type { ShardlineClient } from '../src/client/client.js';
import { killAllClis, SOURCE_CLI, startCli, type CliProcess } from './helpers/cli.js';
import { acksWithoutFdatasync, readTrace } from './helpers/strace.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: the real server keeps the durability promises of each --fsync mode: under "always"
// every acknowledgement of a put leaves only after an fdatasync covered its bytes (seen from
// outside the process, in its system calls), and a kill -9 loses no acknowledged put in any
// mode, across segment rolls.
// Method: `shardline serve` as a child process (under strace for "always" and "never", where
// the check must find the fdatasync missing), puts made one at a time over the WebSocket, a
// SIGKILL, a restart on the same directory and every acknowledged record read back.

const STREAM = 'durable';
const PUTS = 40;
const RECORD_BYTES = 2048;
// 40 puts of 2 KiB roll 32 KiB segments twice.
const SEGMENT_BYTES = 32 * 1024;
const TRACED_CALLS = 'accept,accept4,openat,close,pwrite64,pwritev,fdatasync,sendto,sendmsg,write,writev';

afterEach(async () => {
  await killAllClis();
});

interface Server {
  readonly process: CliProcess;
  readonly url: string;
  /** The node process serving (under strace the child is strace). */
  readonly pid: number;
}

async function serve(dataDir: string, fsync: string, traceFile: string | null): Promise<Server> {
  const strace = traceFile === null ? [] : ['strace', '-f', '-qq', '--seccomp-bpf', '-e', `trace=${TRACED_CALLS}`, '-o', traceFile];
  const args = ['serve', '--port', '0', '--no-kinesis', '--data-dir', dataDir, '--workers', '1'];
  const child = startCli([...args, '--fsync', fsync, '--segment-bytes', String(SEGMENT_BYTES)], { cli: [...strace, ...SOURCE_CLI] });
  const url = (await child.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  return { process: child, url, pid: Number(fs.readFileSync(path.join(dataDir, 'LOCK'), 'utf8')) };
}

function recordData(i: number): Buffer {
  const data = Buffer.alloc(RECORD_BYTES, i % 251);
  data.writeUInt32LE(i, 0);
  return data;
}

async function putOneAtATime(client: ShardlineClient): Promise<void> {
  await client.call('CreateStream', { StreamName: STREAM, ShardCount: 1 });
  for (let i = 0; i < PUTS; i++) {
    const [result] = await client.putRecords(STREAM, [{ partitionKey: `k${i}`, data: recordData(i) }]);
    expect(result, `put ${i}: ${JSON.stringify(result)}`).toHaveProperty('sequenceNumber');
  }
}

async function readAll(client: ShardlineClient): Promise<Buffer[]> {
  const shards = await client.call('ListShards', { StreamName: STREAM });
  const iterator = await client.call('GetShardIterator', {
    StreamName: STREAM,
    ShardId: shards.Shards![0]!.ShardId!,
    ShardIteratorType: 'TRIM_HORIZON',
  });
  const records: Buffer[] = [];
  let next: string | undefined = iterator.ShardIterator;
  for (let calls = 0; next !== undefined && calls < 100; calls++) {
    const page = await client.getRecords({ ShardIterator: next });
    records.push(...page.Records.map((record) => Buffer.from(record.Data)));
    if (page.Records.length === 0 && page.MillisBehindLatest === 0) break;
    next = page.NextShardIterator;
  }
  return records;
}

async function killHard(server: Server): Promise<void> {
  process.kill(server.pid, 'SIGKILL');
  const exited = await server.process.exited();
  expect(exited.stdout).not.toContain('shutting down');
}

function segmentFiles(dataDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else if (/^\d{20}\.log$/.test(entry.name)) found.push(entry.name);
    }
  };
  walk(dataDir);
  return found;
}

const MODES: ReadonlyArray<{ fsync: string; traced: 'synced' | 'unsynced' | null }> = [
  { fsync: 'always', traced: 'synced' },
  { fsync: '3600000', traced: null },
  { fsync: 'never', traced: 'unsynced' },
];

describe('the real server under kill -9', () => {
  for (const { fsync, traced } of MODES) {
    const what =
      traced === 'synced'
        ? ', and strace sees an fdatasync before every ack'
        : traced === 'unsynced'
          ? ', and strace sees acks with no fdatasync'
          : '';
    it(`--fsync ${fsync} loses no acknowledged put across segment rolls${what}`, async () => {
      const dataDir = tempDir();
      const traceFile = traced === null ? null : path.join(process.env.KEEP_TRACE ?? tempDir(), 'server.trace');
      const server = await serve(dataDir, fsync, traceFile);
      const client = await connect(server.url);
      try {
        await putOneAtATime(client);
        // Before the client closes, so that the server's last sends are the acks.
        await killHard(server);
      } finally {
        client.close();
      }

      if (traceFile !== null) {
        const violations = acksWithoutFdatasync(readTrace(traceFile), PUTS);
        if (traced === 'synced') expect(violations).toEqual([]);
        // The check is not blind: without fdatasync every ack breaks it.
        else expect(violations.length).toBe(PUTS);
      }

      expect(segmentFiles(dataDir).length).toBeGreaterThanOrEqual(3);
      const restarted = await serve(dataDir, fsync, null);
      const reader = await connect(restarted.url);
      try {
        const records = await readAll(reader);
        expect(records.length).toBe(PUTS);
        records.forEach((data, i) => expect(data.equals(recordData(i)), `record ${i}`).toBe(true));
      } finally {
        reader.close();
      }
    });
  }
});
