import fs from 'node:fs';
import path from 'node:path';
import { DescribeStreamCommand, EnableEnhancedMonitoringCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node.js';
import { killAllClis, runCli, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: a running `serve` answers GET /metrics in Prometheus' text with the engine's and the
// family's metrics; `shardline enhanced-monitoring`, `cost` and `top` work against it, and the
// HTTP door's EnableEnhancedMonitoring (the AWS SDK's) shows in DescribeStream; an acknowledged
// setting survives a kill -9. Method: the CLI from its sources as child processes, a real
// Kinesis SDK client, fetch.

afterEach(killAllClis);

async function serve(dir = tempDir()): Promise<{ url: string; http: string; kinesis: string; dir: string; kill: () => Promise<void> }> {
  const server = startCli([
    'serve',
    '--data-dir',
    path.join(dir, 'data'),
    '--port',
    '0',
    '--kinesis-port',
    '0',
    '--workers',
    '1',
    '--fsync',
    'never',
  ]);
  const url = (await server.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  const kinesis = (await server.waitForOutput(/Kinesis HTTP API on (http:\/\/\S+)/))[1]!.replace(/\/$/, '');
  const http = (await server.waitForOutput(/metrics: (http:\/\/\S+)metrics/))[1]!;
  const kill = async (): Promise<void> => {
    server.child.kill('SIGKILL');
    await server.exited();
  };
  return { url, http, kinesis, dir, kill };
}

describe('serve metrics', () => {
  it('keeps the shard-level metrics an acknowledged EnableEnhancedMonitoring set through a kill -9', async () => {
    const first = await serve();
    expect((await runCli(['create-stream', 'm', '--shards', '1', '--url', first.url])).code).toBe(0);
    const enabled = await runCli(['enhanced-monitoring', 'enable', 'm', '--metrics', 'IncomingRecords', '--url', first.url]);
    expect([enabled.code, enabled.stderr]).toEqual([0, '']);
    await first.kill();

    const second = await serve(first.dir);
    const client = await connect(second.url);
    try {
      const { StreamDescription } = await client.call('DescribeStream', { StreamName: 'm' });
      expect(StreamDescription.EnhancedMonitoring).toEqual([{ ShardLevelMetrics: ['IncomingRecords'] }]);
    } finally {
      client.close();
    }
  });

  it('exports the stream metrics, group lag and the process metrics at /metrics', async () => {
    const { url, http } = await serve();
    const client = await connect(url);
    try {
      await client.call('CreateStream', { StreamName: 'm', ShardCount: 1 });
      await client.putRecords('m', [{ partitionKey: 'a', data: Buffer.from('0123456789') }]);
      await client.callNamed('PrepareGroup', { GroupName: 'g', StreamName: 'm' });
      const text = await (await fetch(`${http}metrics`)).text();
      expect(text).toContain('shardline_incoming_records_total{stream="m"} 1');
      expect(text).toContain('shardline_incoming_bytes_total{stream="m"} 11');
      expect(text).toContain('shardline_stream_open_shards{stream="m",mode="PROVISIONED"} 1');
      expect(text).toMatch(/shardline_api_requests_total\{operation="CreateStream",outcome="success"\} 1/);
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).toContain('# TYPE shardline_group_lag_records gauge');
    } finally {
      client.close();
    }
  });

  it('enhanced-monitoring, cost and top over the CALL; EnableEnhancedMonitoring over the HTTP door', async () => {
    const { url, kinesis, dir } = await serve();
    expect((await runCli(['create-stream', 'm', '--shards', '2', '--url', url])).code).toBe(0);
    const enabled = await runCli(['enhanced-monitoring', 'enable', 'm', '--metrics', 'IncomingBytes,IncomingRecords', '--url', url]);
    expect(enabled.stdout).toBe('m: shard-level metrics IncomingBytes, IncomingRecords (were none)\n');
    const refused = await runCli(['enhanced-monitoring', 'enable', 'm', '--metrics', 'Nope', '--url', url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/ValidationException|ShardLevelMetrics/);

    const sdk = new KinesisClient({
      endpoint: kinesis,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      requestHandler: new NodeHttpHandler(),
    });
    try {
      const answer = await sdk.send(new EnableEnhancedMonitoringCommand({ StreamName: 'm', ShardLevelMetrics: ['OutgoingBytes'] }));
      expect(answer.CurrentShardLevelMetrics).toEqual(['IncomingBytes', 'IncomingRecords']);
      expect(answer.DesiredShardLevelMetrics).toEqual(['IncomingBytes', 'IncomingRecords', 'OutgoingBytes']);
      const described = await sdk.send(new DescribeStreamCommand({ StreamName: 'm' }));
      expect(described.StreamDescription!.EnhancedMonitoring).toEqual([
        { ShardLevelMetrics: ['IncomingBytes', 'IncomingRecords', 'OutgoingBytes'] },
      ]);
    } finally {
      sdk.destroy();
    }

    const cost = await runCli(['cost', '--json', '--url', url]);
    expect(cost.code).toBe(0);
    const estimate = JSON.parse(cost.stdout) as { streams: { streamName: string; provisioned: { items: unknown[] } }[] };
    expect(estimate.streams.map((stream) => stream.streamName)).toEqual(['m']);
    expect(estimate.streams[0]!.provisioned.items.length).toBeGreaterThan(0);
    const text = await runCli(['cost', '--url', url]);
    expect(text.stdout).toMatch(/^STREAM +MODE +PROVISIONED/m);
    const badPrices = path.join(dir, 'prices.json');
    fs.writeFileSync(badPrices, JSON.stringify({ currency: 'USD', region: 'x', hoursPerMonth: 730, provisioned: {}, onDemand: {} }));
    const bad = await runCli(['cost', '--prices', badPrices, '--url', url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('provisioned.shardHour must be a price');

    const top = await runCli(['top', '--count', '2', '--interval', '200', '--url', url]);
    expect(top.code).toBe(0);
    const rows = top.stdout.split('\n').filter((line) => line.startsWith('m '));
    expect(rows).toHaveLength(2);
    expect(top.stdout).toMatch(/STREAM +MODE +SHARDS +IN REC\/S/);
  });
});
