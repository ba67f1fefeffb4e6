import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/node.js';
import { kinesisEvent, type KinesisEvent } from '../triggers/kinesis_event.js';
import { withClient } from './connection.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline trigger create|list|describe|update|delete|invoke`: event source mappings
 * (docs/TRIGGERS.md) over the WebSocket CALL, with Lambda's operation and member names, and a
 * registered function invoked by hand (with a payload, or a Kinesis event made of given records).
 * The functions are registered by the server (`serve --functions <file>`) or by embedded code.
 */

interface CreateOptions extends ClientOptions {
  readonly stream: string;
  readonly function: string;
  readonly startingPosition: string;
  readonly batchSize?: number;
  readonly maxRetries?: number;
  readonly maxRecordAge?: number;
  readonly bisect?: boolean;
  readonly reportBatchItemFailures?: boolean;
  readonly onFailure?: string;
  readonly startingPositionTimestamp?: number;
  readonly parallelizationFactor?: number;
  readonly batchingWindow?: number;
  readonly tumblingWindow?: number;
  readonly filter?: string[];
}

interface InvokeOptions extends ClientOptions {
  readonly payload?: string;
  readonly data?: string[];
  readonly partitionKey: string;
  readonly stream: string;
}

interface UpdateOptions extends ClientOptions {
  readonly batchSize?: number;
  readonly enabled?: boolean;
}

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new InvalidArgumentError('an integer');
  return parsed;
};

export function addTriggerCommands(program: Command): void {
  const trigger = program.command('trigger').description('event source mappings: functions run on the records of a stream');
  trigger
    .command('create')
    .description("map a stream to a function the server has registered; prints the mapping's UUID")
    .requiredOption('--stream <name|arn>', 'the stream')
    .requiredOption('--function <name>', 'a registered function')
    .addOption(
      new Option('--starting-position <position>', 'where a new mapping starts')
        .choices(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'])
        .default('LATEST'),
    )
    .addOption(new Option('--starting-position-timestamp <epoch seconds>', 'with AT_TIMESTAMP').argParser(Number))
    .addOption(new Option('--batch-size <n>', 'records per invocation (1 .. 10,000; default 100)').argParser(integer))
    .addOption(new Option('--max-retries <n>', 'retries of a failing batch (-1: until the records expire)').argParser(integer))
    .addOption(new Option('--max-record-age <seconds>', 'give up older records (-1, or 60 .. 604,800)').argParser(integer))
    .option('--bisect', 'split a failing batch in two before retrying')
    .option('--report-batch-item-failures', 'the function answers batchItemFailures')
    .option('--on-failure <destination>', 'a stream ARN or a file:// URL for the records given up')
    .addOption(new Option('--parallelization-factor <n>', 'concurrent batches per shard, each key in order (1 .. 10)').argParser(integer))
    .addOption(new Option('--batching-window <seconds>', 'gather records up to this long (0 .. 300)').argParser(integer))
    .addOption(new Option('--tumbling-window <seconds>', 'windows of this length with state (1 .. 900)').argParser(integer))
    .option('--filter <pattern...>', 'EventBridge patterns over the data (a record is kept if one matches)')
    .addOption(urlOption())
    .action((options: CreateOptions) => withClient(options.url, (client) => create(client, options)));
  trigger
    .command('list')
    .description('the mappings: UUID, state, function, stream, batch size, last processing result')
    .option('--json', 'print JSON: { EventSourceMappings }')
    .addOption(urlOption())
    .action((options: ClientOptions & { json?: boolean }) => withClient(options.url, (client) => list(client, options.json === true)));
  trigger
    .command('describe')
    .description('one mapping, as Lambda describes it (JSON)')
    .argument('<uuid>', "the mapping's UUID")
    .addOption(urlOption())
    .action((uuid: string, options: ClientOptions) =>
      withClient(options.url, async (client) =>
        writeLine(JSON.stringify(await client.callNamed('GetEventSourceMapping', { UUID: uuid }), null, 2)),
      ),
    );
  trigger
    .command('update')
    .description("change a mapping's batch size, or enable or disable it")
    .argument('<uuid>', "the mapping's UUID")
    .addOption(new Option('--batch-size <n>', 'records per invocation').argParser(integer))
    .addOption(
      new Option('--enabled <true|false>', 'run or pause the mapping (its position is kept)').argParser((value) => value === 'true'),
    )
    .addOption(urlOption())
    .action((uuid: string, options: UpdateOptions) => withClient(options.url, (client) => update(client, uuid, options)));
  trigger
    .command('delete')
    .description('delete a mapping and its positions')
    .argument('<uuid>', "the mapping's UUID")
    .addOption(urlOption())
    .action((uuid: string, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        await client.callNamed('DeleteEventSourceMapping', { UUID: uuid });
        await writeLine(`deleted ${uuid}`);
      }),
    );
  trigger
    .command('invoke')
    .description('invoke a registered function once and print its answer (exit 1 if it failed)')
    .argument('<function>', 'a registered function')
    .option('--payload <json>', 'the event, as JSON')
    .option('--data <text...>', 'or: a Kinesis event of records with these data')
    .option('--partition-key <key>', "the --data records' partition key", 'test')
    .option('--stream <name|arn>', "the --data records' stream", 'test')
    .addOption(urlOption())
    .action((name: string, options: InvokeOptions) => withClient(options.url, (client) => invoke(client, name, options)));
}

function streamArnOf(stream: string): string {
  return stream.startsWith('arn:') ? stream : `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`;
}

async function create(client: ShardlineClient, options: CreateOptions): Promise<void> {
  const request = {
    EventSourceArn: streamArnOf(options.stream),
    FunctionName: options.function,
    StartingPosition: options.startingPosition,
    ...(options.batchSize === undefined ? {} : { BatchSize: options.batchSize }),
    ...(options.maxRetries === undefined ? {} : { MaximumRetryAttempts: options.maxRetries }),
    ...(options.maxRecordAge === undefined ? {} : { MaximumRecordAgeInSeconds: options.maxRecordAge }),
    ...(options.bisect === true ? { BisectBatchOnFunctionError: true } : {}),
    ...(options.reportBatchItemFailures === true ? { FunctionResponseTypes: ['ReportBatchItemFailures'] } : {}),
    ...(options.onFailure === undefined ? {} : { DestinationConfig: { OnFailure: { Destination: options.onFailure } } }),
    ...(options.startingPositionTimestamp === undefined ? {} : { StartingPositionTimestamp: options.startingPositionTimestamp }),
    ...(options.parallelizationFactor === undefined ? {} : { ParallelizationFactor: options.parallelizationFactor }),
    ...(options.batchingWindow === undefined ? {} : { MaximumBatchingWindowInSeconds: options.batchingWindow }),
    ...(options.tumblingWindow === undefined ? {} : { TumblingWindowInSeconds: options.tumblingWindow }),
    ...(options.filter === undefined ? {} : { FilterCriteria: { Filters: options.filter.map((Pattern) => ({ Pattern })) } }),
  };
  const { UUID } = (await client.callNamed('CreateEventSourceMapping', request)) as { UUID: string };
  await writeLine(UUID);
}

interface Listed {
  readonly UUID: string;
  readonly State: string;
  readonly FunctionArn: string;
  readonly EventSourceArn: string;
  readonly BatchSize: number;
  readonly LastProcessingResult: string;
}

async function list(client: ShardlineClient, json: boolean): Promise<void> {
  const answer = (await client.callNamed('ListEventSourceMappings', {})) as { EventSourceMappings: Listed[] };
  if (json) {
    await writeLine(JSON.stringify(answer, null, 2));
    return;
  }
  for (const mapping of answer.EventSourceMappings)
    await writeLine(
      [
        mapping.UUID,
        mapping.State,
        mapping.FunctionArn.split(':function:')[1],
        mapping.EventSourceArn.split(':stream/')[1],
        String(mapping.BatchSize),
        mapping.LastProcessingResult,
      ].join('\t'),
    );
}

async function update(client: ShardlineClient, uuid: string, options: UpdateOptions): Promise<void> {
  const changes = {
    UUID: uuid,
    ...(options.batchSize === undefined ? {} : { BatchSize: options.batchSize }),
    ...(options.enabled === undefined ? {} : { Enabled: options.enabled }),
  };
  const { State, BatchSize } = (await client.callNamed('UpdateEventSourceMapping', changes)) as unknown as Listed;
  await writeLine(`${uuid}\t${State}\tbatch size ${BatchSize}`);
}

async function invoke(client: ShardlineClient, functionName: string, options: InvokeOptions): Promise<void> {
  const payload = options.payload === undefined ? testEvent(options) : parsePayload(options.payload);
  const { Payload, FunctionError } = (await client.callNamed('Invoke', { FunctionName: functionName, Payload: payload })) as {
    Payload: unknown;
    FunctionError?: string;
  };
  await writeLine(JSON.stringify(Payload, null, 2));
  if (FunctionError !== undefined) throw new Error(`the function ${functionName} failed (${FunctionError})`);
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('--payload is not JSON');
  }
}

/** A Kinesis event as a mapping would deliver it, of records made up from --data (sequence numbers 1, 2, ...). */
function testEvent(options: InvokeOptions): KinesisEvent {
  const now = Date.now();
  const records = (options.data ?? []).map((data, index) => ({
    sequenceNumber: String(index + 1),
    subSequenceNumber: 0,
    partitionKey: options.partitionKey,
    data: new TextEncoder().encode(data),
    approximateArrivalTimestamp: new Date(now),
    aggregated: false,
  }));
  return kinesisEvent(records, {
    streamArn: streamArnOf(options.stream),
    shardId: 'shardId-000000000000',
    region: 'us-east-1',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/shardline-trigger',
    encrypted: false,
  });
}
