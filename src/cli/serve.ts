import { SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, STATE_DURATION_MS_MAX, WORKERS_MAX } from '../limits.js';
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { FsyncPolicy } from '../log/log_config.js';
import { DEFAULT_KINESIS_PORT } from '../net/kinesis/port.js';
import { DEFAULT_PORT } from '../net/protocol.js';
import { OptionsConflictError } from './errors.js';
import { PORT_MAX, integerIn, parseFsync } from './options.js';
import { untilSignal } from './process_io.js';
import { startMetrics } from './serve_metrics.js';

/*
 * `shardline serve`: an engine on a data directory behind the WebSocket server and the Kinesis
 * HTTP API, until SIGINT or SIGTERM. The engine and the servers are imported when the command
 * runs, so the client commands never load the native addon, uWS, http2 or cbor.
 */

interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly fsync: FsyncPolicy;
  readonly segmentBytes?: number;
  readonly limits: boolean;
  readonly workers?: number;
  /** false with --no-kinesis. */
  readonly kinesis: boolean;
  readonly kinesisPort: number;
  readonly kinesisTlsCert?: string;
  readonly kinesisTlsKey?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly auth?: string;
  /** A directory, or true for <data dir>/audit. */
  readonly audit?: string | boolean;
  readonly auditDataEvents?: boolean;
  readonly functions?: string;
  readonly s3Dir?: string;
  readonly s3Endpoint?: string;
  readonly glueTables?: string;
  /** false with --no-console. */
  readonly console: boolean;
  readonly prices?: string;
  readonly clock: 'system' | 'manual';
  readonly createStreamMs?: number;
  readonly updateStreamMs?: number;
  readonly deleteStreamMs?: number;
}

/** Exit code of a second signal: the shutdown did not finish. */
const EXIT_FORCED = 1;

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run an engine on a data directory behind the WebSocket server, until SIGINT or SIGTERM')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)').argParser(integerIn(0, PORT_MAX)).default(DEFAULT_PORT),
    )
    .option('--data-dir <dir>', 'where streams live', './shardline-data')
    .addOption(new Option('--fsync <policy>', 'always, never, or an fdatasync interval in ms').argParser(parseFsync).default('always'))
    .addOption(
      new Option('--segment-bytes <bytes>', "roll a shard's active segment before it passes this size (default: 128 MiB)").argParser(
        integerIn(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX),
      ),
    )
    .option('--no-limits', "turn off Kinesis' per-shard throughput limits")
    .addOption(new Option('--workers <count>', 'shard worker threads (default: cores - 1)').argParser(integerIn(1, WORKERS_MAX)))
    .addOption(
      new Option('--kinesis-port <port>', 'port of the Kinesis HTTP API, HTTP/1.1 and h2c (0 picks a free one)')
        .argParser(integerIn(0, PORT_MAX))
        .default(DEFAULT_KINESIS_PORT),
    )
    .option('--no-kinesis', 'do not serve the Kinesis HTTP API')
    .option('--kinesis-tls-cert <file>', 'PEM certificate: the Kinesis API on https:// (HTTP/2 or HTTP/1.1 by ALPN)')
    .option('--kinesis-tls-key <file>', 'PEM private key for --kinesis-tls-cert')
    .option('--tls-cert <file>', 'PEM certificate: both ports on TLS (wss:// and https://)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--auth <file>', 'credentials file (docs/SECURITY.md): SigV4 and policies on every door; reloaded on SIGHUP')
    .option('--audit [dir]', 'a CloudTrail-shaped, hash-chained audit log of every control-plane call (default dir: <data dir>/audit)')
    .option('--audit-data-events', 'also audit PutRecord(s), GetRecords, GetShardIterator and SubscribeToShard')
    .option('--functions <file>', 'functions for triggers (docs/TRIGGERS.md): { "<name>": { "handler": "./f.mjs#handler" } }')
    .option('--s3-dir <dir>', "delivery streams' S3 objects as files (docs/DELIVERY.md; default: <data dir>/s3)")
    .option('--s3-endpoint <url>', "delivery streams' S3 objects to this S3 API (credentials: the AWS SDK's, from the environment)")
    .option('--glue-tables <file>', 'Glue tables for Parquet conversion: { "<db>.<table>": [{ "Name": "id", "Type": "bigint" }] }')
    .option('--no-console', 'do not serve the web console (http://<host>:<port>/console/)')
    .option('--prices <file>', 'the price table of `shardline cost` and the console (default: src/metrics/prices.json)')
    .addOption(
      new Option('--clock <clock>', 'manual: real time plus an offset `shardline clock advance` moves forward (docs/TESTING.md)')
        .choices(['system', 'manual'])
        .default('system'),
    )
    .addOption(stateDurationOption('--create-stream-ms <ms>', 'a new stream stays CREATING this long (default 0)'))
    .addOption(stateDurationOption('--update-stream-ms <ms>', 'a reshard, mode or encryption change keeps the stream UPDATING this long'))
    .addOption(stateDurationOption('--delete-stream-ms <ms>', 'a deleted stream stays DELETING this long before it is gone (default 0)'))
    .action((options: ServeOptions) => serve(options));
}

async function serve(options: ServeOptions): Promise<void> {
  const tls = tlsFiles(options);
  const kinesisTlsOptions = options.kinesis ? kinesisTls(options, tls) : {};
  const dataDir = path.resolve(options.dataDir);
  // The servers' modules load while the engine opens (its workers start and recover the shards
  // on their own threads); a failed open leaves this promise unawaited, hence the catch.
  const servers = Promise.all([
    import('../net/server.js'),
    import('../net/kinesis/server.js'),
    import('../auth/access_control.js'),
    import('./serve_audit.js'),
  ]);
  servers.catch(() => undefined);
  const { Engine } = await import('../engine/engine.js');
  const engine = await Engine.open({
    dataDir,
    fsync: options.fsync,
    ...(options.segmentBytes === undefined ? {} : { log: { segmentBytes: options.segmentBytes } }),
    enforceLimits: options.limits,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.clock === 'manual' ? { clock: 'manual' as const } : {}),
    ...stateDurations(options),
  });
  const [{ ShardlineServer }, { KinesisHttpServer }, { AccessControl }, { openAuditTrail }] = await servers;
  let access: ReturnType<typeof AccessControl.off>;
  let trail: Awaited<ReturnType<typeof openAuditTrail>>;
  let metrics: Awaited<ReturnType<typeof startMetrics>>;
  try {
    access = options.auth === undefined ? AccessControl.off(engine) : AccessControl.fromFile(engine, path.resolve(options.auth));
    trail = await openAuditTrail(options.audit, dataDir, options.auditDataEvents === true);
    if (trail !== null) access.auditTo(trail);
    // Only then are the triggers' modules (and the consumer groups' under them) loaded.
    if (options.functions !== undefined)
      await (await import('./serve_functions.js')).registerFunctions(engine, path.resolve(options.functions));
    await (await import('./serve_delivery.js')).startDelivery(engine, options);
    await (await import('./serve_queries.js')).startQueries(engine);
    metrics = await startMetrics(engine, options, access.enabled);
  } catch (error) {
    await engine.close();
    throw error;
  }
  const openTrail = trail;
  let server: Awaited<ReturnType<typeof ShardlineServer.start>> | null = null;
  let kinesis: Awaited<ReturnType<typeof KinesisHttpServer.start>> | null = null;
  try {
    server = await ShardlineServer.start({
      engine,
      host: options.host,
      port: options.port,
      access,
      http: metrics.routes,
      ...(tls === null ? {} : { tls }),
    });
    if (options.kinesis)
      kinesis = await KinesisHttpServer.start({ engine, host: options.host, port: options.kinesisPort, access, ...kinesisTlsOptions });
  } catch (error) {
    await server?.stop();
    await engine.close();
    throw error;
  }
  // The handlers go in before the banner: a script that waits for the banner may signal at once.
  const stop = untilSignal();
  const reload = (): void => reloadCredentials(access);
  process.on('SIGHUP', reload);
  printBanner(server.url, kinesis?.url ?? null, dataDir, access.enabled, metrics.consoleBuilt);
  await stop.signal;
  stop.dispose();
  process.off('SIGHUP', reload);
  process.stdout.write('shutting down\n');
  forceExitOnSecondSignal();
  await kinesis?.stop();
  await server.stop();
  await (await import('./serve_queries.js')).stopQueries(engine);
  await (await import('./serve_delivery.js')).stopDelivery(engine);
  if (options.functions !== undefined) await (await import('../triggers/registry.js')).TriggerRegistry.of(engine).stopAll();
  await openTrail?.close();
  metrics.exporter.close();
  await engine.close();
  process.stdout.write('stopped\n');
}

/** Realistic state durations (docs/TESTING.md), in the engine's milliseconds. */
function stateDurationOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(integerIn(0, STATE_DURATION_MS_MAX));
}

function stateDurations(options: ServeOptions): { createStreamMs?: number; updateStreamMs?: number; deleteStreamMs?: number } {
  const { createStreamMs, updateStreamMs, deleteStreamMs } = options;
  return {
    ...(createStreamMs === undefined ? {} : { createStreamMs }),
    ...(updateStreamMs === undefined ? {} : { updateStreamMs }),
    ...(deleteStreamMs === undefined ? {} : { deleteStreamMs }),
  };
}

/** --tls-cert and --tls-key: both or neither, and readable before anything listens (uWS takes the paths). */
function tlsFiles(options: ServeOptions): { certFile: string; keyFile: string } | null {
  const { tlsCert, tlsKey } = options;
  if (tlsCert === undefined && tlsKey === undefined) return null;
  if (tlsCert === undefined || tlsKey === undefined) throw new OptionsConflictError('--tls-cert and --tls-key go together');
  for (const file of [tlsCert, tlsKey]) fs.accessSync(file, fs.constants.R_OK);
  return { certFile: path.resolve(tlsCert), keyFile: path.resolve(tlsKey) };
}

/** The Kinesis API's own TLS files, or those of both ports; read before anything listens, so a bad path fails at once. */
function kinesisTls(options: ServeOptions, both: { certFile: string; keyFile: string } | null): { tls?: { key: Buffer; cert: Buffer } } {
  const { kinesisTlsCert: cert, kinesisTlsKey: key } = options;
  if (cert === undefined && key === undefined)
    return both === null ? {} : { tls: { cert: fs.readFileSync(both.certFile), key: fs.readFileSync(both.keyFile) } };
  if (cert === undefined || key === undefined) throw new OptionsConflictError('--kinesis-tls-cert and --kinesis-tls-key go together');
  return { tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } };
}

/** SIGHUP: the credentials file again; a file that does not load leaves the identities as they were. */
function reloadCredentials(access: { reload(): void; enabled: boolean }): void {
  if (!access.enabled) return;
  try {
    access.reload();
    process.stdout.write('credentials reloaded\n');
  } catch (error) {
    process.stderr.write(`shardline: credentials not reloaded, the previous ones stay: ${(error as Error).message}\n`);
  }
}

function printBanner(url: string, kinesisUrl: string | null, dataDir: string, auth: boolean, consoleBuilt: boolean): void {
  const lines = [`shardline listening on ${url} (data in ${dataDir})${auth ? ', auth on' : ''}`];
  if (kinesisUrl !== null) lines.push(`Kinesis HTTP API on ${kinesisUrl} (AWS SDKs: endpoint '${kinesisUrl}')`);
  const http = url.replace(/^ws/, 'http');
  lines.push(`metrics: ${http}metrics${consoleBuilt ? `; console: ${http}console/` : ''}`);
  lines.push(
    `connect: import { connect } from 'shardline/client'; await connect('${url}')`,
    `try:     npx shardline list-streams --url ${url}`,
    '',
  );
  // One write, so a reader never sees half of the banner.
  process.stdout.write(lines.join('\n'));
}

/** A graceful stop waits for writes in flight; a second Ctrl-C is the way out of a stuck one. */
function forceExitOnSecondSignal(): void {
  const force = (): void => {
    process.stderr.write('shardline: second signal: exiting without a clean shutdown\n');
    process.exit(EXIT_FORCED);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
}
