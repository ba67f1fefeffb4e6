import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvelopeEncryption } from '../../src/client/envelope.js';
import { createKeyFile, localKeyProvider } from '../../src/client/envelope_keys.js';
import { nodeCipherBackend } from '../../src/client/envelope_node.js';
import { webCipherBackend } from '../../src/client/envelope_web.js';
import { InvalidArgumentException } from '../../src/errors.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a key file is written as docs/FORMAT.md says (JSON, mode 0600, never over an existing
// one), and reading it back gives a provider that opens what the new key sealed; a file that is
// not a key file is refused naming it. Method: real files in a temp dir.

describe('envelope key files', () => {
  it('creates a key file readable by its owner only, and reads it back to open what it sealed', async () => {
    const file = path.join(tempDir(), 'shardline.key');

    const created = await createKeyFile(file, 'orders-key');
    const sealed = await new EnvelopeEncryption(created, { backend: nodeCipherBackend }).encrypt(new TextEncoder().encode('x'));
    const read = await localKeyProvider(file, webCipherBackend);

    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const contents = JSON.parse(fs.readFileSync(file, 'utf8')) as { keyId: string; key: string };
    expect([Object.keys(contents), contents.keyId, Buffer.from(contents.key, 'base64').length]).toEqual([
      ['keyId', 'key'],
      'orders-key',
      32,
    ]);
    expect(read.keyId).toBe('orders-key');
    expect(Buffer.from(await new EnvelopeEncryption(read).decrypt(sealed)).toString()).toBe('x');
  });

  it('gives a fresh key a random id, and never writes over an existing key file', async () => {
    const file = path.join(tempDir(), 'shardline.key');
    const first = await createKeyFile(file);
    const before = fs.readFileSync(file, 'utf8');

    await expect(createKeyFile(file)).rejects.toMatchObject({ code: 'EEXIST' });

    expect(first.keyId).toMatch(/^local-[0-9a-f]{16}$/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses a file that is not a key file, naming it', async () => {
    const dir = tempDir();
    const cases = {
      'not-json': 'keyId=x',
      'no-key': '{"keyId": "k1"}',
      'short-key': JSON.stringify({ keyId: 'k1', key: Buffer.alloc(31).toString('base64') }),
      'empty-id': JSON.stringify({ keyId: '', key: Buffer.alloc(32).toString('base64') }),
    };
    const messages: string[] = [];
    for (const [name, contents] of Object.entries(cases)) {
      fs.writeFileSync(path.join(dir, name), contents);
      const error: unknown = await localKeyProvider(path.join(dir, name)).catch((error: unknown) => error);
      expect(error, name).toBeInstanceOf(InvalidArgumentException);
      messages.push((error as Error).message.replace(dir, '<dir>'));
    }

    expect(messages).toEqual([
      'key file <dir>/not-json is not JSON',
      'key file <dir>/no-key must hold {"keyId": "...", "key": "<base64 of 32 bytes>"}',
      'key file <dir>/short-key: its key must be the base64 of 32 bytes',
      'key file <dir>/empty-id: a key id must be 1 to 255 bytes of UTF-8, got 0',
    ]);
  });
});
