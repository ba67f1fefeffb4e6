import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserClient } from '../../scripts/build_browser.js';
import type { Engine } from '../../src/engine/engine.js';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import { EnvelopeEncryption, keyProvider } from '../../src/client/node.js';
import { ResourceNotFoundException } from '../../src/errors.js';
import { AccessControl } from '../../src/auth/access_control.js';
import { ShardlineServer } from '../../src/net/server.js';
import { keyOf, writeCredentials } from '../auth/fixtures.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { suiteTempDir } from '../helpers/temp_dir.js';

// Goal: the browser bundle of the client (scripts/build_browser.ts) works in a real browser
// against a real server: connect, control calls, batched puts, getRecords and a registered
// consumer's push subscription, and typed errors. Method: build the bundle into a temp dir,
// serve it with a page (browser_fixtures/) from node:http, drive headless Chromium through the
// functions the page defines, and check what the page saw against what the server's engine
// stored. Nothing is mocked and nothing is skipped: without Chromium the suite fails.

const FIXTURES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'browser_fixtures');
const RECORD_COUNT = 40;
/** Chromium can take seconds to start on a loaded machine; these bound hangs, not speed. */
const SETUP_TIMEOUT_MS = 120_000;
const SCENARIO_TIMEOUT_MS = 120_000;
const CONSUME_TIMEOUT_MS = 60_000;

/** A record as the page reports it, and as the engine's stored record is reduced to here. */
interface PlainRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly text: string;
  readonly arrivalMs: number;
}

interface PutReport {
  readonly partitionKey: string;
  readonly text: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

interface ScenarioReport {
  readonly userAgent: string;
  readonly puts: PutReport[];
  readonly reads: PlainRecord[];
  readonly consumed: PlainRecord[];
}

interface MissingStreamReport {
  readonly rejected: boolean;
  readonly code?: string;
  readonly name?: string;
  readonly message?: string;
  readonly retriable?: boolean;
  readonly isResourceNotFound?: boolean;
  readonly isShardlineError?: boolean;
  readonly streamNamesAfterError?: string[];
}

/** What browser_fixtures/scenario.js puts on the page's window. */
interface PageGlobals {
  runScenario(args: {
    serverUrl: string;
    streamName: string;
    consumerName: string;
    recordCount: number;
    consumeTimeoutMs: number;
  }): Promise<ScenarioReport>;
  describeMissingStream(args: { serverUrl: string; streamName: string }): Promise<MissingStreamReport>;
  signedConnect(args: { serverUrl: string; credentials: { accessKeyId: string; secretAccessKey: string } }): Promise<{
    streamNames: string[];
    wrongSecret: string;
  }>;
  kplRoundTrip(args: { records: KplRecord[]; nodeAggregateHex: string }): { aggregateHex: string; fromNode: KplRecord[] };
  envelopeRoundTrip(args: {
    keyId: string;
    keyHex: string;
    text: string;
    nodeSealedHex: string;
  }): Promise<{ sealedHex: string; fromNode: string }>;
}

interface KplRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: string;
  readonly subSequenceNumber?: number;
}

/** Every record of a stream as the engine stored it, shard by shard in ListShards order. */
async function storedRecords(engine: Engine, streamName: string): Promise<PlainRecord[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const records: PlainRecord[] = [];
  for (const { ShardId } of engine.listShards({ StreamName: streamName }).Shards) {
    let { ShardIterator } = await engine.getShardIterator({ StreamName: streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    // Bounded: each shard holds at most RECORD_COUNT records, and every call returns at least one until the end.
    for (let calls = 0; calls <= RECORD_COUNT; calls++) {
      const result = await engine.getRecords({ ShardIterator });
      for (const record of result.Records) {
        records.push({
          shardId: ShardId,
          sequenceNumber: record.SequenceNumber,
          partitionKey: record.PartitionKey,
          text: decoder.decode(record.Data),
          arrivalMs: record.ApproximateArrivalTimestamp.getTime(),
        });
      }
      if (result.Records.length === 0 || result.NextShardIterator === undefined) break;
      ShardIterator = result.NextShardIterator;
    }
  }
  return records;
}

/** Serves the page, its script and the bundle (with its source map) on 127.0.0.1. */
async function startPageServer(bundleFile: string): Promise<{ server: http.Server; origin: string }> {
  const files = new Map([
    ['/', { file: path.join(FIXTURES_DIR, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/scenario.js', { file: path.join(FIXTURES_DIR, 'scenario.js'), type: 'text/javascript; charset=utf-8' }],
    ['/shardline-client.js', { file: bundleFile, type: 'text/javascript; charset=utf-8' }],
    ['/shardline-client.js.map', { file: `${bundleFile}.map`, type: 'application/json' }],
  ]);
  const server = http.createServer((request, response) => {
    const entry = files.get(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (entry === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(fs.readFileSync(entry.file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Runs every step even when one fails, then throws the first failure. */
async function closeAll(steps: Array<() => Promise<void> | void>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

describe('the browser client in Chromium', () => {
  let shardline: TestServer | undefined;
  let bundleDir: { dir: string; remove: () => void } | undefined;
  let pageServer: http.Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let bundleText = '';
  const pageErrors: string[] = [];
  let setupFailure: { error: unknown } | null = null;

  /** Throws what went wrong in beforeAll, so that each test fails with it. */
  function checkSetUp(): void {
    if (setupFailure !== null) throw setupFailure.error;
  }

  // A failing beforeAll makes vitest report the suite's tests as skipped (and .ci/run's summary
  // "0 failed, 3 skipped"): the failure is kept instead, and every test fails with it.
  beforeAll(async () => {
    try {
      await setUp();
    } catch (error) {
      setupFailure = { error };
    }
  }, SETUP_TIMEOUT_MS);

  async function setUp(): Promise<void> {
    if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium (as .ci/run does)`);
    shardline = await startTestServer();
    bundleDir = suiteTempDir('shardline-browser-');
    const bundleFile = await buildBrowserClient(path.join(bundleDir.dir, 'shardline-client.js'));
    bundleText = fs.readFileSync(bundleFile, 'utf8');
    const served = await startPageServer(bundleFile);
    pageServer = served.server;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: SETUP_TIMEOUT_MS });
    page = await browser.newPage();
    // Uncaught exceptions and console errors fail the tests (each checks), with their text.
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
    });
    await page.goto(`${served.origin}/`, { timeout: SETUP_TIMEOUT_MS });
    await page.waitForFunction('window.scenarioReady === true', undefined, { timeout: SETUP_TIMEOUT_MS });
  }

  afterAll(async () => {
    await closeAll([() => browser?.close(), () => closeServer(pageServer), () => shardline?.stop(), () => bundleDir?.remove()]);
  }, SETUP_TIMEOUT_MS);

  it('bundles without Node-only modules into one ES module', () => {
    checkSetUp();
    // buildBrowserClient refuses Node-only imports; this checks its output the other way round.
    expect(bundleText).toContain('export {');
    expect(bundleText).not.toMatch(/\bimport\b[^;]*["'](node:|ws["'/])|\brequire\(/);
  });

  it(
    'produces, reads back and consumes records from a page, as the engine stored them',
    async () => {
      checkSetUp();
      const streamName = 'browser-stream';
      const report = await page.evaluate((args) => (globalThis as unknown as PageGlobals).runScenario(args), {
        serverUrl: shardline!.url,
        streamName,
        consumerName: 'browser-consumer',
        recordCount: RECORD_COUNT,
        consumeTimeoutMs: CONSUME_TIMEOUT_MS,
      });
      expect(report.userAgent).toMatch(/HeadlessChrome\/|Chrome\//);
      expect(pageErrors).toEqual([]);

      // Every put was acknowledged with a Kinesis-style shard id and 56-digit sequence number,
      // and the fixed keys spread over both shards.
      expect(report.puts).toHaveLength(RECORD_COUNT);
      for (const put of report.puts) {
        expect(put.shardId).toMatch(/^shardId-\d{12}$/);
        expect(put.sequenceNumber).toMatch(/^\d{56}$/);
      }
      expect(new Set(report.puts.map((put) => put.sequenceNumber)).size).toBe(RECORD_COUNT);
      expect(new Set(report.puts.map((put) => put.shardId)).size).toBe(2);

      // The engine holds exactly the records put, where the acknowledgements said.
      const stored = await storedRecords(shardline!.engine, streamName);
      expect(stored).toHaveLength(RECORD_COUNT);
      const storedBySequence = new Map(stored.map((record) => [record.sequenceNumber, record]));
      for (const put of report.puts) {
        expect(storedBySequence.get(put.sequenceNumber)).toMatchObject({
          shardId: put.shardId,
          partitionKey: put.partitionKey,
          text: put.text,
        });
      }

      // getRecords in the page returned the stored records in shard order, arrival times included.
      expect(report.reads).toEqual(stored);

      // The subscription delivered every record once; shards interleave, but each shard's records
      // keep their order.
      expect(report.consumed).toHaveLength(RECORD_COUNT);
      for (const shardId of new Set(stored.map((record) => record.shardId))) {
        expect(report.consumed.filter((record) => record.shardId === shardId)).toEqual(
          stored.filter((record) => record.shardId === shardId),
        );
      }
      const StreamARN = shardline!.engine.describeStreamSummary({ StreamName: streamName }).StreamDescriptionSummary.StreamARN as string;
      expect(shardline!.engine.listStreamConsumers({ StreamARN })).toMatchObject({ Consumers: [{ ConsumerName: 'browser-consumer' }] });
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'rejects a call on a missing stream with a typed ResourceNotFoundException',
    async () => {
      checkSetUp();
      const streamName = 'no-such-stream';
      expect(() => shardline!.engine.describeStream({ StreamName: streamName })).toThrow(ResourceNotFoundException);
      const report = await page.evaluate((args) => (globalThis as unknown as PageGlobals).describeMissingStream(args), {
        serverUrl: shardline!.url,
        streamName,
      });
      expect(report).toMatchObject({
        rejected: true,
        code: 'ResourceNotFoundException',
        name: 'ResourceNotFoundException',
        retriable: false,
        isResourceNotFound: true,
        isShardlineError: true,
      });
      expect(report.message).toContain(streamName);
      expect(report.streamNamesAfterError).toEqual(expect.any(Array));
      expect(pageErrors).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it('aggregates KPL records the way Node reads them, and reads the ones Node writes', async () => {
    checkSetUp();
    const records: KplRecord[] = [
      { partitionKey: 'p', data: 'one' },
      { partitionKey: 'q', explicitHashKey: '42', data: 'two' },
      { partitionKey: 'p', data: '' },
    ];
    const encoder = new TextEncoder();
    const nodeAggregate = aggregate(records.map((record) => ({ ...record, data: encoder.encode(record.data) })));
    const report = await page.evaluate((args) => (globalThis as unknown as PageGlobals).kplRoundTrip(args), {
      records,
      nodeAggregateHex: Buffer.from(nodeAggregate).toString('hex'),
    });
    expect(report.aggregateHex).toBe(Buffer.from(nodeAggregate).toString('hex'));
    expect(report.fromNode).toEqual(records.map((record, i) => ({ ...record, subSequenceNumber: i })));
    expect(pageErrors).toEqual([]);
  });

  it("seals envelopes with the page's WebCrypto that node:crypto opens, and opens node:crypto's", async () => {
    checkSetUp();
    const key = randomBytes(32);
    const encryption = new EnvelopeEncryption(keyProvider('browser-key', key));
    const nodeSealed = await encryption.encrypt(Buffer.from('sealed in Node'));
    const report = await page.evaluate((args) => (globalThis as unknown as PageGlobals).envelopeRoundTrip(args), {
      keyId: 'browser-key',
      keyHex: key.toString('hex'),
      text: 'sealed in the page',
      nodeSealedHex: Buffer.from(nodeSealed).toString('hex'),
    });
    expect(report.fromNode).toBe('sealed in Node');
    expect(Buffer.from(await encryption.decrypt(Buffer.from(report.sealedHex, 'hex'))).toString()).toBe('sealed in the page');
    expect(pageErrors).toEqual([]);
  });

  it('signs its connection with WebCrypto to a server with auth on, and gets the typed error for a wrong secret', async () => {
    checkSetUp();
    const file = writeCredentials(bundleDir!.dir, { lister: [{ Effect: 'Allow', Action: 'kinesis:ListStreams', Resource: '*' }] });
    const secure = await ShardlineServer.start({
      engine: shardline!.engine,
      host: '127.0.0.1',
      port: 0,
      access: AccessControl.fromFile(shardline!.engine, file),
    });
    try {
      const report = await page.evaluate((args) => (globalThis as unknown as PageGlobals).signedConnect(args), {
        serverUrl: secure.url,
        credentials: keyOf('lister'),
      });
      expect(report).toEqual({ streamNames: shardline!.engine.listStreams().StreamNames, wrongSecret: 'InvalidSignatureException' });
      expect(pageErrors).toEqual([]);
    } finally {
      await secure.stop();
    }
  });
});

async function closeServer(server: http.Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))));
}
