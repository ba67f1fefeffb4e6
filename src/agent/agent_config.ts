/*
 * The agent's configuration (docs/AGENT.md): the Kinesis Agent's `agent.json` as it is
 * (../shared/reference/kinesis-family.md §3.1), every key with its default and range, plus
 * shardline's keys for what the Kinesis Agent lacks (`**` globs, several live files, multi-line
 * presets, a dead-letter file, a status port). A bad key stops the agent at start with the key
 * and the reason, before anything is read or sent.
 */
import { AgentConfigError, parseProcessingOptions, type ProcessingOption } from './processing.js';
import type { MultiLineOptions } from './records.js';

export { AgentConfigError };

export type Destination = { readonly kind: 'stream'; readonly name: string } | { readonly kind: 'deliveryStream'; readonly name: string };

export interface FlowConfig {
  /** `flows[<i>]`, for messages and the checkpoint file. */
  readonly id: string;
  readonly filePattern: string;
  readonly exclude: readonly string[];
  readonly destination: Destination;
  readonly partitionKeyOption: 'RANDOM' | 'DETERMINISTIC';
  readonly initialPosition: 'END_OF_FILE' | 'START_OF_FILE';
  readonly maxBufferAgeMillis: number;
  readonly maxBufferSizeRecords: number;
  readonly maxBufferSizeBytes: number;
  readonly maxRecordBytes: number;
  readonly skipHeaderLines: number;
  readonly truncatedRecordTerminator: string;
  readonly multiLine?: MultiLineOptions;
  readonly dataProcessingOptions: readonly ProcessingOption[];
  /** Records a processing option cannot parse go here (JSON lines) instead of being sent as they are. */
  readonly deadLetterFile?: string;
}

export interface AgentConfig {
  /** `ws://` or `wss://`: shardline's WebSocket; `http(s)://`: any Kinesis HTTP endpoint (AWS too). */
  readonly kinesisEndpoint?: string;
  readonly firehoseEndpoint?: string;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly checkpointFile: string;
  /** The status endpoint (`GET /status`, the agent's metrics); absent: none. */
  readonly statusPort?: number;
  readonly flows: readonly FlowConfig[];
}

const KDS_RECORD_BYTES = 1024 * 1024;
const FIREHOSE_RECORD_BYTES = 1_024_000;
const MULTILINE_TIMEOUT_DEFAULT_MS = 1000;
const GLOBAL_KEYS = new Set([
  'awsAccessKeyId',
  'awsSecretAccessKey',
  'assumeRoleARN',
  'assumeRoleExternalId',
  'kinesis.endpoint',
  'kinesis.region',
  'firehose.endpoint',
  'sts.endpoint',
  'cloudwatch.endpoint',
  'cloudwatch.emitMetrics',
  'cloudwatch.namespace',
  'checkpointFile',
  'checkpointTimeToLiveDays',
  'maxSendingThreads',
  'shutdownTimeoutMillis',
  'log.emitMetrics',
  'statusPort',
  'flows',
]);
const FLOW_KEYS = new Set([
  'filePattern',
  'exclude',
  'kinesisStream',
  'deliveryStream',
  'partitionKeyOption',
  'initialPosition',
  'maxBufferAgeMillis',
  'maxBufferSizeRecords',
  'maxBufferSizeBytes',
  'skipHeaderLines',
  'multiLineStartPattern',
  'multiLine',
  'truncatedRecordTerminator',
  'fileFooterPattern',
  'dataProcessingOptions',
  'deadLetterFile',
  'minTimeBetweenFilePollsMillis',
  'maxTimeBetweenFileTrackerRefreshMillis',
  'retryInitialBackoffMillis',
  'retryMaxBackoffMillis',
  'publishQueueCapacity',
  'waitOnFullPublishQueueMillis',
  'waitOnEmptyPublishQueueMillis',
]);

type Json = Readonly<Record<string, unknown>>;

export function parseAgentConfig(text: string, source: string): AgentConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigError(`${source} is not JSON: ${(error as Error).message}`, '');
  }
  const root = object(parsed, '');
  unknownKeys(root, GLOBAL_KEYS, '');
  const flows = root['flows'];
  if (!Array.isArray(flows) || flows.length === 0) throw new AgentConfigError('flows must be a list of at least one flow', 'flows');
  const kinesisEndpoint = optionalUrl(root['kinesis.endpoint'], 'kinesis.endpoint', /^(wss?|https?):\/\//);
  const firehoseEndpoint = optionalUrl(root['firehose.endpoint'], 'firehose.endpoint', /^https?:\/\//);
  const statusPort = integerIn(root['statusPort'], 'statusPort', 0, 65_535, -1);
  return {
    ...(kinesisEndpoint === undefined ? {} : { kinesisEndpoint }),
    ...(firehoseEndpoint === undefined ? {} : { firehoseEndpoint }),
    region: stringOf(root['kinesis.region'], 'kinesis.region', 'us-east-1'),
    ...credentialsOf(root),
    checkpointFile: stringOf(root['checkpointFile'], 'checkpointFile', '/var/run/aws-kinesis-agent/checkpoints'),
    ...(statusPort === -1 ? {} : { statusPort }),
    flows: flows.map((flow, index) => flowOf(object(flow, `flows[${index}]`), `flows[${index}]`)),
  };
}

function flowOf(flow: Json, id: string): FlowConfig {
  unknownKeys(flow, FLOW_KEYS, id);
  const filePattern = stringOf(flow['filePattern'], `${id}.filePattern`);
  if (!filePattern.startsWith('/')) throw new AgentConfigError('filePattern must be an absolute path (globs allowed)', `${id}.filePattern`);
  const destination = destinationOf(flow, id);
  const recordMax = destination.kind === 'stream' ? KDS_RECORD_BYTES : FIREHOSE_RECORD_BYTES;
  const bufferMax = destination.kind === 'stream' ? 5 * 1024 * 1024 : 4 * 1024 * 1024;
  const multiLine = multiLineOf(flow, id);
  const deadLetterFile = flow['deadLetterFile'] === undefined ? undefined : stringOf(flow['deadLetterFile'], `${id}.deadLetterFile`);
  return {
    id,
    filePattern,
    exclude: stringList(flow['exclude'], `${id}.exclude`),
    destination,
    partitionKeyOption: choice(flow['partitionKeyOption'], `${id}.partitionKeyOption`, ['RANDOM', 'DETERMINISTIC'], 'RANDOM'),
    initialPosition: choice(flow['initialPosition'], `${id}.initialPosition`, ['END_OF_FILE', 'START_OF_FILE'], 'END_OF_FILE'),
    maxBufferAgeMillis: integerIn(flow['maxBufferAgeMillis'], `${id}.maxBufferAgeMillis`, 1000, 900_000, 60_000),
    maxBufferSizeRecords: integerIn(flow['maxBufferSizeRecords'], `${id}.maxBufferSizeRecords`, 1, 500, 500),
    maxBufferSizeBytes: integerIn(flow['maxBufferSizeBytes'], `${id}.maxBufferSizeBytes`, 1, bufferMax, bufferMax),
    // The partition key (at most 256 bytes here) shares the Kinesis record's MiB.
    maxRecordBytes: recordMax - (destination.kind === 'stream' ? 256 : 0),
    skipHeaderLines: integerIn(flow['skipHeaderLines'], `${id}.skipHeaderLines`, 0, 1_000_000, 0),
    truncatedRecordTerminator: stringOf(flow['truncatedRecordTerminator'], `${id}.truncatedRecordTerminator`, '\n'),
    ...(multiLine === undefined ? {} : { multiLine }),
    dataProcessingOptions: parseProcessingOptions(flow['dataProcessingOptions'] ?? [], `${id}.dataProcessingOptions`),
    ...(deadLetterFile === undefined ? {} : { deadLetterFile }),
  };
}

function destinationOf(flow: Json, id: string): Destination {
  const stream = flow['kinesisStream'];
  const delivery = flow['deliveryStream'];
  if ((stream === undefined) === (delivery === undefined))
    throw new AgentConfigError('a flow names exactly one of kinesisStream and deliveryStream', id);
  if (stream !== undefined) return { kind: 'stream', name: stringOf(stream, `${id}.kinesisStream`) };
  return { kind: 'deliveryStream', name: stringOf(delivery, `${id}.deliveryStream`) };
}

/** The Kinesis Agent's `multiLineStartPattern`, or shardline's `multiLine` (a preset, or Vector's continuation modes). */
function multiLineOf(flow: Json, id: string): MultiLineOptions | undefined {
  const start = flow['multiLineStartPattern'];
  const multiLine = flow['multiLine'];
  if (start !== undefined && multiLine !== undefined) throw new AgentConfigError('use multiLineStartPattern or multiLine, not both', id);
  if (start !== undefined)
    return { kind: 'startPattern', startPattern: regexOf(start, `${id}.multiLineStartPattern`), timeoutMs: MULTILINE_TIMEOUT_DEFAULT_MS };
  if (multiLine === undefined) return undefined;
  const key = `${id}.multiLine`;
  const options = object(multiLine, key);
  const timeoutMs = integerIn(options['timeoutMillis'], `${key}.timeoutMillis`, 1, 3_600_000, MULTILINE_TIMEOUT_DEFAULT_MS);
  if (options['preset'] !== undefined)
    return { kind: 'preset', preset: choice(options['preset'], `${key}.preset`, ['java', 'python'], 'java'), timeoutMs };
  const startPattern = options['startPattern'] === undefined ? undefined : regexOf(options['startPattern'], `${key}.startPattern`);
  return {
    kind: 'continuation',
    ...(startPattern === undefined ? {} : { startPattern }),
    continuationPattern: regexOf(options['continuationPattern'], `${key}.continuationPattern`),
    mode: choice(options['mode'], `${key}.mode`, ['continue_through', 'continue_past', 'halt_before', 'halt_with'], 'continue_through'),
    timeoutMs,
  };
}

function credentialsOf(root: Json): { credentials?: NonNullable<AgentConfig['credentials']> } {
  const id = root['awsAccessKeyId'];
  const secret = root['awsSecretAccessKey'];
  if (id === undefined && secret === undefined) return {};
  return { credentials: { accessKeyId: stringOf(id, 'awsAccessKeyId'), secretAccessKey: stringOf(secret, 'awsSecretAccessKey') } };
}

function object(value: unknown, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AgentConfigError('must be an object', key);
  return value as Json;
}

function unknownKeys(value: Json, known: ReadonlySet<string>, key: string): void {
  const unknown = Object.keys(value).find((member) => !known.has(member));
  if (unknown !== undefined)
    throw new AgentConfigError(`${unknown} is not a key of the agent's configuration`, key === '' ? unknown : `${key}.${unknown}`);
}

function stringOf(value: unknown, key: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new AgentConfigError('must be a non-empty string', key);
  return value;
}

function stringList(value: unknown, key: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new AgentConfigError('must be a list of strings', key);
  return value as string[];
}

function optionalUrl(value: unknown, key: string, scheme: RegExp): string | undefined {
  if (value === undefined) return undefined;
  const url = stringOf(value, key);
  if (!scheme.test(url)) throw new AgentConfigError(`${url} is not a URL this endpoint takes (${scheme.source})`, key);
  return url;
}

function integerIn(value: unknown, key: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new AgentConfigError(`must be an integer from ${min} to ${max}`, key);
  return value;
}

function choice<T extends string>(value: unknown, key: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) throw new AgentConfigError(`must be one of ${choices.join(', ')}`, key);
  return value as T;
}

function regexOf(value: unknown, key: string): RegExp {
  const source = stringOf(value, key);
  try {
    return new RegExp(source);
  } catch (error) {
    throw new AgentConfigError(`is not a regular expression: ${(error as Error).message}`, key);
  }
}
