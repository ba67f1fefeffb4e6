import { ShardlineError } from '../errors.js';

/*
 * The errors of the local key store (key_store.ts). The four KMS*Exception classes carry the
 * codes Kinesis answers when the KMS key behind a stream's encryption cannot be used
 * (../shared/reference/kinesis-family.md §7.3), so a stream operation can pass them on as they
 * are. KeyStoreError is the store's own: the store itself cannot be opened or written.
 */

/** The key is disabled: enable it again to use it. */
export class KMSDisabledException extends ShardlineError {
  readonly code = 'KMSDisabledException' as const;
  override readonly fault = 'client';
}

/**
 * The key is not in a state that allows the request (pending deletion), or what was asked of it
 * does not hold together: a wrapped data key that was changed or cut short, key material in the
 * catalog that fails authentication under the master key.
 */
export class KMSInvalidStateException extends ShardlineError {
  readonly code = 'KMSInvalidStateException' as const;
  override readonly fault = 'client';
}

/** No key answers to the KeyId (in any of its four forms), or the KeyId is none of them. */
export class KMSNotFoundException extends ShardlineError {
  readonly code = 'KMSNotFoundException' as const;
  override readonly fault = 'client';
}

/** The request would change an AWS managed key (`alias/aws/...`), which only AWS (here: the store) changes. */
export class KMSAccessDeniedException extends ShardlineError {
  readonly code = 'KMSAccessDeniedException' as const;
  override readonly fault = 'client';
}

/** Why a key store could not be opened or written. */
export type KeyStoreFailure =
  /** The catalog was made with a passphrase and none was given. */
  | 'PassphraseRequired'
  /** A passphrase was given for a store whose master key is the file master.key. */
  | 'PassphraseNotUsed'
  /** The passphrase does not derive the master key that made the catalog. */
  | 'WrongPassphrase'
  /** master.key can be read by others than its owner. */
  | 'UnsafePermissions'
  /** The catalog names master.key as its master key, and there is none. */
  | 'MasterKeyMissing'
  /** master.key is not 32 bytes, or is not the key that made the catalog. */
  | 'WrongMasterKey'
  /** catalog.json does not parse or contradicts itself. */
  | 'CorruptCatalog'
  /** catalog.json changed on disk since this process last read or wrote it: another process writes it too. */
  | 'ChangedElsewhere';

/** A key store that cannot be used as it is: the directory, and what to do about it, are in the message. */
export class KeyStoreError extends ShardlineError {
  readonly code = 'KeyStoreError' as const;
  readonly reason: KeyStoreFailure;

  constructor(message: string, options: { reason: KeyStoreFailure; cause?: unknown }) {
    super(message, options);
    this.reason = options.reason;
  }
}
