import {
  Consumer,
  EnvelopeEncryption,
  Producer,
  ResourceNotFoundException,
  ShardlineError,
  aggregate,
  connect,
  deaggregate,
  keyProvider,
} from '/shardline-client.js';

/*
 * What the page does with the bundled client; test/client/browser.test.ts calls the functions
 * this module puts on `window` and checks their answers against the server's engine. Plain
 * JavaScript, served as it is: the page imports the bundle as an ES module with no build step
 * of its own, as a user's page would. Answers are plain data (strings and numbers), because
 * they cross into the test through page.evaluate.
 */

/** Bound on getRecords calls per shard; each shard holds a few dozen records. */
const GET_RECORDS_CALLS_MAX = 100;
const TIMED_OUT = Symbol('timed out');

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Creates a 2-shard stream, puts `recordCount` records with the batching Producer, reads every
 * shard back with GetShardIterator + getRecords, then consumes the stream from TRIM_HORIZON with
 * a registered consumer until every record arrived (or `consumeTimeoutMs` passed, so a lost
 * record shows up as a difference in the test rather than as a hang).
 */
window.runScenario = async ({ serverUrl, streamName, consumerName, recordCount, consumeTimeoutMs }) => {
  const client = await connect(serverUrl, { clientName: 'shardline-browser-test' });
  try {
    await client.call('CreateStream', { StreamName: streamName, ShardCount: 2 });
    const puts = await produce(client, streamName, recordCount);
    const reads = await readBack(client, streamName);
    const consumed = await consume(client, streamName, consumerName, recordCount, consumeTimeoutMs);
    return { userAgent: navigator.userAgent, puts, reads, consumed };
  } finally {
    client.close();
  }
};

/** DescribeStream of a stream that does not exist: how the error reaches the page. */
window.describeMissingStream = async ({ serverUrl, streamName }) => {
  const client = await connect(serverUrl, { clientName: 'shardline-browser-test' });
  try {
    try {
      await client.call('DescribeStream', { StreamName: streamName });
      return { rejected: false };
    } catch (error) {
      // The connection must survive an ERROR frame: the next call on it still works.
      const { StreamNames } = await client.call('ListStreams', {});
      return {
        rejected: true,
        code: error.code,
        name: error.name,
        message: error.message,
        retriable: error.retriable,
        isResourceNotFound: error instanceof ResourceNotFoundException,
        isShardlineError: error instanceof ShardlineError,
        streamNamesAfterError: StreamNames,
      };
    }
  } finally {
    client.close();
  }
};

async function produce(client, streamName, recordCount) {
  const producer = new Producer(client);
  const encoder = new TextEncoder();
  // Non-ASCII text checks the UTF-8 path both ways; distinct keys spread over both shards.
  const records = Array.from({ length: recordCount }, (_, i) => ({ partitionKey: `key-${i}`, text: `record ${i}: grüße aus dem Browser ✓` }));
  const results = await Promise.all(records.map((record) => producer.put({ streamName, partitionKey: record.partitionKey, data: encoder.encode(record.text) })));
  await producer.close();
  return records.map((record, i) => ({ ...record, shardId: results[i].shardId, sequenceNumber: results[i].sequenceNumber }));
}

async function readBack(client, streamName) {
  const { Shards } = await client.call('ListShards', { StreamName: streamName });
  const reads = [];
  for (const { ShardId } of Shards) {
    let { ShardIterator } = await client.call('GetShardIterator', { StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    for (let calls = 0; calls < GET_RECORDS_CALLS_MAX && ShardIterator !== undefined; calls++) {
      const result = await client.getRecords({ ShardIterator });
      for (const record of result.Records) reads.push(plainRecord(ShardId, record));
      if (result.Records.length === 0) break;
      ShardIterator = result.NextShardIterator;
    }
  }
  return reads;
}

async function consume(client, streamName, consumerName, recordCount, timeoutMs) {
  const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: streamName });
  const { Consumer: registered } = await client.call('RegisterStreamConsumer', { StreamARN: StreamDescriptionSummary.StreamARN, ConsumerName: consumerName });
  const records = new Consumer(client).subscribeStream({ streamName, consumerARN: registered.ConsumerARN, startingPosition: { Type: 'TRIM_HORIZON' } });
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs)));
  const consumed = [];
  let timedOut = false;
  try {
    while (consumed.length < recordCount) {
      const next = await Promise.race([records.next(), timeout]);
      if (next === TIMED_OUT) {
        timedOut = true;
        break;
      }
      if (next.done) break;
      consumed.push(plainRecord(next.value.ShardId, next.value));
    }
  } finally {
    clearTimeout(timer);
    // After a timeout a next() is still pending and return() would wait for it: don't wait.
    if (timedOut) void records.return(undefined);
    else await records.return(undefined);
  }
  return consumed;
}

function plainRecord(shardId, record) {
  if (!(record.Data instanceof Uint8Array)) throw new TypeError(`record ${record.SequenceNumber}: Data is not a Uint8Array`);
  return {
    shardId,
    sequenceNumber: record.SequenceNumber,
    partitionKey: record.PartitionKey,
    text: decoder.decode(record.Data),
    arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
  };
}

// KPL aggregation in the browser: aggregates these records (the test deaggregates the hex in
// Node) and deaggregates the hex the test made in Node.
window.kplRoundTrip = ({ records, nodeAggregateHex }) => {
  const hex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  const fromHex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  const encoder = new TextEncoder();
  const aggregated = aggregate(records.map((record) => ({ ...record, data: encoder.encode(record.data) })));
  const fromNode = deaggregate(fromHex(nodeAggregateHex)) ?? [];
  const decoder = new TextDecoder();
  return { aggregateHex: hex(aggregated), fromNode: fromNode.map((record) => ({ ...record, data: decoder.decode(record.data) })) };
};

// Envelope encryption with the page's WebCrypto: seals this text under the key given (the test
// opens it in Node with node:crypto) and opens the envelope the test sealed in Node.
window.envelopeRoundTrip = async ({ keyId, keyHex, text, nodeSealedHex }) => {
  const hex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  const fromHex = (value) => Uint8Array.from(value.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  const encryption = new EnvelopeEncryption(keyProvider(keyId, fromHex(keyHex)));
  const sealed = await encryption.encrypt(new TextEncoder().encode(text));
  const opened = await encryption.decrypt(fromHex(nodeSealedHex));
  return { sealedHex: hex(sealed), fromNode: new TextDecoder().decode(opened) };
};

window.scenarioReady = true;

/** Connects to a server with auth on, signing with the page's WebCrypto: the streams it lists, and what a wrong secret gets. */
window.signedConnect = async ({ serverUrl, credentials }) => {
  const client = await connect(serverUrl, { clientName: 'shardline-browser-test', credentials });
  let streamNames;
  try {
    streamNames = (await client.call('ListStreams', {})).StreamNames;
  } finally {
    client.close();
  }
  try {
    await connect(serverUrl, { credentials: { ...credentials, secretAccessKey: 'not-the-secret-0123456789' } });
    return { streamNames, wrongSecret: 'accepted' };
  } catch (error) {
    return { streamNames, wrongSecret: error.code };
  }
};
