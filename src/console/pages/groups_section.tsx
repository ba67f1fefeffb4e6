import { describeGroups, type GroupDescription } from '../family.js';
import { formatCount } from '../format.js';
import { useSession } from '../session.js';
import { usePoll } from '../use_poll.js';
import { Empty, ErrorNote } from '../ui.js';

/*
 * The consumer groups reading a stream (docs/GROUPS.md): each lease, who holds it, its
 * checkpoint and how far behind it is; a lease whose holder has not renewed it lately is not live.
 */

/**
 * Slower than the other pages: DescribeGroup reads a record of each lease's shard for its lag,
 * and those reads count against the shard's 5 a second, which the group's own workers need.
 */
const GROUPS_POLL_MS = 5000;

export function GroupsSection({ stream }: { stream: string }) {
  const { client } = useSession();
  const groups = usePoll(() => describeGroups(client, stream), GROUPS_POLL_MS);
  if (groups.value === undefined) return groups.error === undefined ? <p>Loading…</p> : <ErrorNote error={groups.error} />;
  if (groups.value.length === 0) return <Empty>No consumer group reads {stream}.</Empty>;
  return (
    <>
      <ErrorNote error={groups.error} />
      {groups.value.map((group) => (
        <GroupTable key={group.GroupName} group={group} />
      ))}
    </>
  );
}

function GroupTable({ group }: { group: GroupDescription }) {
  const members = group.Members.map((member) => `${member.WorkerId} (${member.Leases})`).join(', ');
  return (
    <div class="scroll">
      <table class="leases">
        <caption>
          Group {group.GroupName}: {group.Members.length === 0 ? 'no live member' : `members ${members}`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Shard</th>
            <th scope="col">Owner</th>
            <th scope="col">Checkpoint</th>
            <th scope="col">Lag (records)</th>
            <th scope="col">Lag (ms)</th>
            <th scope="col">Live</th>
          </tr>
        </thead>
        <tbody>
          {group.Leases.map((lease) => (
            <tr key={lease.leaseKey}>
              <th scope="row">{lease.leaseKey}</th>
              <td>{lease.leaseOwner ?? '–'}</td>
              <td class="hash-key">{lease.checkpoint}</td>
              <td class="number">{lease.LagRecords === null ? 'unknown' : formatCount(lease.LagRecords)}</td>
              <td class="number">{lease.LagMillis === null ? 'unknown' : formatCount(lease.LagMillis)}</td>
              <td>{lease.Live ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
