import { CONSUMERS_PER_STREAM_MAX, RETENTION_HOURS_MAX, RETENTION_HOURS_MIN, TAGS_PER_STREAM_MAX } from '../limits.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../log/durable_file.js';
import { HASH_KEY_MAX, initialHashKeyRanges } from '../streams/hash_key.js';
import { findShard } from '../streams/kinesis_shapes.js';
import { SHARD_LEVEL_METRICS, type ShardLevelMetric } from '../streams/metrics_types.js';
import { SHARD_SERIAL_MAX } from '../streams/sequence_number.js';
import {
  isOpen,
  shardIdOf,
  type ConsumerRecord,
  type DataKeyRecord,
  type ShardRecord,
  type StreamEncryption,
  type StreamMode,
  type StreamRecord,
} from '../streams/stream_records.js';

/*
 * The catalog: every stream and shard of a data directory, with the Kinesis attributes the API
 * reports. It lives in memory on the engine's thread and is persisted whole to
 * `<dataDir>/catalog.json` (tmp, fsync, rename) after every change, before the change is
 * acknowledged. Hash keys are decimal strings in the file (JSON has no 128-bit integers).
 *
 * A shard's log lives in `<dataDir>/streams/<stream id>/<shardId>/`: streams are stored under an
 * id, not their name, so a stream deleted and created again never sees the old records.
 *
 * The rest of the engine sees the records read-only (StreamView, ShardView): every change is a
 * method here that asserts the transition it makes. A stream's status moves
 *   CREATING (create, under a create duration) -> ACTIVE (activate); or ACTIVE at once (create);
 *   ACTIVE -> UPDATING (beginReshard, or beginUpdate under an update duration) -> ACTIVE
 *   (endReshard), and ACTIVE | UPDATING -> DELETING (beginDelete) -> gone (remove);
 * a shard moves open -> closing (beginReshard) -> sealed (sealShard: its endOffset is set), and
 * never back. The requests' own checks (with Kinesis' errors) come first, in the engine's
 * modules; a failed assertion here is a bug of the engine, not a bad request.
 */

export const CATALOG_FILE = 'catalog.json';
const CATALOG_VERSION = 1;

export type ShardView = Readonly<ShardRecord>;

export interface StreamView extends Readonly<Omit<StreamRecord, 'shards' | 'tags' | 'consumers'>> {
  readonly shards: readonly ShardView[];
  readonly tags: Readonly<Record<string, string>>;
  readonly consumers: readonly ConsumerRecord[];
}

/** A child of a split or merge: its hash key range and its parents. */
export interface ChildShardPlan {
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
  readonly parentShardId: string;
  readonly adjacentParentShardId?: string;
}

interface CatalogFile {
  readonly version: number;
  readonly streams: StreamRecord[];
}

export class Catalog {
  /** Hears each change of a stream's shape just before it is made (the metering charges the old shape up to then). */
  onChange: (stream: StreamView) => void = () => undefined;
  /** Saves run one at a time: two at once would write the same temporary file. */
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly dataDir: string,
    private readonly streams: Map<string, StreamRecord>,
  ) {}

  static open(dataDir: string): Catalog {
    const file = path.join(dataDir, CATALOG_FILE);
    const streams = new Map<string, StreamRecord>();
    if (fs.existsSync(file)) {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as CatalogFile;
      if (parsed.version !== CATALOG_VERSION) throw new Error(`${file}: unknown catalog version ${parsed.version}`);
      for (const stream of parsed.streams) streams.set(stream.name, stream);
    }
    return new Catalog(dataDir, streams);
  }

  get(name: string): StreamView | undefined {
    return this.streams.get(name);
  }

  /** The stream stored under `id`, unless it is being deleted (a shard iterator names its stream so). */
  live(id: string): StreamView | undefined {
    for (const stream of this.streams.values()) if (stream.id === id && stream.status !== 'DELETING') return stream;
    return undefined;
  }

  all(): StreamView[] {
    return [...this.streams.values()];
  }

  /** The shard of a stream by its ShardId (ValidationException, ResourceNotFoundException as Kinesis). */
  shard(stream: StreamView, shardId: unknown): ShardView {
    return findShard(this.record(stream), shardId);
  }

  /** A new stream, ACTIVE or CREATING, with `shardCount` shards splitting the hash key space evenly. */
  create(
    name: string,
    shardCount: number,
    mode: StreamMode,
    nowMs: number,
    tags: Record<string, string>,
    status: 'ACTIVE' | 'CREATING' = 'ACTIVE',
  ): StreamView {
    assert(!this.streams.has(name), `stream ${name} exists`);
    assertTags(tags);
    // Kinesis' default retention is its minimum, 24 hours.
    const stream: StreamRecord = {
      id: randomBytes(8).toString('hex'),
      name,
      createdAtMs: nowMs,
      status,
      mode,
      retentionHours: RETENTION_HOURS_MIN,
      nextShardSerial: 0,
      shards: [],
      tags: { ...tags },
      consumers: [],
    };
    for (const range of initialHashKeyRanges(shardCount)) addShard(stream, { ...range });
    this.streams.set(name, stream);
    return stream;
  }

  /** A stream created CREATING is ACTIVE: its create duration passed, or an open found it so. */
  activate(stream: StreamView): void {
    const record = this.record(stream);
    assert.equal(record.status, 'CREATING', `stream ${stream.name} is activated only from CREATING`);
    record.status = 'ACTIVE';
  }

  /** An update of an ACTIVE stream (a reshard done, a setting changed) that keeps it UPDATING for the update duration. */
  beginUpdate(stream: StreamView): void {
    const record = this.record(stream);
    assert.equal(record.status, 'ACTIVE', `stream ${stream.name} is updated only when ACTIVE`);
    record.status = 'UPDATING';
  }

  beginDelete(stream: StreamView): void {
    this.onChange(stream);
    const record = this.record(stream);
    assert(record.status === 'ACTIVE' || record.status === 'UPDATING', `stream ${stream.name} cannot be deleted from ${record.status}`);
    record.status = 'DELETING';
  }

  remove(stream: StreamView): void {
    assert.equal(this.record(stream).status, 'DELETING', `stream ${stream.name} is removed only once being deleted`);
    this.streams.delete(stream.name);
  }

  /**
   * The first step of a split or merge: the stream goes UPDATING, the children are recorded and
   * the parents marked closing. The children must cover exactly the parents' hash keys.
   */
  beginReshard(stream: StreamView, parents: readonly ShardView[], children: readonly ChildShardPlan[]): ShardView[] {
    this.onChange(stream);
    const record = this.record(stream);
    assert.equal(record.status, 'ACTIVE', `stream ${stream.name} reshards only when ACTIVE`);
    const parentRecords = parents.map((parent) => this.shardRecord(record, parent));
    for (const parent of parentRecords) assert(isOpen(parent), `${parent.shardId} is not open`);
    assertSameKeys(parentRecords, children);
    record.status = 'UPDATING';
    const added = children.map((child) => addShard(record, child));
    for (const parent of parentRecords) parent.closing = true;
    return added;
  }

  /** The end of a reshard or of an update (beginUpdate). */
  endReshard(stream: StreamView): void {
    const record = this.record(stream);
    assert.equal(record.status, 'UPDATING', `stream ${stream.name} is not being updated`);
    record.status = 'ACTIVE';
  }

  /** Records where a closing shard ends: the offset after its last record. */
  sealShard(stream: StreamView, shard: ShardView, endOffset: number): void {
    this.onChange(stream);
    const record = this.shardRecord(this.record(stream), shard);
    assert(
      record.closing === true && record.endOffset === undefined,
      `${shard.shardId} is sealed only after beginReshard marked it closing`,
    );
    assert(Number.isSafeInteger(endOffset) && endOffset >= 0, `bad end offset ${endOffset}`);
    record.endOffset = endOffset;
    delete record.closing;
  }

  setTags(stream: StreamView, tags: Record<string, string>): void {
    assertTags(tags);
    this.record(stream).tags = { ...tags };
  }

  addConsumer(stream: StreamView, consumer: ConsumerRecord): void {
    this.onChange(stream);
    const record = this.record(stream);
    assert(
      !record.consumers.some((candidate) => candidate.consumerName === consumer.consumerName),
      `consumer ${consumer.consumerName} exists`,
    );
    assert(record.consumers.length < CONSUMERS_PER_STREAM_MAX, `stream ${stream.name} has ${CONSUMERS_PER_STREAM_MAX} consumers`);
    record.consumers = [...record.consumers, consumer];
  }

  removeConsumer(stream: StreamView, consumer: ConsumerRecord): void {
    this.onChange(stream);
    const record = this.record(stream);
    assert(record.consumers.includes(consumer), `consumer ${consumer.consumerName} is not registered`);
    record.consumers = record.consumers.filter((candidate) => candidate !== consumer);
  }

  /** Starts encrypting with a new data key (kept with the stream's others), or stops (null). */
  setEncryption(stream: StreamView, encryption: StreamEncryption | null, added?: DataKeyRecord): void {
    const record = this.record(stream);
    if (added !== undefined) record.dataKeys = [...(record.dataKeys ?? []), added];
    if (encryption === null) delete record.encryption;
    else record.encryption = encryption;
  }

  setRetention(stream: StreamView, hours: number): void {
    this.onChange(stream);
    assert(Number.isSafeInteger(hours) && hours >= RETENTION_HOURS_MIN && hours <= RETENTION_HOURS_MAX, `bad retention ${hours} hours`);
    this.record(stream).retentionHours = hours;
  }

  setMode(stream: StreamView, mode: StreamMode): void {
    this.onChange(stream);
    assert(mode === 'PROVISIONED' || mode === 'ON_DEMAND', `bad stream mode ${String(mode)}`);
    this.record(stream).mode = mode;
  }

  /** EnableEnhancedMonitoring and DisableEnhancedMonitoring: the shard-level metrics the stream now has. */
  setShardLevelMetrics(stream: StreamView, metrics: readonly ShardLevelMetric[]): void {
    for (const metric of metrics) assert(SHARD_LEVEL_METRICS.includes(metric), `bad shard-level metric ${String(metric)}`);
    const record = this.record(stream);
    if (metrics.length === 0) delete record.shardLevelMetrics;
    else record.shardLevelMetrics = [...metrics];
  }

  shardDir(stream: StreamView, shard: ShardView): string {
    return path.join(this.dataDir, 'streams', stream.id, shard.shardId);
  }

  streamDir(stream: StreamView): string {
    return path.join(this.dataDir, 'streams', stream.id);
  }

  /** Persists the whole catalog durably; resolves once it is on disk. */
  save(): Promise<void> {
    const run = this.saving.then(async () => {
      const file: CatalogFile = { version: CATALOG_VERSION, streams: [...this.streams.values()] };
      await writeFileDurably(this.dataDir, CATALOG_FILE, Buffer.from(JSON.stringify(file, null, 1)));
    });
    this.saving = run.catch(() => undefined);
    return run;
  }

  /** The stored record behind a view: it must be the catalog's own, not a stale or foreign one. */
  private record(stream: StreamView): StreamRecord {
    const record = this.streams.get(stream.name);
    assert(record !== undefined && record === stream, `stream ${stream.name} is not in the catalog`);
    return record;
  }

  private shardRecord(stream: StreamRecord, shard: ShardView): ShardRecord {
    const record = stream.shards.find((candidate) => candidate === shard);
    assert(record !== undefined, `${shard.shardId} is not a shard of ${stream.name}`);
    return record;
  }
}

/** Appends a new open shard with the next serial (children get serials above their parents'). */
function addShard(
  stream: StreamRecord,
  plan: { startingHashKey: bigint; endingHashKey: bigint; parentShardId?: string; adjacentParentShardId?: string },
): ShardRecord {
  const { startingHashKey: start, endingHashKey: end } = plan;
  assert(start >= 0n && end <= HASH_KEY_MAX && start <= end, `bad hash key range ${start}..${end}`);
  const serial = stream.nextShardSerial++;
  assert(serial <= SHARD_SERIAL_MAX, 'shard serials exhausted');
  const shard: ShardRecord = {
    shardId: shardIdOf(serial),
    serial,
    startingHashKey: start.toString(),
    endingHashKey: end.toString(),
    ...(plan.parentShardId === undefined ? {} : { parentShardId: plan.parentShardId }),
    ...(plan.adjacentParentShardId === undefined ? {} : { adjacentParentShardId: plan.adjacentParentShardId }),
  };
  stream.shards.push(shard);
  return shard;
}

/** Children of a reshard hold exactly their parents' hash keys: contiguous, no gap, no overlap. */
function assertSameKeys(parents: readonly ShardRecord[], children: readonly ChildShardPlan[]): void {
  const spans = (ranges: Array<{ start: bigint; end: bigint }>): Array<{ start: bigint; end: bigint }> => {
    const sorted = ranges.sort((a, b) => (a.start < b.start ? -1 : 1));
    sorted.forEach((range, i) => assert(i === 0 || sorted[i - 1]!.end + 1n === range.start, 'ranges are not contiguous'));
    return sorted;
  };
  const parentSpans = spans(parents.map((parent) => ({ start: BigInt(parent.startingHashKey), end: BigInt(parent.endingHashKey) })));
  const childSpans = spans(children.map((child) => ({ start: child.startingHashKey, end: child.endingHashKey })));
  assert(
    childSpans.length > 0 && childSpans[0]!.start === parentSpans[0]!.start && childSpans.at(-1)!.end === parentSpans.at(-1)!.end,
    'children do not cover their parents',
  );
}

function assertTags(tags: Record<string, string>): void {
  assert(Object.keys(tags).length <= TAGS_PER_STREAM_MAX, `more than ${TAGS_PER_STREAM_MAX} tags`);
}
