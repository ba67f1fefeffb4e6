/*
 * A delivery stream's configuration as Firehose takes it (CreateDeliveryStream, kinesis-family.md
 * §5): checked once, defaults filled, so that what Firehose would refuse is refused here with
 * InvalidArgumentException naming the member, and nothing is created. The S3 destinations
 * (ExtendedS3DestinationConfiguration, S3DestinationConfiguration) and the HTTP endpoint one are
 * built; the others (Redshift, OpenSearch, Splunk, ...) are refused by name.
 */
import { InvalidArgumentException } from '../errors.js';
import { resolveHttpEndpointConfiguration, type HttpEndpointConfiguration } from './http_endpoint.js';
import { parseMetadataQuery, type MetadataQuery } from './metadata_query.js';
import { resolveFormatConversion, type FormatConversion } from './parquet.js';
import { validatePrefixes } from './prefixes.js';

export type DeliveryStreamType = 'DirectPut' | 'KinesisStreamAsSource';

export interface BufferSettings {
  readonly sizeBytes: number;
  readonly intervalMs: number;
}

export interface ProcessorSettings {
  /** The Lambda processor's function (a function registered with the triggers' registry). */
  readonly lambda?: { readonly functionName: string; readonly functionArn: string; readonly numberOfRetries: number };
  readonly metadataQuery?: MetadataQuery;
  readonly appendDelimiter: boolean;
}

export interface S3Settings {
  readonly kind: 's3';
  readonly bucket: string;
  readonly bucketArn: string;
  readonly prefix?: string;
  readonly errorOutputPrefix?: string;
  readonly buffering: BufferSettings;
  readonly compression: 'UNCOMPRESSED' | 'GZIP';
  readonly fileExtension?: string;
  readonly processors: ProcessorSettings;
  readonly formatConversion: FormatConversion | null;
  readonly dynamicPartitioning: boolean;
}

export interface HttpSettings {
  readonly kind: 'http';
  readonly endpoint: HttpEndpointConfiguration;
  readonly buffering: BufferSettings;
  readonly processors: ProcessorSettings;
  /** Where what the endpoint did not take goes (S3BackupMode FailedDataOnly), or every record (AllData). */
  readonly backup: S3Settings;
}

export type DestinationSettings = S3Settings | HttpSettings;

export interface DeliverySettings {
  readonly name: string;
  readonly type: DeliveryStreamType;
  /** KinesisStreamAsSource: the stream read. */
  readonly sourceStreamArn?: string;
  readonly destination: DestinationSettings;
}

const NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
const STREAM_ARN = /^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}$/;
const BUCKET_ARN = /^arn:aws:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;
const FUNCTION_ARN = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]{1,64})(:[$a-zA-Z0-9_-]+)?$/;
const MB = 1024 * 1024;
const BUFFER_DEFAULT = { SizeInMBs: 5, IntervalInSeconds: 300 };
const UNSUPPORTED_DESTINATIONS = [
  'RedshiftDestinationConfiguration',
  'ElasticsearchDestinationConfiguration',
  'AmazonopensearchserviceDestinationConfiguration',
  'AmazonOpenSearchServerlessDestinationConfiguration',
  'SplunkDestinationConfiguration',
  'SnowflakeDestinationConfiguration',
  'IcebergDestinationConfiguration',
] as const;

type Request = Readonly<Record<string, unknown>>;

/** The Glue tables a Parquet schema may name, by `<database>.<table>`. */
export type GlueTables = Readonly<Record<string, readonly { readonly Name: string; readonly Type: string }[]>>;

export function resolveDeliveryStream(request: Request, tables: GlueTables = {}): DeliverySettings {
  const name = request['DeliveryStreamName'];
  if (typeof name !== 'string' || !NAME.test(name)) throw invalid(`DeliveryStreamName ${String(name)} must be 1 to 64 of [a-zA-Z0-9_.-]`);
  const type = request['DeliveryStreamType'] ?? 'DirectPut';
  if (type !== 'DirectPut' && type !== 'KinesisStreamAsSource')
    throw invalid(`DeliveryStreamType ${String(type)} is not supported: DirectPut or KinesisStreamAsSource`);
  return { name, type, ...sourceOf(type, request['KinesisStreamSourceConfiguration']), destination: destinationOf(request, tables) };
}

/** UpdateDestination: the same destination kind, its members replaced by those given. */
export function resolveDestinationUpdate(current: Request, update: Request): Request {
  const merged: Record<string, unknown> = { ...current };
  for (const [member, value] of Object.entries(update)) {
    if (!member.endsWith('DestinationUpdate')) continue;
    const kind = member.replace(/Update$/, 'Configuration');
    const before = current[kind];
    if (before === undefined) throw invalid(`${member} does not match the delivery stream's destination`);
    merged[kind] = { ...(before as object), ...(value as object) };
  }
  return merged;
}

function invalid(message: string): InvalidArgumentException {
  return new InvalidArgumentException(message);
}

function sourceOf(type: DeliveryStreamType, source: unknown): { sourceStreamArn?: string } {
  if (type === 'DirectPut') {
    if (source !== undefined) throw invalid('KinesisStreamSourceConfiguration is only for DeliveryStreamType KinesisStreamAsSource');
    return {};
  }
  const arn = (source as { KinesisStreamARN?: unknown } | undefined)?.KinesisStreamARN;
  if (typeof arn !== 'string' || !STREAM_ARN.test(arn))
    throw invalid('KinesisStreamSourceConfiguration.KinesisStreamARN must be a Kinesis stream ARN');
  return { sourceStreamArn: arn };
}

function destinationOf(request: Request, tables: GlueTables): DestinationSettings {
  const unsupported = UNSUPPORTED_DESTINATIONS.find((member) => request[member] !== undefined);
  if (unsupported !== undefined)
    throw invalid(`${unsupported} is not supported by shardline: S3 (a directory or an S3 API) and HTTP endpoints are`);
  const given = ['ExtendedS3DestinationConfiguration', 'S3DestinationConfiguration', 'HttpEndpointDestinationConfiguration'].filter(
    (member) => request[member] !== undefined,
  );
  if (given.length !== 1) throw invalid('exactly one destination configuration is required');
  const config = request[given[0]!] as Request;
  if (given[0] === 'HttpEndpointDestinationConfiguration') return httpOf(config);
  return s3Of(config, given[0] === 'ExtendedS3DestinationConfiguration', tables);
}

function s3Of(config: Request, extended: boolean, tables: GlueTables = {}): S3Settings {
  const bucketArn = config['BucketARN'];
  const bucket = typeof bucketArn === 'string' ? BUCKET_ARN.exec(bucketArn)?.[1] : undefined;
  if (bucket === undefined) throw invalid(`BucketARN ${String(bucketArn)} is not an S3 bucket ARN (arn:aws:s3:::<bucket>)`);
  const prefix = optionalString(config['Prefix'], 'Prefix');
  const errorOutputPrefix = optionalString(config['ErrorOutputPrefix'], 'ErrorOutputPrefix');
  const dynamicPartitioning = extended && enabled(config['DynamicPartitioningConfiguration']);
  validatePrefixes(prefix, errorOutputPrefix, { dynamicPartitioning });
  const formatConversion = extended ? resolveFormatConversion(withGlueColumns(config['DataFormatConversionConfiguration'], tables)) : null;
  const compression = compressionOf(config['CompressionFormat'], formatConversion !== null);
  const processors = extended ? processorsOf(config['ProcessingConfiguration']) : { appendDelimiter: false };
  if (dynamicPartitioning && processors.metadataQuery === undefined && processors.lambda === undefined)
    throw invalid('dynamic partitioning needs a MetadataExtraction processor or a Lambda processor for its partition keys');
  const fileExtension = optionalString(config['FileExtension'], 'FileExtension');
  return {
    kind: 's3',
    bucket,
    bucketArn: bucketArn as string,
    ...(prefix === undefined ? {} : { prefix }),
    ...(errorOutputPrefix === undefined ? {} : { errorOutputPrefix }),
    buffering: bufferingOf(config['BufferingHints'], 128),
    compression,
    ...(fileExtension === undefined ? {} : { fileExtension }),
    processors,
    formatConversion,
    dynamicPartitioning,
  };
}

function httpOf(config: Request): HttpSettings {
  const endpoint = resolveHttpEndpointConfiguration(config);
  const backup = config['S3Configuration'];
  if (backup === undefined) throw invalid('HttpEndpointDestinationConfiguration.S3Configuration is required (where failed data goes)');
  return {
    kind: 'http',
    endpoint,
    buffering: bufferingOf(config['BufferingHints'], 64),
    processors: processorsOf(config['ProcessingConfiguration']),
    backup: s3Of(backup as Request, false),
  };
}

/** A schema that names a Glue table gets the table's columns (an unknown table is refused). */
function withGlueColumns(conversion: unknown, tables: GlueTables): unknown {
  const schema = (conversion as { SchemaConfiguration?: Record<string, unknown> } | undefined)?.SchemaConfiguration;
  if (schema === undefined || schema['Columns'] !== undefined || schema['TableName'] === undefined) return conversion;
  const table = `${String(schema['DatabaseName'])}.${String(schema['TableName'])}`;
  const columns = tables[table];
  if (columns === undefined)
    throw invalid(`SchemaConfiguration names the Glue table ${table}, which shardline was not given (serve --glue-tables)`);
  return { ...(conversion as object), SchemaConfiguration: { ...schema, Columns: columns } };
}

function optionalString(value: unknown, member: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${member} must be a string`);
  return value;
}

function enabled(config: unknown): boolean {
  return (config as { Enabled?: unknown } | undefined)?.Enabled === true;
}

/** Both or neither, as Firehose asks: SizeInMBs 1..max, IntervalInSeconds 0..900. */
function bufferingOf(hints: unknown, maxMB: number): BufferSettings {
  const given = (hints ?? BUFFER_DEFAULT) as { SizeInMBs?: unknown; IntervalInSeconds?: unknown };
  const { SizeInMBs: size, IntervalInSeconds: interval } = given;
  if (size === undefined || interval === undefined) throw invalid('BufferingHints takes both SizeInMBs and IntervalInSeconds, or neither');
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > maxMB)
    throw invalid(`BufferingHints.SizeInMBs ${String(size)} must be an integer from 1 to ${maxMB}`);
  if (!Number.isInteger(interval) || (interval as number) < 0 || (interval as number) > 900)
    throw invalid(`BufferingHints.IntervalInSeconds ${String(interval)} must be an integer from 0 to 900`);
  return { sizeBytes: (size as number) * MB, intervalMs: (interval as number) * 1000 };
}

function compressionOf(value: unknown, converted: boolean): 'UNCOMPRESSED' | 'GZIP' {
  const compression = value ?? 'UNCOMPRESSED';
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP')
    throw invalid(`CompressionFormat ${String(compression)} is not supported by shardline: UNCOMPRESSED or GZIP`);
  if (converted && compression !== 'UNCOMPRESSED')
    throw invalid('CompressionFormat must be UNCOMPRESSED with DataFormatConversionConfiguration (Parquet compresses by its serializer)');
  return compression;
}

interface Processor {
  readonly Type?: unknown;
  readonly Parameters?: readonly { readonly ParameterName?: unknown; readonly ParameterValue?: unknown }[];
}

function processorsOf(config: unknown): ProcessorSettings {
  const { Enabled, Processors } = (config ?? {}) as { Enabled?: unknown; Processors?: unknown };
  if (Enabled !== true) return { appendDelimiter: false };
  if (!Array.isArray(Processors)) throw invalid('ProcessingConfiguration.Processors must be a list');
  let settings: ProcessorSettings = { appendDelimiter: false };
  for (const processor of Processors as Processor[]) settings = { ...settings, ...processorOf(processor) };
  return settings;
}

function processorOf(processor: Processor): Partial<ProcessorSettings> {
  const parameters = new Map((processor.Parameters ?? []).map((parameter) => [parameter.ParameterName, parameter.ParameterValue]));
  switch (processor.Type) {
    case 'Lambda': {
      const arn = String(parameters.get('LambdaArn') ?? '');
      const functionName = FUNCTION_ARN.exec(arn)?.[1];
      if (functionName === undefined) throw invalid(`the Lambda processor's LambdaArn ${arn} is not a function ARN`);
      const retries = Number(parameters.get('NumberOfRetries') ?? '3');
      if (!Number.isInteger(retries) || retries < 0 || retries > 300) throw invalid('NumberOfRetries must be an integer from 0 to 300');
      return { lambda: { functionName, functionArn: arn, numberOfRetries: retries } };
    }
    case 'MetadataExtraction': {
      const engine = parameters.get('JsonParsingEngine') ?? 'JQ-1.6';
      if (engine !== 'JQ-1.6') throw invalid(`JsonParsingEngine ${String(engine)}: only JQ-1.6`);
      return { metadataQuery: parseMetadataQuery(String(parameters.get('MetadataExtractionQuery') ?? '')) };
    }
    case 'AppendDelimiterToRecord':
      return { appendDelimiter: true };
    default:
      throw invalid(
        `processor Type ${String(processor.Type)} is not supported by shardline: Lambda, MetadataExtraction, AppendDelimiterToRecord`,
      );
  }
}
