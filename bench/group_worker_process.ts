/**
 * One consumer-group worker as its own process, for bench:groups' kill -9: a GroupWorker over
 * the WebSocket at the KCL's default timings (or GROUP_FAILOVER_MS) in group GROUP_NAME on
 * GROUP_STREAM at GROUP_URL, checkpointing after every batch. It prints "HELD <n>" each time
 * the number of leases it holds changes, so the bench sees it take its share without asking
 * the server.
 */
import { GroupWorker, connect, overWebSocket } from '../src/client/node.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const client = await connect(env('GROUP_URL'));
const worker = new GroupWorker({
  groupName: env('GROUP_NAME'),
  ...overWebSocket(client, env('GROUP_NAME'), env('GROUP_STREAM')),
  initialPosition: 'TRIM_HORIZON',
  failoverTimeMillis: Number(process.env['GROUP_FAILOVER_MS'] ?? '10000'),
  processor: () => ({
    initialize: () => undefined,
    processRecords: ({ checkpointer }) => checkpointer.checkpoint(),
    leaseLost: () => undefined,
    shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
    shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
  }),
});
let held = -1;
setInterval(() => {
  if (worker.heldShards.length === held) return;
  held = worker.heldShards.length;
  console.log(`HELD ${held}`);
}, 10);
await worker.start();
