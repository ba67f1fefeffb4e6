import fs from 'node:fs';
import path from 'node:path';

/** Whether any file under `dir` holds `text`'s bytes: how the encryption tests look for plaintext on disk. */
export function filesContain(dir: string, text: string): boolean {
  const needle = Buffer.from(text);
  const walk = (at: string): boolean =>
    fs.readdirSync(at, { withFileTypes: true }).some((entry) => {
      const full = path.join(at, entry.name);
      return entry.isDirectory() ? walk(full) : fs.readFileSync(full).includes(needle);
    });
  return walk(dir);
}
