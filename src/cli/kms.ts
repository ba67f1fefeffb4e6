import { Option, type Command } from 'commander';
// Types only: the key store is loaded when a command runs, so --help stays fast.
import type { KeyDescription, KeyStore } from '../kms/key_store.js';
import { integerIn } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline kms create|list|describe|alias|delete-alias|rotate|disable|enable|schedule-deletion|
 * cancel-deletion`: the local KMS key store (src/kms/key_store.ts) that stream encryption at rest
 * takes its keys from, offline, in --dir (the server's is <data dir>/kms). The store has one
 * owner: run these while the server that uses the store is stopped (a change made while it runs
 * is refused by whichever of the two writes second).
 *
 * A passphrase is never an argument (argv is visible to every user of the machine): it is read
 * from the environment variable --passphrase-env names.
 */

/** `shardline serve`'s default data directory, and its key store there. */
export const DEFAULT_KMS_DIR = './shardline-data/kms';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface StoreOptions {
  readonly dir: string;
  readonly passphraseEnv?: string;
  readonly json?: boolean;
}

interface CreateOptions extends StoreOptions {
  readonly alias?: string;
  readonly description?: string;
}

interface DeletionOptions extends StoreOptions {
  readonly pendingWindowInDays: number;
}

export function addKmsCommands(program: Command): void {
  const kms = program
    .command('kms')
    .description('the local KMS key store for stream encryption at rest: create, list, describe, alias, rotate, disable, enable keys');
  storeCommand(kms, 'create', 'create a key (Enabled, one version of key material) and print it: KEY-ID STATE VERSIONS ALIASES')
    .option('--alias <alias>', 'an alias for it: alias/<name>')
    .option('--description <text>', 'its description')
    .action(async (options: CreateOptions, command: Command) => {
      const store = await openStore(options, command);
      const key = await store.createKey({
        ...(options.alias === undefined ? {} : { alias: options.alias }),
        ...(options.description === undefined ? {} : { description: options.description }),
      });
      await printKey(key, options);
    });
  storeCommand(kms, 'list', 'list the keys, a line each: KEY-ID STATE VERSIONS ALIASES').action(
    async (options: StoreOptions, command: Command) => {
      const keys = (await openStore(options, command)).listKeys();
      if (options.json === true) await writeLine(JSON.stringify({ Keys: keys }, null, 2));
      else for (const key of keys) await writeLine(keyLine(key));
    },
  );
  storeCommand(kms, 'describe', 'show a key (alias/aws/kinesis is made on its first use, as KMS does)')
    .argument('<key-id>', 'key ARN, alias ARN, key id or alias name')
    .action(async (keyId: string, options: StoreOptions, command: Command) => {
      const key = await (await openStore(options, command)).resolveKey(keyId);
      if (options.json === true) await writeLine(JSON.stringify({ KeyMetadata: key }, null, 2));
      else for (const line of describeLines(key)) await writeLine(line);
    });
  storeCommand(kms, 'alias', 'point a new alias at a key, and print the key')
    .argument('<alias>', 'alias/<name>: A-Z a-z 0-9 / _ -, not alias/aws/...')
    .argument('<key-id>', 'the key, in any of the four forms')
    .action(async (alias: string, keyId: string, options: StoreOptions, command: Command) => {
      const store = await openStore(options, command);
      await store.createAlias(alias, keyId);
      await printKey(store.describeKey(alias), options);
    });
  storeCommand(kms, 'delete-alias', 'delete an alias (the key stays)')
    .argument('<alias>', 'alias/<name>')
    .action(async (alias: string, options: StoreOptions, command: Command) => {
      await (await openStore(options, command)).deleteAlias(alias);
      await writeLine(`deleted ${alias}`);
    });
  storeCommand(kms, 'rotate', 'add a version of key material, which new data keys use (the old ones still unwrap)')
    .argument('<key-id>', 'the key, in any of the four forms')
    .action(async (keyId: string, options: StoreOptions, command: Command) => {
      await printKey(await (await openStore(options, command)).rotateKey(keyId), options);
    });
  storeCommand(kms, 'disable', 'disable a key: no data key is made or unwrapped under it until it is enabled')
    .argument('<key-id>', 'the key, in any of the four forms')
    .action(async (keyId: string, options: StoreOptions, command: Command) => {
      const store = await openStore(options, command);
      await store.disableKey(keyId);
      await printKey(store.describeKey(keyId), options);
    });
  storeCommand(kms, 'enable', 'enable a disabled key')
    .argument('<key-id>', 'the key, in any of the four forms')
    .action(async (keyId: string, options: StoreOptions, command: Command) => {
      const store = await openStore(options, command);
      await store.enableKey(keyId);
      await printKey(store.describeKey(keyId), options);
    });
  storeCommand(kms, 'schedule-deletion', 'make a key PendingDeletion (unusable; its material is kept until cancel-deletion)')
    .argument('<key-id>', 'the key, in any of the four forms')
    .addOption(
      new Option('--pending-window-in-days <days>', 'the DeletionDate shown, in days: 7 to 30').argParser(integerIn(7, 30)).default(30),
    )
    .action(async (keyId: string, options: DeletionOptions, command: Command) => {
      const store = await openStore(options, command);
      await printKey(await store.scheduleKeyDeletion(keyId, options.pendingWindowInDays), options);
    });
  storeCommand(kms, 'cancel-deletion', 'cancel the deletion of a key: it becomes Disabled')
    .argument('<key-id>', 'the key, in any of the four forms')
    .action(async (keyId: string, options: StoreOptions, command: Command) => {
      await printKey(await (await openStore(options, command)).cancelKeyDeletion(keyId), options);
    });
}

/** A subcommand with the options every kms command takes: --dir, --passphrase-env, --json. */
function storeCommand(kms: Command, name: string, description: string): Command {
  return kms
    .command(name)
    .description(description)
    .option('--dir <dir>', 'the key store directory', DEFAULT_KMS_DIR)
    .option('--passphrase-env <name>', "the environment variable holding the store's passphrase (for a store made with one)")
    .option('--json', 'print JSON: { KeyMetadata } for one key, { Keys } for the list');
}

/** The store in --dir, with the passphrase from --passphrase-env's variable; a missing variable is a usage error (exit 2). */
async function openStore(options: StoreOptions, command: Command): Promise<KeyStore> {
  let passphrase: string | undefined;
  if (options.passphraseEnv !== undefined) {
    const name = options.passphraseEnv;
    if (!ENV_NAME.test(name))
      command.error(`--passphrase-env ${name}: not an environment variable name`, { exitCode: 2, code: 'shardline.passphraseEnv' });
    passphrase = process.env[name];
    if (passphrase === undefined || passphrase === '')
      command.error(`--passphrase-env ${name}: the environment variable ${name} is not set`, {
        exitCode: 2,
        code: 'shardline.passphraseEnv',
      });
  }
  const { KeyStore } = await import('../kms/key_store.js');
  return KeyStore.open({ directory: options.dir, ...(passphrase === undefined ? {} : { passphrase }) });
}

async function printKey(key: KeyDescription, options: StoreOptions): Promise<void> {
  await writeLine(options.json === true ? JSON.stringify({ KeyMetadata: key }, null, 2) : keyLine(key));
}

/** `<key id>\t<state>\tversions <n>\taliases <a,b or ->`, and `\tdeletion <time>` for a key pending deletion. */
export function keyLine(key: KeyDescription): string {
  const fields = [key.KeyId, key.KeyState, `versions ${key.Versions}`, `aliases ${key.Aliases.join(',') || '-'}`];
  if (key.DeletionDate !== undefined) fields.push(`deletion ${key.DeletionDate.toISOString()}`);
  return fields.join('\t');
}

export function describeLines(key: KeyDescription): string[] {
  const rows: [string, string][] = [
    ['key', key.KeyId],
    ['arn', key.Arn],
    ['state', key.KeyState],
    ['manager', key.KeyManager],
    ['aliases', key.Aliases.join(', ') || '-'],
    ['versions', String(key.Versions)],
    ['created', key.CreationDate.toISOString()],
    ...(key.DeletionDate === undefined ? [] : [['deletion', key.DeletionDate.toISOString()] as [string, string]]),
    ['description', key.Description || '-'],
  ];
  return rows.map(([label, value]) => `${label.padEnd(12)} ${value}`);
}
