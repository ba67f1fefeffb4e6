import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILT_CLI_FILE,
  REPO_ROOT,
  closedPort,
  killAllClis,
  runCli,
  runProcess,
  startCli,
  type CliProcess,
  type CliResult,
} from './helpers/cli.js';
import { callKinesis } from './helpers/kinesis_requests.js';
import { suiteTempDir, tempDir } from './helpers/temp_dir.js';

// Goal: the CLI a newcomer gets works as built JavaScript, from a clone and from an installed
// package: `npm pack` builds dist/ through the prepare script (what `npm ci` runs in a clone),
// the built CLI serves (WebSocket, Kinesis HTTP, shard worker threads, the verifier's piscina
// threads) with no TypeScript loader, its client commands and --help load none of the server's
// modules and `serve` none of the client's, and the packed tarball, installed into an empty
// project, runs through its bin.
// Method: one `npm pack` in beforeAll, after removing dist/, so only the prepare script can
// have built what is packed and run; real child processes, a real `npm install` of the tarball
// (dependencies from the npm cache or registry, the addon built by node-gyp). Module loading is
// seen through a resolve hook (test/fixtures/record_imports.mjs). Nothing waits on a clock.

const BUILT_CLI = [process.execPath, BUILT_CLI_FILE];
const RECORD_IMPORTS = path.join(REPO_ROOT, 'test/fixtures/record_imports.mjs');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** npm pack builds (tsc, the browser bundle); npm install fetches and compiles the addon. */
const NPM_TIMEOUT_MS = 300_000;
const TEST_TIMEOUT_MS = 120_000;

let packDir: { dir: string; remove: () => void };
let tarball: string;

beforeAll(async () => {
  packDir = suiteTempDir('shardline-pack-');
  fs.rmSync(path.join(REPO_ROOT, 'dist'), { recursive: true, force: true });
  const packed = await runProcess(['npm', 'pack', '--pack-destination', packDir.dir]);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = path.join(packDir.dir, `shardline-${VERSION}.tgz`);
}, NPM_TIMEOUT_MS);

/** Processes started by a child of ours (npm start's server): killed after each test if still there. */
const grandchildren: number[] = [];

afterEach(async () => {
  // First: a grandchild holds its parent's output open, so the parent's 'close' waits for it.
  for (const pid of grandchildren.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  await killAllClis();
});

afterAll(async () => {
  await killAllClis();
  packDir?.remove();
});

function expectDone(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
}

/**
 * Serves with `cli` on free ports, and through it and the Kinesis API creates a stream, puts
 * records (shard worker threads), verifies the stream (piscina threads) and stops with SIGTERM.
 */
async function serveAndUse(cli: readonly string[], cwd = REPO_ROOT): Promise<void> {
  const serve = startCli(['serve', '--port', '0', '--kinesis-port', '0', '--data-dir', tempDir(), '--workers', '1', '--fsync', 'never'], {
    cli,
    cwd,
  });
  const url = (await serve.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
  const kinesisPort = Number((await serve.waitForOutput(/^Kinesis HTTP API on http:\/\/127\.0\.0\.1:(\d+) /m))[1]);

  expectDone(await runCli(['create-stream', 'built', '--shards', '2', '--url', url], { cli, cwd }));
  const put = await runCli(['put', 'built', 'a', 'b', 'c', '--url', url], { cli, cwd });
  expectDone(put);
  expect(put.stdout.trim().split('\n')).toHaveLength(3);

  const listed = await callKinesis(kinesisPort, 'ListStreams', {});
  expect(listed.body).toMatchObject({ StreamNames: ['built'] });
  const verified = await callKinesis(kinesisPort, 'VerifyStream', { StreamName: 'built' });
  expect(verified.status, JSON.stringify(verified.body)).toBe(200);
  const shards = verified.body.Shards as Array<{ Batches: number; Corrupt: unknown[] }>;
  expect(shards.reduce((sum, shard) => sum + shard.Batches, 0)).toBeGreaterThan(0);
  expect(shards.every((shard) => shard.Corrupt.length === 0)).toBe(true);

  serve.child.kill('SIGTERM');
  const stopped = await serve.exited();
  expectDone(stopped);
  expect(stopped.stdout).toContain('stopped\n');
}

/** The built CLI with `args`, under the resolve hook: the child, and what it has imported so far. */
function withImportLog(args: readonly string[]): { cli: CliProcess; imports(): string[] } {
  const file = path.join(tempDir(), 'imports.txt');
  const cli = startCli(args, { cli: [process.execPath, '--import', RECORD_IMPORTS, BUILT_CLI_FILE], env: { RECORD_IMPORTS_FILE: file } });
  return {
    cli,
    imports: () =>
      fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .filter((line) => line.length > 0)
        : [],
  };
}

/** Modules only `serve` needs: the engine and its threads, the native addon, both servers. */
const SERVER_MODULES = [
  /\/dist\/engine\//,
  /\/dist\/workers\//,
  /\/dist\/native\//,
  /\/dist\/net\/server\.js$/,
  /\/dist\/net\/kinesis\/server\.js$/,
  /^node:http2$/,
  /\/node_modules\/(cbor|piscina|uWebSockets\.js)\//,
];
/** Modules only the client commands need. */
const CLIENT_MODULES = [/\/dist\/client\//, /\/node_modules\/ws\//];

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function matching(imports: readonly string[], patterns: readonly RegExp[]): string[] {
  return imports.filter((url) => patterns.some((pattern) => pattern.test(url)));
}

describe('npm pack', { timeout: TEST_TIMEOUT_MS }, () => {
  it('builds through prepare and packs the bin, the browser bundle and the sources of the addon', async () => {
    const listed = await runProcess(['tar', '-tzf', tarball]);
    expectDone(listed);
    const files = listed.stdout.split('\n').map((line) => line.replace(/^package\//, ''));
    for (const file of [
      'package.json',
      'binding.gyp',
      'dist/cli/main.js',
      'dist/index.js',
      'dist/client/node.js',
      'dist/browser/shardline-client.js',
      'src/native/mapping.cc',
    ])
      expect(files).toContain(file);
    expect(files.filter((file) => /^(build|test|node_modules)\//.test(file))).toEqual([]);
    expect(fs.readFileSync(BUILT_CLI_FILE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('the built CLI', { timeout: TEST_TIMEOUT_MS }, () => {
  it('prints its version and help', async () => {
    const version = await runCli(['--version'], { cli: BUILT_CLI });
    expectDone(version);
    expect(version.stdout).toBe(`${VERSION}\n`);
    const help = await runCli(['--help'], { cli: BUILT_CLI });
    expectDone(help);
    expect(help.stdout).toContain('Usage: shardline');
  });

  it('serves as npm start, which a SIGTERM to npm stops cleanly', async () => {
    const dataDir = tempDir();
    const start = startCli(['--port', '0', '--kinesis-port', '0', '--data-dir', dataDir, '--workers', '1'], {
      cli: ['npm', 'start', '--silent', '--'],
    });
    await start.waitForOutput(/^Kinesis HTTP API on /m);
    // The server's pid, from its data directory's lock: killAllClis() knows only npm's.
    const serverPid = Number(fs.readFileSync(path.join(dataDir, 'LOCK'), 'utf8'));
    grandchildren.push(serverPid);
    start.child.kill('SIGTERM');
    expectDone(await start.exited());
    expect(start.stdout()).toContain('shutting down\nstopped\n');
    expect(isRunning(serverPid)).toBe(false);
  });

  it('serves from JavaScript alone: WebSocket, Kinesis HTTP, shard workers, verification', async () => {
    await serveAndUse(BUILT_CLI);
  });

  it('--help and the client commands load neither the engine nor a server', async () => {
    const port = await closedPort();
    const help = withImportLog(['--help']);
    expectDone(await help.cli.exited());
    expect(matching(help.imports(), [...SERVER_MODULES, ...CLIENT_MODULES])).toEqual([]);
    for (const args of [['list-streams'], ['put', 'stream', 'data']]) {
      const client = withImportLog([...args, '--url', `ws://127.0.0.1:${port}/`]);
      expect((await client.cli.exited()).stderr).toContain('cannot connect');
      // The hook saw the client load, so it would have seen a server module too.
      expect(matching(client.imports(), CLIENT_MODULES).length).toBeGreaterThan(0);
      expect(matching(client.imports(), SERVER_MODULES)).toEqual([]);
    }
  });

  it('serve loads no client module and no TypeScript', async () => {
    const serve = withImportLog(['serve', '--port', '0', '--kinesis-port', '0', '--data-dir', tempDir(), '--workers', '1']);
    await serve.cli.waitForOutput(/^Kinesis HTTP API on /m);
    serve.cli.child.kill('SIGTERM');
    expectDone(await serve.cli.exited());
    const imports = serve.imports();
    expect(matching(imports, SERVER_MODULES).length).toBeGreaterThan(0);
    expect(matching(imports, CLIENT_MODULES)).toEqual([]);
    expect(imports.filter((url) => url.endsWith('.ts') || url.includes('/node_modules/tsx/'))).toEqual([]);
  });
});

describe('the installed package', { timeout: NPM_TIMEOUT_MS }, () => {
  it('installs from its tarball into an empty project and serves through its bin', async () => {
    const project = tempDir('shardline-install-');
    // allowScripts: npm 11 asks a project to approve a dependency's install script (node-gyp).
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'try-shardline', version: '1.0.0', private: true, allowScripts: { shardline: true } }),
    );
    const installed = await runProcess(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project });
    expectDone(installed);
    // The bin as npm links it (its shebang and mode), where no tsx is installed.
    const bin = [path.join(project, 'node_modules/.bin/shardline')];
    expect(fs.existsSync(path.join(project, 'node_modules/tsx'))).toBe(false);
    const version = await runCli(['--version'], { cli: bin, cwd: project });
    expectDone(version);
    expect(version.stdout).toBe(`${VERSION}\n`);
    await serveAndUse(bin, project);
  });
});
