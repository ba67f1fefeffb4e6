import fs from 'node:fs';
import path from 'node:path';
import type uWS from 'uWebSockets.js';

/*
 * The plain HTTP the WebSocket port also answers (docs/OPERATIONS.md): `GET /metrics` for
 * Prometheus, and the web console, a directory of built files (scripts/build_console.ts) read
 * once at start and served from memory under /console/, with `/console/config.json` telling
 * the page what it needs before it connects (whether to ask for credentials, the price table).
 * The page then talks to this same port over WebSocket, as any client does.
 */

export interface HttpRoutes {
  /** The Prometheus text exposition; absent: no /metrics. */
  readonly metrics?: () => Promise<{ readonly contentType: string; readonly body: string }>;
  /** The built console; absent: no console. */
  readonly console?: { readonly dir: string; readonly config: () => unknown };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};
const CONSOLE_PATH = '/console/';

interface StaticFile {
  readonly contentType: string;
  readonly bytes: Buffer;
}

export function addHttpRoutes(app: uWS.TemplatedApp, routes: HttpRoutes): void {
  const { metrics, console: consoleRoute } = routes;
  if (metrics !== undefined)
    app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      metrics().then(
        ({ contentType, body }) => {
          if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', contentType).end(body));
        },
        (error: unknown) => {
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(`metrics failed: ${String(error)}\n`));
        },
      );
    });
  if (consoleRoute === undefined) return;
  const files = readConsole(consoleRoute.dir);
  const redirect = (res: uWS.HttpResponse): void => {
    res.cork(() => res.writeStatus('302 Found').writeHeader('location', CONSOLE_PATH).end());
  };
  app.get('/', redirect);
  app.get('/console', redirect);
  app.get('/console/config.json', (res) => {
    res.cork(() =>
      res
        .writeStatus('200 OK')
        .writeHeader('content-type', 'application/json')
        .writeHeader('cache-control', 'no-store')
        .end(JSON.stringify(consoleRoute.config())),
    );
  });
  app.get('/console/*', (res, req) => {
    const name = req.getUrl().slice(CONSOLE_PATH.length) || 'index.html';
    // Routes inside the page (#/streams/x) are the page's; any unknown path gets the page itself.
    const file = files.get(name) ?? files.get('index.html');
    res.cork(() => {
      if (file === undefined) res.writeStatus('404 Not Found').end('the console is not built: npm run build\n');
      else res.writeStatus('200 OK').writeHeader('content-type', file.contentType).writeHeader('cache-control', 'no-cache').end(file.bytes);
    });
  });
}

function readConsole(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!fs.existsSync(dir)) return files;
  for (const name of fs.readdirSync(dir)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (type !== undefined) files.set(name, { contentType: type, bytes: fs.readFileSync(path.join(dir, name)) });
  }
  return files;
}
