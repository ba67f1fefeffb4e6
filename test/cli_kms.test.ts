// Goal: `shardline kms create|list|describe|alias|delete-alias|rotate|disable|enable|
// schedule-deletion|cancel-deletion` change and show a key store as the KeyStore API does: a line
// per key (id, state, versions, aliases) or JSON with --json; failures exit 1 with one line
// `shardline: <code>: <message>`; usage errors (a missing --passphrase-env variable, a
// passphrase on the command line) exit 2; the passphrase is read from the environment only; the
// default directory is `serve`'s default data directory's kms/; the commands load no server module.
// Method: a commander program like src/cli/main.ts's (exitOverride, the same exit codes and
// error line) with addKmsCommands only, run in this process with stdout captured (main.ts does
// not register the kms commands yet); every store is a temp directory reopened with KeyStore to
// see what the commands wrote. The imports of a command are seen in a child process (tsx) under
// test/fixtures/record_imports.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runProcess, REPO_ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';
import { DEFAULT_KMS_DIR, addKmsCommands } from '../src/cli/kms.js';
import { OutputClosedError, describeError } from '../src/cli/errors.js';
import { addServeCommand } from '../src/cli/serve.js';
import { AWS_KINESIS_ALIAS, CATALOG_FILE, KeyStore, MASTER_KEY_FILE, type KeyDescription } from '../src/kms/key_store.js';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const PASSPHRASE_VARIABLE = 'SHARDLINE_TEST_KMS_PASSPHRASE';

afterEach(() => {
  delete process.env[PASSPHRASE_VARIABLE];
  vi.restoreAllMocks();
});

/** Runs `shardline kms <args>` as main.ts would: the exit code, and what went to stdout and stderr. */
async function kms(...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const program = new Command('shardline').exitOverride().configureOutput({
    writeOut: (text) => (stdout += text),
    writeErr: (text) => (stderr += text),
    outputError: (text, write) => write(`shardline: ${text.replace(/^error: /, '')}`),
  });
  addKmsCommands(program);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stdout += String(chunk);
    const callback = rest.find((arg) => typeof arg === 'function') as ((error?: Error | null) => void) | undefined;
    callback?.(null);
    return true;
  }) as typeof process.stdout.write);
  let code = 0;
  try {
    await program.parseAsync(['kms', ...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : 2;
    else if (!(error instanceof OutputClosedError)) {
      stderr += `${describeError(error)}\n`;
      code = 1;
    }
  } finally {
    vi.restoreAllMocks();
  }
  return { code, stdout, stderr };
}

function ok(result: Result): Result {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  return result;
}

/** The fields of a key line: id, state, `versions <n>`, `aliases <a,b|->` (and `deletion <time>`). */
function fields(result: Result): string[] {
  const lines = result.stdout.split('\n').filter((line) => line.length > 0);
  expect(lines).toHaveLength(1);
  return lines[0]!.split('\t');
}

function failedWith(result: Result, code: string, text = ''): void {
  expect(result.code, result.stdout).toBe(1);
  expect(result.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^shardline: ${code}: `)), '']);
  expect(result.stderr).toContain(text);
}

describe('shardline kms', () => {
  it('create prints the new key; list shows every key, a line each; describe shows one', async () => {
    const dir = tempDir();
    const [keyId, state, versions, aliases, ...more] = fields(
      ok(await kms('create', '--alias', 'alias/orders', '--description', 'at rest', '--dir', dir)),
    );
    expect(keyId).toMatch(new RegExp(`^${UUID}$`));
    expect([state, versions, aliases, ...more]).toEqual(['Enabled', 'versions 1', 'aliases alias/orders']);
    const [second] = fields(ok(await kms('create', '--dir', dir)));

    const listed = ok(await kms('list', '--dir', dir)).stdout;
    expect(listed).toBe(`${keyId}\tEnabled\tversions 1\taliases alias/orders\n${second}\tEnabled\tversions 1\taliases -\n`);

    const described = ok(await kms('describe', 'alias/orders', '--dir', dir)).stdout.split('\n');
    expect(described).toEqual([
      `key          ${keyId}`,
      `arn          arn:aws:kms:us-east-1:000000000000:key/${keyId}`,
      'state        Enabled',
      'manager      CUSTOMER',
      'aliases      alias/orders',
      'versions     1',
      expect.stringMatching(/^created {6}\d{4}-\d\d-\d\dT/),
      'description  at rest',
      '',
    ]);
    // What the commands wrote is the store's, as the API reads it.
    const store = await KeyStore.open({ directory: dir });
    expect(store.listKeys().map((key) => key.KeyId)).toEqual([keyId, second]);
    expect(store.describeKey('alias/orders').Description).toBe('at rest');
    expect(fs.statSync(path.join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('--json prints { KeyMetadata } for one key and { Keys } for the list', async () => {
    const dir = tempDir();
    const created = JSON.parse(ok(await kms('create', '--alias', 'alias/j', '--dir', dir, '--json')).stdout) as {
      KeyMetadata: KeyDescription;
    };
    expect(created.KeyMetadata).toMatchObject({
      Aliases: ['alias/j'],
      KeyState: 'Enabled',
      KeyManager: 'CUSTOMER',
      Versions: 1,
      Description: '',
    });
    const { KeyMetadata } = JSON.parse(ok(await kms('describe', created.KeyMetadata.Arn, '--dir', dir, '--json')).stdout) as {
      KeyMetadata: Record<string, unknown>;
    };
    expect(KeyMetadata).toEqual({ ...created.KeyMetadata });
    expect(new Date(KeyMetadata.CreationDate as string).getTime()).toBe(
      (await KeyStore.open({ directory: dir })).describeKey('alias/j').CreationDate.getTime(),
    );
    const { Keys } = JSON.parse(ok(await kms('list', '--dir', dir, '--json')).stdout) as { Keys: Array<{ KeyId: string }> };
    expect(Keys.map((key) => key.KeyId)).toEqual([created.KeyMetadata.KeyId]);
    expect(JSON.parse(ok(await kms('list', '--dir', tempDir(), '--json')).stdout)).toEqual({ Keys: [] });
    expect(ok(await kms('list', '--dir', tempDir())).stdout).toBe('');
  });

  it('alias, rotate, disable, enable and delete-alias change the key and print it', async () => {
    const dir = tempDir();
    const [keyId] = fields(ok(await kms('create', '--dir', dir)));
    expect(fields(ok(await kms('alias', 'alias/b', keyId!, '--dir', dir)))).toEqual([keyId, 'Enabled', 'versions 1', 'aliases alias/b']);
    expect(fields(ok(await kms('alias', 'alias/a', 'alias/b', '--dir', dir)))).toEqual([
      keyId,
      'Enabled',
      'versions 1',
      'aliases alias/a,alias/b',
    ]);
    expect(fields(ok(await kms('rotate', 'alias/a', '--dir', dir)))).toEqual([keyId, 'Enabled', 'versions 2', 'aliases alias/a,alias/b']);
    expect(fields(ok(await kms('disable', keyId!, '--dir', dir)))[1]).toBe('Disabled');
    const store = await KeyStore.open({ directory: dir });
    await expect(store.generateDataKey(keyId!)).rejects.toMatchObject({ code: 'KMSDisabledException' });
    expect(fields(ok(await kms('enable', `arn:aws:kms:us-east-1:000000000000:alias/b`, '--dir', dir)))[1]).toBe('Enabled');
    expect(ok(await kms('delete-alias', 'alias/a', '--dir', dir)).stdout).toBe('deleted alias/a\n');
    const reopened = await KeyStore.open({ directory: dir });
    expect(reopened.describeKey(keyId!)).toMatchObject({ KeyState: 'Enabled', Versions: 2, Aliases: ['alias/b'] });
    const dataKey = await reopened.generateDataKey('alias/b');
    expect(new DataView(dataKey.wrapped.buffer, dataKey.wrapped.byteOffset).getUint32(21, true)).toBe(2);
  });

  it('schedule-deletion makes a key PendingDeletion with its date; cancel-deletion makes it Disabled', async () => {
    const dir = tempDir();
    const [keyId] = fields(ok(await kms('create', '--dir', dir)));
    const [, state, , , deletion] = fields(ok(await kms('schedule-deletion', keyId!, '--pending-window-in-days', '7', '--dir', dir)));
    expect(state).toBe('PendingDeletion');
    const days = (Date.parse(deletion!.replace('deletion ', '')) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    expect((await kms('schedule-deletion', keyId!, '--pending-window-in-days', '6', '--dir', dir)).code).toBe(2);
    expect(fields(ok(await kms('cancel-deletion', keyId!, '--dir', dir)))).toEqual([keyId, 'Disabled', 'versions 1', 'aliases -']);
  });

  it('describe makes alias/aws/kinesis on its first use, which cannot then be disabled (exit 1, one line)', async () => {
    const dir = tempDir();
    const described = ok(await kms('describe', AWS_KINESIS_ALIAS, '--dir', dir)).stdout;
    expect(described).toContain('manager      AWS\n');
    expect(described).toContain(`aliases      ${AWS_KINESIS_ALIAS}\n`);
    const [line] = ok(await kms('list', '--dir', dir)).stdout.split('\n');
    expect(line).toMatch(new RegExp(`^${UUID}\tEnabled\tversions 1\taliases alias/aws/kinesis$`));
    failedWith(await kms('disable', AWS_KINESIS_ALIAS, '--dir', dir), 'KMSAccessDeniedException', 'AWS managed key');
    expect(fields(ok(await kms('list', '--dir', dir)))[1]).toBe('Enabled');
  });

  it('an unknown key, a bad alias or a taken one fails with exit 1 and the error code', async () => {
    const dir = tempDir();
    const [keyId] = fields(ok(await kms('create', '--alias', 'alias/taken', '--dir', dir)));
    failedWith(await kms('describe', 'alias/nothing', '--dir', dir), 'KMSNotFoundException', 'alias/nothing');
    failedWith(await kms('rotate', '3f2504e0-4f89-41d3-9a0c-0305e82c3301', '--dir', dir), 'KMSNotFoundException', '3f2504e0');
    failedWith(await kms('alias', 'alias/with space', keyId!, '--dir', dir), 'InvalidArgumentException', 'alias name');
    failedWith(await kms('alias', 'alias/taken', keyId!, '--dir', dir), 'ResourceInUseException', 'alias/taken');
    failedWith(await kms('create', '--alias', 'alias/aws/mine', '--dir', dir), 'InvalidArgumentException', 'reserved');
    failedWith(await kms('delete-alias', 'alias/never', '--dir', dir), 'KMSNotFoundException', 'alias/never');
    expect((await kms('describe', '--dir', dir)).code).toBe(2);
    expect((await kms('frobnicate', '--dir', dir)).code).toBe(2);
    expect((await KeyStore.open({ directory: dir })).listKeys()).toHaveLength(1);
  });

  it('takes the passphrase from the variable --passphrase-env names, never from the command line', async () => {
    const dir = tempDir();
    process.env[PASSPHRASE_VARIABLE] = 'open sesame';
    const [keyId] = fields(ok(await kms('create', '--dir', dir, '--passphrase-env', PASSPHRASE_VARIABLE)));
    expect(fs.existsSync(path.join(dir, MASTER_KEY_FILE))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, CATALOG_FILE), 'utf8')).master.source).toBe('passphrase');
    expect(fields(ok(await kms('list', '--dir', dir, '--passphrase-env', PASSPHRASE_VARIABLE)))[0]).toBe(keyId);
    expect((await KeyStore.open({ directory: dir, passphrase: 'open sesame' })).describeKey(keyId!).KeyId).toBe(keyId);

    process.env[PASSPHRASE_VARIABLE] = 'wrong';
    failedWith(await kms('list', '--dir', dir, '--passphrase-env', PASSPHRASE_VARIABLE), 'KeyStoreError', 'wrong passphrase');
    failedWith(await kms('list', '--dir', dir), 'KeyStoreError', 'passphrase');
    delete process.env[PASSPHRASE_VARIABLE];
    const unset = await kms('list', '--dir', dir, '--passphrase-env', PASSPHRASE_VARIABLE);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(`${PASSPHRASE_VARIABLE} is not set`);
    expect((await kms('list', '--dir', dir, '--passphrase-env', 'NOT-A-NAME')).code).toBe(2);
    const onArgv = await kms('list', '--dir', dir, '--passphrase', 'open sesame');
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toContain('--passphrase');
  });

  it("defaults --dir to serve's default data directory's kms/", async () => {
    const serve = new Command('shardline');
    addServeCommand(serve);
    const dataDir = serve.commands.find((command) => command.name() === 'serve')!.options.find((option) => option.long === '--data-dir')!;
    expect(DEFAULT_KMS_DIR).toBe(`${dataDir.defaultValue as string}/kms`);

    const cwd = process.cwd();
    const work = tempDir();
    process.chdir(work);
    try {
      const [keyId] = fields(ok(await kms('create')));
      const store = await KeyStore.open({ directory: path.join(work, 'shardline-data', 'kms') });
      expect(store.listKeys().map((key) => key.KeyId)).toEqual([keyId]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a command loads the key store when it runs, and no server, engine, native or client module', async () => {
    const dir = tempDir();
    const importsFile = path.join(tempDir(), 'imports.txt');
    const script = `
      import { Command } from 'commander';
      const { addKmsCommands } = await import('./src/cli/kms.ts');
      const program = new Command('shardline');
      addKmsCommands(program);
      await program.parseAsync(['kms', 'create', '--dir', ${JSON.stringify(dir)}], { from: 'user' });
    `;
    const run = await runProcess(
      [
        process.execPath,
        '--import',
        'tsx',
        '--import',
        path.join(REPO_ROOT, 'test/fixtures/record_imports.mjs'),
        '--input-type=module',
        '-e',
        script,
      ],
      { env: { RECORD_IMPORTS_FILE: importsFile } },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${UUID}\tEnabled`));
    const imports = fs.readFileSync(importsFile, 'utf8').split('\n');
    expect(imports.some((url) => url.endsWith('/src/kms/key_store.ts'))).toBe(true);
    // test/cli_built.test.ts's server and client modules, and the log (whose durable_file.ts loads the addon).
    const heavy = [
      /\/src\/(engine|workers|native|client|log|index)\//,
      /\/src\/net\/(server|kinesis\/server)\.ts$/,
      /^node:http2$/,
      /\/node_modules\/(ws|cbor|piscina|uWebSockets\.js)\//,
    ];
    expect(imports.filter((url) => heavy.some((pattern) => pattern.test(url)))).toEqual([]);
  });
});
