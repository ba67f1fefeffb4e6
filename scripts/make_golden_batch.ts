// Prints the golden record batch of test/log/record_batch.test.ts as hex, 16 bytes a line.
// Run only when the format version changes: `npx tsx scripts/make_golden_batch.ts`.
import { goldenBatch } from '../test/log/golden_batch.js';

const hex = goldenBatch().toString('hex');
for (let i = 0; i < hex.length; i += 32) console.log(hex.slice(i, i + 32));
