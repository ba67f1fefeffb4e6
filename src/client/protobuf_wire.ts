/*
 * The protobuf wire format, as much as the KPL's aggregated record uses (kpl_aggregation.ts):
 * varints, length-delimited fields, and skipping the fields a reader does not know.
 * https://protobuf.dev/programming-guides/encoding/. Browser-safe: no Node module.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;
/** A varint has at most 10 bytes (64 bits, 7 a byte). */
const VARINT_BYTES_MAX = 10;

const decoder = new TextDecoder();

/**
 * Writes fields into one buffer sized beforehand (fieldBytes), so that an aggregate of a
 * thousand records is one allocation, not a thousand.
 */
export class ProtoWriter {
  private position = 0;

  constructor(private readonly buffer: Uint8Array) {}

  /** Bytes of a length-delimited field of `length` bytes. */
  static fieldBytes(field: number, length: number): number {
    return varintBytes((field << 3) | LENGTH_DELIMITED) + varintBytes(length) + length;
  }

  /** Bytes of a varint field holding `value` (below 2^32). */
  static uintBytes(field: number, value: number): number {
    return varintBytes((field << 3) | VARINT) + varintBytes(value);
  }

  get written(): number {
    return this.position;
  }

  uint(field: number, value: number): void {
    this.varint((field << 3) | VARINT);
    this.varint(value);
  }

  bytes(field: number, value: Uint8Array): void {
    this.header(field, value.length);
    this.buffer.set(value, this.position);
    this.position += value.length;
  }

  /** A length-delimited field's key and length; its `length` bytes are written next. */
  header(field: number, length: number): void {
    this.varint((field << 3) | LENGTH_DELIMITED);
    this.varint(length);
  }

  private varint(value: number): void {
    let rest = value;
    while (rest > 0x7f) {
      this.buffer[this.position++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.position++] = rest;
  }
}

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest > 0x7f; rest >>>= 7) bytes++;
  return bytes;
}

/** Reads fields in order; every read past the end or malformed throws (the caller's "not protobuf"). */
export class ProtoReader {
  private position = 0;

  constructor(private readonly buffer: Uint8Array) {}

  get done(): boolean {
    return this.position >= this.buffer.length;
  }

  /** A field's key: field number << 3 | wire type. */
  tag(): number {
    const key = this.varint();
    if (key > 0xffffffff || key >>> 3 === 0) throw new Error(`bad field key ${key}`);
    return key;
  }

  /** A uint64 used as an index: past 2^32 it is past every table, so -1. */
  index(): number {
    const value = this.varint();
    return value > 0xffffffff ? -1 : value;
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (length > this.buffer.length - this.position) throw new Error(`a field of ${length} bytes past the end`);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  string(): string {
    return decoder.decode(this.bytes());
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED64) this.advance(8);
    else if (wireType === FIXED32) this.advance(4);
    else throw new Error(`wire type ${wireType} (groups) is not read`);
  }

  /** Up to 2^64 - 1, as a double: exact below 2^53, which is all an index or a length needs. */
  private varint(): number {
    let value = 0;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.position >= this.buffer.length) throw new Error('a varint past the end');
      const byte = this.buffer[this.position++]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return value;
    }
    throw new Error('a varint of more than 10 bytes');
  }

  private advance(bytes: number): void {
    if (bytes > this.buffer.length - this.position) throw new Error('a fixed field past the end');
    this.position += bytes;
  }
}
