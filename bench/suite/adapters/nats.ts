/**
 * NATS JetStream as a system under test: nats-server 2.9.10 in its own process with a file store
 * (scripts/peers.ts). A stream of N shards is one JetStream stream `${stream}` on the subjects
 * `${stream}.${i}`; a partition key picks its subject by shardOfKey. A put publishes every record
 * at once on the producer's own connection and resolves when every PubAck is in. Consumers are
 * ordered consumers (ack-free, in stream order, from the first message) on a connection of their
 * own: push is consume() with a callback, poll a loop of fetch() batches.
 */
import { StorageType, connect, type Consumer, type ConsumerMessages, type JetStreamClient, type NatsConnection } from 'nats';
import {
  OpenPorts,
  PEER_HOST,
  PeerError,
  errorText,
  readUntilClosed,
  shardOfKey,
  startNats,
  type PeerFactory,
  type PeerProcess,
  type PeerSystemUnderTest,
} from '../../../scripts/peers.js';
import type { BenchRecord, ConsumerOptions, ConsumerPort, FsyncSetting, ProducerPort, PutOutcome, StreamSpec } from '../types.js';

/** Messages a consumer asks for at once (pull requests under both modes): bounds its buffer. */
const PULL_MESSAGES_MAX = 1000;
/** A PubAck may queue behind a whole window of puts on an overloaded machine: only then fail. */
const PUBLISH_TIMEOUT_MS = 30_000;
/** Stream names may not hold the subject separators and wildcards. */
const STREAM_NAME = /^[^.*>\s]+$/;

/**
 * The file store fsyncs every 2 min in the background whatever it is asked: 2.9 has no
 * sync_interval (2.10 added it, with "always"), so the config sets none.
 */
function durabilityOf(fsync: FsyncSetting, version: string): string {
  const store = 'JetStream file store: in the OS page cache at the PubAck, fsynced by the server only every 2 min in the background';
  if (fsync === 'never') return store;
  const asked = fsync === 'always' ? 'fsync always' : `fsync every ${fsync.intervalMs} ms`;
  return `${asked} asked, which nats-server ${version} is not set up for (no sync_interval: 2.9 refuses it, 2.10 added it), so: ${store}`;
}

/**
 * A connection that fails instead of reconnecting: a lost peer must fail the run. Without async
 * traces: by default nats.js makes two Errors per request for their stacks, which took 40% of
 * the producer's CPU.
 */
function connectNats(port: number, name: string): Promise<NatsConnection> {
  return connect({ servers: `${PEER_HOST}:${port}`, name, reconnect: false, noAsyncTraces: true });
}

export const natsFactory: PeerFactory = {
  name: 'nats',
  async start(fsync, dataRoot) {
    const peer = await startNats(dataRoot);
    try {
      const admin = await connectNats(peer.port, 'bench-admin');
      const version = admin.info?.version;
      if (version === undefined) throw new PeerError('PeerRequestFailed', 'nats: the server sent no INFO version');
      return new NatsSystem(peer, admin, version, durabilityOf(fsync, version));
    } catch (error) {
      await peer.stop();
      throw error;
    }
  },
};

class NatsSystem implements PeerSystemUnderTest {
  readonly name = 'nats';
  readonly consumerModes = ['push', 'poll'] as const;
  readonly supportsLimits = false;
  /** Each stream's subjects, in shard order. */
  private readonly subjects = new Map<string, readonly string[]>();
  private readonly ports = new OpenPorts();

  constructor(
    readonly peer: PeerProcess,
    private readonly admin: NatsConnection,
    readonly version: string,
    readonly durability: string,
  ) {}

  async createStreams(spec: StreamSpec): Promise<void> {
    const manager = await this.admin.jetstreamManager();
    for (const name of spec.names) {
      if (!STREAM_NAME.test(name))
        throw new PeerError('PeerRequestFailed', `nats: stream name ${JSON.stringify(name)} may not contain '.', '*', '>' or spaces`);
      const subjects = Array.from({ length: spec.shards }, (_, i) => `${name}.${i}`);
      await manager.streams.add({ name, subjects, storage: StorageType.File, num_replicas: 1 });
      this.subjects.set(name, subjects);
    }
  }

  async openProducer(): Promise<ProducerPort> {
    const connection = await connectNats(this.peer.port, 'bench-producer');
    const js = connection.jetstream({ timeout: PUBLISH_TIMEOUT_MS });
    return {
      put: (stream, records) => publish(js, this.subjectsOf(stream), records),
      close: this.ports.add(() => connection.close()),
    };
  }

  async openConsumer(options: ConsumerOptions): Promise<ConsumerPort> {
    this.subjectsOf(options.stream);
    const connection = await connectNats(this.peer.port, 'bench-consumer');
    const consumer = await connection.jetstream().consumers.get(options.stream);
    const reading = options.mode === 'push' ? await pushReading(consumer, options.onRecord) : pollReading(consumer, options.onRecord);
    const disconnect = async (): Promise<void> => {
      await reading.stop();
      await connection.close();
    };
    return { close: this.ports.add(readUntilClosed(`nats ${options.mode} consumer of ${options.stream}`, reading.read, disconnect)) };
  }

  async stop(): Promise<void> {
    await this.ports.closeAll();
    await this.admin.close();
    await this.peer.stop();
  }

  private subjectsOf(stream: string): readonly string[] {
    const subjects = this.subjects.get(stream);
    if (subjects === undefined) throw new PeerError('PeerRequestFailed', `nats: stream ${stream} was not created`);
    return subjects;
  }
}

async function publish(js: JetStreamClient, subjects: readonly string[], records: readonly BenchRecord[]): Promise<PutOutcome> {
  try {
    await Promise.all(records.map((record) => js.publish(subjects[shardOfKey(record.partitionKey, subjects.length)]!, record.data)));
  } catch (error) {
    throw new PeerError('PeerRequestFailed', `nats publish failed: ${errorText(error)}`, { cause: error });
  }
  return { throttled: 0 };
}

/**
 * A consumer's read loop and how to stop it. The messages being read must be stopped before the
 * connection closes: a closed connection alone leaves nats.js 2.29's ordered consumer waiting
 * forever ("aborting resetPending - connection is closed") and its closed() never settles.
 */
interface NatsReading {
  read(isOpen: () => boolean): Promise<void>;
  stop(): Promise<unknown>;
}

/** push: messages delivered as they arrive; read rejects if the consumer fails. */
async function pushReading(consumer: Consumer, onRecord: (data: Uint8Array) => void): Promise<NatsReading> {
  const messages = await consumer.consume({ max_messages: PULL_MESSAGES_MAX, callback: (message) => onRecord(message.data) });
  return {
    read: async () => {
      const failure = await messages.closed();
      if (failure instanceof Error) throw failure;
    },
    stop: () => messages.close(),
  };
}

/** poll: one fetch at a time, each done when its batch is full or it expires. */
function pollReading(consumer: Consumer, onRecord: (data: Uint8Array) => void): NatsReading {
  let batch: ConsumerMessages | null = null;
  return {
    read: async (isOpen) => {
      while (isOpen()) {
        batch = await consumer.fetch({ max_messages: PULL_MESSAGES_MAX });
        // Closed while the fetch was being set up: stop() saw the previous batch, not this one.
        if (!isOpen()) await batch.close();
        for await (const message of batch) onRecord(message.data);
      }
    },
    stop: async () => batch?.close(),
  };
}
