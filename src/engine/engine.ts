import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resolveEngineOptions, type EngineOptions } from '../config.js';
import type { StreamReference } from '../streams/kinesis_shapes.js';
import { checkRequest } from '../streams/request_check.js';
import { ShardIterator } from '../streams/shard_iterator.js';
import type { WorkerCrash } from '../workers/channel.js';
import { WorkerPool } from '../workers/worker_pool.js';
import type * as api from '../streams/api_types.js';
import { Catalog, type StreamView } from './catalog.js';
import { ConsumerRegistry } from './consumer_registry.js';
import { DataDirLock } from './data_dir_lock.js';
import { Documents } from './documents.js';
import { attachDataPath } from './data_path.js';
import { EngineContext } from './engine_context.js';
import { Metering, type CallListener } from './metering.js';
import { EnhancedMonitoring } from './enhanced_monitoring.js';
import type { EngineMetrics } from '../streams/metrics_types.js';
import { PutPath } from './put_path.js';
import { ReadPath } from './read_path.js';
import { Resharder } from './resharder.js';
import { ShardRegistry } from './shard_registry.js';
import { ShardRuntime } from './shard_runtime.js';
import { StreamAdmin } from './stream_admin.js';
import { StreamSettings } from './stream_settings.js';
import { StreamStates } from './stream_states.js';
import { ClockControl, type AdvanceClockInput, type ClockDescription } from './clock_control.js';
import { Subscriptions } from './subscriptions.js';
import { attachTestHooks } from './test_hooks.js';
import { FaultInjector, attachFaults, type FaultRuleDescription } from './fault_injector.js';
import type { FaultRuleInput } from '../streams/fault_rules.js';
import { Verifier } from './verifier.js';
import { StreamKeys } from './stream_keys.js';
import type { KeyStore } from '../kms/key_store.js';

export type * from '../streams/api_types.js';

const SECRET_FILE = 'iterator-secret';
/**
 * Shards opened at the same time in the background after a start: enough that one waits on the
 * disk while another is checked, few enough that a request's shard, opened ahead of them, waits
 * for little on its worker.
 */
const RECOVERIES_AT_ONCE = 8;

/**
 * shardline embedded: the Kinesis Data Streams operations on a data directory, in-process.
 *
 * This thread keeps the catalog (streams, shards, lineage), routes records by hash key, and
 * reads shards straight from their mapped files (LogReader). Each shard's log is owned by one
 * worker thread (WorkerPool), which appends and publishes the committed position.
 *
 * The class is a facade: opening and closing are here, each operation is one line handing the
 * request to the module that owns it (stream_admin, stream_settings, put_path, read_path,
 * subscriptions, resharder, consumer_registry, verifier), after the one request validation of
 * every door (src/streams/request_check.ts): the Kinesis input shape of the operation, so an
 * embedded, WebSocket and HTTP caller get the same checks in AWS's words. Requests and responses
 * are the types of src/streams/api_types.ts.
 */
export class Engine {
  private readonly admin: StreamAdmin;
  private readonly settings: StreamSettings;
  private readonly resharder: Resharder;
  private readonly puts: PutPath;
  private readonly reads: ReadPath;
  private readonly consumers: ConsumerRegistry;
  private readonly subscriptions: Subscriptions;
  private readonly verifier: Verifier;
  private readonly documents: Documents;
  private readonly monitoring: EnhancedMonitoring;
  private readonly faults: FaultInjector;
  private readonly states: StreamStates;
  private readonly clockControl: ClockControl;

  private constructor(
    private readonly context: EngineContext,
    private readonly lock: DataDirLock,
  ) {
    this.states = new StreamStates(context);
    this.clockControl = new ClockControl(context, () => this.states.endDue());
    this.admin = new StreamAdmin(context, this.states);
    this.settings = new StreamSettings(context, this.states);
    this.resharder = new Resharder(context, this.states);
    this.puts = new PutPath(context, (stream, shard) => this.resharder.scaleOnDemand(stream, shard));
    this.reads = new ReadPath(context);
    this.consumers = new ConsumerRegistry(context);
    this.subscriptions = new Subscriptions(context, this.reads, this.consumers);
    this.verifier = new Verifier(context);
    this.documents = new Documents(context.options.dataDir);
    this.monitoring = new EnhancedMonitoring(context);
    this.faults = new FaultInjector(context);
    attachFaults(this, this.faults);
    attachDataPath(this, {
      putEncoded: (request) =>
        context.meter.call('PutRecords', () =>
          this.faults.active ? this.faults.putEncoded(request, () => this.puts.putEncoded(request)) : this.puts.putEncoded(request),
        ),
      getRecordsRaw: (request) => this.call('GetRecords', request, () => this.reads.getRecordsRaw(checkRequest('GetRecords', request))),
      subscribeRaw: (request, onStart) => this.faults.subscription(request, () => this.subscriptions.subscribeRaw(request, onStart)),
    });
    attachTestHooks(this, {
      crashWorkerOf: (request, crash) => this.crashWorkerOf(request, crash),
      workerOf: (request) => this.context.pool.workerOf(this.shardKeyOf(request)),
    });
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const resolved = resolveEngineOptions(options);
    fs.mkdirSync(resolved.dataDir, { recursive: true });
    const lock = DataDirLock.acquire(resolved.dataDir);
    let catalog: Catalog;
    let iterators: ShardIterator;
    try {
      ClockControl.restore(resolved);
      catalog = Catalog.open(resolved.dataDir);
      iterators = new ShardIterator(iteratorSecret(resolved.dataDir));
    } catch (error) {
      lock.release();
      throw error;
    }
    const openShardsPerWorker = Math.floor(resolved.openShardsMax / resolved.workers);
    const pool = new WorkerPool(resolved.workers, openShardsPerWorker, resolved.manualClock?.shared ?? null);
    const keys = new StreamKeys(resolved.dataDir, resolved.kmsPassphrase);
    const registry = new ShardRegistry(catalog, pool, resolved, keys);
    const meter = new Metering(resolved.clock, resolved.metrics);
    catalog.onChange = (stream) => meter.accrue(stream);
    const engine = new Engine(new EngineContext(resolved, catalog, pool, registry, iterators, keys, meter), lock);
    try {
      await engine.resume();
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  /** Closes every log cleanly (reopening finds everything as it was) and stops the workers. */
  async close(): Promise<void> {
    if (this.context.closed) return;
    this.context.markClosed();
    await this.states.stop();
    await this.context.shards.stopRecovery();
    this.context.shards.closeAll();
    await this.context.pool.shutdown();
    await this.verifier.close();
    this.lock.release();
  }

  /** Shards not opened yet since the engine started: they recover in the background, or first when touched. */
  get shardsRecovering(): number {
    return this.context.shards.recoveringCount;
  }

  /** Worker restarts since open (supervision), for operators and tests. */
  get workerRestarts(): number {
    return this.context.pool.restarts;
  }

  /** The data directory: the family keeps files of its own beside the engine's (delivery's default S3 directory). */
  get dataDir(): string {
    return this.context.options.dataDir;
  }

  /** The engine's time (its `clock` option): arrival times, expiry and ages are by it, so the family reads it too. */
  now(): number {
    return this.context.options.clock();
  }

  /**
   * Moves the manual clock (`clock: 'manual'`) forward by ByMillis for the engine and its shard
   * workers, then runs retention and ends the stream states whose time has come (docs/TESTING.md).
   * Refused with InvalidArgumentException, nothing changed, for any other clock, a ByMillis that
   * is not a whole number from 1 to CLOCK_ADVANCE_MS_MAX, or a move back.
   */
  async advanceClock(request: AdvanceClockInput): Promise<ClockDescription> {
    return this.clockControl.advance(request);
  }

  /** The engine's clock: its mode, its time now, and how far a manual clock is ahead of real time. */
  describeClock(): ClockDescription {
    this.context.checkOpen();
    return this.clockControl.describe();
  }

  // ---- streams ----

  async createStream(request: api.CreateStreamInput): Promise<void> {
    return this.call('CreateStream', request, () => this.admin.createStream(checkRequest('CreateStream', request)));
  }

  async deleteStream(request: api.DeleteStreamInput): Promise<void> {
    return this.call('DeleteStream', request, () => this.admin.deleteStream(checkRequest('DeleteStream', request)));
  }

  describeStreamSummary(request: StreamReference): api.DescribeStreamSummaryOutput {
    return this.call('DescribeStreamSummary', request, () =>
      this.admin.describeStreamSummary(checkRequest('DescribeStreamSummary', request)),
    );
  }

  describeStream(request: api.DescribeStreamInput): api.DescribeStreamOutput {
    return this.call('DescribeStream', request, () => this.admin.describeStream(checkRequest('DescribeStream', request)));
  }

  listStreams(request: api.ListStreamsInput = {}): api.ListStreamsOutput {
    return this.call('ListStreams', request, () => this.admin.listStreams(checkRequest('ListStreams', request)));
  }

  listShards(request: api.ListShardsInput): api.ListShardsOutput {
    return this.call('ListShards', request, () => this.admin.listShards(checkRequest('ListShards', request)));
  }

  // ---- records ----

  async putRecord(request: api.PutRecordInput): Promise<api.PutRecordOutput> {
    return this.call('PutRecord', request, () => this.puts.putRecord(checkRequest('PutRecord', request)));
  }

  /** Each entry succeeds or fails on its own; records to one shard keep their order. */
  async putRecords(request: api.PutRecordsInput): Promise<api.PutRecordsOutput> {
    const put = (records: api.PutRecordsInput): Promise<api.PutRecordsOutput> => this.puts.putRecords(checkRequest('PutRecords', records));
    return this.call('PutRecords', request, () => (this.faults.active ? this.faults.putRecords(request, put) : put(request)));
  }

  async getShardIterator(request: api.GetShardIteratorInput): Promise<api.GetShardIteratorOutput> {
    return this.call('GetShardIterator', request, () => this.reads.getShardIterator(checkRequest('GetShardIterator', request)));
  }

  /** At most Limit (10,000) records and 10 MiB; at a closed shard's end, ChildShards instead of NextShardIterator. */
  async getRecords(request: api.GetRecordsInput): Promise<api.GetRecordsResult> {
    return this.call('GetRecords', request, () => this.reads.getRecords(checkRequest('GetRecords', request)));
  }

  /**
   * shardline's: the stream a ShardIterator reads, for an access check made before GetRecords
   * (AWS authorizes GetRecords on the stream's ARN); InvalidArgumentException or
   * ExpiredIteratorException as GetRecords would answer.
   */
  streamOfShardIterator(shardIterator: string): string {
    return this.reads.streamOfShardIterator(shardIterator);
  }

  /**
   * shardline's, not Kinesis': where each shard's retained records begin and end (their count,
   * the oldest and the latest sequence number), from which a consumer's lag in records follows.
   */
  async describeShardPositions(request: StreamReference): Promise<api.DescribeShardPositionsOutput> {
    return this.reads.describeShardPositions(request);
  }

  /**
   * Events of records as they are committed, for a registered consumer (see subscriptions.ts);
   * a call within 5 seconds of the consumer's last one on the shard is ResourceInUseException.
   */
  subscribeToShard(request: api.SubscribeToShardRequest): AsyncGenerator<api.SubscribeToShardEvent> {
    return this.faults.subscription(request, () => this.subscriptions.subscribeToShard(request));
  }

  // ---- resharding ----

  async splitShard(request: api.SplitShardInput): Promise<void> {
    return this.call('SplitShard', request, () => this.resharder.splitShard(checkRequest('SplitShard', request)));
  }

  async mergeShards(request: api.MergeShardsInput): Promise<void> {
    return this.call('MergeShards', request, () => this.resharder.mergeShards(checkRequest('MergeShards', request)));
  }

  async updateShardCount(request: api.UpdateShardCountInput): Promise<api.UpdateShardCountOutput> {
    return this.call('UpdateShardCount', request, () => this.resharder.updateShardCount(checkRequest('UpdateShardCount', request)));
  }

  // ---- stream settings ----

  /** Shard-level metrics for the stream (ALL: the seven), shown by DescribeStream and a scrape. */
  async enableEnhancedMonitoring(request: api.EnhancedMonitoringInput): Promise<api.EnhancedMonitoringOutput> {
    return this.call('EnableEnhancedMonitoring', request, () => this.monitoring.enable(checkRequest('EnableEnhancedMonitoring', request)));
  }

  async disableEnhancedMonitoring(request: api.EnhancedMonitoringInput): Promise<api.EnhancedMonitoringOutput> {
    return this.call('DisableEnhancedMonitoring', request, () =>
      this.monitoring.disable(checkRequest('DisableEnhancedMonitoring', request)),
    );
  }

  /**
   * CloudWatch's AWS/Kinesis metrics of every stream since the engine opened (src/streams/metrics_types.ts),
   * with the time integrals a cost estimate prices.
   */
  metrics(): EngineMetrics {
    this.context.checkOpen();
    return this.context.meter.snapshot(this.context.catalog.all());
  }

  /** Hears each operation's outcome and duration (the API metrics); returns the way to stop. */
  observeCalls(listener: CallListener): () => void {
    return this.context.meter.observeCalls(listener);
  }

  async increaseStreamRetentionPeriod(request: api.RetentionPeriodInput): Promise<void> {
    return this.call('IncreaseStreamRetentionPeriod', request, () =>
      this.settings.increaseRetention(checkRequest('IncreaseStreamRetentionPeriod', request)),
    );
  }

  async decreaseStreamRetentionPeriod(request: api.RetentionPeriodInput): Promise<void> {
    return this.call('DecreaseStreamRetentionPeriod', request, () =>
      this.settings.decreaseRetention(checkRequest('DecreaseStreamRetentionPeriod', request)),
    );
  }

  async updateStreamMode(request: api.UpdateStreamModeInput): Promise<void> {
    return this.call('UpdateStreamMode', request, () => this.settings.updateStreamMode(checkRequest('UpdateStreamMode', request)));
  }

  /** The engine's local KMS (`<dataDir>/kms`, docs/SECURITY.md): the keys StartStreamEncryption names. */
  keyStore(): Promise<KeyStore> {
    return this.context.keys.keyStore();
  }

  /**
   * Encrypts the batches put from now on with a new data key of the KMS key `KeyId` (any of its
   * four forms; the local key store at <dataDir>/kms, docs/SECURITY.md); the stream stays ACTIVE
   * (UPDATING for updateStreamMs under state durations, docs/TESTING.md).
   */
  async startStreamEncryption(request: api.StreamEncryptionInput): Promise<void> {
    return this.call('StartStreamEncryption', request, () => this.settings.startEncryption(checkRequest('StartStreamEncryption', request)));
  }

  /** Batches put from now on are plaintext; those encrypted before stay so, and readable. */
  async stopStreamEncryption(request: api.StreamEncryptionInput): Promise<void> {
    return this.call('StopStreamEncryption', request, () => this.settings.stopEncryption(checkRequest('StopStreamEncryption', request)));
  }

  async addTagsToStream(request: api.AddTagsToStreamInput): Promise<void> {
    return this.call('AddTagsToStream', request, () => this.settings.addTags(checkRequest('AddTagsToStream', request)));
  }

  async removeTagsFromStream(request: api.RemoveTagsFromStreamInput): Promise<void> {
    return this.call('RemoveTagsFromStream', request, () => this.settings.removeTags(checkRequest('RemoveTagsFromStream', request)));
  }

  listTagsForStream(request: api.ListTagsForStreamInput): api.ListTagsForStreamOutput {
    return this.call('ListTagsForStream', request, () => this.settings.listTags(checkRequest('ListTagsForStream', request)));
  }

  // ---- enhanced fan-out consumers ----

  async registerStreamConsumer(request: api.RegisterStreamConsumerInput): Promise<api.RegisterStreamConsumerOutput> {
    return this.call('RegisterStreamConsumer', request, () => this.consumers.register(checkRequest('RegisterStreamConsumer', request)));
  }

  async deregisterStreamConsumer(request: api.ConsumerReference): Promise<void> {
    return this.call('DeregisterStreamConsumer', request, () =>
      this.consumers.deregister(checkRequest('DeregisterStreamConsumer', request)),
    );
  }

  describeStreamConsumer(request: api.ConsumerReference): api.DescribeStreamConsumerOutput {
    return this.call('DescribeStreamConsumer', request, () => this.consumers.describe(checkRequest('DescribeStreamConsumer', request)));
  }

  listStreamConsumers(request: api.ListStreamConsumersInput): api.ListStreamConsumersOutput {
    return this.call('ListStreamConsumers', request, () => this.consumers.list(checkRequest('ListStreamConsumers', request)));
  }

  // ---- verification ----

  /** Verifies the checksum and fields of every stored batch of a stream (see verifier.ts). */
  async verifyStream(request: StreamReference): Promise<api.VerifyStreamOutput> {
    return this.call('VerifyStream', request, () => this.verifier.verifyStream(checkRequest('VerifyStream', request)));
  }

  // ---- fault injection (docs/TESTING.md) ----

  /**
   * Puts a fault rule (one of the same RuleId is replaced, its counts started over). A rule that
   * does not hold together is refused with InvalidArgumentException naming every reason, and
   * nothing changes.
   */
  putFaultRule(rule: FaultRuleInput): { RuleId: string } {
    this.context.checkOpen();
    return this.faults.put(rule);
  }

  /** The rules in the order they were put, each with its counts of matches and injections. */
  listFaultRules(): { Rules: FaultRuleDescription[] } {
    this.context.checkOpen();
    return this.faults.list();
  }

  deleteFaultRule(request: { readonly RuleId: string }): void {
    this.context.checkOpen();
    this.faults.delete(request);
  }

  clearFaultRules(): { RuleCount: number } {
    this.context.checkOpen();
    return this.faults.clear();
  }

  // ---- documents: what the family keeps (docs/FORMAT.md) ----

  /** A document's bytes, or null if there is none. */
  readDocument(name: string): Buffer | null {
    this.context.checkOpen();
    return this.documents.read(name);
  }

  listDocuments(prefix?: string): string[] {
    this.context.checkOpen();
    return this.documents.list(prefix);
  }

  /** Replaces a document atomically; resolves once it is on disk (a crash leaves the old or the new). */
  async writeDocument(name: string, bytes: Uint8Array): Promise<void> {
    this.context.checkOpen();
    return this.documents.write(name, bytes);
  }

  async deleteDocument(name: string): Promise<void> {
    this.context.checkOpen();
    return this.documents.remove(name);
  }

  /**
   * Serves from the catalog at once: every shard is visible and routed to, and opens (recovers)
   * in the background, or first when a request needs it (ShardRegistry). Streams whose
   * resharding or deletion a crash interrupted are finished first, their shards opened now.
   */
  private async resume(): Promise<void> {
    const { catalog, shards } = this.context;
    const interrupted = catalog
      .all()
      .filter((stream) => stream.status !== 'ACTIVE' || stream.shards.some((shard) => shard.closing === true));
    for (const stream of interrupted) await this.finishInterrupted(stream);
    await catalog.save();
    for (const stream of catalog.all()) {
      if (interrupted.includes(stream)) continue;
      for (const shard of stream.shards) shards.recoverLater(stream, shard);
      shards.route(stream);
    }
    shards.recoverInBackground(RECOVERIES_AT_ONCE);
  }

  private async finishInterrupted(stream: StreamView): Promise<void> {
    const { catalog, shards } = this.context;
    if (stream.status === 'DELETING') {
      await this.admin.finishDelete(stream);
      return;
    }
    await Promise.all(stream.shards.map((shard) => shards.open(stream, shard)));
    for (const shard of stream.shards.filter((candidate) => candidate.closing === true)) await shards.seal(stream, shard);
    if (stream.status === 'UPDATING') catalog.endReshard(stream);
    if (stream.status === 'CREATING') catalog.activate(stream);
    shards.route(stream);
  }

  /** Each operation: metered, and through the fault rules when any exists (one check when none does). */
  private call<T>(operation: string, request: unknown, run: () => T): T {
    const { meter } = this.context;
    if (!this.faults.active) return meter.call(operation, run);
    return meter.call(operation, () => this.faults.call(operation, request, run));
  }

  private crashWorkerOf(request: StreamReference & { readonly ShardId: string }, crash: WorkerCrash): Promise<void> {
    return this.context.pool.crashWorkerOf(this.shardKeyOf(request), crash);
  }

  private shardKeyOf(request: StreamReference & { readonly ShardId: string }): string {
    const stream = this.context.stream(request);
    return ShardRuntime.keyOf(stream, this.context.catalog.shard(stream, request.ShardId));
  }
}

/** Reads or creates the secret that signs shard iterators (so they survive restarts). */
function iteratorSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, SECRET_FILE);
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  return fs.readFileSync(file);
}
