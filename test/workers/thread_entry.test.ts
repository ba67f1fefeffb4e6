import { describe, expect, it } from 'vitest';
import { moduleUrl, startTaskPool, startThread } from '../../src/workers/thread_entry.js';
import { nextMessage } from '../helpers/ts_worker.js';

// Goal: the one way src/ starts a thread runs a TypeScript module from the sources, both as a
// worker thread (with its workerData untouched) and as a piscina task, and names a module with
// its caller's extension. Method: real threads on small fixture modules.

describe('thread_entry', () => {
  it('names a module with the extension of the one asking', () => {
    expect(moduleUrl('./b', 'file:///x/a.ts').href).toBe('file:///x/b.ts');
    expect(moduleUrl('../w/b', 'file:///x/y/a.js').href).toBe('file:///x/w/b.js');
  });

  it('runs a .ts module as a worker thread, its workerData as given', async () => {
    const worker = startThread(new URL('./fixtures/echo_thread.ts', import.meta.url), { workerData: { n: 7 } });
    try {
      expect(await nextMessage(worker)).toEqual({ echoed: { n: 7 } });
    } finally {
      await worker.terminate();
    }
  });

  it("runs a .ts module's default export as a piscina task", async () => {
    const pool = startTaskPool(new URL('./fixtures/double_task.ts', import.meta.url), { maxThreads: 1 });
    try {
      expect(await Promise.all([pool.run(2), pool.run(21)])).toEqual([4, 42]);
    } finally {
      await pool.destroy();
    }
  });
});
