/*
 * `shardline agent --config agent.json` (docs/AGENT.md): the configuration's flows, each tailing
 * its files into its stream or delivery stream, positions in the checkpoint file, and a status
 * endpoint (`GET /status` on 127.0.0.1:<statusPort>) with each flow's metrics under the Kinesis
 * Agent's names, and the same in Prometheus' text at `GET /metrics`. A destination that cannot
 * be reached at start (or later) is tried again at the next send: the agent never stops for it;
 * reading pauses while its buffer is full.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAgentConfig, type AgentConfig, type FlowConfig } from './agent_config.js';
import { CheckpointFile } from './checkpoints.js';
import type { Registry } from 'prom-client';
import { agentRegistry } from '../metrics/agent_metrics.js';
import { FLOW_METRIC_NAMES, Flow } from './flow.js';
import { openSender, type Sender } from './senders.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

export class Agent {
  private readonly flows: Flow[];
  private readonly senders: ReturnType<typeof reconnecting>[];
  private status: http.Server | null = null;

  private constructor(
    readonly config: AgentConfig,
    checkpoints: CheckpointFile,
  ) {
    this.senders = config.flows.map((flow) => reconnecting(config, flow));
    this.flows = config.flows.map((flow, index) => new Flow(flow, this.senders[index]!.get, checkpoints));
  }

  /** Reads the configuration and the checkpoint file (either refused: nothing starts). */
  static open(text: string, source: string, overrides: { statusPort?: number; checkpointFile?: string } = {}): Agent {
    const parsed = parseAgentConfig(text, source);
    const config: AgentConfig = { ...parsed, ...overrides };
    return new Agent(config, CheckpointFile.open(config.checkpointFile));
  }

  /** The status endpoint's URL, once started with a status port. */
  get statusUrl(): string | null {
    const address = this.status?.address() as AddressInfo | null | undefined;
    return address === null || address === undefined ? null : `http://127.0.0.1:${address.port}/status`;
  }

  async start(): Promise<void> {
    for (const flow of this.flows) flow.start();
    if (this.config.statusPort === undefined) return;
    const registry = agentRegistry(() => this.flows.map((flow) => flow.counters), FLOW_METRIC_NAMES);
    this.status = await listen(this.config.statusPort, () => this.report(), registry);
  }

  /** Sends what is buffered (for at most 10 s), saves the positions, stops. */
  async stop(): Promise<void> {
    await new Promise((resolve) => (this.status === null ? resolve(undefined) : this.status.close(resolve)));
    await Promise.all(this.flows.map((flow) => flow.stop(SHUTDOWN_TIMEOUT_MS)));
    await Promise.all(this.senders.map((sender) => sender.close()));
  }

  report(): { flows: Record<string, unknown>[] } {
    return { flows: this.flows.map((flow) => flow.status) };
  }
}

/** A sender opened at the first send and opened again after a failed one (a server restarted, a connection dropped). */
function reconnecting(config: AgentConfig, flow: FlowConfig): { get: () => Promise<Sender>; close: () => Promise<void> } {
  let current: Promise<Sender> | null = null;
  const drop = async (): Promise<void> => {
    const closing = current;
    current = null;
    await (await closing?.catch(() => null))?.close().catch(() => undefined);
  };
  const get = async (): Promise<Sender> => {
    current ??= openSender(config, flow.destination);
    const sender = await current.catch(async (error: unknown) => {
      current = null;
      throw error;
    });
    return {
      label: sender.label,
      put: (records) =>
        sender.put(records).catch(async (error: unknown) => {
          await drop();
          throw error;
        }),
      close: () => sender.close(),
    };
  };
  return { get, close: drop };
}

function listen(port: number, report: () => unknown, registry: Registry): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    const found = request.method === 'GET' && request.url === '/status';
    response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(found ? report() : { message: 'GET /status or GET /metrics' }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
