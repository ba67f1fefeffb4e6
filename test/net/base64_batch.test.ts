import { describe, expect, it } from 'vitest';
import { Base64Batch } from '../../src/net/kinesis/base64_batch.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: decoding a request's blobs in one batch gives exactly what decoding each on its own
// gives: the same bytes for every valid string, and the first invalid one named. Method: seeded
// random batches of blobs of every padding, some corrupted in the ways Node's decoder forgives
// (a skipped character, an '=' inside, a bad length, a character above Latin-1, too much
// padding, base64url's '-' or '_', which AWS refuses), checked against a strict oracle written
// here.

type Target = Record<string, unknown>;

/** RFC 4648's base64 alphabet, not base64url's. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The oracle, independent of the module: what a strict reading of each string alone gives. */
function decodeAlone(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function corrupt(text: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  switch (Math.floor(random() * 7)) {
    case 6:
      return `${text.slice(0, at)}${random() < 0.5 ? '-' : '_'}${text.slice(at + 1)}`;
    case 4:
      // Node reads only the low byte of a character: U+0141 would pass for 'A' (0x41).
      return `${text.slice(0, at)}\u0141${text.slice(at + 1)}`;
    case 5:
      return `${text.slice(0, Math.max(0, text.length - 4))}A===`;
    case 0:
      return `${text.slice(0, at)}!${text.slice(at + 1)}`;
    case 1:
      return `${text.slice(0, at)}=${text.slice(at + 1)}`;
    case 2:
      return `${text}A`;
    default:
      return `${text.slice(0, at)} ${text.slice(at + 1)}`;
  }
}

describe('Base64Batch', () => {
  it('decodes like Buffer.from on each string, and names the first bad one', () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    for (let round = 0; round < 300; round++) {
      const label = `seed ${seed}, round ${round}`;
      const blobs = Array.from({ length: 1 + Math.floor(random() * 40) }, () =>
        Buffer.from(Array.from({ length: Math.floor(random() * 50) }, () => Math.floor(random() * 256))),
      );
      const texts = blobs.map((blob) => (random() < 0.1 ? corrupt(blob.toString('base64'), random) : blob.toString('base64')));
      const batch = new Base64Batch();
      // add() refuses a text of the wrong length at once; finish() counts only the ones taken.
      const taken: string[] = [];
      const targets: Target[] = [];
      for (const text of texts) {
        const target: Target = {};
        const length = batch.add(text, target, 'Data');
        expect(length >= 0, label).toBe(text.length % 4 === 0);
        if (length < 0) continue;
        taken.push(text);
        targets.push(target);
      }
      const result = batch.finish();
      expect(result, label).toBe(taken.findIndex((text) => decodeAlone(text) === undefined));
      if (result >= 0) continue;
      taken.forEach((text, i) =>
        expect(Buffer.from(targets[i]!.Data as Uint8Array).equals(decodeAlone(text)!), `${label}, blob ${i}`).toBe(true),
      );
    }
  });

  it('refuses what cannot be base64 when it is added', () => {
    const batch = new Base64Batch();
    expect(batch.add(7, {}, 'Data')).toBe(-1);
    expect(batch.add('abc', {}, 'Data')).toBe(-1);
    expect(batch.add('', {}, 'Data')).toBe(0);
    expect(batch.finish()).toBe(-1);
  });

  it("takes the standard alphabet's + and /, and empty blobs among others", () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf]);
    const batch = new Base64Batch();
    const targets: Target[] = [{}, {}, {}];
    batch.add(bytes.toString('base64'), targets[0]!, 'Data');
    batch.add('', targets[1]!, 'Data');
    batch.add('aGk=', targets[2]!, 'Data');
    expect(batch.finish()).toBe(-1);
    expect(targets.map((target) => Buffer.from(target.Data as Uint8Array).toString('hex'))).toEqual(['fbffbf', '', '6869']);
  });

  it("refuses base64url's - and _, which Node would read as + and /, alone and in a batch", () => {
    const url = Buffer.from([0xfb, 0xff, 0xbf]).toString('base64url');
    expect(url).toBe('-_-_');
    const alone = new Base64Batch();
    alone.add(url, {}, 'Data');
    expect(alone.finish()).toBe(0);
    const batch = new Base64Batch();
    for (const text of ['aGk=', url, '+/+/']) batch.add(text, {}, 'Data');
    expect(batch.finish()).toBe(1);
  });
});
