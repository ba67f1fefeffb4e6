import { OutputClosedError, OutputFailedError } from './errors.js';

/**
 * Writes a line to stdout and waits until it is written: a slow reader bounds what we buffer,
 * and a reader that left (EPIPE) stops the command at its next line, through its finally blocks.
 */
export function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${line}\n`, (error) => {
      if (error === null || error === undefined) resolve();
      else if ((error as NodeJS.ErrnoException).code === 'EPIPE') reject(new OutputClosedError('stdout was closed', { cause: error }));
      else reject(new OutputFailedError(`cannot write to stdout: ${error.message}`, { cause: error }));
    });
  });
}

/** Resolves on the first SIGINT or SIGTERM; while listening, neither kills the process. */
export function untilSignal(): { readonly signal: Promise<NodeJS.Signals>; dispose(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => (handler = resolve));
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
