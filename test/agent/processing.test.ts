import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AgentConfigError, parseProcessingOptions, processRecord, type ProcessingOption } from '../../src/agent/processing.js';

// Goal: dataProcessingOptions give the Kinesis Agent's bytes (kinesis-family.md §3.1; the agent's
// processors, parsers and DataConverterTest): each option on real-looking Apache access and error
// logs, RFC 3164 and RFC 3339 syslog, and delimited files; Jackson's JSON (COMPACT, PRETTYPRINT,
// escapes); the agent's quirks kept (no CSV quoting, SINGLELINE joining with nothing, brackets
// around the newline); chains; lines a format cannot parse coming back as failures with the
// record as it came in; and every configuration error naming its key path.
// Method: fixture files split into records as the agent's splitter cuts them (each keeps its
// "\n"), run through parseProcessingOptions + processRecord; expected outputs are written out by
// hand from the agent's patterns and Java's String.split/trim, the agent's own test cases among
// them. The clock is fixed.

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const KEY = 'flows[0].dataProcessingOptions';
const NOW = Date.UTC(2024, 2, 12, 12, 0, 8, 123);
/** Stands for a record the chain gave back as a failure. */
const FAILS = Symbol('fails');

function chain(options: unknown[]): ProcessingOption[] {
  return parseProcessingOptions(options, KEY);
}

function run(options: unknown[], record: string | Uint8Array): string | typeof FAILS {
  const result = processRecord(chain(options), typeof record === 'string' ? encoder.encode(record) : record, { now: () => NOW });
  return 'data' in result ? decoder.decode(result.data) : FAILS;
}

/** The fixture's records, each with its newline, as the agent's SingleLineSplitter yields them. */
function fixture(name: string): string[] {
  return readFileSync(new URL(`fixtures/processing/${name}`, import.meta.url), 'utf8').split(/(?<=\n)/);
}

function runFixture(options: unknown[], name: string): (string | typeof FAILS)[] {
  return fixture(name).map((record) => run(options, record));
}

/** One JSON record as the agent sends it: the JSON, then "\n". */
const json = (text: string): string => `${text}\n`;

describe('LOGTOJSON', () => {
  it('COMMONAPACHELOG: "-" is null, a longer line still matches, an IPv6 client does not', () => {
    expect(runFixture([{ optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' }], 'access_common.log')).toEqual([
      // The example of AWS's guide, "Use the agent to pre-process data".
      json(
        '{"host":"64.242.88.10","ident":null,"authuser":null,"datetime":"07/Mar/2004:16:10:02 -0800","request":"GET /mailman/listinfo/hsdivision HTTP/1.1","response":"200","bytes":"6291"}',
      ),
      json(
        '{"host":"lj1036.inktomisearch.com","ident":null,"authuser":null,"datetime":"07/Mar/2004:17:18:36 -0800","request":"GET /robots.txt HTTP/1.0","response":"200","bytes":"68"}',
      ),
      json(
        '{"host":"10.0.0.7","ident":null,"authuser":"frank","datetime":"10/Oct/2000:13:55:36 -0700","request":"GET /apache_pb.gif HTTP/1.0","response":"200","bytes":"2326"}',
      ),
      json(
        '{"host":"192.168.1.20","ident":null,"authuser":null,"datetime":"12/Mar/2024:12:00:08 +0000","request":"POST /api/orders HTTP/1.1","response":"304","bytes":null}',
      ),
      FAILS,
      json(
        '{"host":"203.0.113.9","ident":null,"authuser":null,"datetime":"12/Mar/2024:12:00:10 +0000","request":"GET /index.html HTTP/1.1","response":"200","bytes":"5120"}',
      ),
    ]);
  });

  it('COMBINEDAPACHELOG adds referer and agent; a common line or an escaped quote in the request does not match', () => {
    expect(runFixture([{ optionName: 'LOGTOJSON', logFormat: 'COMBINEDAPACHELOG' }], 'access_combined.log')).toEqual([
      json(
        '{"host":"127.0.0.1","ident":null,"authuser":"frank","datetime":"10/Oct/2000:13:55:36 -0700","request":"GET /apache_pb.gif HTTP/1.0","response":"200","bytes":"2326","referer":"http://www.example.com/start.html","agent":"Mozilla/4.08 [en] (Win98; I ;Nav)"}',
      ),
      json(
        '{"host":"198.51.100.23","ident":null,"authuser":null,"datetime":"12/Mar/2024:12:00:08 +0000","request":"GET /search?q=caf%C3%A9 HTTP/2.0","response":"200","bytes":"1043","referer":null,"agent":"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"}',
      ),
      FAILS,
      FAILS,
    ]);
  });

  it('APACHEERRORLOG: module and thread id optional, a client port kept, a line without [client] fails', () => {
    expect(runFixture([{ optionName: 'LOGTOJSON', logFormat: 'APACHEERRORLOG' }], 'error.log')).toEqual([
      json(
        '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":"core","severity":"error","processid":"35708","threadid":"4328636416","client":"72.15.99.187","message":"File does not exist: /usr/local/apache2/htdocs/favicon.ico"}',
      ),
      json(
        `{"timestamp":"Tue Mar 12 12:00:08.123456 2024","module":"proxy_fcgi","severity":"error","processid":"1234","threadid":"140245","client":"203.0.113.9:51234","message":"AH01071: Got error 'Primary script unknown'"}`,
      ),
      json(
        '{"timestamp":"Sun Mar 07 16:02:00 2004","module":null,"severity":"error","processid":"2817","threadid":null,"client":"64.242.88.10","message":"File does not exist: /var/www/html/favicon.ico"}',
      ),
      FAILS,
    ]);
  });

  it('SYSLOG: process id optional (null), spacing inside timestamp and message kept, a <PRI> prefix fails', () => {
    expect(runFixture([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG' }], 'syslog')).toEqual([
      json(
        `{"timestamp":"Mar 12 12:00:08","hostname":"server2","program":"rcd","processid":"308","message":"Loaded 12 packages in 'ximian-red-carpet|351' (0.01878 seconds) "}`,
      ),
      json(
        '{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"Ports to decode telnet on: 21 23 25 119"}',
      ),
      json(
        '{"timestamp":"Mar  2 07:15:42","hostname":"web-1","program":"CRON","processid":"23817","message":"(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"}',
      ),
      json(
        '{"timestamp":"Mar 12 12:00:09","hostname":"web-1","program":"kernel","processid":null,"message":"[ 1234.567890] eth0: link up"}',
      ),
      json(
        '{"timestamp":"Mar 12 12:00:12","hostname":"web-1","program":"sudo","processid":null,"message":"  deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/ls"}',
      ),
      FAILS,
    ]);
  });

  it('RFC3339SYSLOG: fractions and offsets in the timestamp; a space for the T fails', () => {
    expect(runFixture([{ optionName: 'LOGTOJSON', logFormat: 'RFC3339SYSLOG' }], 'rfc3339_syslog.log')).toEqual([
      json(
        '{"timestamp":"2024-03-12T12:00:08.123456+01:00","hostname":"web-1","program":"sshd","processid":"4242","message":"Accepted publickey for deploy from 203.0.113.9 port 51234 ssh2"}',
      ),
      json(
        '{"timestamp":"2024-03-12T11:00:09Z","hostname":"web-1","program":"kernel","processid":null,"message":"[ 1234.567890] eth0: link up"}',
      ),
      json(
        '{"timestamp":"2024-03-12T12:00:10-05:00","hostname":"db-2","program":"postgres","processid":"99","message":"LOG:  checkpoint complete"}',
      ),
      FAILS,
    ]);
  });

  it('customFieldNames rename the fields; a matchPattern replaces the pattern, Apache formats still nulling "-"', () => {
    const line = '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200\n';
    const renamed = { optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG', customFieldNames: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'] };
    expect(run([renamed], fixture('access_common.log')[0]!)).toBe(
      json(
        '{"f1":"64.242.88.10","f2":null,"f3":null,"f4":"07/Mar/2004:16:10:02 -0800","f5":"GET /mailman/listinfo/hsdivision HTTP/1.1","f6":"200","f7":"6291"}',
      ),
    );
    // The guide's matchPattern example, for a line without bytes.
    const pattern = String.raw`^([\d.]+) (\S+) (\S+) \[([\w:/]+\s[+\-]\d{4})\] "(.+?)" (\d{3})`;
    const fields = ['host', 'ident', 'authuser', 'datetime', 'request', 'response'];
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG', matchPattern: pattern, customFieldNames: fields }], line)).toBe(
      json(
        '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400","request":"GET /java/javaResources.html HTTP/1.0","response":"200"}',
      ),
    );
    // The same pattern under SYSLOG: SysLogParser keeps "-".
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG', matchPattern: pattern, customFieldNames: fields }], line)).toBe(
      json(
        '{"host":"123.45.67.89","ident":"-","authuser":"-","datetime":"27/Oct/2000:09:27:09 -0400","request":"GET /java/javaResources.html HTTP/1.0","response":"200"}',
      ),
    );
    // matches(): the whole record, so a pattern for a prefix does not match a longer line.
    expect(
      run([{ optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG', matchPattern: '(\\S+) ', customFieldNames: ['host'] }], line),
    ).toBe(FAILS);
  });

  it('a CRLF line fails: only the "\\n" is dropped and "." does not match the "\\r"', () => {
    const line = '10.0.0.7 - - [12/Mar/2024:12:00:08 +0000] "GET / HTTP/1.1" 200 512';
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' }], `${line}\n`)).not.toBe(FAILS);
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' }], `${line}\r\n`)).toBe(FAILS);
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG' }], 'Mar 12 12:00:08 web-1 app: done\r\n')).toBe(FAILS);
  });

  it('PRETTYPRINT is Jackson default pretty printer', () => {
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG', jsonFormat: 'PRETTYPRINT' }], fixture('syslog')[1]!)).toBe(
      json(
        [
          '{',
          '  "timestamp" : "Mar 12 12:01:02",',
          '  "hostname" : "server4",',
          '  "program" : "snort",',
          '  "processid" : null,',
          '  "message" : "Ports to decode telnet on: 21 23 25 119"',
          '}',
        ].join('\n'),
      ),
    );
  });

  it("escapes as Jackson: control characters as upper-case \\u00XX, '/' and non-ASCII as they are", () => {
    const line = 'Mar 12 12:00:08 web-1 app[7]: \u001b[31mcafé\u001b[0m /tmp\tdone "ok" \\ \u007f\n';
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG' }], line)).toBe(
      json(
        String.raw`{"timestamp":"Mar 12 12:00:08","hostname":"web-1","program":"app","processid":"7","message":"\u001B[31mcafé\u001B[0m /tmp\tdone \"ok\" \\ ` +
          '\u007f"}',
      ),
    );
  });
});

describe('CSVTOJSON', () => {
  const ORDERS = ['id', 'customer', 'amount', 'status'];

  it('splits on the delimiter with no quoting; trailing empty columns and extra columns dropped, missing ones null', () => {
    expect(runFixture([{ optionName: 'CSVTOJSON', customFieldNames: ORDERS }], 'orders.csv')).toEqual([
      json('{"id":"1001","customer":"Anne Lee","amount":"3.10","status":"pending"}'),
      json(String.raw`{"id":"1002","customer":"\"Smith","amount":" John\"","status":"42.50"}`),
      json(String.raw`{"id":"1003","customer":"\"O\"\"Brien\"","amount":"7.00","status":null}`),
      json('{"id":"1004","customer":null,"amount":null,"status":null}'),
      json('{"id":null,"customer":null,"amount":null,"status":null}'),
      json('{"id":"1005","customer":"Zoë","amount":"0.99","status":"shipped"}'),
    ]);
  });

  it('the delimiter is a Java regular expression: "\\t", "\\|", ";", a pattern, and a bare "|" splitting everywhere', () => {
    expect(runFixture([{ optionName: 'CSVTOJSON', customFieldNames: ORDERS, delimiter: '\\t' }], 'orders.tsv')).toEqual([
      json('{"id":"1001","customer":"Anne Lee","amount":"3.10","status":"pending"}'),
      json('{"id":"1002","customer":"  Bob  ","amount":null,"status":null}'),
    ]);
    const fields = ['a', 'b', 'c'];
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields, delimiter: '\\|' }], 'x|y|z\n')).toBe(
      json('{"a":"x","b":"y","c":"z"}'),
    );
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields, delimiter: ';' }], 'x;;z\n')).toBe(json('{"a":"x","b":"","c":"z"}'));
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields, delimiter: '\\s*,\\s*' }], 'x , y,z\n')).toBe(
      json('{"a":"x","b":"y","c":"z"}'),
    );
    // A capturing group adds no column (JavaScript's split would add one).
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields, delimiter: '(,)' }], 'x,y,z\n')).toBe(
      json('{"a":"x","b":"y","c":"z"}'),
    );
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields, delimiter: '|' }], 'x|y\n')).toBe(json('{"a":"x","b":"|","c":"y"}'));
  });

  it('drops one "\\n" only: a CRLF line keeps its "\\r", a line inside a multi-line record its "\\n"', () => {
    const fields = ['a', 'b'];
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields }], 'x,y\r\n')).toBe(json(String.raw`{"a":"x","b":"y\r"}`));
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields }], 'x,y\n\n')).toBe(json(String.raw`{"a":"x","b":"y\n"}`));
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: fields }], 'x,y')).toBe(json('{"a":"x","b":"y"}'));
  });

  it('ignoredFieldNames leave columns out; PRETTYPRINT', () => {
    const option = { optionName: 'CSVTOJSON', customFieldNames: ORDERS, ignoredFieldNames: ['amount', 'nope'], jsonFormat: 'PRETTYPRINT' };
    expect(run([option], fixture('orders.csv')[0]!)).toBe(
      json('{\n  "id" : "1001",\n  "customer" : "Anne Lee",\n  "status" : "pending"\n}'),
    );
  });

  it('keeps keys in configured order (integer-like ones too) and a repeated name in its first place with the last value', () => {
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: ['b', '2', 'a', '1', 'b'] }], 'v1,v2,v3,v4,v5\n')).toBe(
      json('{"b":"v5","2":"v2","a":"v3","1":"v4"}'),
    );
  });

  it("decodes as Java's new String(bytes, UTF_8): a BOM kept, a bad byte replaced", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('id,name'), 0xff, 0x0a]);
    expect(run([{ optionName: 'CSVTOJSON', customFieldNames: ['a', 'b'] }], bytes)).toBe(json('{"a":"\ufeffid","b":"name\ufffd"}'));
  });
});

describe('SINGLELINE', () => {
  it('trims each line (Java trim: tabs, "\\r", other control characters) and joins them with nothing, then "\\n"', () => {
    const trace = 'java.lang.IllegalStateException: boom\r\n\tat com.example.App.run(App.java:42)\n\tat com.example.App.main(App.java:7)\n';
    expect(run([{ optionName: 'SINGLELINE' }], trace)).toBe(
      'java.lang.IllegalStateException: boomat com.example.App.run(App.java:42)at com.example.App.main(App.java:7)\n',
    );
    // U+FEFF and U+00A0 are above U+0020: Java's trim keeps them (JavaScript's would not).
    expect(run([{ optionName: 'SINGLELINE' }], '\u0000 a \u0001\n\u00a0b\ufeff\n\n\n')).toBe('a\u00a0b\ufeff\n');
    expect(run([{ optionName: 'SINGLELINE' }], 'no newline')).toBe('no newline\n');
    expect(run([{ optionName: 'SINGLELINE' }], '\n')).toBe('\n');
  });

  it('parseOptions: NO_TRIM keeps the spaces, ESCAPE_NEW_LINE joins with a literal \\\\n', () => {
    expect(run([{ optionName: 'SINGLELINE', parseOptions: ['NO_TRIM'] }], ' a \n b \n')).toBe(' a  b \n');
    expect(run([{ optionName: 'SINGLELINE', parseOptions: ['ESCAPE_NEW_LINE'] }], 'a\n  b\n')).toBe(String.raw`a\\nb` + '\n');
    expect(run([{ optionName: 'SINGLELINE', parseOptions: ['NO_TRIM', 'ESCAPE_NEW_LINE'] }], 'a\n  b\n')).toBe(String.raw`a\\n  b` + '\n');
  });
});

describe('ADDMETADATA', () => {
  it('wraps the record as "data" under "metadata" in configured order; null metadata when none is given', () => {
    const metadata = { key: 'value', foo: { bar: 'baz' }, n: 3, on: true, tags: ['a', 'b'], none: null };
    expect(run([{ optionName: 'ADDMETADATA', metadata }], 'this is my raw data that I want to send\n')).toBe(
      json(
        '{"metadata":{"key":"value","foo":{"bar":"baz"},"n":3,"on":true,"tags":["a","b"],"none":null},"data":"this is my raw data that I want to send"}',
      ),
    );
    expect(run([{ optionName: 'ADDMETADATA' }], 'x\n')).toBe(json('{"metadata":null,"data":"x"}'));
  });

  it('timestamp "true" puts "ts" first, in UTC with milliseconds; "false" or false leaves it out', () => {
    const option = { optionName: 'ADDMETADATA', metadata: { env: 'dev' } };
    expect(run([{ ...option, timestamp: 'true' }], 'x\n')).toBe(
      json('{"ts":"2024-03-12T12:00:08.123Z","metadata":{"env":"dev"},"data":"x"}'),
    );
    expect(run([{ ...option, timestamp: 'TRUE' }], 'x\n')).toBe(
      json('{"ts":"2024-03-12T12:00:08.123Z","metadata":{"env":"dev"},"data":"x"}'),
    );
    expect(run([{ ...option, timestamp: 'false' }], 'x\n')).toBe(json('{"metadata":{"env":"dev"},"data":"x"}'));
    expect(run([{ ...option, timestamp: false }], 'x\n')).toBe(json('{"metadata":{"env":"dev"},"data":"x"}'));
  });

  it('PRETTYPRINT nests objects two spaces deeper and keeps arrays on their line', () => {
    const metadata = { host: { name: 'web-1', roles: ['api', { tier: 1 }] }, empty: {}, none: [] };
    expect(run([{ optionName: 'ADDMETADATA', metadata, jsonFormat: 'PRETTYPRINT' }], 'x\n')).toBe(
      json(
        [
          '{',
          '  "metadata" : {',
          '    "host" : {',
          '      "name" : "web-1",',
          '      "roles" : [ "api", {',
          '        "tier" : 1',
          '      } ]',
          '    },',
          '    "empty" : { },',
          '    "none" : [ ]',
          '  },',
          '  "data" : "x"',
          '}',
        ].join('\n'),
      ),
    );
  });
});

describe('ADDBRACKETS', () => {
  it('wraps the bytes as they are, the newline inside', () => {
    expect(run([{ optionName: 'ADDBRACKETS' }], 'hello there!! :)')).toBe('{hello there!! :)}');
    expect(run([{ optionName: 'ADDBRACKETS' }], 'hello\n')).toBe('{hello\n}');
  });
});

describe('chains', () => {
  it('run in order: SINGLELINE then CSVTOJSON on a multi-line record (the guide\'s "[SEQUENCE=" example)', () => {
    const record = '[SEQUENCE=17]\tuser=alice\n    action=login\tstatus=ok\n';
    const options = [
      { optionName: 'SINGLELINE' },
      { optionName: 'CSVTOJSON', customFieldNames: ['field1', 'field2', 'field3'], delimiter: '\\t' },
    ];
    expect(run(options, record)).toBe(json('{"field1":"[SEQUENCE=17]","field2":"user=aliceaction=login","field3":"status=ok"}'));
  });

  it('LOGTOJSON then ADDMETADATA carries the JSON as a string; ADDBRACKETS after JSON wraps its newline', () => {
    const line = fixture('syslog')[1]!;
    const parsed =
      '{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"Ports to decode telnet on: 21 23 25 119"}';
    const withMetadata = [
      { optionName: 'LOGTOJSON', logFormat: 'SYSLOG' },
      { optionName: 'ADDMETADATA', metadata: { env: 'dev' } },
    ];
    expect(run(withMetadata, line)).toBe(json(`{"metadata":{"env":"dev"},"data":${JSON.stringify(parsed)}}`));
    expect(run([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG' }, { optionName: 'ADDBRACKETS' }], line)).toBe(`{${parsed}\n}`);
  });

  it('an empty chain leaves the record alone', () => {
    const record = new Uint8Array([0xff, 0x0a]);
    expect(processRecord([], record, { now: () => NOW })).toEqual({ data: record });
  });

  it('a failure names the option and the reason and carries the record as it came in, not as the chain left it', () => {
    const record = encoder.encode('  not an access log line\n');
    const options = chain([
      { optionName: 'SINGLELINE' },
      { optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' },
      { optionName: 'ADDBRACKETS' },
    ]);
    const result = processRecord(options, record, { now: () => NOW, filePath: '/var/log/httpd/access_log' });
    expect(result).toEqual({
      failure: {
        option: 'LOGTOJSON',
        reason: 'the record does not match the COMMONAPACHELOG pattern (the Kinesis Agent drops such a record)',
        record,
      },
    });
    const custom = chain([{ optionName: 'LOGTOJSON', logFormat: 'SYSLOG', matchPattern: '(\\d+)', customFieldNames: ['n'] }]);
    expect(processRecord(custom, encoder.encode('abc\n'), { now: () => NOW })).toMatchObject({
      failure: { option: 'LOGTOJSON', reason: 'the record does not match matchPattern (the Kinesis Agent drops such a record)' },
    });
  });
});

describe("the agent's own DataConverterTest cases", () => {
  it('give the same bytes', () => {
    const cases: [unknown, string, string | typeof FAILS][] = [
      [{ optionName: 'ADDBRACKETS' }, 'hello there!! :)', '{hello there!! :)}'],
      [
        { optionName: 'SINGLELINE', parseOptions: ['ESCAPE_NEW_LINE'] },
        '{\n   "a": {\n           "b": 1,\n           "c": null,\n           "d": true\n    },\n   "e": "f",\n   "g": 2\n     }\n',
        String.raw`{\\n"a": {\\n"b": 1,\\n"c": null,\\n"d": true\\n},\\n"e": "f",\\n"g": 2\\n}` + '\n',
      ],
      [
        { optionName: 'CSVTOJSON', customFieldNames: ['column1', 'column2', 'column3', 'column4'] },
        'value1, value2,valu\ne3,    value4\n',
        json(String.raw`{"column1":"value1","column2":" value2","column3":"valu\ne3","column4":"    value4"}`),
      ],
      [
        { optionName: 'CSVTOJSON', customFieldNames: ['column1', 'column2', 'column3', 'column4'] },
        'value1,value2,value3,value4,value5\n',
        json('{"column1":"value1","column2":"value2","column3":"value3","column4":"value4"}'),
      ],
      [
        {
          optionName: 'CSVTOJSON',
          customFieldNames: ['column1', 'column2', 'column3', 'column4'],
          ignoredFieldNames: ['column2', 'column3'],
        },
        'value1,value2,value3,value4\n',
        json('{"column1":"value1","column4":"value4"}'),
      ],
      [
        { optionName: 'LOGTOJSON', logFormat: 'COMBINEDAPACHELOG' },
        '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450 "-" "Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)" "ANY_RANDOM_DATA"',
        json(
          '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400","request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450","referer":null,"agent":"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"}',
        ),
      ],
      [
        { optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' },
        '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200',
        FAILS,
      ],
      [
        { optionName: 'LOGTOJSON', logFormat: 'APACHEERRORLOG' },
        '[Fri Sep 09 10:42:29.902022 2011] [error] [pid 35708:tid 4328636416] [client 72.15.99.187:12345] File does not exist: /usr/local/apache2/htdocs/favicon.ico',
        json(
          '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":null,"severity":"error","processid":"35708","threadid":"4328636416","client":"72.15.99.187:12345","message":"File does not exist: /usr/local/apache2/htdocs/favicon.ico"}',
        ),
      ],
      [
        { optionName: 'ADDMETADATA', metadata: { foo: { bar: 'bas' }, key: 'value' } },
        'This is the data',
        json('{"metadata":{"foo":{"bar":"bas"},"key":"value"},"data":"This is the data"}'),
      ],
    ];
    for (const [option, input, expected] of cases) expect(run([option], input)).toBe(expected);
  });
});

describe('parseProcessingOptions', () => {
  it('returns the options with only what was configured', () => {
    const options = chain([
      { optionName: 'SINGLELINE' },
      { optionName: 'CSVTOJSON', customFieldNames: ['a'], delimiter: '\\t', ignoredFieldNames: [], jsonFormat: 'COMPACT' },
      { optionName: 'LOGTOJSON', logFormat: 'SYSLOG', customFieldNames: ['t', 'h', 'p', 'i', 'm'] },
      { optionName: 'ADDMETADATA', metadata: { a: 1 }, timestamp: 'false' },
      { optionName: 'ADDBRACKETS', jsonFormat: 'PRETTYPRINT' },
    ]);
    expect(options).toEqual([
      { optionName: 'SINGLELINE' },
      { optionName: 'CSVTOJSON', customFieldNames: ['a'], delimiter: '\\t', ignoredFieldNames: [], jsonFormat: 'COMPACT' },
      { optionName: 'LOGTOJSON', logFormat: 'SYSLOG', customFieldNames: ['t', 'h', 'p', 'i', 'm'] },
      { optionName: 'ADDMETADATA', metadata: { a: 1 }, timestamp: false },
      { optionName: 'ADDBRACKETS' },
    ]);
    expect(chain([])).toEqual([]);
  });

  type BadRow = [name: string, value: unknown, key: string, reason: RegExp];
  const csv = { optionName: 'CSVTOJSON', customFieldNames: ['a'] };
  const log = { optionName: 'LOGTOJSON', logFormat: 'COMMONAPACHELOG' };
  const bad: BadRow[] = [
    ['a single option, not a list', { optionName: 'SINGLELINE' }, KEY, /must be a list of processing options/],
    ['an option that is not an object', ['SINGLELINE'], `${KEY}[0]`, /must be an object/],
    ['no optionName', [{}], `${KEY}[0].optionName`, /must be one of SINGLELINE, CSVTOJSON, LOGTOJSON, ADDMETADATA, ADDBRACKETS/],
    ['an optionName in lower case', [{ optionName: 'singleline' }], `${KEY}[0].optionName`, /must be one of/],
    ['ADDEC2METADATA', [{ optionName: 'ADDEC2METADATA' }], `${KEY}[0].optionName`, /EC2 instance metadata/],
    ['the second option bad', [{ optionName: 'ADDBRACKETS' }, { optionName: 'GZIP' }], `${KEY}[1].optionName`, /must be one of/],
    [
      'parseOptions not a list',
      [{ optionName: 'SINGLELINE', parseOptions: 'NO_TRIM' }],
      `${KEY}[0].parseOptions`,
      /must be a list of strings/,
    ],
    [
      'an unknown parseOption',
      [{ optionName: 'SINGLELINE', parseOptions: ['NO_TRIM', 'TRIM'] }],
      `${KEY}[0].parseOptions[1]`,
      /NO_TRIM, ESCAPE_NEW_LINE/,
    ],
    ['no customFieldNames', [{ optionName: 'CSVTOJSON' }], `${KEY}[0].customFieldNames`, /is required/],
    ['a field name not a string', [{ ...csv, customFieldNames: ['a', 2] }], `${KEY}[0].customFieldNames[1]`, /must be a string/],
    ['a delimiter not a string', [{ ...csv, delimiter: 9 }], `${KEY}[0].delimiter`, /must be a string/],
    ['a delimiter not a regex', [{ ...csv, delimiter: '(' }], `${KEY}[0].delimiter`, /is not a regular expression shardline can run/],
    ['ignoredFieldNames not a list', [{ ...csv, ignoredFieldNames: 'a' }], `${KEY}[0].ignoredFieldNames`, /must be a list of strings/],
    ['a bad jsonFormat', [{ ...csv, jsonFormat: 'PRETTY' }], `${KEY}[0].jsonFormat`, /must be one of COMPACT, PRETTYPRINT/],
    ['no logFormat', [{ optionName: 'LOGTOJSON' }], `${KEY}[0].logFormat`, /is required: one of COMMONAPACHELOG, COMBINEDAPACHELOG/],
    ['an unknown logFormat', [{ optionName: 'LOGTOJSON', logFormat: 'NGINX' }], `${KEY}[0].logFormat`, /must be one of/],
    ['a matchPattern not a string', [{ ...log, matchPattern: 1, customFieldNames: ['a'] }], `${KEY}[0].matchPattern`, /must be a string/],
    ['a matchPattern without names', [{ ...log, matchPattern: '(.*)' }], `${KEY}[0].customFieldNames`, /is required with matchPattern/],
    [
      'a matchPattern with Java-only syntax',
      [{ ...log, matchPattern: '(\\d++)', customFieldNames: ['a'] }],
      `${KEY}[0].matchPattern`,
      /is not a regular expression shardline can run/,
    ],
    [
      'groups and names that differ',
      [{ ...log, matchPattern: '(\\S+) (?:\\S+) (\\S+)', customFieldNames: ['a'] }],
      `${KEY}[0].matchPattern`,
      /has 2 capturing groups but customFieldNames has 1 names/,
    ],
    [
      'too few names for the format',
      [{ ...log, customFieldNames: ['a', 'b'] }],
      `${KEY}[0].customFieldNames`,
      /COMMONAPACHELOG has 7 fields \(host, ident/,
    ],
    [
      'a timestamp neither true nor false',
      [{ optionName: 'ADDMETADATA', timestamp: 'yes' }],
      `${KEY}[0].timestamp`,
      /must be "true" or "false"/,
    ],
    [
      'metadata that is not JSON',
      [{ optionName: 'ADDMETADATA', metadata: { a: [1, Infinity] } }],
      `${KEY}[0].metadata.a[1]`,
      /must be JSON/,
    ],
  ];

  it.each(bad)('refuses %s, naming the key', (_name, value, key, reason) => {
    let thrown: unknown;
    try {
      parseProcessingOptions(value, KEY);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AgentConfigError);
    const error = thrown as AgentConfigError;
    expect(error.key).toBe(key);
    expect(error.reason).toMatch(reason);
    expect(error.message).toBe(`${key}: ${error.reason}`);
    expect(error.name).toBe('AgentConfigError');
  });
});
