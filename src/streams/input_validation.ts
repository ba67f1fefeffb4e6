/**
 * Reads a Kinesis request body against its operation's input shape (input_shapes.ts) as Kinesis
 * does: after authentication and before any stream is looked up, so a bad request is refused the
 * same way whether its stream exists or not, and nothing is stored.
 *
 * - A member of the wrong type (a number where a string goes, a list where a structure goes) is a
 *   SerializationException: AWS's deserializer fails before anything is validated.
 * - Broken constraints are one ValidationException naming up to 10 of them, in AWS's words:
 *   `2 validation errors detected: Value 'a b' at 'streamName' failed to satisfy constraint:
 *   Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value null at 'shardId'
 *   failed to satisfy constraint: Member must not be null`. A path is the members' names with
 *   their first letter in lower case, list items counted from 1: `records.3.member.partitionKey`.
 *   Members are checked in the model's order (AWS's own order is not documented).
 * - Blobs and timestamps become the engine's Uint8Array and Date in place. Members the shape
 *   does not have are ignored, as AWS ignores them (the engine reads none of them), and JSON
 *   nulls are absent members. A member for a feature shardline lacks (marked in the shapes) is
 *   an InvalidArgumentException naming it: ignoring it would pretend to honour it.
 * - A value whose characters break its shape's CharacterRule (tags) is an
 *   InvalidArgumentException in Kinesis' words, once no constraint of the model is broken.
 */
import { InvalidArgumentException, SerializationException, ValidationException } from '../errors.js';
import type { BlobShape, ListShape, MapShape, Shape, Sized, StringShape, StructureShape, UnsupportedShape } from './input_shapes.js';

type Json = Record<string, unknown>;

/** One request's blobs, read as its input is walked (see BlobReader.finish). */
export interface BlobReader {
  /** Takes `value` as the blob of `target[key]`: its length in bytes, or -1 if it cannot be one. */
  add(value: unknown, target: Json, key: string): number;
  /** Sets every blob taken: -1, or the index (in add order) of the first that is not one. */
  finish(): number;
}

/**
 * How a request carries blobs and timestamps: base64 text and epoch seconds in JSON, byte strings
 * and tagged epoch milliseconds in CBOR (src/net/kinesis/wire.ts), Uint8Arrays and Dates (or
 * epoch milliseconds) from embedded callers and the WebSocket door (NATIVE_INPUT).
 */
export interface InputFormat {
  /** What a blob and a timestamp must be, for SerializationException messages. */
  readonly blobText: string;
  readonly timestampText: string;
  /** Whether BlobReader.finish may find a bad blob (base64 is decoded in one pass at the end). */
  readonly defersBlobs: boolean;
  blobs(): BlobReader;
  /** The timestamp `value` holds, or undefined if it holds none. */
  timestamp(value: unknown): Date | undefined;
}

/** AWS names at most this many broken constraints in one ValidationException. */
const REPORTED_ERRORS_MAX = 10;

/**
 * Where a value sits: a chain of the structures and lists above it, made only as deep as the
 * request goes. A value is named by its container and its own name, and its text is made only
 * when an error must name it (PutRecords walks 500 entries per request on the hot path).
 */
interface Path {
  readonly parent: Path | undefined;
  readonly name: string;
  /**
   * Set on a list item: its index from 0 in the list named `name`. A list walks its items with
   * one Path, moving `item` (a path's text is made when an error is reported, at once), and a
   * blob whose check is deferred keeps a frozen copy.
   */
  item?: number;
}

function frozen(path: Path): Path {
  return {
    parent: path.parent === undefined ? undefined : frozen(path.parent),
    name: path.name,
    ...(path.item === undefined ? {} : { item: path.item }),
  };
}

function pathText(parent: Path | undefined, name: string): string {
  return parent === undefined ? name : `${containerText(parent)}.${name}`;
}

function containerText(path: Path): string {
  const own = path.item === undefined ? path.name : `${path.name}.${path.item + 1}.member`;
  return path.parent === undefined ? own : `${containerText(path.parent)}.${own}`;
}

/**
 * The request of `shape` in `body`, converted for the engine. Throws SerializationException for a
 * member of the wrong type and ValidationException (AWS's message) for broken constraints.
 */
export function readInput(format: InputFormat, shape: StructureShape, body: Json): Json {
  const reader = new InputReader(format);
  const request = reader.structure(shape, body, undefined);
  reader.finishBlobs();
  const count = reader.errors.length;
  if (count > 0) throw new ValidationException(`${count} validation error${count === 1 ? '' : 's'} detected: ${reader.errors.join('; ')}`);
  if (reader.refusal !== undefined) throw new InvalidArgumentException(reader.refusal);
  return request;
}

class InputReader {
  readonly errors: string[] = [];
  /** The message of the first CharacterRule broken. */
  refusal: string | undefined;
  private readonly blobs: BlobReader;
  /** Where each blob taken sits, in the order taken, to name one that is not a blob. */
  private readonly blobPaths: Path[] = [];

  constructor(private readonly format: InputFormat) {
    this.blobs = format.blobs();
  }

  /** Reads `value` in place: the parsed body is ours, and copying it showed in PutRecords profiles. */
  structure(shape: StructureShape, value: Json, path: Path | undefined): Json {
    const members = shape.members;
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      const field = value[member.name];
      if (field === undefined || field === null) {
        if (field === null) delete value[member.name];
        if (member.required) this.broke(path, member.pathName, 'null', 'Member must not be null');
      } else if (member.shape.type === 'unsupported') {
        throw new InvalidArgumentException(`${member.name} is not supported by shardline: ${member.shape.why}`);
      } else if (member.shape.type === 'blob') {
        this.blob(member.shape, field, value, member.name, path, member.pathName);
      } else {
        const read = this.value(member.shape, field, path, member.pathName);
        if (read !== field) value[member.name] = read;
      }
    }
    return value;
  }

  /** Throws, as AWS's deserializer would, for a blob that is not one. */
  finishBlobs(): void {
    const bad = this.blobs.finish();
    if (bad >= 0) throw this.notABlob(this.blobPaths[bad]!.parent, this.blobPaths[bad]!.name);
  }

  /** Takes the blob `value` for `target[key]`; `at` names it. */
  private blob(shape: BlobShape, value: unknown, target: Json, key: string, parent: Path | undefined, name: string): void {
    const bytes = this.blobs.add(value, target, key);
    if (bytes < 0) throw this.notABlob(parent, name);
    if (this.format.defersBlobs) this.blobPaths.push({ parent: parent === undefined ? undefined : frozen(parent), name });
    const breaks = lengthBreaks(shape, bytes);
    // AWS quotes a blob as the Java buffer holding it.
    if (breaks.length > 0) this.report(parent, name, `java.nio.HeapByteBuffer[pos=0 lim=${bytes} cap=${bytes}]`, breaks);
  }

  private notABlob(parent: Path | undefined, name: string): SerializationException {
    return new SerializationException(`the value at '${pathText(parent, name)}' must be ${this.format.blobText}`);
  }

  private value(shape: Exclude<Shape, BlobShape | UnsupportedShape>, value: unknown, parent: Path | undefined, name: string): unknown {
    switch (shape.type) {
      case 'string': {
        if (typeof value !== 'string') throw typeError(parent, name, 'a string', value);
        const breaks = stringBreaks(shape, value);
        if (breaks.length > 0) this.report(parent, name, value, breaks);
        this.characters(shape, value);
        return value;
      }
      case 'integer':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw typeError(parent, name, 'an integer', value);
        if (shape.min !== undefined && value < shape.min)
          this.report(parent, name, String(value), [`Member must have value greater than or equal to ${shape.min}`]);
        if (shape.max !== undefined && value > shape.max)
          this.report(parent, name, String(value), [`Member must have value less than or equal to ${shape.max}`]);
        return value;
      case 'boolean':
        if (typeof value !== 'boolean') throw typeError(parent, name, 'a boolean', value);
        return value;
      case 'timestamp': {
        const date = this.format.timestamp(value);
        if (date === undefined) throw typeError(parent, name, this.format.timestampText, value);
        return date;
      }
      case 'list':
        return this.list(shape, value, parent, name);
      case 'map':
        return this.map(shape, value, parent, name);
      case 'structure':
        if (!isStructure(value)) throw typeError(parent, name, 'a structure', value);
        return this.structure(shape, value, { parent, name });
    }
  }

  private list(shape: ListShape, value: unknown, parent: Path | undefined, name: string): unknown[] {
    if (!Array.isArray(value)) throw typeError(parent, name, 'a list', value);
    const member = shape.member;
    const breaks = lengthBreaks(shape, value.length);
    if (breaks.length > 0)
      this.report(parent, name, `[${value.map((item) => (member.type === 'structure' ? member.name : String(item))).join(', ')}]`, breaks);
    if (member.type === 'structure') {
      const itemPath: Path = { parent, name, item: 0 };
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (!isStructure(item)) throw typeError(parent, `${name}.${i + 1}.member`, 'a structure', item);
        itemPath.item = i;
        this.structure(member, item, itemPath);
      }
      return value;
    }
    const items = value.map((item, i) => simpleItem(item, parent, `${name}.${i + 1}.member`));
    // AWS names the list, not the item, and lists all of the member's constraints.
    if (items.some((item) => stringBreaks(member, item).length > 0))
      this.report(parent, name, `[${items.join(', ')}]`, [`Member must satisfy constraint: [${constraintTexts(member)}]`]);
    for (const item of items) this.characters(member, item);
    return value;
  }

  private map(shape: MapShape, value: unknown, parent: Path | undefined, name: string): Json {
    if (!isStructure(value)) throw typeError(parent, name, 'a map', value);
    const keys = Object.keys(value);
    const items = keys.map((key) => simpleItem(value[key], parent, `${name}.${key}`));
    const breaks = [...lengthBreaks(shape, keys.length)];
    if (keys.some((key) => stringBreaks(shape.key, key).length > 0))
      breaks.push(`Map keys must satisfy constraint: [${constraintTexts(shape.key)}]`);
    if (items.some((item) => stringBreaks(shape.value, item).length > 0))
      breaks.push(`Map value must satisfy constraint: [${constraintTexts(shape.value)}]`);
    if (breaks.length > 0) this.report(parent, name, `{${keys.map((key, i) => `${key}=${items[i]!}`).join(', ')}}`, breaks);
    for (let i = 0; i < keys.length; i++) {
      this.characters(shape.key, keys[i]!);
      this.characters(shape.value, items[i]!);
    }
    return value;
  }

  /** Notes the first value whose characters break its shape's rule (a cheap test of a shape that has none). */
  private characters(shape: StringShape, value: string): void {
    const rule = shape.characters;
    if (rule !== undefined && this.refusal === undefined && !rule.pattern.test(value)) this.refusal = rule.message;
  }

  /** Records each broken constraint of the value named `name` in `parent`; AWS quotes its text. */
  private report(parent: Path | undefined, name: string, text: string, breaks: readonly string[]): void {
    for (const constraint of breaks) this.broke(parent, name, `'${text}'`, constraint);
  }

  private broke(parent: Path | undefined, name: string, value: string, constraint: string): void {
    if (this.errors.length < REPORTED_ERRORS_MAX)
      this.errors.push(`Value ${value} at '${pathText(parent, name)}' failed to satisfy constraint: ${constraint}`);
  }
}

/** A list item or map value: the model's are all strings. */
function simpleItem(value: unknown, parent: Path | undefined, name: string): string {
  if (typeof value !== 'string') throw typeError(parent, name, 'a string', value);
  return value;
}

const NO_BREAKS: readonly string[] = [];

/** The constraints `value` breaks, in AWS's words; allocates nothing when it breaks none. */
function stringBreaks(shape: StringShape, value: string): readonly string[] {
  const pattern = shape.pattern !== undefined && !shape.pattern.test(value);
  const enumeration = shape.enum !== undefined && !shape.enum.includes(value);
  const length = lengthBreak(shape, value.length);
  if (!pattern && !enumeration && length === undefined) return NO_BREAKS;
  const breaks: string[] = [];
  if (pattern) breaks.push(`Member must satisfy regular expression pattern: ${shape.patternText}`);
  if (enumeration) breaks.push(`Member must satisfy enum value set: [${shape.enum!.join(', ')}]`);
  if (length !== undefined) breaks.push(length);
  return breaks;
}

function lengthBreaks(shape: Sized, length: number): readonly string[] {
  const broken = lengthBreak(shape, length);
  return broken === undefined ? NO_BREAKS : [broken];
}

function lengthBreak(shape: Sized, length: number): string | undefined {
  if (shape.minLength !== undefined && length < shape.minLength)
    return `Member must have length greater than or equal to ${shape.minLength}`;
  if (shape.maxLength !== undefined && length > shape.maxLength) return `Member must have length less than or equal to ${shape.maxLength}`;
  return undefined;
}

/** A member shape's constraints as AWS lists them for a list's or a map's members. */
function constraintTexts(shape: StringShape): string {
  const texts: string[] = [];
  if (shape.maxLength !== undefined) texts.push(`Member must have length less than or equal to ${shape.maxLength}`);
  if (shape.minLength !== undefined) texts.push(`Member must have length greater than or equal to ${shape.minLength}`);
  if (shape.patternText !== undefined) texts.push(`Member must satisfy regular expression pattern: ${shape.patternText}`);
  if (shape.enum !== undefined) texts.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  return texts.join(', ');
}

/** Plain objects only: the CBOR decoder returns a Map for a map with keys that are not strings. */
function isStructure(value: unknown): value is Json {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function described(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'a blob';
  if (value instanceof Date) return 'a timestamp';
  if (isStructure(value)) return 'a structure';
  if (typeof value === 'object') return `a ${value.constructor.name}`;
  return typeof value === 'number' ? `the number ${value}` : `a ${typeof value}`;
}

function typeError(parent: Path | undefined, name: string, expected: string, value: unknown): SerializationException {
  return new SerializationException(`the value at '${pathText(parent, name)}' must be ${expected}, got ${described(value)}`);
}
