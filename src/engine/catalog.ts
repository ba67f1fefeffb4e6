import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../log/durable_file.js';
import { HASH_KEY_MAX, initialHashKeyRanges } from '../streams/hash_key.js';
import { SHARD_SERIAL_MAX } from '../streams/sequence_number.js';
import { shardIdOf, type ShardRecord, type StreamMode, type StreamRecord } from '../streams/stream_records.js';

/*
 * The catalog: every stream and shard of a data directory, with the Kinesis attributes the API
 * reports. It lives in memory on the engine's thread and is persisted whole to
 * `<dataDir>/catalog.json` (tmp, fsync, rename) after every change, before the change is
 * acknowledged. Hash keys are decimal strings in the file (JSON has no 128-bit integers).
 *
 * A shard's log lives in `<dataDir>/streams/<stream id>/<shardId>/`: streams are stored under an
 * id, not their name, so a stream deleted and created again never sees the old records.
 */

export const CATALOG_FILE = 'catalog.json';
const CATALOG_VERSION = 1;

interface CatalogFile {
  readonly version: number;
  readonly streams: StreamRecord[];
}

export class Catalog {
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

  get(name: string): StreamRecord | undefined {
    return this.streams.get(name);
  }

  all(): StreamRecord[] {
    return [...this.streams.values()];
  }

  /** A new stream with `shardCount` shards splitting the hash key space evenly. */
  create(name: string, shardCount: number, mode: StreamMode, nowMs: number): StreamRecord {
    const stream: StreamRecord = {
      id: randomBytes(8).toString('hex'),
      name,
      createdAtMs: nowMs,
      status: 'ACTIVE',
      mode,
      retentionHours: 24,
      nextShardSerial: 0,
      shards: [],
      tags: {},
      consumers: [],
    };
    for (const range of initialHashKeyRanges(shardCount)) {
      this.addShard(stream, range.startingHashKey, range.endingHashKey, {});
    }
    this.streams.set(name, stream);
    return stream;
  }

  remove(name: string): void {
    this.streams.delete(name);
  }

  /** Appends a new open shard with the next serial (children get serials above their parents'). */
  addShard(stream: StreamRecord, start: bigint, end: bigint, parents: { parentShardId?: string; adjacentParentShardId?: string }): ShardRecord {
    if (start < 0n || end > HASH_KEY_MAX || start > end) throw new RangeError(`bad hash key range ${start}..${end}`);
    const serial = stream.nextShardSerial++;
    if (serial > SHARD_SERIAL_MAX) throw new RangeError('shard serials exhausted');
    const shard: ShardRecord = {
      shardId: shardIdOf(serial),
      serial,
      startingHashKey: start.toString(),
      endingHashKey: end.toString(),
      ...parents,
    };
    stream.shards.push(shard);
    return shard;
  }

  shardDir(stream: StreamRecord, shard: ShardRecord): string {
    return path.join(this.dataDir, 'streams', stream.id, shard.shardId);
  }

  streamDir(stream: StreamRecord): string {
    return path.join(this.dataDir, 'streams', stream.id);
  }

  /** Persists the whole catalog durably; resolves once it is on disk. */
  save(): Promise<void> {
    const run = this.saving.then(async () => {
      const file: CatalogFile = { version: CATALOG_VERSION, streams: this.all() };
      await writeFileDurably(this.dataDir, CATALOG_FILE, Buffer.from(JSON.stringify(file, null, 1)));
    });
    this.saving = run.catch(() => undefined);
    return run;
  }
}
