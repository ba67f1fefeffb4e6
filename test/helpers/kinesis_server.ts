import { afterAll, beforeAll } from 'vitest';
import type { EngineOptions } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { suiteTempDir } from './temp_dir.js';

export interface RunningKinesisServer {
  readonly engine: Engine;
  readonly server: KinesisHttpServer;
}

/**
 * A test file's Kinesis HTTP server: a real engine on a temporary data directory (fsync never,
 * limits off, one worker, unless `options` say otherwise) behind the real server on a free port,
 * started before the file's tests and handed to `started`, stopped and removed after them.
 */
export function useKinesisServer(
  prefix: string,
  started: (running: RunningKinesisServer) => void | Promise<void>,
  options: Partial<EngineOptions> = {},
): void {
  const root = suiteTempDir(prefix);
  let engine: Engine | undefined;
  let server: KinesisHttpServer | undefined;
  beforeAll(async () => {
    engine = await Engine.open({ fsync: 'never', enforceLimits: false, workers: 1, ...options, dataDir: root.dir });
    server = await KinesisHttpServer.start({ engine, port: 0 });
    await started({ engine, server });
  });
  afterAll(async () => {
    await server?.stop();
    await engine?.close();
    root.remove();
  });
}
