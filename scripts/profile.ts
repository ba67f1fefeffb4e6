/**
 * CPU profile of a benchmark-suite run: runs `bench/suite/cli.ts run <workload> --system
 * shardline` with the shardline server (or, with --client, the load generator) under Node's
 * sampling profiler, then prints where each thread's .cpuprofile and flamegraph are and the
 * hottest functions by self time.
 *
 * Usage: npm run profile -- <workload> [--client] [--profile-dir <dir>] [runner options...]
 *   e.g. npm run profile -- bench/workloads/compare-throughput.json --duration 5
 * Every option not listed above goes to the runner as it is (--rate, --duration, --fsync, ...).
 * Profiles go to bench/results/profiles/<timestamp>/ (gitignored with bench/results/).
 * Exits with the runner's code (1: a bound of the workload was missed), or 1 without a profile.
 *
 * Why --cpu-prof and not 0x's own --prof capture: the adapter stops the server by sending
 * SIGTERM to the process it spawned, and 0x neither forwards that signal to the process it
 * profiles nor stops it any other way without `-P` (whose port detection does not see uWS), so
 * the run would hang; and when a signal does reach it, 0x's preload exits at once, skipping
 * the server's clean shutdown, and it graphs one V8 isolate of several, chosen by directory
 * order. --cpu-prof writes one profile per thread at a normal exit; 0x then only draws them.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { profilingServerWrap, readProfiles, type ThreadProfile } from '../bench/suite/cpu_profile.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNNER = path.join(REPO_ROOT, 'bench', 'suite', 'cli.ts');
const ZERO_X = path.join(REPO_ROOT, 'node_modules', '0x', 'cmd.js');
const PROFILES_ROOT = path.join(REPO_ROOT, 'bench', 'results', 'profiles');
const TOP_FUNCTIONS = 15;
/** Threads busy for less than this share of their samples (tsx's loader, idle pools) get no flamegraph or table. */
const BUSY_SHARE_MIN = 0.05;
interface Options {
  readonly client?: true;
  readonly profileDir?: string;
}

function runnerCommand(
  workload: string,
  runnerArgs: readonly string[],
  profileDir: string,
  client: boolean,
): { args: string[]; env: NodeJS.ProcessEnv } {
  // --system last: profiling is of shardline whatever the runner options say.
  const run = ['--import', 'tsx', RUNNER, 'run', workload, ...runnerArgs, '--system', 'shardline'];
  const env = { ...process.env };
  delete env.BENCH_SERVER_WRAP;
  if (client) return { args: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...run], env };
  return { args: run, env: { ...env, BENCH_SERVER_WRAP: profilingServerWrap(profileDir) } };
}

function runRunner(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Ctrl-C reaches the runner and the server too (one process group): outlive it, so the
  // profiles their exits write are still reported.
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      process.off('SIGINT', ignore);
      resolve(code ?? 1);
    });
  });
}

/** 0x draws a .cpuprofile without running anything; it writes <name>.html beside the profile. */
function renderFlamegraph(file: string): string | null {
  const name = path.basename(file, '.cpuprofile');
  // cwd: 0x deletes stray isolate-*.log files from its working directory when it finishes.
  const result = spawnSync(process.execPath, [ZERO_X, '--quiet', '--visualize-cpu-profile', file, '--name', name], {
    cwd: path.dirname(file),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const html = path.join(path.dirname(file), `${name}.html`);
  return result.status === 0 && fs.existsSync(html) ? html : null;
}

function printThread(profile: ThreadProfile): void {
  const busyShare = profile.totalMs > 0 ? profile.busyMs / profile.totalMs : 0;
  console.log(
    `\n${profile.thread}: busy ${(profile.busyMs / 1000).toFixed(1)} s of ${(profile.totalMs / 1000).toFixed(1)} s (${(busyShare * 100).toFixed(0)}%)`,
  );
  console.log(`  profile:    ${profile.file}`);
  if (busyShare < BUSY_SHARE_MIN) return;
  console.log(`  flamegraph: ${renderFlamegraph(profile.file) ?? '(0x could not draw it)'}`);
  console.log(`  top ${TOP_FUNCTIONS} by self time:`);
  for (const [key, ms] of profile.selfMs.slice(0, TOP_FUNCTIONS)) {
    console.log(`  ${ms.toFixed(0).padStart(8)} ms ${((ms / profile.busyMs) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}

function report(profileDir: string, target: string): boolean {
  const profiles = readProfiles(profileDir);
  if (profiles.length === 0) {
    console.error(`no .cpuprofile in ${profileDir}: the ${target} never started, or did not exit normally (profiles are written at exit)`);
    return false;
  }
  console.log(`\nCPU profiles of the ${target} (one per thread) in ${profileDir}`);
  console.log(
    'Open a .cpuprofile in Chrome DevTools (Performance tab, "Load profile") or in VS Code; the flamegraphs are 0x\'s HTML, for a browser.',
  );
  for (const profile of profiles) printThread(profile);
  return true;
}

async function main(workload: string, runnerArgs: string[], options: Options): Promise<number> {
  const profileDir = path.resolve(options.profileDir ?? path.join(PROFILES_ROOT, new Date().toISOString().replace(/[:.]/g, '-')));
  fs.mkdirSync(profileDir, { recursive: true });
  const target = options.client === true ? 'load generator' : 'shardline server';
  const { args, env } = runnerCommand(path.resolve(workload), runnerArgs, profileDir, options.client === true);
  console.log(`profiling the ${target}: node ${args.join(' ')}`);
  const code = await runRunner(args, env);
  if (code !== 0) console.log(`the runner exited with code ${code}`);
  const reported = report(profileDir, target);
  return code !== 0 ? code : reported ? 0 : 1;
}

const program = new Command('profile')
  .description('CPU-profile a benchmark-suite run of shardline (the server, or with --client the load generator)')
  .argument('<workload>', 'workload file (bench/workloads/*.json or .yaml)')
  .argument('[runner options...]', 'passed to `bench/suite/cli.ts run` as they are, e.g. --duration 5')
  .option('--client', 'profile the load generator (the runner) instead of the server')
  .option('--profile-dir <dir>', `where profiles go (default ${path.relative(REPO_ROOT, PROFILES_ROOT)}/<timestamp>)`)
  .allowUnknownOption()
  .action(async (workload: string, runnerArgs: string[], options: Options) => {
    process.exitCode = await main(workload, runnerArgs, options);
  });

await program.parseAsync(process.argv);
