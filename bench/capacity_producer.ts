/**
 * One producer process of bench:capacity (bench/capacity_bench.ts): the client's Producer at
 * max rate (rateLimit off: the server runs with limits off), records of RECORD_BYTES into
 * STREAM on SERVER_URL, IN_FLIGHT records at most in flight. Driven over IPC by its parent:
 *   -> { type: 'ready' } once connected;
 *   <- 'go': starts putting;
 *   <- 'mark': -> { type: 'mark', acknowledged } (records acknowledged so far), the counts the
 *      parent takes at the start and the end of its measured window;
 *   <- 'stop': stops putting, flushes, -> { type: 'done', acknowledged, failed, firstError }, exits.
 */
import { Producer, connect } from '../src/client/node.js';
import { envNumber, patternBytes, yieldToLoop } from './bench_common.js';

/** Distinct partition keys a producer cycles through (each process its own), spread over the shards. */
const PARTITION_KEYS = 10_000;
/** Puts between two turns of the event loop: acks, and the parent's messages, come in meanwhile. */
const YIELD_EVERY = 256;

export type ParentMessage = { readonly type: 'go' } | { readonly type: 'mark' } | { readonly type: 'stop' };
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'mark'; readonly acknowledged: number }
  | { readonly type: 'done'; readonly acknowledged: number; readonly failed: number; readonly firstError: string | null };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (error) => (error === null ? resolve() : reject(error))));
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('capacity_producer.ts runs as a child of bench/capacity_bench.ts, with an IPC channel');
  const url = process.env.SERVER_URL!;
  const streamName = process.env.STREAM!;
  const index = Math.round(envNumber('PRODUCER_INDEX', 0, 0, 1000));
  const recordBytes = Math.round(envNumber('RECORD_BYTES', 100, 1, 1_000_000));
  const inFlight = Math.round(envNumber('IN_FLIGHT', 50_000, 1, 10_000_000));

  const client = await connect(url, { clientName: `capacity-producer-${index}` });
  const producer = new Producer(client, { lingerMs: 2, maxBatchBytes: 1024 * 1024, maxRecordsInFlight: inFlight, rateLimit: false });
  const data = patternBytes(recordBytes);
  const partitionKeys = Array.from({ length: PARTITION_KEYS }, (_, i) => `p${index}-${i}`);
  let acknowledged = 0;
  let failed = 0;
  let firstError: string | null = null;
  const count = (): void => {
    acknowledged++;
  };
  const fail = (error: unknown): void => {
    failed++;
    firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  };

  let go!: () => void;
  const started = new Promise<void>((resolve) => (go = resolve));
  let stopping = false;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'go') go();
    else if (message.type === 'mark') void send({ type: 'mark', acknowledged });
    else if (message.type === 'stop') {
      stopping = true;
      go(); // a stop before go: nothing put, nothing to wait for
    }
  });
  await send({ type: 'ready' });
  await started;

  for (let i = 0; !stopping; i++) {
    if (!producer.writable) await producer.drain();
    void producer.put({ streamName, partitionKey: partitionKeys[i % PARTITION_KEYS]!, data }).then(count, fail);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  await producer.flush();
  await send({ type: 'done', acknowledged, failed, firstError });
  client.close();
  process.disconnect();
}

await main();
