import { useEffect, useRef, useState } from 'preact/hooks';
import { RETENTION_HOURS_MAX, RETENTION_HOURS_MIN } from '../../limits.js';
import type { StreamDescriptionSummary } from '../../streams/api_types.js';
import { formatValue } from '../format.js';
import { latestRate, streamIn } from '../metrics_history.js';
import { routeHref } from '../router.js';
import { useMetrics, useSession } from '../session.js';
import { describeStreams } from '../streams.js';
import { useAction, type Action } from '../use_action.js';
import { usePoll } from '../use_poll.js';
import { ActionStatus, Empty, ErrorNote, PageHeading, Section } from '../ui.js';
import { CreateStreamForm } from './create_stream_form.js';

/*
 * Every stream, with what changes one without resharding it: its capacity mode, its retention,
 * deleting it (after a confirmation, since it cannot be undone).
 */

const STREAMS_POLL_MS = 2000;

export function StreamsPage() {
  const { client } = useSession();
  const streams = usePoll(() => describeStreams(client), STREAMS_POLL_MS);
  const action = useAction();
  return (
    <>
      <PageHeading>Streams</PageHeading>
      <ErrorNote error={streams.error} context="Listing the streams failed" />
      <ActionStatus action={action} />
      {streams.value === undefined ? (
        streams.error === undefined && <p>Loading…</p>
      ) : streams.value.length === 0 ? (
        <Empty>No streams yet: create one below.</Empty>
      ) : (
        <StreamTable streams={streams.value} onChanged={streams.refresh} action={action} />
      )}
      <Section title="Create a stream">
        <CreateStreamForm onCreated={streams.refresh} />
      </Section>
    </>
  );
}

function StreamTable({
  streams,
  onChanged,
  action,
}: {
  streams: readonly StreamDescriptionSummary[];
  onChanged: () => void;
  action: Action;
}) {
  const { history } = useMetrics();
  return (
    <table class="streams">
      <caption>Streams on this server</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Status</th>
          <th scope="col">Mode</th>
          <th scope="col">Open shards</th>
          <th scope="col">Retention (hours)</th>
          <th scope="col">Records/s</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {streams.map((stream) => (
          <tr key={stream.StreamName}>
            <th scope="row">
              <a href={routeHref({ page: 'stream', stream: stream.StreamName })}>{stream.StreamName}</a>
            </th>
            <td>{stream.StreamStatus}</td>
            <td>{stream.StreamModeDetails.StreamMode}</td>
            <td class="number">{stream.OpenShardCount}</td>
            <td>
              <RetentionForm stream={stream} action={action} onChanged={onChanged} />
            </td>
            <td class="number">{formatValue(latestRate(history, (snapshot) => streamIn(snapshot, stream.StreamName)?.incomingRecords))}</td>
            <td>
              <div class="actions">
                <SwitchModeButton stream={stream} action={action} onChanged={onChanged} />
                <DeleteButton stream={stream.StreamName} action={action} onChanged={onChanged} />
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface RowProps {
  readonly stream: StreamDescriptionSummary;
  readonly action: Action;
  readonly onChanged: () => void;
}

function RetentionForm({ stream, action, onChanged }: RowProps) {
  const { client } = useSession();
  const current = stream.RetentionPeriodHours;
  // Until edited, the field shows the stream's retention as last read.
  const [edited, setEdited] = useState<string | null>(null);
  const hours = edited ?? String(current);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const wanted = Number(hours);
    if (wanted === current) return;
    const request = { StreamName: stream.StreamName, RetentionPeriodHours: wanted };
    const done = await action.run(`Retention of ${stream.StreamName} set to ${wanted} hours.`, () =>
      wanted > current ? client.call('IncreaseStreamRetentionPeriod', request) : client.call('DecreaseStreamRetentionPeriod', request),
    );
    if (done) {
      setEdited(null);
      onChanged();
    }
  };
  return (
    <form class="inline" aria-label={`Retention of ${stream.StreamName}`} onSubmit={(event) => void submit(event)}>
      <label>
        <span class="visually-hidden">Retention hours of {stream.StreamName}</span>
        <input
          type="number"
          min={RETENTION_HOURS_MIN}
          max={RETENTION_HOURS_MAX}
          required
          value={hours}
          onInput={(event) => setEdited(event.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={action.pending} aria-label={`Set retention of ${stream.StreamName}`}>
        Set
      </button>
    </form>
  );
}

function SwitchModeButton({ stream, action, onChanged }: RowProps) {
  const { client } = useSession();
  const to = stream.StreamModeDetails.StreamMode === 'ON_DEMAND' ? 'PROVISIONED' : 'ON_DEMAND';
  const label = to === 'ON_DEMAND' ? 'on-demand' : 'provisioned';
  const switchMode = async (): Promise<void> => {
    const request = { StreamARN: stream.StreamARN, StreamModeDetails: { StreamMode: to } } as const;
    if (await action.run(`${stream.StreamName} switched to ${label}.`, () => client.call('UpdateStreamMode', request))) onChanged();
  };
  return (
    <button
      type="button"
      disabled={action.pending}
      onClick={() => void switchMode()}
      aria-label={`Switch ${stream.StreamName} to ${label}`}
    >
      To {label}
    </button>
  );
}

function DeleteButton({ stream, action, onChanged }: { stream: string; action: Action; onChanged: () => void }) {
  const { client } = useSession();
  const [confirming, setConfirming] = useState(false);
  const focused = useRef<HTMLButtonElement>(null);
  const shown = useRef(false);
  useEffect(() => {
    // The button pressed goes away: the focus moves to the one that replaced it, not to the page's start.
    if (shown.current) focused.current?.focus();
    shown.current = true;
  }, [confirming]);
  if (!confirming)
    return (
      <button type="button" class="danger" ref={focused} onClick={() => setConfirming(true)} aria-label={`Delete ${stream}`}>
        Delete
      </button>
    );
  const remove = async (): Promise<void> => {
    setConfirming(false);
    const request = { StreamName: stream, EnforceConsumerDeletion: true };
    if (await action.run(`Deleted ${stream}.`, () => client.call('DeleteStream', request))) onChanged();
  };
  return (
    <span role="group" aria-label={`Confirm deleting ${stream}`} class="confirm">
      Delete {stream}, its records and its consumers?
      <button type="button" class="danger" ref={focused} onClick={() => void remove()}>
        Yes, delete {stream}
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  );
}
