// Goal: the audit log keeps every acknowledged record, in order, in the documented format (one
// JSON line per record, sequence from 1, hash = SHA-256(previous hash + "\n" + the record's JSON),
// rotated files linked to each other), through group commit, rotation, reopening and kill -9;
// and verifyAuditLog names the file and line of every kind of tampering: an edited, removed,
// swapped or inserted line, a file removed at the start, in the middle or at the end, records
// cut from the tail, a chain rewritten up to the head, a torn line that is not the last. A torn
// final line (a crash mid-append) is not tampering: open() drops it and the chain goes on.
// Records never carry record data.
// Method: real files in temporary directories; the chain is recomputed by an oracle in this file
// (node:crypto, independent of src/); tampering is done by hand on the files; the fdatasyncs of
// group commit are counted from outside, by strace on a child process; the crash is a SIGKILL of
// a child (node --import tsx) that prints each sequence number once its append resolved.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_HEAD_FILE, AuditLog, auditFileName, readAuditLog, verifyAuditLog, type AuditLogOptions } from '../../src/auth/audit_log.js';
import { auditRecord, withoutRecordData, type AuditRecord, type AuditRecordInput } from '../../src/auth/audit_record.js';
import { ClosedError, CorruptLogError, InvalidArgumentException } from '../../src/errors.js';
import { killAllClis, startCli } from '../helpers/cli.js';
import { readTrace } from '../helpers/strace.js';
import { tempDir } from '../helpers/temp_dir.js';

const AUDIT_LOG_URL = new URL('../../src/auth/audit_log.ts', import.meta.url).href;
const AUDIT_RECORD_URL = new URL('../../src/auth/audit_record.ts', import.meta.url).href;
/** About 920 bytes a line: 2,400 bytes hold two lines, not three, so 12 records make 6 files. */
const SMALL_ROTATE_BYTES = 2400;
const ZERO_HASH = '0'.repeat(64);
const LINE = /^\{"sequence":(\d+),"hash":"([0-9a-f]{64})","record":(\{.*\})\}$/;
/** Child processes start tsx (about a second on a loaded machine each). */
const CHILD_TEST_TIMEOUT_MS = 120_000;

afterEach(async () => {
  await killAllClis();
});

function sample(i: number, overrides: Partial<AuditRecordInput> = {}): AuditRecord {
  return auditRecord({
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEALICE',
      arn: 'arn:aws:iam::000000000000:user/alice',
      accountId: '000000000000',
      accessKeyId: 'AKIAEXAMPLEALICE',
      userName: 'alice',
    },
    eventName: 'PutRecord',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-sdk-js/3 test',
    requestParameters: { StreamName: 'orders', PartitionKey: `key-${i}`, Data: Buffer.from(`secret payload ${i}`) },
    requestID: `req-${i}`,
    resources: [{ ARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders', accountId: '000000000000', type: 'AWS::Kinesis::Stream' }],
    recipientAccountId: '000000000000',
    data: true,
    ...overrides,
  });
}

async function withLog(options: Omit<AuditLogOptions, 'directory'> & { directory?: string }, use: (log: AuditLog) => Promise<void>) {
  const log = await AuditLog.open({ fsync: false, ...options, directory: options.directory ?? tempDir() });
  try {
    await use(log);
  } finally {
    await log.close();
  }
}

/** A closed log of `count` records (requestID req-1 .. req-count) in `dir`. */
async function writeLog(dir: string, count: number, rotateBytes?: number): Promise<void> {
  await withLog({ directory: dir, ...(rotateBytes === undefined ? {} : { rotateBytes }) }, async (log) => {
    for (let i = 1; i <= count; i++) await log.append(sample(i));
  });
}

function auditFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => /^audit-\d{6}\.jsonl$/.test(name))
    .sort();
}

function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text === '' || text.endsWith('\n'), `${file} ends in a newline`).toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

interface OracleLine {
  readonly sequence: number;
  readonly hash: string;
  readonly recordJson: string;
}

function parseOracle(line: string): OracleLine {
  const match = LINE.exec(line);
  expect(match, `line in the documented layout: ${line.slice(0, 120)}`).not.toBeNull();
  return { sequence: Number(match![1]), hash: match![2]!, recordJson: match![3]! };
}

function oracleHash(previous: string, recordJson: string): string {
  return createHash('sha256').update(`${previous}\n${recordJson}`, 'utf8').digest('hex');
}

/** Every line of every file, oldest first, checked against the documented chain: the parsed lines. */
function checkChain(dir: string): OracleLine[] {
  const all: OracleLine[] = [];
  let previous = ZERO_HASH;
  for (const name of auditFiles(dir))
    for (const line of readLines(path.join(dir, name))) {
      const parsed = parseOracle(line);
      expect(parsed.sequence).toBe(all.length + 1);
      expect(parsed.hash).toBe(oracleHash(previous, parsed.recordJson));
      previous = parsed.hash;
      all.push(parsed);
    }
  return all;
}

async function readAll(dir: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const record of readAuditLog(dir)) records.push(record);
  return records;
}

/** verifyAuditLog finds `problem`, and readAuditLog throws it as CorruptLogError `<file>:<line>: ...`. */
async function expectProblem(dir: string, problem: { file: string; line: number; reason: RegExp }): Promise<void> {
  const result = await verifyAuditLog(dir);
  expect(result.problem, JSON.stringify(result)).toEqual({
    file: problem.file,
    line: problem.line,
    reason: expect.stringMatching(problem.reason),
  });
  const error = await readAll(dir).then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CorruptLogError);
  expect((error as Error).message.startsWith(`${problem.file}:${problem.line}: `)).toBe(true);
}

describe('appending and verifying', () => {
  it('writes each record as a line of the documented layout and chain, which verify and read accept', async () => {
    const dir = tempDir();
    const records = [
      sample(1),
      sample(2, { eventName: 'CreateStream', data: false }),
      sample(3, { errorCode: 'ResourceNotFoundException' }),
    ];
    await withLog({ directory: dir, fsync: true }, async (log) => {
      for (const record of records) await log.append(record);
    });
    expect(auditFiles(dir)).toEqual(['audit-000001.jsonl']);
    const lines = checkChain(dir);
    expect(lines.map((line) => JSON.parse(line.recordJson) as unknown)).toEqual(records);
    expect(await verifyAuditLog(dir)).toEqual({ records: 3, files: 1 });
    expect(await readAll(dir)).toEqual(records);
    // The head names the last record, its hash and place, and the newest file.
    expect(JSON.parse(fs.readFileSync(path.join(dir, AUDIT_HEAD_FILE), 'utf8'))).toEqual({
      sequence: 3,
      hash: lines[2]!.hash,
      file: 'audit-000001.jsonl',
      line: 3,
      newestFile: 'audit-000001.jsonl',
    });
  });

  it('an empty log verifies as 0 records in 1 file, and a directory that does not exist is an error', async () => {
    const dir = tempDir();
    await withLog({ directory: path.join(dir, 'a', 'b') }, async () => undefined);
    expect(await verifyAuditLog(path.join(dir, 'a', 'b'))).toEqual({ records: 0, files: 1 });
    await expect(verifyAuditLog(path.join(dir, 'nothing'))).rejects.toThrow(/cannot read the audit log/);
  });

  it('group commit: many concurrent appends all resolve, and are on disk in the order they were made', async () => {
    const dir = tempDir();
    const count = 300;
    await withLog({ directory: dir, fsync: true }, async (log) => {
      const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => log.append(sample(i + 1))));
      expect(settled.filter((result) => result.status !== 'fulfilled')).toEqual([]);
      // Resolved means on disk: the file holds them all before close.
      expect(readLines(path.join(dir, auditFileName(1)))).toHaveLength(count);
    });
    const lines = checkChain(dir);
    expect(lines.map((line) => (JSON.parse(line.recordJson) as AuditRecord).requestID)).toEqual(
      Array.from({ length: count }, (_, i) => `req-${i + 1}`),
    );
  });

  it('rotates before a file would pass rotateBytes, links each first line to the file before, and verifies across files', async () => {
    const dir = tempDir();
    await writeLog(dir, 12, SMALL_ROTATE_BYTES);
    const files = auditFiles(dir);
    expect(files).toEqual(Array.from({ length: 6 }, (_, i) => auditFileName(i + 1)));
    for (const name of files) {
      expect(readLines(path.join(dir, name))).toHaveLength(2);
      expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(SMALL_ROTATE_BYTES);
    }
    expect(checkChain(dir).map((line) => line.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await verifyAuditLog(dir)).toEqual({ records: 12, files: 6 });
    expect((await readAll(dir)).map((record) => record.requestID)).toEqual(Array.from({ length: 12 }, (_, i) => `req-${i + 1}`));
  });

  it('a line larger than rotateBytes gets a file of its own', async () => {
    const dir = tempDir();
    await writeLog(dir, 3, 100);
    expect(auditFiles(dir)).toHaveLength(3);
    expect(await verifyAuditLog(dir)).toEqual({ records: 3, files: 3 });
  });

  it('reopening continues the sequence and the chain, in the same file or after a rotation', async () => {
    const dir = tempDir();
    await writeLog(dir, 2);
    await withLog({ directory: dir }, async (log) => {
      await log.append(sample(3));
      await log.append(sample(4));
    });
    expect(auditFiles(dir)).toEqual(['audit-000001.jsonl']);
    expect(checkChain(dir).map((line) => line.sequence)).toEqual([1, 2, 3, 4]);

    // Reopened with a smaller rotateBytes: the next record starts file 2, linked to file 1.
    await withLog({ directory: dir, rotateBytes: SMALL_ROTATE_BYTES }, async (log) => log.append(sample(5)));
    expect(auditFiles(dir)).toEqual(['audit-000001.jsonl', 'audit-000002.jsonl']);
    expect(checkChain(dir).map((line) => line.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(await verifyAuditLog(dir)).toEqual({ records: 5, files: 2 });
  });

  it('an empty newest file (a crash right after a rotation) is continued from the last line of the file before', async () => {
    const dir = tempDir();
    await writeLog(dir, 4, SMALL_ROTATE_BYTES);
    fs.writeFileSync(path.join(dir, auditFileName(3)), '');
    expect(await verifyAuditLog(dir)).toEqual({ records: 4, files: 3 });
    await withLog({ directory: dir, rotateBytes: SMALL_ROTATE_BYTES }, async (log) => log.append(sample(5)));
    expect(readLines(path.join(dir, auditFileName(3))).map((line) => parseOracle(line).sequence)).toEqual([5]);
    expect(checkChain(dir)).toHaveLength(5);
    expect(await verifyAuditLog(dir)).toEqual({ records: 5, files: 3 });
  });

  it('while open, the head follows the log: at each rotation, within a second of an append, and every 1,000 appends', async () => {
    const dir = tempDir();
    const head = (): { sequence: number; newestFile: string } =>
      JSON.parse(fs.readFileSync(path.join(dir, AUDIT_HEAD_FILE), 'utf8')) as { sequence: number; newestFile: string };
    await withLog({ directory: dir, rotateBytes: SMALL_ROTATE_BYTES }, async (log) => {
      expect(head()).toEqual({ sequence: 0, hash: ZERO_HASH, file: null, line: 0, newestFile: 'audit-000001.jsonl' });
      for (let i = 1; i <= 3; i++) await log.append(sample(i));
      // The third record started file 2: the head names it, with the last record of file 1.
      expect(head()).toMatchObject({ sequence: 2, file: 'audit-000001.jsonl', line: 2, newestFile: 'audit-000002.jsonl' });
      fs.rmSync(path.join(dir, auditFileName(2)));
      expect((await verifyAuditLog(dir)).problem).toMatchObject({ file: 'audit-000002.jsonl', line: 1 });
    });

    const other = tempDir();
    const otherHead = (): number =>
      (JSON.parse(fs.readFileSync(path.join(other, AUDIT_HEAD_FILE), 'utf8')) as { sequence: number }).sequence;
    await withLog({ directory: other }, async (log) => {
      await log.append(sample(1));
      expect(otherHead()).toBe(0);
      const deadline = Date.now() + 10_000;
      while (otherHead() !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(otherHead()).toBe(1);
      for (let i = 2; i <= 1001; i++) await log.append(sample(i));
      // The head is written after the 1,000th append is acknowledged, before the next commit.
      await log.append(sample(1002));
      expect(otherHead()).toBe(1001);
    });
  });

  it('an append after close() rejects with ClosedError and writes nothing; close() twice is fine', async () => {
    const dir = tempDir();
    const log = await AuditLog.open({ directory: dir, fsync: false });
    await log.append(sample(1));
    await log.close();
    await expect(log.append(sample(2))).rejects.toBeInstanceOf(ClosedError);
    await log.close();
    expect(await verifyAuditLog(dir)).toEqual({ records: 1, files: 1 });
  });

  it('appends made before close() are written by it', async () => {
    const dir = tempDir();
    const log = await AuditLog.open({ directory: dir, fsync: true });
    const appends = [log.append(sample(1)), log.append(sample(2)), log.append(sample(3))];
    await log.close();
    await Promise.all(appends);
    expect(await verifyAuditLog(dir)).toEqual({ records: 3, files: 1 });
  });

  it('refuses bad options', async () => {
    await expect(AuditLog.open({ directory: '' })).rejects.toBeInstanceOf(InvalidArgumentException);
    await expect(AuditLog.open({ directory: tempDir(), rotateBytes: 0 })).rejects.toBeInstanceOf(InvalidArgumentException);
  });
});

describe('records', () => {
  it('auditRecord fills CloudTrail members: version, id, time in seconds, read-only by name, category from the data flag', () => {
    const record = sample(1, { eventName: 'DescribeStream', data: false, eventTimeMs: Date.UTC(2014, 3, 19, 0, 16, 31, 789) });
    expect(record).toMatchObject({
      eventVersion: '1.11',
      eventTime: '2014-04-19T00:16:31Z',
      eventSource: 'kinesis.amazonaws.com',
      eventType: 'AwsApiCall',
      readOnly: true,
      managementEvent: true,
      eventCategory: 'Management',
      responseElements: null,
    });
    expect(record.eventID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sample(1).eventID).not.toBe(sample(1).eventID);
    expect(sample(1)).toMatchObject({ managementEvent: false, eventCategory: 'Data', readOnly: false });
    expect('errorCode' in record).toBe(false);
    const readOnly = (eventName: string): boolean => sample(1, { eventName }).readOnly;
    for (const name of [
      'DescribeStream',
      'DescribeStreamSummary',
      'ListShards',
      'ListStreams',
      'GetRecords',
      'GetShardIterator',
      'SubscribeToShard',
    ])
      expect(readOnly(name), name).toBe(true);
    for (const name of [
      'PutRecord',
      'PutRecords',
      'CreateStream',
      'DeleteStream',
      'SplitShard',
      'AddTagsToStream',
      'RegisterStreamConsumer',
    ])
      expect(readOnly(name), name).toBe(false);
  });

  it('requestParameters and responseElements never hold record data: Data is dropped, the records and their keys kept', async () => {
    const payload = 'do-not-log-this-payload';
    const record = sample(1, {
      eventName: 'PutRecords',
      requestParameters: {
        StreamName: 'orders',
        Records: [
          { Data: Buffer.from(payload), PartitionKey: 'a' },
          { Data: Buffer.from(payload).toString('base64'), PartitionKey: 'b', ExplicitHashKey: '7' },
        ],
      },
      responseElements: { Records: [{ Data: payload, SequenceNumber: '1' }], FailedRecordCount: 0 },
    });
    expect(record.requestParameters).toEqual({
      streamName: 'orders',
      records: [{ partitionKey: 'a' }, { partitionKey: 'b', explicitHashKey: '7' }],
    });
    expect(record.responseElements).toEqual({ records: [{ sequenceNumber: '1' }], failedRecordCount: 0 });
    expect(sample(2).requestParameters).toEqual({ streamName: 'orders', partitionKey: 'key-2' });
    expect(withoutRecordData(null)).toBeNull();
    // A Tags map's keys are the user's: kept as given.
    expect(withoutRecordData({ Tags: { Owner: 'x' } })).toEqual({ tags: { Owner: 'x' } });

    const dir = tempDir();
    await withLog({ directory: dir }, async (log) => {
      await log.append(record);
      // A record built by hand with data in it is refused, and nothing is written.
      const smuggled = { ...sample(2), requestParameters: { streamName: 'orders', records: [{ data: payload }] } };
      await expect(log.append(smuggled)).rejects.toBeInstanceOf(InvalidArgumentException);
      await expect(log.append({ ...sample(3), requestParameters: { Data: payload } })).rejects.toThrow(/record data/);
    });
    const text = fs.readFileSync(path.join(dir, auditFileName(1)), 'utf8');
    expect(text).not.toContain(payload);
    expect(text).not.toContain(Buffer.from(payload).toString('base64'));
    expect(text).not.toContain('secret payload');
    expect(await verifyAuditLog(dir)).toEqual({ records: 1, files: 1 });
  });
});

describe('tampering is found, with its file and line', () => {
  /** A closed log of 12 records in 6 files of 2 lines each. */
  async function rotated(): Promise<string> {
    const dir = tempDir();
    await writeLog(dir, 12, SMALL_ROTATE_BYTES);
    expect(await verifyAuditLog(dir)).toEqual({ records: 12, files: 6 });
    return dir;
  }

  function edit(dir: string, index: number, change: (lines: string[]) => string[]): void {
    const file = path.join(dir, auditFileName(index));
    writeLines(file, change(readLines(file)));
  }

  it('an edited field', async () => {
    const dir = await rotated();
    edit(dir, 2, (lines) => [lines[0]!.replace('"sourceIPAddress":"127.0.0.1"', '"sourceIPAddress":"10.9.9.9"'), lines[1]!]);
    expect(fs.readFileSync(path.join(dir, auditFileName(2)), 'utf8')).toContain('10.9.9.9');
    await expectProblem(dir, { file: 'audit-000002.jsonl', line: 1, reason: /hash does not match/ });
  });

  it('an edited record whose own hash is recomputed: the next line no longer links', async () => {
    const dir = tempDir();
    await writeLog(dir, 5);
    edit(dir, 1, (lines) => {
      const previous = parseOracle(lines[1]!).hash;
      const changed = parseOracle(lines[2]!).recordJson.replace('"userName":"alice"', '"userName":"mallory"');
      lines[2] = `{"sequence":3,"hash":"${oracleHash(previous, changed)}","record":${changed}}`;
      return lines;
    });
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 4, reason: /hash does not match/ });
  });

  it('a line deleted in the middle of a file', async () => {
    const dir = tempDir();
    await writeLog(dir, 6);
    edit(dir, 1, (lines) => lines.filter((_, i) => i !== 2));
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 3, reason: /sequence 4 where 3 was expected: records are missing/ });
  });

  it('the last line of a middle file deleted', async () => {
    const dir = await rotated();
    edit(dir, 3, (lines) => lines.slice(0, 1));
    await expectProblem(dir, { file: 'audit-000004.jsonl', line: 1, reason: /sequence 7 where 6 was expected/ });
  });

  it('two lines swapped', async () => {
    const dir = tempDir();
    await writeLog(dir, 6);
    edit(dir, 1, (lines) => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 2, reason: /sequence 3 where 2 was expected/ });
  });

  it('lines swapped across files', async () => {
    const dir = await rotated();
    const [second, third] = [readLines(path.join(dir, auditFileName(2))), readLines(path.join(dir, auditFileName(3)))];
    writeLines(path.join(dir, auditFileName(2)), [second[0]!, third[0]!]);
    writeLines(path.join(dir, auditFileName(3)), [second[1]!, third[1]!]);
    await expectProblem(dir, { file: 'audit-000002.jsonl', line: 2, reason: /sequence 5 where 4 was expected/ });
  });

  it('a line inserted: a copy of another, or a made-up record with the right sequence', async () => {
    const dir = tempDir();
    await writeLog(dir, 5);
    const original = readLines(path.join(dir, auditFileName(1)));
    edit(dir, 1, (lines) => [...lines.slice(0, 3), lines[1]!, ...lines.slice(3)]);
    await expectProblem(dir, {
      file: 'audit-000001.jsonl',
      line: 4,
      reason: /sequence 2 where 4 was expected: records are out of order or repeated/,
    });

    const forged = parseOracle(original[2]!).recordJson.replace('"eventName":"PutRecord"', '"eventName":"DeleteStream"');
    const renumbered = original
      .slice(3)
      .map((line) => line.replace(/^\{"sequence":(\d+)/, (_, n: string) => `{"sequence":${Number(n) + 1}`));
    writeLines(path.join(dir, auditFileName(1)), [
      ...original.slice(0, 3),
      `{"sequence":4,"hash":"${'ab'.repeat(32)}","record":${forged}}`,
      ...renumbered,
    ]);
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 4, reason: /hash does not match/ });
  });

  it('the first file deleted', async () => {
    const dir = await rotated();
    fs.rmSync(path.join(dir, auditFileName(1)));
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 1, reason: /^missing: the log starts at audit-000002\.jsonl$/ });
  });

  it('the first files deleted and the rest renamed to start at 1', async () => {
    const dir = await rotated();
    fs.rmSync(path.join(dir, auditFileName(1)));
    for (let i = 2; i <= 6; i++) fs.renameSync(path.join(dir, auditFileName(i)), path.join(dir, auditFileName(i - 1)));
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 1, reason: /sequence 3 where 1 was expected/ });
  });

  it('a file deleted in the middle', async () => {
    const dir = await rotated();
    fs.rmSync(path.join(dir, auditFileName(4)));
    await expectProblem(dir, {
      file: 'audit-000004.jsonl',
      line: 1,
      reason: /missing: audit-000003\.jsonl is followed by audit-000005\.jsonl/,
    });
  });

  it('the newest file deleted: the head file records it', async () => {
    const dir = await rotated();
    fs.rmSync(path.join(dir, auditFileName(6)));
    await expectProblem(dir, { file: 'audit-000006.jsonl', line: 1, reason: /missing: the head file records it as created/ });
    await expect(AuditLog.open({ directory: dir })).rejects.toThrow(/audit-000006\.jsonl is missing/);
  });

  it('the newest records cut from the tail: the head file records more', async () => {
    const dir = await rotated();
    edit(dir, 6, (lines) => lines.slice(0, 1));
    await expectProblem(dir, {
      file: 'audit-000006.jsonl',
      line: 1,
      reason:
        /the log ends here at sequence 11, but the head file records sequence 12 at audit-000006\.jsonl:2: the newest records were removed/,
    });
    // open() refuses rather than write a new head over the evidence.
    await expect(AuditLog.open({ directory: dir })).rejects.toBeInstanceOf(CorruptLogError);
    expect(JSON.parse(fs.readFileSync(path.join(dir, AUDIT_HEAD_FILE), 'utf8'))).toMatchObject({ sequence: 12 });
  });

  it('the whole chain rewritten after an edit: the head file holds the old hash', async () => {
    const dir = tempDir();
    await writeLog(dir, 5);
    edit(dir, 1, (lines) => {
      let previous = ZERO_HASH;
      return lines.map((line, i) => {
        const { sequence, recordJson } = parseOracle(line);
        const changed = i === 1 ? recordJson.replace('"userName":"alice"', '"userName":"mallory"') : recordJson;
        previous = oracleHash(previous, changed);
        return `{"sequence":${sequence},"hash":"${previous}","record":${changed}}`;
      });
    });
    expect(checkChain(dir)).toHaveLength(5);
    await expectProblem(dir, {
      file: 'audit-000001.jsonl',
      line: 5,
      reason: /the head file records another hash for sequence 5: the log up to here was rewritten/,
    });
    await expect(AuditLog.open({ directory: dir })).rejects.toBeInstanceOf(CorruptLogError);
  });

  it('the head file deleted, or made unreadable', async () => {
    const dir = await rotated();
    const head = fs.readFileSync(path.join(dir, AUDIT_HEAD_FILE));
    fs.rmSync(path.join(dir, AUDIT_HEAD_FILE));
    await expectProblem(dir, { file: AUDIT_HEAD_FILE, line: 1, reason: /^missing, but there are 6 audit files/ });
    await expect(AuditLog.open({ directory: dir })).rejects.toBeInstanceOf(CorruptLogError);
    fs.writeFileSync(path.join(dir, AUDIT_HEAD_FILE), head.subarray(0, 20));
    await expectProblem(dir, { file: AUDIT_HEAD_FILE, line: 1, reason: /does not parse/ });
  });

  it('a line that is not JSON, or not an audit record', async () => {
    const dir = tempDir();
    await writeLog(dir, 3);
    const original = readLines(path.join(dir, auditFileName(1)));
    writeLines(path.join(dir, auditFileName(1)), [original[0]!, 'hello', original[2]!]);
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 2, reason: /not an audit line/ });
    const { hash } = parseOracle(original[1]!);
    writeLines(path.join(dir, auditFileName(1)), [original[0]!, `{"sequence":2,"hash":"${hash}","record":{"eventName":1}}`, original[2]!]);
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 2, reason: /is not a string/ });
  });
});

describe('torn lines', () => {
  it('a torn final line (a crash mid-append) is not tampering; open() drops it and the chain goes on', async () => {
    const dir = tempDir();
    await writeLog(dir, 3);
    const file = path.join(dir, auditFileName(1));
    const whole = fs.statSync(file).size;
    const fourth = Buffer.from(`{"sequence":4,"hash":"${'c'.repeat(64)}","record":{"eventVersion":"1.1`);
    fs.appendFileSync(file, fourth);
    expect(await verifyAuditLog(dir)).toEqual({ records: 3, files: 1, tornLine: { file: 'audit-000001.jsonl', line: 4 } });
    expect(await readAll(dir)).toHaveLength(3);

    await withLog({ directory: dir, fsync: true }, async (log) => {
      expect(fs.statSync(file).size).toBe(whole);
      await log.append(sample(4));
    });
    expect(checkChain(dir).map((line) => line.sequence)).toEqual([1, 2, 3, 4]);
    expect(await verifyAuditLog(dir)).toEqual({ records: 4, files: 1 });
  });

  it('a torn line followed by more lines is found', async () => {
    const dir = tempDir();
    await writeLog(dir, 3);
    const file = path.join(dir, auditFileName(1));
    const lines = readLines(file);
    // Line 3 cut short by a crash, and line 3 written again after it by a writer that did not recover.
    fs.writeFileSync(file, `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 70)}${lines[2]}\n`);
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 3, reason: /not an audit line/ });
    await expect(AuditLog.open({ directory: dir })).rejects.toThrow(/audit-000001\.jsonl:3: not an audit line/);
  });

  it('a torn line at the end of a file the log has gone past is found', async () => {
    const dir = tempDir();
    await writeLog(dir, 4, SMALL_ROTATE_BYTES);
    fs.appendFileSync(path.join(dir, auditFileName(1)), '{"sequence":3,"ha');
    await expectProblem(dir, { file: 'audit-000001.jsonl', line: 3, reason: /a torn line \(no newline\) in a file the log has gone past/ });
  });
});

describe('durability, seen from outside the process', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  /**
   * A child that opens the log in AUDIT_DIR and appends: `serial` COUNT one at a time,
   * `concurrent` COUNT at once, or `forever` from WRITERS concurrent loops; it prints
   * `ack <n>` once the n-th record (requestID req-<n>, sequence n on a new log) resolved.
   */
  const CHILD = `
    const { AuditLog } = await import(${JSON.stringify(AUDIT_LOG_URL)});
    const { auditRecord } = await import(${JSON.stringify(AUDIT_RECORD_URL)});
    const env = process.env;
    const log = await AuditLog.open({ directory: env.AUDIT_DIR, fsync: env.AUDIT_FSYNC !== 'false', rotateBytes: Number(env.AUDIT_ROTATE_BYTES) });
    const record = (n) => auditRecord({
      userIdentity: { type: 'IAMUser', principalId: 'P', arn: 'arn:aws:iam::000000000000:user/alice', accountId: '000000000000', userName: 'alice' },
      eventName: 'PutRecord', awsRegion: 'us-east-1', sourceIPAddress: '127.0.0.1', userAgent: 'child',
      requestParameters: { StreamName: 'orders', PartitionKey: 'k' + n }, requestID: 'req-' + n, recipientAccountId: '000000000000', data: true,
    });
    const ack = (n) => process.stdout.write('ack ' + n + '\\n');
    let next = 0;
    if (env.AUDIT_MODE === 'serial') for (let i = 0; i < Number(env.AUDIT_COUNT); i++) { const n = ++next; await log.append(record(n)); ack(n); }
    if (env.AUDIT_MODE === 'concurrent') await Promise.all(Array.from({ length: Number(env.AUDIT_COUNT) }, () => { const n = ++next; return log.append(record(n)).then(() => ack(n)); }));
    if (env.AUDIT_MODE === 'forever') await Promise.all(Array.from({ length: Number(env.AUDIT_WRITERS) }, async () => { for (;;) { const n = ++next; await log.append(record(n)); ack(n); } }));
    await log.close();
    process.stdout.write('closed\\n');
  `;

  function startChild(env: Record<string, string>, strace: string | null = null) {
    const traced =
      strace === null ? [] : ['strace', '-f', '-qq', '--seccomp-bpf', '-e', 'trace=openat,close,write,pwrite64,fdatasync', '-o', strace];
    return startCli([], {
      cli: [...traced, process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD],
      env: { AUDIT_ROTATE_BYTES: String(64 * 1024 * 1024), ...env },
    });
  }

  function acked(stdout: string): number[] {
    return [...stdout.matchAll(/^ack (\d+)$/gm)].map((match) => Number(match[1]));
  }

  /** fdatasyncs and writes on descriptors of audit files, from a trace of the child. */
  function auditFileCalls(traceFile: string): { fdatasyncs: number; writes: number } {
    const open = new Set<number>();
    let fdatasyncs = 0;
    let writes = 0;
    for (const call of readTrace(traceFile)) {
      if (call.name === 'openat' && call.result >= 0 && /\/audit-\d{6}\.jsonl$/.test(call.path ?? '')) open.add(call.result);
      else if (call.name === 'close') open.delete(call.fd);
      else if (call.name === 'fdatasync' && open.has(call.fd) && call.result === 0) fdatasyncs++;
      else if ((call.name === 'write' || call.name === 'pwrite64') && open.has(call.fd)) writes++;
    }
    return { fdatasyncs, writes };
  }

  it('group commit: appends made while an fdatasync runs share the next one; one at a time, each has its own', async () => {
    const count = 200;
    const concurrentTrace = path.join(tempDir(), 'concurrent.trace');
    const concurrentDir = tempDir();
    const concurrent = await startChild(
      { AUDIT_DIR: concurrentDir, AUDIT_MODE: 'concurrent', AUDIT_COUNT: String(count) },
      concurrentTrace,
    ).exited();
    expect(concurrent.code, concurrent.stderr).toBe(0);
    expect(acked(concurrent.stdout).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const grouped = auditFileCalls(concurrentTrace);
    // The first append's commit starts alone; the other 199 wait for it and share the next.
    expect(grouped.fdatasyncs).toBeGreaterThanOrEqual(1);
    expect(grouped.fdatasyncs).toBeLessThanOrEqual(4);
    expect(grouped.writes).toBeLessThanOrEqual(4);
    expect(checkChain(concurrentDir)).toHaveLength(count);

    const serialTrace = path.join(tempDir(), 'serial.trace');
    const serial = await startChild({ AUDIT_DIR: tempDir(), AUDIT_MODE: 'serial', AUDIT_COUNT: '20' }, serialTrace).exited();
    expect(serial.code, serial.stderr).toBe(0);
    expect(auditFileCalls(serialTrace).fdatasyncs).toBeGreaterThanOrEqual(20);

    const unsyncedTrace = path.join(tempDir(), 'unsynced.trace');
    const unsynced = await startChild(
      { AUDIT_DIR: tempDir(), AUDIT_MODE: 'serial', AUDIT_COUNT: '20', AUDIT_FSYNC: 'false' },
      unsyncedTrace,
    ).exited();
    expect(unsynced.code, unsynced.stderr).toBe(0);
    expect(auditFileCalls(unsyncedTrace)).toEqual({ fdatasyncs: 0, writes: 20 });
  });

  it('kill -9 while appending: every acknowledged record is there, in order, and the log verifies before and after reopening', async () => {
    const dir = tempDir();
    const child = startChild({ AUDIT_DIR: dir, AUDIT_MODE: 'forever', AUDIT_WRITERS: '8', AUDIT_ROTATE_BYTES: String(16 * 1024) });
    await child.waitForOutput(/^ack 400$/m);
    child.child.kill('SIGKILL');
    const killed = await child.exited();
    expect(killed.signal).toBe('SIGKILL');
    const acks = acked(killed.stdout);
    expect(acks.length).toBeGreaterThanOrEqual(400);
    const highest = Math.max(...acks);

    // Before recovery: the head may lag the tail, which is no problem; nothing looks tampered with.
    const before = await verifyAuditLog(dir);
    expect(before.problem).toBeUndefined();
    expect(before.records).toBeGreaterThanOrEqual(highest);
    expect(before.files).toBeGreaterThan(1);

    await withLog({ directory: dir, rotateBytes: 16 * 1024, fsync: true }, async (log) => log.append(sample(before.records + 1)));
    const records = await readAll(dir);
    expect(records.length).toBe(before.records + 1);
    for (const n of acks) expect(records[n - 1]?.requestID, `acknowledged record ${n}`).toBe(`req-${n}`);
    expect(records.at(-1)!.requestID).toBe(`req-${before.records + 1}`);
    expect(checkChain(dir)).toHaveLength(before.records + 1);
    expect(await verifyAuditLog(dir)).toEqual({ records: before.records + 1, files: auditFiles(dir).length });
  });
});
