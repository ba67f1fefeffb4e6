/*
 * Dynamic partitioning's MetadataExtractionQuery (kinesis-family.md §5.4): Firehose runs it with
 * jq 1.6 over each record's JSON, as `{customer_id: .customer_id, year: .event.year}`. shardline
 * takes the form every partitioning query has, an object of keys and paths (`.a.b`, `."a b"`,
 * `.a[0]`), rather than all of jq: a query outside that form is refused when the delivery
 * stream is created, never half-run.
 */
import { InvalidArgumentException } from '../errors.js';

type Step = string | number;

export interface MetadataQuery {
  readonly keys: readonly { readonly name: string; readonly path: readonly Step[] }[];
}

/** A record the query cannot partition: it goes to the error output. */
export class MetadataExtractionError extends Error {
  override readonly name = 'DynamicPartitioning.MetadataExtractionFailed';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseMetadataQuery(query: string): MetadataQuery {
  const body = query.trim();
  if (!body.startsWith('{') || !body.endsWith('}'))
    throw new InvalidArgumentException(`MetadataExtractionQuery ${query} is not an object of keys and paths ({key: .path})`);
  const keys = splitTopLevel(body.slice(1, -1)).map((entry) => {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon).trim();
    if (colon < 0 || !NAME.test(name)) throw new InvalidArgumentException(`MetadataExtractionQuery: "${entry.trim()}" is not key: .path`);
    return { name, path: parsePath(entry.slice(colon + 1).trim(), query) };
  });
  if (keys.length === 0) throw new InvalidArgumentException('MetadataExtractionQuery names no key');
  return { keys };
}

/** The partition keys of one record's data; MetadataExtractionError when it is not JSON or a path finds no scalar. */
export function extractPartitionKeys(query: MetadataQuery, data: Uint8Array): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new MetadataExtractionError('the record is not JSON');
  }
  const keys: Record<string, string> = {};
  for (const key of query.keys) {
    const found = key.path.reduce<unknown>((at, step) => (at === null || typeof at !== 'object' ? undefined : (at as never)[step]), value);
    if (typeof found !== 'string' && typeof found !== 'number' && typeof found !== 'boolean')
      throw new MetadataExtractionError(`the query finds no value for ${key.name}`);
    keys[key.name] = String(found);
  }
  return keys;
}

/** Splits on the commas outside quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (text[i] === ',' && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((part) => part.trim() !== '');
}

const STEP = /^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\."((?:[^"\\]|\\.)*)"|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\])/;

function parsePath(text: string, query: string): Step[] {
  if (!text.startsWith('.')) throw new InvalidArgumentException(`MetadataExtractionQuery ${query}: ${text} is not a path (.a.b)`);
  const steps: Step[] = [];
  for (let rest = text; rest.length > 0;) {
    const match = STEP.exec(rest);
    if (match === null) throw new InvalidArgumentException(`MetadataExtractionQuery ${query}: cannot read the path at "${rest}"`);
    const [whole, plain, quoted, index, bracketed] = match;
    steps.push(index === undefined ? (JSON.parse(`"${plain ?? quoted ?? bracketed}"`) as string) : Number(index));
    rest = rest.slice(whole.length);
  }
  return steps;
}
