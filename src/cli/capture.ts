import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/client.js';
import type { ProducerSink } from '../client/producer_sink.js';
import type { PutTiming } from '../testkit/capture_replay.js';
import { withClient } from './connection.js';
import { OptionsConflictError } from './errors.js';
import { parseTimestamp } from './groups.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline export|import|replay`: capture files (docs/FORMAT.md, "Capture files"; docs/TESTING.md,
 * "Capture and replay") over the WebSocket client, and replay into any Kinesis endpoint through
 * the AWS SDK. The test kit's modules load when a command runs.
 */

interface ExportOptions extends ClientOptions {
  readonly from?: number;
  readonly to?: number;
  readonly format: 'jsonl' | 'binary';
  readonly out: string;
}

interface ImportOptions extends ClientOptions {
  readonly stream: string;
  readonly checkFirst?: boolean;
}

interface ReplayOptions extends ClientOptions {
  readonly stream: string;
  readonly speed: number;
  readonly endpoint?: string;
  readonly region: string;
  readonly timings?: string;
}

export function addCaptureCommands(program: Command): void {
  program
    .command('export')
    .description("write a stream's records (partition keys, explicit hash keys, arrival times, sequence numbers) to a capture file")
    .argument('<stream>', 'stream name')
    .addOption(new Option('--from <time>', 'records that arrived at or after this time: ISO 8601 or epoch ms').argParser(parseTimestamp))
    .addOption(new Option('--to <time>', 'records that arrived before this time: ISO 8601 or epoch ms').argParser(parseTimestamp))
    .addOption(new Option('--format <format>', 'the encoding').choices(['jsonl', 'binary']).default('jsonl'))
    .option('--out <file>', 'the file to write (replaced), or - for stdout', '-')
    .addOption(urlOption())
    .action((stream: string, options: ExportOptions) => exportCommand(stream, options));
  program
    .command('import')
    .description('put the records of a capture file into a stream, as fast as it takes them, keeping each key in order')
    .argument('<file>', 'the capture file (either encoding), or - for stdin')
    .requiredOption('--stream <stream>', 'the stream to put into')
    .option('--check-first', 'read and check the whole file before putting anything (a bad file then stores nothing)')
    .addOption(urlOption())
    .action((file: string, options: ImportOptions) => importCommand(file, options));
  program
    .command('replay')
    .description('put the records of a capture file at their recorded pace (or --speed times faster), keeping each key in order')
    .argument('<file>', 'the capture file (either encoding), or - for stdin')
    .requiredOption('--stream <stream>', 'the stream to put into')
    .addOption(new Option('--speed <factor>', 'how many times faster than recorded').argParser(parseSpeed).default(1))
    .option('--endpoint <url>', 'put through the AWS SDK into this Kinesis HTTP endpoint instead of the shardline server at --url')
    .option('--region <region>', 'the region of --endpoint', 'us-east-1')
    .option('--timings <file>', "write each record's due and sent times (ms after the start) there, one JSON object a line")
    .addOption(urlOption())
    .action((file: string, options: ReplayOptions) => replayCommand(file, options));
}

function parseSpeed(text: string): number {
  const speed = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(speed > 0) || !Number.isFinite(speed)) throw new InvalidArgumentError('expected a number above 0');
  return speed;
}

function inputOf(file: string): string | Readable {
  return file === '-' ? process.stdin : file;
}

async function exportCommand(stream: string, options: ExportOptions): Promise<void> {
  if (options.from !== undefined && options.to !== undefined && options.to <= options.from)
    throw new OptionsConflictError('--to must be later than --from');
  await withClient(options.url, async (client) => {
    const { exportStream } = await import('../testkit/capture_export.js');
    const result = await exportStream(client, options.out === '-' ? process.stdout : options.out, {
      stream,
      fromMs: options.from,
      toMs: options.to,
      encoding: options.format,
    });
    // stdout may be the capture itself: the summary goes to stderr.
    process.stderr.write(
      `exported ${result.recordCount} records (${result.payloadBytes} bytes of keys and data, ${result.fileBytes} in the file) ` +
        `from ${result.shardCount} shards of ${stream}\n`,
    );
  });
}

async function importCommand(file: string, options: ImportOptions): Promise<void> {
  if (options.checkFirst === true && file === '-') throw new OptionsConflictError('--check-first reads the file twice: it cannot be stdin');
  await withClient(options.url, async (client) => {
    const { importCapture } = await import('../testkit/capture_import.js');
    const result = await importCapture(client, inputOf(file), { stream: options.stream, checkFirst: options.checkFirst });
    await writeLine(
      `imported ${result.recordCount} records (${result.payloadBytes} bytes) into ${options.stream} in ${Math.round(result.elapsedMs)} ms`,
    );
  });
}

async function replayCommand(file: string, options: ReplayOptions): Promise<void> {
  if (options.endpoint === undefined) return withClient(options.url, (client) => replayInto(client, file, options));
  const { KinesisApiSink } = await import('../client/kinesis_sink.js');
  // HTTP/1.1: every Kinesis endpoint speaks it, emulators such as kinesalite nothing else.
  const sink = new KinesisApiSink({ endpoint: options.endpoint, region: options.region, httpVersion: '1.1' });
  try {
    await replayInto(sink, file, options);
  } finally {
    sink.destroy();
  }
}

async function replayInto(into: ShardlineClient | ProducerSink, file: string, options: ReplayOptions): Promise<void> {
  const { replayCapture } = await import('../testkit/capture_replay.js');
  const timings = options.timings === undefined ? undefined : fs.createWriteStream(options.timings);
  try {
    const result = await replayCapture(into, inputOf(file), {
      stream: options.stream,
      speed: options.speed,
      onPut: timings === undefined ? undefined : (put) => timings.write(`${JSON.stringify(timingLine(put))}\n`),
    });
    const { p50, p99, max } = result.timingErrorMs;
    await writeLine(
      `replayed ${result.recordCount} records into ${options.stream} in ${Math.round(result.elapsedMs)} ms ` +
        `(recorded span ${result.recordedSpanMs} ms, speed ${options.speed}); ` +
        `timing error p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`,
    );
  } finally {
    // main() exits the process once the command resolves: the file must be written by then.
    if (timings !== undefined) await new Promise((resolve) => timings.end(resolve));
  }
}

function timingLine(put: PutTiming): Record<string, unknown> {
  return {
    sequenceNumber: put.record.sequenceNumber,
    partitionKey: put.record.partitionKey,
    dueMs: round3(put.dueMs),
    sentMs: round3(put.sentMs),
    errorMs: round3(put.sentMs - put.dueMs),
  };
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
