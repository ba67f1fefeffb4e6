import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { realStorage, type Storage } from '../native/storage.js';
import { TMP_SUFFIX } from './file_names.js';

/**
 * Replaces `dir/name` with `bytes` so that a crash leaves either the old or the new file, never
 * a mix: write `name.tmp`, fsync it, rename it over `name`, fsync the directory.
 */
export async function writeFileDurably(dir: string, name: string, bytes: Uint8Array, storage: Storage = realStorage): Promise<void> {
  const target = path.join(dir, name);
  const tmp = target + TMP_SUFFIX;
  const handle = await fs.open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(bytes);
    await storage.fsync(handle.fd);
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, target);
  await syncDirectory(dir, storage);
}

/** Makes created, renamed and deleted names in `dir` durable. */
export async function syncDirectory(dir: string, storage: Storage = realStorage): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await storage.fsync(handle.fd);
  } finally {
    await handle.close();
  }
}

/** syncDirectory, blocking: for the rare spots (a roll) that must finish before going on. */
export function syncDirectorySync(dir: string, storage: Storage = realStorage): void {
  const fd = fsSync.openSync(dir, 'r');
  try {
    storage.fsyncSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}
