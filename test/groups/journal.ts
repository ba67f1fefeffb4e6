import fs from 'node:fs';

/*
 * Reading the shared journal the worker processes write (fixtures/group_worker_process.ts) and
 * checking the consumer group's guarantees from it: the order of its lines is the order things
 * happened across all workers.
 */

export interface Processed {
  readonly at: number;
  readonly worker: string;
  readonly shard: string;
  readonly sequenceNumber: bigint;
  readonly key: string;
  readonly data: string;
}

export interface LeaseWrite {
  readonly at: number;
  readonly type: string;
  readonly shard: string;
  readonly counter: number;
  readonly worker: string;
}

export interface Checkpoint {
  readonly at: number;
  readonly worker: string;
  readonly shard: string;
  /** null: SHARD_END. */
  readonly sequenceNumber: bigint | null;
}

export interface Journal {
  readonly processed: Processed[];
  readonly leases: LeaseWrite[];
  readonly checkpoints: Checkpoint[];
}

export function readJournal(file: string): Journal {
  const journal: Journal = { processed: [], leases: [], checkpoints: [] };
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  lines.forEach((line, at) => {
    const [kind, ...fields] = line.split(' ');
    if (kind === 'P') {
      const [worker, shard, sequenceNumber, , key, data] = fields;
      journal.processed.push({ at, worker: worker!, shard: shard!, sequenceNumber: BigInt(sequenceNumber!), key: key!, data: data! });
    } else if (kind === 'L') {
      const [type, shard, counter, worker] = fields;
      journal.leases.push({ at, type: type!, shard: shard!, counter: Number(counter), worker: worker! });
    } else if (kind === 'C') {
      const [worker, shard, sequenceNumber] = fields;
      journal.checkpoints.push({
        at,
        worker: worker!,
        shard: shard!,
        sequenceNumber: sequenceNumber === 'SHARD_END' ? null : BigInt(sequenceNumber!),
      });
    }
  });
  return journal;
}

/** The records put that were never processed (their data strings). */
export function skipped(journal: Journal, put: Iterable<string>): string[] {
  const done = new Set(journal.processed.map((record) => record.data));
  return [...put].filter((data) => !done.has(data));
}

/**
 * Lease writes that another worker's write came between: a renew, release or end by W whose
 * preceding write (by counter) was not W's own could not have passed its condition, so any here
 * means two workers held the lease. Also counters written twice.
 */
export function leaseConflicts(journal: Journal): string[] {
  const conflicts: string[] = [];
  const byShard = new Map<string, LeaseWrite[]>();
  for (const write of journal.leases)
    if (write.type !== 'lost' && write.type !== 'created') byShard.set(write.shard, [...(byShard.get(write.shard) ?? []), write]);
  for (const [shard, writes] of byShard) {
    writes.sort((a, b) => a.counter - b.counter);
    for (let i = 1; i < writes.length; i++) {
      const [before, after] = [writes[i - 1]!, writes[i]!];
      if (before.counter === after.counter)
        conflicts.push(`${shard}: counter ${after.counter} written by ${before.worker} and ${after.worker}`);
      else if (after.type !== 'taken' && after.worker !== before.worker)
        conflicts.push(
          `${shard}: ${after.worker} ${after.type} at counter ${after.counter} after ${before.worker} ${before.type} at ${before.counter}`,
        );
    }
  }
  return conflicts;
}

/**
 * Records a worker processed at or below the checkpoint its lease had when it took it: a
 * duplicate is allowed only past the last checkpoint. (A checkpoint written just before a crash
 * may have no C line: the check is then more lenient, never stricter, than the truth.)
 */
export function processedBelowCheckpoint(journal: Journal): string[] {
  const problems: string[] = [];
  const checkpointAt = new Map<string, bigint | null>();
  const startedFrom = new Map<string, bigint | null>();
  const events = [
    ...journal.checkpoints.map((entry) => ({ at: entry.at, apply: () => checkpointAt.set(entry.shard, entry.sequenceNumber) })),
    ...journal.leases
      .filter((write) => write.type === 'taken')
      .map((write) => ({
        at: write.at,
        apply: () => startedFrom.set(`${write.worker} ${write.shard}`, checkpointAt.get(write.shard) ?? -1n),
      })),
    ...journal.processed.map((record) => ({
      at: record.at,
      apply: () => {
        const from = startedFrom.get(`${record.worker} ${record.shard}`);
        if (from !== undefined && from !== null && record.sequenceNumber <= from)
          problems.push(
            `${record.worker} processed ${record.data} (${record.shard} ${record.sequenceNumber}) at or below the checkpoint ${from} it took the lease at`,
          );
      },
    })),
  ];
  for (const event of events.sort((a, b) => a.at - b.at)) event.apply();
  return problems;
}

/** For each partition key, records of a child shard processed before the last of its parent's records: per-key order broken. */
export function childBeforeParent(journal: Journal, parentsOf: ReadonlyMap<string, readonly string[]>): string[] {
  const problems: string[] = [];
  const first = new Map<string, Processed>();
  for (const record of journal.processed) if (!first.has(record.data)) first.set(record.data, record);
  const lastOf = new Map<string, number>();
  for (const record of first.values())
    lastOf.set(`${record.key} ${record.shard}`, Math.max(lastOf.get(`${record.key} ${record.shard}`) ?? -1, record.at));
  for (const record of first.values())
    for (const parent of parentsOf.get(record.shard) ?? []) {
      const parentLast = lastOf.get(`${record.key} ${parent}`);
      if (parentLast !== undefined && parentLast > record.at)
        problems.push(`${record.data} of key ${record.key} in ${record.shard} was processed before ${parent}'s last record of that key`);
    }
  return problems;
}
