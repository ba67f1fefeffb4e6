import { InvalidArgumentError, type Command } from 'commander';
import type { Lease } from '../groups/lease.js';
import { withClient } from './connection.js';
import { integerIn, urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline fault add|list|delete|clear`: fault rules on a running server (docs/TESTING.md,
 * "Fault injection") over the WebSocket CALL (`Faults.<Op>`), and `fault expire-lease|steal-lease`
 * on a consumer group's lease. The server checks a rule; the parsers here only turn the options
 * into its members.
 */

const KINDS: Readonly<Record<string, string>> = {
  throttle: 'THROTTLE',
  latency: 'LATENCY',
  fail: 'FAIL',
  'drop-subscription': 'DROP_SUBSCRIPTION',
  'expire-iterator': 'EXPIRE_ITERATOR',
};
const FAILURES: Readonly<Record<string, string>> = { internal: 'InternalFailure', unavailable: 'ServiceUnavailable' };
const SEED_MAX = 0xffff_ffff;
const NUMBER = String.raw`(\d+(?:\.\d+)?)`;

interface AddOptions extends ClientOptions {
  readonly id?: string;
  readonly stream?: string;
  readonly shard?: string;
  readonly operation?: string[];
  readonly consumer?: string;
  readonly kind: string;
  readonly share?: number;
  readonly every?: number;
  readonly seed?: number;
  readonly max?: number;
  readonly durationMs?: number;
  readonly latency?: Record<string, unknown>;
  readonly failure?: string;
  readonly granularity?: string;
}

interface ListOptions extends ClientOptions {
  readonly json?: boolean;
}

interface StealOptions extends ClientOptions {
  readonly owner: string;
}

interface ListedRule {
  readonly RuleId: string;
  readonly Kind: string;
  readonly StreamName?: string;
  readonly ShardId?: string;
  readonly Operations?: string[];
  readonly Probability?: number;
  readonly EveryNth?: number;
  readonly Seed: number;
  readonly Matched: number;
  readonly Injected: number;
  readonly Status: string;
}

export function addFaultCommands(program: Command): void {
  const fault = program.command('fault').description('fault rules: throttle, slow down or fail requests on purpose, seeded');
  fault
    .command('add')
    .description('put a fault rule; prints its id')
    .requiredOption('--kind <kind>', `one of ${Object.keys(KINDS).join(', ')}`, choice(KINDS, '--kind'))
    .option('--id <id>', 'the rule id (a rule of that id is replaced); default a new one')
    .option('--stream <name>', 'only this stream (default every stream)')
    .option('--shard <shardId>', 'only requests naming this shard, or records routed to it')
    .option('--operation <name...>', 'only these operations, e.g. PutRecords GetRecords')
    .option('--consumer <name>', 'only SubscribeToShard of this consumer')
    .option('--share <probability>', 'inject into this share of matches, above 0 and at most 1', probability)
    .option('--every <n>', 'inject into every Nth match', integerIn(1, Number.MAX_SAFE_INTEGER))
    .option('--seed <seed>', 'the rule’s seed (default a random one, shown by list)', integerIn(0, SEED_MAX))
    .option('--max <count>', 'stop after this many injections', integerIn(1, Number.MAX_SAFE_INTEGER))
    .option('--duration-ms <ms>', 'stop this long after the rule is put (the server’s clock)', integerIn(1, Number.MAX_SAFE_INTEGER))
    .option('--latency <spec>', 'latency: <ms>, <min>..<max>, normal:<mean>,<sd> or lognormal:<median>,<sigma>', latency)
    .option(
      '--failure <failure>',
      'fail: internal (InternalFailure, default) or unavailable (ServiceUnavailable)',
      choice(FAILURES, '--failure'),
    )
    .option('--granularity <granularity>', 'throttle on PutRecords: record (each entry, default) or request', granularity)
    .addOption(urlOption())
    .action((options: AddOptions) =>
      withClient(options.url, async (client) => {
        const { RuleId } = (await client.callNamed('Faults.PutFaultRule', ruleOf(options))) as { RuleId: string };
        await writeLine(RuleId);
      }),
    );
  fault
    .command('list')
    .description('the fault rules: id, kind, scope, share, seed, matches, injections, status')
    .option('--json', 'the whole list as JSON')
    .addOption(urlOption())
    .action((options: ListOptions) =>
      withClient(options.url, async (client) => {
        const listed = await client.callNamed('Faults.ListFaultRules', {});
        if (options.json === true) return writeLine(JSON.stringify(listed, null, 2));
        for (const rule of listed['Rules'] as ListedRule[]) await writeLine(ruleLine(rule));
      }),
    );
  fault
    .command('delete')
    .description('delete a fault rule')
    .argument('<id>', 'the rule id')
    .addOption(urlOption())
    .action((id: string, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        await client.callNamed('Faults.DeleteFaultRule', { RuleId: id });
        await writeLine(`deleted ${id}`);
      }),
    );
  fault
    .command('clear')
    .description('delete every fault rule')
    .addOption(urlOption())
    .action((options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const { RuleCount } = (await client.callNamed('Faults.ClearFaultRules', {})) as { RuleCount: number };
        await writeLine(`cleared ${RuleCount}`);
      }),
    );
  fault
    .command('expire-lease')
    .description("make a group's lease of a shard unowned: its holder loses it, and a worker takes it at once")
    .argument('<group>', 'the consumer group')
    .argument('<shard>', 'the shard id')
    .addOption(urlOption())
    .action((group: string, shard: string, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const { Lease } = (await client.callNamed('Faults.ExpireLease', { GroupName: group, ShardId: shard })) as { Lease: Lease };
        await writeLine(`expired ${group}/${shard} (counter ${Lease.leaseCounter})`);
      }),
    );
  fault
    .command('steal-lease')
    .description("give a group's lease of a shard to another owner: its holder loses it")
    .argument('<group>', 'the consumer group')
    .argument('<shard>', 'the shard id')
    .requiredOption('--owner <name>', 'the new owner (a worker id)')
    .addOption(urlOption())
    .action((group: string, shard: string, options: StealOptions) =>
      withClient(options.url, async (client) => {
        const request = { GroupName: group, ShardId: shard, NewOwner: options.owner };
        const { Lease } = (await client.callNamed('Faults.StealLease', request)) as { Lease: Lease };
        await writeLine(`stole ${group}/${shard} for ${options.owner} (counter ${Lease.leaseCounter})`);
      }),
    );
}

function ruleOf(options: AddOptions): Record<string, unknown> {
  const members: Record<string, unknown> = {
    RuleId: options.id,
    StreamName: options.stream,
    ShardId: options.shard,
    Operations: options.operation,
    ConsumerName: options.consumer,
    Kind: options.kind,
    Probability: options.share,
    EveryNth: options.every,
    Seed: options.seed,
    MaxInjections: options.max,
    DurationMs: options.durationMs,
    Latency: options.latency,
    Failure: options.failure,
    Granularity: options.granularity,
  };
  return Object.fromEntries(Object.entries(members).filter(([, value]) => value !== undefined));
}

function ruleLine(rule: ListedRule): string {
  const scope = [rule.StreamName ?? '*', rule.ShardId ?? '*', (rule.Operations ?? ['*']).join(',')].join('/');
  const share = rule.EveryNth === undefined ? `p=${rule.Probability}` : `every=${rule.EveryNth}`;
  return [
    rule.RuleId,
    rule.Kind,
    scope,
    share,
    `seed=${rule.Seed}`,
    `matched=${rule.Matched}`,
    `injected=${rule.Injected}`,
    rule.Status,
  ].join('\t');
}

function choice(names: Readonly<Record<string, string>>, option: string): (text: string) => string {
  return (text) => {
    const value = names[text];
    if (value === undefined) throw new InvalidArgumentError(`${option} takes ${Object.keys(names).join(', ')}`);
    return value;
  };
}

function probability(text: string): number {
  const value = Number(text);
  if (!new RegExp(`^${NUMBER}$`).test(text) || !(value > 0 && value <= 1))
    throw new InvalidArgumentError('expected a number above 0 and at most 1');
  return value;
}

function granularity(text: string): string {
  if (text !== 'record' && text !== 'request') throw new InvalidArgumentError('expected record or request');
  return text.toUpperCase();
}

/** The --latency spec as the rule's Latency member (the server checks its bounds). */
function latency(text: string): Record<string, unknown> {
  const fixed = new RegExp(`^${NUMBER}$`).exec(text);
  if (fixed !== null) return { Distribution: 'FIXED', DelayMs: Number(fixed[1]) };
  const uniform = new RegExp(`^${NUMBER}\\.\\.${NUMBER}$`).exec(text);
  if (uniform !== null) return { Distribution: 'UNIFORM', MinMs: Number(uniform[1]), MaxMs: Number(uniform[2]) };
  const shaped = new RegExp(`^(normal|lognormal):${NUMBER},${NUMBER}$`).exec(text);
  if (shaped?.[1] === 'normal') return { Distribution: 'NORMAL', MeanMs: Number(shaped[2]), StdDevMs: Number(shaped[3]) };
  if (shaped?.[1] === 'lognormal') return { Distribution: 'LOGNORMAL', MedianMs: Number(shaped[2]), Sigma: Number(shaped[3]) };
  throw new InvalidArgumentError('expected <ms>, <min>..<max>, normal:<mean>,<sd> or lognormal:<median>,<sigma>');
}
