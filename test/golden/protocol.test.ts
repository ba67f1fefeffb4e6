import { describe, expect, it } from 'vitest';
import { ShardlineClient, putResults } from '../../src/client/client.js';
import { ProtocolError, Transport, errorOfFrame, type WebSocketLike } from '../../src/client/transport.js';
import { ResourceNotFoundException } from '../../src/errors.js';
import { decodeCall, decodeJsonFrame, encodeCall, encodeJsonFrame } from '../../src/net/messages/call.js';
import { decodeError, encodeError } from '../../src/net/messages/error.js';
import { decodeHello, decodeHelloOk, encodeHello, encodeHelloOk } from '../../src/net/messages/hello.js';
import { PutFrameBuilder, decodePut, decodePutResult, encodePutResult } from '../../src/net/messages/put.js';
import {
  decodeGetRecords,
  decodeRecords,
  decodeSubscribe,
  decodeSubscribed,
  encodeCancel,
  encodeGetRecords,
  encodeRecordsHeader,
  encodeSubscribe,
  encodeSubscribed,
} from '../../src/net/messages/records.js';
import { FrameReader, FrameWriter, Opcode } from '../../src/net/protocol.js';
import { GOLDEN_BATCH, GOLDEN_HASH_KEY, GOLDEN_TIMESTAMP_MS, hex } from './batch_bytes.js';

// Goal: every message of docs/PROTOCOL.md has the bytes the document lays out, in the manner of
// kafkajs' protocol fixtures: each frame is written here by hand from the document, then the
// project's encoder must produce exactly it and its decoder must read back what was meant.
// Bodies are laid out one field a line, with the position the document gives where it gives one.

/** The UTF-8 of a text field, as hex, so that a frame reads as the document does. */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('hex');
const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A frame: the header of "Frame" (flags and reserved 0, the request id little-endian), then the body. */
function frame(opcode: string, requestIdLe: string, ...body: string[]): Buffer {
  return hex(opcode, '00', '0000', requestIdLe, ...body);
}

const reader = (bytes: Uint8Array): FrameReader => new FrameReader(bytes);

/** The sequence number "Requests and answers" defines, computed here rather than by src/streams. */
const sequenceNumber = (serial: number, offset: number): string =>
  (4n * 10n ** 55n + BigInt(serial) * 2n ** 64n + BigInt(offset)).toString();

const HELLO = frame(
  '01', // opcode HELLO
  '00000000', // requestId 0: the clients greet with 0
  '0100', // 0 version 1
  '0600', // 2 nameLength
  utf8('golden'), // 4 client name
);

const HELLO_OK = frame(
  '81', // opcode HELLO_OK
  '00000000', // requestId: HELLO's
  '0100', // 0 version 1
  '00008000', // 2 maxFrameBytes 8 MiB
  '00010000', // 6 maxInFlight 256
  '0f00', // 10 nameLength
  utf8('shardline/0.1.0'), // 12 server name and version
);

/** A WebSocket that keeps what the client sends and hands it what the test answers. */
function fakeSocket(): { socket: WebSocketLike; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const socket: WebSocketLike = {
    binaryType: 'blob',
    readyState: 1,
    bufferedAmount: 0,
    send: (data) => sent.push(Buffer.from(data)),
    close: () => undefined,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  return { socket, sent };
}

/** A client that never connects: PUT frames are built without a socket. */
const offlineClient = (): ShardlineClient =>
  new ShardlineClient('ws://golden.invalid', {
    webSocket: () => {
      throw new Error('a golden test opens no socket');
    },
  });

describe('golden frames (docs/PROTOCOL.md)', () => {
  it('Frame: opcode, flags, reserved and requestId at 0, 1, 2 and 4, little-endian, then the body', () => {
    const header = hex(
      '02', // 0 opcode CALL
      '00', // 1 flags
      '0000', // 2 reserved
      '04030201', // 4 requestId 0x01020304
    );
    expect(hexOf(new FrameWriter(Opcode.CALL, 0x0102_0304).finish())).toBe(hexOf(header));
    // Non-zero flags and reserved must be readable, so that the server can refuse them under the id.
    const { opcode, flags, reserved, requestId, remaining } = reader(hex('02', '01', '0280', '04030201'));
    expect({ opcode, flags, reserved, requestId, remaining }).toEqual({
      opcode: 2,
      flags: 1,
      reserved: 0x8002,
      requestId: 0x0102_0304,
      remaining: 0,
    });
  });

  it('HELLO: the bytes the client sends first, and what the server reads in them', async () => {
    expect(hexOf(encodeHello(0, { version: 1, clientName: 'golden' }))).toBe(hexOf(HELLO));
    expect(decodeHello(reader(HELLO))).toEqual({ version: 1, clientName: 'golden' });
    const { socket, sent } = fakeSocket();
    const transport = new Transport('ws://golden.invalid', () => socket, { clientName: 'golden' });
    const connected = transport.connect();
    socket.onopen?.({});
    socket.onmessage?.({ data: Uint8Array.from(HELLO_OK).buffer });
    await connected;
    transport.close();
    expect(sent.map(hexOf)).toEqual([hexOf(HELLO)]);
  });

  it('HELLO_OK', () => {
    const ok = { version: 1, maxFrameBytes: 8 * 1024 * 1024, maxInFlight: 256, serverName: 'shardline/0.1.0' };
    expect(hexOf(encodeHelloOk(0, ok))).toBe(hexOf(HELLO_OK));
    expect(decodeHelloOk(reader(HELLO_OK))).toEqual(ok);
  });

  it('CALL, with Data as base64', () => {
    const bytes = frame(
      '02', // opcode CALL
      '01000000', // requestId 1
      '09', // opLength
      utf8('PutRecord'), // operation name
      utf8('{"StreamName":"golden","PartitionKey":"a","Data":"eHl6"}'), // JSON request: "xyz" in base64
    );
    const request = { StreamName: 'golden', PartitionKey: 'a', Data: new Uint8Array(Buffer.from('xyz')) };
    expect(hexOf(encodeCall(1, 'PutRecord', request))).toBe(hexOf(bytes));
    expect(decodeCall(reader(bytes))).toEqual({ operation: 'PutRecord', request });
  });

  it('RESULT, with a ...Timestamp as epoch milliseconds', () => {
    const bytes = frame(
      '82', // opcode RESULT
      '01000000', // requestId: the CALL's
      utf8('{"StreamDescriptionSummary":{"StreamName":"golden","StreamCreationTimestamp":1700000000123}}'), // JSON response
    );
    const response = { StreamDescriptionSummary: { StreamName: 'golden', StreamCreationTimestamp: new Date(GOLDEN_TIMESTAMP_MS) } };
    expect(hexOf(encodeJsonFrame(Opcode.RESULT, 1, response))).toBe(hexOf(bytes));
    expect(decodeJsonFrame(reader(bytes))).toEqual(response);
  });

  it('PUT: records in the on-disk layout, then each hash key big-endian, as the client builds it', () => {
    const bytes = frame(
      '03', // opcode PUT
      '02000000', // requestId 2
      '0600', // 0 streamLength
      utf8('golden'), // 2 stream name
      '02000000', // recordCount
      // record 0 (docs/FORMAT.md, "Record"): dataLength | keyLength | flags | reserved | key | data
      ...['03000000', '0100', '00', '00', utf8('a'), utf8('xyz')],
      // record 1: flags bit 0, so its 16-byte explicit hash key follows, little-endian
      ...['00000000', '0200', '01', '00', '01000000000000000000000000000080', utf8('é')],
      '0cc175b9c0f1b6a831c399e269772661', // record 0's hash key: MD5 of "a"
      '80000000000000000000000000000001', // record 1's: its ExplicitHashKey, 2^127 + 1
    );
    const client = offlineClient();
    const builder = new PutFrameBuilder('golden');
    client.addRecord(builder, { partitionKey: 'a', data: Buffer.from('xyz') });
    client.addRecord(builder, { partitionKey: 'é', data: new Uint8Array(0), explicitHashKey: (2n ** 127n + 1n).toString() });
    expect(hexOf(builder.finish(2))).toBe(hexOf(bytes));
    const put = decodePut(reader(bytes));
    expect({ ...put, records: hexOf(put.records), hashKeys: hexOf(put.hashKeys) }).toEqual({
      stream: 'golden',
      recordCount: 2,
      records: hexOf(bytes.subarray(20, bytes.length - 32)),
      hashKeys: hexOf(bytes.subarray(bytes.length - 32)),
    });
  });

  it('PUT_RESULT: the runs per shard and the failures, and the ids and sequence numbers they give', () => {
    const bytes = frame(
      '83', // opcode PUT_RESULT
      '02000000', // requestId: the PUT's
      '0100', // 0 shardCount
      ...['03000000', '05000000', '01000000'], // shard 0: serial 3 | firstOffset low | high: 2^32 + 5
      '03000000', // recordCount
      ...['0000', 'ffff', '0000'], // slots: records 0 and 2 in shard 0, record 1 failed
      '01000000', // failureCount
      ...['01000000', '0f', utf8('InternalFailure'), '0200', utf8('é')], // recordIndex | codeLength | code | messageLength | message
    );
    const result = {
      shards: [{ serial: 3, firstOffset: 2 ** 32 + 5 }],
      slots: Uint16Array.of(0, 0xffff, 0),
      failures: [{ index: 1, code: 'InternalFailure', message: 'é' }],
    };
    expect(hexOf(encodePutResult(2, result))).toBe(hexOf(bytes));
    const decoded = decodePutResult(reader(bytes));
    expect(decoded).toEqual(result);
    // The second record of the run is firstOffset + 1: "position k among those with slot s".
    expect(putResults(decoded)).toEqual([
      { shardId: 'shardId-000000000003', sequenceNumber: sequenceNumber(3, 2 ** 32 + 5) },
      { errorCode: 'InternalFailure', errorMessage: 'é', retriable: true },
      { shardId: 'shardId-000000000003', sequenceNumber: sequenceNumber(3, 2 ** 32 + 6) },
    ]);
    expect(sequenceNumber(3, 2 ** 32 + 5)).toHaveLength(56);
  });

  it('GET_RECORDS', () => {
    const bytes = frame(
      '04', // opcode GET_RECORDS
      '03000000', // requestId 3
      '64000000', // limit 100
      utf8('iterator-é'), // shard iterator, the rest of the frame
    );
    expect(hexOf(encodeGetRecords(3, 'iterator-é', 100))).toBe(hexOf(bytes));
    expect(decodeGetRecords(reader(bytes))).toEqual({ limit: 100, shardIterator: 'iterator-é' });
  });

  it('RECORDS: the header, then whole batches as stored, of which only [fromOffset, toOffset) is read', () => {
    const header = frame(
      '84', // opcode RECORDS
      '03000000', // requestId: the GET_RECORDS'
      '03000000', // 0 shard serial
      ...['03000000', '01000000'], // 4 fromOffset low, 8 high: the golden batch's second record
      ...['04000000', '01000000'], // 12 toOffset low, 16 high
      'e8030000', // 20 millisBehindLatest 1,000
      ...['0400', utf8('next')], // 24 nextIteratorLength, next shard iterator
      '00000000', // childShardsLength: no ChildShards
    );
    const fields = { shardSerial: 3, fromOffset: 2 ** 32 + 3, toOffset: 2 ** 32 + 4, millisBehindLatest: 1000 };
    const encoded = encodeRecordsHeader(Opcode.RECORDS, 3, { ...fields, nextShardIterator: 'next', childShards: null });
    expect(hexOf(encoded)).toBe(hexOf(header));
    const decoded = decodeRecords(reader(Buffer.concat([header, GOLDEN_BATCH])));
    const records = decoded.records.map((record) => ({
      ...record,
      data: hexOf(record.data),
      explicitHashKey: hexOf(record.explicitHashKey!),
    }));
    expect({ ...decoded, records }).toEqual({
      ...fields,
      nextShardIterator: 'next',
      childShards: null,
      records: [
        { offset: 2 ** 32 + 3, timestampMs: GOLDEN_TIMESTAMP_MS, partitionKey: 'é', data: '', explicitHashKey: hexOf(GOLDEN_HASH_KEY) },
      ],
    });
  });

  it('EVENT: the records body with no iterator; the last one of a closed shard carries ChildShards', () => {
    const childShards = [{ ShardId: 'shardId-000000000004', ParentShards: ['shardId-000000000003'] }];
    const bytes = frame(
      '85', // opcode EVENT
      '04000000', // requestId: the SUBSCRIBE's
      '03000000', // 0 shard serial
      ...['04000000', '01000000'], // 4 fromOffset: the shard's end
      ...['04000000', '01000000'], // 12 toOffset: no records
      '00000000', // 20 millisBehindLatest
      '0000', // 24 nextIteratorLength: none in an EVENT
      '4c000000', // childShardsLength: 76 bytes of JSON
      utf8('[{"ShardId":"shardId-000000000004","ParentShards":["shardId-000000000003"]}]'),
    );
    const fields = {
      shardSerial: 3,
      fromOffset: 2 ** 32 + 4,
      toOffset: 2 ** 32 + 4,
      millisBehindLatest: 0,
      nextShardIterator: null,
      childShards,
    };
    expect(hexOf(encodeRecordsHeader(Opcode.EVENT, 4, fields))).toBe(hexOf(bytes));
    expect(decodeRecords(reader(bytes))).toEqual({ ...fields, records: [] });
  });

  it('SUBSCRIBE, with Timestamp as epoch milliseconds', () => {
    const consumerARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/golden/consumer/c:1700000000';
    const bytes = frame(
      '05', // opcode SUBSCRIBE
      '04000000', // requestId 4
      utf8(
        `{"ConsumerARN":"${consumerARN}","ShardId":"shardId-000000000003","StartingPosition":{"Type":"AT_TIMESTAMP","Timestamp":1700000000123}}`,
      ),
    );
    const request = {
      ConsumerARN: consumerARN,
      ShardId: 'shardId-000000000003',
      StartingPosition: { Type: 'AT_TIMESTAMP', Timestamp: new Date(GOLDEN_TIMESTAMP_MS) },
    };
    expect(hexOf(encodeSubscribe(4, request))).toBe(hexOf(bytes));
    expect(decodeSubscribe(reader(bytes))).toEqual(request);
  });

  it('SUBSCRIBED', () => {
    const bytes = frame(
      '87', // opcode SUBSCRIBED
      '04000000', // requestId: the SUBSCRIBE's
      '03000000', // 0 shard serial
      ...['05000000', '01000000'], // 4 startOffset low, 8 high: 2^32 + 5
    );
    expect(hexOf(encodeSubscribed(4, { shardSerial: 3, startOffset: 2 ** 32 + 5 }))).toBe(hexOf(bytes));
    expect(decodeSubscribed(reader(bytes))).toEqual({ shardSerial: 3, startOffset: 2 ** 32 + 5 });
  });

  it('CANCEL: a header alone, its requestId naming the subscription', () => {
    const bytes = frame(
      '06', // opcode CANCEL
      '04000000', // requestId: the SUBSCRIBE's
    );
    expect(hexOf(encodeCancel(4))).toBe(hexOf(bytes));
    const { opcode, requestId, remaining } = reader(bytes);
    expect({ opcode, requestId, remaining }).toEqual({ opcode: Opcode.CANCEL, requestId: 4, remaining: 0 });
  });

  it('END', () => {
    const bytes = frame(
      '86', // opcode END
      '04000000', // requestId: the subscription's
      utf8('{"reason":"shard-ended"}'),
    );
    expect(hexOf(encodeJsonFrame(Opcode.END, 4, { reason: 'shard-ended' }))).toBe(hexOf(bytes));
    expect(decodeJsonFrame(reader(bytes))).toEqual({ reason: 'shard-ended' });
  });

  it('ERROR: a retriable protocol code and a Kinesis name, as the client raises them', () => {
    const slowDown = frame(
      '8f', // opcode ERROR
      '02000000', // requestId: the refused request's
      '01', // 0 flags: bit 0, retriable
      '08', // 1 codeLength
      utf8('SlowDown'), // 2 code
      utf8('é'), // message, the rest of the frame
    );
    const notFound = frame('8f', '03000000', '00', '19', utf8('ResourceNotFoundException'), utf8('no stream'));
    expect(hexOf(encodeError(2, { code: 'SlowDown', message: 'é', retriable: true }))).toBe(hexOf(slowDown));
    expect(hexOf(encodeError(3, { code: 'ResourceNotFoundException', message: 'no stream', retriable: false }))).toBe(hexOf(notFound));
    expect(decodeError(reader(slowDown))).toEqual({ code: 'SlowDown', message: 'é', retriable: true });
    const raised = [errorOfFrame(reader(slowDown)), errorOfFrame(reader(notFound))];
    expect(raised[0]).toBeInstanceOf(ProtocolError);
    expect(raised[1]).toBeInstanceOf(ResourceNotFoundException);
    expect(raised.map(({ code, message, retriable }) => ({ code, message, retriable }))).toEqual([
      { code: 'SlowDown', message: 'é', retriable: true },
      { code: 'ResourceNotFoundException', message: 'no stream', retriable: false },
    ]);
  });
});
