import fs from 'node:fs/promises';

/**
 * fsync of a directory, so the names created or renamed in it are durable: for modules the CLI
 * loads (the audit log, the key store), which must not load the native storage of
 * src/log/durable_file.ts.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
