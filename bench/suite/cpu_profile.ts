/**
 * Reading the .cpuprofile files Node writes with --cpu-prof (Chrome DevTools' format): self time
 * per function and thread, for scripts/profile.ts and for the comparison's "where the time goes".
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Worker threads by a script only they run, to name them in the report. */
const WORKER_ROLES: ReadonlyArray<readonly [string, string]> = [
  ['/src/workers/shard_worker.ts', 'shard worker'],
  ['/piscina/', 'piscina pool'],
  ['node:internal/modules/esm/worker', "tsx's module loader"],
];
/**
 * The adapter puts BENCH_SERVER_WRAP before `node ...`, and Node 20 refuses --cpu-prof in
 * NODE_OPTIONS: sh puts the flags after the node binary and execs it, so the server stays the
 * process the adapter signals. $0 is the profile directory, $1 the node binary.
 */
const SERVER_WRAP_SCRIPT = 'node="$1"; shift; exec "$node" --cpu-prof --cpu-prof-dir="$0" "$@"';

/** BENCH_SERVER_WRAP for the shardline adapter: the server under --cpu-prof, profiles into `dir`. */
export function profilingServerWrap(dir: string): string {
  return JSON.stringify(['sh', '-c', SERVER_WRAP_SCRIPT, dir]);
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

/** The parts of a .cpuprofile (Chrome DevTools' format) read here. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: CallFrame }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ThreadProfile {
  readonly file: string;
  readonly thread: string;
  readonly totalMs: number;
  readonly busyMs: number;
  /** Self time per function, busiest first, without (idle). */
  readonly selfMs: ReadonlyArray<readonly [string, number]>;
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.startsWith('file://') ? path.relative(REPO_ROOT, fileURLToPath(frame.url)) : frame.url;
  // tsx runs .ts files transpiled with whitespace minified: their line numbers say nothing.
  return file.endsWith('.ts') ? `${name} ${file}` : `${name} ${file}:${frame.lineNumber + 1}`;
}

/** Sample i lasts until sample i + 1, as DevTools counts it. */
function selfTimes(profile: CpuProfile): Map<string, number> {
  const keys = new Map(profile.nodes.map((node) => [node.id, functionKey(node.callFrame)]));
  const selfMs = new Map<string, number>();
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const key = keys.get(profile.samples[i]!) ?? '(unknown)';
    selfMs.set(key, (selfMs.get(key) ?? 0) + profile.timeDeltas[i + 1]! / 1000);
  }
  return selfMs;
}

/**
 * Node names profiles CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; thread 0 is
 * the main thread. A worker is told by a script only it runs.
 */
function threadOf(file: string, profile: CpuProfile): string {
  const threadId = /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
  if (threadId === '0') return 'main thread';
  const role = WORKER_ROLES.find(([marker]) => profile.nodes.some((node) => node.callFrame.url.includes(marker)))?.[1];
  return `worker thread ${threadId ?? '?'}${role === undefined ? '' : ` (${role})`}`;
}

export function readThreadProfile(file: string): ThreadProfile {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const selfMs = selfTimes(profile);
  const totalMs = [...selfMs.values()].reduce((sum, ms) => sum + ms, 0);
  const idleMs = selfMs.get('(idle)') ?? 0;
  selfMs.delete('(idle)');
  return { file, thread: threadOf(file, profile), totalMs, busyMs: totalMs - idleMs, selfMs: [...selfMs].sort((a, b) => b[1] - a[1]) };
}

/** Every thread's profile in `dir`, busiest first. */
export function readProfiles(dir: string): ThreadProfile[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => readThreadProfile(path.join(dir, name)))
    .sort((a, b) => b.busyMs - a.busyMs);
}
