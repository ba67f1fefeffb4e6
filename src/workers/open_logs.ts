import fs from 'node:fs';
import type { Log } from '../log/log.js';

/*
 * A bound on the shards whose active segment holds open files (a .log and two index files: 3
 * descriptors and 3 mappings each). Idle trimming closes a quiet shard's files after
 * preallocationIdleMs, but 10,000 shards written within that time would hold 30,000 descriptors,
 * past the usual open-file limit; so each worker keeps at most its share open and closes the
 * least recently used shard's files (trimmed, synced as its fsync policy wants) when a shard
 * past the bound is written. The next append reopens them: about 0.1 ms.
 */

/** Descriptors of one shard with open files. */
export const DESCRIPTORS_PER_OPEN_SHARD = 3;
/** The share of the process's open-file limit that shard files may take; sockets and the rest have the other half. */
const DESCRIPTOR_SHARE = 0.5;
/** Assumed where /proc/self/limits cannot be read: the usual soft limit. */
const DESCRIPTOR_LIMIT_FALLBACK = 1024;
/** Below this a worker would reopen files on most appends; a limit this low is refused at startup. */
export const OPEN_SHARDS_PER_WORKER_MIN = 16;

/** The process's soft limit on open files (ulimit -n). */
export function descriptorLimit(limitsText?: string): number {
  let text = limitsText;
  try {
    text ??= fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return DESCRIPTOR_LIMIT_FALLBACK;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined) return DESCRIPTOR_LIMIT_FALLBACK;
  return soft === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(soft);
}

/** The default bound across all workers: half the open-file limit, 3 descriptors a shard. */
export function defaultOpenShardsMax(limit: number = descriptorLimit()): number {
  return Math.floor((limit * DESCRIPTOR_SHARE) / DESCRIPTORS_PER_OPEN_SHARD);
}

/** One worker's shards with open files, least recently used first. */
export class OpenLogs {
  private readonly recent = new Map<string, Log>();

  constructor(private readonly max: number) {}

  /** The shard was opened or written: its files are open; past the bound the oldest shard's close. */
  touch(shardKey: string, log: Log): void {
    this.recent.delete(shardKey);
    this.recent.set(shardKey, log);
    if (this.recent.size <= this.max) return;
    const [oldestKey, oldest] = this.recent.entries().next().value as [string, Log];
    this.recent.delete(oldestKey);
    // A log that fails here reports the failure to its next append, which is where it matters.
    void oldest.releaseFiles().catch(() => undefined);
  }

  forget(shardKey: string): void {
    this.recent.delete(shardKey);
  }
}
