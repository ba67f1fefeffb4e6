/*
 * Every limit of shardline, once: Kinesis' own (as AWS documents them, so an application that
 * meets one here meets it on AWS too) and the engine's and the doors' (each with what it costs or
 * protects). The assertions at the end relate them, so a change to one that breaks another fails
 * when the module loads, in every test, rather than in production (TigerBeetle's constants.zig).
 *
 * Pure constants with no imports: the log, the network codecs and the browser client all read
 * this file. Names carry their unit last.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

// ---- records ----

/** Kinesis: a record's partition key and data together (the data may be empty). */
export const RECORD_PAYLOAD_BYTES_MAX = MIB;
/** Kinesis: a partition key is 1 to 256 Unicode characters. */
export const PARTITION_KEY_CHARS_MAX = 256;
/** A character is at most 4 bytes of UTF-8: the bound on a key's stored length. */
export const PARTITION_KEY_BYTES_MAX = PARTITION_KEY_CHARS_MAX * 4;
/** A 128-bit hash key, stored and sent as 16 bytes. */
export const HASH_KEY_BYTES = 16;

// ---- requests ----

/** Kinesis: PutRecords takes at most 500 records and 5 MiB of keys and data. */
export const PUT_RECORDS_RECORDS_MAX = 500;
export const PUT_RECORDS_BYTES_MAX = 5 * MIB;
/** Kinesis: GetRecords returns at most 10,000 records and 10 MiB. */
export const GET_RECORDS_RECORDS_MAX = 10_000;
export const GET_RECORDS_BYTES_MAX = 10 * MIB;
/** Kinesis: the page sizes of the list operations (Limit / MaxResults). */
export const LIST_PAGE_ENTRIES_MAX = 10_000;
export const LIST_SHARDS_PAGE_DEFAULT = 1000;
export const DESCRIBE_STREAM_SHARDS_DEFAULT = 100;
export const LIST_STREAMS_PAGE_DEFAULT = 100;
export const LIST_CONSUMERS_PAGE_DEFAULT = 100;

// ---- streams ----

/** Kinesis' account shard quota, ours per stream; it bounds every per-stream loop over shards. */
export const SHARDS_PER_STREAM_MAX = 500;
/** Streams per engine: the catalog is kept whole in memory and rewritten on every change. */
export const STREAMS_MAX = 1000;
/** Kinesis: an ON_DEMAND stream starts with 4 shards. */
export const ON_DEMAND_INITIAL_SHARDS = 4;
/** Kinesis: retention from 24 hours to 365 days. */
export const RETENTION_HOURS_MIN = 24;
export const RETENTION_HOURS_MAX = 8760;
/** Kinesis: 50 tags per stream, keys of 1 to 128 characters, values of at most 256. */
export const TAGS_PER_STREAM_MAX = 50;
export const TAG_KEY_CHARS_MAX = 128;
export const TAG_VALUE_CHARS_MAX = 256;
/** Kinesis: 20 registered (enhanced fan-out) consumers per stream. */
export const CONSUMERS_PER_STREAM_MAX = 20;

// ---- consumer groups (shardline's lease tables; docs/GROUPS.md) ----
/** Group names are the KCL's application names as a DynamoDB table takes them: [A-Za-z0-9_.-]. */
export const GROUP_NAME_CHARS_MAX = 128;
export const GROUPS_MAX = 1000;
/** Leases in one group: every shard a stream can have had within retention, with room for lineage. */
export const GROUP_LEASES_MAX = 10_000;
/** Kinesis: UpdateShardCount moves at most from half to double the open shards. */
export const SCALING_FACTOR_MAX = 2;

// ---- throughput, per shard ----

/** Kinesis PROVISIONED writes: 1 MiB/s and 1,000 records/s, whichever is reached first. */
export const PROVISIONED_WRITE_BYTES_PER_SEC = MIB;
export const PROVISIONED_WRITE_RECORDS_PER_SEC = 1000;
/** Kinesis ON_DEMAND shards start at four times the provisioned write capacity. */
export const ON_DEMAND_WRITE_BYTES_PER_SEC = 4 * MIB;
export const ON_DEMAND_WRITE_RECORDS_PER_SEC = 4000;
/** Kinesis GetRecords: 2 MiB/s and 5 calls/s, shared by every polling consumer of a shard. */
export const READ_BYTES_PER_SEC = 2 * MIB;
export const READ_CALLS_PER_SEC = 5;
/** Kinesis: each enhanced fan-out consumer gets its own 2 MiB/s per shard. */
export const SUBSCRIPTION_BYTES_PER_SEC = 2 * MIB;

// ---- time ----

/** Kinesis: a shard iterator expires 5 minutes after it was issued. */
export const ITERATOR_TTL_MS = 5 * 60_000;
/** Kinesis: a SubscribeToShard stream lasts 5 minutes; the client subscribes again. */
export const SUBSCRIPTION_LIFETIME_MS = 5 * 60_000;
/** Kinesis: a second SubscribeToShard for one consumer and shard within 5 s is refused. */
export const RESUBSCRIBE_INTERVAL_MS = 5000;
/** Kinesis: a subscription event comes at least this often, empty if nothing arrived. */
export const SUBSCRIPTION_HEARTBEAT_MS = 5000;

// ---- the log ----

/** One append (one batch): bounds the worker's copy and a reader's largest single view. */
export const BATCH_BYTES_MAX = 16 * MIB;
/** A shard's segment size (`segmentBytes`, `serve --segment-bytes`): from 4 KiB to 1 GiB. */
export const SEGMENT_BYTES_MIN = 4 * KIB;
export const SEGMENT_BYTES_MAX = 1024 * MIB;
export const BATCH_RECORDS_MAX = 100_000;
/**
 * A shard worker's JavaScript heap: its logs live in mappings, outside it, so only a leak comes
 * near this. Node ends a worker that runs out of heap (whatever the bound) and the pool replaces
 * it; the bound caps what a leak costs before that.
 */
export const SHARD_WORKER_HEAP_MAX_MB = 1024;
/** Shard worker threads: each holds its shards' logs; more than the cores only adds switching. */
export const WORKERS_MAX = 64;

// ---- the WebSocket door (docs/PROTOCOL.md) ----

/** A frame from a client, header included: larger ones close the connection (1009). */
export const FRAME_BYTES_MAX = 8 * MIB;
/** Requests (subscriptions included) in flight on one connection; the client queues the rest. */
export const IN_FLIGHT_MAX = 256;
/** Protocol errors one connection may make before it is closed (4003). */
export const PROTOCOL_ERRORS_MAX = 100;
export const CLIENT_NAME_BYTES_MAX = 256;
export const OPERATION_NAME_BYTES_MAX = 64;
/** Unsent bytes at which a connection's subscriptions pause (they resume on drain). */
export const SUBSCRIPTION_HIGH_WATER_BYTES = MIB;
/** Unsent bytes at which GetRecords is refused with SlowDown. */
export const READ_BACKPRESSURE_BYTES = 8 * MIB;
/** Unsent bytes at which a connection that never reads is closed. */
export const BACKPRESSURE_CLOSE_BYTES = 64 * MIB;
/** Puts stored but not yet answered, per connection and per server; more get SlowDown. */
export const PUT_BYTES_IN_FLIGHT_MAX = 64 * MIB;
export const WRITE_BYTES_IN_FLIGHT_MAX = 512 * MIB;

// ---- the HTTP door ----

/** A request body: a PutRecords at its limits in base64 JSON, with room for its members. */
export const HTTP_BODY_BYTES_MAX = 8 * MIB;

/** A stream state's duration (docs/TESTING.md): a day, longer than any test waits, short enough that a typo of a unit shows. */
export const STATE_DURATION_MS_MAX = 24 * 60 * 60 * 1000;

// ---- how they relate ----

/** The largest PUT frame: a PutRecords at its limits in the on-disk record layout. */
const PUT_FRAME_BYTES_MAX = 64 + PUT_RECORDS_BYTES_MAX + PUT_RECORDS_RECORDS_MAX * (8 + 2 * HASH_KEY_BYTES);
/** A PutRecords at its limits as JSON: base64 data, and each entry's member names and quotes. */
const PUT_RECORDS_JSON_BYTES_MAX = Math.ceil((PUT_RECORDS_BYTES_MAX * 4) / 3) + PUT_RECORDS_RECORDS_MAX * 128;

function check(condition: boolean, relation: string): void {
  if (!condition) throw new Error(`src/limits.ts: ${relation}`);
}

check(RECORD_PAYLOAD_BYTES_MAX <= PUT_RECORDS_BYTES_MAX, 'a record at its limit fits one PutRecords');
check(PARTITION_KEY_BYTES_MAX < 2 ** 16, "a partition key's length fits the record's u16 field");
check(PUT_FRAME_BYTES_MAX <= FRAME_BYTES_MAX, 'a PutRecords at its limits fits one protocol frame');
check(PUT_RECORDS_BYTES_MAX + PUT_RECORDS_RECORDS_MAX * 64 <= BATCH_BYTES_MAX, 'a PutRecords at its limits fits one batch');
check(PUT_RECORDS_RECORDS_MAX <= BATCH_RECORDS_MAX, "a PutRecords' records fit one batch");
check(GET_RECORDS_BYTES_MAX >= RECORD_PAYLOAD_BYTES_MAX + BATCH_BYTES_MAX / 16, 'a GetRecords can return a record at its limit');
check(PUT_RECORDS_JSON_BYTES_MAX <= HTTP_BODY_BYTES_MAX, 'a PutRecords at its limits fits one HTTP body');
check(
  BACKPRESSURE_CLOSE_BYTES > READ_BACKPRESSURE_BYTES + GET_RECORDS_BYTES_MAX + SUBSCRIPTION_HIGH_WATER_BYTES + BATCH_BYTES_MAX,
  'a connection that reads is never closed: an accepted GetRecords and a paused subscription stay below the close',
);
check(SUBSCRIPTION_HIGH_WATER_BYTES < READ_BACKPRESSURE_BYTES, 'subscriptions pause before GetRecords is refused');
check(PUT_BYTES_IN_FLIGHT_MAX >= FRAME_BYTES_MAX, 'one connection can always have one PUT in flight');
check(WRITE_BYTES_IN_FLIGHT_MAX >= PUT_BYTES_IN_FLIGHT_MAX, "the server's bound holds at least one connection's");
check(READ_BYTES_PER_SEC * 5 >= GET_RECORDS_BYTES_MAX, "a shard's read rate pays a full GetRecords back within 5 s");
check(SUBSCRIPTION_HEARTBEAT_MS < SUBSCRIPTION_LIFETIME_MS, 'a subscription sends heartbeats before it ends');
check(RESUBSCRIBE_INTERVAL_MS < SUBSCRIPTION_LIFETIME_MS, 'a subscription that ends can be renewed at once');
check(ON_DEMAND_INITIAL_SHARDS <= SHARDS_PER_STREAM_MAX, 'an ON_DEMAND stream starts within the shard limit');
check(TAGS_PER_STREAM_MAX <= LIST_PAGE_ENTRIES_MAX && CONSUMERS_PER_STREAM_MAX <= LIST_PAGE_ENTRIES_MAX, 'tags and consumers fit one page');
