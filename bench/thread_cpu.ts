/*
 * CPU time per thread of this process, from /proc/self/task (Linux): the engine's I/O thread is
 * the process's main thread (its tid is the pid); the shard workers are the busiest of the
 * others over a phase (Node names no thread, so a worker is known by its work); what is left is
 * V8's and libuv's helpers (GC, the thread pool). Resolution: the kernel's clock tick (10 ms).
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

/** Each thread's user + system CPU seconds so far. */
export function threadCpuSeconds(): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended between the listing and the read
    }
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
  }
  return threads;
}

export interface PhaseCpu {
  /** The main (I/O) thread's CPU seconds. */
  readonly main: number;
  /** The `workers` busiest other threads, busiest first. */
  readonly workers: readonly number[];
  /** Every other thread together. */
  readonly other: number;
}

/** The CPU each thread spent between two readings, `workers` of them counted as shard workers. */
export function phaseCpu(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, workers: number): PhaseCpu {
  const spent = [...after].map(([tid, seconds]) => [tid, seconds - (before.get(tid) ?? 0)] as const);
  const main = spent.find(([tid]) => tid === process.pid)?.[1] ?? 0;
  const others = spent
    .filter(([tid]) => tid !== process.pid)
    .map(([, seconds]) => seconds)
    .sort((a, b) => b - a);
  return { main, workers: others.slice(0, workers), other: others.slice(workers).reduce((sum, seconds) => sum + seconds, 0) };
}
