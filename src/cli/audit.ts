import path from 'node:path';
import { Option, type Command } from 'commander';
// Types only: the log's module loads when a command runs, so --help and the other commands skip it.
import type { AuditRecord } from '../auth/audit_record.js';
import { CorruptLogError } from '../errors.js';
import { parseTimestamp } from './groups.js';
import { writeLine } from './process_io.js';

/*
 * The audit log commands, `shardline audit verify|show`, run on the log's directory itself (no
 * server): verify checks the whole hash chain and the head (src/auth/audit_log.ts, which
 * documents the format); show prints records, checked as they are read, optionally filtered.
 * A log that fails a check is `shardline: CorruptLog: <file>:<line>: <reason>`, exit 1.
 */

/** `serve`'s default --data-dir (src/cli/serve.ts) and the log's place in it. */
const DEFAULT_AUDIT_DIR = path.join('shardline-data', 'audit');

interface DirOptions {
  readonly dir: string;
}

interface ShowOptions extends DirOptions {
  readonly eventName?: string;
  readonly user?: string;
  readonly errors?: boolean;
  readonly since?: number;
  readonly until?: number;
  readonly json?: boolean;
}

/** Minimum widths of show's columns but the last: a wider cell pushes its row's next cells, never joins them. */
const COLUMN_WIDTHS = [20, 24, 15, 24] as const;
const HEADER = ['TIME', 'USER', 'SOURCE IP', 'EVENT', 'ERROR'] as const;

export function addAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log: verify its hash chain, show its records');
  audit
    .command('verify')
    .description('check every record, the hash chain across files and the head file: "ok: N records in M files" or the first problem')
    .addOption(dirOption())
    .action((options: DirOptions) => verify(options));
  audit
    .command('show')
    .description('print the records (checked as they are read), oldest first: time, user, source IP, event, error code')
    .addOption(dirOption())
    .option('--event-name <name>', 'only this operation (PutRecords, CreateStream, ...)')
    .option('--user <name>', 'only this user: its userName or its ARN')
    .option('--errors', 'only the requests that failed (with an errorCode)')
    .addOption(new Option('--since <time>', 'only records at or after this time: ISO 8601 or epoch milliseconds').argParser(parseTimestamp))
    .addOption(
      new Option('--until <time>', 'only records at or before this time: ISO 8601 or epoch milliseconds').argParser(parseTimestamp),
    )
    .option('--json', "print each record as a line of JSON (CloudTrail's record)")
    .action((options: ShowOptions) => show(options));
}

function dirOption(): Option {
  return new Option('--dir <dir>', 'the audit log directory').default(DEFAULT_AUDIT_DIR);
}

async function verify(options: DirOptions): Promise<void> {
  const { verifyAuditLog } = await import('../auth/audit_log.js');
  const result = await verifyAuditLog(options.dir);
  if (result.problem !== undefined) {
    const { file, line, reason } = result.problem;
    throw new CorruptLogError(`${file}:${line}: ${reason}`);
  }
  await writeLine(
    `ok: ${result.records} ${result.records === 1 ? 'record' : 'records'} in ${result.files} ${result.files === 1 ? 'file' : 'files'}`,
  );
  if (result.tornLine !== undefined)
    await writeLine(
      `note: ${result.tornLine.file}:${result.tornLine.line} is a torn final line: an append a crash cut short, never acknowledged; opening the log drops it`,
    );
}

async function show(options: ShowOptions): Promise<void> {
  const { readAuditLog } = await import('../auth/audit_log.js');
  const keep = recordFilter(options);
  let rows = 0;
  for await (const record of readAuditLog(options.dir)) {
    if (!keep(record)) continue;
    if (options.json === true) await writeLine(JSON.stringify(record));
    else {
      if (rows === 0) await writeLine(tableRow(HEADER));
      await writeLine(tableRow(recordRow(record)));
    }
    rows++;
  }
}

/** The filters of `show` as one predicate. */
export function recordFilter(options: Omit<ShowOptions, 'dir' | 'json'>): (record: AuditRecord) => boolean {
  return (record) => {
    if (options.eventName !== undefined && record.eventName !== options.eventName) return false;
    if (options.user !== undefined && record.userIdentity.userName !== options.user && record.userIdentity.arn !== options.user)
      return false;
    if (options.errors === true && record.errorCode === undefined) return false;
    if (options.since !== undefined || options.until !== undefined) {
      const ms = Date.parse(record.eventTime);
      if (options.since !== undefined && !(ms >= options.since)) return false;
      if (options.until !== undefined && !(ms <= options.until)) return false;
    }
    return true;
  };
}

function recordRow(record: AuditRecord): string[] {
  return [record.eventTime, userText(record.userIdentity), record.sourceIPAddress, record.eventName, record.errorCode ?? '-'];
}

/** Who made the request, as a person would name them: the user's name, else the ARN, else the identity's type. */
function userText(identity: AuditRecord['userIdentity']): string {
  if (identity.userName !== undefined && identity.userName !== '') return identity.userName;
  if (identity.arn !== '') return identity.arn;
  return identity.principalId !== '' ? identity.principalId : identity.type;
}

function tableRow(cells: readonly string[]): string {
  return cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(COLUMN_WIDTHS[column] ?? 0))).join('  ');
}
