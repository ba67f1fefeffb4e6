import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAllClis, runCli, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: `shardline delivery create|list|describe|put|flush|delete` manages the delivery streams of
// a running server over the WebSocket CALL; records acknowledged by `put` and still in the buffer
// when the server is killed with -9 are delivered after the restart (at least once: none lost).
// Method: the CLI from its sources as child processes, the server's default directory
// destination (<data dir>/s3) read from disk.

afterEach(killAllClis);

/** Every line of every object under the bucket's directory. */
function delivered(dataDir: string, bucket: string): string[] {
  const root = path.join(dataDir, 's3', bucket);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((file) => file.isFile() && !file.name.startsWith('.shardline-'))
    .flatMap((file) => fs.readFileSync(path.join(file.parentPath, file.name), 'utf8').split('\n'))
    .filter((line) => line !== '');
}

describe('shardline delivery', () => {
  it('delivers what put acknowledged after a kill -9 of the server, and manages the stream', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const args = ['serve', '--data-dir', dataDir, '--port', '0', '--no-kinesis', '--workers', '1'];
    const first = startCli(args);
    const url = (await first.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    const created = await runCli([
      'delivery',
      'create',
      'logs',
      '--bucket',
      'lake',
      '--prefix',
      'app/',
      '--buffer-mb',
      '128',
      '--buffer-seconds',
      '900',
      '--newline',
      '--url',
      url,
    ]);
    expect([created.stderr, created.stdout]).toEqual(['', 'arn:aws:firehose:us-east-1:000000000000:deliverystream/logs\n']);
    expect((await runCli(['delivery', 'put', 'logs', 'alpha', 'beta', '--url', url])).stdout).toBe('2\n');
    expect((await runCli(['delivery', 'put', 'logs', '--url', url], { input: 'gamma\ndelta\n' })).stdout).toBe('2\n');
    expect(delivered(dataDir, 'lake')).toEqual([]);
    first.child.kill('SIGKILL');
    await first.exited();

    const second = startCli(args);
    const again = (await second.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    expect((await runCli(['delivery', 'list', '--url', again])).stdout).toBe('logs\n');
    expect((await runCli(['delivery', 'flush', 'logs', '--url', again])).stdout).toBe('flushed logs\n');
    expect([...new Set(delivered(dataDir, 'lake'))].sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    const described = JSON.parse((await runCli(['delivery', 'describe', 'logs', '--url', again])).stdout) as {
      DeliveryStreamDescription: Record<string, unknown>;
      DeliveryMetrics: Record<string, unknown>;
    };
    expect(described.DeliveryStreamDescription).toMatchObject({ DeliveryStreamName: 'logs', DeliveryStreamStatus: 'ACTIVE' });
    expect(described.DeliveryMetrics).toMatchObject({ recordsIn: 4, recordsDelivered: 4, objectsWritten: 1 });
    const refused = await runCli(['delivery', 'put', 'missing', 'x', '--url', again]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/ResourceNotFoundException/) as unknown]);
    expect((await runCli(['delivery', 'delete', 'logs', '--url', again])).stdout).toBe('deleted logs\n');
    expect((await runCli(['delivery', 'list', '--url', again])).stdout).toBe('');
  });
});
