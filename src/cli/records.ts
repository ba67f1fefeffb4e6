import { randomUUID } from 'node:crypto';
import readline from 'node:readline';
import { Option, type Command } from 'commander';
import type { ConsumedRecord, Producer, ProducerRecord, ProducerResult, ShardlineClient } from '../client/node.js';
import type { EnvelopeEncryption } from '../client/envelope.js';
import { ResourceInUseException } from '../errors.js';
import { withClient } from './connection.js';
import { describeError } from './errors.js';
import { formatRecord, type RecordFormat } from './format.js';
import { integerIn, parseHashKey, urlOption, type ClientOptions } from './options.js';
import { untilSignal, writeLine } from './process_io.js';

/* The record commands: put (arguments or stdin lines) and tail (a registered consumer's push). */

interface PutOptions extends ClientOptions {
  readonly key?: string;
  readonly explicitHashKey?: string;
  readonly verbose?: boolean;
  readonly aggregate?: boolean;
  readonly rateLimit: number | false;
  readonly keyFile?: string;
}

interface TailOptions extends ClientOptions {
  readonly from: 'latest' | 'trim-horizon';
  /** KPL aggregates as they are stored, not their user records. */
  readonly raw?: boolean;
  readonly consumer: string;
  readonly format: RecordFormat;
  readonly maxRecords?: number;
  readonly keyFile?: string;
}

export function addRecordCommands(program: Command): void {
  program
    .command('put')
    .description('put each data argument as one record, or else each line of stdin; prints "<shardId> <sequenceNumber>" per record')
    .argument('<stream>', 'stream name or ARN')
    .argument('[data...]', 'record data (UTF-8); none: read stdin, one record a line')
    .option('--key <partitionKey>', 'partition key of every record (default: a random UUID per record)')
    .addOption(
      new Option('--explicit-hash-key <hashKey>', 'route by this decimal hash key instead of the partition key').argParser(parseHashKey),
    )
    .option('--verbose', 'with stdin: print every record, not only the count')
    .option('--aggregate', 'pack records bound for one shard into KPL aggregates (printed with their sub-sequence number)')
    .addOption(
      new Option('--rate-limit <percent>', "per-shard rate, in % of the shard's write limit, or off (the KPL's RateLimit)")
        .argParser(parseRateLimit)
        .default(150),
    )
    .option('--key-file <file>', 'seal each record with envelope encryption under this key file (shardline create-key-file)')
    .addOption(urlOption())
    .action((stream: string, data: string[], options: PutOptions) =>
      withClient(options.url, (client) => put(client, stream, data, options)),
    );
  program
    .command('tail')
    .description("follow a stream like tail -f (through a registered consumer), one record's data a line")
    .argument('<stream>', 'stream name')
    .addOption(new Option('--from <position>', 'where to start').choices(['latest', 'trim-horizon']).default('latest'))
    .option('--consumer <name>', 'registered consumer to read as (registered if missing)', `shardline-tail-${process.pid}`)
    .option('--raw', 'KPL aggregated records as they are stored, not the user records in them')
    .addOption(new Option('--format <format>', 'text: the data; json: one object per record').choices(['text', 'json']).default('text'))
    .addOption(new Option('--max-records <count>', 'exit after this many records').argParser(integerIn(1, Number.MAX_SAFE_INTEGER)))
    .option('--key-file <file>', 'open records sealed under this key file')
    .addOption(urlOption())
    .action((stream: string, options: TailOptions) => withClient(options.url, (client) => tail(client, stream, options)));
  program
    .command('create-key-file')
    .description('write a new key-encryption key (32 random bytes) for --key-file; mode 0600, never overwrites')
    .argument('<file>', 'where to write it')
    .option('--key-id <id>', 'the key id written into each envelope (default: local-<random>)')
    .action(async (file: string, options: { keyId?: string }) => {
      const { createKeyFile } = await import('../client/envelope_keys.js');
      const provider = await createKeyFile(file, options.keyId);
      await writeLine(provider.keyId);
    });
}

/** Envelope encryption under a key file, for put and tail (loaded only when asked for). */
async function encryptionOf(keyFile: string | undefined): Promise<EnvelopeEncryption | undefined> {
  if (keyFile === undefined) return undefined;
  const [{ EnvelopeEncryption }, { localKeyProvider }, { nodeCipherBackend }] = await Promise.all([
    import('../client/envelope.js'),
    import('../client/envelope_keys.js'),
    import('../client/envelope_node.js'),
  ]);
  return new EnvelopeEncryption(await localKeyProvider(keyFile), { backend: nodeCipherBackend });
}

// ---- put ----

async function put(client: ShardlineClient, stream: string, data: readonly string[], options: PutOptions): Promise<void> {
  // Imported here, not at the top, as the client is (connection.ts): --help and serve need neither.
  const { Producer } = await import('../client/producer.js');
  const encryption = await encryptionOf(options.keyFile);
  const producer = new Producer(client, {
    aggregation: options.aggregate === true,
    rateLimit: options.rateLimit,
    ...(encryption === undefined ? {} : { encryption }),
  });
  if (data.length > 0) {
    const results = await Promise.all(data.map((text) => producer.put(producerRecord(stream, text, options))));
    for (const result of results) await writeLine(placement(result));
    return;
  }
  if (process.stdin.isTTY) process.stderr.write('reading records from stdin, one a line (end with Ctrl-D)\n');
  const stored = await putLines(producer, stream, options);
  process.stderr.write(`put ${stored} records into ${stream}\n`);
}

/** "<shardId> <sequenceNumber>", and " <subSequenceNumber>" for a record in an aggregate. */
function placement(result: ProducerResult): string {
  const where = `${result.shardId} ${result.sequenceNumber}`;
  return result.subSequenceNumber === undefined ? where : `${where} ${result.subSequenceNumber}`;
}

function parseRateLimit(text: string): number | false {
  return text === 'off' ? false : integerIn(1, 10_000)(text);
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
        return placement(result);
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

async function tail(client: ShardlineClient, stream: string, options: TailOptions): Promise<void> {
  const { Consumer } = await import('../client/consumer.js');
  const stop = untilSignal();
  try {
    const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: stream });
    const streamARN = String(StreamDescriptionSummary.StreamARN);
    const consumer = await takeConsumer(client, streamARN, options.consumer);
    try {
      const encryption = await encryptionOf(options.keyFile);
      const records = new Consumer(client, {
        deaggregate: options.raw !== true,
        ...(encryption === undefined ? {} : { encryption }),
      }).subscribeStream({
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
