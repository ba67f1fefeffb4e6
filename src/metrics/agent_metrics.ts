import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * The agent's `GET /metrics` (docs/AGENT.md): each flow's Kinesis Agent counters under
 * Prometheus names (BytesSent as shardline_agent_bytes_sent_total{flow}), and the records it
 * holds, read from the flows' status when scraped. One series per flow and metric.
 */

export interface FlowReport {
  readonly flow: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly buffered: number;
}

/** BytesSent -> bytes_sent. */
const snakeCase = (name: string): string => name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();

export function agentRegistry(flows: () => readonly FlowReport[], metricNames: readonly string[]): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of metricNames)
    new Counter({
      name: `shardline_agent_${snakeCase(name)}_total`,
      help: `the Kinesis Agent's ${name}`,
      labelNames: ['flow'],
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        for (const flow of flows()) this.inc({ flow: flow.flow }, flow.metrics[name] ?? 0);
      },
    });
  new Gauge({
    name: 'shardline_agent_buffered_records',
    help: 'records read and not yet acknowledged by the destination',
    labelNames: ['flow'],
    registers: [registry],
    collect(this: Gauge) {
      this.reset();
      for (const flow of flows()) this.set({ flow: flow.flow }, flow.buffered);
    },
  });
  return registry;
}
