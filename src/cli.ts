#!/usr/bin/env node
/*
 * The `shardline` command: `serve` runs an engine behind the WebSocket server; the other
 * commands are a small client (create-stream, list-streams, describe, put, tail, split, merge)
 * over the Node client, for scripts and for poking at a running server by hand.
 *
 * Exit codes: 0 success, 1 an operation failed (the server's error, or no server), 2 bad usage
 * (commander's parse errors and every option parser below). Errors are one line on stderr:
 * `shardline: <code>: <message>`.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { WebSocket } from 'ws';
import { ConnectionError, Consumer, DEFAULT_PORT, Producer, ResourceInUseException, ResourceNotFoundException, ShardlineError, connect, type ConsumedRecord, type ProducerRecord, type ShardlineClient, type WebSocketLike } from './client/node.js';
import { WORKERS_MAX } from './config.js';
import type { StreamDescriptionSummary } from './streams/api_types.js';
import { DEFAULT_KINESIS_PORT } from './net/kinesis/server.js';
import type { FsyncPolicy } from './log/log_config.js';
import type { KinesisShard } from './streams/kinesis_shapes.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const DEFAULT_URL = `ws://127.0.0.1:${DEFAULT_PORT}/`;
const PORT_MAX = 65_535;
// The engine's HASH_KEY_MAX and SHARDS_PER_STREAM_MAX, restated: their modules load the native
// addon, which the client commands otherwise never need.
const HASH_KEY_MAX = (1n << 128n) - 1n;
const SHARDS_PER_STREAM_MAX = 500;
/** Pages of ListStreams / ListShards followed: far above 1,000 streams or any shard history. */
const LIST_PAGES_MAX = 10_000;

/** A connection that could not be made: no operation ran, so it has no Kinesis code to show. */
export class CannotConnectError extends ShardlineError {
  readonly code = 'CannotConnect' as const;
}

/** Whoever read stdout went away (`shardline tail | head`): the command stops, and succeeded. */
export class OutputClosedError extends ShardlineError {
  readonly code = 'OutputClosed' as const;
}

// ---- entry point ----

/** Runs the command line `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    // Help and --version arrive here as CommanderErrors too, with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (error instanceof OutputClosedError) return EXIT_OK;
    process.stderr.write(`${describeError(error)}\n`);
    return EXIT_FAILED;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof CannotConnectError) return `shardline: ${error.message}`;
  if (error instanceof ShardlineError) return `shardline: ${error.code}: ${error.message}`;
  return `shardline: ${error instanceof Error ? error.message : String(error)}`;
}

function buildProgram(): Command {
  // Set before the subcommands exist: commander copies these settings into each of them.
  const program = new Command('shardline')
    .description('a local streaming engine with the Kinesis Data Streams model')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`shardline: ${text.replace(/^error: /, '')}`) });
  addServe(program);
  addCreateStream(program);
  addListStreams(program);
  addDescribe(program);
  addPut(program);
  addTail(program);
  addSplit(program);
  addMerge(program);
  return program;
}

function packageVersion(): string {
  // src/cli.ts and dist/cli.js both sit one level below package.json.
  const text = fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

// ---- option parsers (a throw here is a usage error: exit 2) ----

function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return value;
  };
}

function parseFsync(text: string): FsyncPolicy {
  if (text === 'always' || text === 'never') return text;
  if (/^\d+$/.test(text) && Number(text) >= 1) return { intervalMs: Number(text) };
  throw new InvalidArgumentError('expected always, never or an interval in milliseconds');
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('expected a URL such as ws://127.0.0.1:4567/');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError('expected a ws:// or wss:// URL');
  return text;
}

function parseHashKey(text: string): string {
  if (!/^\d{1,39}$/.test(text) || BigInt(text) > HASH_KEY_MAX) throw new InvalidArgumentError('expected a decimal hash key from 0 to 2^128 - 1');
  return text;
}

function urlOption(): Option {
  return new Option('--url <url>', 'the shardline server').env('SHARDLINE_URL').default(DEFAULT_URL).argParser(parseUrl);
}

// ---- serve ----

interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly fsync: FsyncPolicy;
  readonly limits: boolean;
  readonly workers?: number;
  /** false with --no-kinesis. */
  readonly kinesis: boolean;
  readonly kinesisPort: number;
  readonly kinesisTlsCert?: string;
  readonly kinesisTlsKey?: string;
}

function addServe(program: Command): void {
  program
    .command('serve')
    .description('run an engine on a data directory behind the WebSocket server, until SIGINT or SIGTERM')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').argParser(integerIn(0, PORT_MAX)).default(DEFAULT_PORT))
    .option('--data-dir <dir>', 'where streams live', './shardline-data')
    .addOption(new Option('--fsync <policy>', 'always, never, or an fdatasync interval in ms').argParser(parseFsync).default('always'))
    .option('--no-limits', "turn off Kinesis' per-shard throughput limits")
    .addOption(new Option('--workers <count>', 'shard worker threads (default: cores - 1)').argParser(integerIn(1, WORKERS_MAX)))
    .addOption(new Option('--kinesis-port <port>', 'port of the Kinesis HTTP API, HTTP/1.1 and h2c (0 picks a free one)').argParser(integerIn(0, PORT_MAX)).default(DEFAULT_KINESIS_PORT))
    .option('--no-kinesis', 'do not serve the Kinesis HTTP API')
    .option('--kinesis-tls-cert <file>', 'PEM certificate: the Kinesis API on https:// (HTTP/2 or HTTP/1.1 by ALPN)')
    .option('--kinesis-tls-key <file>', 'PEM private key for --kinesis-tls-cert')
    .action((options: ServeOptions) => serve(options));
}

async function serve(options: ServeOptions): Promise<void> {
  // Loaded here, not at the top: the client commands need neither the native addon nor workers.
  const [{ Engine }, { ShardlineServer }, { KinesisHttpServer }] = await Promise.all([import('./engine/engine.js'), import('./net/server.js'), import('./net/kinesis/server.js')]);
  const dataDir = path.resolve(options.dataDir);
  const tls = options.kinesis ? kinesisTls(options) : {};
  const engine = await Engine.open({ dataDir, fsync: options.fsync, enforceLimits: options.limits, ...(options.workers === undefined ? {} : { workers: options.workers }) });
  let server: Awaited<ReturnType<typeof ShardlineServer.start>> | null = null;
  let kinesis: Awaited<ReturnType<typeof KinesisHttpServer.start>> | null = null;
  try {
    server = await ShardlineServer.start({ engine, host: options.host, port: options.port });
    if (options.kinesis) kinesis = await KinesisHttpServer.start({ engine, host: options.host, port: options.kinesisPort, ...tls });
  } catch (error) {
    await server?.stop();
    await engine.close();
    throw error;
  }
  // The handlers go in before the banner: a script that waits for the banner may signal at once.
  const stop = untilSignal();
  printBanner(server.url, kinesis?.url ?? null, dataDir);
  await stop.signal;
  stop.dispose();
  process.stdout.write('shutting down\n');
  forceExitOnSecondSignal();
  await kinesis?.stop();
  await server.stop();
  await engine.close();
  process.stdout.write('stopped\n');
}

/** Both TLS files or neither; read before anything listens, so a bad path fails at once. */
function kinesisTls(options: ServeOptions): { tls?: { key: Buffer; cert: Buffer } } {
  const { kinesisTlsCert: cert, kinesisTlsKey: key } = options;
  if (cert === undefined && key === undefined) return {};
  if (cert === undefined || key === undefined) throw new Error('--kinesis-tls-cert and --kinesis-tls-key go together');
  return { tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } };
}

function printBanner(url: string, kinesisUrl: string | null, dataDir: string): void {
  const lines = [`shardline listening on ${url} (data in ${dataDir})`];
  if (kinesisUrl !== null) lines.push(`Kinesis HTTP API on ${kinesisUrl} (AWS SDKs: endpoint '${kinesisUrl}')`);
  lines.push(`connect: import { connect } from 'shardline/client'; await connect('${url}')`, `try:     shardline list-streams --url ${url}`, '');
  // One write, so a reader never sees half of the banner.
  process.stdout.write(lines.join('\n'));
}

/** A graceful stop waits for writes in flight; a second Ctrl-C is the way out of a stuck one. */
function forceExitOnSecondSignal(): void {
  const force = (): void => {
    process.stderr.write('shardline: second signal: exiting without a clean shutdown\n');
    process.exit(EXIT_FAILED);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
}

/** Resolves on the first SIGINT or SIGTERM; while listening, neither kills the process. */
function untilSignal(): { readonly signal: Promise<NodeJS.Signals>; dispose(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => (handler = resolve));
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

// ---- connecting ----

interface ClientOptions {
  readonly url: string;
}

async function withClient<T>(url: string, use: (client: ShardlineClient) => Promise<T>): Promise<T> {
  const client = await connectTo(url);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function connectTo(url: string): Promise<ShardlineClient> {
  const last: { error?: Error } = {};
  // Our own socket, not connect()'s default, only to hear its error event: the client sees just
  // the close code (1006), the event says why (ECONNREFUSED, ENOTFOUND). Plain ws options: a
  // CLI needs none of the client's throughput settings.
  const webSocket = (target: string): WebSocketLike => {
    const socket = new WebSocket(target, { maxPayload: 0 });
    socket.on('error', (error) => (last.error = error));
    return socket as unknown as WebSocketLike;
  };
  try {
    return await connect(url, { webSocket, clientName: 'shardline-cli' });
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    throw new CannotConnectError(`cannot connect to ${url}: ${last.error?.message ?? error.message}`, { cause: error });
  }
}

/**
 * Writes a line to stdout and waits until it is written: a slow reader bounds what we buffer,
 * and a reader that left (EPIPE) stops the command at its next line, through its finally blocks.
 */
function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${line}\n`, (error) => {
      if (error === null || error === undefined) resolve();
      else if ((error as NodeJS.ErrnoException).code === 'EPIPE') reject(new OutputClosedError('stdout was closed', { cause: error }));
      else reject(new Error(`cannot write to stdout: ${error.message}`, { cause: error }));
    });
  });
}

// ---- streams ----

interface CreateStreamOptions extends ClientOptions {
  readonly shards: number;
  readonly onDemand?: boolean;
}

function addCreateStream(program: Command): void {
  program
    .command('create-stream')
    .description('create a stream (PROVISIONED with --shards, or ON_DEMAND)')
    .argument('<name>', 'stream name, [a-zA-Z0-9_.-]{1,128}')
    .addOption(new Option('--shards <count>', 'shards of a PROVISIONED stream').argParser(integerIn(1, SHARDS_PER_STREAM_MAX)).default(1))
    .addOption(new Option('--on-demand', 'an ON_DEMAND stream: starts with 4 shards, splits those that stay busy').conflicts('shards'))
    .addOption(urlOption())
    .action((name: string, options: CreateStreamOptions) => withClient(options.url, (client) => createStream(client, name, options)));
}

async function createStream(client: ShardlineClient, name: string, options: CreateStreamOptions): Promise<void> {
  const request = options.onDemand === true ? { StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' as const } } : { StreamName: name, ShardCount: options.shards };
  await client.call('CreateStream', request);
  const { StreamDescriptionSummary: summary } = await client.call('DescribeStreamSummary', { StreamName: name });
  const mode = summary.StreamModeDetails.StreamMode;
  const shards = Number(summary.OpenShardCount);
  await writeLine(`created stream ${name} (${String(mode)}, ${shards} ${shards === 1 ? 'shard' : 'shards'})`);
}

function addListStreams(program: Command): void {
  program
    .command('list-streams')
    .description('list the streams, one name a line')
    .addOption(urlOption())
    .action((options: ClientOptions) => withClient(options.url, listStreams));
}

async function listStreams(client: ShardlineClient): Promise<void> {
  let nextToken: string | undefined;
  for (let page = 0; page < LIST_PAGES_MAX; page++) {
    const result = await client.call('ListStreams', nextToken === undefined ? {} : { NextToken: nextToken });
    for (const name of result.StreamNames) await writeLine(name);
    nextToken = result.NextToken;
    if (!result.HasMoreStreams || nextToken === undefined) return;
  }
}

async function listAllShards(client: ShardlineClient, streamName: string): Promise<KinesisShard[]> {
  const shards: KinesisShard[] = [];
  let result = await client.call('ListShards', { StreamName: streamName });
  shards.push(...result.Shards);
  for (let page = 1; page < LIST_PAGES_MAX && result.NextToken !== undefined; page++) {
    result = await client.call('ListShards', { NextToken: result.NextToken });
    shards.push(...result.Shards);
  }
  return shards;
}

// ---- describe ----

interface DescribeOptions extends ClientOptions {
  readonly json?: boolean;
}

function addDescribe(program: Command): void {
  program
    .command('describe')
    .description("show a stream's summary and its shards")
    .argument('<name>', 'stream name or ARN')
    .option('--json', 'print JSON: { StreamDescriptionSummary, Shards }')
    .addOption(urlOption())
    .action((name: string, options: DescribeOptions) => withClient(options.url, (client) => describe(client, name, options)));
}

async function describe(client: ShardlineClient, name: string, options: DescribeOptions): Promise<void> {
  const [{ StreamDescriptionSummary }, Shards] = await Promise.all([client.call('DescribeStreamSummary', streamReference(name)), listAllShards(client, streamNameOf(name))]);
  if (options.json === true) {
    await writeLine(JSON.stringify({ StreamDescriptionSummary, Shards }, null, 2));
    return;
  }
  for (const line of summaryLines(StreamDescriptionSummary)) await writeLine(line);
  await writeLine('');
  for (const line of shardTable(Shards)) await writeLine(line);
}

/** Kinesis takes either; the CLI takes a name or an ARN in the same argument. */
function streamReference(nameOrArn: string): { StreamName: string } | { StreamARN: string } {
  return nameOrArn.startsWith('arn:') ? { StreamARN: nameOrArn } : { StreamName: nameOrArn };
}

function streamNameOf(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
}

function summaryLines(summary: StreamDescriptionSummary): string[] {
  const created = summary.StreamCreationTimestamp;
  const rows: Array<[string, unknown]> = [
    ['stream', summary.StreamName],
    ['arn', summary.StreamARN],
    ['status', summary.StreamStatus],
    ['mode', summary.StreamModeDetails.StreamMode],
    ['retention', `${String(summary.RetentionPeriodHours)} hours`],
    ['created', created instanceof Date ? created.toISOString() : created],
    ['open shards', summary.OpenShardCount],
    ['consumers', summary.ConsumerCount],
  ];
  return rows.map(([label, value]) => `${label.padEnd(12)} ${String(value)}`);
}

function shardTable(shards: readonly KinesisShard[]): string[] {
  const rows = shards.map((shard) => [
    shard.ShardId,
    shard.SequenceNumberRange.EndingSequenceNumber === undefined ? 'open' : 'closed',
    [shard.ParentShardId, shard.AdjacentParentShardId].filter((id) => id !== undefined).join(',') || '-',
    `${shard.HashKeyRange.StartingHashKey}..${shard.HashKeyRange.EndingHashKey}`,
  ]);
  return formatTable([['SHARD', 'STATE', 'PARENTS', 'HASH KEYS'], ...rows]);
}

function formatTable(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}

// ---- put ----

interface PutOptions extends ClientOptions {
  readonly key?: string;
  readonly explicitHashKey?: string;
  readonly verbose?: boolean;
}

function addPut(program: Command): void {
  program
    .command('put')
    .description('put each data argument as one record, or else each line of stdin; prints "<shardId> <sequenceNumber>" per record')
    .argument('<stream>', 'stream name or ARN')
    .argument('[data...]', 'record data (UTF-8); none: read stdin, one record a line')
    .option('--key <partitionKey>', 'partition key of every record (default: a random UUID per record)')
    .addOption(new Option('--explicit-hash-key <hashKey>', 'route by this decimal hash key instead of the partition key').argParser(parseHashKey))
    .option('--verbose', 'with stdin: print every record, not only the count')
    .addOption(urlOption())
    .action((stream: string, data: string[], options: PutOptions) => withClient(options.url, (client) => put(client, stream, data, options)));
}

async function put(client: ShardlineClient, stream: string, data: readonly string[], options: PutOptions): Promise<void> {
  const producer = new Producer(client);
  if (data.length > 0) {
    const results = await Promise.all(data.map((text) => producer.put(producerRecord(stream, text, options))));
    for (const result of results) await writeLine(`${result.shardId} ${result.sequenceNumber}`);
    return;
  }
  if (process.stdin.isTTY) process.stderr.write('reading records from stdin, one a line (end with Ctrl-D)\n');
  const stored = await putLines(producer, stream, options);
  process.stderr.write(`put ${stored} records into ${stream}\n`);
}

function producerRecord(streamName: string, text: string, options: PutOptions): ProducerRecord {
  const record = { streamName, partitionKey: options.key ?? randomUUID(), data: Buffer.from(text, 'utf8') };
  return options.explicitHashKey === undefined ? record : { ...record, explicitHashKey: options.explicitHashKey };
}

/**
 * Puts stdin's lines while the producer has room (its in-flight bound is ours), prints the
 * results in input order when verbose, stops reading at the first failure and rethrows it once
 * everything put before it has settled. Resolves to the number of records stored.
 */
async function putLines(producer: Producer, stream: string, options: PutOptions): Promise<number> {
  const failure: { error?: unknown } = {};
  let stored = 0;
  // Every link settles without rejecting, so the chain never leaves a rejection unhandled.
  let printed: Promise<void> = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (failure.error !== undefined) break;
    if (!producer.writable) await producer.drain();
    const outcome = producer.put(producerRecord(stream, line, options)).then(
      (result) => {
        stored++;
        return `${result.shardId} ${result.sequenceNumber}`;
      },
      (error: unknown) => {
        failure.error ??= error;
        return undefined;
      },
    );
    printed = printed.then(async () => {
      const text = await outcome;
      if (text !== undefined && options.verbose === true) await writeLine(text);
    });
  }
  await producer.flush();
  await printed;
  if (failure.error !== undefined) throw failure.error;
  return stored;
}

// ---- tail ----

interface TailOptions extends ClientOptions {
  readonly from: 'latest' | 'trim-horizon';
  readonly consumer: string;
  readonly format: 'text' | 'json';
  readonly maxRecords?: number;
}

function addTail(program: Command): void {
  program
    .command('tail')
    .description("follow a stream like tail -f (through a registered consumer), one record's data a line")
    .argument('<stream>', 'stream name')
    .addOption(new Option('--from <position>', 'where to start').choices(['latest', 'trim-horizon']).default('latest'))
    .option('--consumer <name>', 'registered consumer to read as (registered if missing)', `shardline-tail-${process.pid}`)
    .addOption(new Option('--format <format>', 'text: the data; json: one object per record').choices(['text', 'json']).default('text'))
    .addOption(new Option('--max-records <count>', 'exit after this many records').argParser(integerIn(1, Number.MAX_SAFE_INTEGER)))
    .addOption(urlOption())
    .action((stream: string, options: TailOptions) => withClient(options.url, (client) => tail(client, stream, options)));
}

async function tail(client: ShardlineClient, stream: string, options: TailOptions): Promise<void> {
  const stop = untilSignal();
  try {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: stream });
    const streamARN = String(StreamDescriptionSummary.StreamARN);
    const consumer = await takeConsumer(client, streamARN, options.consumer);
    try {
      const records = new Consumer(client).subscribeStream({
        streamName: stream,
        consumerARN: consumer.arn,
        startingPosition: { Type: options.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON' },
      });
      await printRecords(records, stop.signal, options);
    } finally {
      // Deregistering also ends the subscriptions still open (END consumer-gone).
      if (consumer.registeredHere) await deregister(client, consumer.arn);
    }
  } finally {
    stop.dispose();
  }
}

/** The consumer named `name`: registered now, or the one already there (then not ours to remove). */
async function takeConsumer(client: ShardlineClient, streamARN: string, name: string): Promise<{ arn: string; registeredHere: boolean }> {
  try {
    const { Consumer: registered } = await client.call('RegisterStreamConsumer', { StreamARN: streamARN, ConsumerName: name });
    return { arn: registered.ConsumerARN, registeredHere: true };
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const { ConsumerDescription } = await client.call('DescribeStreamConsumer', { StreamARN: streamARN, ConsumerName: name });
    return { arn: ConsumerDescription.ConsumerARN, registeredHere: false };
  }
}

async function deregister(client: ShardlineClient, consumerARN: string): Promise<void> {
  try {
    await client.call('DeregisterStreamConsumer', { ConsumerARN: consumerARN });
  } catch (error) {
    // The records were printed; a consumer left behind is worth a warning, not a failure.
    process.stderr.write(`${describeError(error)} (consumer ${consumerARN} is still registered)\n`);
  }
}

/** Prints records until maxRecords, the end of the stream's subscriptions, or a signal. */
async function printRecords(records: AsyncGenerator<ConsumedRecord>, stop: Promise<unknown>, options: TailOptions): Promise<void> {
  const stopped = stop.then(() => null);
  for (let count = 0; count < (options.maxRecords ?? Infinity); count++) {
    const next = records.next();
    const result = await Promise.race([next, stopped]);
    if (result === null) {
      // Waiting for a record that may never come: the generator cannot be returned while it
      // runs, so leave it; deregistering and closing the client end it (with an error, dropped).
      next.catch(() => undefined);
      return;
    }
    if (result.done === true) return;
    await writeLine(formatRecord(result.value, options.format));
  }
  // Suspended at a yield now, so return() runs the generators' finally blocks (CANCEL).
  await records.return(undefined);
}

function formatRecord(record: ConsumedRecord, format: TailOptions['format']): string {
  const text = Buffer.from(record.Data.buffer, record.Data.byteOffset, record.Data.byteLength).toString('utf8');
  if (format === 'text') return text;
  return JSON.stringify({
    ShardId: record.ShardId,
    SequenceNumber: record.SequenceNumber,
    PartitionKey: record.PartitionKey,
    ApproximateArrivalTimestamp: record.ApproximateArrivalTimestamp.toISOString(),
    Data: text,
  });
}

// ---- resharding ----

interface SplitOptions extends ClientOptions {
  readonly at?: string;
}

function addSplit(program: Command): void {
  program
    .command('split')
    .description('split an open shard in two at a hash key (default: the middle of its range)')
    .argument('<stream>', 'stream name')
    .argument('<shardId>', 'the shard to split, e.g. shardId-000000000000')
    .addOption(new Option('--at <hashKey>', "the second child's starting hash key").argParser(parseHashKey))
    .addOption(urlOption())
    .action((stream: string, shardId: string, options: SplitOptions) => withClient(options.url, (client) => split(client, stream, shardId, options)));
}

async function split(client: ShardlineClient, stream: string, shardId: string, options: SplitOptions): Promise<void> {
  const at = options.at ?? middleHashKey(await findShard(client, stream, shardId));
  await client.call('SplitShard', { StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: at });
  await printChildren(client, stream, shardId, `split ${shardId} at ${at}`);
}

async function findShard(client: ShardlineClient, stream: string, shardId: string): Promise<KinesisShard> {
  const shard = (await listAllShards(client, stream)).find((candidate) => candidate.ShardId === shardId);
  if (shard === undefined) throw new ResourceNotFoundException(`Shard ${shardId} in stream ${stream} does not exist`);
  return shard;
}

/** The first hash key of the upper half: both children get half of the range (the lower one more if odd). */
export function middleHashKey(shard: KinesisShard): string {
  const start = BigInt(shard.HashKeyRange.StartingHashKey);
  const end = BigInt(shard.HashKeyRange.EndingHashKey);
  return String(start + (end - start + 1n) / 2n);
}

function addMerge(program: Command): void {
  program
    .command('merge')
    .description('merge two open shards with adjacent hash key ranges into one')
    .argument('<stream>', 'stream name')
    .argument('<shardId>', 'the shard to merge')
    .argument('<adjacentShardId>', 'the shard whose range is next to it')
    .addOption(urlOption())
    .action((stream: string, shardId: string, adjacentShardId: string, options: ClientOptions) => withClient(options.url, (client) => merge(client, stream, shardId, adjacentShardId)));
}

async function merge(client: ShardlineClient, stream: string, shardId: string, adjacentShardId: string): Promise<void> {
  await client.call('MergeShards', { StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId });
  await printChildren(client, stream, shardId, `merged ${shardId} and ${adjacentShardId}`);
}

async function printChildren(client: ShardlineClient, stream: string, parentShardId: string, what: string): Promise<void> {
  const children = (await listAllShards(client, stream)).filter((shard) => shard.ParentShardId === parentShardId);
  await writeLine(`${what}: ${children.map((child) => `${child.ShardId} (${child.HashKeyRange.StartingHashKey}..${child.HashKeyRange.EndingHashKey})`).join(', ')}`);
}

// ---- run as the bin ----

/** True when this file is the process's script (through npm's bin symlink too). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return fs.realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

async function run(): Promise<void> {
  // writeLine's callbacks see stdout's errors; without a listener the 'error' event would crash.
  process.stdout.on('error', () => undefined);
  const code = await main(process.argv.slice(2));
  // Exit explicitly (workers, sockets and stdin may linger), after stdout has drained.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

if (isEntryPoint()) void run();
