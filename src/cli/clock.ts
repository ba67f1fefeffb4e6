import { InvalidArgumentError, type Command } from 'commander';
import { withClient } from './connection.js';
import { urlOption, type ClientOptions } from './options.js';
import { writeLine } from './process_io.js';

/*
 * `shardline clock advance <duration>` and `shardline clock show`: the manual clock of a server
 * started with `serve --clock manual` (docs/TESTING.md, "A controllable clock"), over the
 * WebSocket CALL (`Clock.AdvanceClock`, `Clock.DescribeClock`).
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Largest unit first, as a duration is written: 1d2h30m. */
const UNITS = ['d', 'h', 'm', 's', 'ms'] as const;
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

interface ClockDescription {
  readonly Mode: string;
  readonly NowMillis: number;
  readonly OffsetMillis: number;
}

export function addClockCommands(program: Command): void {
  const clock = program.command('clock').description('the manual clock of a server started with --clock manual');
  clock
    .command('advance')
    .description('move the clock forward (retention, iterator expiry, state durations and the family follow); prints the clock')
    .argument('<duration>', 'how far: a whole number with a unit, ms, s, m, h or d, or several (90s, 15m, 25h, 2d, 1h30m)', parseDuration)
    .addOption(urlOption())
    .action((byMillis: number, options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const description = (await client.callNamed('Clock.AdvanceClock', { ByMillis: byMillis })) as unknown as ClockDescription;
        for (const line of clockLines(description)) await writeLine(line);
      }),
    );
  clock
    .command('show')
    .description("the server's clock: its mode, its time, and how far it is ahead of real time")
    .addOption(urlOption())
    .action((options: ClientOptions) =>
      withClient(options.url, async (client) => {
        const description = (await client.callNamed('Clock.DescribeClock', {})) as unknown as ClockDescription;
        for (const line of clockLines(description)) await writeLine(line);
      }),
    );
}

/** `25h` -> 90,000,000 ms; a unit is required (a bare number could mean any of them). */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new InvalidArgumentError('expected a duration such as 90s, 15m, 25h, 2d or 1h30m (units ms, s, m, h, d)');
  let ms = 0;
  for (const [, count, unit] of text.matchAll(PART)) ms += Number(count) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(ms) || ms < 1) throw new InvalidArgumentError('expected a duration of at least 1 ms');
  return ms;
}

/** 90,000,000 ms -> `1d1h`; 0 -> `0s`. */
export function formatDuration(ms: number): string {
  let rest = ms;
  const parts: string[] = [];
  for (const unit of UNITS) {
    const count = Math.floor(rest / UNIT_MS[unit]!);
    rest -= count * UNIT_MS[unit]!;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.length === 0 ? '0s' : parts.join('');
}

function clockLines(description: ClockDescription): string[] {
  return [
    `mode    ${description.Mode}`,
    `now     ${new Date(description.NowMillis).toISOString()}`,
    `offset  ${formatDuration(description.OffsetMillis)} ahead of real time`,
  ];
}
