import { MappedFile } from '../index/mapped_file.js';
import { verifyBatch } from '../log/record_batch.js';

/*
 * A piscina task: verifies every batch of one segment file (checksum, fields, contiguity)
 * from its start up to `endOffset`. Stateless: it maps the file read-only for the duration,
 * so it can run beside the shard's owner, which only appends past the committed end.
 */

export interface VerifyInput {
  readonly path: string;
  readonly baseOffset: number;
  /** Stop once batches reach this offset (the next segment's base, or the committed end). */
  readonly endOffset: number;
}

export interface VerifyOutput {
  readonly batches: number;
  readonly bytes: number;
  /** Where verification stopped early: the first invalid batch. */
  readonly corruptAt: { readonly positionBytes: number; readonly offset: number } | null;
}

export default function verifySegment(input: VerifyInput): VerifyOutput {
  const file = MappedFile.open(input.path, { fileWritable: false, mapWritable: false, mapBytes: 1 });
  const fileBytes = file.sizeBytes;
  file.close();
  if (fileBytes === 0)
    return { batches: 0, bytes: 0, corruptAt: input.endOffset > input.baseOffset ? { positionBytes: 0, offset: input.baseOffset } : null };
  const mapped = MappedFile.open(input.path, { fileWritable: false, mapWritable: false, mapBytes: fileBytes });
  try {
    return walk(mapped.buffer, fileBytes, input);
  } finally {
    mapped.close();
  }
}

function walk(buf: Buffer, fileBytes: number, input: VerifyInput): VerifyOutput {
  let position = 0;
  let offset = input.baseOffset;
  let batches = 0;
  while (offset < input.endOffset) {
    const header = verifyBatch(buf, position, fileBytes);
    if (header === null || header.baseOffset !== offset)
      return { batches, bytes: position, corruptAt: { positionBytes: position, offset } };
    position += header.batchBytes;
    offset += header.recordCount;
    batches++;
  }
  return { batches, bytes: position, corruptAt: null };
}
