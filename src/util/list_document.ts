import { CorruptLogError } from '../errors.js';

/*
 * The family's engine documents (`triggers.json`, `delivery.json`): `{ "version": 1, "<member>":
 * [...] }`, rewritten whole on each change. One that does not parse is refused, never dropped,
 * so a damaged file stops its part of the family instead of silently forgetting what it held.
 */

/** The document's list, or null when there is no document. */
export function readListDocument<T>(bytes: Buffer | null, name: string, member: string, what: string): T[] | null {
  if (bytes === null) return null;
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CorruptLogError(`documents/${name} is not JSON`, { cause: error });
  }
  const list = document[member];
  if (document['version'] !== 1 || !Array.isArray(list)) throw new CorruptLogError(`documents/${name} is not a version 1 ${what} document`);
  return list as T[];
}

export function listDocument(member: string, list: readonly unknown[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: 1, [member]: list }));
}
