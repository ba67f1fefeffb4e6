import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/*
 * The real `shardline` binary as child processes: by default `node --import tsx src/cli/main.ts
 * ...`, run from the repository root; `cli` runs another one (the built dist/cli/main.js, an
 * installed bin). Other programs (npm, tar) run the same way through startProcess. Every child
 * started here is killed by killAllClis() if it is still running, so a failed test leaves no
 * server or tail behind.
 */

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI from its TypeScript sources, as the tests of its commands run it. */
export const SOURCE_CLI: readonly string[] = [
  process.execPath,
  '--import',
  'tsx',
  fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
];
/** The CLI as `npm run build` writes it and package.json's bin names it. */
export const BUILT_CLI_FILE = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const running = new Set<ChildProcessWithoutNullStreams>();

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed. Default: nothing (stdin at its end at once). */
  readonly input?: string;
  /** Added to the environment; SHARDLINE_URL is removed unless given here. */
  readonly env?: Record<string, string>;
  /** The program and its leading arguments. Default SOURCE_CLI. */
  readonly cli?: readonly string[];
  /** Default the repository root. */
  readonly cwd?: string;
}

/** A running CLI whose output is gathered as it comes. */
export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the child exits first. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves once the child has exited. */
  exited(): Promise<CliResult>;
}

export function startCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  return startProcess([...(options.cli ?? SOURCE_CLI), ...args], options);
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited();
}

/** Runs `command` (a program and its arguments) to its end. */
export function runProcess(command: readonly string[], options: Omit<CliOptions, 'cli'> = {}): Promise<CliResult> {
  return startProcess(command, options).exited();
}

function startProcess(command: readonly string[], options: Omit<CliOptions, 'cli'>): CliProcess {
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd ?? REPO_ROOT, env: childEnv(options.env), stdio: 'pipe' });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const changed = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    for (const wake of changed) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  // 'close' (not 'exit'): both output streams have ended, so nothing written is missed.
  const closed = once(child, 'close').then(([code, signal]) => {
    running.delete(child);
    for (const wake of changed) wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr };
  });
  child.stdin.end(options.input ?? '');
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => closed,
    waitForOutput: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = stdout.match(pattern);
          if (match !== null) resolve(match);
          else if (!running.has(child))
            reject(new Error(`${command.join(' ')} exited before printing ${String(pattern)}; stdout: ${stdout}; stderr: ${stderr}`));
          else return;
          changed.delete(check);
        };
        changed.add(check);
        check();
      }),
  };
}

/**
 * The environment a user's shell would give: without SHARDLINE_URL (unless `extra` sets it)
 * and without the npm_* variables of `npm test`, which a child npm would take as its config.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('npm_') && name !== 'SHARDLINE_URL') env[name] = value;
  return { ...env, ...extra };
}

/** Kills every child still running (afterEach / afterAll). */
export async function killAllClis(): Promise<void> {
  const children = [...running];
  for (const child of children) child.kill('SIGKILL');
  // Only children whose 'close' has not come yet are in the set.
  await Promise.all(children.map((child) => once(child, 'close')));
}

/** A port on 127.0.0.1 that nothing listened on a moment ago: for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
