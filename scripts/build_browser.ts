import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

/*
 * Bundles the browser client (src/client/browser.ts) into one ES module,
 * dist/browser/shardline-client.js, the file package.json exports as "shardline/client/browser".
 * The client shares the wire codecs with the server, so a careless import can drag Node-only
 * code (ws, node:*, the engine) into the bundle; this build refuses such a bundle, writes
 * nothing, and names the import chain that brought each Node-only module in.
 */

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY_POINT = 'src/client/browser.ts';
export const BROWSER_BUNDLE_FILE = path.join(ROOT_DIR, 'dist/browser/shardline-client.js');

/** Packages that run only in Node. ws would otherwise resolve to its browser stub, which throws. */
const NODE_ONLY_PACKAGES = ['ws', 'bufferutil', 'utf-8-validate', 'uWebSockets.js', 'piscina', 'commander', 'node-addon-api'];
/**
 * Marked external so that esbuild finishes and its metafile shows who imports them: left to
 * esbuild, a node:* import fails the build with only the last importer named.
 */
export const NODE_ONLY_IMPORTS = ['node:*', ...builtinModules, ...NODE_ONLY_PACKAGES, ...NODE_ONLY_PACKAGES.map((name) => `${name}/*`)];
/** Our modules that only the server runs; reaching one means the engine came along. */
const SERVER_ONLY_PATHS = [
  'src/engine/',
  'src/net/server.ts',
  'src/net/session.ts',
  'src/workers/worker_pool.ts',
  'src/workers/shard_worker.ts',
  'src/native/',
];

/** Builds the bundle (and its source map) into `outFile`; returns its path. */
/** What every browser bundle of this package is built with: one ES module, Node's modules left out, and a metafile for the check. */
export const BROWSER_BUILD_OPTIONS = {
  absWorkingDir: ROOT_DIR,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  bundle: true,
  sourcemap: true,
  external: NODE_ONLY_IMPORTS,
  metafile: true,
  write: false,
  logLevel: 'warning',
} as const satisfies BuildOptions;

export async function buildBrowserClient(outFile: string = BROWSER_BUNDLE_FILE): Promise<string> {
  const result = await build({ ...BROWSER_BUILD_OPTIONS, entryPoints: [ENTRY_POINT], outfile: outFile });
  const chains = nodeOnlyChains(result.metafile, ENTRY_POINT, SERVER_ONLY_PATHS);
  if (chains.length > 0) {
    throw new Error(
      `the browser bundle would pull in Node-only modules:\n${chains.map((chain) => `  ${chain.join('\n    -> ')}`).join('\n')}`,
    );
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  for (const output of result.outputFiles) fs.writeFileSync(output.path, output.contents);
  return outFile;
}

/**
 * For each Node-only module a bundle reaches (an external import, or one of `serverOnly`), the
 * import chain from the entry point to it. The console's build checks its bundle the same way.
 */
export function nodeOnlyChains(metafile: Metafile, entryPoint: string, serverOnly: readonly string[]): string[][] {
  const chains: string[][] = [];
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (serverOnly.some((serverPath) => input.startsWith(serverPath))) chains.push(importChain(metafile, input, entryPoint));
    // Only the externals above are external here, so each one found is a Node-only import.
    for (const imported of imports)
      if (imported.external === true) chains.push([...importChain(metafile, input, entryPoint), imported.path]);
  }
  return chains;
}

/** The shortest import chain from the entry point to `target`, by breadth-first search. */
function importChain(metafile: Metafile, target: string, entryPoint: string): string[] {
  const cameFrom = new Map<string, string | null>([[entryPoint, null]]);
  const queue = [entryPoint];
  // Each input is queued at most once, so the search ends after every input was seen.
  for (let next = queue.shift(); next !== undefined && !cameFrom.has(target); next = queue.shift()) {
    for (const imported of metafile.inputs[next]?.imports ?? []) {
      if (imported.external === true || cameFrom.has(imported.path)) continue;
      cameFrom.set(imported.path, next);
      queue.push(imported.path);
    }
  }
  const chain: string[] = [];
  for (let at: string | null | undefined = target; at !== undefined && at !== null; at = cameFrom.get(at)) chain.unshift(at);
  return chain;
}

const executedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (executedDirectly) {
  const outFile = await buildBrowserClient(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  console.log(`built ${path.relative(process.cwd(), outFile)} (${fs.statSync(outFile).size} bytes)`);
}
