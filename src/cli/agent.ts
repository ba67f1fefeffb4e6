import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { untilSignal, writeLine } from './process_io.js';

/*
 * `shardline agent --config agent.json` (docs/AGENT.md): tails log files into streams and delivery
 * streams until SIGINT or SIGTERM, then sends what it holds (10 s at most) and saves its positions.
 * The agent's modules load only for this command.
 */

interface AgentOptions {
  readonly config: string;
  readonly statusPort?: number;
  readonly checkpointFile?: string;
}

export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description("tail log files into streams or delivery streams (the Kinesis Agent's agent.json)")
    .requiredOption('--config <file>', "the agent's configuration (the Kinesis Agent's agent.json)")
    .addOption(
      new Option('--status-port <port>', 'serve GET /status with the metrics here (0 picks a free port)').argParser((value) => {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('a port');
        return port;
      }),
    )
    .option('--checkpoint-file <file>', "where the positions are kept (default: the configuration's checkpointFile)")
    .action((options: AgentOptions) => runAgent(options));
}

async function runAgent(options: AgentOptions): Promise<void> {
  const file = path.resolve(options.config);
  const text = fs.readFileSync(file, 'utf8');
  const { Agent } = await import('../agent/agent.js');
  const agent = Agent.open(text, file, {
    ...(options.statusPort === undefined ? {} : { statusPort: options.statusPort }),
    ...(options.checkpointFile === undefined ? {} : { checkpointFile: path.resolve(options.checkpointFile) }),
  });
  const stop = untilSignal();
  await agent.start();
  await writeLine(`agent running ${agent.config.flows.length} flow(s)${agent.statusUrl === null ? '' : `, status at ${agent.statusUrl}`}`);
  await stop.signal;
  stop.dispose();
  await agent.stop();
  await writeLine('agent stopped');
}
