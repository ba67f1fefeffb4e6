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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes fields in order; finish() joins them. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly head: number[] = [];
  private length = 0;

  /** A varint field (a uint64 below 2^32, as table indexes are). */
  uint(field: number, value: number): void {
    this.varint((field << 3) | VARINT);
    this.varint(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, encoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): void {
    this.varint((field << 3) | LENGTH_DELIMITED);
    this.varint(value.length);
    this.flushHead();
    this.chunks.push(value);
    this.length += value.length;
  }

  finish(): Uint8Array {
    this.flushHead();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  private varint(value: number): void {
    let rest = value;
    while (rest > 0x7f) {
      this.head.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    this.head.push(rest);
  }

  private flushHead(): void {
    if (this.head.length === 0) return;
    this.chunks.push(Uint8Array.from(this.head));
    this.length += this.head.length;
    this.head.length = 0;
  }
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
