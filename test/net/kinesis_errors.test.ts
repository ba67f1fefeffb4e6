import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { errorFromCode } from '../../src/errors.js';
import type { KinesisHttpServer } from '../../src/net/kinesis/server.js';
import { callKinesis } from '../helpers/kinesis_requests.js';
import { useKinesisServer } from '../helpers/kinesis_server.js';

// Goal: the HTTP status of an error follows its fault: the caller's errors are 400 with their
// own type, the server's are 500 InternalFailure, which the AWS SDKs retry. Method: a real
// server in front of an engine that is then closed, so that its requests meet the server-side
// ClosedError; a client error beside it; and the fault of each Kinesis error as it comes back
// from a thread or a wire by its code.

let engine: Engine;
let server: KinesisHttpServer;
useKinesisServer('shardline-kinesis-errors-', (running) => {
  ({ engine, server } = running);
});

describe('the status of an error follows its fault', () => {
  it("keeps each Kinesis error's fault when it is made again from its code", () => {
    const clients = [
      'InvalidArgumentException',
      'ResourceNotFoundException',
      'ResourceInUseException',
      'LimitExceededException',
      'ProvisionedThroughputExceededException',
      'ExpiredIteratorException',
      'ValidationException',
      'AccessDeniedException',
      'SerializationException',
      'UnknownOperationException',
      'MissingAuthenticationTokenException',
      'IncompleteSignatureException',
    ];
    const servers = ['InternalFailure', 'Closed', 'StorageFull', 'StorageError', 'CorruptLog', 'NoSuchCode'];
    expect(clients.map((code) => [code, errorFromCode(code, 'm').fault])).toEqual(clients.map((code) => [code, 'client']));
    expect(servers.map((code) => [code, errorFromCode(code, 'm').fault])).toEqual(servers.map((code) => [code, 'server']));
  });

  it("answers a client fault with 400 and its type, and a closed engine's requests with 500 InternalFailure", async () => {
    const missing = await callKinesis(server.port, 'DescribeStreamSummary', { StreamName: 'no-such-stream' });
    expect({ status: missing.status, type: missing.body.__type }).toEqual({ status: 400, type: 'ResourceNotFoundException' });
    await engine.close();
    const closed = await callKinesis(server.port, 'DescribeStreamSummary', { StreamName: 'no-such-stream' });
    expect({ status: closed.status, header: closed.headers['x-amzn-errortype'], body: closed.body }).toEqual({
      status: 500,
      header: 'InternalFailure',
      body: { __type: 'InternalFailure', message: 'the engine is closed' },
    });
    const client = new KinesisClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    try {
      const error = (await client
        .send(new DescribeStreamSummaryCommand({ StreamName: 'no-such-stream' }))
        .catch((caught: unknown) => caught)) as { name: string; $fault: string };
      expect({ name: error.name, fault: error.$fault }).toEqual({ name: 'InternalFailure', fault: 'server' });
    } finally {
      client.destroy();
    }
  });
});
