import { describe, expect, it } from 'vitest';
import { ProtoReader, ProtoWriter } from '../../src/client/protobuf_wire.js';

// Goal: the protobuf wire subset reads and writes what the encoding guide says, and every
// malformed input throws instead of reading past the end. Method: bytes written by hand.

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('protobuf wire', () => {
  it('writes varint and length-delimited fields as the encoding guide does, into a buffer sized beforehand', () => {
    const testing = new TextEncoder().encode('testing');
    const size = ProtoWriter.uintBytes(1, 150) + ProtoWriter.fieldBytes(2, testing.length) + ProtoWriter.fieldBytes(3, 2);
    const buffer = new Uint8Array(size);
    const writer = new ProtoWriter(buffer);
    writer.uint(1, 150);
    writer.bytes(2, testing);
    writer.header(3, 2);
    writer.uint(0, 1); // the two bytes of field 3: 00 01
    expect(writer.written).toBe(size);
    expect(Buffer.from(buffer).toString('hex')).toBe('089601' + '120774657374696e67' + '1a020001');
  });

  it('reads them back, skips fixed and length-delimited fields it does not know, and maps huge indexes to -1', () => {
    // 1: 150; 9 (fixed64); 10 (fixed32); 11: "hi"; 2: 2^40 as an index; 3: bytes 01 02
    const reader = new ProtoReader(
      bytes(
        0x08,
        0x96,
        0x01,
        0x49,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        0x55,
        1,
        2,
        3,
        4,
        0x5a,
        0x02,
        0x68,
        0x69,
        0x10,
        0x80,
        0x80,
        0x80,
        0x80,
        0x80,
        0x20,
        0x1a,
        0x02,
        1,
        2,
      ),
    );
    expect(reader.tag()).toBe(0x08);
    expect(reader.index()).toBe(150);
    for (const wireType of [1, 5, 2]) {
      expect(reader.tag() & 7).toBe(wireType);
      reader.skip(wireType);
    }
    expect(reader.tag()).toBe(0x10);
    expect(reader.index()).toBe(-1);
    expect(reader.tag()).toBe(0x1a);
    expect([...reader.bytes()]).toEqual([1, 2]);
    expect(reader.done).toBe(true);
  });

  it('throws on input that runs past the end, an 11-byte varint, a group, or field number 0', () => {
    expect(() => new ProtoReader(bytes(0x80)).tag()).toThrow(/past the end/);
    expect(() => new ProtoReader(bytes(0x0a, 0x05, 1)).bytes()).toThrow(/past the end/);
    expect(() => new ProtoReader(bytes(0x08, ...Array<number>(10).fill(0xff), 0x01)).skip(0)).not.toThrow();
    const eleven = new ProtoReader(bytes(...Array<number>(11).fill(0xff), 0x01));
    expect(() => eleven.index()).toThrow(/more than 10 bytes/);
    expect(() => new ProtoReader(bytes(0x0b)).skip(3)).toThrow(/groups/);
    expect(() => new ProtoReader(bytes(0x02)).tag()).toThrow(/bad field key/);
    expect(() => new ProtoReader(bytes(1, 2, 3)).skip(1)).toThrow(/past the end/);
  });
});
