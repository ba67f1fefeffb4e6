import { describeDeliveryStreams, functionNameOf, listMappings, streamNameOf, type DeliveryStream } from '../family.js';
import { formatCount, formatDateTime } from '../format.js';
import { useSession } from '../session.js';
import { usePoll } from '../use_poll.js';
import { Empty, ErrorNote, PageHeading, Section } from '../ui.js';

/*
 * What the server runs on its streams' records: triggers (Lambda-style event source mappings,
 * with each shard's progress while one runs) and delivery streams (Firehose-style, with where
 * they deliver and how they buffer).
 */

const FAMILY_POLL_MS = 2000;

export function TriggersPage() {
  return (
    <>
      <PageHeading>Triggers and delivery</PageHeading>
      <Section title="Event source mappings">
        <Mappings />
      </Section>
      <Section title="Delivery streams">
        <DeliveryStreams />
      </Section>
    </>
  );
}

function Mappings() {
  const { client } = useSession();
  const mappings = usePoll(() => listMappings(client), FAMILY_POLL_MS);
  if (mappings.value === undefined) return mappings.error === undefined ? <p>Loading…</p> : <ErrorNote error={mappings.error} />;
  if (mappings.value.length === 0) return <Empty>No event source mapping.</Empty>;
  return (
    <>
      <ErrorNote error={mappings.error} />
      <div class="scroll">
        <table class="mappings">
          <caption>Event source mappings: a stream's records delivered to a function in batches</caption>
          <thead>
            <tr>
              <th scope="col">Function</th>
              <th scope="col">Stream</th>
              <th scope="col">State</th>
              <th scope="col">Batch size</th>
              <th scope="col">Starting position</th>
              <th scope="col">Last result</th>
              <th scope="col">Shards (records processed, ms behind)</th>
              <th scope="col">Modified</th>
            </tr>
          </thead>
          <tbody>
            {mappings.value.map((mapping) => (
              <tr key={mapping.UUID}>
                <th scope="row">{functionNameOf(mapping.FunctionArn)}</th>
                <td>{streamNameOf(mapping.EventSourceArn)}</td>
                <td>{mapping.State}</td>
                <td class="number">{mapping.BatchSize}</td>
                <td>{mapping.StartingPosition}</td>
                <td>{mapping.LastProcessingResult}</td>
                <td>
                  {mapping.Shards === undefined || mapping.Shards.length === 0 ? (
                    '–'
                  ) : (
                    <ul class="plain">
                      {mapping.Shards.map((shard) => (
                        <li key={shard.ShardId}>
                          {shard.ShardId}: {formatCount(shard.RecordsProcessed)}, {formatCount(shard.MillisBehindLatest)} ms
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>{formatDateTime(mapping.LastModified * 1000)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function DeliveryStreams() {
  const { client } = useSession();
  const streams = usePoll(() => describeDeliveryStreams(client), FAMILY_POLL_MS);
  if (streams.value === undefined) return streams.error === undefined ? <p>Loading…</p> : <ErrorNote error={streams.error} />;
  if (streams.value.length === 0) return <Empty>No delivery stream.</Empty>;
  return (
    <>
      <ErrorNote error={streams.error} />
      <div class="scroll">
        <table class="delivery">
          <caption>Delivery streams: records buffered, then written to a destination</caption>
          <thead>
            <tr>
              <th scope="col">Delivery stream</th>
              <th scope="col">Status</th>
              <th scope="col">Source</th>
              <th scope="col">Destination</th>
              <th scope="col">Buffering</th>
              <th scope="col">Records in / delivered / failed</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {streams.value.map(({ description, metrics }) => {
              const destination = destinationOf(description);
              return (
                <tr key={description.DeliveryStreamName}>
                  <th scope="row">{description.DeliveryStreamName}</th>
                  <td>{description.DeliveryStreamStatus}</td>
                  <td>{sourceOf(description)}</td>
                  <td>{destination.where}</td>
                  <td>{destination.buffering}</td>
                  <td class="number">
                    {metrics === undefined
                      ? '–'
                      : `${formatCount(metrics.recordsIn)} / ${formatCount(metrics.recordsDelivered)} / ${formatCount(metrics.recordsFailed)}`}
                  </td>
                  <td>{metrics?.lastError ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function sourceOf(stream: DeliveryStream): string {
  const arn = stream.Source?.KinesisStreamSourceDescription?.KinesisStreamARN;
  return arn === undefined ? 'direct put' : `stream ${streamNameOf(arn)}`;
}

/** Firehose describes a destination by kind (ExtendedS3DestinationDescription, HttpEndpointDestinationDescription, ...). */
function destinationOf(stream: DeliveryStream): { where: string; buffering: string } {
  const [kind, value] = Object.entries(stream.Destinations[0] ?? {}).find(([member]) => member.endsWith('DestinationDescription')) ?? [];
  if (kind === undefined) return { where: '–', buffering: '–' };
  const described = (value ?? {}) as {
    BucketARN?: string;
    Prefix?: string;
    EndpointConfiguration?: { Url?: string };
    BufferingHints?: { SizeInMBs?: number; IntervalInSeconds?: number };
  };
  const target = described.BucketARN ?? described.EndpointConfiguration?.Url ?? '';
  const prefix = described.Prefix === undefined ? '' : ` ${described.Prefix}`;
  const hints = described.BufferingHints;
  return {
    where: `${kind.replace(/DestinationDescription$/, '')} ${target}${prefix}`.trim(),
    buffering: hints === undefined ? 'defaults' : `${hints.SizeInMBs ?? '–'} MB or ${hints.IntervalInSeconds ?? '–'} s`,
  };
}
