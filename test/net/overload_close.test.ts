import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSubscribe } from '../../src/net/messages/records.js';
import { RawSocket } from '../helpers/raw_socket.js';
import { settledUnsentBytes, startTestServer, streamWithConsumers, type TestServer } from '../helpers/server.js';

// Goal: a connection that never reads is closed once the server holds 64 MiB unsent for it
// (BACKPRESSURE_CLOSE_BYTES, docs/PROTOCOL.md), at that value and not at half or twice it.
// Method: a raw socket that stops reading subscribes again and again, each subscription to a
// shard holding one 2 MiB batch; a subscription sends its first event whatever is unsent (it
// pauses after), so each step adds one event to what the real uWS server holds, read from its
// stats() until the connection is gone.

/** The documented value, written out: a test that imported src/limits.ts would move with it. */
const MIB = 1024 * 1024;
const BACKPRESSURE_CLOSE_BYTES = 64 * MIB;
const CONSUMERS = 20;
const SHARDS = 3;
const STREAM = 'never-reads';
const RECORD_BYTES = MIB / 2;
const EVENT_RECORDS = 4;

describe('overload: the close of a connection that never reads', () => {
  let server: TestServer;
  let consumerARNs: string[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    consumerARNs = await streamWithConsumers(server.engine, STREAM, SHARDS, CONSUMERS);
    const data = new Uint8Array(RECORD_BYTES).fill(5);
    for (let shard = 0; shard < SHARDS; shard++) {
      const { HashKeyRange } = server.engine.listShards({ StreamName: STREAM }).Shards[shard]!;
      await server.engine.putRecords({
        StreamName: STREAM,
        Records: Array.from({ length: EVENT_RECORDS }, () => ({
          PartitionKey: 'k',
          ExplicitHashKey: HashKeyRange.StartingHashKey,
          Data: data,
        })),
      });
    }
  });
  afterAll(() => server.stop());

  it('closes at the first send past 64 MiB unsent', async () => {
    const socket = await RawSocket.greeted(server.url);
    socket.pause();
    const held: number[] = [];
    for (let i = 0; i < CONSUMERS * SHARDS && server.server.connectionCount > 0; i++) {
      socket.send(
        encodeSubscribe(i + 2, {
          ConsumerARN: consumerARNs[i % CONSUMERS]!,
          ShardId: `shardId-${String(Math.floor(i / CONSUMERS)).padStart(12, '0')}`,
          StartingPosition: { Type: 'TRIM_HORIZON' },
        }),
      );
      held.push(await settledUnsentBytes(server.server));
    }
    // The last step saw the connection gone; the one before held more than 64 MiB, by one
    // event, and the one before that no more than 64 MiB: uWS closes at the first send after the
    // buffer passed the bound.
    expect(server.server.connectionCount).toBe(0);
    expect(held.at(-1)).toBe(0);
    const [before, over] = held.slice(-3, -1) as [number, number];
    expect(over).toBeGreaterThan(BACKPRESSURE_CLOSE_BYTES);
    expect(before).toBeLessThanOrEqual(BACKPRESSURE_CLOSE_BYTES);
    expect(over - before).toBeLessThanOrEqual(EVENT_RECORDS * RECORD_BYTES + 1024);
    socket.resume();
    expect(await socket.closed(10_000)).not.toBeNull();
  });
});
