/**
 * kinesalite as a system under test: the Kinesis API over HTTP in its own Node process, LevelDB
 * on disk (scripts/peers.ts). A stream is a real Kinesis stream of N shards, and kinesalite
 * hashes partition keys itself. Calls are JSON over node:http with a keep-alive agent per
 * producer or consumer. A put is PutRecords requests of at most 500 records and 5 MiB, sent
 * at once. A consumer polls: GetRecords in a loop per shard from TRIM_HORIZON.
 *
 * kinesalite enforces no throughput limits (no 1 MB/s or 1,000 records/s per shard on writes,
 * no 5 calls/s or 2 MB/s per shard on reads, no 10 MiB per GetRecords), so a consumer that
 * finds nothing polls again after EMPTY_POLL_WAIT_MS, and sizes its next call to about what one
 * Kinesis GetRecords may return.
 *
 * The ceiling keeps CEILING_IN_FLIGHT PutRecords of 500 records in flight on a stream of its
 * own, their bodies built once: what the server takes, without the producers' per-put encoding.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  OpenPorts,
  PEER_HOST,
  PeerError,
  asBuffer,
  kinesaliteModule,
  readUntilClosed,
  startKinesalite,
  type PeerFactory,
  type PeerProcess,
  type PeerSystemUnderTest,
} from '../../../scripts/peers.js';
import type {
  BenchRecord,
  Ceiling,
  CeilingSpec,
  ConsumerOptions,
  ConsumerPort,
  FsyncSetting,
  ProducerPort,
  PutOutcome,
  StreamSpec,
} from '../types.js';

const PUT_RECORDS_MAX = 500;
/** PutRecords' limit on data and partition keys together: base64 keeps the body under kinesalite's 7 MiB. */
const PUT_BYTES_MAX = 5 * 1024 * 1024;
const PUT_ATTEMPTS_MAX = 20;
const RETRY_WAIT_MS_MAX = 1000;
const THROTTLED = 'ProvisionedThroughputExceededException';
const EXPIRED_ITERATOR = 'ExpiredIteratorException';
/** A poll that found nothing waits this long: kinesalite would answer a tight loop as fast as it can. */
const EMPTY_POLL_WAIT_MS = 1;
/** The first GetRecords of a shard asks for few records: their size is not known yet. */
const GET_RECORDS_LIMIT_FIRST = 10;
const GET_RECORDS_LIMIT_MAX = 10_000;
/** Kinesis returns at most 10 MiB per GetRecords; kinesalite has no bound, so we keep to this. */
const GET_RECORDS_BYTES_TARGET = 10 * 1024 * 1024;
const ACTIVE_WAIT_MS_MAX = 10_000;
const ACTIVE_POLL_MS = 10;
/** The ceiling's own stream, deleted after. */
const CEILING_STREAM = 'ceiling';
/**
 * Shards add no parallelism: kinesalite runs a stream's PutRecords one at a time (a lock) and
 * finds each record's shard by a scan of them all, so 16 shards took 10% off, 64 took 40%. As
 * many as the throughput workloads, where 1 did no better.
 */
const CEILING_SHARDS = 4;
/** PutRecords calls in flight, one connection each. */
const CEILING_IN_FLIGHT = 8;

interface PutRecordsEntry {
  readonly Data: string;
  readonly PartitionKey: string;
}

interface PutRecordsOutput {
  readonly FailedRecordCount: number;
  readonly Records: ReadonlyArray<{ readonly ErrorCode?: string; readonly ErrorMessage?: string }>;
}

interface GetRecordsOutput {
  readonly Records: ReadonlyArray<{ readonly Data: string; readonly SequenceNumber: string }>;
  readonly NextShardIterator?: string;
}

/** An error answer from kinesalite; `type` is the Kinesis exception name it sent. */
export class KinesisCallError extends PeerError {
  constructor(
    readonly operation: string,
    readonly type: string,
    message: string,
  ) {
    super('PeerRequestFailed', `kinesalite ${operation} failed: ${type}: ${message}`);
  }
}

function durabilityOf(fsync: FsyncSetting): string {
  const store = 'LevelDB write without sync: in the OS page cache at the reply, never fsynced (kinesalite cannot fsync)';
  if (fsync === 'never') return store;
  return `${fsync === 'always' ? 'fsync always' : `fsync every ${fsync.intervalMs} ms`} asked, which kinesalite cannot do, so: ${store}`;
}

function kinesaliteVersion(): string {
  // The module resolves to index.js at the package root, next to package.json.
  const packageJson = path.join(path.dirname(kinesaliteModule()), 'package.json');
  return (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/**
 * Kinesis' JSON protocol. kinesalite refuses a request without an AWS4-HMAC-SHA256
 * Authorization header and X-Amz-Date, but checks only that Credential, SignedHeaders and
 * Signature are there, not what they say: so no request is really signed.
 */
class KinesisHttp {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    maxSockets = Infinity,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  call<T>(operation: string, input: unknown): Promise<T> {
    return this.post<T>(operation, JSON.stringify(input));
  }

  /** A call whose JSON body is already encoded, for bodies sent again and again. */
  post<T>(operation: string, body: string | Buffer): Promise<T> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const headers = {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(body),
      'X-Amz-Target': `Kinesis_20131202.${operation}`,
      'X-Amz-Date': amzDate,
      Authorization: `AWS4-HMAC-SHA256 Credential=bench/${amzDate.slice(0, 8)}/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`,
    };
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: PEER_HOST, port: this.port, method: 'POST', path: '/', agent: this.agent, headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (response.statusCode !== 200) return reject(callError(operation, response.statusCode, text));
            // Some calls (CreateStream) answer 200 with no body at all.
            try {
              resolve((text === '' ? {} : JSON.parse(text)) as T);
            } catch (error) {
              reject(
                new PeerError('PeerRequestFailed', `kinesalite ${operation} answered JSON that does not parse: ${text.slice(0, 200)}`, {
                  cause: error,
                }),
              );
            }
          });
        },
      );
      request.on('error', (error) =>
        reject(new PeerError('PeerRequestFailed', `kinesalite ${operation}: ${error.message}`, { cause: error })),
      );
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function callError(operation: string, status: number | undefined, text: string): KinesisCallError {
  try {
    const answer = JSON.parse(text) as { __type?: string; message?: string };
    return new KinesisCallError(operation, answer.__type ?? `HTTP ${status}`, answer.message ?? text);
  } catch {
    return new KinesisCallError(operation, `HTTP ${status}`, text);
  }
}

export const kinesaliteFactory: PeerFactory = {
  name: 'kinesalite',
  async start(fsync, dataRoot) {
    const version = kinesaliteVersion();
    const peer = await startKinesalite(dataRoot);
    return new KinesaliteSystem(peer, new KinesisHttp(peer.port), version, durabilityOf(fsync));
  },
};

class KinesaliteSystem implements PeerSystemUnderTest {
  readonly name = 'kinesalite';
  readonly consumerModes = ['poll'] as const;
  readonly supportsLimits = false;
  private readonly ports = new OpenPorts();

  constructor(
    readonly peer: PeerProcess,
    private readonly admin: KinesisHttp,
    readonly version: string,
    readonly durability: string,
  ) {}

  async createStreams(spec: StreamSpec): Promise<void> {
    for (const name of spec.names) await this.admin.call('CreateStream', { StreamName: name, ShardCount: spec.shards });
    for (const name of spec.names) await untilActive(this.admin, name);
  }

  async openProducer(options: { readonly retryThrottled: boolean }): Promise<ProducerPort> {
    const client = new KinesisHttp(this.peer.port);
    return {
      put: (stream, records) => put(client, stream, records, options.retryThrottled),
      close: this.ports.add(async () => client.close()),
    };
  }

  async openConsumer(options: ConsumerOptions): Promise<ConsumerPort> {
    if (options.mode !== 'poll') throw new PeerError('PeerRequestFailed', `kinesalite consumers poll only, not ${options.mode}`);
    const client = new KinesisHttp(this.peer.port);
    const { Shards } = await client.call<{ Shards: ReadonlyArray<{ ShardId: string }> }>('ListShards', { StreamName: options.stream });
    const read = async (isOpen: () => boolean): Promise<void> => {
      await Promise.all(Shards.map((shard) => readShard(client, options.stream, shard.ShardId, options.onRecord, isOpen)));
    };
    return { close: this.ports.add(readUntilClosed(`kinesalite consumer of ${options.stream}`, read, () => client.close())) };
  }

  async ceiling(spec: CeilingSpec): Promise<Ceiling> {
    await this.admin.call('CreateStream', { StreamName: CEILING_STREAM, ShardCount: CEILING_SHARDS });
    const client = new KinesisHttp(this.peer.port, CEILING_IN_FLIGHT);
    try {
      await untilActive(this.admin, CEILING_STREAM);
      const { records, seconds } = await putFlatOut(client, spec);
      return {
        tool: `raw HTTP PutRecords, ${PUT_RECORDS_MAX} records a call, ${CEILING_IN_FLIGHT} in flight, keep-alive`,
        records,
        seconds,
        recordsPerSec: Math.round(records / seconds),
      };
    } finally {
      client.close();
      await this.admin.call('DeleteStream', { StreamName: CEILING_STREAM });
    }
  }

  async stop(): Promise<void> {
    await this.ports.closeAll();
    this.admin.close();
    await this.peer.stop();
  }
}

async function untilActive(client: KinesisHttp, stream: string): Promise<void> {
  for (let waitedMs = 0; waitedMs < ACTIVE_WAIT_MS_MAX; waitedMs += ACTIVE_POLL_MS) {
    const { StreamDescriptionSummary } = await client.call<{ StreamDescriptionSummary: { StreamStatus: string } }>(
      'DescribeStreamSummary',
      { StreamName: stream },
    );
    if (StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    await sleep(ACTIVE_POLL_MS);
  }
  throw new PeerError('PeerRequestFailed', `kinesalite: stream ${stream} not ACTIVE after ${ACTIVE_WAIT_MS_MAX / 1000} s`);
}

async function put(client: KinesisHttp, stream: string, records: readonly BenchRecord[], retryThrottled: boolean): Promise<PutOutcome> {
  const throttled = await Promise.all(requestsOf(records).map((entries) => putRequest(client, stream, entries, retryThrottled)));
  return { throttled: throttled.reduce((sum, count) => sum + count, 0) };
}

/**
 * Each of CEILING_IN_FLIGHT loops sends its own body again as soon as the last is answered,
 * until spec.seconds are up; the clock stops at the last answer. Partition keys differ across
 * all the bodies' records, so every shard takes its share.
 */
async function putFlatOut(client: KinesisHttp, spec: CeilingSpec): Promise<{ records: number; seconds: number }> {
  const data = Buffer.alloc(spec.recordBytes, 'x').toString('base64');
  const bodies = Array.from({ length: CEILING_IN_FLIGHT }, (_, loop) => {
    const entries = Array.from({ length: PUT_RECORDS_MAX }, (_, i) => ({ Data: data, PartitionKey: `key-${loop}-${i}` }));
    return Buffer.from(JSON.stringify({ StreamName: CEILING_STREAM, Records: entries }));
  });
  const startedAt = performance.now();
  const until = startedAt + spec.seconds * 1000;
  let records = 0;
  const loop = async (body: Buffer): Promise<void> => {
    while (performance.now() < until) {
      const { FailedRecordCount } = await client.post<PutRecordsOutput>('PutRecords', body);
      records += PUT_RECORDS_MAX - FailedRecordCount;
    }
  };
  await Promise.all(bodies.map(loop));
  return { records, seconds: Math.round(performance.now() - startedAt) / 1000 };
}

/** The records as PutRecords entries, cut into requests within Kinesis' count and byte limits. */
function requestsOf(records: readonly BenchRecord[]): PutRecordsEntry[][] {
  const requests: PutRecordsEntry[][] = [];
  let entries: PutRecordsEntry[] = [];
  let bytes = 0;
  for (const record of records) {
    const recordBytes = record.data.byteLength + Buffer.byteLength(record.partitionKey);
    if (entries.length === PUT_RECORDS_MAX || (entries.length > 0 && bytes + recordBytes > PUT_BYTES_MAX)) {
      requests.push(entries);
      entries = [];
      bytes = 0;
    }
    entries.push({ Data: asBuffer(record.data).toString('base64'), PartitionKey: record.partitionKey });
    bytes += recordBytes;
  }
  if (entries.length > 0) requests.push(entries);
  return requests;
}

/** Sends one request, and again its throttled records if asked to; resolves to those dropped. */
async function putRequest(
  client: KinesisHttp,
  stream: string,
  entries: readonly PutRecordsEntry[],
  retryThrottled: boolean,
): Promise<number> {
  let pending = entries;
  for (let attempt = 1; ; attempt++) {
    const { FailedRecordCount, Records } = await client.call<PutRecordsOutput>('PutRecords', { StreamName: stream, Records: pending });
    if (FailedRecordCount === 0) return 0;
    const refused = Records.find((result) => result.ErrorCode !== undefined && result.ErrorCode !== THROTTLED);
    if (refused !== undefined) throw new KinesisCallError('PutRecords', refused.ErrorCode!, refused.ErrorMessage ?? '(no message)');
    const throttled = pending.filter((_, i) => Records[i]?.ErrorCode === THROTTLED);
    if (!retryThrottled) return throttled.length;
    if (attempt === PUT_ATTEMPTS_MAX)
      throw new PeerError(
        'PeerRequestFailed',
        `kinesalite PutRecords: ${throttled.length} records still throttled after ${attempt} attempts`,
      );
    await sleep(Math.min(RETRY_WAIT_MS_MAX, 10 * 2 ** attempt));
    pending = throttled;
  }
}

/**
 * Reads one shard from its start, in order. After a GetRecords that found nothing the same
 * iterator is used again, not NextShardIterator: kinesalite stamps that one with the current
 * time, and a record stored with an earlier stamp but committed after the read (a shard's
 * first record can be) sorts below it and would be skipped. Reused iterators expire after
 * 5 minutes; a fresh one then starts after the last record read.
 */
async function readShard(
  client: KinesisHttp,
  stream: string,
  shardId: string,
  onRecord: (data: Uint8Array) => void,
  isOpen: () => boolean,
): Promise<void> {
  let iterator = await shardIterator(client, stream, shardId, null);
  let lastSequenceNumber: string | null = null;
  let limit = GET_RECORDS_LIMIT_FIRST;
  while (isOpen()) {
    const answer = await client.call<GetRecordsOutput>('GetRecords', { ShardIterator: iterator, Limit: limit }).catch((error: unknown) => {
      if (error instanceof KinesisCallError && error.type === EXPIRED_ITERATOR) return null;
      throw error;
    });
    if (answer === null) {
      iterator = await shardIterator(client, stream, shardId, lastSequenceNumber);
      continue;
    }
    if (answer.Records.length === 0) {
      await sleep(EMPTY_POLL_WAIT_MS);
      continue;
    }
    let bytes = 0;
    for (const record of answer.Records) {
      const data = Buffer.from(record.Data, 'base64');
      bytes += data.byteLength;
      onRecord(data);
    }
    lastSequenceNumber = answer.Records[answer.Records.length - 1]!.SequenceNumber;
    limit = Math.max(
      1,
      Math.min(GET_RECORDS_LIMIT_MAX, Math.floor((GET_RECORDS_BYTES_TARGET * answer.Records.length) / Math.max(1, bytes))),
    );
    // A closed shard (after a reshard) has no next iterator: it has been read to its end.
    if (answer.NextShardIterator === undefined) return;
    iterator = answer.NextShardIterator;
  }
}

async function shardIterator(client: KinesisHttp, stream: string, shardId: string, afterSequenceNumber: string | null): Promise<string> {
  const position =
    afterSequenceNumber === null
      ? { ShardIteratorType: 'TRIM_HORIZON' }
      : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: afterSequenceNumber };
  const { ShardIterator } = await client.call<{ ShardIterator: string }>('GetShardIterator', {
    StreamName: stream,
    ShardId: shardId,
    ...position,
  });
  return ShardIterator;
}
