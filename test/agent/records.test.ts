import { describe, expect, it } from 'vitest';
import { RecordSplitter, type MultiLineOptions, type RecordSplitterOptions, type SplitRecord } from '../../src/agent/records.js';
import { seededRandom, testSeed } from '../helpers/random.js';

// Goal: the agent cuts a tailed file into the records the Kinesis Agent would send (kinesis-family.md
// §3): each line with its newline, byte for byte ("\r\n" kept), header lines skipped only from offset
// 0, over-long records cut to exactly maxRecordBytes with the terminator, multi-line records grouped
// by the agent's start pattern, Vector's four modes and Fluent Bit's java and python parsers, open
// records timed out by the caller's clock — and every record's endOffset exact, however the file is
// chunked.
// Method: small files with the records written out by hand, real-looking Java and Python traces,
// each split position of a file tried one by one, and seeded random files, options and chunkings
// (SHARDLINE_SEED=<seed> replays one) checked against a single push of the whole file and against
// the file's own bytes: records tile the file from startOffset on, each one its span unless cut.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function texts(records: readonly SplitRecord[]): string[] {
  return records.map((record) => decoder.decode(record.data));
}

function splitter(options: Partial<RecordSplitterOptions> = {}, startOffset = 0): RecordSplitter {
  return new RecordSplitter({ skipHeaderLines: 0, maxRecordBytes: 1024, truncatedRecordTerminator: '\n', ...options }, startOffset);
}

/** The records of the whole file pushed in pieces cut at `cuts` (ascending), then flushEnd. */
function splitAll(
  file: Uint8Array,
  options: Partial<RecordSplitterOptions> = {},
  cuts: readonly number[] = [],
  startOffset = 0,
): SplitRecord[] {
  const records = pushInPieces(splitter(options, startOffset), file, cuts);
  return records.all.concat(records.splitter.flushEnd());
}

function pushInPieces(target: RecordSplitter, file: Uint8Array, cuts: readonly number[]): { splitter: RecordSplitter; all: SplitRecord[] } {
  const all: SplitRecord[] = [];
  let from = 0;
  for (const cut of [...cuts, file.length]) {
    all.push(...target.push(file.subarray(from, cut), 0));
    from = cut;
  }
  return { splitter: target, all };
}

const JAVA: MultiLineOptions = { kind: 'preset', preset: 'java', timeoutMs: 1000 };
const PYTHON: MultiLineOptions = { kind: 'preset', preset: 'python', timeoutMs: 1000 };

describe('lines', () => {
  it('sends each line with its newline and says where it ends', () => {
    const records = splitAll(bytes('first\nsecond line\n\nlast\n'));
    expect(texts(records)).toEqual(['first\n', 'second line\n', '\n', 'last\n']);
    expect(records.map((record) => record.endOffset)).toEqual([6, 18, 19, 24]);
    expect(records.every((record) => !record.truncated && record.droppedBytes === 0)).toBe(true);
  });

  it('counts offsets from startOffset, in bytes not characters', () => {
    const records = splitAll(bytes('é\n東京\n😀\n'), {}, [], 1000);
    expect(texts(records)).toEqual(['é\n', '東京\n', '😀\n']);
    expect(records.map((record) => record.endOffset)).toEqual([1003, 1010, 1015]);
  });

  it('keeps "\\r\\n" line endings byte for byte, as the Kinesis Agent sends them', () => {
    const records = splitAll(bytes('a\r\nb\r\n\r\nc\rd\n'));
    expect(texts(records)).toEqual(['a\r\n', 'b\r\n', '\r\n', 'c\rd\n']);
    expect(records.map((record) => record.endOffset)).toEqual([3, 6, 8, 12]);
  });

  it('finds the same records whichever byte a chunk ends at, multi-byte characters and "\\r\\n" split included', () => {
    const file = bytes('plain\r\nné 東京 😀\n\nException in x: java.lang.Error: y\n\tat a.b(C.java:1)\nend 😀');
    for (const multiLine of [undefined, JAVA]) {
      const options = multiLine === undefined ? {} : { multiLine };
      const whole = splitAll(file, options);
      for (let cut = 0; cut <= file.length; cut++) expect(splitAll(file, options, [cut]), `cut at ${cut}`).toEqual(whole);
      const everyByte = Array.from({ length: file.length }, (_, index) => index);
      expect(splitAll(file, options, everyByte)).toEqual(whole);
    }
  });

  it('holds a last line without its newline until the newline comes, or flushEnd', () => {
    const target = splitter();
    expect(texts(target.push(bytes('one\ntw'), 0))).toEqual(['one\n']);
    expect(target.poll(1_000_000)).toEqual([]);
    expect(target.pendingBytes).toBe(2);
    const [two] = target.push(bytes('o\nthr'), 0);
    expect(two).toMatchObject({ endOffset: 8 });
    expect(texts([two!])).toEqual(['two\n']);
    const last = target.flushEnd();
    expect(texts(last)).toEqual(['thr']);
    expect(last[0]!.endOffset).toBe(11);
    expect(target.pendingBytes).toBe(0);
    expect(target.flushEnd()).toEqual([]);
  });

  it('copies the data out of the chunk, which a reader may reuse', () => {
    const target = splitter();
    const buffer = bytes('abc\nde');
    const [record] = target.push(buffer, 0);
    buffer.fill(0x78);
    expect(texts([record!])).toEqual(['abc\n']);
    expect(texts(target.push(bytes('\n'), 0))).toEqual(['de\n']);
  });
});

describe('skipHeaderLines', () => {
  it('skips the first lines of a file read from offset 0, counting their bytes in the offsets', () => {
    const file = bytes('id,name\r\ntype,text\n1,a\n2,b\n');
    const records = splitAll(file, { skipHeaderLines: 2 }, [3, 12]);
    expect(texts(records)).toEqual(['1,a\n', '2,b\n']);
    expect(records.map((record) => record.endOffset)).toEqual([23, 27]);
  });

  it('skips nothing when reading resumes past offset 0', () => {
    expect(texts(splitAll(bytes('1,a\n2,b\n'), { skipHeaderLines: 2 }, [], 9))).toEqual(['1,a\n', '2,b\n']);
  });

  it('skips a header however long, holding none of it, and a header cut off by the end of the file', () => {
    const target = splitter({ skipHeaderLines: 1, maxRecordBytes: 8 });
    expect(target.push(bytes('x'.repeat(100)), 0)).toEqual([]);
    expect(target.pendingBytes).toBe(0);
    expect(target.push(bytes('x\nrow\n'), 0)).toEqual([{ data: bytes('row\n'), endOffset: 106, truncated: false, droppedBytes: 0 }]);
    expect(splitAll(bytes('only a header'), { skipHeaderLines: 1 })).toEqual([]);
  });
});

describe('truncation', () => {
  const cut = (line: string, options: Partial<RecordSplitterOptions>): SplitRecord => {
    const records = splitAll(bytes(line), options);
    expect(records).toHaveLength(1);
    return records[0]!;
  };

  it('keeps a record of exactly maxRecordBytes whole and cuts a longer one to exactly maxRecordBytes, the terminator last', () => {
    expect(cut('0123456\n', { maxRecordBytes: 8 })).toEqual({ data: bytes('0123456\n'), endOffset: 8, truncated: false, droppedBytes: 0 });
    expect(cut('01234567\n', { maxRecordBytes: 8 })).toEqual({ data: bytes('0123456\n'), endOffset: 9, truncated: true, droppedBytes: 2 });
    expect(cut('0123456789abcdef\n', { maxRecordBytes: 8 })).toEqual({
      data: bytes('0123456\n'),
      endOffset: 17,
      truncated: true,
      droppedBytes: 10,
    });
  });

  it('appends the configured terminator, multi-byte or empty', () => {
    expect(texts([cut('0123456789abcdef\n', { maxRecordBytes: 12, truncatedRecordTerminator: '…\n' })])).toEqual(['01234567…\n']);
    expect(cut('0123456789abcdef\n', { maxRecordBytes: 12, truncatedRecordTerminator: '…\n' }).data).toHaveLength(12);
    expect(cut('0123456789\n', { maxRecordBytes: 4, truncatedRecordTerminator: '' })).toMatchObject({
      data: bytes('0123'),
      droppedBytes: 7,
    });
  });

  it('cuts before a character the limit would split, never after half of it', () => {
    // é is 2 bytes at 6-7, 😀 4 bytes at 6-9: the cut at 7 backs off to 6.
    expect(cut('abcdefé-----\n', { maxRecordBytes: 8 })).toMatchObject({ data: bytes('abcdef\n'), droppedBytes: 8 });
    expect(cut('abcdef😀-----\n', { maxRecordBytes: 8 })).toMatchObject({ data: bytes('abcdef\n'), droppedBytes: 10 });
    expect(cut('abcdeé-----\n', { maxRecordBytes: 8 })).toMatchObject({ data: bytes('abcdeé\n') });
    const latin1 = Uint8Array.from([0x61, 0x62, 0x63, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x0a]);
    expect(splitAll(latin1, { maxRecordBytes: 8 })[0]!.data).toEqual(Uint8Array.from([0x61, 0x62, 0x63, 0x80, 0x80, 0x80, 0x80, 0x0a]));
  });

  it('holds at most maxRecordBytes of a runaway line while waiting for its end, then resumes after it', () => {
    const target = splitter({ maxRecordBytes: 100 });
    const chunk = bytes('y'.repeat(1000));
    for (let i = 0; i < 1000; i++) {
      expect(target.push(chunk, 0)).toEqual([]);
      expect(target.pendingBytes).toBeLessThanOrEqual(100);
    }
    const records = target.push(bytes('\nnext\n'), 0);
    expect(records.map(({ endOffset, truncated, droppedBytes }) => ({ endOffset, truncated, droppedBytes }))).toEqual([
      { endOffset: 1_000_001, truncated: true, droppedBytes: 1_000_001 - 99 },
      { endOffset: 1_000_006, truncated: false, droppedBytes: 0 },
    ]);
    expect(texts(records)).toEqual([`${'y'.repeat(99)}\n`, 'next\n']);
  });

  it('cuts a multi-line record, dropping the rest of its lines, and the record after it is whole', () => {
    const trace = 'java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\n';
    const records = splitAll(bytes(`${trace}after\n`), { maxRecordBytes: 50, multiLine: JAVA });
    expect(texts(records)).toEqual([`${trace.slice(0, 49)}\n`, 'after\n']);
    expect(records[0]).toMatchObject({ endOffset: trace.length, truncated: true, droppedBytes: trace.length - 49 });
    expect(records[0]!.data).toHaveLength(50);
  });

  it('refuses a limit the terminator does not fit in, and other impossible settings', () => {
    expect(() => splitter({ maxRecordBytes: 1 })).toThrow(RangeError);
    expect(() => splitter({ maxRecordBytes: 3, truncatedRecordTerminator: '…' })).toThrow(/maxRecordBytes \(3\) must exceed/);
    expect(() => splitter({ skipHeaderLines: -1 })).toThrow(RangeError);
    expect(() => splitter({}, 1.5)).toThrow(RangeError);
    expect(() => splitter({ multiLine: { kind: 'preset', preset: 'java', timeoutMs: Number.NaN } })).toThrow(RangeError);
  });
});

describe("the Kinesis Agent's multiLineStartPattern", () => {
  const multiLine: MultiLineOptions = { kind: 'startPattern', startPattern: /\d{4}-\d\d-\d\d /, timeoutMs: 1000 };

  it('starts a record at each line matching the pattern, emitting the one before when the next begins', () => {
    const target = splitter({ multiLine });
    expect(target.push(bytes('2024-05-01 first\n  more of it\r\n'), 0)).toEqual([]);
    const first = target.push(bytes('2024-05-01 second\n'), 1);
    expect(first).toEqual([{ data: bytes('2024-05-01 first\n  more of it\r\n'), endOffset: 31, truncated: false, droppedBytes: 0 }]);
    expect(texts(target.flushEnd())).toEqual(['2024-05-01 second\n']);
  });

  it('lets the first line read start a record whatever it is, as the agent does', () => {
    const file = bytes('  tail of a record begun before\nstill\n2024-05-01 next\n');
    expect(texts(splitAll(file, { multiLine }))).toEqual(['  tail of a record begun before\nstill\n', '2024-05-01 next\n']);
  });

  it('matches at the start of the line only (Matcher.lookingAt), and a g flag does not make it alternate', () => {
    const anchored: MultiLineOptions = { kind: 'startPattern', startPattern: /ERROR/g, timeoutMs: 1000 };
    const file = bytes('ERROR a\nERROR b\nsee ERROR c\nERROR d\n');
    expect(texts(splitAll(file, { multiLine: anchored }))).toEqual(['ERROR a\n', 'ERROR b\nsee ERROR c\n', 'ERROR d\n']);
  });
});

describe("Vector's multiline modes", () => {
  const lines = (...text: string[]) => bytes(text.map((line) => `${line}\n`).join(''));
  const vector = (
    mode: Extract<MultiLineOptions, { kind: 'continuation' }>['mode'],
    continuationPattern: RegExp,
    startPattern?: RegExp,
  ): Partial<RecordSplitterOptions> => ({
    multiLine: { kind: 'continuation', mode, continuationPattern, timeoutMs: 1000, ...(startPattern && { startPattern }) },
  });

  it('continue_through: the lines matching the pattern join the record opened by a start line', () => {
    const file = lines('plain one', 'plain two', 'opening', '  indented 1', '  indented 2', 'plain three', 'last', '  its tail');
    expect(texts(splitAll(file, vector('continue_through', /^\s/, /^\S/)))).toEqual([
      'plain one\n',
      'plain two\n',
      'opening\n  indented 1\n  indented 2\n',
      'plain three\n',
      'last\n  its tail\n',
    ]);
  });

  it('continue_past: the lines matching the pattern and the one after them; a line that opens nothing is sent at once', () => {
    const target = splitter(vector('continue_past', /\\$/, /\\$/));
    expect(texts(target.push(lines('one \\', 'two \\', 'three', 'four', 'five \\'), 0))).toEqual(['one \\\ntwo \\\nthree\n', 'four\n']);
    expect(texts(target.push(lines('six'), 0))).toEqual(['five \\\nsix\n']);
    expect(target.pendingBytes).toBe(0);
  });

  it('halt_before: the lines not matching the pattern, closing before the next that does', () => {
    const file = lines('[INFO] a', 'x', 'y', '[WARN] b', '[INFO] c', 'z');
    expect(texts(splitAll(file, vector('halt_before', /^\[\w+\] /)))).toEqual(['[INFO] a\nx\ny\n', '[WARN] b\n', '[INFO] c\nz\n']);
  });

  it('halt_with: lines up to and including the first matching the pattern, sent as soon as it comes', () => {
    const target = splitter(vector('halt_with', /;$/));
    expect(texts(target.push(lines('SELECT *', 'FROM t', 'WHERE x;', 'done;'), 0))).toEqual(['SELECT *\nFROM t\nWHERE x;\n']);
    // As in Vector, a start line is not judged by the pattern: "done;" opens a record and waits.
    expect(target.pendingBytes).toBe(6);
    expect(texts(target.push(lines('more;'), 0))).toEqual(['done;\nmore;\n']);
  });

  it('judges a line that closed a record as the start of the next', () => {
    const file = lines('open', ' cont', ' cont', ' orphan-looking', 'open again', ' cont');
    // The g flag would make a shared RegExp's test() alternate between matching and not.
    const records = splitAll(file, vector('continue_through', /^ cont/g, /^open/g));
    expect(texts(records)).toEqual(['open\n cont\n cont\n', ' orphan-looking\n', 'open again\n cont\n']);
  });

  it('matches patterns without the line ending, so `$` works in a "\\r\\n" file, which is still sent byte for byte', () => {
    const file = bytes('UPDATE t\r\nSET a = 1;\r\nnext\r\n');
    expect(texts(splitAll(file, vector('halt_with', /;$/)))).toEqual(['UPDATE t\r\nSET a = 1;\r\n', 'next\r\n']);
  });
});

describe("Fluent Bit's java parser", () => {
  const trace = [
    'Exception in thread "main" java.lang.IllegalStateException: Failed to load configuration',
    '\tat com.example.config.Loader.load(Loader.java:87)',
    '\tat com.example.App.main(App.java:21)',
    'Caused by: java.io.FileNotFoundException: /etc/app/app.yml (No such file or directory)',
    '\tat java.base/java.io.FileInputStream.open0(Native Method)',
    '\tat java.base/java.io.FileInputStream.open(FileInputStream.java:216)',
    '\tat com.example.config.Loader.load(Loader.java:80)',
    '\t... 1 more',
    '\tSuppressed: java.lang.RuntimeException: close failed',
    '\t\tat com.example.config.Loader.close(Loader.java:120)',
    '\t\t... 2 more',
  ]
    .map((line) => `${line}\n`)
    .join('');

  it('groups a stack trace with its causes and suppressed exceptions, the log lines around it alone', () => {
    const target = splitter({ multiLine: JAVA });
    const before = '2024-05-01 12:00:00,120 INFO  [main] c.e.App - starting\n';
    const after = '2024-05-01 12:00:00,130 INFO  [main] c.e.App - exiting\n';
    expect(texts(target.push(bytes(before + trace), 0))).toEqual([before]);
    const records = target.push(bytes(after), 0);
    expect(texts(records)).toEqual([trace, after]);
    expect(records.map((record) => record.endOffset)).toEqual([before.length + trace.length, before.length + trace.length + after.length]);
  });

  it('parts back-to-back traces, a message-less exception and logback frames included', () => {
    const second = 'java.lang.NullPointerException\n\tat com.example.Handler.handle(Handler.java:12)\n\t... 48 common frames omitted\n';
    expect(texts(splitAll(bytes(trace + second), { multiLine: JAVA }))).toEqual([trace, second]);
  });

  it("keeps in the record the blank lines after an exception line, and RemoteException's nested exceptions", () => {
    const rmi = [
      'java.rmi.ServerException: RemoteException occurred in server thread; nested exception is:',
      '\tjava.rmi.UnmarshalException: error unmarshalling arguments; nested exception is:',
      '\tjava.net.MalformedURLException: no protocol: foo',
      '\tat sun.rmi.server.UnicastServerRef.dispatch(UnicastServerRef.java:290)',
      '',
    ].join('\n');
    const blank = 'java.lang.Error: fatal\n\n\tat a.B.c(B.java:1)\n';
    expect(texts(splitAll(bytes(blank + rmi), { multiLine: JAVA }))).toEqual([blank, rmi]);
  });
});

describe("Fluent Bit's python parser", () => {
  const traceback = [
    'Traceback (most recent call last):',
    '  File "/srv/app/main.py", line 14, in <module>',
    '    main()',
    '  File "/srv/app/main.py", line 9, in main',
    '    value = int(raw)',
    '            ^^^^^^^^',
    "ValueError: invalid literal for int() with base 10: 'abc'",
  ]
    .map((line) => `${line}\n`)
    .join('');

  it('sends a traceback as soon as its exception line ends it', () => {
    const target = splitter({ multiLine: PYTHON });
    expect(texts(target.push(bytes(`INFO:app:parsing\n${traceback}`), 0))).toEqual(['INFO:app:parsing\n', traceback]);
    expect(target.pendingBytes).toBe(0);
  });

  it('ends a traceback whose frame has no source line, or whose exception has no message', () => {
    const stdin = 'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\nNameError: name \'x\' is not defined\n';
    const interrupt =
      'Traceback (most recent call last):\n  File "/srv/app/loop.py", line 3, in <module>\n    time.sleep(1)\nKeyboardInterrupt\n';
    expect(texts(splitAll(bytes(stdin + interrupt + 'bye\n'), { multiLine: PYTHON }))).toEqual([stdin, interrupt, 'bye\n']);
  });

  it('sends chained tracebacks as separate records, as Fluent Bit does, and a dotted exception name ends one', () => {
    const first =
      'Traceback (most recent call last):\n  File "a.py", line 2, in <module>\n    json.loads(s)\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n';
    const link = '\nDuring handling of the above exception, another exception occurred:\n\n';
    const second =
      'Traceback (most recent call last):\n  File "a.py", line 4, in <module>\n    raise RuntimeError("bad input")\nRuntimeError: bad input\n';
    expect(texts(splitAll(bytes(first + link + second), { multiLine: PYTHON }))).toEqual([
      first,
      '\n',
      'During handling of the above exception, another exception occurred:\n',
      '\n',
      second,
    ]);
  });
});

describe('the timeout', () => {
  const multiLine: MultiLineOptions = { kind: 'continuation', continuationPattern: /^\s/, mode: 'continue_through', timeoutMs: 1000 };

  it("emits an open record once timeoutMs has passed since its last line, by the caller's clock", () => {
    const target = splitter({ multiLine });
    expect(target.push(bytes('head\n'), 0)).toEqual([]);
    expect(target.push(bytes('  line 1\n'), 900)).toEqual([]);
    expect(target.poll(1500)).toEqual([]);
    expect(target.poll(1899)).toEqual([]);
    expect(texts(target.poll(1900))).toEqual(['head\n  line 1\n']);
    expect(target.poll(5000)).toEqual([]);
    // A continuation after the timeout opens a record of its own (without a start pattern, every line may).
    expect(target.push(bytes('  late\n'), 6000)).toEqual([]);
    expect(texts(target.flushEnd())).toEqual(['  late\n']);
  });

  it('never times out in push: lines already in the file stay together however late they are read', () => {
    const target = splitter({ multiLine });
    target.push(bytes('head\n'), 0);
    expect(target.push(bytes('  read a minute later\n'), 60_000)).toEqual([]);
    expect(texts(target.flushEnd())).toEqual(['head\n  read a minute later\n']);
  });

  it('leaves an unterminated line out of the timed-out record, whose endOffset stops before it', () => {
    const target = splitter({ multiLine });
    target.push(bytes('head\n  a\n  b-partial'), 0);
    expect(target.poll(1000)).toEqual([{ data: bytes('head\n  a\n'), endOffset: 9, truncated: false, droppedBytes: 0 }]);
    expect(target.pendingBytes).toBe(11);
    expect(target.flushEnd()).toEqual([{ data: bytes('  b-partial'), endOffset: 20, truncated: false, droppedBytes: 0 }]);
  });

  it('flushEnd judges the unterminated last line, then emits what is open', () => {
    const target = splitter({ multiLine: PYTHON });
    target.push(bytes('Traceback (most recent call last):\n  File "x.py", line 1\nOSError: disk full'), 0);
    expect(target.poll(999)).toEqual([]);
    expect(texts(target.flushEnd())).toEqual(['Traceback (most recent call last):\n  File "x.py", line 1\nOSError: disk full']);
  });
});

describe('seeded random files and chunkings', () => {
  const seed = testSeed();
  const PIECES = [
    'word',
    ' ',
    'é',
    '東',
    '😀',
    '\t',
    'at x.Y(Z.java:1)',
    'java.lang.Error: e',
    'Caused by: a.B: c',
    '...',
    ';',
    '\\',
    '\r',
  ];
  const LINE_STARTS = [
    '',
    '',
    '',
    '  ',
    '\t',
    '  File "f.py", line 1',
    'Traceback (most recent call last):',
    'ValueError: v',
    '2024-05-01 ',
  ];
  const MULTI_LINES: readonly (MultiLineOptions | undefined)[] = [
    undefined,
    { kind: 'startPattern', startPattern: /\d{4}-/, timeoutMs: 10 },
    { kind: 'continuation', startPattern: /^\S/, continuationPattern: /^\s/, mode: 'continue_through', timeoutMs: 10 },
    { kind: 'continuation', continuationPattern: /\\$/, mode: 'continue_past', timeoutMs: 10 },
    { kind: 'continuation', continuationPattern: /^\d{4}-/, mode: 'halt_before', timeoutMs: 10 },
    { kind: 'continuation', startPattern: /^[^;]/, continuationPattern: /;$/, mode: 'halt_with', timeoutMs: 10 },
    JAVA,
    PYTHON,
  ];

  function pick<T>(random: () => number, from: readonly T[]): T {
    return from[Math.floor(random() * from.length)]!;
  }

  function randomFile(random: () => number): Uint8Array {
    const lines: string[] = [];
    for (let count = Math.floor(random() * 40); lines.length < count;) {
      let line = pick(random, LINE_STARTS);
      const pieces = random() < 0.1 ? 60 : Math.floor(random() * 6);
      for (let i = 0; i < pieces; i++) line += pick(random, PIECES);
      lines.push(line + (random() < 0.3 ? '\r\n' : '\n'));
    }
    if (random() < 0.5) lines.push(pick(random, PIECES));
    return bytes(lines.join(''));
  }

  function randomOptions(random: () => number): RecordSplitterOptions {
    const multiLine = pick(random, MULTI_LINES);
    return {
      skipHeaderLines: Math.floor(random() * 3),
      maxRecordBytes: 8 + Math.floor(random() * 120),
      truncatedRecordTerminator: pick(random, ['\n', '', '…\n', '[cut]\n']),
      ...(multiLine && { multiLine }),
    };
  }

  function randomCuts(random: () => number, length: number): number[] {
    const cuts = Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * (length + 1)));
    return cuts.sort((a, b) => a - b);
  }

  /** Where the records start: after the header lines when reading from 0. */
  function headerEnd(file: Uint8Array, options: RecordSplitterOptions, startOffset: number): number {
    let end = 0;
    for (let line = 0; startOffset === 0 && line < options.skipHeaderLines && end < file.length; line++) {
      const newline = file.indexOf(0x0a, end);
      end = newline === -1 ? file.length : newline + 1;
    }
    return end;
  }

  /** The records tile the file after its header: each is its span of the file, or that span cut. */
  function expectTiling(
    file: Uint8Array,
    records: readonly SplitRecord[],
    options: RecordSplitterOptions,
    startOffset: number,
    at: string,
  ): void {
    const terminator = bytes(options.truncatedRecordTerminator);
    let from = headerEnd(file, options, startOffset);
    for (const [index, record] of records.entries()) {
      const span = file.subarray(from, record.endOffset - startOffset);
      const label = `${at}, record ${index}`;
      expect(span.length, label).toBeGreaterThan(0);
      if (options.multiLine === undefined) expect(span.indexOf(0x0a), label).toBeOneOf([-1, span.length - 1]);
      if (record.truncated) {
        const kept = record.data.length - terminator.length;
        expect(span.length, label).toBeGreaterThan(options.maxRecordBytes);
        expect(kept, label).toBeGreaterThanOrEqual(options.maxRecordBytes - terminator.length - 3);
        expect(record.data.subarray(0, kept), label).toEqual(span.subarray(0, kept));
        expect(record.data.subarray(kept), label).toEqual(terminator);
        expect(record.droppedBytes, label).toBe(span.length - kept);
      } else {
        expect(record.data, label).toEqual(span);
        expect(record.droppedBytes, label).toBe(0);
      }
      expect(record.data.length, label).toBeLessThanOrEqual(options.maxRecordBytes);
      from = record.endOffset - startOffset;
    }
    expect(from, `${at}: the records end where the file does`).toBe(file.length);
  }

  it(`agrees with one push of the whole file and tiles the file (seed ${seed})`, () => {
    for (let run = 0; run < 300; run++) {
      const random = seededRandom(seed + run);
      const at = `seed ${seed + run}`;
      const file = randomFile(random);
      const options = randomOptions(random);
      const startOffset = random() < 0.5 ? 0 : Math.floor(random() * 1e6);
      const whole = new RecordSplitter(options, startOffset);
      const expected = [...whole.push(file, 0), ...whole.flushEnd()];
      expectTiling(file, expected, options, startOffset, at);

      const target = new RecordSplitter(options, startOffset);
      const held = (options.multiLine === undefined ? 1 : 2) * options.maxRecordBytes;
      const records: SplitRecord[] = [];
      let from = 0;
      for (const cut of [...randomCuts(random, file.length), file.length]) {
        records.push(...target.push(file.subarray(from, cut), 5));
        // The clock stands still, short of every timeout: polling changes nothing.
        records.push(...target.poll(5));
        expect(target.pendingBytes, at).toBeLessThanOrEqual(held);
        from = cut;
      }
      records.push(...target.flushEnd());
      expect(records, at).toEqual(expected);
    }
  });
});
