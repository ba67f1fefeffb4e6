/*
 * Where a flow's records go (docs/AGENT.md), by the configuration's endpoints: a `kinesisStream`
 * to shardline's WebSocket (`kinesis.endpoint` ws:// or wss://) or to any Kinesis HTTP endpoint
 * through the AWS SDK (http(s)://, AWS itself when no endpoint is given); a `deliveryStream` to
 * the Firehose API (`firehose.endpoint`). Each answers per record, as PutRecords does, so a
 * partial failure retries only the records refused.
 */
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ClientPutResult, ClientRecord } from '../client/client.js';
import { KinesisApiSink } from '../client/kinesis_sink.js';
import { connect } from '../client/node.js';
import type { AgentConfig, Destination } from './agent_config.js';

export interface Sender {
  /** The Kinesis Agent's dimension: `KinesisStream:<name>` or `DeliveryStream:<name>`. */
  readonly label: string;
  put(records: readonly ClientRecord[]): Promise<readonly ClientPutResult[]>;
  close(): Promise<void>;
}

export async function openSender(config: AgentConfig, destination: Destination): Promise<Sender> {
  if (destination.kind === 'deliveryStream') return firehoseSender(config, destination.name);
  const endpoint = config.kinesisEndpoint;
  if (endpoint !== undefined && /^wss?:\/\//.test(endpoint)) return webSocketSender(endpoint, destination.name);
  return kinesisApiSender(config, destination.name);
}

async function webSocketSender(url: string, stream: string): Promise<Sender> {
  const client = await connect(url, { clientName: 'shardline-agent' });
  return {
    label: `KinesisStream:${stream}`,
    put: (records) => client.putRecords(stream, records),
    close: async () => client.close(),
  };
}

function kinesisApiSender(config: AgentConfig, stream: string): Sender {
  const sink = new KinesisApiSink({
    region: config.region,
    ...(config.kinesisEndpoint === undefined ? {} : { endpoint: config.kinesisEndpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    httpVersion: '1.1',
  });
  return {
    label: `KinesisStream:${stream}`,
    put: (records) => {
      const batch = sink.newBatch(stream);
      for (const record of records) batch.add(record);
      return batch.send();
    },
    close: async () => sink.destroy(),
  };
}

function firehoseSender(config: AgentConfig, deliveryStream: string): Sender {
  const client = new FirehoseClient({
    region: config.region,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
    ...(config.firehoseEndpoint === undefined ? {} : { endpoint: config.firehoseEndpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  });
  return {
    label: `DeliveryStream:${deliveryStream}`,
    put: async (records) => {
      const answer = await client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: deliveryStream, Records: records.map((record) => ({ Data: record.data })) }),
      );
      return (answer.RequestResponses ?? []).map((response): ClientPutResult =>
        response.ErrorCode === undefined
          ? { shardId: '', sequenceNumber: response.RecordId ?? '' }
          : { errorCode: response.ErrorCode, errorMessage: response.ErrorMessage ?? '', retriable: true },
      );
    },
    close: async () => client.destroy(),
  };
}
