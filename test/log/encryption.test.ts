import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptLogError } from '../../src/errors.js';
import { ENCRYPTION_OVERHEAD_BYTES } from '../../src/log/batch_cipher.js';
import { Log } from '../../src/log/log.js';
import type { LogOptions } from '../../src/log/log_config.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a log's batches encrypted at rest (docs/FORMAT.md, "Encrypted batches"): no plaintext
// of a record on disk, records read back with the data keys (old ones too after a key change,
// and plaintext batches beside encrypted ones), a wrong key, a missing one or a changed byte is
// CorruptLog and never garbage, and recovery after an unclean stop keeps the encrypted batches
// before a torn one without any key. Method: real logs in temporary directories; the unclean
// stop is a copy of the files taken while the log is open, with its last batch cut short.

const OPTIONS: Partial<LogOptions> = { checkpointIntervalMs: 600_000, retentionCheckIntervalMs: 0, fsync: 'never' };
const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
const keys = (number: number): Uint8Array | undefined => (number === 1 ? KEY_1 : number === 2 ? KEY_2 : undefined);

const open: Log[] = [];
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
});

async function openLog(dir: string, options: Partial<LogOptions> = {}): Promise<Log> {
  const log = await Log.open(dir, { ...OPTIONS, dataKeys: keys, ...options });
  open.push(log);
  return log;
}

const records = (tag: string, count = 3) =>
  Array.from({ length: count }, (_, i) => ({ partitionKey: `key-${tag}-${i}`, data: Buffer.from(`secret-${tag}-${i}`) }));

function segmentBytes(dir: string): Buffer {
  return Buffer.concat(
    fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .map((name) => fs.readFileSync(path.join(dir, name))),
  );
}

describe('encrypted batches', () => {
  it('leaves no plaintext on disk and reads back across a key change and plaintext batches', async () => {
    const dir = tempDir();
    const log = await openLog(dir);
    await log.append(records('plain'));
    log.setEncryption({ number: 1, key: KEY_1 });
    const first = await log.append(records('one'));
    log.setEncryption({ number: 2, key: KEY_2 });
    await log.append(records('two'));
    await log.flush();
    const bytes = segmentBytes(dir);
    expect(bytes.includes('secret-plain-0')).toBe(true);
    for (const text of ['secret-one', 'key-one', 'secret-two', 'key-two']) expect(bytes.includes(text), text).toBe(false);
    const read = log.readRecords(0, 100);
    expect(read.records.map((record) => Buffer.from(record.data).toString())).toEqual(
      ['plain', 'one', 'two'].flatMap((tag) => records(tag).map((record) => record.data.toString())),
    );
    expect(read.records[first.baseOffset]!.partitionKey).toBe('key-one-0');
  });

  it('refuses to read without the key, with a wrong one, or after a changed byte', async () => {
    const dir = tempDir();
    const log = await openLog(dir, { encryption: { number: 1, key: KEY_1 } });
    const { baseOffset } = await log.append(records('one'));
    await log.close();
    open.splice(0);
    const withoutKeys = await openLog(dir, { dataKeys: null });
    expect(() => withoutKeys.readRecords(0, 10)).toThrow(CorruptLogError);
    expect(() => withoutKeys.readRecords(0, 10)).toThrow(/no data key 1/);
    await withoutKeys.close();
    open.splice(0);
    const wrongKey = await openLog(dir, { dataKeys: () => KEY_2 });
    expect(() => wrongKey.readRecords(0, 10)).toThrow(/does not open with data key 1/);
    const position = wrongKey.lookup(baseOffset).positionBytes;
    await wrongKey.close();
    open.splice(0);
    // A byte of ciphertext changed, and the checksum made to match: only the tag can tell.
    const segment = path.join(dir, '00000000000000000000.log');
    const file = fs.readFileSync(segment);
    file[position + 60] = file[position + 60]! ^ 0xff;
    const { checksum } = await import('../../src/log/checksum.js');
    const length = file.readUInt32LE(position + 8);
    file.writeBigUInt64LE(checksum(file.subarray(position + 8, position + length)), position);
    fs.writeFileSync(segment, file);
    const changed = await openLog(dir);
    expect(() => changed.readRecords(0, 10)).toThrow(/does not open with data key 1/);
  });

  it('recovers after an unclean stop: the encrypted batches before a torn one, without any key', async () => {
    const dir = tempDir();
    const first = await openLog(dir, { encryption: { number: 1, key: KEY_1 } });
    for (let i = 0; i < 3; i++) await first.append(records(`b${i}`));
    await first.close();
    open.splice(0);
    const second = await openLog(dir, { encryption: { number: 1, key: KEY_1 } });
    const { baseOffset } = await second.append(records('last'));
    const { positionBytes } = second.lookup(baseOffset);
    await second.flush();
    const copy = tempDir();
    for (const name of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, name), path.join(copy, name));
    const segment = path.join(copy, '00000000000000000000.log');
    const bytes = fs.readFileSync(segment);
    const length = bytes.readUInt32LE(positionBytes + 8);
    expect(length).toBeGreaterThan(40 + ENCRYPTION_OVERHEAD_BYTES);
    bytes.fill(0, positionBytes + length - 5, positionBytes + length);
    fs.writeFileSync(segment, bytes);
    const recovered = await openLog(copy, { dataKeys: null });
    expect(recovered.recovery.clean).toBe(false);
    expect(recovered.endOffset).toBe(baseOffset);
    await recovered.close();
    open.splice(open.indexOf(recovered), 1);
    const reading = await openLog(copy);
    expect(reading.readRecords(0, 100).records.map((record) => record.partitionKey)).toEqual(
      ['b0', 'b1', 'b2'].flatMap((tag) => records(tag).map((record) => record.partitionKey)),
    );
  });
});
