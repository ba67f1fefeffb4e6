import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentException } from '../errors.js';
import { syncDirectory, writeFileDurably } from '../log/durable_file.js';
import { TMP_SUFFIX } from '../log/file_names.js';

/** Where documents live in the data directory (docs/FORMAT.md). */
export const DOCUMENTS_DIR = 'documents';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** A document is rewritten whole on every change: bounded so that a write stays a few milliseconds. */
export const DOCUMENT_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Small named files the family keeps through the engine (a consumer group's leases, a trigger's
 * positions), each replaced atomically and durably: a write resolves once the new content is on
 * disk, and a crash at any point leaves the old content or the new, never a mix. One write per
 * document at a time is the caller's to keep (a write replaces whatever the file holds).
 */
export class Documents {
  private readonly dir: string;
  private prepared = false;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, DOCUMENTS_DIR);
  }

  /** The document's bytes, or null if there is none. */
  read(name: string): Buffer | null {
    try {
      return fs.readFileSync(path.join(this.dir, checkName(name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** The names of the documents starting with `prefix`. */
  list(prefix = ''): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((name) => name.startsWith(prefix) && !name.endsWith(TMP_SUFFIX))
      .sort();
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    checkName(name);
    if (bytes.byteLength > DOCUMENT_BYTES_MAX)
      throw new InvalidArgumentException(`document ${name} is ${bytes.byteLength} bytes: at most ${DOCUMENT_BYTES_MAX}`);
    await this.prepare();
    await writeFileDurably(this.dir, name, bytes);
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    try {
      await fs.promises.unlink(path.join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await syncDirectory(this.dir);
  }

  /** The directory, made durable itself the first time (its entry in the data directory). */
  private async prepare(): Promise<void> {
    if (this.prepared) return;
    if (!fs.existsSync(this.dir)) {
      await fs.promises.mkdir(this.dir, { recursive: true });
      await syncDirectory(path.dirname(this.dir));
    }
    this.prepared = true;
  }
}

function checkName(name: string): string {
  if (!NAME.test(name) || name.endsWith(TMP_SUFFIX))
    throw new InvalidArgumentException(`document name ${JSON.stringify(name)}: 1 to 200 of A-Z a-z 0-9 . _ -, not starting with . _ -`);
  return name;
}
