import { useState } from 'preact/hooks';
import { SHARDS_PER_STREAM_MAX } from '../../limits.js';
import type { KinesisShard } from '../../streams/api_types.js';
import { adjacentPairs, canSplit, isOpen, middleHashKey } from '../hash_range.js';
import { useSession } from '../session.js';
import { useAction } from '../use_action.js';
import { ActionStatus, Empty } from '../ui.js';

/*
 * Resharding a stream: split one open shard (by default in the middle of its range), merge two
 * adjacent open shards, or UpdateShardCount to a target (uniform scaling). Each form offers only
 * what the operation accepts; the server still checks, and its refusal is shown.
 */

interface FormProps {
  readonly stream: string;
  readonly shards: readonly KinesisShard[];
  readonly onChanged: () => void;
}

export function SplitForm({ stream, shards, onChanged }: FormProps) {
  const { client } = useSession();
  const action = useAction();
  const splittable = shards.filter((shard) => isOpen(shard) && canSplit(shard.HashKeyRange));
  const [chosen, setChosen] = useState<{ shardId: string; hashKey: string } | null>(null);
  // The choice follows the shards: a shard split meanwhile (by anyone) gives way to the first open one.
  const shard = splittable.find((candidate) => candidate.ShardId === chosen?.shardId) ?? splittable[0];
  if (shard === undefined) return <Empty>No open shard can be split.</Empty>;
  const hashKey = chosen?.shardId === shard.ShardId ? chosen.hashKey : middleHashKey(shard.HashKeyRange);
  const split = async (event: Event): Promise<void> => {
    event.preventDefault();
    const request = { StreamName: stream, ShardToSplit: shard.ShardId, NewStartingHashKey: hashKey.trim() };
    if (await action.run(`Split ${shard.ShardId}.`, () => client.call('SplitShard', request))) {
      setChosen(null);
      onChanged();
    }
  };
  return (
    <form aria-label="Split a shard" class="stack" onSubmit={(event) => void split(event)}>
      <label>
        Shard to split
        <select
          value={shard.ShardId}
          onChange={(event) => {
            const next = splittable.find((candidate) => candidate.ShardId === event.currentTarget.value)!;
            setChosen({ shardId: next.ShardId, hashKey: middleHashKey(next.HashKeyRange) });
          }}
        >
          {splittable.map((candidate) => (
            <option key={candidate.ShardId} value={candidate.ShardId}>
              {candidate.ShardId}
            </option>
          ))}
        </select>
      </label>
      <label>
        New starting hash key
        <input
          class="hash-key"
          required
          inputMode="numeric"
          pattern="[0-9]+"
          value={hashKey}
          onInput={(event) => setChosen({ shardId: shard.ShardId, hashKey: event.currentTarget.value })}
        />
      </label>
      <p class="hint">
        From {shard.HashKeyRange.StartingHashKey} (excluded) to {shard.HashKeyRange.EndingHashKey}; the middle by default.
      </p>
      <button type="submit" disabled={action.pending}>
        Split shard
      </button>
      <ActionStatus action={action} />
    </form>
  );
}

export function MergeForm({ stream, shards, onChanged }: FormProps) {
  const { client } = useSession();
  const action = useAction();
  const pairs = adjacentPairs(shards);
  const [chosen, setChosen] = useState('');
  if (pairs.length === 0) return <Empty>No two open shards are adjacent.</Empty>;
  const keyOf = ([low, high]: (typeof pairs)[number]): string => `${low.ShardId}+${high.ShardId}`;
  const pair = pairs.find((candidate) => keyOf(candidate) === chosen) ?? pairs[0]!;
  const merge = async (event: Event): Promise<void> => {
    event.preventDefault();
    const request = { StreamName: stream, ShardToMerge: pair[0].ShardId, AdjacentShardToMerge: pair[1].ShardId };
    if (await action.run(`Merged ${pair[0].ShardId} and ${pair[1].ShardId}.`, () => client.call('MergeShards', request))) onChanged();
  };
  return (
    <form aria-label="Merge two shards" class="stack" onSubmit={(event) => void merge(event)}>
      <label>
        Adjacent shards to merge
        <select value={keyOf(pair)} onChange={(event) => setChosen(event.currentTarget.value)}>
          {pairs.map((candidate) => (
            <option key={keyOf(candidate)} value={keyOf(candidate)}>
              {candidate[0].ShardId} and {candidate[1].ShardId}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={action.pending}>
        Merge shards
      </button>
      <ActionStatus action={action} />
    </form>
  );
}

export function ShardCountForm({ stream, shards, onChanged }: FormProps) {
  const { client } = useSession();
  const action = useAction();
  const openCount = shards.filter(isOpen).length;
  const [target, setTarget] = useState<string | null>(null);
  const shown = target ?? String(openCount);
  const update = async (event: Event): Promise<void> => {
    event.preventDefault();
    const request = { StreamName: stream, TargetShardCount: Number(shown), ScalingType: 'UNIFORM_SCALING' } as const;
    if (await action.run(`${stream} rescaled to ${shown} shards.`, () => client.call('UpdateShardCount', request))) {
      setTarget(null);
      onChanged();
    }
  };
  return (
    <form aria-label="Update the shard count" class="stack" onSubmit={(event) => void update(event)}>
      <label>
        Target shard count
        <input
          type="number"
          min={1}
          max={SHARDS_PER_STREAM_MAX}
          required
          value={shown}
          onInput={(event) => setTarget(event.currentTarget.value)}
        />
      </label>
      <p class="hint">Uniform scaling: at most double or half the {openCount} open shards.</p>
      <button type="submit" disabled={action.pending}>
        Update shard count
      </button>
      <ActionStatus action={action} />
    </form>
  );
}
