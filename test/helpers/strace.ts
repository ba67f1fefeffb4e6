import fs from 'node:fs';

/*
 * Reads what `strace -f -o FILE` saw a server do, to check the order of its system calls from
 * outside the process. strace writes a call's line when the traced thread enters or leaves it,
 * and a thread cannot act on a call's result before strace has written its exit; so if one
 * thread's fdatasync returns and another thread then sends, the fdatasync's exit comes first in
 * the file. Positions in the file are that order.
 */

/** One system call: where its entry and its exit are in the trace, its first argument and result. */
export interface TracedCall {
  readonly name: string;
  readonly enter: number;
  readonly exit: number;
  /** The first argument when it is a number (a descriptor), else NaN. */
  readonly fd: number;
  /** The quoted path of an openat. */
  readonly path: string | null;
  readonly result: number;
}

/** Every completed call in a trace written by `strace -f` (with or without -ttt). */
export function readTrace(file: string): TracedCall[] {
  const calls: TracedCall[] = [];
  const unfinished = new Map<string, { name: string; args: string; enter: number }>();
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, position) => {
      const resumed = /^(\d+)\s+(?:[\d.]+\s+)?<\.\.\. (\w+) resumed>(.*)$/.exec(line);
      if (resumed !== null) {
        const start = unfinished.get(resumed[1]!);
        unfinished.delete(resumed[1]!);
        if (start !== undefined) calls.push(call(start.name, start.args + resumed[3]!, start.enter, position));
        return;
      }
      const entered = /^(\d+)\s+(?:[\d.]+\s+)?(\w+)\((.*)$/.exec(line);
      if (entered === null) return;
      const [, pid, name, rest] = entered as unknown as [string, string, string, string];
      if (rest.endsWith(' <unfinished ...>'))
        unfinished.set(pid, { name, args: rest.slice(0, -' <unfinished ...>'.length), enter: position });
      else calls.push(call(name, rest, position, position));
    });
  return calls;
}

function call(name: string, rest: string, enter: number, exit: number): TracedCall {
  const result = /\)\s+=\s+(-?\d+)/.exec(rest);
  return {
    name,
    enter,
    exit,
    fd: /^(\d+)[,)]/.test(rest) ? Number(/^(\d+)/.exec(rest)![1]) : NaN,
    path: /"([^"]*)"/.exec(rest)?.[1] ?? null,
    result: result === null ? -1 : Number(result[1]),
  };
}

const SEND_CALLS = new Set(['sendto', 'sendmsg', 'write', 'writev']);
const SEGMENT_FILE = /\/\d{20}\.log$/;

/**
 * Checks the last `acks` sends on accepted sockets, each the acknowledgement of one put made
 * after the previous one arrived: between two of them, bytes must go into a segment file and an
 * fdatasync of that file must return after they did and before the acknowledgement leaves.
 * Returns one line per acknowledgement that breaks this.
 */
export function acksWithoutFdatasync(calls: readonly TracedCall[], acks: number): string[] {
  const sockets = new Set<number>();
  const segments = new Set<number>();
  const sends: TracedCall[] = [];
  const writes: TracedCall[] = [];
  const syncs: TracedCall[] = [];
  for (const c of calls) {
    if ((c.name === 'accept4' || c.name === 'accept') && c.result >= 0) sockets.add(c.result);
    else if (c.name === 'openat' && c.result >= 0 && SEGMENT_FILE.test(c.path ?? '')) segments.add(c.result);
    else if (c.name === 'close') {
      sockets.delete(c.fd);
      segments.delete(c.fd);
    } else if (SEND_CALLS.has(c.name) && sockets.has(c.fd)) sends.push(c);
    else if ((c.name === 'pwrite64' || c.name === 'pwritev') && segments.has(c.fd)) writes.push(c);
    else if (c.name === 'fdatasync' && segments.has(c.fd) && c.result === 0) syncs.push(c);
  }
  if (sends.length <= acks) return [`only ${sends.length} sends on accepted sockets, expected more than ${acks}`];
  const violations: string[] = [];
  for (let i = sends.length - acks; i < sends.length; i++) {
    const [after, ack] = [sends[i - 1]!.enter, sends[i]!.enter];
    const written = writes.filter((w) => w.enter > after && w.exit < ack);
    const lastWrite = written.at(-1);
    if (lastWrite === undefined) violations.push(`ack at trace line ${ack + 1}: no write to a segment since the previous ack`);
    else if (!syncs.some((s) => s.fd === lastWrite.fd && s.enter > lastWrite.exit && s.exit < ack))
      violations.push(
        `ack at trace line ${ack + 1}: no fdatasync of fd ${lastWrite.fd} between its write (line ${lastWrite.exit + 1}) and the ack`,
      );
  }
  return violations;
}
