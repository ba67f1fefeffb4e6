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

/** Creates a stream of `shardCount` shards and registers `consumerCount` consumers (c0, c1, ...) of it: their ARNs. */
export async function streamWithConsumers(engine: Engine, stream: string, shardCount: number, consumerCount: number): Promise<string[]> {
  await engine.createStream({ StreamName: stream, ShardCount: shardCount });
  const { StreamARN } = engine.describeStreamSummary({ StreamName: stream }).StreamDescriptionSummary;
  const arns: string[] = [];
  for (let i = 0; i < consumerCount; i++)
    arns.push((await engine.registerStreamConsumer({ StreamARN, ConsumerName: `c${i}` })).Consumer.ConsumerARN);
  return arns;
}

const SETTLE_POLL_MS = 20;
/** 30 s of polls: only a server that keeps sending forever takes this long. */
const SETTLE_POLLS_MAX = 1500;

/** The server's unsent bytes (its largest connection's) once they stop changing between two polls; 0 once the connection is gone. */
export async function settledUnsentBytes(server: ShardlineServer): Promise<number> {
  let last = -1;
  for (let poll = 0; poll < SETTLE_POLLS_MAX; poll++) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    const now = server.stats().unsentBytesMax;
    if (now === last) return now;
    last = now;
  }
  throw new Error(`the server's unsent bytes did not settle in ${SETTLE_POLLS_MAX} polls`);
}
