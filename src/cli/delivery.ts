import fs from 'node:fs';
import readline from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/node.js';
import { withClient } from './connection.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline delivery create|list|describe|delete|put|flush`: delivery streams (docs/DELIVERY.md)
 * over the WebSocket CALL (`Firehose.<Op>`), with Firehose's operation and member names. `create`
 * covers the common shapes; `--config <file>` takes a whole CreateDeliveryStream request.
 */

interface CreateOptions extends ClientOptions {
  readonly config?: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly errorPrefix?: string;
  readonly bufferMb?: number;
  readonly bufferSeconds?: number;
  readonly gzip?: boolean;
  readonly sourceStream?: string;
  readonly httpUrl?: string;
  readonly httpAccessKey?: string;
  readonly transform?: string;
  readonly newline?: boolean;
}

const ROLE = 'arn:aws:iam::000000000000:role/shardline-firehose';

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new InvalidArgumentError('an integer');
  return parsed;
};

export function addDeliveryCommands(program: Command): void {
  const delivery = program
    .command('delivery')
    .description('delivery streams: buffered delivery to S3 keys, a directory or HTTP (Firehose)');
  delivery
    .command('create')
    .description('create a delivery stream; prints its ARN')
    .argument('<name>', 'the delivery stream')
    .option('--config <file>', 'a whole CreateDeliveryStream request (JSON); the other options are ignored')
    .option('--bucket <name>', 'the S3 bucket (a directory under --s3-dir, or a bucket at --s3-endpoint, of serve)')
    .option('--prefix <prefix>', 'the key prefix (Firehose expressions allowed)')
    .option('--error-prefix <prefix>', 'the error output prefix')
    .addOption(new Option('--buffer-mb <n>', 'flush at this many MiB (1 .. 128; default 5)').argParser(integer))
    .addOption(new Option('--buffer-seconds <n>', 'flush after this long (0 .. 900; default 300)').argParser(integer))
    .option('--gzip', 'compress objects with GZIP')
    .option('--source-stream <name>', 'read this Kinesis stream (KinesisStreamAsSource) instead of taking puts')
    .option('--http-url <url>', 'deliver to this HTTP endpoint (failed data to --bucket)')
    .option('--http-access-key <key>', "the endpoint's access key")
    .option('--transform <function>', 'a registered function as the Lambda processor')
    .option('--newline', 'append a newline to every record (AppendDelimiterToRecord)')
    .addOption(urlOption())
    .action((name: string, options: CreateOptions) => withClient(options.url, (client) => create(client, name, options)));
  delivery
    .command('list')
    .description('the delivery streams')
    .addOption(urlOption())
    .action((options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const { DeliveryStreamNames } = (await client.callNamed('Firehose.ListDeliveryStreams', {})) as { DeliveryStreamNames: string[] };
        for (const name of DeliveryStreamNames) await writeLine(name);
      }),
    );
  delivery
    .command('describe')
    .description('a delivery stream, as Firehose describes it, with its DeliveryMetrics (JSON)')
    .argument('<name>', 'the delivery stream')
    .addOption(urlOption())
    .action((name: string, options: ClientOptions) =>
      withClient(options.url, async (client) =>
        writeLine(JSON.stringify(await client.callNamed('Firehose.DescribeDeliveryStream', { DeliveryStreamName: name }), null, 2)),
      ),
    );
  delivery
    .command('delete')
    .description('delete a delivery stream (and its buffer log)')
    .argument('<name>', 'the delivery stream')
    .addOption(urlOption())
    .action((name: string, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        await client.callNamed('Firehose.DeleteDeliveryStream', { DeliveryStreamName: name });
        await writeLine(`deleted ${name}`);
      }),
    );
  delivery
    .command('put')
    .description('put records (the arguments, or each line of stdin); prints how many were taken')
    .argument('<name>', 'the delivery stream')
    .argument('[data...]', 'the records (default: stdin, a record per line, the newline kept)')
    .addOption(urlOption())
    .action((name: string, data: string[], options: ClientOptions) => withClient(options.url, (client) => put(client, name, data)));
  delivery
    .command('flush')
    .description('deliver what was put so far now, whatever the buffering hints')
    .argument('<name>', 'the delivery stream')
    .addOption(urlOption())
    .action((name: string, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        await client.callNamed('Firehose.FlushDeliveryStream', { DeliveryStreamName: name });
        await writeLine(`flushed ${name}`);
      }),
    );
}

async function create(client: ShardlineClient, name: string, options: CreateOptions): Promise<void> {
  const request = options.config === undefined ? requestOf(name, options) : { ...readConfig(options.config), DeliveryStreamName: name };
  const { DeliveryStreamARN } = (await client.callNamed('Firehose.CreateDeliveryStream', request)) as { DeliveryStreamARN: string };
  await writeLine(DeliveryStreamARN);
}

function readConfig(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidArgumentError(`--config ${file}: ${(error as Error).message}`);
  }
}

function requestOf(name: string, options: CreateOptions): Record<string, unknown> {
  if (options.bucket === undefined) throw new InvalidArgumentError('--bucket is required (or --config)');
  const s3 = {
    RoleARN: ROLE,
    BucketARN: `arn:aws:s3:::${options.bucket}`,
    ...(options.prefix === undefined ? {} : { Prefix: options.prefix }),
    ...(options.errorPrefix === undefined ? {} : { ErrorOutputPrefix: options.errorPrefix }),
  };
  const buffering =
    options.bufferMb === undefined && options.bufferSeconds === undefined
      ? {}
      : { BufferingHints: { SizeInMBs: options.bufferMb ?? 5, IntervalInSeconds: options.bufferSeconds ?? 300 } };
  const processing = processingOf(options);
  const destination =
    options.httpUrl === undefined
      ? {
          ExtendedS3DestinationConfiguration: {
            ...s3,
            ...buffering,
            ...processing,
            CompressionFormat: options.gzip === true ? 'GZIP' : 'UNCOMPRESSED',
          },
        }
      : {
          HttpEndpointDestinationConfiguration: {
            EndpointConfiguration: {
              Url: options.httpUrl,
              ...(options.httpAccessKey === undefined ? {} : { AccessKey: options.httpAccessKey }),
            },
            RequestConfiguration: { ContentEncoding: options.gzip === true ? 'GZIP' : 'NONE' },
            ...buffering,
            ...processing,
            S3Configuration: s3,
          },
        };
  return {
    DeliveryStreamName: name,
    ...(options.sourceStream === undefined
      ? { DeliveryStreamType: 'DirectPut' }
      : {
          DeliveryStreamType: 'KinesisStreamAsSource',
          KinesisStreamSourceConfiguration: {
            KinesisStreamARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${options.sourceStream}`,
            RoleARN: ROLE,
          },
        }),
    ...destination,
  };
}

function processingOf(options: CreateOptions): Record<string, unknown> {
  const processors = [
    ...(options.transform === undefined
      ? []
      : [
          {
            Type: 'Lambda',
            Parameters: [
              { ParameterName: 'LambdaArn', ParameterValue: `arn:aws:lambda:us-east-1:000000000000:function:${options.transform}` },
            ],
          },
        ]),
    ...(options.newline === true ? [{ Type: 'AppendDelimiterToRecord', Parameters: [] }] : []),
  ];
  return processors.length === 0 ? {} : { ProcessingConfiguration: { Enabled: true, Processors: processors } };
}

/** PutRecordBatch of the arguments, or of stdin's lines in batches of 500. */
async function put(client: ShardlineClient, name: string, data: readonly string[]): Promise<void> {
  let taken = 0;
  const send = async (batch: string[]): Promise<void> => {
    const Records = batch.map((text) => ({ Data: Buffer.from(text).toString('base64') }));
    const answer = (await client.callNamed('Firehose.PutRecordBatch', { DeliveryStreamName: name, Records })) as { FailedPutCount: number };
    taken += batch.length - answer.FailedPutCount;
  };
  if (data.length > 0) await send([...data]);
  else {
    let batch: string[] = [];
    for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      batch.push(`${line}\n`);
      if (batch.length === 500) {
        await send(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await send(batch);
  }
  await writeLine(`${taken}`);
}
