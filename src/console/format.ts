/*
 * How the console writes numbers, sizes, times and errors. Fixed locale (en-US), so that what
 * the page shows does not depend on the browser's settings.
 */

const LOCALE = 'en-US';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 });
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

export function formatCount(value: number): string {
  return integer.format(value);
}

/** A rate or a gauge: two decimals at most; an unknown value as a dash. */
export function formatValue(value: number | null): string {
  return value === null ? '–' : decimal.format(value);
}

export function formatBytes(bytes: number): string {
  let unit = 0;
  let scaled = bytes;
  while (Math.abs(scaled) >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${decimal.format(scaled)} ${BYTE_UNITS[unit]}`;
}

/** A period given in hours, in the unit that suits it: 40 s, 12.5 min, 3.2 h. */
export function formatHours(hours: number): string {
  if (hours < 1 / 60) return `${decimal.format(hours * 3600)} s`;
  if (hours < 1) return `${decimal.format(hours * 60)} min`;
  return `${decimal.format(hours)} h`;
}

export function formatMoney(amount: number, currency: string): string {
  // Observed periods are short, so their costs are fractions of a cent: six significant digits.
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency, maximumSignificantDigits: 6 }).format(amount);
}

/** A time of day with milliseconds, in UTC like the sequence numbers' arrival times. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** An error as the page shows it: a ShardlineError's code (AccessDeniedException, ...) and message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
