import type { ShardlineClient } from '../../client/client.js';
import type { ConsumerDescription } from '../../streams/api_types.js';
import { formatBytes, formatCount, formatDateTime, formatValue } from '../format.js';
import { latestRate, streamIn } from '../metrics_history.js';
import { navigate } from '../router.js';
import { useMetrics, useSession } from '../session.js';
import { usePoll } from '../use_poll.js';
import { Empty, ErrorNote, PageHeading, Section } from '../ui.js';
import { GroupsSection } from './groups_section.js';
import { StreamPicker } from './stream_picker.js';

/*
 * Who reads a stream: its registered (enhanced fan-out) consumers with their push metrics, and
 * the consumer groups (KCL-style leases) reading it.
 */

const CONSUMERS_POLL_MS = 2000;

export function ConsumersPage({ stream }: { stream: string | undefined }) {
  return (
    <>
      <PageHeading>Consumers</PageHeading>
      <StreamPicker stream={stream} onPick={(picked) => navigate({ page: 'consumers', stream: picked })} />
      {stream === undefined ? (
        <Empty>Choose a stream to see its consumers.</Empty>
      ) : (
        <>
          <Section title={`Registered consumers of ${stream}`}>
            <RegisteredConsumers stream={stream} />
          </Section>
          <Section title={`Consumer groups reading ${stream}`}>
            <GroupsSection stream={stream} />
          </Section>
        </>
      )}
    </>
  );
}

async function listConsumers(client: ShardlineClient, stream: string): Promise<ConsumerDescription[]> {
  const { StreamDescriptionSummary } = await client.call('DescribeStreamSummary', { StreamName: stream });
  // One page: a stream has at most CONSUMERS_PER_STREAM_MAX (20) consumers, a page holds 100.
  const listed = await client.call('ListStreamConsumers', { StreamARN: StreamDescriptionSummary.StreamARN });
  return listed.Consumers;
}

function RegisteredConsumers({ stream }: { stream: string }) {
  const { client } = useSession();
  const { history } = useMetrics();
  const consumers = usePoll(() => listConsumers(client, stream), CONSUMERS_POLL_MS);
  if (consumers.value === undefined) return consumers.error === undefined ? <p>Loading…</p> : <ErrorNote error={consumers.error} />;
  if (consumers.value.length === 0) return <Empty>No consumer is registered for {stream}.</Empty>;
  const latest = history.at(-1);
  const metricsOf = (name: string) =>
    latest === undefined ? undefined : streamIn(latest, stream)?.consumers.find((c) => c.consumerName === name);
  const rateOf = (name: string, counter: 'eventRecords' | 'eventBytes') =>
    latestRate(history, (snapshot) => streamIn(snapshot, stream)?.consumers.find((c) => c.consumerName === name)?.[counter]);
  return (
    <>
      <ErrorNote error={consumers.error} />
      <table class="consumers">
        <caption>Enhanced fan-out consumers and their push subscriptions</caption>
        <thead>
          <tr>
            <th scope="col">Consumer</th>
            <th scope="col">Status</th>
            <th scope="col">Registered</th>
            <th scope="col">Subscriptions</th>
            <th scope="col">Rate-limited subscriptions</th>
            <th scope="col">Records pushed</th>
            <th scope="col">Records/s</th>
            <th scope="col">Bytes pushed</th>
            <th scope="col">Bytes/s</th>
            <th scope="col">Behind latest (ms)</th>
          </tr>
        </thead>
        <tbody>
          {consumers.value.map((consumer) => {
            const metrics = metricsOf(consumer.ConsumerName);
            return (
              <tr key={consumer.ConsumerARN}>
                <th scope="row">{consumer.ConsumerName}</th>
                <td>{consumer.ConsumerStatus}</td>
                <td>{formatDateTime(consumer.ConsumerCreationTimestamp.getTime())}</td>
                <td class="number">{formatCount(metrics?.subscribeSuccess ?? 0)}</td>
                <td class="number">{formatCount(metrics?.subscribeRateExceeded ?? 0)}</td>
                <td class="number">{formatCount(metrics?.eventRecords ?? 0)}</td>
                <td class="number">{formatValue(rateOf(consumer.ConsumerName, 'eventRecords'))}</td>
                <td class="number">{formatBytes(metrics?.eventBytes ?? 0)}</td>
                <td class="number">{formatValue(rateOf(consumer.ConsumerName, 'eventBytes'))}</td>
                <td class="number">{formatCount(metrics?.millisBehindLatest ?? 0)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
