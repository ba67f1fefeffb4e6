import os from 'node:os';
import { shardlineFactory } from './adapters/shardline.js';
import { napUntil } from '../bench_common.js';
const s = await shardlineFactory.start('never', os.tmpdir());
await s.createStreams({ names: ['p'], shards: 1, capacityMode: 'ON_DEMAND' });
const port = await s.openProducer({ retryThrottled: true });
const rate = 10000, total = rate * 8; const start = performance.now() + 50; let sent = 0;
const lat = new Float64Array(total);
const data = () => new Uint8Array(100);
while (sent < total) {
  const due = Math.min(total, Math.floor((performance.now() - start) * rate / 1000));
  if (due > sent) { const first = sent; const n = due - sent; sent = due;
    port.put('p', Array.from({ length: n }, (_, i) => ({ partitionKey: 'k' + ((first + i) % 100), data: data() }))).then(() => { const now = performance.now(); for (let i = 0; i < n; i++) lat[first + i] = now - (start + (first + i) * 1000 / rate); }); }
  napUntil(start + (sent + 1) * 1000 / rate);
  await new Promise((r) => setImmediate(r));
}
await new Promise((r) => setTimeout(r, 500));
await port.close(); await s.stop();
const slow: number[] = []; for (let i = rate; i < total; i++) if (lat[i]! > 5) slow.push(i);
console.log('records >5ms:', slow.length, 'of', total - rate);
// bursts: group consecutive slow records
const bursts: Array<[number, number, number]> = []; let b: [number, number, number] | null = null;
for (const i of slow) { if (b && i - b[1] <= 20) { b[1] = i; b[2] = Math.max(b[2], lat[i]!); } else { if (b) bursts.push(b); b = [i, i, lat[i]!]; } }
if (b) bursts.push(b);
console.log('bursts', bursts.length); 
console.log(bursts.slice(0, 40).map(([a, z, m]) => `t=${(a / rate * 1000).toFixed(0)}ms len=${((z - a) / rate * 1000).toFixed(1)}ms max=${m.toFixed(1)}`).join('\n'));
