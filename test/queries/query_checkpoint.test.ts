import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { CheckpointStore } from '../../src/queries/query_checkpoint.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: a query's checkpoint comes back as it was written, across chunks (a state over one
// document's share) and a reopened engine; a new generation replaces the old, whose chunks go,
// with any a crash left behind; delete leaves none of the query's documents and no other query's.
// Method: a real engine's documents.

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const WRITTEN = { out: { 'shardId-000000000000': '49000000000000000000000000000000000000000000000000000000' } };

describe("a query's checkpoint", () => {
  it('keeps a state of several chunks through a reopen, and only the last generation', async () => {
    const dataDir = tempDir();
    engine = await Engine.open({ dataDir, workers: 1 });
    const store = new CheckpointStore(engine, 'q');
    const state = Buffer.alloc(20 * 1024 * 1024, 7);
    state.write('the start', 0);
    await store.write(state, WRITTEN, 1000);
    await engine.writeDocument('query.q.g9.0', Buffer.from('left by a crash'));
    await new CheckpointStore(engine, 'q2').write(Buffer.from('another query'), {}, 5);
    const next = Buffer.concat([state, Buffer.from('more')]);
    await store.write(next, WRITTEN, 2000);
    await engine.close();
    engine = await Engine.open({ dataDir, workers: 1 });
    const read = new CheckpointStore(engine, 'q').read();
    expect(read?.savedAtMs).toBe(2000);
    expect(read?.written).toEqual(WRITTEN);
    expect(Buffer.compare(Buffer.from(read!.state), next)).toBe(0);
    expect(engine.listDocuments('query.q.')).toEqual(['query.q.checkpoint', 'query.q.g2.0', 'query.q.g2.1', 'query.q.g2.2']);
    await new CheckpointStore(engine, 'q').delete();
    expect(engine.listDocuments('query.q.')).toEqual([]);
    expect(new CheckpointStore(engine, 'q2').read()?.savedAtMs).toBe(5);
  });
});
