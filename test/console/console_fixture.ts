import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AccessControl } from '../../src/auth/access_control.js';
import { Engine } from '../../src/engine/engine.js';
import { parsePriceTable, type PriceTable } from '../../src/metrics/cost.js';
import { ShardlineServer } from '../../src/net/server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/chromium.js';

/*
 * The console's tests' setting: a real engine and server serving a console built by
 * scripts/build_console.ts, and a Chromium page on it whose uncaught exceptions and console
 * errors are collected (each test expects none). Screenshots go to test-artifacts/console/.
 */

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS_DIR = path.join(ROOT_DIR, 'test-artifacts/console');
/** Chromium can take seconds to start on a loaded machine: this bounds a hang, not speed. */
export const LAUNCH_TIMEOUT_MS = 120_000;

export const PRICES: PriceTable = parsePriceTable(JSON.parse(fs.readFileSync(path.join(ROOT_DIR, 'src/metrics/prices.json'), 'utf8')));

export interface ConsoleFixture {
  readonly engine: Engine;
  readonly server: ShardlineServer;
  readonly page: Page;
  /** The console's address: http://127.0.0.1:<port>/console/ */
  readonly consoleUrl: string;
  /** Uncaught exceptions and console errors of the page, as text. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export interface FixtureOptions {
  readonly consoleDir: string;
  readonly dataDir: string;
  /** Auth on, with these identities; absent: auth off. */
  readonly access?: (engine: Engine) => AccessControl;
  /** What to create in the engine before the server starts. */
  readonly seed?: (engine: Engine) => Promise<void>;
  /** Stops what the seed started (trigger and delivery registries) before the engine closes. */
  readonly unseed?: (engine: Engine) => Promise<void>;
}

export async function startConsole(options: FixtureOptions): Promise<ConsoleFixture> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install chromium (as .ci/run does)`);
  const closing: Array<() => Promise<unknown>> = [];
  const close = (): Promise<void> => closeAll(closing.splice(0).reverse());
  try {
    const engine = await Engine.open({ dataDir: options.dataDir, fsync: 'never', workers: 1 });
    closing.push(() => engine.close());
    if (options.unseed !== undefined) closing.push(() => options.unseed!(engine));
    await options.seed?.(engine);
    const access = options.access?.(engine);
    const server = await ShardlineServer.start({
      engine,
      host: '127.0.0.1',
      port: 0,
      ...(access === undefined ? {} : { access }),
      http: { console: { dir: options.consoleDir, config: () => ({ auth: access !== undefined, prices: PRICES }) } },
    });
    closing.push(() => server.stop());
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
    closing.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console.error: ${message.text()}`);
    });
    return { engine, server, page, consoleUrl: `http://127.0.0.1:${server.port}/console/`, pageErrors, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Runs every step even when one fails, then throws the first failure. */
async function closeAll(steps: Array<() => Promise<unknown>>): Promise<void> {
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

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
}

/**
 * Form controls without a <label> of their own (wrapping it, or pointing at it with `for`): a
 * script evaluated in the page, as text, since this program's types have no DOM.
 */
export const UNLABELLED_CONTROLS = `[...document.querySelectorAll('input, select, textarea')]
  .filter((control) => control.type !== 'hidden' && control.labels.length === 0)
  .map((control) => control.outerHTML)`;
