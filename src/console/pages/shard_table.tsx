import type { KinesisShard } from '../../streams/api_types.js';
import { hashOffset, hashShare, isOpen } from '../hash_range.js';
import { parentsOf } from '../lineage.js';

/*
 * A stream's shards, open and closed (those still within retention), with their hash key
 * ranges and a bar placing each range in the whole hash space.
 */

export function ShardTable({ shards }: { shards: readonly KinesisShard[] }) {
  return (
    <div class="scroll">
      <table class="shards">
        <caption>Shards, open and closed</caption>
        <thead>
          <tr>
            <th scope="col">Shard</th>
            <th scope="col">State</th>
            <th scope="col">Parents</th>
            <th scope="col">Starting hash key</th>
            <th scope="col">Ending hash key</th>
            <th scope="col">Share of the hash space</th>
          </tr>
        </thead>
        <tbody>
          {shards.map((shard) => {
            const share = hashShare(shard.HashKeyRange);
            const parents = parentsOf(shard);
            return (
              <tr key={shard.ShardId} data-shard-id={shard.ShardId}>
                <th scope="row">{shard.ShardId}</th>
                <td>{isOpen(shard) ? 'open' : 'closed'}</td>
                <td>{parents.length === 0 ? '–' : parents.join(', ')}</td>
                <td class="hash-key">{shard.HashKeyRange.StartingHashKey}</td>
                <td class="hash-key">{shard.HashKeyRange.EndingHashKey}</td>
                <td>
                  <span class="share">
                    <span class="share-bar" aria-hidden="true">
                      <span
                        class={isOpen(shard) ? 'share-fill' : 'share-fill closed'}
                        style={{ left: `${hashOffset(shard.HashKeyRange) * 100}%`, width: `${Math.max(share * 100, 0.5)}%` }}
                      />
                    </span>
                    {(share * 100).toFixed(2)}%
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
