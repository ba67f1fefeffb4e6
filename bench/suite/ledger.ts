/**
 * Which records were acknowledged and which each consumer received, by identity (producer and
 * record number, from the stamp), so that "nothing acknowledged was lost" is checked record by
 * record: a duplicate cannot hide a loss, and a record received but never acknowledged (a
 * throttled record stored anyway) is caught.
 */

/** A growable bit set, one bit per record number. */
class Bits {
  private words = new Uint32Array(1024);

  set(index: number): boolean {
    const word = index >>> 5;
    if (word >= this.words.length) this.grow(word);
    const mask = 1 << (index & 31);
    const was = (this.words[word]! & mask) !== 0;
    this.words[word]! |= mask;
    return was;
  }

  /** Bits set here and not in `other`. */
  countMissingFrom(other: Bits): number {
    let count = 0;
    for (let word = 0; word < this.words.length; word++) count += popcount(this.words[word]! & ~other.word(word));
    return count;
  }

  private word(index: number): number {
    return this.words[index] ?? 0;
  }

  private grow(word: number): void {
    const grown = new Uint32Array(Math.max(word + 1, this.words.length * 2));
    grown.set(this.words);
    this.words = grown;
  }
}

function popcount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface LedgerCounts {
  /** Acknowledged records some consumer did not receive: the most any one consumer missed. */
  readonly lost: number;
  /** Records a consumer received more than once, over all consumers. */
  readonly duplicates: number;
  /** Records a consumer received that were never acknowledged (throttled, or still unsettled). */
  readonly unacknowledged: number;
}

export class Ledger {
  private readonly acknowledged: Bits[];
  /** [consumer][producer] */
  private readonly received: Bits[][];
  private duplicates = 0;

  constructor(producers: number, consumers: number) {
    this.acknowledged = Array.from({ length: producers }, () => new Bits());
    this.received = Array.from({ length: consumers }, () => Array.from({ length: producers }, () => new Bits()));
  }

  /** Records first .. first + count - 1 of a producer, less those throttled (positions in the batch). */
  acknowledge(producer: number, first: number, count: number, throttledIndices: readonly number[]): void {
    const bits = this.acknowledged[producer]!;
    const throttled = new Set(throttledIndices);
    for (let i = 0; i < count; i++) if (!throttled.has(i)) bits.set(first + i);
  }

  receive(consumer: number, producer: number, index: number): void {
    const bits = this.received[consumer]?.[producer];
    if (bits === undefined) throw new Error(`consumer ${consumer} received a record stamped by producer ${producer}, which does not exist`);
    if (bits.set(index)) this.duplicates++;
  }

  counts(): LedgerCounts {
    let lost = 0;
    let unacknowledged = 0;
    for (const byProducer of this.received) {
      let missed = 0;
      byProducer.forEach((bits, producer) => {
        missed += this.acknowledged[producer]!.countMissingFrom(bits);
        unacknowledged += bits.countMissingFrom(this.acknowledged[producer]!);
      });
      lost = Math.max(lost, missed);
    }
    return { lost, duplicates: this.duplicates, unacknowledged };
  }
}
