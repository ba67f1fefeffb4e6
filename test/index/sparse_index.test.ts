import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OFFSET_ENTRY_BYTES, OffsetIndex } from '../../src/index/offset_index.js';
import { INDEX_STEP_BYTES } from '../../src/index/sparse_index.js';
import { TIME_ENTRY_BYTES, TimeIndex } from '../../src/index/time_index.js';
import { seededRandom, testSeed } from '../helpers/random.js';
import { tempDir } from '../helpers/temp_dir.js';

const MAX_ENTRIES = 50_000;

function openOffsetIndex(file: string, trusted = false): OffsetIndex {
  return OffsetIndex.open(file, MAX_ENTRIES, trusted, true)!;
}

describe('OffsetIndex', () => {
  it('lookup below the first entry starts at the segment start', () => {
    const index = openOffsetIndex(path.join(tempDir(), 'a.index'));
    index.append(10, 4096);
    expect(index.lookup(5)).toEqual({ relativeOffset: 0, position: 0 });
    expect(index.lookup(10)).toEqual({ relativeOffset: 10, position: 4096 });
    expect(index.lookup(1_000_000)).toEqual({ relativeOffset: 10, position: 4096 });
    index.close();
  });

  it('grows its file from a page, doubling up to steps of INDEX_STEP_BYTES, trims to its entries when sealed, and reopens trusted', () => {
    const file = path.join(tempDir(), 'a.index');
    const index = openOffsetIndex(file);
    for (let i = 1; i <= 3; i++) index.append(i * 10, i * 5000);
    expect(fs.statSync(file).size).toBe(4096);
    const sizes = new Set<number>();
    for (let i = 4; i <= 20_000; i++) {
      index.append(i * 10, i * 5000);
      sizes.add(fs.statSync(file).size);
    }
    // 20,000 entries of 8 bytes: 4 KiB doubled to 64 KiB, then 64 KiB steps up to 192 KiB.
    expect([...sizes]).toEqual([4096, 8192, 16_384, 32_768, INDEX_STEP_BYTES, 2 * INDEX_STEP_BYTES, 3 * INDEX_STEP_BYTES]);
    index.seal();
    index.close();
    expect(fs.statSync(file).size).toBe(20_000 * OFFSET_ENTRY_BYTES);
    const reopened = openOffsetIndex(file, true);
    expect(reopened.entryCount).toBe(20_000);
    expect(reopened.isConsistent(20_000 * 5000 + 1)).toBe(true);
    expect(reopened.isConsistent(20_000 * 5000 - 1)).toBe(false); // last entry past the segment end
    reopened.close();
  });

  it('refuses a trusted file that is not whole entries', () => {
    const file = path.join(tempDir(), 'a.index');
    fs.writeFileSync(file, Buffer.alloc(OFFSET_ENTRY_BYTES + 3));
    expect(OffsetIndex.open(file, MAX_ENTRIES, true, true)).toBeNull();
  });

  it('finds decreasing entries inconsistent', () => {
    const file = path.join(tempDir(), 'a.index');
    const bytes = Buffer.alloc(2 * OFFSET_ENTRY_BYTES);
    bytes.writeUInt32LE(10, 0);
    bytes.writeUInt32LE(100, 4);
    bytes.writeUInt32LE(5, 8);
    bytes.writeUInt32LE(200, 12);
    fs.writeFileSync(file, bytes);
    const index = openOffsetIndex(file, true);
    expect(index.isConsistent(1000)).toBe(false);
    index.close();
  });

  it('agrees with a sorted-array oracle on random entries and lookups (warm and cold sections)', () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const index = openOffsetIndex(path.join(tempDir(), 'a.index'));
    const oracle: Array<[number, number]> = [];
    let offset = 0;
    let position = 0;
    const count = 5000 + Math.floor(random() * 5000);
    for (let i = 0; i < count; i++) {
      offset += 1 + Math.floor(random() * 100);
      position += 1 + Math.floor(random() * 10_000);
      index.append(offset, position);
      oracle.push([offset, position]);
    }
    for (let i = 0; i < 20_000; i++) {
      const target = Math.floor(random() * (offset + 200));
      let expected = { relativeOffset: 0, position: 0 };
      for (const [o, p] of oracle) if (o <= target) expected = { relativeOffset: o, position: p };
      expect(index.lookup(target), `seed ${seed}, target ${target}`).toEqual(expected);
    }
    index.close();
  });
});

describe('TimeIndex', () => {
  it('adds an entry only when the timestamp moved on', () => {
    const index = TimeIndex.open(path.join(tempDir(), 'a.timeindex'), MAX_ENTRIES, false, true)!;
    index.maybeAppend(1000, 1);
    index.maybeAppend(1000, 2);
    index.maybeAppend(999, 3);
    index.maybeAppend(2 ** 40, 4);
    expect(index.entryCount).toBe(2);
    expect(index.entry(1)).toEqual({ timestampMs: 2 ** 40, relativeOffset: 4 });
    index.close();
  });

  it('lookup gives the last entry strictly before the time, or the segment start', () => {
    const index = TimeIndex.open(path.join(tempDir(), 'a.timeindex'), MAX_ENTRIES, false, true)!;
    index.maybeAppend(100, 10);
    index.maybeAppend(200, 20);
    expect(index.lookup(50)).toBe(0);
    expect(index.lookup(100)).toBe(0);
    expect(index.lookup(101)).toBe(10);
    expect(index.lookup(200)).toBe(10);
    expect(index.lookup(10_000)).toBe(20);
    index.close();
  });

  it('agrees with an oracle on random timestamps and survives seal and trusted reopen', () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const file = path.join(tempDir(), 'a.timeindex');
    const index = TimeIndex.open(file, MAX_ENTRIES, false, true)!;
    const oracle: Array<[number, number]> = [];
    let time = 1_700_000_000_000;
    for (let i = 1; i <= 3000; i++) {
      time += Math.floor(random() * 3);
      const before = index.entryCount;
      index.maybeAppend(time, i);
      if (index.entryCount > before) oracle.push([time, i]);
    }
    index.seal();
    index.close();
    expect(fs.statSync(file).size).toBe(oracle.length * TIME_ENTRY_BYTES);
    const reopened = TimeIndex.open(file, MAX_ENTRIES, true, false)!;
    expect(reopened.isConsistent(3001)).toBe(true);
    for (let i = 0; i < 5000; i++) {
      const target = 1_700_000_000_000 + Math.floor(random() * (time - 1_700_000_000_000 + 10));
      let expected = 0;
      for (const [t, o] of oracle) if (t < target) expected = o;
      expect(reopened.lookup(target), `seed ${seed}, target ${target}`).toBe(expected);
    }
    reopened.close();
  });
});
