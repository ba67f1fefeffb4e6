import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../errors.js';
import { Log } from '../log/log.js';
import { SHARD_SEALED, type Batch, type CrashRequest, type ShardWorkerData, type WorkerReply, type WorkerRequest } from './channel.js';
import { ManualClock } from '../util/manual_clock.js';
import { OpenLogs } from './open_logs.js';

/*
 * A shard worker: the single owner (writer) of the logs of the shards it hosts. It takes batches
 * of requests from the engine's thread, answers in batches, and never touches reads: readers map
 * the segment files themselves (LogReader) up to the committed position each log publishes.
 */

interface HostedShard {
  readonly log: Log;
  sealed: boolean;
}

/** Logs closed at the same time when the worker shuts down. */
const CLOSES_AT_ONCE = 32;

const shards = new Map<string, HostedShard>();
const data = workerData as ShardWorkerData;
const openLogs = new OpenLogs(data.openShardsMax);
/** The engine's manual clock when it has one: the logs' retention and rolls then go by its time. */
const clock = data.clock === null ? Date.now : ManualClock.over(data.clock).now;
let outbox: WorkerReply[] = [];
let returned: ArrayBuffer[] = [];
let flushScheduled = false;

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const message: Batch<WorkerReply> = { messages: outbox, returned };
    const transfer = returned;
    outbox = [];
    returned = [];
    parentPort!.postMessage(message, transfer);
  });
}

function reply(message: WorkerReply): void {
  outbox.push(message);
  scheduleFlush();
}

/** Hands a batch buffer back to the engine's thread, with this turn's replies. */
function giveBack(buffer: ArrayBuffer): void {
  returned.push(buffer);
  scheduleFlush();
}

function hosted(shardKey: string): HostedShard {
  const shard = shards.get(shardKey);
  if (shard === undefined) throw new Error(`shard ${shardKey} is not open on this worker`);
  return shard;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.kind) {
    case 'open': {
      const existing = shards.get(request.shardKey);
      if (existing !== undefined) return { endOffset: existing.log.endOffset, segmentBases: existing.log.segmentBases };
      const log = await Log.open(request.dir, { ...request.options, committedPosition: request.committed, clock });
      shards.set(request.shardKey, { log, sealed: request.sealed });
      openLogs.touch(request.shardKey, log);
      return { endOffset: log.endOffset, segmentBases: log.segmentBases };
    }
    case 'appendBatch': {
      try {
        const shard = hosted(request.shardKey);
        if (shard.sealed) throw Object.assign(new Error(`shard ${request.shardKey} is sealed`), { sealedShard: true });
        openLogs.touch(request.shardKey, shard.log);
        // appendBatch writes before it returns: the buffer is free again at once.
        return shard.log.appendBatch(Buffer.from(request.batch, 0, request.batchBytes), request.recordCount, request.arrivalMs);
      } finally {
        giveBack(request.batch);
      }
    }
    case 'seal': {
      const shard = hosted(request.shardKey);
      shard.sealed = true;
      await shard.log.flush();
      return { endOffset: shard.log.endOffset };
    }
    case 'offsetForTimestamp': {
      const { log } = hosted(request.shardKey);
      openLogs.touch(request.shardKey, log); // a lookup in the active segment opens its files
      return { offset: log.offsetForTimestamp(request.timestampMs) };
    }
    case 'setEncryption':
      hosted(request.shardKey).log.setEncryption(request.encryption);
      return null;
    case 'setRetention':
      hosted(request.shardKey).log.setRetentionMs(request.retentionMs);
      return null;
    case 'applyRetention': {
      const { log } = hosted(request.shardKey);
      openLogs.touch(request.shardKey, log); // the pass reads the oldest segments' indexes
      return { deletedSegments: await log.applyRetention() };
    }
    case 'close': {
      const shard = shards.get(request.shardKey);
      shards.delete(request.shardKey);
      openLogs.forget(request.shardKey);
      await shard?.log.close();
      return null;
    }
  }
}

function handleBatch(batch: Batch<WorkerRequest>): void {
  // Requests start in arrival order; appends write synchronously inside Log.appendBatch, so the order
  // of records in a shard is the order the engine sent them.
  for (const request of batch.messages) {
    handle(request).then(
      (value) => reply({ id: request.id, ok: true, value }),
      (error: unknown) => {
        const sealed = (error as { sealedShard?: boolean }).sealedShard === true;
        reply({
          id: request.id,
          ok: false,
          error: sealed ? { code: SHARD_SEALED, message: String((error as Error).message), retriable: true } : describeError(error),
        });
      },
    );
  }
}

parentPort!.on('message', (message: Batch<WorkerRequest> | { shutdown: true } | CrashRequest) => {
  if ('crash' in message) crash(message.crash);
  if ('shutdown' in message) {
    void closeAll().then(() => parentPort!.postMessage({ shutdownComplete: true }));
    return;
  }
  handleBatch(message);
});
parentPort!.postMessage({ ready: true });

/** Closing a log opens its files again to seal them: a few at a time, within the descriptor bound. */
async function closeAll(): Promise<void> {
  const logs = [...shards.values()].map((shard) => shard.log);
  shards.clear();
  for (let i = 0; i < logs.length; i += CLOSES_AT_ONCE) await Promise.all(logs.slice(i, i + CLOSES_AT_ONCE).map((log) => log.close()));
}

function crash(how: CrashRequest['crash']): never {
  if (how === 'exit') process.exit(70);
  if (how === 'throw') throw new Error('simulated shard worker crash');
  const held: number[][] = [];
  for (;;) held.push(new Array<number>(1 << 20).fill(held.length));
}
