import { useEffect, useRef, useState } from 'preact/hooks';
import { formatTime } from '../format.js';
import { formatData, type DataFormat } from '../record_format.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { TailReader, type TailProgress, type TailRow, type TailState } from '../tail_reader.js';
import { Empty, ErrorNote, PageHeading } from '../ui.js';
import { StreamPicker } from './stream_picker.js';

/*
 * A stream's records as they arrive (tail_reader.ts reads them), newest first, KPL aggregates
 * unpacked into their user records. The page keeps the newest TAIL_ROWS_MAX rows; the filter
 * hides rows without dropping them.
 */

const TAIL_ROWS_MAX = 500;

export function TailPage({ stream }: { stream: string | undefined }) {
  return (
    <>
      <PageHeading>Live tail</PageHeading>
      <StreamPicker stream={stream} onPick={(picked) => navigate({ page: 'tail', stream: picked })} />
      {stream === undefined ? <Empty>Choose a stream to follow its new records.</Empty> : <Tail stream={stream} />}
    </>
  );
}

function Tail({ stream }: { stream: string }) {
  const { client } = useSession();
  const [rows, setRows] = useState<readonly TailRow[]>([]);
  const [progress, setProgress] = useState<TailProgress>({ state: 'starting', rounds: 0, shards: 0, error: undefined });
  const [format, setFormat] = useState<DataFormat>('text');
  const [filter, setFilter] = useState('');
  const reader = useRef<TailReader | null>(null);
  useEffect(() => {
    const tail = new TailReader(client, stream, {
      // Newest first: reversed, then (stably) by arrival, so that records of one millisecond stay newest first too.
      onRows: (arrived) =>
        setRows((kept) => [...arrived.reverse().sort((a, b) => b.arrivalMs - a.arrivalMs), ...kept].slice(0, TAIL_ROWS_MAX)),
      onProgress: setProgress,
    });
    reader.current = tail;
    tail.start();
    return () => tail.stop();
  }, [client, stream]);
  const running = progress.state === 'running' || progress.state === 'starting';
  const shown = filter === '' ? rows : rows.filter((row) => row.partitionKey.includes(filter));
  return (
    <>
      <div class="toolbar">
        <button
          type="button"
          disabled={progress.state === 'pausing'}
          onClick={() => void (running ? reader.current?.pause() : reader.current?.resume())}
        >
          {running ? 'Pause' : 'Resume'}
        </button>
        <label>
          Show data as
          <select value={format} onChange={(event) => setFormat(event.currentTarget.value as DataFormat)}>
            <option value="text">Text</option>
            <option value="json">JSON</option>
            <option value="hex">Hex</option>
          </select>
        </label>
        <label>
          Filter by partition key
          <input type="search" value={filter} onInput={(event) => setFilter(event.currentTarget.value)} />
        </label>
        <button type="button" onClick={() => setRows([])}>
          Clear
        </button>
      </div>
      <p class="tail-status" data-state={progress.state} data-rounds={progress.rounds}>
        {statusText(progress.state, progress.shards)} · {shown.length} of {rows.length} rows shown (the newest {TAIL_ROWS_MAX} are kept)
      </p>
      <ErrorNote error={progress.error} context="Reading failed" />
      <div class="scroll">
        <table class="tail">
          <caption>Records of {stream}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Arrival (UTC)</th>
              <th scope="col">Shard</th>
              <th scope="col">Sequence number</th>
              <th scope="col">Partition key</th>
              <th scope="col">Data</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <tr key={row.key} data-partition-key={row.partitionKey}>
                <td>{formatTime(row.arrivalMs)}</td>
                <td>{row.shardId}</td>
                <td class="hash-key">
                  {row.sequenceNumber}
                  {row.subSequenceNumber === null ? null : <span class="sub"> (user record {row.subSequenceNumber})</span>}
                </td>
                <td>{row.partitionKey}</td>
                <td>
                  <pre>{formatData(row.data, format)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function statusText(state: TailState, shards: number): string {
  switch (state) {
    case 'starting':
      return 'Starting';
    case 'running':
      return `Following ${shards} ${shards === 1 ? 'shard' : 'shards'}`;
    case 'pausing':
      return 'Pausing';
    case 'paused':
      return 'Paused';
    case 'stopped':
      return 'Stopped';
  }
}
