import { FirehoseClient } from '@aws-sdk/client-firehose';

/** The unmodified SDK's Firehose client on a test server's HTTP port (no retries: a test sees each answer). */
export function firehoseClient(endpoint: string): FirehoseClient {
  return new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
}
