import type { BlobShape, ListShape, Member, StringShape, StructureShape } from './input_shapes.js';

/*
 * A PutRecords request holds up to 500 entries, and reading each against its shape member by
 * member costs ~50 ns an entry, a sixth of an embedded put of 100 B records. This check reads
 * the entries with plain property access instead and answers only whether the full read could
 * find nothing to report: every entry a plain object whose members are within their shapes. When
 * it answers no, the full read runs and words the errors (input_validation.ts), so the rules and
 * their messages stay the shapes'. Its bounds are the entry shape's, read from it at load.
 */

function member(shape: StructureShape, name: string): Member {
  const found = shape.members.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`${shape.name} has no member ${name}`);
  return found;
}

export interface PlainEntriesCheck {
  /** The request shape without its list of entries, for the members around it. */
  readonly head: StructureShape;
  /** Whether `entries` is a list of entries the full read would take without a word. */
  plain(entries: unknown): boolean;
}

/** The check for the list member `listName` of `shape`, whose entries have Data, PartitionKey and ExplicitHashKey. */
export function plainEntriesCheck(shape: StructureShape, listName: string): PlainEntriesCheck {
  const list = member(shape, listName).shape as ListShape;
  const entry = list.member as StructureShape;
  const data = member(entry, 'Data').shape as BlobShape;
  const key = member(entry, 'PartitionKey').shape as StringShape;
  const hashKey = member(entry, 'ExplicitHashKey').shape as StringShape;
  if (entry.members.length !== 3 || key.pattern !== undefined || key.enum !== undefined || hashKey.pattern === undefined) {
    throw new Error(`${entry.name} is not the entry this check was written for`);
  }
  const [listMin, listMax] = [list.minLength ?? 0, list.maxLength ?? Number.MAX_SAFE_INTEGER];
  const [dataMin, dataMax] = [data.minLength ?? 0, data.maxLength ?? Number.MAX_SAFE_INTEGER];
  const [keyMin, keyMax] = [key.minLength ?? 0, key.maxLength ?? Number.MAX_SAFE_INTEGER];
  const hashKeyPattern = hashKey.pattern;
  const plainEntry = (value: unknown): boolean => {
    if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
    const { Data, PartitionKey, ExplicitHashKey } = value as { Data?: unknown; PartitionKey?: unknown; ExplicitHashKey?: unknown };
    if (!(Data instanceof Uint8Array) || Data.byteLength < dataMin || Data.byteLength > dataMax) return false;
    if (typeof PartitionKey !== 'string' || PartitionKey.length < keyMin || PartitionKey.length > keyMax) return false;
    return ExplicitHashKey === undefined || (typeof ExplicitHashKey === 'string' && hashKeyPattern.test(ExplicitHashKey));
  };
  return {
    head: { ...shape, members: shape.members.filter((candidate) => candidate.name !== listName) },
    plain: (entries) => {
      if (!Array.isArray(entries) || entries.length < listMin || entries.length > listMax) return false;
      for (let i = 0; i < entries.length; i++) if (!plainEntry(entries[i])) return false;
      return true;
    },
  };
}
