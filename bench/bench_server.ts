/**
 * bench/net_bench_server.ts as a child process, for bench:net, bench:http and the suite's
 * shardline adapter: started with its MODE and settings in the environment, ready once it
 * prints "READY <port>", stopped with SIGTERM (SIGKILL after a timeout), and killed with this
 * process whatever happens (scripts/peers.ts track).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { READY_TIMEOUT_MS, kill, track } from '../scripts/peers.js';

const SERVER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'net_bench_server.ts');

export interface BenchServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** BENCH_SERVER_WRAP: argv words put before the server command (scripts/profile.ts uses it). */
function serverCommand(): string[] {
  const wrap = process.env.BENCH_SERVER_WRAP;
  const prefix = wrap === undefined || wrap === '' ? [] : (JSON.parse(wrap) as string[]);
  return [...prefix, process.execPath, '--import', 'tsx', SERVER_SCRIPT];
}

export async function startBenchServer(settings: Readonly<Record<string, string>>): Promise<BenchServer> {
  const [command, ...args] = serverCommand();
  const child = spawn(command!, args, { env: { ...process.env, ...settings }, stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  try {
    return { port: await readyPort(child), stop: () => kill(child, 'SIGTERM') };
  } catch (error) {
    await kill(child, 'SIGKILL').catch(() => undefined);
    throw error;
  }
}

function readyPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`bench server not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    child.once('error', (error) => fail(new Error(`bench server did not start: ${error.message}`)));
    child.once('exit', (code) => fail(new Error(`bench server exited (${code}) before it was ready`)));
    lines.on('line', (line) => {
      const match = /^READY (\d+)$/.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
  });
}
