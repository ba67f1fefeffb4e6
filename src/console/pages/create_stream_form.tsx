import { useState } from 'preact/hooks';
import { SHARDS_PER_STREAM_MAX } from '../../limits.js';
import { useSession } from '../session.js';
import { useAction } from '../use_action.js';
import { ActionStatus } from '../ui.js';

/** CreateStream: provisioned with a shard count, or on-demand (the server picks the shards). */
export function CreateStreamForm({ onCreated }: { onCreated: () => void }) {
  const { client } = useSession();
  const action = useAction();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'PROVISIONED' | 'ON_DEMAND'>('PROVISIONED');
  const [shardCount, setShardCount] = useState('1');
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    const StreamName = name.trim();
    const request =
      mode === 'ON_DEMAND' ? { StreamName, StreamModeDetails: { StreamMode: mode } } : { StreamName, ShardCount: Number(shardCount) };
    if (await action.run(`Created ${StreamName}.`, () => client.call('CreateStream', request))) {
      setName('');
      onCreated();
    }
  };
  return (
    <form aria-label="Create a stream" class="stack" onSubmit={(event) => void create(event)}>
      <label>
        Stream name
        <input
          name="streamName"
          required
          maxLength={128}
          pattern="[a-zA-Z0-9_.\-]+"
          title="letters, digits, _ . and -"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
      </label>
      <label>
        Capacity mode
        <select value={mode} onChange={(event) => setMode(event.currentTarget.value as typeof mode)}>
          <option value="PROVISIONED">Provisioned</option>
          <option value="ON_DEMAND">On-demand</option>
        </select>
      </label>
      {mode === 'PROVISIONED' && (
        <label>
          Shard count
          <input
            type="number"
            min={1}
            max={SHARDS_PER_STREAM_MAX}
            required
            value={shardCount}
            onInput={(event) => setShardCount(event.currentTarget.value)}
          />
        </label>
      )}
      <button type="submit" disabled={action.pending}>
        Create stream
      </button>
      <ActionStatus action={action} />
    </form>
  );
}
