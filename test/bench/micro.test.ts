import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: `npm run bench:micro` runs every benchmark to the end and reports each in its closing
// JSON line (and in the --json file), so a broken hot-path API fails here, not in a long run.
// Method: the bench as a child process with a 20 ms budget per benchmark; only the shape of the
// result is checked (every name present, ops/s positive), never a timing threshold.

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BENCH = path.join(REPO_ROOT, 'bench', 'micro', 'micro_bench.ts');
const BENCHMARKS = [
  'batch encode+seal',
  'batch verify',
  'batch forEachRecord',
  'put_staging stage',
  'put_staging stageEncoded',
  'put_staging checkHashKeys',
  'wire PUT build (client)',
  'wire PUT decode (server)',
  'checksum xxh64 100 B',
  'checksum xxh64 4 KiB',
  'checksum xxh64 1 MiB',
  'index lookup tail',
  'index lookup random',
  'md5 native md5Many x500',
  'md5 node:crypto x500',
  'md5 js-md5 x500',
  'route routeWords x500, 16 shards',
  'seq SequenceNumberRun x500',
  'seq encodeSequenceNumber x500',
  'seq decodeSequenceNumber',
  'kinesis PutRecords JSON parse',
  'kinesis PutRecords parse+readInput',
];

interface MicroJson {
  readonly bench: string;
  readonly results: ReadonlyArray<{ readonly name: string; readonly opsPerSec: number; readonly meanNs: number; readonly samples: number }>;
}

describe('bench:micro', () => {
  it('runs every benchmark and ends with their results as JSON', async () => {
    const dir = tempDir();
    const jsonFile = path.join(dir, 'micro.json');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', BENCH, '--json', jsonFile], {
      cwd: REPO_ROOT,
      env: { ...process.env, MICRO_TIME_MS: '20' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const last = stdout.trimEnd().split('\n').at(-1)!;
    const result = JSON.parse(last) as MicroJson;
    expect(result.bench).toBe('micro');
    expect(result.results.map((r) => r.name).sort()).toEqual([...BENCHMARKS].sort());
    for (const r of result.results) {
      expect(r.opsPerSec, r.name).toBeGreaterThan(0);
      expect(r.meanNs, r.name).toBeGreaterThan(0);
      expect(r.samples, r.name).toBeGreaterThan(0);
    }
    expect(JSON.parse(fs.readFileSync(jsonFile, 'utf8'))).toEqual(result);
  });
});
