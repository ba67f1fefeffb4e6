import { InvalidArgumentException } from '../errors.js';
import { KMSNotFoundException } from './errors.js';

/*
 * The four forms of a KeyId, as StartStreamEncryption takes them (kinesis-family.md §7.3):
 *
 *   key ARN     arn:aws:kms:<region>:<account>:key/<uuid>
 *   alias ARN   arn:aws:kms:<region>:<account>:alias/<name>
 *   key id      <uuid>
 *   alias name  alias/<name>
 *
 * Pure: parsing a KeyId says which key or alias it names, not whether one exists. A store holds
 * the keys of one region and account, so an ARN of another one names nothing here.
 */

/** The region and account of a store's ARNs. */
export interface KeyScope {
  readonly region: string;
  readonly accountId: string;
}

/** What a KeyId names: a key by its id (a lower-case UUID), or an alias by its full name (`alias/...`). */
export type KeyReference = { readonly keyId: string; readonly aliasName?: never } | { readonly aliasName: string; readonly keyId?: never };

/** An alias name: `alias/` and then A-Z a-z 0-9 / _ -, 256 characters in all at most (AWS's AliasName). */
export const ALIAS_NAME_CHARS_MAX = 256;
export const ALIAS_PREFIX = 'alias/';
/** The prefix of the aliases of AWS managed keys: no user may create, delete or point one. */
export const AWS_ALIAS_PREFIX = 'alias/aws/';
/** KMS's bound on a KeyId parameter: anything longer is not looked at. */
export const KEY_ID_CHARS_MAX = 2048;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]+$/;
const ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export function keyArn(scope: KeyScope, keyId: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:key/${keyId}`;
}

export function aliasArn(scope: KeyScope, aliasName: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:${aliasName}`;
}

export function isAliasName(text: string): boolean {
  return text.length <= ALIAS_NAME_CHARS_MAX && ALIAS_NAME.test(text);
}

/** `text` if it is an alias name a user may create or delete; InvalidArgumentException otherwise. */
export function checkCustomerAliasName(text: string): string {
  if (!isAliasName(text))
    throw new InvalidArgumentException(
      `alias name ${JSON.stringify(text)}: alias/ followed by A-Z a-z 0-9 / _ -, ${ALIAS_NAME_CHARS_MAX} characters in all at most`,
    );
  if (text.startsWith(AWS_ALIAS_PREFIX))
    throw new InvalidArgumentException(`alias name ${text}: the prefix ${AWS_ALIAS_PREFIX} is reserved for AWS managed keys`);
  return text;
}

/** What `keyId` names, in any of the four forms; KMSNotFoundException, naming it, if it is none of them. */
export function parseKeyId(keyId: string, scope: KeyScope): KeyReference {
  if (keyId.length > KEY_ID_CHARS_MAX) throw new KMSNotFoundException(`KeyId of ${keyId.length} characters: at most ${KEY_ID_CHARS_MAX}`);
  if (UUID.test(keyId)) return { keyId: keyId.toLowerCase() };
  if (keyId.startsWith(ALIAS_PREFIX)) {
    if (isAliasName(keyId)) return { aliasName: keyId };
    throw new KMSNotFoundException(`Alias ${keyId} is not a valid alias name`);
  }
  const arn = ARN.exec(keyId);
  if (arn === null)
    throw new KMSNotFoundException(
      `Invalid keyId ${keyId}: expected a key ARN, an alias ARN, a key id (a UUID) or an alias name (alias/...)`,
    );
  const [, region, accountId, kind, rest] = arn as unknown as [string, string, string, 'key' | 'alias', string];
  if (region !== scope.region || accountId !== scope.accountId)
    throw new KMSNotFoundException(
      `${keyId} is in region ${region}, account ${accountId}: this key store holds the keys of region ${scope.region}, account ${scope.accountId}`,
    );
  if (kind === 'key') {
    if (UUID.test(rest)) return { keyId: rest.toLowerCase() };
    throw new KMSNotFoundException(`Invalid keyId ${keyId}: a key ARN ends in key/<uuid>`);
  }
  const aliasName = `${ALIAS_PREFIX}${rest}`;
  if (isAliasName(aliasName)) return { aliasName };
  throw new KMSNotFoundException(`Invalid keyId ${keyId}: its alias is not a valid alias name`);
}
