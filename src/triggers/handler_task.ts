import { pathToFileURL } from 'node:url';

/*
 * A module handler's invocation on a piscina thread (functions.ts): imports the module (once per
 * thread), calls the export with the event and a Lambda-like context, and returns its answer.
 * Handlers written for Lambda work in both of its styles: async (a promise) and callback.
 */

export interface HandlerTask {
  /** A path or file:// URL of an ES module (or CommonJS). */
  readonly module: string;
  readonly exportName: string;
  readonly event: unknown;
  readonly functionName: string;
  readonly requestId: string;
  readonly deadlineMs: number;
}

type Handler = (event: unknown, context: unknown, callback?: (error: unknown, result?: unknown) => void) => unknown;

export default async function invokeHandler(task: HandlerTask): Promise<unknown> {
  const url = task.module.startsWith('file:') ? task.module : pathToFileURL(task.module).href;
  const loaded = (await import(url)) as Record<string, unknown>;
  const handler = loaded[task.exportName];
  if (typeof handler !== 'function') throw new Error(`${task.module} has no function export ${task.exportName}`);
  const context = {
    functionName: task.functionName,
    awsRequestId: task.requestId,
    getRemainingTimeInMillis: () => Math.max(0, task.deadlineMs - Date.now()),
    callbackWaitsForEmptyEventLoop: false,
  };
  const fn = handler as Handler;
  if (fn.length >= 3)
    return new Promise((resolve, reject) => {
      fn(task.event, context, (error, result) => (error === null || error === undefined ? resolve(result) : reject(error)));
    });
  return await fn(task.event, context);
}
