import { BatchBuilder } from '../../src/log/record_batch.js';

/** The fixed batch behind test/log/fixtures/golden_batch.hex. */
export function goldenBatch(): Buffer {
  const builder = new BatchBuilder();
  const hashKey = Buffer.alloc(16);
  hashKey[0] = 0x01;
  hashKey[15] = 0x80;
  builder.encode([
    { partitionKey: 'a', data: Buffer.from('xyz') },
    { partitionKey: 'é', data: Buffer.alloc(0), explicitHashKey: hashKey },
  ]);
  return Buffer.from(builder.seal(0x1_0000_0002, 1_700_000_000_123));
}
