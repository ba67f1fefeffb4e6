/*
 * A record's data as the live tail shows it: as text (UTF-8, invalid bytes replaced), as JSON
 * (pretty, when it parses and is shown whole) or as hex. What is shown of one record is bounded, so that one large
 * record does not swamp the page.
 */

export type DataFormat = 'text' | 'json' | 'hex';

/** Bytes of a record shown; the rest is counted, not shown. */
const SHOWN_BYTES_MAX = 4096;

const decoder = new TextDecoder('utf-8');

export function formatData(data: Uint8Array, format: DataFormat): string {
  const shown = data.subarray(0, SHOWN_BYTES_MAX);
  const more = data.length > SHOWN_BYTES_MAX ? ` … (${data.length - SHOWN_BYTES_MAX} more bytes)` : '';
  if (format === 'hex') return Array.from(shown, (byte) => byte.toString(16).padStart(2, '0')).join(' ') + more;
  const text = decoder.decode(shown);
  if (format === 'json' && more === '') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return `(not JSON) ${text}`;
    }
  }
  return text + more;
}
