#!/usr/bin/env node
/*
 * The `shardline` command (package.json's bin, built to dist/cli/main.js): `serve` runs an
 * engine behind the WebSocket server and the Kinesis HTTP API; the other commands are a small
 * client (create-stream, list-streams, describe, put, tail, split, merge, group) over the Node client,
 * for scripts and for poking at a running server by hand. One file per command group; each
 * loads what its command needs when it runs, so --help or a client command starts fast.
 *
 * Exit codes: 0 success, 1 an operation failed (the server's error, or no server), 2 bad usage
 * (commander's parse errors and every option parser). Errors are one line on stderr:
 * `shardline: <code>: <message>`.
 */
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { addAuditCommands } from './audit.js';
import { addAuthCommands } from './auth.js';
import { OutputClosedError, describeError } from './errors.js';
import { addGroupCommands } from './groups.js';
import { addKmsCommands } from './kms.js';
import { addRecordCommands } from './records.js';
import { addServeCommand } from './serve.js';
import { addShardCommands } from './shards.js';
import { addStreamCommands } from './streams.js';
import { addTriggerCommands } from './triggers.js';
import { addDeliveryCommands } from './delivery.js';
import { addQueryCommands } from './queries.js';
import { addAgentCommand } from './agent.js';
import { addMetricsCommands } from './metrics.js';
import { addClockCommands } from './clock.js';
import { addCaptureCommands } from './capture.js';
import { addFaultCommands } from './faults.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Runs the command line `argv` (without node and the script) and resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    // Help and --version arrive here as CommanderErrors too, with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (error instanceof OutputClosedError) return EXIT_OK;
    process.stderr.write(`${describeError(error)}\n`);
    return EXIT_FAILED;
  }
}

function buildProgram(): Command {
  // Set before the subcommands exist: commander copies these settings into each of them.
  const program = new Command('shardline')
    .description('a local streaming engine with the Kinesis Data Streams model')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`shardline: ${text.replace(/^error: /, '')}`) });
  addServeCommand(program);
  addStreamCommands(program);
  addRecordCommands(program);
  addShardCommands(program);
  addGroupCommands(program);
  addAuditCommands(program);
  addAuthCommands(program);
  addKmsCommands(program);
  addTriggerCommands(program);
  addDeliveryCommands(program);
  addQueryCommands(program);
  addAgentCommand(program);
  addMetricsCommands(program);
  addClockCommands(program);
  addCaptureCommands(program);
  addFaultCommands(program);
  return program;
}

function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
  const text = fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function run(): Promise<void> {
  // writeLine's callbacks see stdout's errors; without a listener the 'error' event would crash.
  process.stdout.on('error', () => undefined);
  const code = await main(process.argv.slice(2));
  // Exit explicitly (workers, sockets and stdin may linger), after stdout has drained.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

void run();
