/**
 * NATS JetStream as a system under test: nats-server 2.9.10 in its own process with a file store
 * (scripts/peers.ts). A stream of N shards is one JetStream stream `${stream}` on the subjects
 * `${stream}.${i}`; a partition key picks its subject by shardOfKey. A put publishes every record
 * at once on the producer's own connection and resolves when every PubAck is in. Consumers are
 * ordered consumers (ack-free, in stream order, from the first message) on a connection of their
 * own: push is consume() with a callback, poll a loop of fetch() batches.
 *
 * The ceiling skips nats.js: a raw protocol client pipelines PUBs on one connection to a stream
 * of its own and counts the PubAcks, so the figure is the server's, not the library's.
 */
import net from 'node:net';
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

/** Messages a consumer asks for at once (pull requests under both modes): bounds its buffer. */
const PULL_MESSAGES_MAX = 1000;
/** A PubAck may queue behind a whole window of puts on an overloaded machine: only then fail. */
const PUBLISH_TIMEOUT_MS = 30_000;
/** Stream names may not hold the subject separators and wildcards. */
const STREAM_NAME = /^[^.*>\s]+$/;
/** The ceiling's own stream, deleted after: one subject, stored like the runs' streams. */
const CEILING_STREAM = 'ceiling';
const CEILING_SUBJECT = 'ceiling.0';
/** Acks are counted, not matched to their PUB: one reply subject makes every PUB frame the same bytes. */
const CEILING_REPLY = '_INBOX.ceiling.ack';
/** PUBs sent but not yet acknowledged, at most. */
const CEILING_WINDOW = 16_384;
/** PUB frames per socket write: one chunk, built once, is written over and over. */
const CEILING_CHUNK_FRAMES = 1024;
/** After the load stops, the PubAcks of the last window must be in by then. */
const CEILING_DRAIN_TIMEOUT_MS = 30_000;
/** No headers, so PubAcks come as plain MSGs (and no_responders, which needs them, is off). */
const CEILING_CONNECT = { verbose: false, pedantic: false, headers: false, no_responders: false };
const CRLF = '\r\n';

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

  async ceiling(spec: CeilingSpec): Promise<Ceiling> {
    const manager = await this.admin.jetstreamManager();
    await manager.streams.add({ name: CEILING_STREAM, subjects: [CEILING_SUBJECT], storage: StorageType.File, num_replicas: 1 });
    try {
      const { acked, seconds } = await publishPipelined(this.peer.port, spec);
      // Every PubAck should stand for a stored message, and nothing else should have been stored.
      const { messages } = (await manager.streams.info(CEILING_STREAM)).state;
      if (messages !== acked) throw ceilingError(`${acked} PubAcks, but the stream holds ${messages} messages`);
      return {
        tool: `raw NATS protocol, pipelined PUB with a reply subject (JetStream PubAck per message), window ${CEILING_WINDOW}`,
        records: acked,
        seconds,
        recordsPerSec: Math.round(acked / seconds),
      };
    } finally {
      await manager.streams.delete(CEILING_STREAM);
    }
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

// ---------------------------------------------------------------- the ceiling's raw client

/**
 * Publishes for spec.seconds on a connection of its own, keeping CEILING_WINDOW PUBs unacknowledged,
 * then waits for the last PubAcks. The clock starts at the PONG to our first PING, so the
 * connection's setup is not counted, and stops at the last PubAck.
 */
function publishPipelined(port: number, spec: CeilingSpec): Promise<{ acked: number; seconds: number }> {
  const chunk = Buffer.from(pubFrame(spec.recordBytes).repeat(CEILING_CHUNK_FRAMES), 'latin1');
  const ops = new ServerOps();
  const socket = net.connect(port, PEER_HOST);
  const timers: NodeJS.Timeout[] = [];
  let sent = 0;
  let acked = 0;
  let sending = true;
  let startedAt = 0;
  let settled = false;
  return new Promise((resolve, reject) => {
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      if (error !== null) return reject(error);
      resolve({ acked, seconds: Math.round(performance.now() - startedAt) / 1000 });
    };
    const fill = (): void => {
      for (; sending && sent + CEILING_CHUNK_FRAMES - acked <= CEILING_WINDOW; sent += CEILING_CHUNK_FRAMES) socket.write(chunk);
      if (!sending && acked === sent) settle(null);
    };
    const start = (): void => {
      startedAt = performance.now();
      const stopSending = (): void => {
        sending = false;
        fill();
      };
      const drainFailed = (): void =>
        settle(ceilingError(`${sent - acked} PubAcks still missing ${CEILING_DRAIN_TIMEOUT_MS / 1000} s after the load stopped`));
      timers.push(setTimeout(stopSending, spec.seconds * 1000), setTimeout(drainFailed, spec.seconds * 1000 + CEILING_DRAIN_TIMEOUT_MS));
      fill();
    };
    const onLine = (line: string): void => {
      if (line === 'PING') socket.write(`PONG${CRLF}`);
      else if (line === 'PONG') start();
      else if (line.startsWith('-ERR')) throw ceilingError(`the server answered ${line}`);
      // INFO and +OK tell nothing this client needs.
    };
    const onMsg = (payload: Buffer): void => {
      // Cheaper than parsing every PubAck: only a failed one names an "error".
      if (payload.includes('"error"')) throw ceilingError(`a PubAck reports a failure: ${payload.toString('utf8')}`);
      acked++;
    };
    socket.on('connect', () => socket.write(`CONNECT ${JSON.stringify(CEILING_CONNECT)}${CRLF}SUB _INBOX.ceiling.* 1${CRLF}PING${CRLF}`));
    socket.on('data', (data: Buffer) => {
      try {
        ops.read(data, onMsg, onLine);
      } catch (error) {
        return settle(error as Error);
      }
      if (startedAt !== 0) fill();
    });
    socket.on('error', (error) => settle(ceilingError(error.message, error)));
    socket.on('close', () => settle(ceilingError('the server closed the connection')));
  });
}

function pubFrame(recordBytes: number): string {
  return `PUB ${CEILING_SUBJECT} ${CEILING_REPLY} ${recordBytes}${CRLF}${'x'.repeat(recordBytes)}${CRLF}`;
}

function ceilingError(message: string, cause?: unknown): PeerError {
  return new PeerError('PeerRequestFailed', `nats ceiling: ${message}`, { cause });
}

/**
 * The server's operations as they come off the socket, split across or within chunks anyhow: a
 * MSG is its line `MSG <subject> <sid> [reply] <bytes>` then exactly that many bytes and CRLF;
 * every other operation is one line.
 */
class ServerOps {
  /** The start of an operation not yet complete, kept for the next chunk. */
  private rest: Buffer = Buffer.alloc(0);

  read(chunk: Buffer, onMsg: (payload: Buffer) => void, onLine: (line: string) => void): void {
    const buffer = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let at = 0;
    for (let eol = buffer.indexOf(CRLF, at); eol >= 0; eol = buffer.indexOf(CRLF, at)) {
      const line = buffer.toString('latin1', at, eol);
      if (!line.startsWith('MSG ')) {
        onLine(line);
        at = eol + 2;
        continue;
      }
      const end = eol + 2 + payloadBytes(line);
      if (buffer.length < end + 2) break;
      if (buffer.toString('latin1', end, end + 2) !== CRLF) throw ceilingError(`no CRLF after the payload of ${line}`);
      onMsg(buffer.subarray(eol + 2, end));
      at = end + 2;
    }
    this.rest = buffer.subarray(at);
  }
}

function payloadBytes(msgLine: string): number {
  const bytes = Number(msgLine.slice(msgLine.lastIndexOf(' ') + 1));
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw ceilingError(`a MSG line without a payload size: ${msgLine}`);
  return bytes;
}
