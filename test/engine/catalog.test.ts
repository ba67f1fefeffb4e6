import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/engine/catalog.js';
import { HASH_KEY_MAX } from '../../src/streams/hash_key.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: the catalog allows only the transitions of its state machine (CREATING -> ACTIVE ->
// UPDATING -> ACTIVE, -> DELETING -> removed; a shard open -> closing -> sealed) and keeps a reshard's
// children on exactly their parents' hash keys; what it allows survives a reopen. Method: a
// real catalog on a temporary directory, each wrong transition met by an assertion.

const HALF = 1n << 127n;

function catalogWithStream(): { catalog: Catalog; dir: string } {
  const dir = tempDir();
  const catalog = Catalog.open(dir);
  catalog.create('s', 2, 'PROVISIONED', 1_000, { team: 'data' });
  return { catalog, dir };
}

describe('Catalog', () => {
  it('reshards only an ACTIVE stream, seals only what the reshard marked closing, and saves it all', async () => {
    const { catalog, dir } = catalogWithStream();
    const stream = catalog.get('s')!;
    const [low, high] = stream.shards;
    expect(() => catalog.sealShard(stream, low!, 0)).toThrow(AssertionError); // open, not closing
    expect(() => catalog.endReshard(stream)).toThrow(AssertionError);
    const children = catalog.beginReshard(
      stream,
      [low!],
      [
        { startingHashKey: 0n, endingHashKey: 99n, parentShardId: low!.shardId },
        { startingHashKey: 100n, endingHashKey: HALF - 1n, parentShardId: low!.shardId },
      ],
    );
    expect(stream.status).toBe('UPDATING');
    expect(children.map((child) => child.shardId)).toEqual(['shardId-000000000002', 'shardId-000000000003']);
    expect(() =>
      catalog.beginReshard(stream, [high!], [{ startingHashKey: HALF, endingHashKey: HASH_KEY_MAX, parentShardId: high!.shardId }]),
    ).toThrow(AssertionError);
    expect(() => catalog.sealShard(stream, low!, -1)).toThrow(AssertionError);
    catalog.sealShard(stream, low!, 7);
    expect(() => catalog.sealShard(stream, low!, 7)).toThrow(AssertionError); // sealed once
    catalog.endReshard(stream);
    await catalog.save();
    const reopened = Catalog.open(dir).get('s')!;
    expect(reopened).toMatchObject({ status: 'ACTIVE', tags: { team: 'data' } });
    expect(reopened.shards.map((shard) => [shard.shardId, shard.endOffset, shard.closing])).toEqual([
      ['shardId-000000000000', 7, undefined],
      ['shardId-000000000001', undefined, undefined],
      ['shardId-000000000002', undefined, undefined],
      ['shardId-000000000003', undefined, undefined],
    ]);
  });

  it("refuses reshard children that do not hold exactly their parents' hash keys, changing nothing", () => {
    const { catalog } = catalogWithStream();
    const stream = catalog.get('s')!;
    const [low, high] = stream.shards;
    const plans = [
      [{ startingHashKey: 0n, endingHashKey: HALF - 2n, parentShardId: low!.shardId }], // short
      [
        { startingHashKey: 0n, endingHashKey: 9n, parentShardId: low!.shardId },
        { startingHashKey: 11n, endingHashKey: HALF - 1n, parentShardId: low!.shardId },
      ], // a gap
      [{ startingHashKey: 0n, endingHashKey: HALF, parentShardId: low!.shardId }], // into the neighbour
    ];
    for (const plan of plans) expect(() => catalog.beginReshard(stream, [low!], plan)).toThrow(AssertionError);
    expect(() =>
      catalog.beginReshard(stream, [low!, high!], [{ startingHashKey: 1n, endingHashKey: HASH_KEY_MAX, parentShardId: low!.shardId }]),
    ).toThrow(AssertionError);
    expect(stream.status).toBe('ACTIVE');
    expect(stream.shards).toHaveLength(2);
  });

  it('removes a stream only once it is being deleted', () => {
    const { catalog } = catalogWithStream();
    const stream = catalog.get('s')!;
    expect(() => catalog.remove(stream)).toThrow(AssertionError);
    catalog.beginDelete(stream);
    expect(() => catalog.beginDelete(stream)).toThrow(AssertionError);
    expect(catalog.live(stream.id)).toBeUndefined();
    catalog.remove(stream);
    expect(catalog.get('s')).toBeUndefined();
    expect(() => catalog.setTags(stream, {})).toThrow(AssertionError); // a stale record is not the catalog's
  });

  it('activates only a CREATING stream and holds an update only of an ACTIVE one (state durations)', async () => {
    const { catalog, dir } = catalogWithStream();
    const active = catalog.get('s')!;
    expect(() => catalog.activate(active)).toThrow(AssertionError);
    const creating = catalog.create('c', 1, 'PROVISIONED', 2_000, {}, 'CREATING');
    expect(() => catalog.beginUpdate(creating)).toThrow(AssertionError);
    expect(() => catalog.beginDelete(creating)).toThrow(AssertionError);
    expect(() => catalog.beginReshard(creating, [creating.shards[0]!], [])).toThrow(AssertionError);
    await catalog.save();
    expect(Catalog.open(dir).get('c')!.status).toBe('CREATING');
    catalog.activate(creating);
    catalog.beginUpdate(active);
    expect(() => catalog.beginUpdate(active)).toThrow(AssertionError);
    catalog.endReshard(active);
    expect([active.status, creating.status]).toEqual(['ACTIVE', 'ACTIVE']);
  });

  it('asserts the settings it stores: retention bounds, modes, tag and consumer counts', () => {
    const { catalog } = catalogWithStream();
    const stream = catalog.get('s')!;
    expect(() => catalog.setRetention(stream, 23)).toThrow(AssertionError);
    expect(() => catalog.setRetention(stream, 8761)).toThrow(AssertionError);
    catalog.setRetention(stream, 48);
    expect(() => catalog.setMode(stream, 'SOMETIMES' as 'ON_DEMAND')).toThrow(AssertionError);
    expect(() => catalog.setTags(stream, Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])))).toThrow(AssertionError);
    const consumer = { consumerName: 'c', consumerArn: 'arn:c', createdAtMs: 1 };
    catalog.addConsumer(stream, consumer);
    expect(() => catalog.addConsumer(stream, { ...consumer })).toThrow(AssertionError); // the name is taken
    catalog.removeConsumer(stream, consumer);
    expect(() => catalog.removeConsumer(stream, consumer)).toThrow(AssertionError);
    expect(stream).toMatchObject({ retentionHours: 48, mode: 'PROVISIONED', consumers: [] });
  });
});
