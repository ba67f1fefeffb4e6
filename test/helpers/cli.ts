import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/*
 * The real `shardline` binary as child processes: `node --import tsx src/cli/main.ts ...`, run from
 * the repository root. Every child started here is killed by killAllClis() if it is still
 * running, so a failed test leaves no server or tail behind.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
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
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.SHARDLINE_URL === undefined) delete env.SHARDLINE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env, stdio: 'pipe' });
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
          else if (!running.has(child)) reject(new Error(`shardline ${args.join(' ')} exited before printing ${String(pattern)}; stdout: ${stdout}; stderr: ${stderr}`));
          else return;
          changed.delete(check);
        };
        changed.add(check);
        check();
      }),
  };
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited();
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
