/**
 * How late this machine wakes a sleeping thread: Atomics.wait of 1 ms in a loop for SECONDS
 * (default 5), counting wake-ups more than 4 ms late. On a VM whose vCPUs are descheduled under
 * load, this is the floor under every latency tail measured here; run it alone, then beside a
 * benchmark. Usage: npx tsx bench/sleep_jitter.ts [seconds]. Last line: one JSON object.
 */
import { round1 } from './bench_common.js';

const LATE_MS = 4;
const seconds = Number(process.argv[2] ?? 5);
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`seconds must be a positive number, got ${process.argv[2]}`);
const word = new Int32Array(new SharedArrayBuffer(4));
const late: number[] = [];
let wakeups = 0;
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  const start = performance.now();
  Atomics.wait(word, 0, 0, 1);
  wakeups++;
  const slept = performance.now() - start;
  if (slept > LATE_MS) late.push(slept);
}
late.sort((a, b) => b - a);
const result = {
  seconds,
  wakeups,
  lateOver4Ms: late.length,
  lateTotalMs: round1(late.reduce((sum, ms) => sum + ms, 0)),
  worstMs: late.slice(0, 5).map(round1),
};
console.log(
  `${wakeups} sleeps of 1 ms in ${seconds} s: ${late.length} woke more than ${LATE_MS} ms late (${result.lateTotalMs} ms in all), the worst ${result.worstMs.join(', ')} ms`,
);
console.log(JSON.stringify(result));
