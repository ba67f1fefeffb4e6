import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/client/node.js';
import { killAllClis, runCli, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';

// Goal: `shardline auth` makes and edits a credentials file that `serve --auth` takes (keys
// printed once, mode 0600, never a broken file written), answers what a policy decides, and a
// malformed file stops serve at start with its path, line and reason; SIGHUP reloads it on a
// running server. Method: the CLI from its sources as child processes, a real serve on free
// ports, the Node client signing with the keys the CLI printed.

afterEach(killAllClis);

const WRITER = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['kinesis:ListStreams', 'kinesis:CreateStream'], Resource: '*' }],
};

async function addKey(file: string, identity: string, policyFile: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const result = await runCli(['auth', 'add-key', file, '--identity', identity, '--policy', `writer=${policyFile}`]);
  expect(result.stderr).toBe('');
  const [accessKeyId, secretAccessKey] = result.stdout.trim().split(' ');
  return { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
}

describe('shardline auth', () => {
  it('adds keys to a new file (0600), lists without secrets, simulates and removes', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    const policy = path.join(dir, 'writer.json');
    fs.writeFileSync(policy, JSON.stringify(WRITER));
    const key = await addKey(file, 'alice', policy);
    expect(key.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const listed = await runCli(['auth', 'list', file]);
    expect(listed.stdout).toContain(`alice\tarn:aws:iam::000000000000:user/alice\tkeys ${key.accessKeyId}\tpolicies writer`);
    expect(listed.stdout).not.toContain(key.secretAccessKey);
    const allowed = await runCli(['auth', 'simulate', file, '--identity', 'alice', '--action', 'kinesis:ListStreams', '--resource', '*']);
    expect(allowed.stdout).toBe('allowed\n  Allow by policy writer, statement 0\n');
    const denied = await runCli([
      'auth',
      'simulate',
      file,
      '--identity',
      'alice',
      '--action',
      'kinesis:DeleteStream',
      '--resource',
      'arn:aws:kinesis:us-east-1:000000000000:stream/s',
    ]);
    expect(denied.stdout).toMatch(
      /^denied \(implicit-deny\): User: arn:aws:iam::000000000000:user\/alice is not authorized to perform: kinesis:DeleteStream/,
    );
    expect((await runCli(['auth', 'remove-key', file, key.accessKeyId])).code).toBe(0);
    expect((await runCli(['auth', 'list', file])).stdout).toContain('keys -');
  });

  it('refuses a policy that is no policy and leaves the file as it was', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    const good = path.join(dir, 'writer.json');
    fs.writeFileSync(good, JSON.stringify(WRITER));
    await addKey(file, 'alice', good);
    const before = fs.readFileSync(file, 'utf8');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }));
    const result = await runCli(['auth', 'add-key', file, '--identity', 'bob', '--policy', `bad=${bad}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /InvalidCredentialsFile: .*credentials\.json:\d+: identities\[1\]\.policies\[0\]\.document\.Statement\[0\]\.Effect/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });
});

describe('serve --auth', () => {
  it('stops at start on a malformed file, naming the file, line and reason', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(
      file,
      '{\n  "version": 1,\n  "identities": [\n    { "name": "alice", "accessKeys": [], "policies": [], "colour": "blue" }\n  ]\n}\n',
    );
    const result = await runCli(['serve', '--data-dir', path.join(dir, 'data'), '--port', '0', '--kinesis-port', '0', '--auth', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `shardline: InvalidCredentialsFile: ${file}:4: identities[0].colour: unknown member (known: name, arn, accessKeys, policies, tags)\n`,
    );
  });

  it('lets the keys in, and takes a key added later on SIGHUP', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    const policy = path.join(dir, 'writer.json');
    fs.writeFileSync(policy, JSON.stringify(WRITER));
    const alice = await addKey(file, 'alice', policy);
    const serve = startCli(['serve', '--data-dir', path.join(dir, 'data'), '--port', '0', '--kinesis-port', '0', '--auth', file]);
    const url = (await serve.waitForOutput(/listening on (ws:\/\/127\.0\.0\.1:\d+\/) \(data in .+\), auth on\n/))[1]!;
    const client = await connect(url, { credentials: alice });
    expect((await client.call('ListStreams', {})).StreamNames).toEqual([]);
    client.close();
    const bob = await addKey(file, 'bob', policy);
    await expect(connect(url, { credentials: bob })).rejects.toMatchObject({ code: 'UnrecognizedClientException' });
    serve.child.kill('SIGHUP');
    await serve.waitForOutput(/credentials reloaded\n/);
    const later = await connect(url, { credentials: bob });
    expect((await later.call('ListStreams', {})).StreamNames).toEqual([]);
    later.close();
  });
});
