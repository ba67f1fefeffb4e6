import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Piscina } from 'piscina';
import { InvalidParameterValueException } from '../errors.js';
import { moduleUrl, startTaskPool } from '../workers/thread_entry.js';
import type { HandlerTask } from './handler_task.js';
import type { KinesisEvent } from './kinesis_event.js';

/*
 * The functions triggers call (docs/TRIGGERS.md), by name: an ES module's export run on a
 * piscina thread (`./handlers/enrich.mjs#handler`; a thread per invocation in flight, its heap
 * bounded, killed at its timeout), an HTTP URL the event is POSTed to as JSON (a 2xx answer's
 * JSON body is the function's answer), or, embedded, a JavaScript function. A handler that
 * throws, hangs or runs out of memory fails its invocation only.
 */

export type Handler = (event: KinesisEvent, context: { functionName: string; awsRequestId: string }) => unknown;

export interface FunctionDefinition {
  /** `<module path>#<export>`, an http(s):// URL, or a JavaScript function (embedded). */
  readonly handler: string | Handler;
  /** Default 3 (Lambda's); 1 .. 900. */
  readonly timeoutSeconds?: number;
  /** A module handler's heap. Default 128 (Lambda's); 64 .. 10,240. */
  readonly memorySizeMb?: number;
}

export class FunctionTimeoutError extends Error {
  override readonly name = 'FunctionTimeout';
}

/** An invocation's failure as Lambda reports it: the function's own error (Unhandled). */
export class FunctionError extends Error {
  override readonly name = 'FunctionError';
}

export interface CallableFunction {
  readonly name: string;
  invoke(event: KinesisEvent): Promise<unknown>;
  close(): Promise<void>;
}

const TIMEOUT_DEFAULT_S = 3;
const MEMORY_DEFAULT_MB = 128;
const WARM_MS = 60_000;
const HANDLER_TASK = moduleUrl('./handler_task', import.meta.url);

export function callableFunction(name: string, definition: FunctionDefinition, baseDir = process.cwd()): CallableFunction {
  const timeoutMs = 1000 * rangeOf(definition.timeoutSeconds, TIMEOUT_DEFAULT_S, 1, 900, 'Timeout');
  const { handler } = definition;
  if (typeof handler === 'function') return embedded(name, handler, timeoutMs);
  if (/^https?:\/\//.test(handler)) return overHttp(name, handler, timeoutMs);
  const at = handler.lastIndexOf('#');
  if (at <= 0 || at === handler.length - 1)
    throw new InvalidParameterValueException(`handler ${handler} is <module>#<export> or an http(s) URL`);
  const memoryMb = rangeOf(definition.memorySizeMb, MEMORY_DEFAULT_MB, 64, 10_240, 'MemorySize');
  return inThreads(name, path.resolve(baseDir, handler.slice(0, at)), handler.slice(at + 1), timeoutMs, memoryMb);
}

function rangeOf(value: number | undefined, fallback: number, min: number, max: number, member: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min || resolved > max)
    throw new InvalidParameterValueException(`${member} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return resolved;
}

function timedOut(name: string, timeoutMs: number): FunctionTimeoutError {
  return new FunctionTimeoutError(`function ${name} timed out after ${timeoutMs / 1000} seconds`);
}

function embedded(name: string, handler: Handler, timeoutMs: number): CallableFunction {
  return {
    name,
    invoke: async (event) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut(name, timeoutMs)), timeoutMs)));
      try {
        return await Promise.race([
          Promise.resolve().then(() => handler(event, { functionName: name, awsRequestId: randomUUID() })),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => undefined,
  };
}

function overHttp(name: string, url: string, timeoutMs: number): CallableFunction {
  return {
    name,
    invoke: async (event) => {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        if ((error as Error).name === 'TimeoutError') throw timedOut(name, timeoutMs);
        throw new FunctionError(`function ${name} (${url}) could not be reached: ${(error as Error).message}`);
      }
      const text = await response.text();
      if (!response.ok) throw new FunctionError(`function ${name} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
      return text.trim() === '' ? null : (JSON.parse(text) as unknown);
    },
    close: async () => undefined,
  };
}

/**
 * A thread stays warm for a minute after its last invocation (as Lambda keeps an environment), so
 * a busy mapping does not start one per batch; a timed-out one is terminated by piscina's abort.
 */
function inThreads(name: string, module: string, exportName: string, timeoutMs: number, memoryMb: number): CallableFunction {
  let pool: Piscina | null = null;
  return {
    name,
    invoke: async (event) => {
      pool ??= startTaskPool(HANDLER_TASK, { maxThreads: 10, memoryMb, idleTimeoutMs: WARM_MS });
      const task: HandlerTask = {
        module,
        exportName,
        event,
        functionName: name,
        requestId: randomUUID(),
        deadlineMs: Date.now() + timeoutMs,
      };
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        return await pool.run(task, { signal });
      } catch (error) {
        if (signal.aborted) throw timedOut(name, timeoutMs);
        throw new FunctionError(`function ${name}: ${(error as Error).message}`);
      }
    },
    close: async () => {
      await pool?.destroy();
      pool = null;
    },
  };
}
