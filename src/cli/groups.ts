import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ShardlineClient } from '../client/node.js';
// Types only: both modules import the engine, which a client command must not load.
import type { DescribedLease, GroupDescription, ResetPosition } from '../groups/group_operations.js';
import type { GroupSummary } from '../groups/lease_tables.js';
import { withClient } from './connection.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * The consumer-group commands, `shardline group list|describe|reset|delete`: the group
 * operations of the WebSocket protocol (CALL ListGroups, DescribeGroup, ResetGroup,
 * DeleteGroup). The server refuses to reset or delete a group whose leases a running worker
 * holds (ResourceInUseException), unless --force.
 */

interface JsonOptions extends ClientOptions {
  readonly json?: boolean;
}

interface ResetOptions extends ClientOptions {
  readonly trimHorizon?: boolean;
  readonly latest?: boolean;
  readonly atTimestamp?: number;
  readonly sequenceNumber?: string;
  readonly force?: boolean;
}

interface DeleteOptions extends ClientOptions {
  readonly force?: boolean;
}

const POSITION_FLAGS = ['--trim-horizon', '--latest', '--at-timestamp', '--sequence-number'] as const;

export function addGroupCommands(program: Command): void {
  const group = program.command('group').description("consumer groups: list, describe, reset or delete a group's leases");
  group
    .command('list')
    .description('list the consumer groups: name, stream, lease count')
    .option('--json', 'print JSON: { Groups: [{ GroupName, StreamName, LeaseCount }] }')
    .addOption(urlOption())
    .action((options: JsonOptions) => withClient(options.url, (client) => listGroups(client, options)));
  group
    .command('describe')
    .description("show a group's stream, its members (workers with live leases) and its leases, with their checkpoints and lag")
    .argument('<group>', 'group name')
    .option('--json', 'print JSON: { GroupName, StreamName, Members, Leases }')
    .addOption(urlOption())
    .action((name: string, options: JsonOptions) => withClient(options.url, (client) => describeGroup(client, name, options)));
  group
    .command('reset')
    .description("move every lease's checkpoint to one position and drop its owner (refused while a worker runs, unless --force)")
    .argument('<group>', 'group name')
    .option('--trim-horizon', "from each shard's oldest retained record")
    .option('--latest', 'from the records put after the workers start again')
    .addOption(
      new Option('--at-timestamp <time>', 'from the first record at or after this time: ISO 8601 or epoch milliseconds').argParser(
        parseTimestamp,
      ),
    )
    .addOption(
      new Option('--sequence-number <sequenceNumber>', "after this record (only the lease of the record's shard moves)").argParser(
        parseSequenceNumber,
      ),
    )
    .option('--force', 'even while workers hold leases (they lose them)')
    .addOption(urlOption())
    .action(function (this: Command, name: string, options: ResetOptions) {
      // Checked before connecting: bad usage sends nothing.
      const position = resetPosition(this, options);
      return withClient(options.url, (client) => resetGroup(client, name, position, options.force === true));
    });
  group
    .command('delete')
    .description('delete a group and its leases (refused while a worker runs, unless --force)')
    .argument('<group>', 'group name')
    .option('--force', 'even while workers hold leases')
    .addOption(urlOption())
    .action((name: string, options: DeleteOptions) =>
      withClient(options.url, (client) => deleteGroup(client, name, options.force === true)),
    );
}

// ---- option parsers ----

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Epoch milliseconds, or an ISO 8601 date (UTC midnight) or time with its zone (Z or an offset). */
export function parseTimestamp(text: string): number {
  if (/^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  const match = ISO_TIME.exec(text);
  const ms = Date.parse(text);
  if (match !== null && Number.isFinite(ms) && ms >= 0) {
    // Date.parse rolls 2024-02-30 over to March 1: a day the month does not have is refused.
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day) return ms;
  }
  throw new InvalidArgumentError(
    'expected an ISO 8601 time with its zone (2024-05-01T12:00:00Z), a date (2024-05-01) or epoch milliseconds',
  );
}

export function parseSequenceNumber(text: string): string {
  if (!/^\d{1,128}$/.test(text)) throw new InvalidArgumentError('expected a sequence number (decimal digits)');
  return text;
}

/** The one position of a reset; anything but exactly one is a usage error (exit 2). */
function resetPosition(command: Command, options: ResetOptions): ResetPosition {
  const given = [
    options.trimHorizon === true,
    options.latest === true,
    options.atTimestamp !== undefined,
    options.sequenceNumber !== undefined,
  ];
  const flags = POSITION_FLAGS.filter((_, i) => given[i]);
  if (flags.length !== 1)
    command.error(
      flags.length === 0
        ? `group reset needs a position: one of ${POSITION_FLAGS.join(', ')}`
        : `group reset takes one position, not ${flags.join(' and ')}`,
      { exitCode: 2, code: 'shardline.resetPosition' },
    );
  if (options.trimHorizon === true) return { Type: 'TRIM_HORIZON' };
  if (options.latest === true) return { Type: 'LATEST' };
  if (options.atTimestamp !== undefined) return { Type: 'AT_TIMESTAMP', Timestamp: options.atTimestamp };
  return { Type: 'SEQUENCE_NUMBER', SequenceNumber: options.sequenceNumber! };
}

// ---- the commands ----

async function listGroups(client: ShardlineClient, options: JsonOptions): Promise<void> {
  const { Groups } = (await client.callNamed('ListGroups', {})) as { Groups: GroupSummary[] };
  if (options.json === true) {
    await writeLine(JSON.stringify({ Groups }, null, 2));
    return;
  }
  if (Groups.length === 0) return;
  const rows = Groups.map((group) => [group.GroupName, group.StreamName, String(group.LeaseCount)]);
  for (const line of table([['GROUP', 'STREAM', 'LEASES'], ...rows])) await writeLine(line);
}

async function describeGroup(client: ShardlineClient, name: string, options: JsonOptions): Promise<void> {
  const description = (await client.callNamed('DescribeGroup', { GroupName: name })) as unknown as GroupDescription;
  if (options.json === true) {
    await writeLine(JSON.stringify(description, null, 2));
    return;
  }
  for (const line of describeLines(description)) await writeLine(line);
}

async function resetGroup(client: ShardlineClient, name: string, position: ResetPosition, force: boolean): Promise<void> {
  await client.callNamed('ResetGroup', { GroupName: name, Position: position, Force: force });
  await writeLine(`reset group ${name} to ${positionText(position)}`);
}

async function deleteGroup(client: ShardlineClient, name: string, force: boolean): Promise<void> {
  await client.callNamed('DeleteGroup', { GroupName: name, Force: force });
  await writeLine(`deleted group ${name}`);
}

// ---- what they print ----

export function describeLines(description: GroupDescription): string[] {
  const members = description.Members.map((member) => `${member.WorkerId} (${member.Leases} ${member.Leases === 1 ? 'lease' : 'leases'})`);
  const rows = description.Leases.map((lease) => [
    lease.leaseKey,
    lease.leaseOwner ?? '-',
    lease.Live ? 'yes' : 'no',
    String(lease.leaseCounter),
    checkpointText(lease),
    String(lease.ownerSwitchesSinceCheckpoint),
    idList(lease.parentShardId),
    idList(lease.childShardIds),
    lag(lease.LagRecords),
    lag(lease.LagMillis),
  ]);
  return [
    `${'group'.padEnd(12)} ${description.GroupName}`,
    `${'stream'.padEnd(12)} ${description.StreamName}`,
    `${'members'.padEnd(12)} ${members.length === 0 ? '-' : members.join(', ')}`,
    '',
    ...table([['SHARD', 'OWNER', 'LIVE', 'COUNTER', 'CHECKPOINT', 'SWITCHES', 'PARENTS', 'CHILDREN', 'LAG RECORDS', 'LAG MS'], ...rows]),
  ];
}

/** The checkpoint; `:<n>` after a sequence number for a sub-record of a KPL aggregate, `@<time>` after AT_TIMESTAMP. */
function checkpointText(lease: DescribedLease): string {
  if (lease.checkpoint === 'AT_TIMESTAMP' && lease.checkpointTimestampMillis !== undefined)
    return `AT_TIMESTAMP@${new Date(lease.checkpointTimestampMillis).toISOString()}`;
  return lease.checkpointSubSequenceNumber === 0 ? lease.checkpoint : `${lease.checkpoint}:${lease.checkpointSubSequenceNumber}`;
}

function positionText(position: ResetPosition): string {
  if (position.Type === 'AT_TIMESTAMP') return `AT_TIMESTAMP ${new Date(position.Timestamp).toISOString()}`;
  if (position.Type === 'SEQUENCE_NUMBER') return `after sequence number ${position.SequenceNumber}`;
  return position.Type;
}

function idList(ids: readonly string[] | undefined): string {
  return ids === undefined || ids.length === 0 ? '-' : ids.join(',');
}

function lag(value: number | null): string {
  return value === null ? '?' : String(value);
}

/** Columns padded to their widest cell; the last column is not padded (as format.ts's tables). */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}
