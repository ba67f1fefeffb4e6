import { ShardlineError } from '../errors.js';

/**
 * The command line's own failures: no operation ran, so they have no Kinesis code to show, and
 * their one line on stderr is the message alone.
 */
export abstract class CliError extends ShardlineError {}

/** A connection that could not be made. */
export class CannotConnectError extends CliError {
  readonly code = 'CannotConnect' as const;
}

/** Options that are fine one by one but not together (found before anything is opened). */
export class OptionsConflictError extends CliError {
  readonly code = 'OptionsConflict' as const;
}

/** Whoever read stdout went away (`shardline tail | head`): the command stops, and succeeded. */
export class OutputClosedError extends CliError {
  readonly code = 'OutputClosed' as const;
}

/** stdout failed otherwise (a full disk behind a redirection, say). */
export class OutputFailedError extends CliError {
  readonly code = 'OutputFailed' as const;
}

/** The one line a failure prints: `shardline: <code>: <message>`, or the message alone for ours. */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return `shardline: ${error.message}`;
  if (error instanceof ShardlineError) return `shardline: ${error.code}: ${error.message}`;
  return `shardline: ${error instanceof Error ? error.message : String(error)}`;
}
