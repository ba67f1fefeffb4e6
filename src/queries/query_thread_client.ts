/*
 * The runner's side of a query's thread: requests answered in the order they were sent. A thread
 * that fails or exits fails every request in flight and every later one.
 */
import type { Worker } from 'node:worker_threads';
import { moduleUrl, startThread } from '../workers/thread_entry.js';
import { transferablesOf, type ThreadData, type ThreadReply, type ThreadRequest } from './thread_messages.js';

const THREAD_MODULE = moduleUrl('./query_thread', import.meta.url);
/** A query's thread holds its windows: a bound keeps one query from taking the machine's memory. */
const THREAD_MEMORY_MB = 2048;

export type ThreadAnswer = Extract<ThreadReply, { output: unknown }>;

export class QueryThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (answer: ThreadAnswer) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(data: ThreadData, name: string) {
    this.worker = startThread(THREAD_MODULE, {
      workerData: data,
      name: `query ${name}`,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_MEMORY_MB },
    });
    this.worker.on('message', (reply: ThreadReply) => this.answer(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the query's thread exited (code ${code})`)));
  }

  request(request: ThreadRequest): Promise<ThreadAnswer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, request }, request.type === 'process' ? transferablesOf(request.batch) : []);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the query is stopped');
    await this.worker.terminate();
  }

  private answer(reply: ThreadReply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if ('error' in reply) waiting?.reject(new Error(`the query failed: ${reply.error}`));
    else waiting?.resolve(reply);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }
}
