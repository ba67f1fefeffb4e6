import type { KinesisShard } from '../../streams/api_types.js';
import { hashShare } from '../hash_range.js';
import { lineageLayout, type LineageNode } from '../lineage.js';

/*
 * A stream's shards as a graph, parents to children left to right (lineage.ts lays it out):
 * open shards solid, closed ones dashed and grey. The shard table above it says the same in
 * text (each shard's parents), so the drawing is labelled as one image.
 */

const NODE_WIDTH = 200;
const NODE_HEIGHT = 44;
const COLUMN_GAP = 56;
const ROW_GAP = 14;
const MARGIN = 4;

export function LineageGraph({ shards }: { shards: readonly KinesisShard[] }) {
  const layout = lineageLayout(shards);
  const rowPitch = NODE_HEIGHT + ROW_GAP;
  const width = MARGIN * 2 + layout.columns * NODE_WIDTH + Math.max(0, layout.columns - 1) * COLUMN_GAP;
  const height = MARGIN * 2 + layout.rows * rowPitch - ROW_GAP;
  const columnSizes = new Map<number, number>();
  for (const node of layout.nodes) columnSizes.set(node.column, (columnSizes.get(node.column) ?? 0) + 1);
  // A column with fewer shards than the tallest is centred beside it.
  const place = (node: LineageNode) => ({
    x: MARGIN + node.column * (NODE_WIDTH + COLUMN_GAP),
    y: MARGIN + node.row * rowPitch + ((layout.rows - columnSizes.get(node.column)!) * rowPitch) / 2,
  });
  const open = layout.nodes.filter((node) => node.open).length;
  return (
    <div class="lineage">
      <svg
        role="img"
        aria-label={`Shard lineage: ${layout.nodes.length} shards, ${open} open, ${layout.edges.length} parent links`}
        data-lineage=""
        width={width}
        height={Math.max(height, 0)}
        viewBox={`0 0 ${width} ${Math.max(height, 0)}`}
      >
        {layout.edges.map(({ from, to }) => {
          const [a, b] = [place(from), place(to)];
          const [x1, y1, x2, y2] = [a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2, b.x, b.y + NODE_HEIGHT / 2];
          const bend = COLUMN_GAP / 2;
          return (
            <path
              key={`${from.shard.ShardId}-${to.shard.ShardId}`}
              class="lineage-edge"
              data-from={from.shard.ShardId}
              data-to={to.shard.ShardId}
              d={`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`}
            />
          );
        })}
        {layout.nodes.map((node) => {
          const { x, y } = place(node);
          return (
            <g
              key={node.shard.ShardId}
              class={node.open ? 'lineage-node open' : 'lineage-node closed'}
              data-shard-id={node.shard.ShardId}
              data-state={node.open ? 'open' : 'closed'}
              transform={`translate(${x},${y})`}
            >
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
              <text x={10} y={18}>
                {node.shard.ShardId}
              </text>
              <text x={10} y={35} class="lineage-detail">
                {node.open ? 'open' : 'closed'} · {(hashShare(node.shard.HashKeyRange) * 100).toFixed(1)}% of hash space
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
