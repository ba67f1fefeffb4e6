import { createRequire } from 'node:module';

/**
 * The native addons (built by `npm install` through node-gyp): the system calls Node does not
 * expose. Two modules, one face: the mappings (src/native/mapping.cc, on V8's own API so that
 * the heap does not count mapped files as its memory) and the rest (src/native/addon.cc,
 * Node-API). Only src/index/mapped_file.ts maps files; src/native/md5_keys.ts hashes partition
 * keys with md5Many.
 */
export interface Native {
  /** Maps bytes [0, lengthBytes) of the file, shared; the length may exceed the file size. */
  map(fd: number, lengthBytes: number, writable: boolean): ArrayBuffer;
  /** Unmaps and detaches: every view of the buffer becomes empty and throws on access. */
  unmap(mapping: ArrayBuffer): void;
  msync(mapping: ArrayBuffer, offsetBytes: number, lengthBytes: number, synchronous: boolean): void;
  madvise(mapping: ArrayBuffer, offsetBytes: number, lengthBytes: number, advice: number): void;
  /** Allocates blocks for [offsetBytes, offsetBytes + lengthBytes) and extends the file size. */
  fallocate(fd: number, offsetBytes: number, lengthBytes: number): void;
  /**
   * MD5 of each key bytes[starts[i], ends[i]), in one call, read big-endian as a 128-bit number
   * and written as four u32 words, most significant first, to out[4 i .. 4 i + 3].
   */
  md5Many(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array, out: Uint32Array): void;
  readonly pageBytes: number;
  readonly advice: {
    readonly NORMAL: number;
    readonly RANDOM: number;
    readonly SEQUENTIAL: number;
    readonly WILLNEED: number;
    readonly DONTNEED: number;
  };
}

// The path is the same from src/native/ (tests) and dist/native/ (the built package).
const require = createRequire(import.meta.url);
export const native = {
  ...(require('../../build/Release/shardline_native.node') as object),
  ...(require('../../build/Release/shardline_mapping.node') as object),
} as Native;
