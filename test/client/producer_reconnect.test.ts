import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, connect, type ShardlineClient } from '../../src/client/node.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Goal: the README's "PUTs lost with a dropped connection are sent again, so delivery is at
// least once": a Producer whose connection drops with puts on the wire resolves every put, and
// every record is stored.
// Method: the real client and server with a TCP relay between them that cuts both sockets
// instead of relaying the client's third chunk of data after the handshake (so PUT frames are
// lost on the wire, their answers never come); the client reconnects through the same relay.

/** Relays 127.0.0.1:<port> to `target`; the first connection is cut when its client sends its `cutAt`-th chunk. */
async function cuttingRelay(target: number, cutAt: number): Promise<{ port: number; cuts: () => number; close: () => void }> {
  let cuts = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const first = connections++ === 0;
    const upstream = net.connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    let chunks = 0;
    client.on('data', (chunk) => {
      if (first && ++chunks === cutAt) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    port: (relay.address() as net.AddressInfo).port,
    cuts: () => cuts,
    close: () => {
      for (const socket of sockets) socket.destroy();
      relay.close();
    },
  };
}

describe('Producer: a dropped connection', () => {
  let server: TestServer;
  let admin: ShardlineClient;
  beforeAll(async () => {
    server = await startTestServer({ fsync: 'never' });
    admin = await connect(server.url);
    await admin.call('CreateStream', { StreamName: 'resent', ShardCount: 2 });
  });
  afterAll(async () => {
    admin.close();
    await server.stop();
  });

  it('sends the PUTs it lost again: every put resolves and every record is stored', async () => {
    const relay = await cuttingRelay(Number(new URL(server.url).port), 3);
    const client = await connect(`ws://127.0.0.1:${relay.port}/`);
    try {
      const producer = new Producer(client, { lingerMs: 0, maxBatchRecords: 10, retryBaseMs: 10 });
      const names = Array.from({ length: 200 }, (_, i) => `r${i}`);
      // One record per turn at most 10 to a frame: many PUT frames, so the cut catches some on the wire.
      const puts: Promise<unknown>[] = [];
      for (const name of names) {
        puts.push(producer.put({ streamName: 'resent', partitionKey: name, data: Buffer.from(name) }));
        if (puts.length % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const settled = await Promise.allSettled(puts);
      expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect(relay.cuts()).toBe(1);
      await producer.close();

      const stored = new Set<string>();
      for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
        const { ShardIterator } = await admin.call('GetShardIterator', {
          StreamName: 'resent',
          ShardId: shard,
          ShardIteratorType: 'TRIM_HORIZON',
        });
        const { Records } = await admin.getRecords({ ShardIterator });
        for (const record of Records) stored.add(Buffer.from(record.Data).toString());
      }
      expect([...stored].sort()).toEqual([...names].sort());
    } finally {
      client.close();
      relay.close();
    }
  });
});
