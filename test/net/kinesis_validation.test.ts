import {
  CreateStreamCommand,
  DryRunOperationException,
  KinesisClient,
  PutRecordCommand,
  SubscribeToShardCommand,
  ValidationException,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { INPUT_SHAPES } from '../../src/streams/input_shapes.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { OPERATIONS } from '../../src/net/operations.js';
import { callKinesis, javaCbor, JSON_HEADERS, rawKinesis } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: bad input is refused as Kinesis refuses it, side by side with what AWS documents rather
// than with our own expectations. Method: each expected message is written out by hand here from
// two AWS sources, never derived from src/streams/input_shapes.ts, so a wrong constraint in
// the table fails a test:
// - the constraints of each parameter in the Kinesis API Reference (docs.aws.amazon.com/kinesis/
//   latest/APIReference/API_<Operation>.html: "Length Constraints: Minimum length of 1. Maximum
//   length of 128. Pattern: [a-zA-Z0-9_.-]+", "Valid Range: Minimum value of 1. Maximum value of
//   10000.", "Valid Values: ...", "Required: Yes");
// - AWS's answers as clients have logged them, in its message format: "1 validation error
//   detected: Value 'arn:aws:kinesis:us-east-1:968336292dfd411:stream/XXXXX' at 'streamName'
//   failed to satisfy constraint: Member must satisfy regular expression pattern:
//   [a-zA-Z0-9_.-]+" (a Java SDK log, verbatim in the first case below), "N validation errors
//   detected: ...; ...", "Value null at ... Member must not be null", list items as
//   'records.1.member.partitionKey', blobs as 'java.nio.HeapByteBuffer[pos=0 lim=N cap=N]'.
// Where AWS's order of several errors is not documented, the test checks the set.

let engine: Engine;
let server: KinesisHttpServer;
const STREAM = 'valid';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/valid';

useKinesisServer('shardline-kinesis-validation-', async (running) => {
  ({ engine, server } = running);
  await engine.createStream({ StreamName: STREAM, ShardCount: 1 });
});

const DATA = Buffer.from('hi').toString('base64');
const detected = (...errors: string[]): string =>
  `${errors.length} validation error${errors.length === 1 ? '' : 's'} detected: ${errors.join('; ')}`;

describe("constraints, in AWS's words", () => {
  it.each([
    [
      "a stream ARN where a name goes (AWS's logged answer, verbatim)",
      'DescribeStreamSummary',
      { StreamName: 'arn:aws:kinesis:us-east-1:968336292dfd411:stream/XXXXX' },
      "Value 'arn:aws:kinesis:us-east-1:968336292dfd411:stream/XXXXX' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    ],
    [
      'a missing required member',
      'CreateStream',
      { ShardCount: 1 },
      "Value null at 'streamName' failed to satisfy constraint: Member must not be null",
    ],
    [
      'a JSON null for a required member',
      'GetRecords',
      { ShardIterator: null },
      "Value null at 'shardIterator' failed to satisfy constraint: Member must not be null",
    ],
    [
      'a stream name over 128 characters',
      'DescribeStream',
      { StreamName: 'n'.repeat(129) },
      `Value '${'n'.repeat(129)}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`,
    ],
    [
      'a partition key over 256 characters, in a list item',
      'PutRecords',
      {
        StreamName: STREAM,
        Records: [
          { PartitionKey: 'k', Data: DATA },
          { PartitionKey: 'p'.repeat(257), Data: DATA },
        ],
      },
      `Value '${'p'.repeat(257)}' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256`,
    ],
    [
      'a record over 1 MiB',
      'PutRecord',
      { StreamName: STREAM, PartitionKey: 'k', Data: Buffer.alloc(1048577).toString('base64') },
      "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    ],
    [
      'an empty Records list',
      'PutRecords',
      { StreamName: STREAM, Records: [] },
      "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ],
    [
      'an iterator type not in the enumeration',
      'GetShardIterator',
      { StreamName: STREAM, ShardId: 'shardId-000000000000', ShardIteratorType: 'SOMEWHERE' },
      "Value 'SOMEWHERE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
    ],
    [
      'a sequence number that is not a decimal number',
      'GetShardIterator',
      { StreamName: STREAM, ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '0x1' },
      "Value '0x1' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
    ],
    [
      'a GetRecords limit of 0',
      'GetRecords',
      { ShardIterator: 'x', Limit: 0 },
      "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    ],
    [
      'a GetRecords limit over 10,000',
      'GetRecords',
      { ShardIterator: 'x', Limit: 10001 },
      "Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
    ],
    [
      'a GetRecords iterator over 512 characters',
      'GetRecords',
      { ShardIterator: 'i'.repeat(513) },
      `Value '${'i'.repeat(513)}' at 'shardIterator' failed to satisfy constraint: Member must have length less than or equal to 512`,
    ],
    [
      'a ListTagsForStream limit over 50',
      'ListTagsForStream',
      { StreamName: STREAM, Limit: 51 },
      "Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
    ],
    [
      'a ShardCount of 0',
      'CreateStream',
      { StreamName: 'zero', ShardCount: 0 },
      "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1",
    ],
    [
      'a hash key that is not a decimal number',
      'SplitShard',
      { StreamName: STREAM, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '0x10' },
      "Value '0x10' at 'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
    ],
    [
      'a stream mode not in the enumeration, in a nested structure',
      'UpdateStreamMode',
      { StreamARN: STREAM_ARN, StreamModeDetails: { StreamMode: 'BOTH' } },
      "Value 'BOTH' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
    ],
    [
      'a shard filter without its type',
      'ListShards',
      { StreamName: STREAM, ShardFilter: { ShardId: 'shardId-000000000000' } },
      "Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null",
    ],
    [
      'a malformed stream ARN',
      'ListStreamConsumers',
      { StreamARN: 'arn:aws:kinesis:us-east-1:42:stream/valid' },
      "Value 'arn:aws:kinesis:us-east-1:42:stream/valid' at 'streamARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
    ],
    [
      'an empty tag key in a list of keys',
      'RemoveTagsFromStream',
      { StreamName: STREAM, TagKeys: ['', 'team'] },
      "Value '[, team]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]",
    ],
    [
      'an empty tag map',
      'AddTagsToStream',
      { StreamName: STREAM, Tags: {} },
      "Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ],
    [
      'a tag value over 256 characters',
      'AddTagsToStream',
      { StreamName: STREAM, Tags: { team: 'v'.repeat(257) } },
      `Value '{team=${'v'.repeat(257)}}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]`,
    ],
  ])('%s', async (_case, operation, request, error) => {
    const answer = await callKinesis(server.port, operation, request);
    expect(answer.status).toBe(400);
    expect(answer.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(answer.body).toEqual({ __type: 'ValidationException', message: detected(error) });
  });

  it('names every broken constraint of one value: an empty name breaks its pattern and its length', async () => {
    const answer = await callKinesis(server.port, 'CreateStream', { StreamName: '' });
    expect(answer.body.message).toBe(
      detected(
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
      ),
    );
  });

  it("names several members' errors in one answer", async () => {
    const answer = await callKinesis(server.port, 'GetShardIterator', { StreamName: 'bad name', ShardIteratorType: 'LATEST' });
    const message = answer.body.message as string;
    expect(message.startsWith('2 validation errors detected: ')).toBe(true);
    expect(message.slice('2 validation errors detected: '.length).split('; ').sort()).toEqual([
      "Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      "Value null at 'shardId' failed to satisfy constraint: Member must not be null",
    ]);
  });

  it('names at most 10 errors', async () => {
    const records = Array.from({ length: 12 }, () => ({ PartitionKey: '', Data: DATA }));
    const answer = await callKinesis(server.port, 'PutRecords', { StreamName: STREAM, Records: records });
    const message = answer.body.message as string;
    expect(message.startsWith('10 validation errors detected: ')).toBe(true);
    const errors = message.slice('10 validation errors detected: '.length).split('; ');
    expect(errors).toHaveLength(10);
    expect(errors[9]).toBe(
      "Value '' at 'records.10.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it("quotes a list of more than 500 records by its entries' type", async () => {
    const answer = await callKinesis(server.port, 'PutRecords', {
      StreamName: STREAM,
      Records: Array.from({ length: 501 }, () => ({ PartitionKey: 'k', Data: DATA })),
    });
    expect(answer.body.message).toMatch(
      /^1 validation error detected: Value '\[PutRecordsRequestEntry(, PutRecordsRequestEntry){500}\]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/,
    );
  });
});

describe('what is checked, and when', () => {
  it('validates before it looks the stream up, as AWS does', async () => {
    const bad = await callKinesis(server.port, 'PutRecord', { StreamName: 'no-such-stream', PartitionKey: 'p'.repeat(257), Data: DATA });
    expect(bad.body.__type).toBe('ValidationException');
    const good = await callKinesis(server.port, 'PutRecord', { StreamName: 'no-such-stream', PartitionKey: 'k', Data: DATA });
    expect(good.body).toEqual({
      __type: 'ResourceNotFoundException',
      message: 'Stream no-such-stream under account 000000000000 not found.',
    });
  });

  it('stores nothing of a PutRecords with one bad entry', async () => {
    const answer = await callKinesis(server.port, 'PutRecords', {
      StreamName: STREAM,
      Records: [
        { PartitionKey: 'k', Data: DATA },
        { PartitionKey: 'k', Data: DATA, ExplicitHashKey: '-1' },
      ],
    });
    expect(answer.body.__type).toBe('ValidationException');
    const iterator = await engine.getShardIterator({
      StreamName: STREAM,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    expect((await engine.getRecords({ ShardIterator: iterator.ShardIterator })).Records).toHaveLength(0);
  });

  it('ignores members the operation does not have, as AWS does', async () => {
    const answer = await callKinesis(server.port, 'DescribeStreamSummary', { StreamName: STREAM, Bogus: { nested: [1] } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ StreamDescriptionSummary: { StreamName: STREAM } });
  });

  it.each([
    [
      'a string where an integer goes',
      'CreateStream',
      { StreamName: 'typed', ShardCount: '2' },
      "the value at 'shardCount' must be an integer, got a string",
    ],
    ['a fraction where an integer goes', 'ListStreams', { Limit: 1.5 }, "the value at 'limit' must be an integer, got the number 1.5"],
    [
      'a structure where a list goes',
      'PutRecords',
      { StreamName: STREAM, Records: { PartitionKey: 'k' } },
      "the value at 'records' must be a list, got a structure",
    ],
    [
      'a string where a list item structure goes',
      'PutRecords',
      { StreamName: STREAM, Records: ['k'] },
      "the value at 'records.1.member' must be a structure, got a string",
    ],
    [
      'a number where a tag value goes',
      'AddTagsToStream',
      { StreamName: STREAM, Tags: { team: 7 } },
      "the value at 'tags.team' must be a string, got the number 7",
    ],
    [
      'a number where a boolean goes',
      'DeleteStream',
      { StreamName: STREAM, EnforceConsumerDeletion: 1 },
      "the value at 'enforceConsumerDeletion' must be a boolean, got the number 1",
    ],
    [
      'a null list item',
      'PutRecords',
      { StreamName: STREAM, Records: [null] },
      "the value at 'records.1.member' must be a structure, got null",
    ],
    [
      'a blob that is not base64, among others',
      'PutRecords',
      {
        StreamName: STREAM,
        Records: [
          { PartitionKey: 'k', Data: DATA },
          { PartitionKey: 'k', Data: 'aG=k' },
        ],
      },
      "the value at 'records.2.member.data' must be a base64-encoded blob",
    ],
  ])("answers %s with a SerializationException, as AWS's deserializer does", async (_case, operation, request, message) => {
    const answer = await callKinesis(server.port, operation, request);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: 'SerializationException', message });
  });

  it('has an input shape for every operation it serves', () => {
    expect(Object.keys(INPUT_SHAPES).sort()).toEqual([...Object.keys(OPERATIONS), 'SubscribeToShard'].sort());
  });
});

describe("rules the API reference states in prose, with AWS's exceptions", () => {
  it.each([
    [
      'ListShards with neither NextToken nor a stream',
      'ListShards',
      {},
      'InvalidArgumentException',
      'Either NextToken or StreamName should be provided.',
    ],
    [
      'ListShards with both NextToken and a stream',
      'ListShards',
      { StreamName: STREAM, NextToken: `${STREAM}/shardId-000000000000` },
      'InvalidArgumentException',
      'NextToken and StreamName cannot be provided together.',
    ],
    [
      'ListShards with both NextToken and a stream ARN',
      'ListShards',
      { StreamARN: STREAM_ARN, NextToken: `${STREAM}/shardId-000000000000` },
      'InvalidArgumentException',
      'NextToken and StreamARN cannot be provided together.',
    ],
    [
      'ListShards with both NextToken and a filter',
      'ListShards',
      { NextToken: `${STREAM}/shardId-000000000000`, ShardFilter: { Type: 'AT_LATEST' } },
      'InvalidArgumentException',
      'NextToken and ShardFilter cannot be provided together.',
    ],
    [
      'a retention of 0 hours',
      'IncreaseStreamRetentionPeriod',
      { StreamName: STREAM, RetentionPeriodHours: 0 },
      'InvalidArgumentException',
      'Minimum allowed retention period is 24 hours. Requested retention period (0 hours) is too short.',
    ],
    [
      'a retention under 24 hours',
      'DecreaseStreamRetentionPeriod',
      { StreamName: STREAM, RetentionPeriodHours: 12 },
      'InvalidArgumentException',
      'Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.',
    ],
    [
      'a retention over 8,760 hours',
      'IncreaseStreamRetentionPeriod',
      { StreamName: STREAM, RetentionPeriodHours: 9000 },
      'InvalidArgumentException',
      'Maximum allowed retention period is 8760 hours. Requested retention period (9000 hours) is too long.',
    ],
  ])('%s', async (_case, operation, request, type, message) => {
    const answer = await callKinesis(server.port, operation, request);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: type, message });
  });

  it('answers more shards than a stream may have as a limit, not bad input', async () => {
    const answer = await callKinesis(server.port, 'CreateStream', { StreamName: 'huge', ShardCount: 501 });
    expect(answer.body.__type).toBe('LimitExceededException');
    expect((await callKinesis(server.port, 'DescribeStreamSummary', { StreamName: 'huge' })).body.__type).toBe('ResourceNotFoundException');
  });
});

/** Every record stored in `stream`'s first shard, as hex. */
async function storedHex(stream: string): Promise<string[]> {
  const iterator = await engine.getShardIterator({
    StreamName: stream,
    ShardId: 'shardId-000000000000',
    ShardIteratorType: 'TRIM_HORIZON',
  });
  return (await engine.getRecords({ ShardIterator: iterator.ShardIterator })).Records.map((record) =>
    Buffer.from(record.Data).toString('hex'),
  );
}

describe('base64 blobs, in the standard alphabet only, as AWS reads them', () => {
  // 0xfb 0xff 0xbf is '+/+/' in base64 and '-_-_' in base64url, which Node's decoder also takes.
  const STANDARD = '+/+/';
  const URL_SAFE = '-_-_';

  it.each([
    ['PutRecord', { PartitionKey: 'k', Data: URL_SAFE }, "the value at 'data' must be a base64-encoded blob"],
    ['PutRecord', { PartitionKey: 'k', Data: 'aGk_' }, "the value at 'data' must be a base64-encoded blob"],
    [
      'PutRecords',
      {
        Records: [
          { PartitionKey: 'k', Data: STANDARD },
          { PartitionKey: 'k', Data: `${STANDARD}-A==` },
          { PartitionKey: 'k', Data: DATA },
        ],
      },
      "the value at 'records.2.member.data' must be a base64-encoded blob",
    ],
  ])("refuses base64url's - and _ in %s with a SerializationException, and stores nothing: %#", async (operation, request, message) => {
    const stream = 'base64-refused';
    if (!engine.listStreams().StreamNames.includes(stream)) await engine.createStream({ StreamName: stream, ShardCount: 1 });
    const answer = await callKinesis(server.port, operation, { StreamName: stream, ...request });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: 'SerializationException', message });
    expect(await storedHex(stream)).toEqual([]);
  });

  it("stores the standard alphabet's + and / byte for byte, alone and in a batch", async () => {
    const stream = 'base64-standard';
    await engine.createStream({ StreamName: stream, ShardCount: 1 });
    expect((await callKinesis(server.port, 'PutRecord', { StreamName: stream, PartitionKey: 'k', Data: STANDARD })).status).toBe(200);
    const batch = await callKinesis(server.port, 'PutRecords', {
      StreamName: stream,
      Records: [
        { PartitionKey: 'k', Data: STANDARD },
        { PartitionKey: 'k', Data: 'aGk=' },
      ],
    });
    expect(batch.body.FailedRecordCount).toBe(0);
    expect(await storedHex(stream)).toEqual(['fbffbf', 'fbffbf', '6869']);
  });
});

describe('tag characters, as Kinesis refuses them', () => {
  const INVALID_TAGS = 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.';
  const STREAM_TAGGED = 'tag-characters';

  beforeAll(async () => {
    await engine.createStream({ StreamName: STREAM_TAGGED, ShardCount: 1 });
  });

  const BAD = ['abc;def', 'abc,def', 'abc\tdef', 'abc\ndef'];
  it.each(
    BAD.flatMap(
      (bad) =>
        [
          ['AddTagsToStream', 'a key', { StreamName: STREAM_TAGGED, Tags: { [bad]: 'v' } }],
          ['AddTagsToStream', 'a value', { StreamName: STREAM_TAGGED, Tags: { good: 'v', other: bad } }],
          ['RemoveTagsFromStream', 'a key', { StreamName: STREAM_TAGGED, TagKeys: ['good', bad] }],
          ['CreateStream', 'a key', { StreamName: 'tagged-badly', ShardCount: 1, Tags: { [bad]: 'v' } }],
          ['CreateStream', 'a value', { StreamName: 'tagged-badly', ShardCount: 1, Tags: { good: bad } }],
        ] as const,
    ),
  )('refuses %s with %s holding a ; , tab or newline, and changes nothing: %#', async (operation, _where, request) => {
    const answer = await callKinesis(server.port, operation, request);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ __type: 'InvalidArgumentException', message: INVALID_TAGS });
    expect(engine.listTagsForStream({ StreamName: STREAM_TAGGED }).Tags).toEqual([]);
    expect(engine.listStreams().StreamNames).not.toContain('tagged-badly');
  });

  it('takes Unicode letters, digits, white space and _ . / = + - % @', async () => {
    const tags = { 'ü0 _.': 'Ωmega 7', '/=+-%@': '', 'key\u00a0nbsp': 'ß' };
    expect((await callKinesis(server.port, 'AddTagsToStream', { StreamName: STREAM_TAGGED, Tags: tags })).status).toBe(200);
    const listed = engine.listTagsForStream({ StreamName: STREAM_TAGGED }).Tags;
    expect(Object.fromEntries(listed.map(({ Key, Value }) => [Key, Value]))).toEqual(tags);
    expect((await callKinesis(server.port, 'RemoveTagsFromStream', { StreamName: STREAM_TAGGED, TagKeys: Object.keys(tags) })).status).toBe(
      200,
    );
    expect(engine.listTagsForStream({ StreamName: STREAM_TAGGED }).Tags).toEqual([]);
  });

  it('names broken model constraints first, as a ValidationException', async () => {
    const key = `${'k'.repeat(128)};`;
    const answer = await callKinesis(server.port, 'AddTagsToStream', { StreamName: STREAM_TAGGED, Tags: { [key]: 'v' } });
    expect(answer.body).toEqual({
      __type: 'ValidationException',
      message: detected(
        `Value '{${key}=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]`,
      ),
    });
  });
});

describe('members of the current API', () => {
  it('checks a DryRun request, stores nothing, and answers DryRunOperationException', async () => {
    const answer = await callKinesis(server.port, 'PutRecords', {
      StreamName: STREAM,
      DryRun: true,
      Records: [{ PartitionKey: 'k', Data: DATA }],
    });
    expect(answer.body).toEqual({
      __type: 'DryRunOperationException',
      message: 'The request was rejected because the DryRun parameter was specified.',
    });
    const iterator = await engine.getShardIterator({
      StreamName: STREAM,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    expect((await engine.getRecords({ ShardIterator: iterator.ShardIterator })).Records).toHaveLength(0);
    expect(
      (await callKinesis(server.port, 'PutRecord', { StreamName: 'no-such-stream', DryRun: true, PartitionKey: 'k', Data: DATA })).body
        .__type,
    ).toBe('ResourceNotFoundException');
    expect(
      (
        await callKinesis(server.port, 'GetShardIterator', {
          StreamName: STREAM,
          DryRun: true,
          ShardId: 'shardId-000000000009',
          ShardIteratorType: 'LATEST',
        })
      ).body.__type,
    ).toBe('ResourceNotFoundException');
    expect((await callKinesis(server.port, 'PutRecord', { StreamName: STREAM, DryRun: false, PartitionKey: 'k', Data: DATA })).status).toBe(
      200,
    );
  });

  it('takes tags on CreateStream and ignores the reserved StreamId', async () => {
    expect((await callKinesis(server.port, 'CreateStream', { StreamName: 'tagged', ShardCount: 1, Tags: { team: 'data' } })).status).toBe(
      200,
    );
    const tags = await callKinesis(server.port, 'ListTagsForStream', { StreamName: 'tagged', StreamId: 'reserved' });
    expect(tags.body).toEqual({ Tags: [{ Key: 'team', Value: 'data' }], HasMoreTags: false });
  });

  it.each([
    [
      'CreateStream',
      { StreamName: 'sized', ShardCount: 1, MaxRecordSizeInKiB: 2048 },
      'MaxRecordSizeInKiB is not supported by shardline: records are at most 1 MiB',
    ],
    [
      'CreateStream',
      { StreamName: 'warm', StreamModeDetails: { StreamMode: 'ON_DEMAND' }, WarmThroughputMiBps: 10 },
      'WarmThroughputMiBps is not supported by shardline: there is no warm throughput to provision on one machine',
    ],
    [
      'RegisterStreamConsumer',
      { StreamARN: STREAM_ARN, ConsumerName: 'tagged', Tags: { a: 'b' } },
      'Tags is not supported by shardline: consumers carry no tags here',
    ],
  ])('refuses %s members for features it does not have, by name: %#', async (operation, request, message) => {
    const answer = await callKinesis(server.port, operation, request);
    expect(answer.body).toEqual({ __type: 'InvalidArgumentException', message });
    expect((await callKinesis(server.port, 'ListStreams', {})).body.StreamNames).not.toContain(
      (request as { StreamName?: string }).StreamName ?? '',
    );
  });
});

describe('through the AWS SDK and in CBOR', () => {
  let client: KinesisClient;

  beforeAll(() => {
    client = new KinesisClient({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
  });

  afterAll(() => client?.destroy());

  it("raises the SDK's ValidationException with AWS's message", async () => {
    const error = await client.send(new CreateStreamCommand({ StreamName: 'bad name', ShardCount: 1 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationException);
    expect((error as ValidationException).message).toBe(
      detected(
        "Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      ),
    );
    const put = await client
      .send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: '', Data: Buffer.from('x') }))
      .catch((caught: unknown) => caught);
    expect(put).toBeInstanceOf(ValidationException);
  });

  it("raises the SDK's DryRunOperationException", async () => {
    const dry = client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from('x'), DryRun: true }));
    await expect(dry).rejects.toBeInstanceOf(DryRunOperationException);
  });

  it('refuses a malformed consumer ARN for SubscribeToShard before subscribing', async () => {
    const subscribing = client.send(
      new SubscribeToShardCommand({
        ConsumerARN: `${STREAM_ARN}/consumer/c`,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'LATEST' },
      }),
    );
    await expect(subscribing).rejects.toBeInstanceOf(ValidationException);
  });

  it('refuses a CBOR map with keys that are not strings where a structure goes', async () => {
    const headers = { ...JSON_HEADERS, 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-target': 'Kinesis_20131202.AddTagsToStream' };
    const answer = await rawKinesis(
      server.port,
      headers,
      javaCbor.encode({ StreamName: STREAM, Tags: new Map<unknown, string>([[1, 'one']]) }),
    );
    expect(javaCbor.decode(answer.bytes)).toEqual({
      __type: 'SerializationException',
      message: "the value at 'tags' must be a map, got a Map",
    });
  });

  it("answers a CBOR request's validation errors in CBOR", async () => {
    const headers = { ...JSON_HEADERS, 'content-type': 'application/x-amz-cbor-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecord' };
    const answer = await rawKinesis(
      server.port,
      headers,
      javaCbor.encode({ Data: Buffer.alloc(1048577), StreamName: STREAM, PartitionKey: 'k' }),
    );
    expect(answer.headers['content-type']).toBe('application/x-amz-cbor-1.1');
    expect(answer.status).toBe(400);
    expect(javaCbor.decode(answer.bytes)).toEqual({
      __type: 'ValidationException',
      message: detected(
        "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
      ),
    });
  });
});
