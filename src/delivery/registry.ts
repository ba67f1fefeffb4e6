/*
 * The delivery streams of an engine (docs/DELIVERY.md), as Firehose's API has them: created,
 * described, listed, updated and deleted here for every door (embedded, the HTTP port's Firehose
 * API, the WebSocket CALL, `shardline delivery`). They are kept in the engine document
 * `delivery.json` and start again, where their groups' checkpoints were, when the registry is
 * opened after a restart. A Direct PUT stream's records go to its buffer log, the shardline
 * stream `firehose.<name>`, and are acknowledged once there.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import {
  ConcurrentModificationException,
  InvalidArgumentException,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '../errors.js';
import { LeaseTables } from '../groups/lease_tables.js';
import { TriggerRegistry } from '../triggers/registry.js';
import { resolveDeliveryStream, resolveDestinationUpdate, type DeliverySettings, type GlueTables } from './delivery_config.js';
import { DeliveryStream, type DeliveryStatus } from './delivery_stream.js';
import { DirectoryStore } from './directory_store.js';
import type { ObjectStore } from './object_store.js';
import { deliveryStoreOf, glueTablesOf } from './store_config.js';
import { listDocument, readListDocument } from '../util/list_document.js';

const DOCUMENT = 'delivery.json';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** The buffer log's shards: Firehose's Direct PUT quota is 5 MiB/s, a shard's 1 MiB/s. */
const BUFFER_SHARDS = 5;
const RECORD_BYTES_MAX = 1_024_000;
const BATCH_RECORDS_MAX = 500;
const BATCH_BYTES_MAX = 4 * 1024 * 1024;
const LIST_MAX = 10_000;
const BUFFER_POLL_MS = 200;
const SOURCE_POLL_MS = 1000;

type Request = Readonly<Record<string, unknown>>;

interface Stored {
  readonly name: string;
  readonly request: Request;
  readonly versionId: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

const registries = new WeakMap<Engine, DeliveryRegistry>();

export class DeliveryRegistry {
  private readonly stored = new Map<string, Stored>();
  private readonly running = new Map<string, DeliveryStream>();
  private readonly store: ObjectStore;
  private readonly tables: GlueTables;
  private started: Promise<void> | null = null;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly engine: Engine) {
    this.store = (deliveryStoreOf(engine) ?? (() => new DirectoryStore(path.join(engine.dataDir, 's3'))))();
    this.tables = glueTablesOf(engine);
  }

  /** The one registry of an engine; its stored delivery streams start on the first call. */
  static async of(engine: Engine): Promise<DeliveryRegistry> {
    let registry = registries.get(engine);
    if (registry === undefined) {
      registry = new DeliveryRegistry(engine);
      registries.set(engine, registry);
    }
    registry.started ??= registry.load();
    await registry.started;
    return registry;
  }

  async create(request: Request): Promise<{ DeliveryStreamARN: string }> {
    const settings = resolveDeliveryStream(request, this.tables);
    if (this.stored.has(settings.name))
      throw new ResourceInUseException(`Firehose ${settings.name} under accountId ${ACCOUNT} already exists`);
    if (settings.sourceStreamArn !== undefined) this.engine.describeStreamSummary({ StreamARN: settings.sourceStreamArn });
    if (settings.type === 'DirectPut') await this.createBufferLog(settings.name);
    const now = this.engine.now();
    const { Tags: _tags, ...rest } = request;
    const stored: Stored = {
      name: settings.name,
      request: rest,
      versionId: 1,
      createdAtMs: now,
      updatedAtMs: now,
      tags: tagsOf(request['Tags']),
    };
    this.stored.set(stored.name, stored);
    await this.persist();
    await this.startStream(stored);
    return { DeliveryStreamARN: arnOf(stored.name) };
  }

  describe(name: unknown): Record<string, unknown> {
    const stored = this.find(name);
    const settings = resolveDeliveryStream(stored.request, this.tables);
    const status = this.running.get(stored.name)?.status;
    return {
      DeliveryStreamDescription: {
        DeliveryStreamName: stored.name,
        DeliveryStreamARN: arnOf(stored.name),
        DeliveryStreamStatus: 'ACTIVE',
        DeliveryStreamType: settings.type,
        VersionId: String(stored.versionId),
        CreateTimestamp: new Date(stored.createdAtMs),
        LastUpdateTimestamp: new Date(stored.updatedAtMs),
        ...(settings.sourceStreamArn === undefined
          ? {}
          : {
              Source: {
                KinesisStreamSourceDescription: {
                  KinesisStreamARN: settings.sourceStreamArn,
                  DeliveryStartTimestamp: new Date(stored.createdAtMs),
                },
              },
            }),
        Destinations: [destinationDescription(stored.request)],
        HasMoreDestinations: false,
        DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
      },
      ...(status === undefined ? {} : { DeliveryMetrics: status }),
    };
  }

  list(request: Request = {}): { DeliveryStreamNames: string[]; HasMoreDeliveryStreams: boolean } {
    const limit = request['Limit'] ?? LIST_MAX;
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > LIST_MAX)
      throw new InvalidArgumentException(`Limit must be from 1 to ${LIST_MAX}`);
    const after = request['ExclusiveStartDeliveryStreamName'];
    const type = request['DeliveryStreamType'];
    const names = [...this.stored.values()]
      .filter((stored) => type === undefined || (stored.request['DeliveryStreamType'] ?? 'DirectPut') === type)
      .map((stored) => stored.name)
      .sort()
      .filter((name) => typeof after !== 'string' || name > after);
    return { DeliveryStreamNames: names.slice(0, limit as number), HasMoreDeliveryStreams: names.length > (limit as number) };
  }

  async delete(name: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    await this.stopStream(stored.name);
    this.stored.delete(stored.name);
    await this.persist();
    await LeaseTables.of(this.engine)
      .deleteGroup(`delivery-${stored.name}`, true)
      .catch((error: unknown) => {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      });
    if ((stored.request['DeliveryStreamType'] ?? 'DirectPut') === 'DirectPut')
      await this.engine.deleteStream({ StreamName: bufferLogOf(stored.name) }).catch(() => undefined);
    return {};
  }

  /** PutRecord: acknowledged once the record is in the buffer log. */
  async putRecord(name: unknown, record: unknown): Promise<{ RecordId: string; Encrypted: boolean }> {
    const stored = this.directPut(name);
    const data = recordData(record, 'Record');
    try {
      const put = await this.engine.putRecord({ StreamName: bufferLogOf(stored.name), PartitionKey: randomUUID(), Data: data });
      return { RecordId: recordId(put.ShardId, put.SequenceNumber), Encrypted: false };
    } catch (error) {
      if (error instanceof ProvisionedThroughputExceededException) throw new ServiceUnavailableException('Slow down.', { retriable: true });
      throw error;
    }
  }

  /** PutRecordBatch: a record over 1,000 KiB is refused on its own (its entry says why); the others are stored. */
  async putRecordBatch(name: unknown, records: unknown): Promise<Record<string, unknown>> {
    const stored = this.directPut(name);
    if (!Array.isArray(records) || records.length < 1 || records.length > BATCH_RECORDS_MAX)
      throw new InvalidArgumentException(`Records must hold 1 to ${BATCH_RECORDS_MAX} records`);
    const data = records.map((record: unknown, index) => recordBytes(record, `Records[${index}]`));
    if (data.reduce((sum, bytes) => sum + bytes.length, 0) > BATCH_BYTES_MAX)
      throw new InvalidArgumentException('the records of a PutRecordBatch must be at most 4 MiB together');
    const fitting = data.filter((bytes) => bytes.length <= RECORD_BYTES_MAX);
    const answer =
      fitting.length === 0
        ? { Records: [] }
        : await this.engine.putRecords({
            StreamName: bufferLogOf(stored.name),
            Records: fitting.map((Data) => ({ PartitionKey: randomUUID(), Data })),
          });
    const results = [...answer.Records];
    const responses = data.map((bytes) => {
      if (bytes.length > RECORD_BYTES_MAX) return { ErrorCode: 'InvalidArgumentException', ErrorMessage: tooLarge(bytes.length) };
      const result = results.shift()!;
      return 'ErrorCode' in result
        ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
        : { RecordId: recordId(result.ShardId, result.SequenceNumber) };
    });
    return {
      FailedPutCount: responses.filter((response) => 'ErrorCode' in response).length,
      Encrypted: false,
      RequestResponses: responses,
    };
  }

  async updateDestination(request: Request): Promise<Record<string, never>> {
    const stored = this.find(request['DeliveryStreamName']);
    if (request['CurrentDeliveryStreamVersionId'] !== String(stored.versionId))
      throw new ConcurrentModificationException(
        `Firehose ${stored.name}: CurrentDeliveryStreamVersionId ${String(request['CurrentDeliveryStreamVersionId'])} is not the current ${stored.versionId}`,
      );
    if (request['DestinationId'] !== 'destinationId-000000000001')
      throw new InvalidArgumentException(`DestinationId ${String(request['DestinationId'])} is not the delivery stream's`);
    const merged = resolveDestinationUpdate(stored.request, request);
    resolveDeliveryStream(merged, this.tables);
    const next: Stored = { ...stored, request: merged, versionId: stored.versionId + 1, updatedAtMs: this.engine.now() };
    await this.stopStream(stored.name);
    this.stored.set(stored.name, next);
    await this.persist();
    await this.startStream(next);
    return {};
  }

  async tag(name: unknown, tags: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    this.stored.set(stored.name, { ...stored, tags: { ...stored.tags, ...tagsOf(tags) } });
    await this.persist();
    return {};
  }

  async untag(name: unknown, keys: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    if (!Array.isArray(keys)) throw new InvalidArgumentException('TagKeys must be a list');
    this.stored.set(stored.name, {
      ...stored,
      tags: Object.fromEntries(Object.entries(stored.tags).filter(([key]) => !keys.includes(key))),
    });
    await this.persist();
    return {};
  }

  listTags(name: unknown): { Tags: { Key: string; Value: string }[]; HasMoreTags: boolean } {
    const stored = this.find(name);
    return { Tags: Object.entries(stored.tags).map(([Key, Value]) => ({ Key, Value })), HasMoreTags: false };
  }

  /** shardline's: delivers what was put before the call now, whatever the buffering hints. */
  async flush(name: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    await this.running.get(stored.name)?.flushNow();
    return {};
  }

  status(name: unknown): DeliveryStatus | undefined {
    return this.running.get(this.find(name).name)?.status;
  }

  /** Stops every delivery stream (the engine is closing); they start again with the next registry. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.stopStream(name)));
    this.store.close?.();
    registries.delete(this.engine);
  }

  private find(name: unknown): Stored {
    const stored = typeof name === 'string' ? this.stored.get(name) : undefined;
    if (stored === undefined) throw new ResourceNotFoundException(`Firehose ${String(name)} under account ${ACCOUNT} not found.`);
    return stored;
  }

  private directPut(name: unknown): Stored {
    const stored = this.find(name);
    if ((stored.request['DeliveryStreamType'] ?? 'DirectPut') !== 'DirectPut')
      throw new InvalidArgumentException('This operation is not permitted on KinesisStreamAsSource DeliveryStream type.');
    return stored;
  }

  private async createBufferLog(name: string): Promise<void> {
    try {
      await this.engine.createStream({ StreamName: bufferLogOf(name), ShardCount: BUFFER_SHARDS });
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }

  private async startStream(stored: Stored): Promise<void> {
    const settings: DeliverySettings = resolveDeliveryStream(stored.request, this.tables);
    const triggers = TriggerRegistry.of(this.engine);
    const stream = new DeliveryStream({
      engine: this.engine,
      settings,
      arn: arnOf(stored.name),
      versionId: stored.versionId,
      sourceStreamName: settings.sourceStreamArn?.split(':stream/')[1] ?? bufferLogOf(stored.name),
      startAtMs: settings.type === 'DirectPut' ? 0 : stored.createdAtMs,
      store: this.store,
      invoke: (functionName, payload) => triggers.invoke(functionName, payload),
      pollIntervalMs: settings.type === 'DirectPut' ? BUFFER_POLL_MS : SOURCE_POLL_MS,
    });
    this.running.set(stored.name, stream);
    await stream.start();
  }

  private async stopStream(name: string): Promise<void> {
    const stream = this.running.get(name);
    this.running.delete(name);
    await stream?.stop();
  }

  /** Reads the document and starts what it holds. */
  private async load(): Promise<void> {
    const streams = readListDocument<Stored>(this.engine.readDocument(DOCUMENT), DOCUMENT, 'streams', 'delivery');
    for (const stored of streams ?? []) this.stored.set(stored.name, stored);
    for (const stored of this.stored.values()) await this.startStream(stored);
  }

  private persist(): Promise<void> {
    const bytes = listDocument('streams', [...this.stored.values()]);
    this.writing = this.writing.catch(() => undefined).then(() => this.engine.writeDocument(DOCUMENT, bytes));
    return this.writing;
  }
}

export function bufferLogOf(name: string): string {
  return `firehose.${name}`;
}

function arnOf(name: string): string {
  return `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/${name}`;
}

function recordId(shardId: string, sequenceNumber: string): string {
  return Buffer.from(`${shardId}:${sequenceNumber}`).toString('base64');
}

function recordBytes(record: unknown, member: string): Uint8Array {
  const data = (record as { Data?: unknown } | null)?.Data;
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentException(`${member}.Data is required (bytes)`);
  return data;
}

function recordData(record: unknown, member: string): Uint8Array {
  const data = recordBytes(record, member);
  if (data.length > RECORD_BYTES_MAX) throw new InvalidArgumentException(`${member}: ${tooLarge(data.length)}`);
  return data;
}

function tooLarge(bytes: number): string {
  return `the record is ${bytes} bytes, over Firehose's 1,000 KiB (1,024,000 bytes)`;
}

function tagsOf(tags: unknown): Record<string, string> {
  if (tags === undefined) return {};
  if (!Array.isArray(tags)) throw new InvalidArgumentException('Tags must be a list of { Key, Value }');
  return Object.fromEntries(tags.map((tag: { Key?: unknown; Value?: unknown }) => [String(tag.Key), String(tag.Value ?? '')]));
}

/** The destination as DescribeDeliveryStream has it: the configuration's members under their Description names. */
function destinationDescription(request: Request): Record<string, unknown> {
  const description: Record<string, unknown> = { DestinationId: 'destinationId-000000000001' };
  for (const [member, value] of Object.entries(request))
    if (member.endsWith('DestinationConfiguration')) description[member.replace(/Configuration$/, 'Description')] = value;
  return description;
}
