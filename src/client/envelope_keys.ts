import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentException } from '../errors.js';
import { keyProvider, type CipherBackend, type KeyProvider } from './envelope.js';
import { AES_KEY_BYTES } from './envelope_cipher.js';
import { nodeCipherBackend } from './envelope_node.js';

/*
 * Local key files for envelope encryption (docs/FORMAT.md, "Client-side envelope encryption"):
 * JSON `{"keyId": "...", "key": "<base64 of 32 bytes>"}`, mode 0600. Node only.
 */

interface KeyFile {
  readonly keyId: string;
  readonly key: string;
}

/** The key provider of the key file at `file`. */
export async function localKeyProvider(file: string, backend: CipherBackend = nodeCipherBackend): Promise<KeyProvider> {
  const { keyId, key } = parseKeyFile(file, await fs.readFile(file, 'utf8'));
  try {
    return keyProvider(keyId, key, backend);
  } catch (error) {
    throw new InvalidArgumentException(`key file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes a new key file with a fresh random key, readable by its owner only, and returns its
 * provider. It never replaces an existing file: that would lose every record sealed under the
 * old key. It is on disk (fsynced, with its directory) before any record can be sealed under it.
 */
export async function createKeyFile(
  file: string,
  keyId = `local-${randomBytes(8).toString('hex')}`,
  backend: CipherBackend = nodeCipherBackend,
): Promise<KeyProvider> {
  const key = randomBytes(AES_KEY_BYTES);
  const provider = keyProvider(keyId, key, backend);
  const contents: KeyFile = { keyId, key: key.toString('base64') };
  await writeNewFile(file, `${JSON.stringify(contents)}\n`, 0o600);
  return provider;
}

/** Creates `file` (failing if it exists), and fsyncs it and its directory. */
async function writeNewFile(file: string, text: string, mode: number): Promise<void> {
  const handle = await fs.open(file, 'wx', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const directory = await fs.open(path.dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function parseKeyFile(file: string, text: string): { keyId: string; key: Uint8Array } {
  let parsed: Partial<Record<keyof KeyFile, unknown>>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new InvalidArgumentException(`key file ${file} is not JSON`, { cause: error });
  }
  const { keyId, key } = parsed ?? {};
  if (typeof keyId !== 'string' || typeof key !== 'string') {
    throw new InvalidArgumentException(`key file ${file} must hold {"keyId": "...", "key": "<base64 of 32 bytes>"}`);
  }
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== AES_KEY_BYTES || bytes.toString('base64') !== key) {
    throw new InvalidArgumentException(`key file ${file}: its key must be the base64 of 32 bytes`);
  }
  return { keyId, key: bytes };
}
