import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildConsole, type ConsoleBuild } from '../../scripts/build_console.js';
import { AccessControl } from '../../src/auth/access_control.js';
import { aggregate } from '../../src/client/kpl_aggregation.js';
import { runFirehoseOperation } from '../../src/delivery/delivery_operations.js';
import { DeliveryRegistry } from '../../src/delivery/registry.js';
import type { Engine } from '../../src/engine/engine.js';
import { groupOperation } from '../../src/groups/group_operations.js';
import { streamArn } from '../../src/streams/kinesis_shapes.js';
import { TriggerRegistry } from '../../src/triggers/registry.js';
import { keyOf, writeCredentials } from '../auth/fixtures.js';
import { suiteTempDir } from '../helpers/temp_dir.js';
import { LAUNCH_TIMEOUT_MS, UNLABELLED_CONTROLS, screenshot, startConsole, type ConsoleFixture } from './console_fixture.js';

// Goal: the web console (src/console/, bundled by scripts/build_console.ts) works in a real
// browser against a real server: every page opens without an error, its forms change the
// engine, the live tail shows records put (KPL aggregates unpacked, filtered, paused), the
// charts follow the metrics, a split shows in the lineage graph, it can be used from the
// keyboard and every control has a label; with auth on it signs in, refuses a wrong secret and
// shows what the identity may not do as AccessDenied. Method: build the console into a temp dir,
// serve it from a ShardlineServer on an engine, drive headless Chromium with playwright-core,
// and check what the page shows against what the engine holds. Every wait is for a condition;
// the timeouts only bound hangs.

/** Bounds a wait for the page to show something: generous, since the machine may be loaded. */
const SHOWN_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 120_000;
const SEEDED_STREAM = 'orders';
const FORM_STREAM = 'created-in-the-page';
const encoder = new TextEncoder();

/** Keeps beforeAll's failure so that each test fails with it, rather than being reported skipped. */
function suiteSetup(setUp: () => Promise<void>): () => void {
  let failure: { error: unknown } | null = null;
  beforeAll(async () => {
    try {
      await setUp();
    } catch (error) {
      failure = { error };
    }
  }, LAUNCH_TIMEOUT_MS);
  return () => {
    if (failure !== null) throw failure.error;
  };
}

async function open(page: Page, consoleUrl: string, hash: string): Promise<void> {
  await page.goto(`${consoleUrl}${hash}`);
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
}

/** The latest values a chart's text alternative gives, one per series that has one. */
async function latestValues(page: Page, title: string): Promise<number[]> {
  const values = await page
    .getByRole('figure', { name: title })
    .locator('[data-last-value]')
    .evaluateAll((found) => found.map((entry) => entry.getAttribute('data-last-value')));
  return values.filter((value) => value !== null && value !== '').map(Number);
}

/**
 * A stream with a registered consumer, a consumer group holding a lease, a trigger and a delivery
 * stream, so that every page has something to show.
 */
async function seed(engine: Engine): Promise<void> {
  await engine.createStream({ StreamName: SEEDED_STREAM, ShardCount: 2 });
  await engine.registerStreamConsumer({ StreamARN: streamArn(SEEDED_STREAM), ConsumerName: 'audit' });
  await groupOperation(engine, 'PrepareGroup')!({ GroupName: 'billing', StreamName: SEEDED_STREAM });
  const lease = {
    leaseKey: 'shardId-000000000000',
    leaseOwner: 'worker-a',
    leaseCounter: 1,
    checkpoint: 'TRIM_HORIZON',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
  };
  await groupOperation(engine, 'CreateLease')!({ GroupName: 'billing', Lease: lease });
  const triggers = TriggerRegistry.of(engine);
  await triggers.registerFunction('collector', { handler: () => undefined });
  await triggers.create({ EventSourceArn: streamArn(SEEDED_STREAM), FunctionName: 'collector', StartingPosition: 'LATEST', BatchSize: 50 });
  const role = 'arn:aws:iam::000000000000:role/firehose';
  await runFirehoseOperation(engine, 'CreateDeliveryStream', {
    DeliveryStreamName: 'orders-to-lake',
    DeliveryStreamType: 'KinesisStreamAsSource',
    KinesisStreamSourceConfiguration: { KinesisStreamARN: streamArn(SEEDED_STREAM), RoleARN: role },
    ExtendedS3DestinationConfiguration: {
      RoleARN: role,
      BucketARN: 'arn:aws:s3:::lake',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
    },
  });
}

async function unseed(engine: Engine): Promise<void> {
  await (await DeliveryRegistry.of(engine)).stopAll();
  await TriggerRegistry.of(engine).stopAll();
}

describe('the web console in Chromium', () => {
  let dir: { dir: string; remove: () => void } | undefined;
  let built: ConsoleBuild;
  let consoleDir: string;
  let fixture: ConsoleFixture | undefined;
  let page: Page;
  let consoleUrl: string;
  let engine: Engine;

  const checkSetUp = suiteSetup(async () => {
    dir = suiteTempDir('shardline-console-');
    consoleDir = path.join(dir.dir, 'console');
    built = await buildConsole(consoleDir);
    fixture = await startConsole({ consoleDir, dataDir: path.join(dir.dir, 'data'), seed, unseed });
    ({ page, consoleUrl, engine } = fixture);
  });

  afterAll(async () => {
    try {
      await fixture?.close();
    } finally {
      dir?.remove();
    }
  }, LAUNCH_TIMEOUT_MS);

  it('bundles the page, one script and one stylesheet, without Node-only modules', () => {
    checkSetUp();
    expect(built.files).toEqual(['console.css', 'console.css.map', 'console.js', 'console.js.map', 'index.html']);
    const script = fs.readFileSync(path.join(consoleDir, 'console.js'), 'utf8');
    expect(script).not.toMatch(/\bimport\b[^;]*["'](node:|ws["'/])|\brequire\(/);
    // uPlot's stylesheet is bundled with ours: nothing is fetched from elsewhere.
    expect(fs.readFileSync(path.join(consoleDir, 'console.css'), 'utf8')).toContain('.u-legend');
    expect(fs.readFileSync(path.join(consoleDir, 'index.html'), 'utf8')).not.toMatch(/https?:\/\//);
    expect(built.gzipBytes).toBeGreaterThan(0);
    expect(built.gzipBytes).toBeLessThan(built.bytes);
  });

  it(
    'opens every page, each with its heading and its content, without an error',
    async () => {
      checkSetUp();
      await page.goto(`http://127.0.0.1:${fixture!.server.port}/`);
      // The server's / redirects to the console.
      expect(page.url()).toBe(consoleUrl);

      await open(page, consoleUrl, '#/streams');
      await expect(page.getByRole('heading', { level: 1, name: 'Streams' }).isVisible()).resolves.toBe(true);
      await page.getByRole('link', { name: SEEDED_STREAM, exact: true }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await screenshot(page, 'streams');

      await open(page, consoleUrl, `#/stream/${SEEDED_STREAM}`);
      await page.getByRole('heading', { level: 1, name: `Stream ${SEEDED_STREAM}` }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect.poll(() => page.locator('svg[data-lineage] [data-shard-id]').count(), { timeout: SHOWN_TIMEOUT_MS }).toBe(2);
      await page.getByRole('figure', { name: 'Incoming records per second' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await screenshot(page, 'stream');

      await open(page, consoleUrl, `#/consumers/${SEEDED_STREAM}`);
      await page.getByRole('heading', { level: 1, name: 'Consumers' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await page.getByRole('rowheader', { name: 'audit' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      const lease = page.getByRole('table', { name: /^Group billing/ }).getByRole('row', { name: /shardId-000000000000/ });
      await lease.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(lease.textContent()).resolves.toMatch(/worker-a.*TRIM_HORIZON/);
      await screenshot(page, 'consumers');

      await open(page, consoleUrl, '#/triggers');
      await page.getByRole('heading', { level: 1, name: 'Triggers and delivery' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      const mapping = page.getByRole('row', { name: /^collector/ });
      await mapping.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(mapping.textContent()).resolves.toMatch(new RegExp(`${SEEDED_STREAM}Enabled50`));
      const delivery = page.getByRole('row', { name: /^orders-to-lake/ });
      await delivery.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(delivery.textContent()).resolves.toMatch(/ACTIVEstream orders.*arn:aws:s3:::lake.*1 MB or 60 s/);
      await screenshot(page, 'triggers');

      await open(page, consoleUrl, `#/tail/${SEEDED_STREAM}`);
      await page.getByRole('heading', { level: 1, name: 'Live tail' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(page.getByLabel('Stream').inputValue()).resolves.toBe(SEEDED_STREAM);

      await open(page, consoleUrl, '#/cost');
      await page.getByRole('heading', { level: 1, name: 'Cost' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      const cost = page.getByRole('row', { name: new RegExp(`^${SEEDED_STREAM}`) });
      await cost.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      // Both estimates, observed and per month, in the table's currency; the stream's own mode marked.
      await expect(cost.textContent()).resolves.toMatch(/(\$[\d.,]+(\s\(current\))?){4}/);
      await screenshot(page, 'cost');

      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'creates a stream with the form, and the engine has it',
    async () => {
      checkSetUp();
      await open(page, consoleUrl, '#/streams');
      await page.getByLabel('Stream name').fill(FORM_STREAM);
      await page.getByLabel('Shard count').fill('1');
      await page.getByRole('button', { name: 'Create stream' }).click();
      await expect.poll(() => engine.listStreams().StreamNames, { timeout: SHOWN_TIMEOUT_MS }).toContain(FORM_STREAM);
      await page.getByRole('link', { name: FORM_STREAM, exact: true }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      expect(engine.describeStreamSummary({ StreamName: FORM_STREAM }).StreamDescriptionSummary.OpenShardCount).toBe(1);
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'tails a stream: records put appear, KPL aggregates unpacked, filtered by partition key, and none while paused',
    async () => {
      checkSetUp();
      await open(page, consoleUrl, `#/tail/${FORM_STREAM}`);
      const status = page.locator('.tail-status');
      // Reading from LATEST: a record put before the first read has its iterator would not show.
      await expect.poll(async () => Number(await status.getAttribute('data-rounds')), { timeout: SHOWN_TIMEOUT_MS }).toBeGreaterThan(0);
      const rows = page.locator('table.tail tbody tr');

      await engine.putRecord({ StreamName: FORM_STREAM, PartitionKey: 'plain-key', Data: encoder.encode('{"order":7,"items":["a"]}') });
      const plain = rows.filter({ hasText: 'plain-key' });
      await plain.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(plain.textContent()).resolves.toMatch(/shardId-000000000000\d{56}plain-key\{"order":7,"items":\["a"\]\}/);
      await page.getByLabel('Show data as').selectOption('json');
      await expect(plain.locator('pre').textContent()).resolves.toBe(JSON.stringify({ order: 7, items: ['a'] }, null, 2));
      await page.getByLabel('Show data as').selectOption('hex');
      await expect(plain.locator('pre').textContent()).resolves.toBe(
        Buffer.from('{"order":7,"items":["a"]}')
          .toString('hex')
          .replace(/(..)(?!$)/g, '$1 '),
      );
      await page.getByLabel('Show data as').selectOption('text');

      const packed = aggregate([
        { partitionKey: 'kpl-a', data: encoder.encode('first user record') },
        { partitionKey: 'kpl-b', data: encoder.encode('second user record') },
      ]);
      await engine.putRecord({ StreamName: FORM_STREAM, PartitionKey: 'kpl-a', Data: packed });
      await rows.filter({ hasText: 'second user record' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(rows.filter({ hasText: 'kpl-a' }).textContent()).resolves.toMatch(/\(user record 0\)kpl-afirst user record$/);
      await expect(rows.filter({ hasText: 'kpl-b' }).textContent()).resolves.toMatch(/\(user record 1\)kpl-bsecond user record$/);
      await expect(rows.count()).resolves.toBe(3);
      await screenshot(page, 'tail');

      await page.getByLabel('Filter by partition key').fill('kpl-b');
      await expect.poll(() => rows.count(), { timeout: SHOWN_TIMEOUT_MS }).toBe(1);
      await expect(rows.first().getAttribute('data-partition-key')).resolves.toBe('kpl-b');
      await page.getByLabel('Filter by partition key').fill('');
      await expect.poll(() => rows.count(), { timeout: SHOWN_TIMEOUT_MS }).toBe(3);

      await page.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => status.getAttribute('data-state'), { timeout: SHOWN_TIMEOUT_MS }).toBe('paused');
      const roundsPaused = await status.getAttribute('data-rounds');
      const readsPaused = getRecordsCalls(engine, FORM_STREAM);
      await engine.putRecord({ StreamName: FORM_STREAM, PartitionKey: 'while-paused', Data: encoder.encode('put while paused') });
      // The page's own clock: two more GetMetrics polls (1 s apart) span several of the tail's
      // 300 ms rounds, had it gone on reading.
      await seenMetricsPolls(engine, 2);
      expect(getRecordsCalls(engine, FORM_STREAM)).toBe(readsPaused);
      await expect(status.getAttribute('data-rounds')).resolves.toBe(roundsPaused);
      await expect(rows.count()).resolves.toBe(3);
      await screenshot(page, 'tail-paused');

      // Resuming goes on where the tail paused: the record put meanwhile comes.
      await page.getByRole('button', { name: 'Resume' }).click();
      await rows.filter({ hasText: 'while-paused' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "charts the stream's records per second as they are put",
    async () => {
      checkSetUp();
      await open(page, consoleUrl, `#/stream/${FORM_STREAM}`);
      const title = 'Incoming records per second';
      await page.getByRole('figure', { name: title }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      // Each poll puts more, so the next snapshot's difference is above 0 whenever the page samples.
      await expect
        .poll(
          async () => {
            await engine.putRecords({
              StreamName: FORM_STREAM,
              Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `chart-${i}`, Data: encoder.encode('x') })),
            });
            return Math.max(...(await latestValues(page, title)));
          },
          { timeout: SHOWN_TIMEOUT_MS },
        )
        .toBeGreaterThan(0);
      const points = Number(await page.getByRole('figure', { name: title }).getAttribute('data-points'));
      await expect
        .poll(async () => Number(await page.getByRole('figure', { name: title }).getAttribute('data-points')), {
          timeout: SHOWN_TIMEOUT_MS,
        })
        .toBeGreaterThan(points);
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'splits a shard from the stream page: the lineage graph gains the two children, as ListShards has them',
    async () => {
      checkSetUp();
      await open(page, consoleUrl, `#/stream/${FORM_STREAM}`);
      const nodes = page.locator('svg[data-lineage] [data-shard-id]');
      await expect.poll(() => nodes.count(), { timeout: SHOWN_TIMEOUT_MS }).toBe(1);
      await expect(page.getByLabel('Shard to split').inputValue()).resolves.toBe('shardId-000000000000');
      // The default split point halves the whole hash space.
      await expect(page.getByLabel('New starting hash key').inputValue()).resolves.toBe((1n << 127n).toString());
      await page.getByRole('button', { name: 'Split shard' }).click();
      await expect.poll(() => nodes.count(), { timeout: SHOWN_TIMEOUT_MS }).toBe(3);

      const shards = engine.listShards({ StreamName: FORM_STREAM }).Shards;
      expect(shards.map((shard) => shard.ShardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']);
      expect(shards.slice(1).map((shard) => shard.ParentShardId)).toEqual(['shardId-000000000000', 'shardId-000000000000']);
      expect(shards[1]!.HashKeyRange.EndingHashKey).toBe(((1n << 127n) - 1n).toString());
      const states = await nodes.evaluateAll((found) =>
        found.map((node) => `${node.getAttribute('data-shard-id')}:${node.getAttribute('data-state')}`),
      );
      expect(states).toEqual(['shardId-000000000000:closed', 'shardId-000000000001:open', 'shardId-000000000002:open']);
      const edges = await page
        .locator('svg[data-lineage] .lineage-edge')
        .evaluateAll((found) => found.map((edge) => edge.getAttribute('data-to')));
      expect(edges).toEqual(['shardId-000000000001', 'shardId-000000000002']);
      await expect(page.getByRole('row', { name: /^shardId-000000000002 open shardId-000000000000/ }).isVisible()).resolves.toBe(true);

      // Enhanced monitoring brings the per-shard charts.
      await page.getByRole('button', { name: 'Enable enhanced monitoring' }).click();
      await page.getByRole('button', { name: 'Disable enhanced monitoring' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      expect(
        engine.describeStreamSummary({ StreamName: FORM_STREAM }).StreamDescriptionSummary.EnhancedMonitoring[0]?.ShardLevelMetrics,
      ).toHaveLength(7);
      const perShard = page.getByRole('figure', { name: 'Incoming records per second, per shard' });
      await expect
        .poll(
          async () => {
            await engine.putRecord({ StreamName: FORM_STREAM, PartitionKey: 'monitored', Data: encoder.encode('y') });
            // -Infinity while no series has a value.
            return Math.max(...(await latestValues(page, 'Incoming records per second, per shard')));
          },
          { timeout: SHOWN_TIMEOUT_MS },
        )
        .toBeGreaterThan(0);
      // One series per shard with traffic since monitoring began: the open children, never the closed parent.
      const series = await perShard
        .locator('[data-series]')
        .evaluateAll((found) => found.map((entry) => entry.getAttribute('data-series')));
      expect(series.length).toBeGreaterThan(0);
      expect(series.every((shardId) => shardId === 'shardId-000000000001' || shardId === 'shardId-000000000002')).toBe(true);
      await screenshot(page, 'stream-split');
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'can be used from the keyboard: Tab reaches the navigation, Enter follows a link, the focus shows',
    async () => {
      checkSetUp();
      await open(page, consoleUrl, '#/streams');
      // Loaded afresh, as a person arrives: no focus moved yet by an earlier page change.
      await page.reload();
      await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      const focused = (): Promise<{ inNav: boolean; text: string; outline: string }> =>
        page.evaluate(`(() => {
          const active = document.activeElement;
          return { inNav: active?.closest('nav') !== null, text: active?.textContent ?? '', outline: getComputedStyle(active).outlineStyle };
        })()`);
      // Bounded: the navigation's five links come first in the tab order.
      for (let presses = 0; presses < 10 && (await focused()).text !== 'Cost'; presses++) await page.keyboard.press('Tab');
      const atCost = await focused();
      expect(atCost).toMatchObject({ inNav: true, text: 'Cost' });
      expect(atCost.outline).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Cost' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      expect(new URL(page.url()).hash).toBe('#/cost');
      // Moving to a page moves the focus to its heading (the link, also "Cost", holds it until then).
      const focusedElement = (): Promise<unknown> =>
        page.evaluate('`${document.activeElement.tagName} ${document.activeElement.textContent}`');
      await expect.poll(focusedElement, { timeout: SHOWN_TIMEOUT_MS }).toBe('H1 Cost');
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'labels every form control on every page',
    async () => {
      checkSetUp();
      const pages = [
        '#/streams',
        `#/stream/${FORM_STREAM}`,
        `#/consumers/${SEEDED_STREAM}`,
        '#/triggers',
        `#/tail/${FORM_STREAM}`,
        '#/cost',
      ];
      for (const hash of pages) {
        await open(page, consoleUrl, hash);
        await page.getByRole('heading', { level: 1 }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
        // The pages' forms show once their data is read: wait for the streams table, the split form, ...
        if (hash === '#/streams') await page.getByLabel(`Retention hours of ${SEEDED_STREAM}`).waitFor({ timeout: SHOWN_TIMEOUT_MS });
        if (hash.startsWith('#/stream/')) await page.getByLabel('Shard to split').waitFor({ timeout: SHOWN_TIMEOUT_MS });
        expect({ hash, unlabelled: await page.evaluate(UNLABELLED_CONTROLS) }).toEqual({ hash, unlabelled: [] });
      }
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

/** GetRecords calls the engine answered for a stream (the tail's reads). */
function getRecordsCalls(engine: Engine, streamName: string): number {
  return engine.metrics().streams.find((stream) => stream.streamName === streamName)?.getRecordsSuccess ?? 0;
}

/** Resolves once the page has made `count` more GetMetrics calls (it polls once a second): engine.metrics() answers them. */
async function seenMetricsPolls(engine: Engine, count: number): Promise<void> {
  const calls = vi.spyOn(engine, 'metrics');
  try {
    await expect.poll(() => calls.mock.calls.length, { timeout: SHOWN_TIMEOUT_MS }).toBeGreaterThanOrEqual(count);
  } finally {
    calls.mockRestore();
  }
}

describe('the web console with auth on', () => {
  let dir: { dir: string; remove: () => void } | undefined;
  let fixture: ConsoleFixture | undefined;
  let page: Page;
  let consoleUrl: string;
  let engine: Engine;
  const reader = keyOf('reader');

  const checkSetUp = suiteSetup(async () => {
    dir = suiteTempDir('shardline-console-auth-');
    const consoleDir = path.join(dir.dir, 'console');
    await buildConsole(consoleDir);
    const credentials = writeCredentials(dir.dir, {
      reader: [
        {
          Effect: 'Allow',
          Action: [
            'kinesis:List*',
            'kinesis:Describe*',
            'kinesis:Get*',
            'cloudwatch:GetMetricData',
            'shardline:List*',
            'shardline:Describe*',
          ],
          Resource: '*',
        },
      ],
    });
    fixture = await startConsole({
      consoleDir,
      dataDir: path.join(dir.dir, 'data'),
      access: (opened) => AccessControl.fromFile(opened, credentials),
      seed: (opened) => opened.createStream({ StreamName: SEEDED_STREAM, ShardCount: 1 }),
    });
    ({ page, consoleUrl, engine } = fixture);
  });

  afterAll(async () => {
    try {
      await fixture?.close();
    } finally {
      dir?.remove();
    }
  }, LAUNCH_TIMEOUT_MS);

  it(
    'asks for credentials, refuses a wrong secret, then shows what the identity may read and refuses what it may not',
    async () => {
      checkSetUp();
      await page.goto(consoleUrl);
      const form = page.getByRole('form', { name: 'Sign in' });
      await form.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(page.getByRole('navigation').count()).resolves.toBe(0);
      await expect(page.evaluate(UNLABELLED_CONTROLS)).resolves.toEqual([]);
      await screenshot(page, 'sign-in');

      await page.getByLabel('Access key ID').fill(reader.accessKeyId);
      await page.getByLabel('Secret access key').fill('not-the-secret-0123456789');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(refusal.textContent()).resolves.toMatch(/^Sign-in refused: InvalidSignatureException: /);
      await expect(form.isVisible()).resolves.toBe(true);
      await screenshot(page, 'sign-in-refused');

      await page.getByLabel('Secret access key').fill(reader.secretAccessKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Streams' }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await page.getByRole('link', { name: SEEDED_STREAM, exact: true }).waitFor({ timeout: SHOWN_TIMEOUT_MS });
      await expect(page.getByText(`signed in as ${reader.accessKeyId}`).isVisible()).resolves.toBe(true);

      await page.getByLabel('Stream name').fill('not-allowed');
      await page.getByRole('button', { name: 'Create stream' }).click();
      const denied = page.getByRole('alert').filter({ hasText: 'AccessDeniedException' });
      await denied.waitFor({ timeout: SHOWN_TIMEOUT_MS });
      expect(engine.listStreams().StreamNames).toEqual([SEEDED_STREAM]);
      await screenshot(page, 'access-denied');

      // A page of operations the policy does not allow shows the refusals in place.
      await open(page, consoleUrl, '#/triggers');
      await expect
        .poll(() => page.getByRole('alert').filter({ hasText: 'AccessDeniedException' }).count(), { timeout: SHOWN_TIMEOUT_MS })
        .toBe(2);
      expect(fixture!.pageErrors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
