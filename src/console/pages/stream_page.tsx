import type { ShardlineClient } from '../../client/client.js';
import type { KinesisShard, StreamDescriptionSummary } from '../../streams/api_types.js';
import { formatDateTime } from '../format.js';
import { routeHref } from '../router.js';
import { useSession } from '../session.js';
import { useAction } from '../use_action.js';
import { usePoll } from '../use_poll.js';
import { ActionStatus, ErrorNote, PageHeading, Section } from '../ui.js';
import { LineageGraph } from './lineage_graph.js';
import { MergeForm, ShardCountForm, SplitForm } from './reshard_forms.js';
import { ShardTable } from './shard_table.js';
import { ShardCharts, StreamCharts } from './stream_charts.js';

/*
 * One stream: its summary, its shards and their lineage, resharding, enhanced monitoring, and
 * its live charts.
 */

const STREAM_POLL_MS = 2000;

interface StreamState {
  readonly summary: StreamDescriptionSummary;
  readonly shards: KinesisShard[];
}

async function loadStream(client: ShardlineClient, stream: string): Promise<StreamState> {
  const [described, shards] = await Promise.all([
    client.call('DescribeStreamSummary', { StreamName: stream }),
    client.listAllShards({ StreamName: stream }),
  ]);
  return { summary: described.StreamDescriptionSummary, shards };
}

export function StreamPage({ stream }: { stream: string }) {
  const { client } = useSession();
  const state = usePoll(() => loadStream(client, stream), STREAM_POLL_MS);
  const loaded = state.value;
  return (
    <>
      <PageHeading>Stream {stream}</PageHeading>
      <p class="links">
        <a href={routeHref({ page: 'tail', stream })}>Live tail of {stream}</a>
        <a href={routeHref({ page: 'consumers', stream })}>Consumers of {stream}</a>
      </p>
      <ErrorNote error={state.error} context={`Reading ${stream} failed`} />
      {loaded === undefined ? (
        state.error === undefined && <p>Loading…</p>
      ) : (
        <>
          <Summary summary={loaded.summary} />
          <Section title="Shards">
            <ShardTable shards={loaded.shards} />
          </Section>
          <Section title="Lineage">
            <LineageGraph shards={loaded.shards} />
          </Section>
          <Section title="Resharding">
            <div class="forms">
              <SplitForm stream={stream} shards={loaded.shards} onChanged={state.refresh} />
              <MergeForm stream={stream} shards={loaded.shards} onChanged={state.refresh} />
              <ShardCountForm stream={stream} shards={loaded.shards} onChanged={state.refresh} />
            </div>
          </Section>
          <Section title="Charts">
            <StreamCharts stream={stream} />
          </Section>
          <Section title="Enhanced monitoring">
            <MonitoringToggle summary={loaded.summary} onChanged={state.refresh} />
            {monitoredMetrics(loaded.summary).length > 0 && <ShardCharts stream={stream} />}
          </Section>
        </>
      )}
    </>
  );
}

function Summary({ summary }: { summary: StreamDescriptionSummary }) {
  return (
    <dl class="summary">
      <dt>Status</dt>
      <dd>{summary.StreamStatus}</dd>
      <dt>Capacity mode</dt>
      <dd>{summary.StreamModeDetails.StreamMode}</dd>
      <dt>Open shards</dt>
      <dd>{summary.OpenShardCount}</dd>
      <dt>Retention</dt>
      <dd>{summary.RetentionPeriodHours} hours</dd>
      <dt>Registered consumers</dt>
      <dd>{summary.ConsumerCount}</dd>
      <dt>Encryption</dt>
      <dd>{summary.EncryptionType}</dd>
      <dt>Created</dt>
      <dd>{formatDateTime(summary.StreamCreationTimestamp.getTime())}</dd>
      <dt>ARN</dt>
      <dd class="arn">{summary.StreamARN}</dd>
    </dl>
  );
}

function monitoredMetrics(summary: StreamDescriptionSummary): string[] {
  return summary.EnhancedMonitoring.flatMap((entry) => entry.ShardLevelMetrics);
}

function MonitoringToggle({ summary, onChanged }: { summary: StreamDescriptionSummary; onChanged: () => void }) {
  const { client } = useSession();
  const action = useAction();
  const metrics = monitoredMetrics(summary);
  const request = { StreamName: summary.StreamName, ShardLevelMetrics: ['ALL'] } as const;
  const toggle = async (): Promise<void> => {
    const done =
      metrics.length === 0
        ? await action.run('Enhanced monitoring enabled.', () => client.call('EnableEnhancedMonitoring', request))
        : await action.run('Enhanced monitoring disabled.', () => client.call('DisableEnhancedMonitoring', request));
    if (done) onChanged();
  };
  return (
    <div class="monitoring">
      <p>
        {metrics.length === 0
          ? 'Off: CloudWatch-style metrics per stream only. Enable it for per-shard charts.'
          : `On: ${metrics.join(', ')}.`}
      </p>
      <button type="button" disabled={action.pending} onClick={() => void toggle()}>
        {metrics.length === 0 ? 'Enable enhanced monitoring' : 'Disable enhanced monitoring'}
      </button>
      <ActionStatus action={action} />
    </div>
  );
}
