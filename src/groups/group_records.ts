import type { KinesisClientRecord, ShardRecordProcessor } from './processor.js';
import { GroupWorker, type GroupWorkerOptions } from './worker.js';

export interface GroupRecord extends KinesisClientRecord {
  readonly shardId: string;
}

interface Batch {
  readonly shardId: string;
  readonly records: readonly KinesisClientRecord[];
  /** Records of the batch the loop has finished with (asked for the one after). */
  done: number;
  settle(): void;
}

/**
 * The consumer group as one async iteration of records, for the simple case: the records of the
 * shards this worker holds, in order per shard. A record counts as processed once the loop asks
 * for the next one; each shard's checkpoint follows what was processed after every batch, at a
 * shard's end, and when the lease is handed over. Leaving the loop shuts the worker down
 * gracefully (the record in hand when it left is delivered again later: at least once).
 */
export async function* groupRecords(options: Omit<GroupWorkerOptions, 'processor'>): AsyncGenerator<GroupRecord> {
  const queue: Batch[] = [];
  let wake: (() => void) | null = null;
  const worker = new GroupWorker({ ...options, processor: () => queueingProcessor(queue, () => wake?.()) });
  await worker.start();
  let current: Batch | null = null;
  try {
    for (;;) {
      const batch = queue[0];
      if (batch === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      current = batch;
      for (const record of batch.records) {
        yield { ...record, shardId: batch.shardId };
        batch.done++;
      }
      current = null;
      queue.shift();
      batch.settle();
    }
  } finally {
    if (current !== null) current.settle();
    for (const batch of queue) batch.settle();
    await worker.shutdown();
  }
}

/** A shard's processor that hands each batch to the iteration and checkpoints what it finished. */
function queueingProcessor(queue: Batch[], notify: () => void): ShardRecordProcessor {
  let shardId = '';
  let last: KinesisClientRecord | null = null;
  return {
    initialize: (input) => void (shardId = input.shardId),
    processRecords: async ({ records, checkpointer }) => {
      if (records.length === 0) return;
      const batch = await new Promise<Batch>((resolve) => {
        const entry: Batch = { shardId, records, done: 0, settle: () => resolve(entry) };
        queue.push(entry);
        notify();
      });
      if (batch.done > 0) {
        last = records[batch.done - 1]!;
        await checkpointer.checkpoint(last);
      }
    },
    leaseLost: () => undefined,
    shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
    shutdownRequested: async ({ checkpointer }) => {
      if (last !== null) await checkpointer.checkpoint(last);
    },
  };
}
