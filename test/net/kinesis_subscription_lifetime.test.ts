import {
  KinesisClient,
  SubscribeToShardCommand,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: as on Kinesis, a SubscribeToShard event stream ends 5 minutes after it began (so a
// consumer must subscribe again), not before; after it ends, subscribing again from the last
// continuation works.
// Method: the real server over an engine whose clock the test moves; the AWS SDK subscribes.
// Heartbeat events come when the clock has moved 5 s since the last event, so each move below
// brings exactly one event, and the stream's end is checked after each.

// The documented figure, not the constant: a changed constant must fail here.
const FIVE_MINUTES_MS = 5 * 60_000;
let now = 1_700_000_000_000;
let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer(
  'shardline-lifetime-',
  (running) => {
    ({ engine, server } = running);
  },
  { clock: () => now },
);

let sdk: KinesisClient;
let consumerArn: string;
beforeAll(async () => {
  sdk = new KinesisClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  await engine.createStream({ StreamName: 'timed', ShardCount: 1 });
  const { StreamARN } = (await engine.describeStreamSummary({ StreamName: 'timed' })).StreamDescriptionSummary;
  consumerArn = (await engine.registerStreamConsumer({ StreamARN, ConsumerName: 'c' })).Consumer.ConsumerARN;
  await engine.putRecord({ StreamName: 'timed', PartitionKey: 'k', Data: Buffer.from('first') });
});

async function subscribe(position: { Type: 'TRIM_HORIZON' } | { Type: 'AFTER_SEQUENCE_NUMBER'; SequenceNumber: string }) {
  const { EventStream } = await sdk.send(
    new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: 'shardId-000000000000', StartingPosition: position }),
  );
  return EventStream!;
}

/** The stream's SubscribeToShardEvents; after the nth, `afterEvent(n)` runs (it moves the clock). */
async function eventsUntilEnd(
  stream: AsyncIterable<SubscribeToShardEventStream>,
  afterEvent: (n: number) => void,
): Promise<SubscribeToShardEvent[]> {
  const events: SubscribeToShardEvent[] = [];
  for await (const message of stream) {
    if (message.SubscribeToShardEvent === undefined) continue;
    events.push(message.SubscribeToShardEvent);
    afterEvent(events.length);
  }
  return events;
}

describe('SubscribeToShard over the Kinesis HTTP API', () => {
  it('ends 5 minutes after it began, not a second before, and resumes from its continuation', async () => {
    const began = now;
    const events = await eventsUntilEnd(await subscribe({ Type: 'TRIM_HORIZON' }), (n) => {
      if (n === 1) now = began + FIVE_MINUTES_MS - 1000; // a heartbeat comes; the stream goes on
      if (n === 2) now = began + FIVE_MINUTES_MS + 5000; // a heartbeat comes, then the end
    });
    expect(events.length).toBe(3);
    expect(events[0]!.Records!.map((record) => Buffer.from(record.Data!).toString())).toEqual(['first']);

    await engine.putRecord({ StreamName: 'timed', PartitionKey: 'k', Data: Buffer.from('second') });
    const resumed = await subscribe({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: events.at(-1)!.ContinuationSequenceNumber! });
    for await (const message of resumed) {
      const records = message.SubscribeToShardEvent?.Records ?? [];
      if (records.length === 0) continue;
      expect(records.map((record) => Buffer.from(record.Data!).toString())).toEqual(['second']);
      break;
    }
  }, 20_000);
});
