/*
 * The breakages issue 13's audit found the suite blind to, each with the tests that must now
 * catch it (scripts/mutation_audit.ts runs them). `from` must occur exactly once in `file`.
 */
export interface Mutation {
  readonly id: string;
  /** The promise the mutation breaks, as README or docs/ state it. */
  readonly claim: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly tests: readonly string[];
  /** Whether the tests run the built dist/ (the real CLI binary), which must then be rebuilt. */
  readonly build?: boolean;
}

/** Each overload threshold doubled and halved: both must fail a test. */
function threshold(id: string, claim: string, declaration: string, value: string, tests: string[]): Mutation[] {
  const from = `export const ${declaration} = ${value};`;
  return [
    { id: `${id}-x2`, claim, file: 'src/limits.ts', from, to: `export const ${declaration} = 2 * (${value});`, tests },
    { id: `${id}-half`, claim, file: 'src/limits.ts', from, to: `export const ${declaration} = (${value}) / 2;`, tests },
  ];
}

const OVERLOAD: Mutation[] = [
  ...threshold('pause', 'a subscription pauses at 1 MiB unsent', 'SUBSCRIPTION_HIGH_WATER_BYTES', 'MIB', [
    'test/net/overload_reads.test.ts',
  ]),
  ...threshold('slowdown', 'GetRecords is refused with SlowDown at 8 MiB unsent', 'READ_BACKPRESSURE_BYTES', '8 * MIB', [
    'test/net/overload_reads.test.ts',
  ]),
  ...threshold('close', 'a connection that never reads is closed at 64 MiB unsent', 'BACKPRESSURE_CLOSE_BYTES', '64 * MIB', [
    'test/net/overload_close.test.ts',
  ]),
  ...threshold('in-flight', 'a connection has at most 256 requests in flight', 'IN_FLIGHT_MAX', '256', [
    'test/net/overload_in_flight.test.ts',
  ]),
  ...threshold('put-connection', 'puts in flight are bounded at 64 MiB per connection', 'PUT_BYTES_IN_FLIGHT_MAX', '64 * MIB', [
    'test/net/overload_puts.test.ts',
  ]),
  ...threshold('put-server', 'puts in flight are bounded at 512 MiB per server', 'WRITE_BYTES_IN_FLIGHT_MAX', '512 * MIB', [
    'test/net/overload_puts.test.ts',
  ]),
  ...threshold('lifetime', 'a SubscribeToShard event stream ends after 5 minutes', 'SUBSCRIPTION_LIFETIME_MS', '5 * 60_000', [
    'test/net/kinesis_subscription_lifetime.test.ts',
  ]),
];

const CLAIMS: Mutation[] = [
  {
    id: 'producer-in-flight',
    claim: 'the Producer holds at most maxRecordsInFlight records unacknowledged',
    file: 'src/client/producer.ts',
    from: 'return this.inFlight < this.maxRecordsInFlight;',
    to: 'return this.inFlight <= this.maxRecordsInFlight;',
    tests: ['test/client/producer_claims.test.ts'],
  },
  {
    id: 'producer-no-resend',
    claim: 'the Producer sends PUTs lost with a dropped connection again',
    file: 'src/client/producer.ts',
    from: 'this.retryOrFail(entry, error.retriable === true, error.code, error.message, error);',
    to: 'this.retryOrFail(entry, false, error.code, error.message, error);',
    tests: ['test/client/producer_reconnect.test.ts'],
  },
  {
    id: 'consumers-limit',
    claim: 'a stream has at most 20 consumers',
    file: 'src/limits.ts',
    from: 'export const CONSUMERS_PER_STREAM_MAX = 20;',
    to: 'export const CONSUMERS_PER_STREAM_MAX = 40;',
    tests: ['test/engine/engine_claims.test.ts'],
  },
  {
    id: 'tags-limit',
    claim: 'a stream has at most 50 tags',
    file: 'src/limits.ts',
    from: 'export const TAGS_PER_STREAM_MAX = 50;',
    to: 'export const TAGS_PER_STREAM_MAX = 100;',
    tests: ['test/engine/engine_claims.test.ts'],
  },
  {
    id: 'streams-limit',
    claim: 'a server has at most 1,000 streams',
    file: 'src/limits.ts',
    from: 'export const STREAMS_MAX = 1000;',
    to: 'export const STREAMS_MAX = 2000;',
    tests: ['test/engine/engine_claims.test.ts'],
  },
];

const SIMULATOR = 'test/log/sim/power_loss.test.ts';
const FAULTS = 'test/log/storage_faults.test.ts';

const DURABILITY: Mutation[] = [
  {
    id: 'no-fdatasync',
    claim: 'under fsync "always" an append resolves only after an fdatasync covered it',
    file: 'src/log/segment.ts',
    from: 'await this.geometry.storage.fdatasync(this.fd);',
    to: '',
    tests: [SIMULATOR],
  },
  {
    id: 'ack-before-fdatasync',
    claim: 'under fsync "always" the server acknowledges a put only after an fdatasync covered it',
    file: 'src/log/log.ts',
    from: "    if (this.options.fsync !== 'always') {\n      this.commit(this.appendedPosition());",
    to: "    if (this.options.fsync !== 'always' || recordCount > 0) {\n      this.commit(this.appendedPosition());",
    tests: ['test/cli_durability.test.ts', SIMULATOR],
  },
  {
    id: 'no-directory-sync-at-roll',
    claim: "a new segment's name is durable before an append lands in it",
    file: 'src/log/log.ts',
    from: '      syncDirectorySync(this.dir, this.options.storage);\n',
    to: '',
    tests: [SIMULATOR],
  },
  {
    id: 'failed-fdatasync-ignored',
    claim: 'a failed fsync stops the log',
    file: 'src/log/log.ts',
    from: "this.fail(storageErrorFrom(error, 'fdatasync'));",
    to: 'void error;',
    tests: [FAULTS],
  },
  {
    id: 'io-error-retriable',
    claim: 'an I/O error other than a full disk stops the log',
    file: 'src/log/log.ts',
    from: 'return fault instanceof StorageFullError ? fault : this.fail(fault);',
    to: 'return fault;',
    tests: [FAULTS],
  },
  {
    id: 'trusted-header-unchecked',
    claim: 'damage to a trusted segment is CorruptLog',
    file: 'src/log/segment.ts',
    from: 'if (!walkable(header, expectedOffset, position, limitBytes)) {',
    to: 'if (!walkable(header, expectedOffset, position, limitBytes) && position < 0) {',
    tests: [FAULTS],
  },
  {
    id: 'reader-trusts-headers',
    claim: 'a read of a damaged batch header is CorruptLog on every door, never wrong records',
    file: 'src/log/record_batch.ts',
    from: 'if (!walkable(header, nextOffset, position, buf.length, position === walk.position)) {',
    to: 'if (!walkable(header, nextOffset, position, buf.length, position === walk.position) && position < 0) {',
    tests: ['test/net/corrupt_log_doors.test.ts'],
  },
  {
    id: 'interval-seal-waits',
    claim: 'under fsync { intervalMs } a roll never stalls the event loop',
    file: 'src/log/log.ts',
    from: '      this.scheduleFlush();\n      if (this.flushing === null) return; // the log failed: nothing is flushed any more\n',
    to: '',
    tests: ['test/log/log.test.ts'],
  },
];

export const MUTATIONS: readonly Mutation[] = [...OVERLOAD, ...CLAIMS, ...DURABILITY];
