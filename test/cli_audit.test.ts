// Goal: `shardline audit verify` says "ok: N records in M files" (exit 0) for a sound log and
// names the file and line of a tampered one (`shardline: CorruptLog: <file>:<line>: <reason>`,
// exit 1), in --dir or in serve's default data directory; `shardline audit show` prints the
// records as a table or as JSON lines, filtered by event name, user (name or ARN), errors and
// time, and stops with exit 1 at a tampered record; bad options are usage errors (exit 2).
// Method: logs written in this process with AuditLog (records with known users, times and
// errors), tampered with by hand; the CLI runs from its sources as a child process (runCli).

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, auditFileName } from '../src/auth/audit_log.js';
import { auditRecord, type AuditRecord, type AuditUserIdentity } from '../src/auth/audit_record.js';
import { REPO_ROOT, killAllClis, runCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp_dir.js';

/** Each test starts a few Node processes (about 0.6 s each here): room for a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 60_000;
const ACCOUNT = '000000000000';
const ALICE: AuditUserIdentity = {
  type: 'IAMUser',
  principalId: 'AIDAALICE',
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accountId: ACCOUNT,
  accessKeyId: 'AKIAALICE',
  userName: 'alice',
};
const BOB: AuditUserIdentity = { ...ALICE, principalId: 'AIDABOB', arn: `arn:aws:iam::${ACCOUNT}:user/bob`, userName: 'bob' };
const ROLE: AuditUserIdentity = {
  type: 'AssumedRole',
  principalId: 'AROAADMIN:session',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/session`,
  accountId: ACCOUNT,
};
const ANONYMOUS: AuditUserIdentity = { type: 'Anonymous', principalId: '', arn: '', accountId: '' };

function at(minute: number): number {
  return Date.UTC(2024, 4, 1, 10, minute);
}

function event(
  userIdentity: AuditUserIdentity,
  eventName: string,
  minute: number,
  extra: { errorCode?: string; sourceIPAddress?: string } = {},
): AuditRecord {
  return auditRecord({
    userIdentity,
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: extra.sourceIPAddress ?? '127.0.0.1',
    userAgent: 'aws-cli/2',
    requestParameters: { StreamName: 'orders' },
    ...(extra.errorCode === undefined ? {} : { errorCode: extra.errorCode, errorMessage: `${extra.errorCode} happened` }),
    requestID: `req-${minute}`,
    recipientAccountId: ACCOUNT,
    data: eventName.startsWith('Put'),
    eventTimeMs: at(minute),
  });
}

const RECORDS: readonly AuditRecord[] = [
  event(ALICE, 'CreateStream', 0),
  event(ALICE, 'PutRecord', 5),
  event(BOB, 'DeleteStream', 10, { errorCode: 'ResourceNotFoundException', sourceIPAddress: '10.0.0.2' }),
  event(ANONYMOUS, 'ListStreams', 15),
  event(ROLE, 'PutRecords', 20, { errorCode: 'AccessDeniedException' }),
];

afterEach(async () => {
  await killAllClis();
});

async function writeLog(dir: string, rotateBytes?: number): Promise<void> {
  const log = await AuditLog.open({ directory: dir, fsync: false, ...(rotateBytes === undefined ? {} : { rotateBytes }) });
  try {
    for (const record of RECORDS) await log.append(record);
  } finally {
    await log.close();
  }
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

/** The requestIDs of what show --json printed, in order. */
function shownRequests(result: CliResult): string[] {
  expect(result.code, result.stderr).toBe(0);
  return lines(result.stdout).map((line) => (JSON.parse(line) as AuditRecord).requestID);
}

function tamper(dir: string, line: number): void {
  const file = path.join(dir, auditFileName(1));
  const text = fs.readFileSync(file, 'utf8').split('\n');
  const changed = text[line - 1]!.replace('"sourceIPAddress":"127.0.0.1"', '"sourceIPAddress":"192.0.2.66"');
  expect(changed, `line ${line} changed`).not.toBe(text[line - 1]);
  text[line - 1] = changed;
  fs.writeFileSync(file, text.join('\n'));
}

describe('audit verify', { timeout: TEST_TIMEOUT_MS }, () => {
  it('says ok with the counts of records and files, exit 0', async () => {
    const dir = tempDir();
    await writeLog(dir);
    const ok = await runCli(['audit', 'verify', '--dir', dir]);
    expect(ok).toMatchObject({ code: 0, stdout: 'ok: 5 records in 1 file\n', stderr: '' });

    const rotated = tempDir();
    await writeLog(rotated, 1000);
    expect(await runCli(['audit', 'verify', '--dir', rotated])).toMatchObject({ code: 0, stdout: 'ok: 5 records in 5 files\n' });
  });

  it('names the file and line of a tampered record: CorruptLog, exit 1', async () => {
    const dir = tempDir();
    await writeLog(dir);
    tamper(dir, 2);
    const result = await runCli(['audit', 'verify', '--dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^shardline: CorruptLog: audit-000001\.jsonl:2: the hash does not match the record and the hash before it.*\n$/,
    );
  });

  it('names a missing newest file, and a removed head', async () => {
    const dir = tempDir();
    await writeLog(dir, 1000);
    fs.rmSync(path.join(dir, auditFileName(5)));
    const missing = await runCli(['audit', 'verify', '--dir', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^shardline: CorruptLog: audit-000005\.jsonl:1: missing: the head file records it as created/);
    fs.rmSync(path.join(dir, 'audit-head.json'));
    expect((await runCli(['audit', 'verify', '--dir', dir])).stderr).toMatch(/^shardline: CorruptLog: audit-head\.json:1: missing/);
  });

  it('notes a torn final line (a crash mid-append) but is ok', async () => {
    const dir = tempDir();
    await writeLog(dir);
    fs.appendFileSync(path.join(dir, auditFileName(1)), '{"sequence":6,"hash":"ab');
    const result = await runCli(['audit', 'verify', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'ok: 5 records in 1 file',
      expect.stringMatching(/^note: audit-000001\.jsonl:6 is a torn final line/),
    ]);
  });

  it("reads serve's default data directory, ./shardline-data/audit, and fails on one that does not exist", async () => {
    const cwd = tempDir();
    // Run from a directory outside the repository: tsx by its path, not by name.
    const cli = [
      process.execPath,
      '--import',
      pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
      path.join(REPO_ROOT, 'src/cli/main.ts'),
    ];
    const none = await runCli(['audit', 'verify'], { cli, cwd });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^shardline: StorageError: cannot read the audit log shardline-data\/audit: .*ENOENT/);
    await writeLog(path.join(cwd, 'shardline-data', 'audit'));
    expect(await runCli(['audit', 'verify'], { cli, cwd })).toMatchObject({ code: 0, stdout: 'ok: 5 records in 1 file\n' });
  });
});

describe('audit show', { timeout: TEST_TIMEOUT_MS }, () => {
  it('prints a table: time, user (name, else ARN, else type), source IP, event, error code', async () => {
    const dir = tempDir();
    await writeLog(dir);
    const result = await runCli(['audit', 'show', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).map((line) => line.split(/\s{2,}/))).toEqual([
      ['TIME', 'USER', 'SOURCE IP', 'EVENT', 'ERROR'],
      ['2024-05-01T10:00:00Z', 'alice', '127.0.0.1', 'CreateStream', '-'],
      ['2024-05-01T10:05:00Z', 'alice', '127.0.0.1', 'PutRecord', '-'],
      ['2024-05-01T10:10:00Z', 'bob', '10.0.0.2', 'DeleteStream', 'ResourceNotFoundException'],
      ['2024-05-01T10:15:00Z', 'Anonymous', '127.0.0.1', 'ListStreams', '-'],
      ['2024-05-01T10:20:00Z', ROLE.arn, '127.0.0.1', 'PutRecords', 'AccessDeniedException'],
    ]);
  });

  it('--json prints each record as a line of JSON, as it was appended', async () => {
    const dir = tempDir();
    await writeLog(dir, 1000);
    const result = await runCli(['audit', 'show', '--dir', dir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout).map((line) => JSON.parse(line) as unknown)).toEqual(RECORDS);
  });

  it('filters by event name, user name or ARN, errors, and time (ISO or epoch ms), together', async () => {
    const dir = tempDir();
    await writeLog(dir);
    const show = (...args: string[]): Promise<CliResult> => runCli(['audit', 'show', '--dir', dir, '--json', ...args]);
    expect(shownRequests(await show('--event-name', 'PutRecord'))).toEqual(['req-5']);
    expect(shownRequests(await show('--user', 'alice'))).toEqual(['req-0', 'req-5']);
    expect(shownRequests(await show('--user', BOB.arn))).toEqual(['req-10']);
    expect(shownRequests(await show('--user', ROLE.arn))).toEqual(['req-20']);
    expect(shownRequests(await show('--errors'))).toEqual(['req-10', 'req-20']);
    expect(shownRequests(await show('--since', '2024-05-01T10:05:00Z', '--until', String(at(15))))).toEqual(['req-5', 'req-10', 'req-15']);
    expect(shownRequests(await show('--since', '2024-05-01T12:04:00+02:00', '--errors', '--user', 'bob'))).toEqual(['req-10']);
    expect(shownRequests(await show('--event-name', 'SplitShard'))).toEqual([]);
    // The table without --json, filtered: header and the one row.
    const table = await runCli(['audit', 'show', '--dir', dir, '--errors', '--user', 'bob']);
    expect(lines(table.stdout).map((line) => line.split(/\s{2,}/)[3])).toEqual(['EVENT', 'DeleteStream']);
    expect((await runCli(['audit', 'show', '--dir', dir, '--user', 'nobody'])).stdout).toBe('');
  });

  it('stops at a tampered record: the records before it, then CorruptLog, exit 1', async () => {
    const dir = tempDir();
    await writeLog(dir);
    tamper(dir, 4);
    const result = await runCli(['audit', 'show', '--dir', dir, '--json']);
    expect(result.code).toBe(1);
    expect(lines(result.stdout).map((line) => (JSON.parse(line) as AuditRecord).requestID)).toEqual(['req-0', 'req-5', 'req-10']);
    expect(result.stderr).toMatch(/^shardline: CorruptLog: audit-000001\.jsonl:4: the hash does not match/);
  });

  it('a bad time is a usage error, exit 2', async () => {
    const result = await runCli(['audit', 'show', '--dir', tempDir(), '--since', 'yesterday']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^shardline: option '--since <time>' argument 'yesterday' is invalid/);
  });
});
