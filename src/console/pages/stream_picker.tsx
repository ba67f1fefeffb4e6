import { useSession } from '../session.js';
import { listStreamNames } from '../streams.js';
import { usePoll } from '../use_poll.js';
import { ErrorNote } from '../ui.js';

/*
 * The stream a page is about (consumers, live tail), chosen from the server's streams; the
 * choice goes into the URL, so that it survives a reload.
 */

const NAMES_POLL_MS = 5000;

export function StreamPicker({ stream, onPick }: { stream: string | undefined; onPick: (stream: string) => void }) {
  const { client } = useSession();
  const names = usePoll(() => listStreamNames(client), NAMES_POLL_MS);
  const listed = names.value ?? [];
  // A stream named in the URL but not (or not yet) listed still shows as chosen.
  const options = stream === undefined || listed.includes(stream) ? listed : [stream, ...listed];
  return (
    <>
      <label class="picker">
        Stream
        <select value={stream ?? ''} onChange={(event) => onPick(event.currentTarget.value)}>
          {stream === undefined && <option value="">Choose a stream</option>}
          {options.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={names.error} context="Listing the streams failed" />
    </>
  );
}
