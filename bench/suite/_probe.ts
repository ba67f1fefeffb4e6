import os from 'node:os';
import { shardlineFactory } from './adapters/shardline.js';
import { runWorkload } from './runner.js';
import { loadWorkload, withOverrides } from './workload.js';
import { printRun } from './output.js';
const w = withOverrides(loadWorkload(process.argv[2]!), { durationSeconds: Number(process.argv[3] ?? 5), warmupSeconds: 1 });
const s = await shardlineFactory.start(w.fsync, os.tmpdir(), { enforceLimits: w.mode === 'limits' });
try { const r = await runWorkload(s, w, {}); printRun(r); } finally { await s.stop(); }
