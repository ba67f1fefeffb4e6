import { Engine } from '../../src/engine/engine.js';
import type { EngineOptions } from '../../src/config.js';
import { ShardlineServer } from '../../src/net/server.js';
import { suiteTempDir } from './temp_dir.js';

export interface TestServer {
  readonly engine: Engine;
  readonly server: ShardlineServer;
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server (gracefully) and closes the engine. */
  stop(): Promise<void>;
}

/**
 * A real engine on a temporary data directory (removed by stop(), unless the caller gave one)
 * behind a real uWS server on 127.0.0.1 and a free
 * port. Tests must call stop() (in afterAll/afterEach).
 */
export async function startTestServer(options: Partial<EngineOptions> = {}): Promise<TestServer> {
  const owned = options.dataDir === undefined ? suiteTempDir() : null;
  const dataDir = options.dataDir ?? owned!.dir;
  const engine = await Engine.open({ fsync: 'never', enforceLimits: false, workers: 1, ...options, dataDir });
  const server = await ShardlineServer.start({ engine, host: '127.0.0.1', port: 0 });
  let stopped = false;
  return {
    engine,
    server,
    url: server.url,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await engine.close();
      owned?.remove();
    },
  };
}
