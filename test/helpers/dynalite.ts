import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { afterAll, beforeAll } from 'vitest';

/**
 * A test file's DynamoDB: dynalite (an emulator from npm, in memory) on 127.0.0.1 and a free
 * port, started before the file's tests, stopped after them. Tables are ACTIVE at once.
 */
export function useDynalite(started: (endpoint: string) => void): void {
  let server: Server | undefined;
  beforeAll(async () => {
    const start = createRequire(import.meta.url)('dynalite') as (options: object) => Server;
    server = start({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('dynalite is not on a TCP port');
    started(`http://127.0.0.1:${address.port}`);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });
}

/** Any credentials do for dynalite; the SDK insists on some. */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
