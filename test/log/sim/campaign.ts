import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Log } from '../../../src/log/log.js';
import { HOUR_MS, type FsyncPolicy, type LogOptions } from '../../../src/log/log_config.js';
import { materialize, SimulatedStorage, type DirectoryImage } from './simulated_storage.js';

/*
 * A seeded workload on a log over SimulatedStorage, and the check of every cut point it passed:
 * before each sync, what a power loss (or, sampled, a kill -9 or a torn power loss) would have
 * left is kept with what the workload had been promised by then; afterwards each one is
 * materialized in a fresh directory, reopened and checked.
 */

/** A small geometry, so that a few hundred appends roll, seal and expire many segments. */
export const SIM_LOG_OPTIONS: Partial<LogOptions> = {
  segmentBytes: 4096,
  preallocateBytes: 4096,
  indexIntervalBytes: 256,
  segmentAgeMs: HOUR_MS,
  retentionBytes: 12 * 1024,
  retentionCheckIntervalMs: 0,
  // Timers would make the interleaving depend on the machine's speed: none fire in a run.
  checkpointIntervalMs: 10 * 60 * 1000,
};

const CHECKS_AT_ONCE = 8;

export type CutKind = 'power loss' | 'torn power loss' | 'kill -9';

interface Cut {
  readonly kind: CutKind;
  readonly sync: number;
  readonly image: DirectoryImage;
  /** The page cache then, for a torn power loss. */
  readonly current: DirectoryImage | null;
  /** Offsets below it were in appends that had resolved. */
  readonly resolvedEnd: number;
  /** Offsets below it were covered by a flush() or close() that had resolved. */
  readonly flushedEnd: number;
  readonly startOffset: number;
}

export interface CampaignResult {
  readonly cuts: number;
  readonly failures: readonly string[];
}

/** Where simulated directories go: a tmpfs when there is one (its inode numbers are never reused). */
function simRoot(): string {
  return fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

class Workload {
  readonly data = new Map<number, Buffer>();
  readonly cuts: Cut[] = [];
  resolvedEnd = 0;
  flushedEnd = 0;
  private now = 1_700_000_000_000;
  private nextId = 0;
  private log!: Log;
  private pending: Promise<unknown>[] = [];

  constructor(
    readonly dir: string,
    readonly fsync: FsyncPolicy,
    private readonly random: () => number,
    private readonly storage: SimulatedStorage,
  ) {
    storage.onSync = (image, sync) => this.cuts.push(this.cut(image, sync));
  }

  get options(): Partial<LogOptions> {
    return { ...SIM_LOG_OPTIONS, fsync: this.fsync, clock: () => this.now, storage: this.storage };
  }

  private cut(image: DirectoryImage, sync: number): Cut {
    const roll = this.random();
    const kind: CutKind = roll < 0.15 ? 'kill -9' : roll < 0.3 ? 'torn power loss' : 'power loss';
    const current = kind === 'power loss' ? null : this.storage.currentImage();
    const { resolvedEnd, flushedEnd } = this;
    // Retention moves the start before it deletes files: any cut after that may have lost them.
    const startOffset = (this.log as Log | undefined)?.startOffset ?? 0;
    return { kind, sync, image: kind === 'kill -9' ? current! : image, current, resolvedEnd, flushedEnd, startOffset };
  }

  async run(steps: number): Promise<void> {
    this.log = await Log.open(this.dir, this.options);
    for (let step = 0; step < steps; step++) await this.step();
    await Promise.all(this.pending);
    await this.closeLog();
  }

  private async step(): Promise<void> {
    const roll = this.random();
    if (roll < 0.6) this.appendBurst();
    else if (roll < 0.7) this.now += Math.floor(this.random() * 2 * HOUR_MS);
    else if (roll < 0.76) await this.expire();
    else if (roll < 0.86) await this.flush();
    else if (roll < 0.9) await this.reopen();
    if (this.random() < 0.7) await Promise.all(this.pending.splice(0));
  }

  private appendBurst(): void {
    const appends = 1 + Math.floor(this.random() * 4);
    for (let i = 0; i < appends; i++) {
      const records = Array.from({ length: 1 + Math.floor(this.random() * 3) }, () => this.record());
      const base = this.log.appendedOffset;
      const appended = this.log.append(records);
      records.forEach((record, j) => this.data.set(base + j, record.data));
      const end = base + records.length;
      this.pending.push(
        appended.then(() => {
          this.resolvedEnd = Math.max(this.resolvedEnd, end);
        }),
      );
    }
  }

  private record(): { partitionKey: string; data: Buffer } {
    const id = this.nextId++;
    const data = Buffer.alloc(4 + Math.floor(this.random() * 700), id % 251);
    data.writeUInt32LE(id, 0);
    return { partitionKey: `k${id % 7}`, data };
  }

  private async expire(): Promise<void> {
    this.now += 25 * HOUR_MS;
    await this.log.applyRetention();
  }

  private async flush(): Promise<void> {
    const target = this.log.appendedOffset;
    await this.log.flush();
    this.flushedEnd = Math.max(this.flushedEnd, target);
  }

  private async closeLog(): Promise<void> {
    const target = this.log.appendedOffset;
    await this.log.close();
    this.flushedEnd = Math.max(this.flushedEnd, target);
    this.resolvedEnd = Math.max(this.resolvedEnd, target);
  }

  private async reopen(): Promise<void> {
    await Promise.all(this.pending.splice(0));
    await this.closeLog();
    this.log = await Log.open(this.dir, this.options);
  }
}

/** Runs `steps` seeded steps under `fsync`, then checks every cut; returns the failures' descriptions. */
export async function runCampaign(fsync: FsyncPolicy, steps: number, random: () => number): Promise<CampaignResult> {
  const dir = fs.mkdtempSync(path.join(simRoot(), 'shardline-sim-'));
  try {
    const workload = new Workload(dir, fsync, random, new SimulatedStorage(dir));
    await workload.run(steps);
    const failures: string[] = [];
    // Reopening waits on the thread pool (fs/promises) most of the time: a few at once.
    for (let first = 0; first < workload.cuts.length; first += CHECKS_AT_ONCE) {
      const cuts = workload.cuts.slice(first, first + CHECKS_AT_ONCE);
      const checks = cuts.map((cut) => startCheck(workload, cut, random));
      const results = await Promise.all(checks.map((check) => check()));
      results.forEach((failure, i) => {
        if (failure !== null) failures.push(`${cuts[i]!.kind} before sync ${cuts[i]!.sync}: ${failure}`);
      });
    }
    return { cuts: workload.cuts.length, failures };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a cut must keep: acknowledged appends survive a kill -9 in every mode, a power loss under "always". */
function promisedEnd(workload: Workload, cut: Cut): number {
  return cut.kind === 'kill -9' || workload.fsync === 'always' ? cut.resolvedEnd : cut.flushedEnd;
}

/** Writes the cut out (drawing its torn sectors, in order) and returns its check, to run with others. */
function startCheck(workload: Workload, cut: Cut, random: () => number): () => Promise<string | null> {
  const target = fs.mkdtempSync(path.join(simRoot(), 'shardline-cut-'));
  materialize(target, cut.image, cut.kind === 'torn power loss' ? cut.current : null, random);
  return async () => {
    try {
      const log = await Log.open(target, { ...SIM_LOG_OPTIONS, fsync: workload.fsync, storage: new SimulatedStorage(target) });
      try {
        return checkRecovered(log, workload, cut);
      } finally {
        await log.close();
      }
    } catch (error) {
      return `reopening failed: ${(error as Error).stack}`;
    } finally {
      fs.rmSync(target, { recursive: true, force: true });
    }
  };
}

function checkRecovered(log: Log, workload: Workload, cut: Cut): string | null {
  const promised = promisedEnd(workload, cut);
  if (log.recovery.durableRecordsLost !== 0) return `recovery reports ${log.recovery.durableRecordsLost} durable records lost`;
  if (log.startOffset > cut.startOffset)
    return `the log starts at ${log.startOffset}, after ${cut.startOffset} (retention had not passed it)`;
  if (log.endOffset < promised) return `the log ends at ${log.endOffset}: acknowledged records up to ${promised} are lost`;
  for (let offset = log.startOffset; offset < log.endOffset;) {
    const { records, nextOffset } = log.readRecords(offset, 1000);
    for (const record of records) {
      const expected = workload.data.get(record.offset);
      if (expected === undefined || !expected.equals(record.data))
        return `offset ${record.offset} holds bytes that were never appended there`;
    }
    offset = nextOffset;
  }
  return null;
}
