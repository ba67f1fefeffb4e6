import { describe, expect, it } from 'vitest';
import { InvalidQueryException } from '../../src/errors.js';
import { parseQuery } from '../../src/queries/parser.js';
import { querySettings } from '../../src/queries/query_settings.js';

// Goal: a query's WITH options: each duration spelling, the defaults, and each refusal at the
// option's position. Method: parsed queries, read by querySettings.

const settingsOf = (options: string): ReturnType<typeof querySettings> =>
  querySettings(
    parseQuery(`CREATE QUERY q WITH (${options}) AS INSERT INTO out SELECT COUNT(*) FROM s GROUP BY TUMBLE(ROWTIME, INTERVAL '1' SECOND)`),
  );

describe('query options', () => {
  it('reads durations as numbers of ms or as text with a unit', () => {
    expect(settingsOf("grace = '200 ms'").graceMs).toBe(200);
    expect(settingsOf("grace = '10 seconds'").graceMs).toBe(10_000);
    expect(settingsOf("grace = '1 minute'").graceMs).toBe(60_000);
    expect(settingsOf("grace = '1.5 s'").graceMs).toBe(1500);
    expect(settingsOf("grace = '2 hours'").graceMs).toBe(7_200_000);
    expect(settingsOf('checkpoint_interval = 500').checkpointIntervalMs).toBe(500);
  });

  it('has defaults', () => {
    expect(settingsOf("late_stream = 'late'")).toEqual({
      graceMs: 0,
      start: 'LATEST',
      checkpointIntervalMs: 1000,
      idleTimeoutMs: 2000,
      lateStream: 'late',
    });
  });

  it('refuses a bad option at its position', () => {
    for (const [options, message] of [
      ["grace = '10 fortnights'", /is not a duration/],
      ['checkpoint_interval = 50', /from 100 ms/],
      ["start = 'EARLIEST'", /TRIM_HORIZON.*LATEST/],
      ["colour = 'red'", /unknown option "colour"/],
      ["late_stream = ''", /stream name/],
    ] as const) {
      const refusal = (() => {
        try {
          settingsOf(options);
        } catch (error) {
          return error;
        }
        return null;
      })();
      expect(refusal, options).toBeInstanceOf(InvalidQueryException);
      expect((refusal as InvalidQueryException).message, options).toMatch(message);
      expect((refusal as InvalidQueryException).line, options).toBe(1);
      expect((refusal as InvalidQueryException).column, options).toBeGreaterThan(21);
    }
  });
});
