import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CREDENTIALS_VERSION, CredentialStore, type CredentialsDocument, type IdentityEntry } from '../auth/credentials.js';
import { accessDeniedMessage, evaluate } from '../auth/policy.js';
import { InvalidArgumentException, ResourceNotFoundException } from '../errors.js';
import { writeLine } from './process_io.js';

/*
 * `shardline auth`: edits a credentials file (docs/SECURITY.md) and asks it questions, offline.
 * Every edit is checked whole (CredentialStore.parse) before the file is replaced, atomically and
 * with mode 0600, so a running server's SIGHUP never finds half a file or a broken one.
 */

interface AddKeyOptions {
  readonly identity: string;
  readonly arn?: string;
  readonly policy?: string[];
}

interface SimulateOptions {
  readonly identity: string;
  readonly action: string;
  readonly resource: string;
  readonly sourceIp: string;
  readonly insecure?: boolean;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function addAuthCommands(program: Command): void {
  const auth = program.command('auth').description('credentials files for serve --auth: add and remove keys, list, simulate');
  auth
    .command('add-key')
    .description('add an access key to an identity (made if new) and print it: ACCESS_KEY_ID SECRET_ACCESS_KEY')
    .argument('<file>', 'credentials file (made if missing, mode 0600)')
    .requiredOption('--identity <name>', 'the identity the key belongs to')
    .option('--arn <arn>', "the identity's ARN, for a new identity (default arn:aws:iam::000000000000:user/<name>)")
    .option(
      '--policy <name=file>',
      'attach the policy document in <file> under <name> (repeatable; replaces one of that name)',
      collect,
      [],
    )
    .action((file: string, options: AddKeyOptions) => addKey(file, options));
  auth
    .command('remove-key')
    .description('remove an access key (the identity and its policies stay)')
    .argument('<file>', 'credentials file')
    .argument('<access-key-id>', 'the key to remove')
    .action((file: string, accessKeyId: string) => removeKey(file, accessKeyId));
  auth
    .command('list')
    .description('the identities with their ARNs, access key ids and policy names (never the secrets)')
    .argument('<file>', 'credentials file')
    .action((file: string) => list(file));
  auth
    .command('simulate')
    .description("what an identity's policies decide for an action on a resource, and which statements decided it")
    .argument('<file>', 'credentials file')
    .requiredOption('--identity <name>', 'identity name or ARN')
    .requiredOption('--action <action>', 'e.g. kinesis:PutRecord')
    .requiredOption('--resource <arn>', 'e.g. arn:aws:kinesis:us-east-1:000000000000:stream/orders, or *')
    .option('--source-ip <ip>', 'aws:SourceIp', '127.0.0.1')
    .option('--insecure', 'aws:SecureTransport false (a request without TLS)')
    .action((file: string, options: SimulateOptions) => simulate(file, options));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function addKey(file: string, options: AddKeyOptions): Promise<void> {
  const document: CredentialsDocument = fs.existsSync(file) ? read(file) : { version: CREDENTIALS_VERSION, identities: [] };
  const existing = document.identities.find((identity) => identity.name === options.identity);
  const key = { accessKeyId: newAccessKeyId(), secretAccessKey: randomBytes(30).toString('base64') };
  const policies = (options.policy ?? []).map(readPolicy);
  const base: IdentityEntry = existing ?? {
    name: options.identity,
    ...(options.arn === undefined ? {} : { arn: options.arn }),
    accessKeys: [],
    policies: [],
  };
  const updated: IdentityEntry = {
    ...base,
    accessKeys: [...base.accessKeys, key],
    policies: [...base.policies.filter((policy) => !policies.some((added) => added.name === policy.name)), ...policies],
  };
  write(file, { ...document, identities: [...document.identities.filter((identity) => identity !== existing), updated] });
  await writeLine(`${key.accessKeyId} ${key.secretAccessKey}`);
}

async function removeKey(file: string, accessKeyId: string): Promise<void> {
  const document = read(file);
  if (!document.identities.some((identity) => identity.accessKeys.some((key) => key.accessKeyId === accessKeyId)))
    throw new ResourceNotFoundException(`no access key ${accessKeyId} in ${file}`);
  const identities = document.identities.map((identity) => ({
    ...identity,
    accessKeys: identity.accessKeys.filter((key) => key.accessKeyId !== accessKeyId),
  }));
  write(file, { ...document, identities });
  await writeLine(`removed ${accessKeyId}`);
}

async function list(file: string): Promise<void> {
  const store = CredentialStore.load(file);
  const document = read(file);
  for (const identity of store.identities) {
    const entry = document.identities.find((candidate) => candidate.name === identity.name)!;
    const keys = entry.accessKeys.map((key) => key.accessKeyId).join(',') || '-';
    const policies = identity.policies.map((policy) => policy.name).join(',') || '-';
    await writeLine(`${identity.name}\t${identity.arn}\tkeys ${keys}\tpolicies ${policies}`);
  }
}

async function simulate(file: string, options: SimulateOptions): Promise<void> {
  const identity = CredentialStore.load(file).identityNamed(options.identity);
  if (identity === undefined) throw new ResourceNotFoundException(`no identity ${options.identity} in ${file}`);
  const request = {
    action: options.action,
    resource: options.resource,
    principalArn: identity.arn,
    context: {
      'aws:SourceIp': options.sourceIp,
      'aws:SecureTransport': options.insecure !== true,
      'aws:CurrentTime': new Date(),
      'aws:PrincipalArn': identity.arn,
      'aws:username': identity.name,
    },
  };
  const decision = evaluate(identity.policies, request);
  await writeLine(decision.allowed ? 'allowed' : `denied (${decision.reason}): ${accessDeniedMessage(request, decision)}`);
  for (const statement of decision.matched)
    await writeLine(
      `  ${statement.effect} by policy ${statement.policy}, statement ${statement.index}${statement.sid === undefined ? '' : ` (${statement.sid})`}`,
    );
}

/** The file as a document, after checking that it loads (so an edit starts from a good one). */
function read(file: string): CredentialsDocument {
  CredentialStore.load(file);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CredentialsDocument;
}

function write(file: string, document: CredentialsDocument): void {
  const text = `${JSON.stringify(document, null, 2)}\n`;
  CredentialStore.parse(file, text);
  const temporary = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}

function readPolicy(spec: string): { name: string; document: unknown } {
  const at = spec.indexOf('=');
  if (at <= 0) throw new InvalidArgumentException(`--policy takes <name>=<file>, got ${spec}`);
  const file = spec.slice(at + 1);
  try {
    return { name: spec.slice(0, at), document: JSON.parse(fs.readFileSync(file, 'utf8')) as unknown };
  } catch (error) {
    throw new InvalidArgumentException(`--policy ${spec}: ${(error as Error).message}`);
  }
}

function newAccessKeyId(): string {
  return `AKIA${Array.from(randomBytes(16), (byte) => BASE32[byte % 32]).join('')}`;
}
