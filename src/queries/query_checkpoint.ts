/*
 * A query's checkpoint in the engine's documents (docs/QUERIES.md, "Exactly once"): the executor's
 * state, written in chunks under a new generation, then the head that names the generation, which
 * is the commit (a document is replaced atomically, so a crash leaves the old head or the new); the
 * older generation's chunks go after. The head also keeps where each stream the query writes had
 * come to, so a restart can find the rows it put after the checkpoint. A query's name has no '.'
 * (registry.ts), so `query.<name>.` is a prefix no other query's documents share.
 */
import type { Engine } from '../engine/engine.js';

/** Under the engine's 16 MiB bound for one document. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Each written stream's shards, and the last sequence number in each (null: none yet). */
export type StreamPositions = Readonly<Record<string, Readonly<Record<string, string | null>>>>;

export interface Checkpoint {
  readonly state: Uint8Array;
  readonly written: StreamPositions;
  readonly savedAtMs: number;
}

interface Head {
  readonly generation: number;
  readonly chunks: number;
  readonly written: StreamPositions;
  readonly savedAtMs: number;
}

export class CheckpointStore {
  constructor(
    private readonly engine: Engine,
    private readonly queryName: string,
  ) {}

  read(): Checkpoint | null {
    const head = this.head();
    if (head === null) return null;
    const chunks = Array.from({ length: head.chunks }, (_, index) => {
      const chunk = this.engine.readDocument(this.chunkName(head.generation, index));
      if (chunk === null) throw new Error(`query ${this.queryName}: checkpoint chunk ${index} of generation ${head.generation} is missing`);
      return chunk;
    });
    return { state: Buffer.concat(chunks), written: head.written, savedAtMs: head.savedAtMs };
  }

  async write(state: Uint8Array, written: StreamPositions, savedAtMs: number): Promise<void> {
    const previous = this.head();
    const generation = (previous?.generation ?? 0) + 1;
    const chunks = Math.max(1, Math.ceil(state.length / CHUNK_BYTES));
    for (let index = 0; index < chunks; index++)
      await this.engine.writeDocument(this.chunkName(generation, index), state.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES));
    const head: Head = { generation, chunks, written, savedAtMs };
    await this.engine.writeDocument(this.headName, Buffer.from(JSON.stringify(head)));
    await this.removeChunksBut(generation);
  }

  async delete(): Promise<void> {
    for (const name of this.engine.listDocuments(`query.${this.queryName}.`)) await this.engine.deleteDocument(name);
  }

  private head(): Head | null {
    const bytes = this.engine.readDocument(this.headName);
    return bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as Head);
  }

  /** Every other generation's chunks: the last one's, and any a crash between a head and this left behind. */
  private async removeChunksBut(generation: number): Promise<void> {
    const kept = `query.${this.queryName}.g${generation}.`;
    for (const name of this.engine.listDocuments(`query.${this.queryName}.g`))
      if (!name.startsWith(kept)) await this.engine.deleteDocument(name);
  }

  private get headName(): string {
    return `query.${this.queryName}.checkpoint`;
  }

  private chunkName(generation: number, index: number): string {
    return `query.${this.queryName}.g${generation}.${index}`;
  }
}
