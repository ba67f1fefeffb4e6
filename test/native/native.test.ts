import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/native.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the addon's calls do what the log relies on. Method: real files in a temp directory.
describe('native addon', () => {
  function fileWith(bytes: Buffer): { file: string; fd: number } {
    const file = path.join(tempDir(), 'f.bin');
    fs.writeFileSync(file, bytes);
    return { file, fd: fs.openSync(file, 'r+') };
  }

  it('maps a file so reads see its bytes and writes through a writable mapping reach it', () => {
    const { file, fd } = fileWith(Buffer.from('hello world'));
    const mapping = native.map(fd, native.pageBytes, true);
    const view = Buffer.from(mapping, 0, 11);
    expect(view.toString()).toBe('hello world');
    view.write('J', 0);
    native.msync(mapping, 0, native.pageBytes, true);
    expect(fs.readFileSync(file).toString()).toBe('Jello world');
    native.unmap(mapping);
    fs.closeSync(fd);
  });

  it('sees bytes written with write(2) after mapping, past the size at map time', () => {
    const { fd } = fileWith(Buffer.alloc(0));
    const mapping = native.map(fd, 1 << 20, false);
    native.fallocate(fd, 0, 8192);
    fs.writeSync(fd, Buffer.from('late'), 0, 4, 5000);
    expect(Buffer.from(mapping, 5000, 4).toString()).toBe('late');
    native.unmap(mapping);
    fs.closeSync(fd);
  });

  it('detaches on unmap so stale views throw instead of touching freed memory', () => {
    const { fd } = fileWith(Buffer.alloc(4096, 7));
    const mapping = native.map(fd, 4096, false);
    const view = Buffer.from(mapping);
    native.unmap(mapping);
    expect(mapping.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(() => view.readUInt32LE(0)).toThrow(RangeError);
    expect(() => native.unmap(mapping)).not.toThrow();
    fs.closeSync(fd);
  });

  it('fallocate extends the file size and reports errors with their errno code', () => {
    const { fd } = fileWith(Buffer.alloc(10));
    native.fallocate(fd, 10, 100_000);
    expect(fs.fstatSync(fd).size).toBe(100_010);
    fs.closeSync(fd);
    expect(() => native.fallocate(fd, 0, 10)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fallocate' }));
  });

  it('rejects bad arguments with TypeErrors and unaligned ranges with RangeErrors', () => {
    const { fd } = fileWith(Buffer.alloc(8192));
    expect(() => native.map(fd, 0, false)).toThrow(TypeError);
    expect(() => native.map(-1 as number, 10, false)).toThrow(TypeError);
    const mapping = native.map(fd, 8192, false);
    expect(() => native.msync(mapping, 1, 10, true)).toThrow(RangeError);
    expect(() => native.madvise(mapping, 0, 8193, native.advice.WILLNEED)).toThrow(RangeError);
    native.madvise(mapping, 0, 8192, native.advice.SEQUENTIAL);
    native.unmap(mapping);
    fs.closeSync(fd);
  });

  it('unmaps a dropped mapping when the garbage collector frees it (a safety net, not the mechanism)', () => {
    // The log unmaps explicitly and bounds open segments: finalizers run too late to rely on
    // (a loop that drops mappings reaches vm.max_map_count before they run). This checks only
    // that a collected mapping does not leak. A child process, for --expose-gc.
    const addon = fileURLToPath(new URL('../../build/Release/shardline_mapping.node', import.meta.url));
    const script = `
      const native = require(${JSON.stringify(addon)});
      const fs = require('fs');
      const countMaps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length;
      const fd = fs.openSync(${JSON.stringify(fileWith(Buffer.alloc(4096)).file)}, 'r');
      const before = countMaps();
      (() => { for (let i = 0; i < 1000; i++) native.map(fd, 4096, false); })();
      const during = countMaps();
      gc(); gc();
      setTimeout(() => { gc(); setTimeout(() => console.log(JSON.stringify({ before, during, after: countMaps() })), 50); }, 50);`;
    const result = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const { before, during, after } = JSON.parse(result.stdout) as { before: number; during: number; after: number };
    expect(during - before).toBeGreaterThanOrEqual(900);
    expect(after - before).toBeLessThan(100);
  });

  it('does not count a mapping as memory of the heap, which would make V8 collect garbage as shards open', () => {
    const { fd } = fileWith(Buffer.alloc(4096));
    const before = v8.getHeapStatistics().external_memory;
    const mappings = Array.from({ length: 8 }, () => native.map(fd, 256 * 1024 * 1024, false));
    const grownBytes = v8.getHeapStatistics().external_memory - before;
    for (const mapping of mappings) native.unmap(mapping);
    fs.closeSync(fd);
    expect(grownBytes).toBeLessThan(1024 * 1024); // 2 GiB mapped
  });

  it("unmaps a worker's mappings when the worker exits without unmapping them", async () => {
    const file = fileWith(Buffer.alloc(4096)).file;
    // Only this file's mappings: a garbage collection on the main thread meanwhile may unmap
    // buffers earlier tests dropped, which would move a count of every mapping.
    const countMaps = (): number =>
      fs
        .readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .filter((line) => line.endsWith(file)).length;
    const addon = fileURLToPath(new URL('../../build/Release/shardline_mapping.node', import.meta.url));
    const before = countMaps();
    const worker = new Worker(
      `const { parentPort } = require('worker_threads'); const native = require(${JSON.stringify(addon)});
       const fd = require('fs').openSync(${JSON.stringify(file)}, 'r');
       globalThis.kept = Array.from({ length: 500 }, () => native.map(fd, 4096, false));
       parentPort.postMessage('mapped');`,
      { eval: true },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    const during = countMaps();
    await worker.terminate();
    expect(before).toBe(0);
    expect(during).toBe(500);
    expect(countMaps()).toBe(0);
  });
});
