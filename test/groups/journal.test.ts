import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp_dir.js';
import { childBeforeParent, leaseConflicts, processedBelowCheckpoint, readJournal, skipped } from './journal.js';

// Goal: the checks the worker-process tests rely on find what they claim to find, so a passing
// run means something. Method: small journals written by hand, each breaking one guarantee.

function journalOf(lines: string[]): ReturnType<typeof readJournal> {
  const file = path.join(tempDir(), 'journal');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return readJournal(file);
}

describe('journal checks', () => {
  it('finds a record never processed', () => {
    expect(skipped(journalOf(['P a s0 1 0 k r1']), ['r1', 'r2'])).toEqual(['r2']);
  });

  it('finds a renew by a worker after another took the lease, and a counter written twice', () => {
    const journal = journalOf(['L taken s0 1 a -', 'L taken s0 2 b a', 'L renewed s0 3 a -', 'L taken s1 1 a -', 'L taken s1 1 b -']);
    expect(leaseConflicts(journal)).toHaveLength(2);
    expect(leaseConflicts(journalOf(['L taken s0 1 a -', 'L renewed s0 2 a -', 'L taken s0 4 b a', 'L renewed s0 5 b -']))).toEqual([]);
  });

  it('finds a record processed at or below the checkpoint its worker took the lease at', () => {
    const journal = journalOf([
      'L taken s0 1 a -',
      'P a s0 5 0 k r5',
      'C a s0 5 0',
      'L taken s0 3 b a',
      'P b s0 5 0 k r5',
      'P b s0 6 0 k r6',
    ]);
    expect(processedBelowCheckpoint(journal)).toHaveLength(1);
    expect(processedBelowCheckpoint(journalOf(['L taken s0 1 a -', 'P a s0 5 0 k r5', 'L taken s0 3 b a', 'P b s0 5 0 k r5']))).toEqual([]);
  });

  it("finds a child's record of a key processed before its parent's last one", () => {
    const parents = new Map([['s1', ['s0']]]);
    expect(childBeforeParent(journalOf(['P a s0 1 0 k r1', 'P b s1 9 0 k r9', 'P a s0 2 0 k r2']), parents)).toHaveLength(1);
    expect(childBeforeParent(journalOf(['P a s0 1 0 k r1', 'P b s1 9 0 j r9', 'P a s0 2 0 k r2']), parents)).toEqual([]);
  });
});
