/*
 * Where the agent is in each file (docs/AGENT.md): one JSON file (the configuration's
 * `checkpointFile`), replaced whole (temporary file, fsync, rename, directory fsync), so a kill -9
 * leaves the old positions or the new, never a mix. A file's position is saved only once its
 * records up to it are acknowledged (`ackedOffset`), and before a batch is sent its end is saved
 * as `sentOffset`: after a kill -9 the agent resumes at `ackedOffset` and knows that the records
 * up to `sentOffset` may have arrived already (the duplicates it reports).
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory } from '../util/sync_directory.js';

export interface FileCheckpoint {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  /** sha256 (hex) of the file's first `fingerprintBytes` bytes: the file's identity across renames and copies. */
  readonly fingerprint: string;
  readonly fingerprintBytes: number;
  readonly ackedOffset: number;
  readonly sentOffset: number;
  readonly updatedMs: number;
}

const VERSION = 1;
/** Positions of files not seen for this long are dropped (the Kinesis Agent's checkpointTimeToLiveDays). */
const TTL_MS = 7 * 24 * 3600 * 1000;

export class CheckpointFile {
  private flows = new Map<string, FileCheckpoint[]>();
  private writing: Promise<void> = Promise.resolve();
  /** The write after the one in progress: every save meanwhile joins it (it writes the newest state). */
  private queued: Promise<void> | null = null;

  private constructor(private readonly file: string) {}

  /** Reads the file; a file that does not parse stops the agent (its positions are never silently lost). */
  static open(file: string): CheckpointFile {
    const checkpoints = new CheckpointFile(file);
    if (!fs.existsSync(file)) return checkpoints;
    let parsed: { version?: unknown; flows?: unknown };
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof parsed;
    } catch (error) {
      throw new Error(`checkpoint file ${file} is not JSON: ${(error as Error).message}; move it away to start over`, { cause: error });
    }
    if (parsed.version !== VERSION || typeof parsed.flows !== 'object' || parsed.flows === null)
      throw new Error(`checkpoint file ${file} is not a version ${VERSION} agent checkpoint file`);
    for (const [flow, files] of Object.entries(parsed.flows as Record<string, FileCheckpoint[]>)) checkpoints.flows.set(flow, files);
    return checkpoints;
  }

  of(flow: string): readonly FileCheckpoint[] {
    return this.flows.get(flow) ?? [];
  }

  /** Replaces a flow's positions; resolves once a write holding them is on disk (one write at a time, saves meanwhile coalesced). */
  save(flow: string, files: readonly FileCheckpoint[], nowMs: number): Promise<void> {
    this.flows.set(
      flow,
      files.filter((file) => nowMs - file.updatedMs < TTL_MS),
    );
    if (this.queued === null) {
      this.queued = this.writing
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return writeAtomically(this.file, JSON.stringify({ version: VERSION, flows: Object.fromEntries(this.flows) }));
        });
      this.writing = this.queued;
    }
    return this.queued;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  const handle = await fs.promises.open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  await syncDirectory(path.dirname(file));
}
