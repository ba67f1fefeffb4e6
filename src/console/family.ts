import type { ShardlineClient } from '../client/client.js';

/*
 * The answers of the family's operations the console reads (consumer groups, event source
 * mappings, delivery streams), as the server gives them over the CALL (src/groups/,
 * src/triggers/, src/delivery/). Written out here, the members the pages show, because the
 * console may not import those folders, which run on the server; the CALL is untyped, so these
 * are what the pages expect of its answers.
 */

export interface GroupSummary {
  readonly GroupName: string;
  readonly StreamName: string;
  readonly LeaseCount: number;
}

export interface GroupLease {
  readonly leaseKey: string;
  readonly leaseOwner?: string;
  readonly leaseCounter: number;
  readonly checkpoint: string;
  readonly checkpointSubSequenceNumber?: number;
  readonly parentShardId?: string;
  readonly LagRecords: number | null;
  readonly LagMillis: number | null;
  readonly Live: boolean;
}

export interface GroupDescription {
  readonly GroupName: string;
  readonly StreamName: string;
  readonly Members: ReadonlyArray<{ readonly WorkerId: string; readonly Leases: number }>;
  readonly Leases: readonly GroupLease[];
}

export interface EventSourceMapping {
  readonly UUID: string;
  readonly EventSourceArn: string;
  readonly FunctionArn: string;
  readonly StartingPosition: string;
  readonly BatchSize: number;
  readonly State: string;
  readonly LastProcessingResult: string;
  readonly LastModified: number;
  readonly Shards?: ReadonlyArray<{ readonly ShardId: string; readonly RecordsProcessed: number; readonly MillisBehindLatest: number }>;
}

export interface DeliveryStream {
  readonly DeliveryStreamName: string;
  readonly DeliveryStreamStatus: string;
  readonly DeliveryStreamType: string;
  readonly Source?: { readonly KinesisStreamSourceDescription?: { readonly KinesisStreamARN: string } };
  readonly Destinations: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

export interface DeliveryMetrics {
  readonly recordsIn: number;
  readonly recordsDelivered: number;
  readonly recordsFailed: number;
  readonly oldestUndeliveredAgeMs: number;
  readonly lastError?: string;
}

/** Groups listed, and described (leases with lag) when they read `stream`. */
export async function describeGroups(client: ShardlineClient, stream: string): Promise<GroupDescription[]> {
  const { Groups } = (await client.callNamed('ListGroups', {})) as { Groups?: GroupSummary[] };
  const reading = (Groups ?? []).filter((group) => group.StreamName === stream);
  return Promise.all(
    reading.map(async (group) => (await client.callNamed('DescribeGroup', { GroupName: group.GroupName })) as unknown as GroupDescription),
  );
}

export async function listMappings(client: ShardlineClient): Promise<EventSourceMapping[]> {
  const { EventSourceMappings } = (await client.callNamed('ListEventSourceMappings', {})) as { EventSourceMappings?: EventSourceMapping[] };
  return EventSourceMappings ?? [];
}

export async function describeDeliveryStreams(
  client: ShardlineClient,
): Promise<Array<{ readonly description: DeliveryStream; readonly metrics?: DeliveryMetrics }>> {
  const { DeliveryStreamNames } = (await client.callNamed('Firehose.ListDeliveryStreams', {})) as { DeliveryStreamNames?: string[] };
  return Promise.all(
    (DeliveryStreamNames ?? []).map(async (name) => {
      const described = (await client.callNamed('Firehose.DescribeDeliveryStream', { DeliveryStreamName: name })) as {
        DeliveryStreamDescription: DeliveryStream;
        DeliveryMetrics?: DeliveryMetrics;
      };
      return {
        description: described.DeliveryStreamDescription,
        ...(described.DeliveryMetrics === undefined ? {} : { metrics: described.DeliveryMetrics }),
      };
    }),
  );
}

/** The function's name in a Lambda function ARN (…:function:<name>). */
export function functionNameOf(arn: string): string {
  return arn.split(':function:')[1] ?? arn;
}

/** The stream's name in a stream or consumer ARN (…:stream/<name>[/consumer/…]). */
export function streamNameOf(arn: string): string {
  return arn.split(':stream/')[1]?.split('/')[0] ?? arn;
}
