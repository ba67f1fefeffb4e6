import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, killAllClis, runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp_dir.js';

// Goal: `npm test`'s setup (scripts/test_setup.sh) tells a machine that lacks a program the
// tests use exactly which packages to install and how, and exits 1 before any test runs; on a
// machine that has them all it does nothing.
// Method: the real script, in a mount namespace of its own (unshare -m: root only) where
// /dev/null is bind-mounted over the programs it should miss, run as the user nobody or as
// root without apt-get. Nothing outside the namespace sees the mounts. The installing branch
// (root with apt-get) is not run here: it would change the machine.

const SCRIPT = path.join(REPO_ROOT, 'scripts/test_setup.sh');
const CHROMIUM = '/usr/bin/chromium';
const NATS_SERVER = '/usr/sbin/nats-server';
const APT_GET = '/usr/bin/apt-get';
const isRoot = process.getuid?.() === 0;

afterEach(async () => {
  await killAllClis();
});

/** The script, copied where the user nobody can read it, under a scripts/ folder as in the repo. */
function readableCopy(): string {
  const dir = tempDir('shardline-setup-');
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'scripts'), { mode: 0o755 });
  const copy = path.join(dir, 'scripts/test_setup.sh');
  fs.copyFileSync(SCRIPT, copy);
  fs.chmodSync(copy, 0o755);
  return copy;
}

/** Runs `command` in a new mount namespace where each of `hidden` is /dev/null. */
function withHidden(hidden: readonly string[], command: readonly string[]): ReturnType<typeof runProcess> {
  const mounts = hidden.map((file) => `mount --bind /dev/null ${file}`).join(' && ');
  return runProcess(['unshare', '-m', '--', 'bash', '-c', `${mounts} && exec "$@"`, 'hide', ...command]);
}

describe.skipIf(!isRoot)('test setup', () => {
  it('names the missing packages and the apt-get command, and exits 1, when not root', async () => {
    const result = await withHidden([CHROMIUM, NATS_SERVER], ['runuser', '-u', 'nobody', '--', 'bash', readableCopy()]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('the tests need chromium nats-server, which this machine lacks');
    expect(result.stderr).toContain('apt-get update && apt-get install -y --no-install-recommends chromium nats-server\n');
    expect(result.stdout).toBe('');
  });

  it('says to use the system package manager, and exits 1, where there is no apt-get', async () => {
    const result = await withHidden([NATS_SERVER, APT_GET], ['bash', readableCopy()]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('the tests need nats-server, which this machine lacks');
    expect(result.stderr).toContain("Install them with this system's package manager");
  });

  it('does nothing on a machine that has everything', async () => {
    const result = await runProcess(['bash', SCRIPT]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });
});
