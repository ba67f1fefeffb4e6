/**
 * Operating errors: every error a caller can meet in normal operation is a ShardlineError with a
 * literal `code` to switch on (the Kinesis exception name where Kinesis has one), whether trying
 * again may succeed (`retriable`), whose fault it is (`fault`), and the underlying `cause`.
 * Programmer errors are asserts.
 */

/**
 * Whose an error is, as AWS's API models mark each exception: the caller's, who must change the
 * request (or wait, when it is also retriable), or the server's. The HTTP doors answer a client
 * fault with 400 and a server fault with 500.
 */
export type ErrorFault = 'client' | 'server';

/** How the message of an error a fault rule injected ends (docs/TESTING.md, "Fault injection"). */
const INJECTED_MARKER = / \(injected by fault rule ([A-Za-z0-9_.-]{1,64})\)$/;

/** The message of an error injected by the fault rule `ruleId`: its `injected` is read back from it, on every door. */
export function injectedMessage(message: string, ruleId: string): string {
  return `${message} (injected by fault rule ${ruleId})`;
}

export abstract class ShardlineError extends Error {
  abstract readonly code: string;
  readonly retriable: boolean;
  /** The id of the fault rule that injected this error; undefined for a real one. */
  readonly injected: string | undefined;
  /**
   * The server's unless the class says otherwise: an error nobody classified is answered as the
   * server's (500, which the AWS SDKs retry), never blamed on a request that may have been right.
   */
  readonly fault: ErrorFault = 'server';

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? false;
    this.injected = message.endsWith(')') ? INJECTED_MARKER.exec(message)?.[1] : undefined;
  }

  override get name(): string {
    return this.code;
  }
}

/** Bad input: nothing was changed. */
export class InvalidArgumentException extends ShardlineError {
  readonly code = 'InvalidArgumentException' as const;
  override readonly fault = 'client';
}

/** The named stream, shard or consumer does not exist. */
export class ResourceNotFoundException extends ShardlineError {
  readonly code = 'ResourceNotFoundException' as const;
  override readonly fault = 'client';
}

/** The resource is not in a state that allows the operation (e.g. a stream being updated, a name taken). */
export class ResourceInUseException extends ShardlineError {
  readonly code = 'ResourceInUseException' as const;
  override readonly fault = 'client';
}

/** Too many of something: streams, shards, consumers, tags, or requests of a rate-limited operation. */
export class LimitExceededException extends ShardlineError {
  readonly code = 'LimitExceededException' as const;
  override readonly fault = 'client';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A shard's throughput limit: retry after backing off. */
export class ProvisionedThroughputExceededException extends ShardlineError {
  readonly code = 'ProvisionedThroughputExceededException' as const;
  override readonly fault = 'client';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** A shard iterator older than 5 minutes: get a new one. */
export class ExpiredIteratorException extends ShardlineError {
  readonly code = 'ExpiredIteratorException' as const;
  override readonly fault = 'client';
}

/** A request that does not satisfy the API's constraints (Kinesis answers these for shape errors). */
export class ValidationException extends ShardlineError {
  readonly code = 'ValidationException' as const;
  override readonly fault = 'client';
}

/** A request with DryRun set that would have succeeded: checked, not carried out (Kinesis' name). */
export class DryRunOperationException extends ShardlineError {
  readonly code = 'DryRunOperationException' as const;
  override readonly fault = 'client';
}

/** The caller may not perform the operation. */
export class AccessDeniedException extends ShardlineError {
  readonly code = 'AccessDeniedException' as const;
  override readonly fault = 'client';
}

/**
 * A request body the protocol cannot read: not a map of members, a member of the wrong type, or
 * a blob that is not one. AWS's deserializer refuses these before anything is validated.
 */
export class SerializationException extends ShardlineError {
  readonly code = 'SerializationException' as const;
  override readonly fault = 'client';
}

/** A request for no operation of the API: an unknown target, method or content type. */
export class UnknownOperationException extends ShardlineError {
  readonly code = 'UnknownOperationException' as const;
  override readonly fault = 'client';
}

/** A request without the SigV4 Authorization header every AWS request carries. */
export class MissingAuthenticationTokenException extends ShardlineError {
  readonly code = 'MissingAuthenticationTokenException' as const;
  override readonly fault = 'client';
}

/** A malformed SigV4 Authorization header, or one without a date to go with it. */
export class IncompleteSignatureException extends ShardlineError {
  readonly code = 'IncompleteSignatureException' as const;
  override readonly fault = 'client';
}

/** A SigV4 signature that does not match, that was made too far from the server's clock, or both kinds of signature at once. */
export class InvalidSignatureException extends ShardlineError {
  readonly code = 'InvalidSignatureException' as const;
  override readonly fault = 'client';
}

/** An access key id the server does not know (AWS's "The security token included in the request is invalid."). */
export class UnrecognizedClientException extends ShardlineError {
  readonly code = 'UnrecognizedClientException' as const;
  override readonly fault = 'client';
}

/** A policy document that is not one (IAM's name): the file, where in it, and why. */
export class MalformedPolicyDocumentException extends ShardlineError {
  readonly code = 'MalformedPolicyDocumentException' as const;
  override readonly fault = 'client';
}

/** A credentials file that cannot be used: its path, line and reason. */
export class InvalidCredentialsFileError extends ShardlineError {
  readonly code = 'InvalidCredentialsFile' as const;
  override readonly fault = 'client';
}

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

/** Lambda's refusal of a parameter (an event source mapping's): nothing was created or changed. */
export class InvalidParameterValueException extends ShardlineError {
  readonly code = 'InvalidParameterValueException' as const;
  override readonly fault = 'client';
}

/** Firehose's: the operation does not fit the delivery stream's source (a put to a KinesisStreamAsSource one). */
export class InvalidSourceException extends ShardlineError {
  readonly code = 'InvalidSourceException' as const;
  override readonly fault = 'client';
}

/** Firehose's: a put over the delivery stream's rate, or its buffer log refusing records for now; retry. */
export class ServiceUnavailableException extends ShardlineError {
  readonly code = 'ServiceUnavailableException' as const;
  override readonly fault = 'client';
}

/**
 * AWS's common ServiceUnavailable (HTTP 503): a temporary failure of the server; retry. Only a
 * fault rule (docs/TESTING.md) answers it today.
 */
export class ServiceUnavailableError extends ShardlineError {
  readonly code = 'ServiceUnavailable' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** Firehose's: the delivery stream changed since the version the update names. */
export class ConcurrentModificationException extends ShardlineError {
  readonly code = 'ConcurrentModificationException' as const;
  override readonly fault = 'client';
}

/** Lambda's: an Invoke payload that is not JSON. */
export class InvalidRequestContentException extends ShardlineError {
  readonly code = 'InvalidRequestContentException' as const;
  override readonly fault = 'client';
}

/** Lambda's: the resource exists already (an event source mapping of the same stream and function). */
export class ResourceConflictException extends ShardlineError {
  readonly code = 'ResourceConflictException' as const;
  override readonly fault = 'client';
}

/**
 * A continuous query (docs/QUERIES.md) that does not parse, or names what does not exist: the
 * message gives the line and column and the reason; nothing was created.
 */
export class InvalidQueryException extends ShardlineError {
  readonly code = 'InvalidQueryException' as const;
  override readonly fault = 'client';
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Without a position, the message's own (an error that crossed a wire) is read back. */
  constructor(message: string, line?: number, column?: number) {
    super(line === undefined ? message : `line ${line}, column ${column}: ${message}`);
    const position = /^line (\d+), column (\d+): /.exec(this.message);
    this.line = position === null ? undefined : Number(position[1]);
    this.column = position === null ? undefined : Number(position[2]);
  }
}

/** A shard's owner is restarting or unreachable: nothing was changed, retry. */
export class InternalFailureException extends ShardlineError {
  readonly code = 'InternalFailure' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** The log (or engine) was closed, or failed and must be reopened. */
export class ClosedError extends ShardlineError {
  readonly code = 'Closed' as const;
}

/** The file system is full: nothing of the failed append was stored; retry after space frees. */
export class StorageFullError extends ShardlineError {
  readonly code = 'StorageFull' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/**
 * An I/O error the log cannot vouch past (a failed write or fsync). The log stops accepting
 * appends: after a failed fsync the kernel may have dropped the dirty pages, so only reopening
 * (which recovers from what is really on disk) gives a truthful state.
 */
export class StorageError extends ShardlineError {
  readonly code = 'StorageError' as const;
}

/** A read below the log's start (expired by retention) or past its end. */
export class OffsetOutOfRangeError extends ShardlineError {
  readonly code = 'OffsetOutOfRange' as const;
  constructor(
    message: string,
    readonly startOffset: number,
    readonly endOffset: number,
  ) {
    super(message);
  }
}

/**
 * The Producer gave up on a record whose RecordTtl passed while it was being retried; `cause` is
 * the last failure. Nothing was stored by the attempts that failed.
 */
export class RecordExpiredError extends ShardlineError {
  readonly code = 'RecordExpired' as const;
}

/** Why a sealed record (docs/FORMAT.md, "Client-side envelope encryption") could not be opened. */
export type DecryptionFailure = 'NotSealed' | 'UnknownVersion' | 'Truncated' | 'Malformed' | 'UnwrapFailed' | 'AuthenticationFailed';

/** Where a record that failed to decrypt was read: what a consumer knows of it. */
export interface DecryptedRecordRef {
  readonly streamName?: string;
  readonly shardId?: string;
  readonly sequenceNumber?: string;
}

/**
 * A record that client-side envelope encryption could not open: not sealed, cut short, changed,
 * or sealed under a key the key provider cannot unwrap. Retriable only when the key provider's
 * own failure was (a KMS that was unreachable). Nothing of the plaintext is ever returned.
 */
export class DecryptionError extends ShardlineError {
  readonly code = 'DecryptionFailed' as const;
  readonly reason: DecryptionFailure;
  readonly record: DecryptedRecordRef | undefined;

  constructor(message: string, options: { reason: DecryptionFailure; record?: DecryptedRecordRef; cause?: unknown; retriable?: boolean }) {
    super(message, options);
    this.reason = options.reason;
    this.record = options.record;
  }

  /** This error naming the record it was met on, for a consumer to throw in its place. */
  withRecord(record: DecryptedRecordRef): DecryptionError {
    const where = [record.streamName, record.shardId, record.sequenceNumber].filter((part) => part !== undefined).join(' ');
    return new DecryptionError(`record ${where}: ${this.message}`, {
      reason: this.reason,
      record,
      cause: this.cause,
      retriable: this.retriable,
    });
  }
}

/** A log directory whose files contradict each other in a way recovery must not guess about. */
export class CorruptLogError extends ShardlineError {
  readonly code = 'CorruptLog' as const;
}

/** A conditional write found another counter or owner than it expected: nothing was changed (DynamoDB's name). */
export class ConditionalCheckFailedException extends ShardlineError {
  readonly code = 'ConditionalCheckFailedException' as const;
  override readonly fault = 'client';
}

/** A consumer group's stored lease that does not parse: an error, never a silent start over. */
export class CorruptLeaseError extends ShardlineError {
  readonly code = 'CorruptLease' as const;
}

/**
 * The worker no longer holds the shard's lease (another took it, or it could not renew it in
 * time): the checkpoint was not written, and the processor must stop (the KCL's ShutdownException).
 */
export class LeaseLostError extends ShardlineError {
  readonly code = 'LeaseLost' as const;
}

/**
 * A capture file (docs/FORMAT.md, "Capture files") that is truncated, corrupt or not a capture:
 * refused at the first bad frame or line. `position` is its first byte in the file, `line` its
 * line (JSON lines only, from 1), `recordIndex` the number of records read before it.
 */
export class CaptureFormatError extends ShardlineError {
  readonly code = 'CaptureFormat' as const;
  override readonly fault = 'client';
  constructor(
    reason: string,
    readonly position: number,
    readonly line: number | undefined,
    readonly recordIndex: number,
  ) {
    super(`${line === undefined ? '' : `line ${line}, `}byte ${position} (after ${recordIndex} records): ${reason}`);
  }
}

/** Maps a failed file system call to the operating error callers see. */
export function storageErrorFrom(error: unknown, what: string): StorageFullError | StorageError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageFullError(`${what}: no space left on the device (${detail})`, { cause: error });
  }
  return new StorageError(`${what}: ${detail}`, { cause: error });
}

const TYPES_BY_CODE: Record<string, new (message: string) => ShardlineError> = {
  InvalidArgumentException,
  ResourceNotFoundException,
  ResourceInUseException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ExpiredIteratorException,
  ValidationException,
  DryRunOperationException,
  AccessDeniedException,
  InternalFailure: InternalFailureException,
  ServiceUnavailable: ServiceUnavailableError,
  Closed: ClosedError,
  StorageFull: StorageFullError,
  StorageError,
  CorruptLog: CorruptLogError,
  ConditionalCheckFailedException,
  CorruptLease: CorruptLeaseError,
  LeaseLost: LeaseLostError,
  RecordExpired: RecordExpiredError,
  SerializationException,
  UnknownOperationException,
  MissingAuthenticationTokenException,
  IncompleteSignatureException,
  InvalidSignatureException,
  UnrecognizedClientException,
  MalformedPolicyDocumentException,
  InvalidCredentialsFile: InvalidCredentialsFileError,
  KMSDisabledException,
  KMSInvalidStateException,
  KMSNotFoundException,
  KMSAccessDeniedException,
  InvalidParameterValueException,
  ResourceConflictException,
  InvalidQueryException,
};

/**
 * What crosses a thread or a wire of an error: an operating error as it is, anything else as a
 * retriable InternalFailure (its outcome is unknown to the caller).
 */
export function describeError(error: unknown): { code: string; message: string; retriable: boolean } {
  if (error instanceof ShardlineError) return { code: error.code, message: error.message, retriable: error.retriable };
  return { code: 'InternalFailure', message: error instanceof Error ? error.message : String(error), retriable: true };
}

/** The typed error for a code that crossed a thread or a wire; unknown codes are InternalFailure. */
export function errorFromCode(code: string, message: string): ShardlineError {
  const Type = TYPES_BY_CODE[code] ?? InternalFailureException;
  return new Type(message);
}
