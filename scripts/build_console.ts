import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROWSER_BUILD_OPTIONS, nodeOnlyChains } from './build_browser.js';

/*
 * Bundles the web console (src/console/, Preact and uPlot) into dist/console: index.html, one
 * minified ES module console.js and console.css (uPlot's stylesheet and ours), with source maps.
 * src/net/http_routes.ts serves the directory under /console/. Everything the page loads is in
 * it (no CDN: shardline runs where there may be no network). The console imports the client,
 * which shares the wire codecs with the server, so as for the browser client
 * (scripts/build_browser.ts) a bundle that would pull in Node-only code is refused, nothing is
 * written, and the import chain that brought each Node-only module in is named.
 */

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSOLE_SOURCE_DIR = 'src/console';
const ENTRY_POINT = `${CONSOLE_SOURCE_DIR}/main.tsx`;
export const CONSOLE_DIR = path.join(ROOT_DIR, 'dist/console');

/** Our modules only the server runs: reaching one means the engine came along. */
const SERVER_ONLY_PATHS = ['src/engine/', 'src/net/server.ts', 'src/net/session.ts', 'src/workers/', 'src/native/', 'src/auth/'];

export interface ConsoleBuild {
  /** The files written, by name (source maps included). */
  readonly files: string[];
  /** What a browser downloads (index.html, console.js, console.css), raw and gzipped. */
  readonly bytes: number;
  readonly gzipBytes: number;
}

export async function buildConsole(outDir: string = CONSOLE_DIR): Promise<ConsoleBuild> {
  const result = await build({
    ...BROWSER_BUILD_OPTIONS,
    entryPoints: { console: ENTRY_POINT },
    outdir: outDir,
    tsconfig: `${CONSOLE_SOURCE_DIR}/tsconfig.json`,
    minify: true,
  });
  const chains = nodeOnlyChains(result.metafile, ENTRY_POINT, SERVER_ONLY_PATHS);
  if (chains.length > 0) {
    throw new Error(
      `the console bundle would pull in Node-only modules:\n${chains.map((chain) => `  ${chain.join('\n    -> ')}`).join('\n')}`,
    );
  }
  const outputs = new Map(result.outputFiles.map((output) => [path.basename(output.path), output.contents]));
  outputs.set('index.html', fs.readFileSync(path.join(ROOT_DIR, CONSOLE_SOURCE_DIR, 'index.html')));
  for (const name of ['console.js', 'console.css'])
    if (!outputs.has(name)) throw new Error(`esbuild wrote no ${name}: the entry point imports no stylesheet?`);
  fs.mkdirSync(outDir, { recursive: true });
  let bytes = 0;
  let gzipBytes = 0;
  for (const [name, contents] of outputs) {
    fs.writeFileSync(path.join(outDir, name), contents);
    if (name.endsWith('.map')) continue;
    bytes += contents.length;
    gzipBytes += gzipSync(contents).length;
  }
  return { files: [...outputs.keys()].sort(), bytes, gzipBytes };
}

const executedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (executedDirectly) {
  const outDir = process.argv[2] === undefined ? CONSOLE_DIR : path.resolve(process.argv[2]);
  const { bytes, gzipBytes } = await buildConsole(outDir);
  console.log(`built ${path.relative(process.cwd(), outDir)}: ${bytes} bytes, ${gzipBytes} bytes gzipped`);
}
