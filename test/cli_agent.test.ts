import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent/agent.js';
import { Engine } from '../src/engine/engine.js';
import { agentConfig, streamLines, until } from './agent/agent_helpers.js';
import { killAllClis, runCli, startCli } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: `shardline agent` resumes after a kill -9 of itself from its last checkpoint, losing no
// line and sending again at most the lines it reports as possible duplicates; it rides through a
// kill -9 of the server (reconnecting, resending what was not acknowledged), losing no line; a bad
// configuration stops it at start with the key and the reason. Method: the CLI from its sources
// as child processes (the agent, or the server), real files, a ledger of every line.

let server: TestServer | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  await killAllClis();
  await server?.stop();
  server = agent = undefined;
});

const LINES = 20_000;
const written = Array.from({ length: LINES }, (_, n) => `line-${n}\n`);

function flows(log: string): Record<string, unknown>[] {
  return [
    { filePattern: log, kinesisStream: 'logs', initialPosition: 'START_OF_FILE', maxBufferAgeMillis: 1000, maxBufferSizeRecords: 200 },
  ];
}

async function statusOf(url: string): Promise<{ metrics: Record<string, number>; buffered: number }> {
  return ((await (await fetch(url)).json()) as { flows: { metrics: Record<string, number>; buffered: number }[] }).flows[0]!;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('shardline agent, killed and restarted', () => {
  it('resumes after a kill -9 of the agent: no line lost, duplicates at most those it reports', async () => {
    server = await startTestServer();
    await server.engine.createStream({ StreamName: 'logs', ShardCount: 1 });
    const dir = tempDir();
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, written.join(''));
    const config = path.join(dir, 'agent.json');
    fs.writeFileSync(config, agentConfig(dir, server.url, flows(log)));
    const first = startCli(['agent', '--config', config]);
    await first.waitForOutput(/agent running 1 flow/);
    await until(async () => (await streamLines(server!.engine, 'logs')).length >= 5000, 'a part of the file');
    first.child.kill('SIGKILL');
    await first.exited();
    const second = startCli(['agent', '--config', config, '--status-port', '0']);
    const status = (await second.waitForOutput(/status at (http:\/\/\S+)/))[1]!;
    await until(async () => new Set(await streamLines(server!.engine, 'logs')).size >= LINES, 'every line after the restart', 60_000);
    const sent = await streamLines(server.engine, 'logs');
    expect([...new Set(sent)].sort()).toEqual([...written].sort());
    const duplicates = sent.length - new Set(sent).size;
    expect(duplicates).toBeLessThanOrEqual((await statusOf(status)).metrics['PossibleDuplicates']!);
  });

  it('rides through a kill -9 of the server: every line arrives', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const port = await freePort();
    const serveArgs = ['serve', '--data-dir', dataDir, '--port', String(port), '--no-kinesis', '--workers', '1'];
    const first = startCli(serveArgs);
    const url = (await first.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    expect((await runCli(['create-stream', 'logs', '--shards', '1', '--url', url])).code).toBe(0);
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, written.join(''));
    agent = Agent.open(agentConfig(dir, url, flows(log)), 'agent.json');
    await agent.start();
    const metrics = (): Record<string, number> => agent!.report().flows[0]!['metrics'] as Record<string, number>;
    await until(() => metrics()['RecordsSent']! >= 5000, 'a part of the file sent');
    first.child.kill('SIGKILL');
    await first.exited();
    const second = startCli(serveArgs);
    await second.waitForOutput(/listening on /);
    await until(
      () => {
        const files = agent!.report().flows[0]!['files'] as { ackedOffset: number }[];
        return files[0]!.ackedOffset === fs.statSync(log).size;
      },
      'every line acknowledged',
      60_000,
    );
    await agent.stop();
    agent = undefined;
    second.child.kill('SIGTERM');
    await second.exited();
    const engine = await Engine.open({ dataDir, fsync: 'never', workers: 1 });
    try {
      expect([...new Set(await streamLines(engine, 'logs'))].sort()).toEqual([...written].sort());
    } finally {
      await engine.close();
    }
  });

  it('stops at start on a bad configuration, with the key and the reason', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'agent.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ flows: [{ filePattern: '/var/log/app.log', kinesisStream: 'logs', maxBufferAgeMillis: 10 }] }),
    );
    const result = await runCli(['agent', '--config', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('flows[0].maxBufferAgeMillis: must be an integer from 1000 to 900000');
  });
});
