import { ShardlineError } from '../errors.js';

/*
 * The errors of the local key store (key_store.ts). The four KMS*Exception classes carry the
 * codes Kinesis answers when the KMS key behind a stream's encryption cannot be used
 * (../shared/reference/kinesis-family.md §7.3), so a stream operation can pass them on as they
 * are. KeyStoreError is the store's own: the store itself cannot be opened or written.
 */

export { KMSAccessDeniedException, KMSDisabledException, KMSInvalidStateException, KMSNotFoundException } from '../errors.js';

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
