/**
 * Child process of bench/log_bench.ts's recovery phase.
 *
 * Usage: node --import tsx bench/log_bench_writer.ts <dir> <bytes>
 *
 * Opens the log in <dir> with fsync "never", appends batches of 500 x 2 KiB records until the
 * log holds at least <bytes>, prints "ready <endOffset> <sizeBytes>" on stdout and waits to be
 * killed. It never closes the log: the parent SIGKILLs it, so the log has no clean-shutdown
 * marker and the next open must recover. Progress goes to stderr; stdout carries only "ready".
 */
import { Log, type LogRecord } from '../src/index.js';

const RECORDS_PER_APPEND = 500;
const RECORD_DATA_BYTES = 2048;
/** Yield to the event loop this often, so that background seals and checkpoints run as in a server. */
const YIELD_EVERY_MS = 5;
const PROGRESS_EVERY_MS = 2000;
/** Never outlive a parent that failed to kill us. */
const WAIT_MS_MAX = 10 * 60 * 1000;
const TARGET_BYTES_MAX = 64 * 1024 ** 3;

function makeRecords(count: number, dataBytes: number): LogRecord[] {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (i * 131 + 7) & 0xff;
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `key-${i}`, data }));
}

async function appendUntil(log: Log, targetBytes: number): Promise<void> {
  const records = makeRecords(RECORDS_PER_APPEND, RECORD_DATA_BYTES);
  const appendsMax = Math.ceil(targetBytes / (RECORDS_PER_APPEND * RECORD_DATA_BYTES)) + 1;
  const start = performance.now();
  let lastYield = start;
  let nextProgress = start + PROGRESS_EVERY_MS;
  for (let i = 0; i < appendsMax && log.sizeBytes < targetBytes; i++) {
    await log.append(records);
    const now = performance.now();
    if (now - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (now >= nextProgress) {
      const mbPerSec = log.sizeBytes / 1e6 / ((now - start) / 1000);
      process.stderr.write(`  writer: ${(log.sizeBytes / 1e6).toFixed(0)} MB written, ${mbPerSec.toFixed(0)} MB/s\n`);
      nextProgress += PROGRESS_EVERY_MS;
    }
  }
}

async function main(): Promise<void> {
  const [dir, bytesArg] = process.argv.slice(2);
  const targetBytes = Number(bytesArg);
  if (dir === undefined || !Number.isSafeInteger(targetBytes) || targetBytes < 1 || targetBytes > TARGET_BYTES_MAX) {
    throw new Error('usage: log_bench_writer.ts <dir> <bytes>');
  }
  const log = await Log.open(dir, { fsync: 'never' });
  await appendUntil(log, targetBytes);
  process.stdout.write(`ready ${log.endOffset} ${log.sizeBytes}\n`);
  setTimeout(() => process.exit(2), WAIT_MS_MAX);
}

await main();
