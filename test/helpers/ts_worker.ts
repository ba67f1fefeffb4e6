import type { Worker, WorkerOptions } from 'node:worker_threads';
import { startThread } from '../../src/workers/thread_entry.js';

/** A worker thread running a TypeScript module, started the one way src/ starts its threads. */
export function tsWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval' | 'env'> = {}): Worker {
  return startThread(moduleUrl, options);
}

/** The worker's next message; rejects if it fails or exits first, so a test fails instead of hanging. */
export function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`worker exited with code ${code} before answering`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: T) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      resolve(message);
    });
  });
}
