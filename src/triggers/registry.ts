import { randomUUID } from 'node:crypto';
import { InvalidParameterValueException, ResourceConflictException, ResourceNotFoundException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { LeaseTables } from '../groups/lease_tables.js';
import { callableFunction, type CallableFunction, type FunctionDefinition } from './functions.js';
import type { KinesisEvent } from './kinesis_event.js';
import { consumerNameOf, resolveMapping, streamNameOf, type MappingRequest, type MappingSettings } from './mapping.js';
import { Trigger, type TriggerState } from './trigger.js';
import { listDocument, readListDocument } from '../util/list_document.js';

/*
 * The functions and event source mappings of an engine (docs/TRIGGERS.md): functions are
 * registered by name (embedded, or from `serve --functions <file>`); mappings are kept in the
 * engine document `triggers.json`, so they come back, and resume where they were, after a restart
 * or a kill -9. What Lambda's event-source-mapping API answers (EventSourceMappingConfiguration)
 * is built here for every door.
 */

const DOCUMENT = 'triggers.json';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

interface StoredMapping {
  readonly uuid: string;
  readonly request: MappingRequest;
  readonly lastModifiedMs: number;
}

/** Lambda's EventSourceMappingConfiguration, the members a Kinesis mapping has. */
export interface MappingDescription {
  readonly UUID: string;
  readonly EventSourceArn: string;
  readonly FunctionArn: string;
  readonly StartingPosition: string;
  readonly StartingPositionTimestamp?: number;
  readonly BatchSize: number;
  readonly MaximumBatchingWindowInSeconds: number;
  readonly ParallelizationFactor: number;
  readonly BisectBatchOnFunctionError: boolean;
  readonly MaximumRetryAttempts: number;
  readonly MaximumRecordAgeInSeconds: number;
  readonly FunctionResponseTypes: string[];
  readonly DestinationConfig?: { OnFailure: { Destination: string } };
  readonly FilterCriteria?: unknown;
  /** Epoch seconds, as Lambda's JSON has it. */
  readonly LastModified: number;
  readonly LastProcessingResult: string;
  readonly State: 'Enabled' | 'Disabled';
  readonly StateTransitionReason: string;
  /** shardline's, not Lambda's: per shard held while the mapping runs, its progress and lag. */
  readonly Shards?: { ShardId: string; RecordsProcessed: number; MillisBehindLatest: number }[];
}

export interface InvokeResult {
  /** The function's answer; on a failure, Lambda's `{ errorMessage, errorType }`. */
  readonly payload: unknown;
  /** 'Unhandled' when the function failed (threw, timed out, ran out of memory). */
  readonly functionError?: 'Unhandled';
}

const registries = new WeakMap<Engine, TriggerRegistry>();

export class TriggerRegistry {
  private readonly functions = new Map<string, FunctionDefinition>();
  private readonly mappings = new Map<string, StoredMapping>();
  private readonly running = new Map<string, Trigger>();
  /** The functions Invoke has called, kept warm. */
  private readonly invoked = new Map<string, CallableFunction>();
  private loaded = false;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly engine: Engine) {}

  /** The one registry of an engine: its doors and its embedded users share it. */
  static of(engine: Engine): TriggerRegistry {
    let registry = registries.get(engine);
    if (registry === undefined) {
      registry = new TriggerRegistry(engine);
      registries.set(engine, registry);
    }
    return registry;
  }

  /** Registers (or replaces) a function; the mappings stored for it start. */
  async registerFunction(name: string, definition: FunctionDefinition): Promise<void> {
    callableFunction(name, definition)
      .close()
      .catch(() => undefined); // checks the definition
    this.functions.set(name, definition);
    await this.invoked.get(name)?.close();
    this.invoked.delete(name);
    this.load();
    for (const stored of this.mappings.values())
      if (stored.request.FunctionName === name && !this.running.has(stored.uuid)) await this.startIfEnabled(stored);
  }

  async create(request: MappingRequest): Promise<MappingDescription> {
    this.load();
    const settings = this.check(request);
    const stored: StoredMapping = { uuid: randomUUID(), request: { ...request }, lastModifiedMs: Date.now() };
    this.mappings.set(stored.uuid, stored);
    await this.persist();
    await this.startIfEnabled(stored);
    return this.describe(stored, settings);
  }

  get(uuid: string): MappingDescription {
    const stored = this.stored(uuid);
    return this.describe(stored, resolveMapping(stored.request));
  }

  list(filter: { eventSourceArn?: string; functionName?: string } = {}): MappingDescription[] {
    this.load();
    return [...this.mappings.values()]
      .filter((stored) => filter.eventSourceArn === undefined || stored.request.EventSourceArn === filter.eventSourceArn)
      .filter((stored) => filter.functionName === undefined || stored.request.FunctionName === filter.functionName)
      .map((stored) => this.describe(stored, resolveMapping(stored.request)));
  }

  /** Changes the members given (EventSourceArn and StartingPosition stay, as on Lambda) and restarts the mapping. */
  async update(uuid: string, changes: MappingRequest): Promise<MappingDescription> {
    const stored = this.stored(uuid);
    if (changes.EventSourceArn !== undefined || changes.StartingPosition !== undefined)
      throw new InvalidParameterValueException('EventSourceArn and StartingPosition of a mapping cannot be changed');
    const request = { ...stored.request, ...withoutUndefined(changes) };
    const settings = this.check(request, uuid);
    await this.stopRunning(uuid);
    const next: StoredMapping = { uuid, request, lastModifiedMs: Date.now() };
    this.mappings.set(uuid, next);
    await this.persist();
    await this.startIfEnabled(next);
    return this.describe(next, settings);
  }

  async delete(uuid: string): Promise<MappingDescription> {
    const stored = this.stored(uuid);
    const description = this.describe(stored, resolveMapping(stored.request));
    await this.stopRunning(uuid);
    this.mappings.delete(uuid);
    await this.persist();
    // Its positions go with it: a mapping made again starts at its StartingPosition.
    await LeaseTables.of(this.engine)
      .deleteGroup(`trigger-${uuid}`, true)
      .catch((error: unknown) => {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      });
    return description;
  }

  /** Lambda's Invoke (RequestResponse) of a registered function with any JSON payload: its answer, or its failure as Lambda reports it. */
  async invoke(functionName: string, payload: unknown): Promise<InvokeResult> {
    const definition = this.functions.get(functionName);
    if (definition === undefined) throw functionNotFound(functionName);
    let callable = this.invoked.get(functionName);
    if (callable === undefined) {
      callable = callableFunction(functionName, definition);
      this.invoked.set(functionName, callable);
    }
    try {
      return { payload: await callable.invoke(payload as KinesisEvent) };
    } catch (error) {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      return { payload: { errorMessage: message, errorType: name }, functionError: 'Unhandled' };
    }
  }

  /** Stops every running mapping (the engine is closing); they start again from the document. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((uuid) => this.stopRunning(uuid)));
    await Promise.all([...this.invoked.values()].map((callable) => callable.close()));
    this.invoked.clear();
  }

  /** A running mapping's counters (invocations, failed records); undefined while it does not run. */
  status(uuid: string): TriggerState | undefined {
    return this.running.get(uuid)?.status;
  }

  private check(request: MappingRequest, uuid: string | null = null): MappingSettings {
    const settings = resolveMapping(request);
    this.engine.describeStreamSummary({ StreamName: streamNameOf(settings.eventSourceArn) });
    if (consumerNameOf(settings.eventSourceArn) !== null) this.engine.describeStreamConsumer({ ConsumerARN: settings.eventSourceArn });
    if (!this.functions.has(settings.functionName)) throw functionNotFound(settings.functionName);
    const duplicate = [...this.mappings.values()].find(
      (stored) =>
        stored.uuid !== uuid &&
        stored.request.FunctionName === settings.functionName &&
        stored.request.EventSourceArn === settings.eventSourceArn,
    );
    if (duplicate !== undefined)
      throw new ResourceConflictException(
        `An event source mapping with ${settings.eventSourceArn} and function ${settings.functionName} already exists: ${duplicate.uuid}`,
      );
    // Refuses what the runtime does not do, before anything is stored.
    new Trigger({
      engine: this.engine,
      uuid: 'check',
      settings,
      fn: callableFunction(settings.functionName, { handler: () => undefined }),
    });
    return settings;
  }

  private async startIfEnabled(stored: StoredMapping): Promise<void> {
    const settings = resolveMapping(stored.request);
    const definition = this.functions.get(settings.functionName);
    if (!settings.enabled || definition === undefined) return;
    const trigger = new Trigger({
      engine: this.engine,
      uuid: stored.uuid,
      settings,
      fn: callableFunction(settings.functionName, definition),
    });
    this.running.set(stored.uuid, trigger);
    await trigger.start();
  }

  private async stopRunning(uuid: string): Promise<void> {
    const trigger = this.running.get(uuid);
    this.running.delete(uuid);
    await trigger?.stop();
  }

  private stored(uuid: string): StoredMapping {
    this.load();
    const stored = this.mappings.get(uuid);
    if (stored === undefined)
      throw new ResourceNotFoundException(
        `The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: ${randomUUID()})`,
      );
    return stored;
  }

  private describe(stored: StoredMapping, settings: MappingSettings): MappingDescription {
    const running = this.running.get(stored.uuid);
    return {
      UUID: stored.uuid,
      EventSourceArn: settings.eventSourceArn,
      FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${settings.functionName}`,
      StartingPosition: settings.startingPosition,
      ...(settings.startingPositionTimestamp === undefined ? {} : { StartingPositionTimestamp: settings.startingPositionTimestamp }),
      BatchSize: settings.batchSize,
      MaximumBatchingWindowInSeconds: settings.maximumBatchingWindowInSeconds,
      ParallelizationFactor: settings.parallelizationFactor,
      BisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
      MaximumRetryAttempts: settings.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: settings.maximumRecordAgeInSeconds,
      FunctionResponseTypes: settings.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
      ...(settings.onFailureDestination === undefined
        ? {}
        : { DestinationConfig: { OnFailure: { Destination: settings.onFailureDestination } } }),
      ...(settings.filterCriteria === undefined ? {} : { FilterCriteria: settings.filterCriteria }),
      LastModified: stored.lastModifiedMs / 1000,
      LastProcessingResult: running?.status.lastProcessingResult ?? 'No records processed',
      State: settings.enabled ? 'Enabled' : 'Disabled',
      StateTransitionReason: 'User action',
      ...(running === undefined
        ? {}
        : {
            Shards: running.shards.map((shard) => ({
              ShardId: shard.shardId,
              RecordsProcessed: shard.recordsProcessed,
              MillisBehindLatest: shard.millisBehindLatest,
            })),
          }),
    };
  }

  /** The stored mappings, read once. */
  private load(): void {
    if (this.loaded) return;
    const mappings = readListDocument<StoredMapping>(this.engine.readDocument(DOCUMENT), DOCUMENT, 'mappings', 'trigger');
    for (const stored of mappings ?? []) this.mappings.set(stored.uuid, stored);
    this.loaded = true;
  }

  /** One write at a time, each of the whole document (docs/FORMAT.md). */
  private persist(): Promise<void> {
    const bytes = listDocument('mappings', [...this.mappings.values()]);
    this.writing = this.writing.catch(() => undefined).then(() => this.engine.writeDocument(DOCUMENT, bytes));
    return this.writing;
  }
}

function functionNotFound(name: string): ResourceNotFoundException {
  return new ResourceNotFoundException(`Function not found: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as Partial<T>;
}
