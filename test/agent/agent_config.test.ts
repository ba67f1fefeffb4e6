import { describe, expect, it } from 'vitest';
import { AgentConfigError, parseAgentConfig } from '../../src/agent/agent_config.js';

// Goal: agent.json is read as the Kinesis Agent reads it (its keys, defaults and ranges), with
// shardline's additions, and each bad key stops the agent with the key and the reason.
// Method: configurations as text, parsed; the errors' keys and messages compared exactly.

const minimal = { flows: [{ filePattern: '/var/log/app/*.log', kinesisStream: 'logs' }] };

function refusal(config: unknown): { key: string; message: string } {
  try {
    parseAgentConfig(JSON.stringify(config), 'agent.json');
  } catch (error) {
    if (error instanceof AgentConfigError) return { key: error.key, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

describe('agent.json', () => {
  it("fills the Kinesis Agent's defaults", () => {
    const config = parseAgentConfig(JSON.stringify(minimal), 'agent.json');
    expect(config).toMatchObject({ region: 'us-east-1', checkpointFile: '/var/run/aws-kinesis-agent/checkpoints' });
    expect(config.flows[0]).toMatchObject({
      id: 'flows[0]',
      destination: { kind: 'stream', name: 'logs' },
      partitionKeyOption: 'RANDOM',
      initialPosition: 'END_OF_FILE',
      maxBufferAgeMillis: 60_000,
      maxBufferSizeRecords: 500,
      maxBufferSizeBytes: 5 * 1024 * 1024,
      skipHeaderLines: 0,
      truncatedRecordTerminator: '\n',
      dataProcessingOptions: [],
    });
  });

  it('takes a delivery stream, endpoints, credentials, multi-line settings and a dead-letter file', () => {
    const config = parseAgentConfig(
      JSON.stringify({
        'kinesis.endpoint': 'ws://127.0.0.1:4567/',
        'firehose.endpoint': 'http://127.0.0.1:4568',
        awsAccessKeyId: 'AKID',
        awsSecretAccessKey: 'secret',
        statusPort: 0,
        flows: [
          { filePattern: '/var/log/**/*.log', deliveryStream: 'lake', multiLine: { preset: 'python' }, deadLetterFile: '/tmp/dead.jsonl' },
          { filePattern: '/var/log/app.log', kinesisStream: 'logs', multiLineStartPattern: '^\\\\d{4}-' },
        ],
      }),
      'agent.json',
    );
    expect(config).toMatchObject({ kinesisEndpoint: 'ws://127.0.0.1:4567/', firehoseEndpoint: 'http://127.0.0.1:4568', statusPort: 0 });
    expect(config.credentials).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret' });
    expect(config.flows[0]).toMatchObject({
      destination: { kind: 'deliveryStream', name: 'lake' },
      maxBufferSizeBytes: 4 * 1024 * 1024,
      maxRecordBytes: 1_024_000,
      multiLine: { kind: 'preset', preset: 'python', timeoutMs: 1000 },
      deadLetterFile: '/tmp/dead.jsonl',
    });
    expect(config.flows[1]!.multiLine).toMatchObject({ kind: 'startPattern' });
  });

  it('refuses each bad key with the key and the reason', () => {
    const flow = minimal.flows[0]!;
    expect(refusal({ flows: [] })).toEqual({ key: 'flows', message: 'flows: flows must be a list of at least one flow' });
    expect(refusal({ ...minimal, nonsense: 1 })).toMatchObject({ key: 'nonsense' });
    expect(refusal({ flows: [{ ...flow, maxBufferSizeRecords: 501 }] })).toEqual({
      key: 'flows[0].maxBufferSizeRecords',
      message: 'flows[0].maxBufferSizeRecords: must be an integer from 1 to 500',
    });
    expect(refusal({ flows: [{ ...flow, deliveryStream: 'x' }] }).key).toBe('flows[0]');
    expect(refusal({ flows: [{ ...flow, filePattern: 'relative/*.log' }] }).key).toBe('flows[0].filePattern');
    expect(refusal({ flows: [{ ...flow, initialPosition: 'MIDDLE' }] }).message).toContain('END_OF_FILE, START_OF_FILE');
    expect(refusal({ flows: [{ ...flow, multiLineStartPattern: '(' }] }).key).toBe('flows[0].multiLineStartPattern');
    expect(refusal({ 'kinesis.endpoint': 'ftp://x', ...minimal }).key).toBe('kinesis.endpoint');
    expect(refusal({ flows: [{ ...flow, dataProcessingOptions: [{ optionName: 'LOGTOJSON', logFormat: 'NOPE' }] }] }).key).toBe(
      'flows[0].dataProcessingOptions[0].logFormat',
    );
  });
});
