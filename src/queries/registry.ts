/*
 * The continuous queries of an engine (docs/QUERIES.md): created, described, listed, stopped,
 * started and deleted here for every door (embedded, the WebSocket CALL `Queries.<Op>`, the HTTP
 * port's `ShardlineQueries_20261207.<Op>`, `shardline query`). They are kept in the engine
 * document `queries.json`; those not stopped start again, from their checkpoints, when the
 * registry is opened after a restart.
 */
import type { Engine } from '../engine/engine.js';
import { InvalidArgumentException, LimitExceededException, ResourceInUseException, ResourceNotFoundException } from '../errors.js';
import { LeaseTables } from '../groups/lease_tables.js';
import { listDocument, readListDocument } from '../util/list_document.js';
import { parseQuery } from './parser.js';
import { planQuery } from './query_plan.js';
import { groupNameOf, QueryRunner, type QueryDefinition, type QueryStatus } from './query_runner.js';

const DOCUMENT = 'queries.json';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** Each query is a thread of its own. */
export const QUERIES_MAX = 32;
/** Kinesis Data Analytics' bound on an application's code: 100 KB. */
export const QUERY_TEXT_CHARS_MAX = 102_400;
/** No '.': `query.<name>.` is then a prefix of this query's documents alone. */
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

type Request = Readonly<Record<string, unknown>>;

interface Stored {
  readonly name: string;
  readonly sql: string;
  readonly createdAtMs: number;
  readonly stopped: boolean;
}

const registries = new WeakMap<Engine, QueryRegistry>();

export class QueryRegistry {
  private readonly stored = new Map<string, Stored>();
  private readonly running = new Map<string, QueryRunner>();
  /** What a stopped query had counted when it stopped, until it starts again. */
  private readonly lastStatus = new Map<string, QueryStatus>();
  /** Parsed and planned once per stored form, not per describe. */
  private readonly definitions = new WeakMap<Stored, QueryDefinition>();
  private started: Promise<void> | null = null;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly engine: Engine) {}

  /** The one registry of an engine; its stored queries start on the first call. */
  static async of(engine: Engine): Promise<QueryRegistry> {
    let registry = registries.get(engine);
    if (registry === undefined) {
      registry = new QueryRegistry(engine);
      registries.set(engine, registry);
    }
    registry.started ??= registry.load();
    await registry.started;
    return registry;
  }

  async create(request: Request): Promise<{ QueryARN: string }> {
    const sql = request['Sql'];
    if (typeof sql !== 'string' || sql.length === 0)
      throw new InvalidArgumentException('Sql is required: CREATE QUERY <name> AS INSERT INTO ...');
    if (sql.length > QUERY_TEXT_CHARS_MAX)
      throw new InvalidArgumentException(`Sql is ${sql.length} characters, over the ${QUERY_TEXT_CHARS_MAX} a query may have`);
    const definition = this.definitionOf(sql, this.engine.now());
    if (request['QueryName'] !== undefined && request['QueryName'] !== definition.name)
      throw new InvalidArgumentException(`QueryName ${String(request['QueryName'])} is not the name the Sql creates, ${definition.name}`);
    if (!NAME_PATTERN.test(definition.name))
      throw new InvalidArgumentException(`query name ${definition.name} must match ${NAME_PATTERN.source} (no '.')`);
    if (this.stored.has(definition.name)) throw new ResourceInUseException(`query ${definition.name} already exists`);
    if (this.stored.size >= QUERIES_MAX) throw new LimitExceededException(`an engine runs at most ${QUERIES_MAX} queries`);
    this.checkStreams(definition);
    const stored: Stored = { name: definition.name, sql, createdAtMs: definition.createdAtMs, stopped: false };
    this.stored.set(stored.name, stored);
    await this.persist();
    try {
      await this.startQuery(stored);
    } catch (error) {
      // Not started (its source's registered consumers all taken, say): not created either.
      await this.stopQuery(stored.name);
      this.stored.delete(stored.name);
      await this.persist();
      await new QueryRunner(this.engine, this.definitionFor(stored)).forget();
      await this.removeGroup(stored).catch(() => undefined);
      throw error;
    }
    return { QueryARN: arnOf(stored.name) };
  }

  describe(name: unknown): Record<string, unknown> {
    const stored = this.find(name);
    const definition = this.definitionFor(stored);
    const { settings } = definition;
    return {
      QueryDescription: {
        QueryName: stored.name,
        QueryARN: arnOf(stored.name),
        QueryStatus: this.statusOf(stored).state,
        Sql: stored.sql,
        SourceStream: definition.source,
        OutputStream: definition.output,
        ...(settings.lateStream === undefined ? {} : { LateStream: settings.lateStream }),
        ...(settings.errorStream === undefined ? {} : { ErrorStream: settings.errorStream }),
        GracePeriodMs: settings.graceMs,
        StartingPosition: settings.start,
        CreateTimestamp: new Date(stored.createdAtMs),
      },
      Metrics: metricsOf(this.statusOf(stored)),
    };
  }

  list(): { Queries: { QueryName: string; QueryStatus: string; SourceStream: string; OutputStream: string }[] } {
    return {
      Queries: [...this.stored.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((stored) => {
          const definition = this.definitionFor(stored);
          return {
            QueryName: stored.name,
            QueryStatus: this.statusOf(stored).state,
            SourceStream: definition.source,
            OutputStream: definition.output,
          };
        }),
    };
  }

  /** The query stops reading, with its state checkpointed; StartQuery goes on from there. */
  async stop(name: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    await this.stopQuery(stored.name);
    this.stored.set(stored.name, { ...stored, stopped: true });
    await this.persist();
    return {};
  }

  /** A stopped (or failed) query runs again from its checkpoint; a running one is left as it is. */
  async start(name: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    if (this.running.get(stored.name)?.status.state === 'RUNNING') return {};
    await this.stopQuery(stored.name);
    const next = { ...stored, stopped: false };
    this.stored.set(stored.name, next);
    await this.persist();
    await this.startQuery(next);
    return {};
  }

  /** Stops the query and removes it, its checkpoint, its leases and its registered consumer; the streams stay. */
  async delete(name: unknown): Promise<Record<string, never>> {
    const stored = this.find(name);
    const runner = this.running.get(stored.name);
    await this.stopQuery(stored.name);
    await (runner ?? new QueryRunner(this.engine, this.definitionFor(stored))).forget();
    this.stored.delete(stored.name);
    this.lastStatus.delete(stored.name);
    await this.persist();
    await this.removeGroup(stored);
    return {};
  }

  status(name: unknown): QueryStatus {
    return this.statusOf(this.find(name));
  }

  /** Stops every query (the engine is closing); they start again with the next registry. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.stopQuery(name)));
    registries.delete(this.engine);
  }

  private statusOf(stored: Stored): QueryStatus {
    return this.running.get(stored.name)?.status ?? { ...this.lastStatus.get(stored.name), state: 'STOPPED' };
  }

  private definitionFor(stored: Stored): QueryDefinition {
    let definition = this.definitions.get(stored);
    if (definition === undefined) this.definitions.set(stored, (definition = this.definitionOf(stored.sql, stored.createdAtMs)));
    return definition;
  }

  private definitionOf(sql: string, createdAtMs: number): QueryDefinition {
    const plan = planQuery(parseQuery(sql));
    return { name: plan.ast.name, sql, source: plan.ast.source.stream, output: plan.ast.output, settings: plan.settings, createdAtMs };
  }

  private checkStreams(definition: QueryDefinition): void {
    const { lateStream, errorStream } = definition.settings;
    for (const stream of [definition.source, definition.output, lateStream, errorStream])
      if (stream !== undefined) this.engine.describeStreamSummary({ StreamName: stream });
  }

  private find(name: unknown): Stored {
    const stored = typeof name === 'string' ? this.stored.get(name) : undefined;
    if (stored === undefined) throw new ResourceNotFoundException(`query ${String(name)} not found`);
    return stored;
  }

  private async startQuery(stored: Stored): Promise<void> {
    const runner = new QueryRunner(this.engine, this.definitionFor(stored));
    this.running.set(stored.name, runner);
    await runner.start();
  }

  private async stopQuery(name: string): Promise<void> {
    const runner = this.running.get(name);
    this.running.delete(name);
    await runner?.stop();
    if (runner !== undefined) this.lastStatus.set(name, runner.status);
  }

  private async removeGroup(stored: Stored): Promise<void> {
    const group = groupNameOf(stored.name);
    await LeaseTables.of(this.engine)
      .deleteGroup(group, true)
      .catch((error: unknown) => {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      });
    const source = this.definitionFor(stored).source;
    try {
      const { StreamARN } = this.engine.describeStreamSummary({ StreamName: source }).StreamDescriptionSummary;
      await this.engine.deregisterStreamConsumer({ StreamARN, ConsumerName: group });
    } catch (error) {
      // The source deleted (and its consumers with it), or the consumer never registered.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  private async load(): Promise<void> {
    const queries = readListDocument<Stored>(this.engine.readDocument(DOCUMENT), DOCUMENT, 'queries', 'query');
    for (const stored of queries ?? []) this.stored.set(stored.name, stored);
    // One that cannot start (its source deleted) is FAILED, with the reason in its status; the others run.
    for (const stored of this.stored.values()) if (!stored.stopped) await this.startQuery(stored).catch(() => undefined);
  }

  private persist(): Promise<void> {
    const bytes = listDocument('queries', [...this.stored.values()]);
    this.writing = this.writing.catch(() => undefined).then(() => this.engine.writeDocument(DOCUMENT, bytes));
    return this.writing;
  }
}

export function arnOf(name: string): string {
  return `arn:aws:kinesisanalytics:${REGION}:${ACCOUNT}:application/${name}`;
}

function metricsOf(status: QueryStatus): Record<string, unknown> {
  return {
    RecordsIn: status.recordsIn ?? 0,
    RowsEmitted: status.rowsEmitted ?? 0,
    WindowsClosed: status.windowsClosed ?? 0,
    LateRecords: status.lateRecords ?? 0,
    ErrorRecords: status.errorRecords ?? 0,
    OpenWindows: status.openWindows ?? 0,
    InputLagMs: status.inputLagMs ?? 0,
    ...(status.watermarkMs === undefined || status.watermarkMs === null ? {} : { WatermarkMs: status.watermarkMs }),
    ...(status.lastCheckpointMs === undefined ? {} : { LastCheckpointMs: status.lastCheckpointMs }),
    ...(status.rowsTooLarge === undefined ? {} : { RowsTooLarge: status.rowsTooLarge }),
    ...(status.lastError === undefined ? {} : { LastError: status.lastError }),
    ...(status.lastRecordError === undefined ? {} : { LastRecordError: status.lastRecordError }),
  };
}
