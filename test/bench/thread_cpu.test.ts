import { describe, expect, it } from 'vitest';
import { phaseCpu, threadCpuSeconds } from '../../bench/thread_cpu.js';

// Goal: bench:engine's cost model reads each thread's CPU: this process's threads are found
// (the main thread among them, by the pid), and a phase's CPU is split into the main thread's,
// the busiest others' (the workers) and the rest's. Method: /proc of this process, and readings
// made by hand.

describe('CPU per thread', () => {
  it("reads this process's threads, the main one among them", () => {
    const threads = threadCpuSeconds();
    expect(threads.has(process.pid)).toBe(true);
    for (const seconds of threads.values()) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it("splits a phase into the main thread's, the busiest others' and the rest", () => {
    const before = new Map([
      [process.pid, 1],
      [11, 5],
      [12, 0],
      [13, 0.5],
    ]);
    const after = new Map([
      [process.pid, 3],
      [11, 5.25],
      [12, 4],
      [13, 1.5],
      [14, 0.5],
    ]);
    expect(phaseCpu(before, after, 2)).toEqual({ main: 2, workers: [4, 1], other: 0.75 });
  });
});
