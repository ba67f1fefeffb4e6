/*
 * The agent's record splitter (../shared/reference/kinesis-family.md §3): the bytes of a tailed file,
 * fed in chunks of any size from a byte offset, cut into the records the agent sends — one per line,
 * or one per multi-line message (the Kinesis Agent's multiLineStartPattern, Vector's four multiline
 * modes, Fluent Bit's java and python parsers). The caller checkpoints by byte offset, so each record
 * says where it ends in the file, and a record is never emitted before its end is known: resuming at
 * an acknowledged record's endOffset starts exactly at the next record.
 *
 * Records are the file's bytes as they are, as the Kinesis Agent sends them (tailing/SingleLineSplitter,
 * ByteBuffers.advanceBufferToNextLine, AbstractParser.readRecordFromCurrentBuffer): a line ends at
 * "\n" and keeps it, a "\r" before it stays in the data (a "\r\n" file is sent byte for byte), and a
 * multi-line record is the file's span from its first line's start to its last line's newline. Only
 * the text that patterns are matched against leaves out the line ending, "\r" included, so that a
 * pattern ending in `$` means the same in a "\r\n" file.
 *
 * A record longer than maxRecordBytes is cut as the agent's AbstractRecord.truncate does: its first
 * maxRecordBytes - |terminator| bytes, then the terminator, so it is maxRecordBytes long; the rest is
 * dropped and counted. Unlike the agent (a TODO there), the cut backs off to a UTF-8 character
 * boundary so the terminator never follows half a character. A record's bytes past the limit are not
 * kept while it is read: a runaway line costs maxRecordBytes of memory, not its length.
 */

export interface RecordSplitterOptions {
  /** Lines skipped at the start of a file (only when reading from offset 0, as AbstractParser does). */
  readonly skipHeaderLines: number;
  /** A longer record is cut to this many bytes, the terminator included. */
  readonly maxRecordBytes: number;
  /** Ends a cut record; the agent's default is "\n". */
  readonly truncatedRecordTerminator: string;
  readonly multiLine?: MultiLineOptions;
}

/**
 * How lines group into records. A record still open when the file stops growing is emitted by poll
 * once timeoutMs has passed since its last line, or by flushEnd.
 * - startPattern: the Kinesis Agent's multiLineStartPattern. A line matching it (at the line's start,
 *   as Java's Matcher.lookingAt in RegexSplitter) starts a record; any other line joins the record
 *   before it, and the first line read always starts one.
 * - continuation: Vector's multiline (src/line_agg.rs). A line matching startPattern (anywhere; every
 *   line when it is absent) opens a record, other lines outside a record stand alone; then each line
 *   is judged by continuationPattern: continue_through joins the lines that match and closes before
 *   the first that does not; continue_past joins the lines that match and the one after them;
 *   halt_before joins the lines that do not match and closes before the first that does; halt_with
 *   joins lines up to and including the first that matches. A line that closes a record without
 *   joining it is then judged as a possible start.
 * - preset: Fluent Bit's built-in java and python multiline parsers (src/multiline/flb_ml_parser_*.c).
 */
export type MultiLineOptions =
  | { readonly kind: 'startPattern'; readonly startPattern: RegExp; readonly timeoutMs: number }
  | {
      readonly kind: 'continuation';
      readonly startPattern?: RegExp;
      readonly continuationPattern: RegExp;
      readonly mode: 'continue_through' | 'continue_past' | 'halt_before' | 'halt_with';
      readonly timeoutMs: number;
    }
  | { readonly kind: 'preset'; readonly preset: 'java' | 'python'; readonly timeoutMs: number };

export interface SplitRecord {
  readonly data: Uint8Array;
  /** The file offset just after this record's last byte (its newline included): where reading resumes once it is acknowledged. */
  readonly endOffset: number;
  readonly truncated: boolean;
  /** Of the record's bytes in the file, how many its data leaves out (its newline among them): 0 unless truncated. */
  readonly droppedBytes: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class RecordSplitter {
  private readonly lines: LineAssembler;
  private readonly limits: Limits;
  private readonly grouping: Grouping | undefined;
  private readonly timeoutMs: number;
  private open: OpenRecord | undefined;

  constructor(options: RecordSplitterOptions, startOffset: number) {
    this.limits = checkedLimits(options);
    requireWholeNumber('startOffset', startOffset);
    requireWholeNumber('skipHeaderLines', options.skipHeaderLines);
    const headerLines = startOffset === 0 ? options.skipHeaderLines : 0;
    this.lines = new LineAssembler(options.maxRecordBytes, startOffset, headerLines);
    this.grouping = options.multiLine && groupingFor(options.multiLine);
    this.timeoutMs = options.multiLine?.timeoutMs ?? 0;
    if (!(this.timeoutMs >= 0)) throw new RangeError(`multiLine.timeoutMs must be 0 or more, got ${this.timeoutMs}`);
  }

  /** Feeds the next bytes of the file (in order, from startOffset on); returns the records complete so far. */
  push(chunk: Uint8Array, nowMs: number): SplitRecord[] {
    const out: SplitRecord[] = [];
    for (const line of this.lines.feed(chunk)) this.accept(line, nowMs, out);
    return out;
  }

  /**
   * The file has reached its end for now: an open multi-line record is emitted once timeoutMs has
   * passed since its last line; a last line without its newline is held. Only poll times records
   * out, never push: data that is already in the file belongs together however late it is read.
   */
  poll(nowMs: number): SplitRecord[] {
    if (this.open === undefined || nowMs - this.open.lastLineAtMs < this.timeoutMs) return [];
    return [this.close(this.open)];
  }

  /**
   * The file will not grow any more (it was rotated away and read to its end): emits everything
   * pending, an unterminated last line included.
   */
  flushEnd(): SplitRecord[] {
    const out: SplitRecord[] = [];
    const last = this.lines.flushPartial();
    // The clock is moot here: whatever is still open is closed just below.
    if (last !== undefined) this.accept(last, 0, out);
    if (this.open !== undefined) out.push(this.close(this.open));
    return out;
  }

  /** Bytes held back: the line being read and an open multi-line record, each at most maxRecordBytes. */
  get pendingBytes(): number {
    return this.lines.heldBytes + (this.open?.keptBytes ?? 0);
  }

  private accept(line: Line, nowMs: number, out: SplitRecord[]): void {
    if (this.grouping === undefined) {
      out.push(seal(line.bytes, line.length, line.endOffset, this.limits));
      return;
    }
    const text = matchText(line.bytes);
    if (this.open !== undefined && this.offer(this.grouping, this.open, line, text, nowMs, out)) return;
    const state = this.grouping.open(text);
    if (state === undefined) out.push(seal(line.bytes, line.length, line.endOffset, this.limits));
    else this.open = new OpenRecord(line, state, nowMs, this.limits.maxRecordBytes);
  }

  /** Offers the line to the open record: false if the line closed it without joining it. */
  private offer(grouping: Grouping, open: OpenRecord, line: Line, text: string, nowMs: number, out: SplitRecord[]): boolean {
    const step = grouping.next(open.state, text);
    if (step.kind === 'closeBefore') {
      out.push(this.close(open));
      return false;
    }
    open.add(line, nowMs);
    if (step.kind === 'join') open.state = step.state;
    else out.push(this.close(open));
    return true;
  }

  private close(open: OpenRecord): SplitRecord {
    this.open = undefined;
    return open.seal(this.limits);
  }
}

interface Limits {
  readonly maxRecordBytes: number;
  readonly terminator: Uint8Array;
}

function checkedLimits(options: RecordSplitterOptions): Limits {
  const terminator = new TextEncoder().encode(options.truncatedRecordTerminator);
  requireWholeNumber('maxRecordBytes', options.maxRecordBytes);
  if (options.maxRecordBytes <= terminator.length) {
    throw new RangeError(
      `maxRecordBytes (${options.maxRecordBytes}) must exceed the truncatedRecordTerminator's ${terminator.length} bytes`,
    );
  }
  return { maxRecordBytes: options.maxRecordBytes, terminator };
}

function requireWholeNumber(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number, got ${value}`);
}

/** A record's data from its kept bytes (at most maxRecordBytes of them) and its length in the file. */
function seal(kept: Uint8Array, length: number, endOffset: number, limits: Limits): SplitRecord {
  if (length <= limits.maxRecordBytes) return { data: kept, endOffset, truncated: false, droppedBytes: 0 };
  const cut = characterStart(kept, limits.maxRecordBytes - limits.terminator.length);
  const data = new Uint8Array(cut + limits.terminator.length);
  data.set(kept.subarray(0, cut));
  data.set(limits.terminator, cut);
  return { data, endOffset, truncated: true, droppedBytes: length - cut };
}

/**
 * `cut`, moved back to the start of the UTF-8 character it would split. Bytes that are not UTF-8
 * (no lead byte among the four before the cut) are cut where asked.
 */
function characterStart(bytes: Uint8Array, cut: number): number {
  for (let lead = cut - 1; lead >= 0 && lead >= cut - 4; lead--) {
    const byte = bytes[lead]!;
    if ((byte & 0xc0) === 0x80) continue;
    return lead + utf8SequenceLength(byte) > cut ? lead : cut;
  }
  return cut;
}

function utf8SequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

const decoder = new TextDecoder();

/** A line as patterns see it: decoded, without "\n" or "\r\n" (of a cut line, its kept prefix). */
function matchText(bytes: Uint8Array): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === NEWLINE) end--;
  if (end > 0 && bytes[end - 1] === CARRIAGE_RETURN) end--;
  return decoder.decode(bytes.subarray(0, end));
}

/** A complete line: its first bytes (at most maxRecordBytes), its length in the file, where it ends. */
interface Line {
  readonly bytes: Uint8Array;
  readonly length: number;
  readonly endOffset: number;
}

/**
 * Cuts chunks into lines. Bytes are copied out of the chunks (a reader may reuse its buffer) and a
 * line's bytes past maxRecordBytes are only counted: a record can use no more of them.
 */
class LineAssembler {
  private parts: Uint8Array[] = [];
  private kept = 0;
  private length = 0;

  constructor(
    private readonly keepLimit: number,
    private offset: number,
    private headerLinesLeft: number,
  ) {}

  get heldBytes(): number {
    return this.kept;
  }

  feed(chunk: Uint8Array): Line[] {
    const lines: Line[] = [];
    for (let start = 0; start < chunk.length;) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.take(chunk, start, end);
      const line = newline === -1 ? undefined : this.finish();
      if (line !== undefined) lines.push(line);
      start = end;
    }
    return lines;
  }

  /** The unterminated last line, if any, as a line of its own. */
  flushPartial(): Line | undefined {
    return this.length > 0 ? this.finish() : undefined;
  }

  private take(chunk: Uint8Array, start: number, end: number): void {
    this.length += end - start;
    this.offset += end - start;
    const room = this.keepLimit - this.kept;
    if (this.headerLinesLeft > 0 || room <= 0) return;
    const taken = chunk.slice(start, Math.min(end, start + room));
    this.parts.push(taken);
    this.kept += taken.length;
  }

  /** The line read so far, or undefined for a header line, which is skipped. */
  private finish(): Line | undefined {
    const header = this.headerLinesLeft > 0;
    const line = header ? undefined : { bytes: concat(this.parts, this.kept), length: this.length, endOffset: this.offset };
    if (header) this.headerLinesLeft--;
    this.parts = [];
    this.kept = 0;
    this.length = 0;
    return line;
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** A multi-line record being gathered: its kept bytes (at most maxRecordBytes) and its length so far. */
class OpenRecord {
  private readonly parts: Uint8Array[] = [];
  keptBytes = 0;
  private length = 0;
  private endOffset = 0;
  lastLineAtMs = 0;

  constructor(
    first: Line,
    public state: string,
    nowMs: number,
    private readonly keepLimit: number,
  ) {
    this.add(first, nowMs);
  }

  add(line: Line, nowMs: number): void {
    const room = this.keepLimit - this.keptBytes;
    if (room > 0) {
      const kept = line.bytes.length > room ? line.bytes.slice(0, room) : line.bytes;
      this.parts.push(kept);
      this.keptBytes += kept.length;
    }
    this.length += line.length;
    this.endOffset = line.endOffset;
    this.lastLineAtMs = nowMs;
  }

  seal(limits: Limits): SplitRecord {
    return seal(concat(this.parts, this.keptBytes), this.length, this.endOffset, limits);
  }
}

/** What a line does to the open record: joins it (which stays open), joins and closes it, or closes it and stays out. */
type Step = { readonly kind: 'join'; readonly state: string } | { readonly kind: 'joinAndClose' } | { readonly kind: 'closeBefore' };

interface Grouping {
  /** The state of a record this line opens, or undefined if it stands alone. */
  open(text: string): string | undefined;
  next(state: string, text: string): Step;
}

const JOIN: Step = { kind: 'join', state: 'open' };
const JOIN_AND_CLOSE: Step = { kind: 'joinAndClose' };
const CLOSE_BEFORE: Step = { kind: 'closeBefore' };

function groupingFor(options: MultiLineOptions): Grouping {
  switch (options.kind) {
    case 'startPattern':
      return startPatternGrouping(lookingAt(options.startPattern));
    case 'continuation':
      return continuationGrouping(
        options.startPattern && searching(options.startPattern),
        searching(options.continuationPattern),
        options.mode,
      );
    case 'preset':
      return ruleGrouping(options.preset === 'java' ? JAVA_RULES : PYTHON_RULES);
  }
}

type Matcher = (text: string) => boolean;

/** A copy of the pattern without its g/y flags, whose lastIndex would make test() depend on the previous line. */
function searching(pattern: RegExp): Matcher {
  const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (text) => regex.test(text);
}

/** Matches at the text's start only, as Java's Matcher.lookingAt. */
function lookingAt(pattern: RegExp): Matcher {
  const regex = new RegExp(pattern.source, `${pattern.flags.replace(/[gy]/g, '')}y`);
  return (text) => {
    regex.lastIndex = 0;
    return regex.test(text);
  };
}

function startPatternGrouping(starts: Matcher): Grouping {
  return { open: () => 'open', next: (_, text) => (starts(text) ? CLOSE_BEFORE : JOIN) };
}

type ContinuationMode = Extract<MultiLineOptions, { kind: 'continuation' }>['mode'];

/** For each mode, the step of a line that matches the continuation pattern, then of one that does not. */
const CONTINUATION_STEPS: Record<ContinuationMode, readonly [Step, Step]> = {
  continue_through: [JOIN, CLOSE_BEFORE],
  continue_past: [JOIN, JOIN_AND_CLOSE],
  halt_before: [CLOSE_BEFORE, JOIN],
  halt_with: [JOIN_AND_CLOSE, JOIN],
};

function continuationGrouping(starts: Matcher | undefined, continues: Matcher, mode: ContinuationMode): Grouping {
  const [matching, other] = CONTINUATION_STEPS[mode];
  return {
    open: (text) => (starts === undefined || starts(text) ? 'open' : undefined),
    next: (_, text) => (continues(text) ? matching : other),
  };
}

/**
 * A Fluent Bit style state machine: a line matching a rule from 'start' opens a record in the rule's
 * state; in a state, the first rule from it that the line matches moves the record on, to 'start'
 * meaning the record ends with that line. A line no rule takes closes the record and may open the
 * next one (Fluent Bit emits it alone, which splits back-to-back traces).
 */
interface Rule {
  readonly from: readonly string[];
  readonly pattern: RegExp;
  readonly to: string;
}

function ruleGrouping(rules: readonly Rule[]): Grouping {
  const firstMatch = (state: string, text: string) => rules.find((rule) => rule.from.includes(state) && rule.pattern.test(text));
  return {
    open: (text) => {
      const rule = firstMatch('start', text);
      return rule === undefined || rule.to === 'start' ? undefined : rule.to;
    },
    next: (state, text) => {
      const rule = firstMatch(state, text);
      if (rule === undefined) return CLOSE_BEFORE;
      return rule.to === 'start' ? JOIN_AND_CLOSE : { kind: 'join', state: rule.to };
    },
  };
}

/**
 * flb_ml_parser_java.c's rules. The exception line may also end at the line's end (Fluent Bit wants
 * ":" or a line ending in the text, which tail strips). "nested exception is:" expects the nested
 * exception's line without closing the record as Fluent Bit does, and also at the end of the line, as
 * RemoteException.getMessage puts it ("; nested exception is: \n\t<cause>"). "..." is literal.
 */
const JAVA_RULES: readonly Rule[] = [
  // Anchored, with the ending looked for once: a long line of "Error:"s must not cost a scan each.
  { from: ['start', 'nested'], pattern: /^(?=.*nested exception is:[\t ]*$).+?(?:Exception|Error|Throwable):/, to: 'nested' },
  { from: ['start', 'nested'], pattern: /.(?:Exception|Error|Throwable|V8 errors stack trace)(?::|$)/, to: 'exception' },
  { from: ['exception'], pattern: /^[\t ]*nested exception is:/, to: 'nested' },
  { from: ['exception'], pattern: /^$/, to: 'exception' },
  { from: ['exception', 'frames'], pattern: /^[\t ]+(?:eval )?at /, to: 'frames' },
  { from: ['exception', 'frames'], pattern: /^[\t ]+--- End of inner exception stack trace ---$/, to: 'frames' },
  {
    from: ['exception', 'frames'],
    pattern: /^--- End of stack trace from previous location where exception was thrown ---$/,
    to: 'frames',
  },
  { from: ['exception', 'frames'], pattern: /^[\t ]*(?:Caused by|Suppressed):/, to: 'exception' },
  { from: ['exception', 'frames'], pattern: /^[\t ]*\.\.\. \d+ (?:more|common frames omitted)/, to: 'frames' },
];

/**
 * flb_ml_parser_python.c's rules, except that after a frame's "File" line only indented lines are
 * taken as its source (Python 3.11's `^^^^` markers among them): Fluent Bit takes any line, so an
 * exception line right after a frame without source, as for `<stdin>`, is swallowed and the record
 * waits for its timeout. A bare exception name (`KeyboardInterrupt`) ends the traceback too. Chained
 * tracebacks ("During handling of the above exception...") are separate records, as in Fluent Bit.
 */
const PYTHON_RULES: readonly Rule[] = [
  { from: ['start'], pattern: /^Traceback \(most recent call last\):$/, to: 'traceback' },
  { from: ['traceback', 'frame'], pattern: /^[\t ]+File /, to: 'frame' },
  { from: ['frame'], pattern: /^[\t ]+\S/, to: 'frame' },
  { from: ['traceback', 'frame'], pattern: /^(?:[^\s.():]+\.)*[^\s.():]+(?::|$)/, to: 'start' },
];
