import fs from 'node:fs';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { InvalidCredentialsFileError } from '../errors.js';
import { ACCOUNT_ID } from '../streams/kinesis_shapes.js';
import { parsePolicy, type Policy } from './policy.js';

/*
 * The credentials file of `shardline serve --auth <file>` (docs/SECURITY.md): identities, each
 * with access keys and the policies attached to it. A problem anywhere stops the load with the
 * file, the line and the reason; a server keeps the last good load when a SIGHUP reload fails.
 */

export const CREDENTIALS_VERSION = 1 as const;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const SECRET_CHARS_MIN = 16;
const NAME = /^[\w+=,.@-]{1,64}$/;
const IAM_ARN = /^arn:aws:(iam|sts)::\d{12}:[\w+=,.@/-]+$/;

export interface Identity {
  readonly name: string;
  readonly arn: string;
  readonly accountId: string;
  readonly policies: readonly Policy[];
  readonly tags: Readonly<Record<string, string>>;
  /** Some policy has an aws:ResourceTag condition: only then are a stream's tags looked up per request. */
  readonly readsResourceTags: boolean;
}

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly identity: Identity;
}

/** The file as written: what `shardline auth` edits. */
export interface CredentialsDocument {
  readonly version: 1;
  readonly identities: readonly IdentityEntry[];
}

export interface IdentityEntry {
  readonly name: string;
  readonly arn?: string;
  readonly accessKeys: readonly { readonly accessKeyId: string; readonly secretAccessKey: string }[];
  readonly policies: readonly { readonly name: string; readonly document: unknown }[];
  readonly tags?: Readonly<Record<string, string>>;
}

/** The identities of a credentials file, by access key id. */
export class CredentialStore {
  private constructor(
    readonly path: string,
    private readonly keys: ReadonlyMap<string, AccessKey>,
    readonly identities: readonly Identity[],
  ) {}

  /** Reads and checks the file; InvalidCredentialsFileError `<path>:<line>: <reason>` for any problem. */
  static load(path: string): CredentialStore {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      throw new InvalidCredentialsFileError(`${path}: cannot read it (${(error as Error).message})`);
    }
    return CredentialStore.parse(path, text);
  }

  static parse(path: string, text: string): CredentialStore {
    const located = new Located(path, text);
    const document = located.document();
    const keys = new Map<string, AccessKey>();
    const identities = document.identities.map((entry, index) => identityOf(entry, index, located));
    document.identities.forEach((entry, index) => {
      entry.accessKeys.forEach((key, keyIndex) => {
        const at = ['identities', index, 'accessKeys', keyIndex, 'accessKeyId'];
        if (keys.has(key.accessKeyId)) throw located.fail(at, `access key ${key.accessKeyId} is given twice`);
        keys.set(key.accessKeyId, { ...key, identity: identities[index]! });
      });
    });
    return new CredentialStore(path, keys, identities);
  }

  secretOf(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId)?.secretAccessKey;
  }

  keyOf(accessKeyId: string): AccessKey | undefined {
    return this.keys.get(accessKeyId);
  }

  identityNamed(name: string): Identity | undefined {
    return this.identities.find((identity) => identity.name === name || identity.arn === name);
  }
}

function identityOf(entry: IdentityEntry, index: number, located: Located): Identity {
  const arn = entry.arn ?? `arn:aws:iam::${ACCOUNT_ID}:user/${entry.name}`;
  const policies = entry.policies.map((policy, policyIndex) =>
    parsePolicy(policy.name, policy.document, (path, reason) =>
      located.fail(['identities', index, 'policies', policyIndex, 'document', ...path], `policy ${policy.name}: ${reason}`),
    ),
  );
  const readsResourceTags = entry.policies.some((policy) => JSON.stringify(policy.document).toLowerCase().includes('aws:resourcetag/'));
  return { name: entry.name, arn, accountId: arn.split(':')[4]!, policies, tags: entry.tags ?? {}, readsResourceTags };
}

type Path = readonly (string | number)[];

/** The file's text with its syntax tree, so that a problem found after parsing still names its line. */
class Located {
  private readonly tree: Node | undefined;

  constructor(
    private readonly path: string,
    private readonly text: string,
  ) {
    const errors: ParseError[] = [];
    this.tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
    const first = errors[0];
    if (first !== undefined) throw this.failAt(first.offset, `not JSON: ${printParseErrorCode(first.error)}`);
  }

  fail(path: Path, reason: string): InvalidCredentialsFileError {
    let node: Node | undefined;
    for (let depth = path.length; node === undefined && depth >= 0; depth--)
      node = this.tree === undefined ? undefined : findNodeAtLocation(this.tree, [...path.slice(0, depth)]);
    return this.failAt(node?.offset ?? 0, `${describePath(path)}: ${reason}`);
  }

  private failAt(offset: number, reason: string): InvalidCredentialsFileError {
    const line = this.text.slice(0, offset).split('\n').length;
    return new InvalidCredentialsFileError(`${this.path}:${line}: ${reason}`);
  }

  /** The document, checked member by member (policies are checked by parsePolicy). */
  document(): CredentialsDocument {
    const value = JSON.parse(this.text) as unknown;
    const root = this.object(value, []);
    this.only(root, [], ['version', 'identities']);
    if (root['version'] !== CREDENTIALS_VERSION) throw this.fail(['version'], `version is ${CREDENTIALS_VERSION}`);
    const identities = this.array(root['identities'], ['identities']);
    const names = new Set<string>();
    identities.forEach((identity, index) => {
      this.identity(identity, ['identities', index]);
      const { name } = identity as { name: string };
      if (names.has(name)) throw this.fail(['identities', index, 'name'], `identity ${name} is given twice`);
      names.add(name);
    });
    return root as unknown as CredentialsDocument;
  }

  private identity(value: unknown, at: Path): void {
    const entry = this.object(value, at);
    this.only(entry, at, ['name', 'arn', 'accessKeys', 'policies', 'tags']);
    if (typeof entry['name'] !== 'string' || !NAME.test(entry['name']))
      throw this.fail([...at, 'name'], 'a name is 1 to 64 of A-Z a-z 0-9 _+=,.@-');
    if (entry['arn'] !== undefined && (typeof entry['arn'] !== 'string' || !IAM_ARN.test(entry['arn'])))
      throw this.fail([...at, 'arn'], 'an IAM ARN: arn:aws:iam::<12-digit account>:user/<name> (or role/..., or an sts ARN)');
    this.array(entry['accessKeys'], [...at, 'accessKeys']).forEach((key, index) => this.accessKey(key, [...at, 'accessKeys', index]));
    this.array(entry['policies'] ?? [], [...at, 'policies']).forEach((policy, index) => {
      const where = [...at, 'policies', index];
      const named = this.object(policy, where);
      this.only(named, where, ['name', 'document']);
      if (typeof named['name'] !== 'string' || !NAME.test(named['name']))
        throw this.fail([...where, 'name'], 'a policy name is 1 to 64 of A-Z a-z 0-9 _+=,.@-');
      if (named['document'] === undefined) throw this.fail(where, 'a policy has a document');
    });
    if (entry['tags'] !== undefined) {
      const tags = this.object(entry['tags'], [...at, 'tags']);
      for (const [key, tag] of Object.entries(tags))
        if (typeof tag !== 'string') throw this.fail([...at, 'tags', key], 'a tag value is a string');
    }
  }

  private accessKey(value: unknown, at: Path): void {
    const key = this.object(value, at);
    this.only(key, at, ['accessKeyId', 'secretAccessKey']);
    if (typeof key['accessKeyId'] !== 'string' || !ACCESS_KEY_ID.test(key['accessKeyId']))
      throw this.fail([...at, 'accessKeyId'], 'an access key id is 16 to 128 of A-Z 0-9');
    if (typeof key['secretAccessKey'] !== 'string' || key['secretAccessKey'].length < SECRET_CHARS_MIN)
      throw this.fail([...at, 'secretAccessKey'], `a secret access key has at least ${SECRET_CHARS_MIN} characters`);
  }

  private object(value: unknown, at: Path): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(at, 'an object');
    return value as Record<string, unknown>;
  }

  private array(value: unknown, at: Path): unknown[] {
    if (!Array.isArray(value)) throw this.fail(at, 'a list');
    return value;
  }

  private only(value: Record<string, unknown>, at: Path, members: readonly string[]): void {
    for (const member of Object.keys(value))
      if (!members.includes(member)) throw this.fail([...at, member], `unknown member (known: ${members.join(', ')})`);
  }
}

function describePath(path: Path): string {
  if (path.length === 0) return 'the document';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}
