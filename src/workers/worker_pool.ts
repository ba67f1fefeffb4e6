import { SHARD_WORKER_HEAP_MAX_MB } from '../limits.js';
import type { TransferListItem, Worker } from 'node:worker_threads';
import * as errors from '../errors.js';
import type { AppenderPort } from './appender_port.js';
import { BatchBuffers } from './batch_buffers.js';
import {
  SHARD_SEALED,
  ShardSealedError,
  type Batch,
  type CrashRequest,
  type WorkerCrash,
  type PoolRequest,
  type ShardWorkerData,
  type WireError,
  type WorkerReply,
  type WorkerRequest,
} from './channel.js';
import { moduleUrl, startThread } from './thread_entry.js';

/*
 * The engine's side of the shard workers. Each shard belongs to one worker, chosen when it opens:
 * the one with the least write load (bytes appended, decaying with a 10 s half-life), then the
 * fewest shards; so one thread owns each log, and a busy shard's new neighbours go elsewhere.
 * Requests to a worker made in the same event-loop turn travel as one message; replies come
 * back the same way.
 *
 * Supervision: a worker that dies is replaced at once, every request it had not answered fails
 * with a retriable InternalFailure (its outcome is unknown to the caller, never wrong), and the
 * shards it hosted are opened again on the new worker (which recovers their logs) before any
 * later request reaches them.
 */

type OpenRequest = Extract<PoolRequest, { kind: 'open' }>;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Shards placed on it. */
  shards: number;
  /** Bytes appended, decayed to `loadAtMs`. */
  loadBytes: number;
  loadAtMs: number;
  readonly pending: Map<number, Pending>;
  outbox: WorkerRequest[];
  transfer: TransferListItem[];
  /** Run just before the turn's message goes out: batches being built join it. */
  hooks: Array<() => void>;
  flushScheduled: boolean;
}

const SHUTDOWN_TIMEOUT_MS = 30_000;
/** Half-life of a worker's write load, as placement weighs it. */
const LOAD_HALF_LIFE_MS = 10_000;
/** Loads within this of each other count as equal: then the worker with fewer shards gets the next. */
const LOAD_STEP_BYTES = 1024 * 1024;
const SHARD_WORKER = moduleUrl('./shard_worker', import.meta.url);

export class WorkerPool implements AppenderPort {
  private readonly slots: Slot[];
  private nextId = 1;
  /** Every shard's open request, to replay after a restart. */
  private readonly opens = new Map<string, OpenRequest>();
  /** The worker of each open shard. */
  private readonly placement = new Map<string, number>();
  private stopping = false;
  /** Workers replaced after a crash: visible for tests and operators. */
  restarts = 0;
  /** Batch buffers, which the workers hand back once written. */
  readonly buffers = new BatchBuffers();

  /**
   * `openShardsPerWorker`: the shards each worker keeps with open files (open_logs.ts); `clock`:
   * the engine's manual clock, which every worker (a restarted one too) reads, or null.
   */
  constructor(
    size: number,
    private readonly openShardsPerWorker: number,
    private readonly clock: SharedArrayBuffer | null,
  ) {
    this.slots = Array.from({ length: size }, () => ({
      worker: null as unknown as Worker,
      shards: 0,
      loadBytes: 0,
      loadAtMs: performance.now(),
      pending: new Map(),
      outbox: [],
      transfer: [],
      hooks: [],
      flushScheduled: false,
    }));
    this.slots.forEach((slot, index) => this.spawn(slot, index));
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Sends a request to the worker that owns the shard, in this turn's message (with `transfer`
   * moved, not copied); resolves with its reply's value.
   */
  request<T>(request: PoolRequest, transfer: readonly TransferListItem[] = []): Promise<T> {
    if (this.stopping) return Promise.reject(new errors.ClosedError('the engine is closed'));
    if (request.kind === 'open') this.opens.set(request.shardKey, request);
    if (request.kind === 'seal') this.amendOpen(request.shardKey, (open) => ({ ...open, sealed: true }));
    // A restarted worker reopens the shard with the settings it has now, not those it opened with.
    if (request.kind === 'setEncryption')
      this.amendOpen(request.shardKey, (open) => ({ ...open, options: { ...open.options, encryption: request.encryption } }));
    if (request.kind === 'setRetention')
      this.amendOpen(request.shardKey, (open) => ({ ...open, options: { ...open.options, retentionMs: request.retentionMs } }));
    const index = this.slotOf(request.shardKey);
    if (request.kind === 'close') {
      this.opens.delete(request.shardKey);
      this.placement.delete(request.shardKey);
      this.slots[index]!.shards--;
    }
    if (request.kind === 'appendBatch') this.addLoad(this.slots[index]!, request.batchBytes);
    return this.send(index, request, transfer) as Promise<T>;
  }

  /** Runs `hook` just before this turn's message to the shard's worker goes out. */
  beforeFlush(shardKey: string, hook: () => void): void {
    const slot = this.slots[this.slotOf(shardKey)]!;
    slot.hooks.push(hook);
    this.scheduleFlush(slot);
  }

  /** Kills the worker hosting a shard, as a crash would: for tests of supervision. */
  async crashWorkerOf(shardKey: string, crash: WorkerCrash): Promise<void> {
    const { worker } = this.slots[this.slotOf(shardKey)]!;
    // Not events.once, which rejects on the 'error' a throwing worker emits before it exits.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    if (crash === 'terminate') await worker.terminate();
    else worker.postMessage({ crash } satisfies CrashRequest);
    await exited;
  }

  /** Closes every log cleanly and stops the workers. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const done = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
          slot.worker.on('message', (message: { shutdownComplete?: boolean }) => {
            if (message.shutdownComplete === true) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        slot.worker.postMessage({ shutdown: true });
        await done;
        await slot.worker.terminate();
      }),
    );
  }

  /** The worker hosting the shard (placed now if it has none: its open). */
  workerOf(shardKey: string): number {
    return this.slotOf(shardKey);
  }

  private slotOf(shardKey: string): number {
    const placed = this.placement.get(shardKey);
    if (placed !== undefined) return placed;
    const nowMs = performance.now();
    let best = 0;
    for (let i = 1; i < this.slots.length; i++) {
      const [slot, bestSlot] = [this.slots[i]!, this.slots[best]!];
      const [load, bestLoad] = [this.loadSteps(slot, nowMs), this.loadSteps(bestSlot, nowMs)];
      if (load < bestLoad || (load === bestLoad && slot.shards < bestSlot.shards)) best = i;
    }
    this.placement.set(shardKey, best);
    this.slots[best]!.shards++;
    return best;
  }

  /** In LOAD_STEP_BYTES: a worker written to long ago is as idle as one never written to. */
  private loadSteps(slot: Slot, nowMs: number): number {
    return Math.floor(this.decayedLoad(slot, nowMs) / LOAD_STEP_BYTES);
  }

  private decayedLoad(slot: Slot, nowMs: number): number {
    return slot.loadBytes * 0.5 ** ((nowMs - slot.loadAtMs) / LOAD_HALF_LIFE_MS);
  }

  private addLoad(slot: Slot, bytes: number): void {
    const nowMs = performance.now();
    slot.loadBytes = this.decayedLoad(slot, nowMs) + bytes;
    slot.loadAtMs = nowMs;
  }

  private send(index: number, request: PoolRequest, transfer: readonly TransferListItem[] = []): Promise<unknown> {
    const slot = this.slots[index]!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.outbox.push({ ...request, id } as WorkerRequest);
      slot.transfer.push(...transfer);
      this.scheduleFlush(slot);
    });
  }

  private scheduleFlush(slot: Slot): void {
    if (slot.flushScheduled) return;
    slot.flushScheduled = true;
    setImmediate(() => this.flush(slot));
  }

  private flush(slot: Slot): void {
    // Hooks send while flushScheduled is still set, so their requests ride in this message.
    const hooks = slot.hooks;
    slot.hooks = [];
    for (const hook of hooks) hook();
    slot.flushScheduled = false;
    const messages = slot.outbox;
    const transfer = slot.transfer;
    slot.outbox = [];
    slot.transfer = [];
    if (messages.length > 0) slot.worker.postMessage({ messages } satisfies Batch<WorkerRequest>, transfer);
  }

  private spawn(slot: Slot, index: number): void {
    slot.worker = startThread(SHARD_WORKER, {
      resourceLimits: { maxOldGenerationSizeMb: SHARD_WORKER_HEAP_MAX_MB },
      workerData: { openShardsMax: this.openShardsPerWorker, clock: this.clock } satisfies ShardWorkerData,
    });
    slot.worker.on('message', (message: Batch<WorkerReply> | { ready: true } | { shutdownComplete: true }) => {
      if (!('messages' in message)) return;
      for (const buffer of message.returned ?? []) this.buffers.release(buffer);
      for (const reply of message.messages) this.settle(slot, reply);
    });
    slot.worker.on('error', () => undefined); // 'exit' follows; the restart happens there
    slot.worker.on('exit', () => {
      if (this.stopping) return;
      this.restart(slot, index);
    });
  }

  private amendOpen(shardKey: string, amend: (open: OpenRequest) => OpenRequest): void {
    const open = this.opens.get(shardKey);
    if (open !== undefined) this.opens.set(shardKey, amend(open));
  }

  private restart(slot: Slot, index: number): void {
    this.restarts++;
    const lost = [...slot.pending.values()];
    slot.pending.clear();
    slot.outbox = [];
    slot.transfer = [];
    for (const pending of lost)
      pending.reject(new errors.InternalFailureException('the shard worker restarted; the request may or may not have taken effect'));
    this.spawn(slot, index);
    for (const [shardKey, open] of this.opens) {
      if (this.slotOf(shardKey) === index) void this.send(index, open).catch(() => undefined);
    }
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const pending = slot.pending.get(reply.id);
    if (pending === undefined) return;
    slot.pending.delete(reply.id);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(errorFromWire(reply.error));
  }
}

/** Rebuilds the typed error a worker reported. */
function errorFromWire(error: WireError): Error {
  if (error.code === SHARD_SEALED) return new ShardSealedError(error.message);
  return errors.errorFromCode(error.code, error.message);
}
